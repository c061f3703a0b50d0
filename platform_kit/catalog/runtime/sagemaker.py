"""Run a SageMaker training job to its end, safely under Kubeflow Pipelines retries.

A KFP task that is retried (pod evicted, node lost, the step's own retry policy) runs its body
again from the top. Starting a second training job then would double the bill and race two
writers on the same output path, so ``run_training_job`` is keyed on the job name: it first asks
DescribeTrainingJob, and if a job of that name exists it waits for that one instead of creating
another. SageMaker keeps training job names unique per account and region, so the name is the
idempotency key; a pipeline makes it unique per run (the run id in it) and stable across retries.

* Inputs are checked before any call, with one-line ``BadInput`` errors.
* Waiting polls DescribeTrainingJob with a growing interval (``poll`` doubling up to
  ``max_poll``); the job's own stopping condition bounds how long that can last.
* Each change of the job's status and each secondary-status transition is reported once, in
  order, through ``on_status`` (and logged).
* Throttling is retried a bounded number of times, then reported as ``OperationFailed``.
* A job that ends ``Failed`` or ``Stopped`` raises ``OperationFailed`` carrying its FailureReason.

Hyperparameters may hold secrets: they are sent to SageMaker and never logged or echoed in an
error (a bad one is named by its key only).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from platform_kit.catalog.runtime import aws_calls
from platform_kit.errors import BadInput, OperationFailed

log = logging.getLogger(__name__)

T = TypeVar("T")

# SageMaker's own patterns and limits (CreateTrainingJob API reference).
_JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9.\-_]{1,64}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/\S+$")
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/\S*)?$")
MAX_HYPERPARAMETERS = 100
MAX_HYPERPARAMETER_KEY = 256
MAX_HYPERPARAMETER_VALUE = 2500
MAX_TAGS = 50

TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
# Right after CreateTrainingJob a describe can briefly miss the new job (eventual consistency).
NOT_YET_VISIBLE_POLLS = 5


@dataclass(frozen=True)
class TrainingResult:
    """A finished (Completed) training job and what was seen while waiting for it."""

    name: str
    arn: str
    status: str
    secondary_status: str | None
    transitions: tuple[str, ...]  # every line reported through on_status, in order
    model_artifacts: str | None  # S3 URI of model.tar.gz
    billable_seconds: int | None  # absent until the job ends, and in emulators
    created: bool  # False when an existing job of that name was waited for instead


def run_training_job(
    client: Any,
    *,
    name: str,
    image: str,
    role_arn: str,
    instance_type: str,
    instance_count: int = 1,
    hyperparameters: Mapping[str, str] | None = None,
    input_channels: Mapping[str, str] | None = None,
    output_path: str,
    volume_gb: int = 50,
    max_runtime_s: int = 86400,
    spot: bool = False,
    max_wait_s: int | None = None,
    tags: Mapping[str, str] | None = None,
    poll: float = 30.0,
    max_poll: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
    on_status: Callable[[str], None] | None = None,
) -> TrainingResult:
    """Create the training job ``name`` unless it exists, wait for it to end, and return its result.

    ``client`` is a boto3 SageMaker client. ``input_channels`` maps a channel name to an S3 prefix
    (File mode, fully replicated). With ``spot``, ``max_wait_s`` (at least ``max_runtime_s``) bounds
    the time spent waiting for capacity plus training. Raises ``BadInput`` for invalid arguments or
    a name taken by a different job, ``OperationFailed`` when SageMaker refuses the job, keeps
    throttling, or the job ends Failed or Stopped.
    """
    hyperparameters = dict(hyperparameters or {})
    input_channels = dict(input_channels or {})
    tags = dict(tags or {})
    _validate(
        name=name,
        image=image,
        role_arn=role_arn,
        instance_type=instance_type,
        instance_count=instance_count,
        hyperparameters=hyperparameters,
        input_channels=input_channels,
        output_path=output_path,
        volume_gb=volume_gb,
        max_runtime_s=max_runtime_s,
        spot=spot,
        max_wait_s=max_wait_s,
        tags=tags,
        poll=poll,
        max_poll=max_poll,
    )

    existing = _describe(client, name, sleep=sleep, max_poll=max_poll)
    created = False
    if existing is not None:
        _check_same_job(existing, name=name, image=image, output_path=output_path)
        log.info("training job %s already exists (%s); waiting for it", name, existing["TrainingJobStatus"])
    else:
        request = _create_request(
            name=name,
            image=image,
            role_arn=role_arn,
            instance_type=instance_type,
            instance_count=instance_count,
            hyperparameters=hyperparameters,
            input_channels=input_channels,
            output_path=output_path,
            volume_gb=volume_gb,
            max_runtime_s=max_runtime_s,
            spot=spot,
            max_wait_s=max_wait_s,
            tags=tags,
        )
        created = _create(client, name, request, sleep=sleep, max_poll=max_poll)
        if not created:  # another attempt won the race for the name: it must be the same job
            existing = _describe(client, name, sleep=sleep, max_poll=max_poll)
            if existing is not None:
                _check_same_job(existing, name=name, image=image, output_path=output_path)
    return _wait(
        client, name, first=existing, created=created, poll=poll, max_poll=max_poll, sleep=sleep, on_status=on_status
    )


# --- validation ----------------------------------------------------------------------------


def _validate(
    *,
    name: str,
    image: str,
    role_arn: str,
    instance_type: str,
    instance_count: int,
    hyperparameters: dict[str, str],
    input_channels: dict[str, str],
    output_path: str,
    volume_gb: int,
    max_runtime_s: int,
    spot: bool,
    max_wait_s: int | None,
    tags: dict[str, str],
    poll: float,
    max_poll: float,
) -> None:
    """Refuse what SageMaker would refuse (and a few things it would accept but should not)."""
    if not isinstance(name, str) or not _JOB_NAME.match(name):
        raise BadInput(
            f"training job name {name!r} is not valid",
            hint="use 1-63 letters, digits and hyphens, starting and ending with a letter or digit",
        )
    if not isinstance(image, str) or not image.strip() or any(c.isspace() for c in image):
        raise BadInput(f"training job {name}: image {image!r} is not a container image reference")
    if not isinstance(role_arn, str) or not _ROLE_ARN.match(role_arn):
        raise BadInput(
            f"training job {name}: role {role_arn!r} is not an IAM role ARN",
            hint="pass arn:aws:iam::<account>:role/<name>",
        )
    if not isinstance(instance_type, str) or not _INSTANCE_TYPE.match(instance_type):
        raise BadInput(
            f"training job {name}: instance type {instance_type!r} is not a SageMaker type like ml.m5.xlarge"
        )
    for label, value in (
        ("instance_count", instance_count),
        ("volume_gb", volume_gb),
        ("max_runtime_s", max_runtime_s),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BadInput(f"training job {name}: {label} must be a positive integer, not {value!r}")
    if max_wait_s is not None:
        if not spot:
            raise BadInput(
                f"training job {name}: max_wait_s applies only to spot training",
                hint="set spot=True or drop max_wait_s",
            )
        if isinstance(max_wait_s, bool) or not isinstance(max_wait_s, int) or max_wait_s < max_runtime_s:
            raise BadInput(
                f"training job {name}: max_wait_s ({max_wait_s!r}) must be at least max_runtime_s ({max_runtime_s})"
            )
    elif spot:
        raise BadInput(
            f"training job {name}: spot training needs max_wait_s (at least max_runtime_s, {max_runtime_s})",
            hint="max_wait_s bounds waiting for spot capacity plus training time",
        )
    if len(hyperparameters) > MAX_HYPERPARAMETERS:
        raise BadInput(
            f"training job {name}: {len(hyperparameters)} hyperparameters, SageMaker takes {MAX_HYPERPARAMETERS}"
        )
    for key, value in hyperparameters.items():
        # Values are never echoed: a hyperparameter can be a secret.
        if not isinstance(key, str) or not key or len(key) > MAX_HYPERPARAMETER_KEY:
            raise BadInput(f"training job {name}: hyperparameter name {key!r} is empty, too long or not a string")
        if not isinstance(value, str):
            raise BadInput(
                f"training job {name}: hyperparameter {key!r} must be a string",
                hint="SageMaker passes hyperparameters as strings; convert numbers with str()",
            )
        if len(value) > MAX_HYPERPARAMETER_VALUE:
            raise BadInput(
                f"training job {name}: hyperparameter {key!r} is longer than {MAX_HYPERPARAMETER_VALUE} characters"
            )
    for channel, uri in input_channels.items():
        if not isinstance(channel, str) or not _CHANNEL_NAME.match(channel):
            raise BadInput(f"training job {name}: channel name {channel!r} is not valid (letters, digits, . - _; 1-64)")
        if not isinstance(uri, str) or not _S3_URI.match(uri):
            raise BadInput(f"training job {name}: channel {channel} needs an s3://bucket/prefix URI, not {uri!r}")
    if not isinstance(output_path, str) or not _S3_URI.match(output_path):
        raise BadInput(f"training job {name}: output_path needs an s3://bucket/prefix URI, not {output_path!r}")
    if len(tags) > MAX_TAGS:
        raise BadInput(f"training job {name}: {len(tags)} tags, SageMaker takes {MAX_TAGS}")
    for key, value in tags.items():
        if not isinstance(key, str) or not key or key.startswith("aws:") or not isinstance(value, str):
            raise BadInput(f"training job {name}: tag {key!r} is not valid (string key and value, no aws: prefix)")
    if not poll > 0 or max_poll < poll:
        raise BadInput(f"training job {name}: poll ({poll}) must be positive and max_poll ({max_poll}) at least poll")


def _create_request(
    *,
    name: str,
    image: str,
    role_arn: str,
    instance_type: str,
    instance_count: int,
    hyperparameters: dict[str, str],
    input_channels: dict[str, str],
    output_path: str,
    volume_gb: int,
    max_runtime_s: int,
    spot: bool,
    max_wait_s: int | None,
    tags: dict[str, str],
) -> dict[str, Any]:
    """The CreateTrainingJob request for these (validated) arguments."""
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": max_runtime_s}
    if spot and max_wait_s is not None:
        stopping["MaxWaitTimeInSeconds"] = max_wait_s
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": role_arn,
        "OutputDataConfig": {"S3OutputPath": output_path},
        "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": instance_count, "VolumeSizeInGB": volume_gb},
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": spot,
    }
    if hyperparameters:
        request["HyperParameters"] = hyperparameters
    if input_channels:
        request["InputDataConfig"] = [
            {
                "ChannelName": channel,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": uri,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for channel, uri in input_channels.items()
        ]
    if tags:
        request["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
    return request


def _check_same_job(job: dict[str, Any], *, name: str, image: str, output_path: str) -> None:
    """Refuse to adopt a job of the same name that is plainly another job (other image or output)."""
    their_image = job.get("AlgorithmSpecification", {}).get("TrainingImage")
    their_output = job.get("OutputDataConfig", {}).get("S3OutputPath")
    hint = "training job names are unique per account and region; give this run its own name"
    if their_image is not None and their_image != image:
        raise BadInput(f"training job {name} already exists with another image ({their_image})", hint=hint)
    if their_output is not None and their_output.rstrip("/") != output_path.rstrip("/"):
        raise BadInput(f"training job {name} already exists with another output path ({their_output})", hint=hint)


# --- calls -----------------------------------------------------------------------------------


def _is_not_found(exc: ClientError) -> bool:
    # Real SageMaker answers ValidationException "Requested resource not found."; moto says
    # "Could not find training job ...".
    text = aws_calls.message(exc).lower()
    return aws_calls.code(exc) in {"ValidationException", "ResourceNotFound"} and (
        "not found" in text or "not find" in text
    )


def _describe(client: Any, name: str, *, sleep: Callable[[float], None], max_poll: float) -> dict[str, Any] | None:
    """The job's description, or None if no job has that name."""
    what = f"describing training job {name}"
    try:
        return aws_calls.call(
            client.describe_training_job,
            what,
            service="SageMaker",
            sleep=sleep,
            max_wait=max_poll,
            wrap_errors=False,
            TrainingJobName=name,
        )
    except ClientError as exc:
        if _is_not_found(exc):
            return None
        raise OperationFailed(f"{what} failed: {aws_calls.code(exc)}: {aws_calls.message(exc)}") from exc


def _create(
    client: Any, name: str, request: dict[str, Any], *, sleep: Callable[[float], None], max_poll: float
) -> bool:
    """Create the job; False if SageMaker says the name is taken (a concurrent or earlier attempt)."""
    try:
        aws_calls.call(
            client.create_training_job,
            f"creating training job {name}",
            service="SageMaker",
            sleep=sleep,
            max_wait=max_poll,
            wrap_errors=False,
            **request,
        )
    except ClientError as exc:
        if aws_calls.code(exc) == "ResourceInUse":
            log.info("training job %s was created meanwhile; waiting for it", name)
            return False
        raise OperationFailed(
            f"SageMaker refused training job {name}: {aws_calls.code(exc)}: {aws_calls.message(exc)}",
            hint="check the role, image, instance type and service quotas named above",
        ) from exc
    log.info("created training job %s", name)
    return True


# --- waiting ---------------------------------------------------------------------------------


class _Reporter:
    """Turns successive descriptions into status lines, each reported once."""

    def __init__(self, on_status: Callable[[str], None] | None) -> None:
        self.on_status = on_status
        self.lines: list[str] = []
        self._listed = 0  # entries of SecondaryStatusTransitions already handled
        self._ahead: list[str] = []  # statuses reported from SecondaryStatus before the list had them
        self._status: str | None = None

    def _say(self, line: str) -> None:
        self.lines.append(line)
        log.info("%s", line)
        if self.on_status is not None:
            self.on_status(line)

    def see(self, job: dict[str, Any]) -> None:
        # SecondaryStatusTransitions only grows (a spot job may repeat a status in it); the
        # SecondaryStatus field can be ahead of it (moto leaves the list at Starting when the job is
        # Completed). A status reported from the field is not reported again when the list catches up.
        transitions = job.get("SecondaryStatusTransitions", [])
        for entry in transitions[self._listed :]:
            status, message = str(entry.get("Status")), str(entry.get("StatusMessage") or "")
            if self._ahead and self._ahead[0] == status:
                self._ahead.pop(0)
                continue
            self._say(f"secondary {status}: {message}" if message else f"secondary {status}")
        self._listed = len(transitions)
        current = job.get("SecondaryStatus")
        last_listed = str(transitions[-1].get("Status")) if transitions else None
        if current and current != last_listed and current not in self._ahead:
            self._ahead.append(str(current))
            self._say(f"secondary {current}")
        status = job.get("TrainingJobStatus")
        if status and status != self._status:
            self._status = str(status)
            self._say(f"status {status}")


def _wait(
    client: Any,
    name: str,
    *,
    first: dict[str, Any] | None,
    created: bool,
    poll: float,
    max_poll: float,
    sleep: Callable[[float], None],
    on_status: Callable[[str], None] | None,
) -> TrainingResult:
    """Poll until the job ends; report transitions; raise if it did not complete."""
    reporter = _Reporter(on_status)
    job = first
    interval = poll
    misses = 0
    while True:
        if job is None:
            job = _describe(client, name, sleep=sleep, max_poll=max_poll)
            if job is None:
                misses += 1
                if misses > NOT_YET_VISIBLE_POLLS:
                    raise OperationFailed(
                        f"training job {name} was created but SageMaker does not find it",
                        hint="check the region and account the SageMaker client points at",
                    )
        if job is not None:
            reporter.see(job)
            if job.get("TrainingJobStatus") in TERMINAL:
                return _result(job, reporter.lines, created)
        sleep(interval)
        interval = min(interval * 2, max_poll)
        job = None


def _result(job: dict[str, Any], lines: list[str], created: bool) -> TrainingResult:
    name = str(job["TrainingJobName"])
    status = str(job["TrainingJobStatus"])
    secondary = job.get("SecondaryStatus")
    if status != "Completed":
        reason = " ".join(str(job.get("FailureReason") or "no failure reason given").split())
        detail = f" ({secondary})" if secondary and secondary != status else ""
        raise OperationFailed(
            f"training job {name} ended {status}{detail}: {reason}",
            hint=f"see the job's CloudWatch logs (/aws/sagemaker/TrainingJobs, streams {name}/...)",
        )
    billable = job.get("BillableTimeInSeconds")
    return TrainingResult(
        name=name,
        arn=str(job.get("TrainingJobArn", "")),
        status=status,
        secondary_status=str(secondary) if secondary else None,
        transitions=tuple(lines),
        model_artifacts=job.get("ModelArtifacts", {}).get("S3ModelArtifacts"),
        billable_seconds=int(billable) if billable is not None else None,
        created=created,
    )
