"""The catalog's SageMaker and Batch run-time code against a real moto server (5.2.5).

What moto can show is tested on moto: a training job created, completed and adopted again by
name; Batch jobs, array jobs and re-runs on the session sandbox (no Docker: jobs end at once), and
a job seen on its way then FAILED on a second sandbox whose moto fails every job after two seconds.
What moto cannot produce (a training job in progress, Failed or Stopped; a create race; a Batch
container's reason and exit code; throttling) is served by an HTTP double of the services' JSON
APIs (tests/doubles/aws_json_api.py): the real boto3 clients talk to it, it checks its scripted
answers against the service models and records what the clients sent.
docs/catalog-moto.md lists what moto emulates and what it does not.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from conftest import make_batch_queue, moto_client
from doubles.aws_json_api import AwsJsonApiDouble
from pytest_httpserver import HTTPServer

from platform_kit import sandbox
from platform_kit.catalog.runtime import aws_calls, batch, sagemaker
from platform_kit.errors import BadInput, OperationFailed

pytestmark = pytest.mark.sandbox

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/sagemaker-training"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainer:1.4"
OUTPUT = "s3://ml-perception-artifacts/models"
FAIL_AFTER_S = 2  # the failing sandbox's jobs end FAILED this long after SubmitJob


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _record_calls(client: Any) -> list[str]:
    """The names of the API operations the client sends from now on, in order."""
    calls: list[str] = []
    client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    return calls


class _Sleeps:
    """A sleep that records the waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _moto_api(endpoint: str, ca_bundle: Path, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """GET (or POST body to) the moto server's own API."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{endpoint}/moto-api/{path}", data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    context = ssl.create_default_context(cafile=str(ca_bundle))
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        text = response.read().decode()
    return json.loads(text) if text.strip() else {}


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto(moto_endpoint: str) -> str:
    """The session sandbox, checked to run Batch without Docker (jobs would fail without a daemon)."""
    ca_bundle = Path(os.environ["AWS_CA_BUNDLE"])
    assert sandbox.MOTO_CONFIG["batch"] == {"use_docker": False}
    if _moto_api(moto_endpoint, ca_bundle, "config").get("batch", {}).get("use_docker") is not False:
        _moto_api(moto_endpoint, ca_bundle, "config", sandbox.MOTO_CONFIG)
    assert _moto_api(moto_endpoint, ca_bundle, "config")["batch"]["use_docker"] is False
    return moto_endpoint


def _batch_world(endpoint: str, ca_bundle: Path | str | None = None) -> dict[str, str]:
    """An unmanaged compute environment, a queue and a job definition (moto wants a real service role)."""
    iam = moto_client("iam", endpoint, ca_bundle)
    client = moto_client("batch", endpoint, ca_bundle)
    return make_batch_queue(iam, client, uuid.uuid4().hex[:8])


@pytest.fixture(scope="module")
def world(moto: str) -> dict[str, str]:
    return _batch_world(moto)


@pytest.fixture(scope="module")
def failing() -> Iterator[dict[str, Any]]:
    """A second sandbox whose Batch fails every job FAIL_AFTER_S seconds after SubmitJob.

    moto's Docker-less Batch only fails jobs when its server process has MOTO_SIMPLE_BATCH_FAIL_AFTER
    in its environment, and SubmitJob then blocks for that long, with the job already visible as
    SUBMITTED. Batch statuses are set to move one step each 0.2 s of that window when read.
    """
    state = Path(tempfile.mkdtemp(prefix="moto-failing-"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", str(FAIL_AFTER_S))
        info = sandbox.start(state)
    try:
        assert info.ca_bundle is not None
        _moto_api(
            info.endpoint,
            info.ca_bundle,
            "state-manager/set-transition",
            {"model_name": "batch::job", "transition": {"progression": "time", "seconds": 0.2}},
        )
        yield {"endpoint": info.endpoint, "ca_bundle": info.ca_bundle, **_batch_world(info.endpoint, info.ca_bundle)}
    finally:
        sandbox.stop(state)


@pytest.fixture()
def sagemaker_api(httpserver: HTTPServer) -> Iterator[AwsJsonApiDouble]:
    """SageMaker's JSON API as an HTTP double: every request must be scripted, every answer used."""
    double = AwsJsonApiDouble(httpserver, "sagemaker", region=REGION)
    yield double
    double.verify()


@pytest.fixture()
def batch_api(httpserver: HTTPServer) -> Iterator[AwsJsonApiDouble]:
    """AWS Batch's REST-JSON API as an HTTP double: every request must be scripted, every answer used."""
    double = AwsJsonApiDouble(httpserver, "batch", region=REGION)
    yield double
    double.verify()


# --- SageMaker on moto -----------------------------------------------------------------------


def _training_args(name: str, **changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "name": name,
        "image": IMAGE,
        "role_arn": ROLE_ARN,
        "instance_type": "ml.g5.xlarge",
        "instance_count": 2,
        "hyperparameters": {"epochs": "12", "lr": "0.0003"},
        "input_channels": {"train": "s3://ml-perception-data/train/", "validation": "s3://ml-perception-data/val/"},
        "output_path": OUTPUT,
        "volume_gb": 100,
        "max_runtime_s": 7200,
        "spot": True,
        "max_wait_s": 10800,
        "tags": {"team": "perception"},
    }
    args.update(changes)
    return args


def test_training_job_completes_with_its_model_under_output_path(moto: str) -> None:
    client = moto_client("sagemaker", moto)
    calls = _record_calls(client)
    sleeps = _Sleeps()
    reported: list[str] = []
    name = _unique("train")

    result = sagemaker.run_training_job(client, **_training_args(name), sleep=sleeps, on_status=reported.append)

    assert result.status == "Completed"
    assert result.created is True
    assert result.model_artifacts == f"{OUTPUT}/{name}/output/model.tar.gz"
    assert result.billable_seconds is None  # moto does not report it
    assert calls == ["DescribeTrainingJob", "CreateTrainingJob", "DescribeTrainingJob"]
    assert sleeps.waits == []  # moto completes the job at once: no wait before looking
    # moto's transition list stops at Starting while SecondaryStatus says Completed: both reported, once.
    assert reported == [
        "secondary Starting: Preparing the instances for training",
        "secondary Completed",
        "status Completed",
    ]
    assert list(result.transitions) == reported
    # The request as moto stored it.
    job = client.describe_training_job(TrainingJobName=name)
    assert job["HyperParameters"] == {"epochs": "12", "lr": "0.0003"}
    assert {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]} == {
        "train": "s3://ml-perception-data/train/",
        "validation": "s3://ml-perception-data/val/",
    }
    assert job["ResourceConfig"] == {"InstanceType": "ml.g5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 100}
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 10800}
    assert job["EnableManagedSpotTraining"] is True
    assert client.list_tags(ResourceArn=result.arn)["Tags"] == [{"Key": "team", "Value": "perception"}]


def test_second_call_with_the_same_name_waits_for_the_existing_job(moto: str) -> None:
    client = moto_client("sagemaker", moto)
    name = _unique("train")
    first = sagemaker.run_training_job(client, **_training_args(name), sleep=_Sleeps())
    created_at = client.describe_training_job(TrainingJobName=name)["CreationTime"]

    calls = _record_calls(client)
    again = sagemaker.run_training_job(client, **_training_args(name), sleep=_Sleeps())

    assert calls == ["DescribeTrainingJob"]  # no CreateTrainingJob (moto would silently replace the job)
    assert again.created is False
    assert (again.arn, again.status, again.model_artifacts) == (first.arn, first.status, first.model_artifacts)
    jobs = client.list_training_jobs(NameContains=name)["TrainingJobSummaries"]
    assert [job["TrainingJobName"] for job in jobs] == [name]
    assert client.describe_training_job(TrainingJobName=name)["CreationTime"] == created_at


def test_a_name_taken_by_another_job_is_refused(moto: str) -> None:
    client = moto_client("sagemaker", moto)
    name = _unique("train")
    sagemaker.run_training_job(client, **_training_args(name), sleep=_Sleeps())
    calls = _record_calls(client)

    with pytest.raises(BadInput, match=r"already exists with another image \(.*trainer:1\.4\)"):
        sagemaker.run_training_job(client, **_training_args(name, image=IMAGE.replace("1.4", "2.0")), sleep=_Sleeps())
    with pytest.raises(BadInput, match="already exists with another output path"):
        sagemaker.run_training_job(client, **_training_args(name, output_path="s3://elsewhere/models"), sleep=_Sleeps())
    assert "CreateTrainingJob" not in calls


SECRET = "hunter2-do-not-print"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "-starts-with-hyphen"}, "training job name '-starts-with-hyphen' is not valid"),
        ({"name": "has_underscore"}, "is not valid"),
        ({"name": "x" * 64}, "is not valid"),
        ({"max_wait_s": None}, "spot training needs max_wait_s"),
        ({"max_wait_s": 3600}, r"max_wait_s \(3600\) must be at least max_runtime_s \(7200\)"),
        ({"spot": False}, "max_wait_s applies only to spot training"),
        ({"input_channels": {"train": "https://bucket/train"}}, "channel train needs an s3://bucket/prefix URI"),
        ({"input_channels": {"bad channel": "s3://bucket/x"}}, "channel name 'bad channel' is not valid"),
        ({"output_path": "/local/models"}, "output_path needs an s3://bucket/prefix URI"),
        ({"hyperparameters": {"api_key": 12345, "note": SECRET}}, "hyperparameter 'api_key' must be a string"),
        ({"role_arn": "sagemaker-training"}, "is not an IAM role ARN"),
        ({"instance_type": "g5.xlarge"}, "is not a SageMaker type"),
        ({"instance_count": 0}, "instance_count must be a positive integer"),
        ({"tags": {"aws:owner": "x"}}, "tag 'aws:owner' is not valid"),
    ],
)
def test_bad_training_inputs_are_refused_before_any_call(moto: str, changes: dict[str, Any], message: str) -> None:
    client = moto_client("sagemaker", moto)
    calls = _record_calls(client)
    args = _training_args(_unique("train"))
    args.update(changes)
    with pytest.raises(BadInput, match=message) as caught:
        sagemaker.run_training_job(client, **args, sleep=_Sleeps())
    assert calls == []
    assert "\n" not in str(caught.value)
    assert SECRET not in str(caught.value)


def test_secret_hyperparameter_value_is_not_echoed(moto: str) -> None:
    client = moto_client("sagemaker", moto)
    with pytest.raises(BadInput) as caught:
        sagemaker.run_training_job(
            client, **_training_args(_unique("train"), hyperparameters={"token": SECRET * 200}), sleep=_Sleeps()
        )
    assert "hyperparameter 'token' is longer than 2500 characters" in str(caught.value)
    assert SECRET not in str(caught.value)


# --- SageMaker: what moto cannot show, through the HTTP double of its JSON API ---------------


def _described(name: str, status: str, secondary: str, transitions: list[str], **extra: Any) -> dict[str, Any]:
    """A DescribeTrainingJob answer (the double checks it against the service model)."""
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    return {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:123456789012:training-job/{name}",
        "ModelArtifacts": {"S3ModelArtifacts": f"{OUTPUT}/{name}/output/model.tar.gz"},
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": OUTPUT},
        "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 100},
        "StoppingCondition": {"MaxRuntimeInSeconds": 7200},
        "CreationTime": now,
        "SecondaryStatusTransitions": [
            {"Status": item, "StartTime": now, "StatusMessage": f"{item.lower()} message"} for item in transitions
        ],
        **extra,
    }


def _not_found(api: AwsJsonApiDouble) -> None:
    """Real SageMaker's answer to DescribeTrainingJob for a name no job has."""
    api.add_error("DescribeTrainingJob", "ValidationException", "Requested resource not found.")


def _created(api: AwsJsonApiDouble, name: str) -> None:
    api.add_response("CreateTrainingJob", {"TrainingJobArn": f"arn:aws:sagemaker:{REGION}:1:training-job/{name}"})


def _create_request(name: str) -> dict[str, Any]:
    """The CreateTrainingJob body ``_training_args(name)`` must put on the wire."""

    def channel(channel_name: str, uri: str) -> dict[str, Any]:
        source = {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
        return {"ChannelName": channel_name, "DataSource": {"S3DataSource": source}}

    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "OutputDataConfig": {"S3OutputPath": OUTPUT},
        "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 100},
        "StoppingCondition": {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 10800},
        "EnableManagedSpotTraining": True,
        "HyperParameters": {"epochs": "12", "lr": "0.0003"},
        "InputDataConfig": [
            channel("train", "s3://ml-perception-data/train/"),
            channel("validation", "s3://ml-perception-data/val/"),
        ],
        "Tags": [{"Key": "team", "Value": "perception"}],
    }


def test_waiting_backs_off_and_reports_each_transition_once(sagemaker_api: AwsJsonApiDouble) -> None:
    name = "train-scripted"
    _not_found(sagemaker_api)
    _created(sagemaker_api, name)
    steps = [
        ("InProgress", "Starting", ["Starting"]),
        ("InProgress", "Starting", ["Starting"]),
        ("InProgress", "Downloading", ["Starting", "Downloading"]),
        ("InProgress", "Training", ["Starting", "Downloading", "Training"]),
        ("InProgress", "Training", ["Starting", "Downloading", "Training"]),
        ("InProgress", "Training", ["Starting", "Downloading", "Training"]),
        ("Completed", "Completed", ["Starting", "Downloading", "Training", "Uploading", "Completed"]),
    ]
    for status, secondary, transitions in steps[:-1]:
        sagemaker_api.add_response("DescribeTrainingJob", _described(name, status, secondary, transitions))
    status, secondary, transitions = steps[-1]
    sagemaker_api.add_response(
        "DescribeTrainingJob", _described(name, status, secondary, transitions, BillableTimeInSeconds=2345)
    )
    sleeps = _Sleeps()
    reported: list[str] = []

    result = sagemaker.run_training_job(
        sagemaker_api.client(),
        **_training_args(name),
        poll=10.0,
        max_poll=60.0,
        sleep=sleeps,
        on_status=reported.append,
    )

    assert sagemaker_api.pending() == {}
    assert sagemaker_api.operations == ["DescribeTrainingJob", "CreateTrainingJob"] + ["DescribeTrainingJob"] * 7
    assert sagemaker_api.requests("DescribeTrainingJob") == [{"TrainingJobName": name}] * 8
    assert sagemaker_api.requests("CreateTrainingJob") == [_create_request(name)]
    assert reported == [
        "secondary Starting: starting message",
        "status InProgress",
        "secondary Downloading: downloading message",
        "secondary Training: training message",
        "secondary Uploading: uploading message",
        "secondary Completed: completed message",
        "status Completed",
    ]
    assert len(reported) == len(set(reported))
    assert sleeps.waits == [10.0, 20.0, 40.0, 60.0, 60.0, 60.0]
    assert result.billable_seconds == 2345
    assert result.created is True


@pytest.mark.parametrize(
    ("status", "secondary", "extra", "expected"),
    [
        (
            "Failed",
            "Failed",
            {"FailureReason": "AlgorithmError: ExecuteUserScriptError:\nexit code 1"},
            "ended Failed: AlgorithmError: ExecuteUserScriptError: exit code 1",
        ),
        ("Stopped", "MaxRuntimeExceeded", {}, r"ended Stopped \(MaxRuntimeExceeded\): no failure reason given"),
    ],
)
def test_an_existing_job_that_failed_raises_its_reason(
    sagemaker_api: AwsJsonApiDouble, status: str, secondary: str, extra: dict[str, Any], expected: str
) -> None:
    name = "train-failed"
    sagemaker_api.add_response(
        "DescribeTrainingJob", _described(name, status, secondary, ["Starting", secondary], **extra)
    )
    with pytest.raises(OperationFailed, match=expected) as caught:
        sagemaker.run_training_job(sagemaker_api.client(), **_training_args(name), sleep=_Sleeps())
    assert "\n" not in str(caught.value)
    assert caught.value.hint is not None and f"{name}/" in caught.value.hint
    assert sagemaker_api.operations == ["DescribeTrainingJob"]  # adopted, not created again


def test_a_create_race_is_settled_by_waiting_for_the_winner(sagemaker_api: AwsJsonApiDouble) -> None:
    name = "train-race"
    _not_found(sagemaker_api)
    sagemaker_api.add_error(
        "CreateTrainingJob",
        "ResourceInUse",
        f"Training job names must be unique within an AWS account and region, and a training job "
        f"with this name already exists ({name})",
    )
    sagemaker_api.add_response("DescribeTrainingJob", _described(name, "Completed", "Completed", ["Completed"]))

    result = sagemaker.run_training_job(sagemaker_api.client(), **_training_args(name), sleep=_Sleeps())

    assert sagemaker_api.pending() == {}
    assert sagemaker_api.operations == ["DescribeTrainingJob", "CreateTrainingJob", "DescribeTrainingJob"]
    assert result.created is False
    assert result.status == "Completed"


def test_a_race_winner_that_is_another_job_is_not_taken_as_ours(sagemaker_api: AwsJsonApiDouble) -> None:
    name = "train-race-other"
    _not_found(sagemaker_api)
    sagemaker_api.add_error(
        "CreateTrainingJob", "ResourceInUse", f"a training job with this name already exists ({name})"
    )
    other = _described(name, "InProgress", "Training", ["Starting", "Training"])
    other["AlgorithmSpecification"]["TrainingImage"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/other:9"
    sagemaker_api.add_response("DescribeTrainingJob", other)
    with pytest.raises(BadInput, match="other:9"):
        sagemaker.run_training_job(sagemaker_api.client(), **_training_args(name), sleep=_Sleeps())
    assert sagemaker_api.operations == ["DescribeTrainingJob", "CreateTrainingJob", "DescribeTrainingJob"]


def test_a_secondary_status_seen_before_the_list_has_it_is_reported_once(sagemaker_api: AwsJsonApiDouble) -> None:
    name = "train-ahead"
    for answer in (
        _described(name, "InProgress", "Training", ["Starting"]),  # the field is two steps ahead
        _described(name, "InProgress", "Training", ["Starting", "Downloading", "Training"]),
        _described(name, "Completed", "Completed", ["Starting", "Downloading", "Training", "Completed"]),
    ):
        sagemaker_api.add_response("DescribeTrainingJob", answer)
    seen: list[str] = []
    sagemaker.run_training_job(sagemaker_api.client(), **_training_args(name), sleep=_Sleeps(), on_status=seen.append)
    secondary = [line.split(":")[0] for line in seen if line.startswith("secondary")]
    assert secondary == ["secondary Starting", "secondary Training", "secondary Downloading", "secondary Completed"]


def test_sagemaker_refusing_the_job_is_one_line_with_its_reason(sagemaker_api: AwsJsonApiDouble) -> None:
    name = "train-refused"
    _not_found(sagemaker_api)
    sagemaker_api.add_error(
        "CreateTrainingJob",
        "ResourceLimitExceeded",
        "The account-level service limit 'ml.g5.xlarge for spot training job usage' is 0 Instances",
    )
    with pytest.raises(OperationFailed, match=r"SageMaker refused training job train-refused: Resource") as caught:
        sagemaker.run_training_job(sagemaker_api.client(), **_training_args(name), sleep=_Sleeps())
    assert "\n" not in str(caught.value)
    assert sagemaker_api.operations == ["DescribeTrainingJob", "CreateTrainingJob"]


def test_throttled_describe_is_retried_with_growing_waits(sagemaker_api: AwsJsonApiDouble) -> None:
    name = "train-throttled"
    sagemaker_api.add_error("DescribeTrainingJob", "ThrottlingException", "Rate exceeded", times=3)
    _not_found(sagemaker_api)
    _created(sagemaker_api, name)
    sagemaker_api.add_response("DescribeTrainingJob", _described(name, "Completed", "Completed", ["Completed"]))
    sleeps = _Sleeps()

    result = sagemaker.run_training_job(
        sagemaker_api.client(), **_training_args(name), sleep=sleeps, poll=1.0, max_poll=2.0
    )

    assert result.status == "Completed"
    assert sagemaker_api.pending() == {}  # every throttling answer was met
    assert sagemaker_api.operations == ["DescribeTrainingJob"] * 4 + ["CreateTrainingJob", "DescribeTrainingJob"]
    assert sleeps.waits == [1.0, 2.0, 2.0]  # 1, 2, 4 capped at max_poll


def test_endless_throttling_gives_up_with_one_line(sagemaker_api: AwsJsonApiDouble) -> None:
    attempts = aws_calls.THROTTLE_RETRIES + 1
    sagemaker_api.add_error("DescribeTrainingJob", "ThrottlingException", "Rate exceeded", times=attempts)
    sleeps = _Sleeps()

    with pytest.raises(OperationFailed, match=r"AWS kept throttling the request \(6 retries\)") as caught:
        sagemaker.run_training_job(sagemaker_api.client(), **_training_args("train-throttled"), sleep=sleeps)

    assert "\n" not in str(caught.value)
    assert len(sleeps.waits) == aws_calls.THROTTLE_RETRIES
    # Never got past the first describe, so nothing was created (and it stopped asking).
    assert sagemaker_api.operations == ["DescribeTrainingJob"] * attempts


# --- Batch on moto ---------------------------------------------------------------------------


def _parent_jobs(client: Any, queue: str, name: str) -> list[dict[str, Any]]:
    """Jobs named ``name`` in the queue, without array children (moto lists those too)."""
    listed = client.list_jobs(jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [name]}])["jobSummaryList"]
    return [job for job in listed if ":" not in job["jobId"]]


def test_batch_job_succeeds_with_its_log_stream(
    moto: str, world: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    client = moto_client("batch", moto)
    calls = _record_calls(client)
    sleeps = _Sleeps()
    reported: list[str] = []
    name = _unique("features")
    caplog.set_level(logging.DEBUG, logger="platform_kit")

    result = batch.run_batch_job(
        client,
        name=name,
        queue=world["queue"],
        definition=world["definition"],
        overrides={
            "command": ["python", "-m", "features", "--day", "2024-05-01"],
            "environment": {"STAGE": "daily", "DB_PASSWORD": SECRET},
            "vcpus": 2,
            "memory": 4096,
        },
        tags={"team": "perception"},
        sleep=sleeps,
        on_status=reported.append,
    )

    assert result.status == "SUCCEEDED"
    assert result.submitted is True
    assert result.log_stream_name == f"{world['definition']}/default/{result.job_id}"
    assert result.array_size is None and result.child_log_streams == ()
    assert reported == ["status SUCCEEDED"] == list(result.transitions)
    assert sleeps.waits == []
    assert calls == ["ListJobs", "SubmitJob", "DescribeJobs"]
    job = client.describe_jobs(jobs=[result.job_id])["jobs"][0]
    assert job["container"]["command"] == ["python", "-m", "features", "--day", "2024-05-01"]
    environment = {item["name"]: item["value"] for item in job["container"]["environment"]}
    assert environment["STAGE"] == "daily" and environment["DB_PASSWORD"] == SECRET
    assert job["tags"] == {"team": "perception"}
    assert SECRET not in caplog.text
    assert f"submitted batch job {name}" in caplog.text


def test_array_job_reports_its_children_and_is_adopted_whole_on_rerun(moto: str, world: dict[str, str]) -> None:
    client = moto_client("batch", moto)
    name = _unique("shards")
    args = {"name": name, "queue": world["queue"], "definition": world["definition"], "array_size": 3}

    result = batch.run_batch_job(client, **args, sleep=_Sleeps())

    assert result.status == "SUCCEEDED"
    assert result.array_size == 3
    assert result.array_summary["SUCCEEDED"] == 3
    assert sum(result.array_summary.values()) == 3
    assert result.log_stream_name is None  # an array parent runs nothing itself
    assert result.child_log_streams == tuple(
        f"{world['definition']}/default/{result.job_id}:{index}" for index in range(3)
    )
    assert result.transitions == ("children SUCCEEDED=3", "status SUCCEEDED")

    calls = _record_calls(client)
    again = batch.run_batch_job(client, **args, sleep=_Sleeps())
    assert "SubmitJob" not in calls
    assert again.submitted is False
    assert again.job_id == result.job_id  # the parent, not one of the children moto also lists
    assert again.child_log_streams == result.child_log_streams


def test_rerun_with_the_same_name_waits_for_the_existing_job(moto: str, world: dict[str, str]) -> None:
    client = moto_client("batch", moto)
    name = _unique("features")
    args = {"name": name, "queue": world["queue"], "definition": world["definition"]}
    first = batch.run_batch_job(client, **args, sleep=_Sleeps())

    calls = _record_calls(client)
    again = batch.run_batch_job(client, **args, sleep=_Sleeps())

    assert calls == ["ListJobs", "DescribeJobs"]
    assert again.submitted is False
    assert (again.job_id, again.status, again.log_stream_name) == (first.job_id, "SUCCEEDED", first.log_stream_name)
    assert [job["jobId"] for job in _parent_jobs(client, world["queue"], name)] == [first.job_id]


def test_client_token_limits_reuse_to_the_same_run(moto: str, world: dict[str, str]) -> None:
    client = moto_client("batch", moto)
    name = _unique("nightly")  # a fixed name reused by every pipeline run
    args = {"name": name, "queue": world["queue"], "definition": world["definition"]}

    monday = batch.run_batch_job(client, **args, client_token="run-monday/features", sleep=_Sleeps())
    monday_retry = batch.run_batch_job(client, **args, client_token="run-monday/features", sleep=_Sleeps())
    tuesday = batch.run_batch_job(client, **args, client_token="run-tuesday/features", sleep=_Sleeps())
    monday_late_retry = batch.run_batch_job(client, **args, client_token="run-monday/features", sleep=_Sleeps())

    assert monday.submitted and tuesday.submitted
    assert not monday_retry.submitted and not monday_late_retry.submitted
    assert monday_retry.job_id == monday.job_id == monday_late_retry.job_id  # not Tuesday's newer job
    assert tuesday.job_id != monday.job_id
    assert len(_parent_jobs(client, world["queue"], name)) == 2
    tags = client.describe_jobs(jobs=[tuesday.job_id])["jobs"][0]["tags"]
    assert tags == {batch.TOKEN_TAG: "run-tuesday/features"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "bad name"}, "batch job name 'bad name' is not valid"),
        ({"name": "y" * 129}, "is not valid"),
        ({"array_size": 1}, "array_size must be 2-10000, not 1"),
        ({"array_size": 10_001}, "array_size must be 2-10000"),
        ({"overrides": {"cpu": 2}}, "unknown override 'cpu'"),
        ({"overrides": {"command": "echo hi"}}, "command must be a non-empty list of strings"),
        ({"overrides": {"environment": {"AWS_BATCH_JOB_ID": "x"}}}, "environment name 'AWS_BATCH_JOB_ID' is not valid"),
        ({"overrides": {"environment": {"TOKEN": 42, "OTHER": SECRET}}}, "environment TOKEN must be a string"),
        ({"overrides": {"memory": 0.5}}, "memory must be a positive integer"),
        ({"overrides": {"vcpus": 0}}, "vcpus must be a positive number"),
        ({"tags": {"aws:cost": "x"}}, "tag 'aws:cost' is not allowed"),
        ({"tags": {batch.TOKEN_TAG: "x"}}, "is not allowed"),
        ({"client_token": " "}, "client_token must be a non-empty string"),
        ({"queue": ""}, "queue '' is not a name or ARN"),
    ],
)
def test_bad_batch_inputs_are_refused_before_any_call(
    moto: str, world: dict[str, str], changes: dict[str, Any], message: str
) -> None:
    client = moto_client("batch", moto)
    calls = _record_calls(client)
    args: dict[str, Any] = {"name": _unique("features"), "queue": world["queue"], "definition": world["definition"]}
    args.update(changes)
    with pytest.raises(BadInput, match=message) as caught:
        batch.run_batch_job(client, **args, sleep=_Sleeps())
    assert calls == []
    assert SECRET not in str(caught.value)


def test_unknown_queue_fails_with_batchs_answer(moto: str, world: dict[str, str]) -> None:
    client = moto_client("batch", moto)
    with pytest.raises(
        OperationFailed, match=r"looking for batch job .* in queue no-such-queue failed: ClientException"
    ):
        batch.run_batch_job(client, name=_unique("features"), queue="no-such-queue", definition=world["definition"])


# --- Batch: container reasons, exit codes and throttling, through the HTTP double of its API --
# moto without Docker never sets a container reason or exit code; real Batch does.

JOB = "features-scripted"


def _batch_job(job_id: str, status: str, **extra: Any) -> dict[str, Any]:
    """A DescribeJobs job (the double checks it against the service model)."""
    return {
        "jobName": JOB,
        "jobId": job_id,
        "jobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/q",
        "status": status,
        "startedAt": 1714564800000,
        "jobDefinition": "arn:aws:batch:us-east-1:123456789012:job-definition/features:3",
        **extra,
    }


def _nothing_listed_then_submitted(api: AwsJsonApiDouble, job_id: str) -> None:
    api.add_response("ListJobs", {"jobSummaryList": []})
    api.add_response("SubmitJob", {"jobName": JOB, "jobId": job_id})


def test_rerun_picks_the_newest_unfailed_parent_with_that_exact_name(batch_api: AwsJsonApiDouble) -> None:
    """Children, FAILED jobs and names differing in case are never adopted (ListJobs' filter ignores case)."""
    listed = [
        {"jobId": "other-case", "jobName": JOB.upper(), "createdAt": 500, "status": "RUNNING"},
        {"jobId": "retry-failed", "jobName": JOB, "createdAt": 400, "status": "FAILED"},
        {"jobId": "old:0", "jobName": JOB, "createdAt": 300, "status": "RUNNING"},
        {"jobId": "old", "jobName": JOB, "createdAt": 200, "status": "RUNNING"},
        {"jobId": "older", "jobName": JOB, "createdAt": 100, "status": "SUCCEEDED"},
    ]
    batch_api.add_response("ListJobs", {"jobSummaryList": listed})
    batch_api.add_response("DescribeJobs", {"jobs": [_batch_job("old", "SUCCEEDED")]})

    result = batch.run_batch_job(batch_api.client(), name=JOB, queue="q", definition="features", sleep=_Sleeps())

    assert batch_api.pending() == {}
    assert batch_api.operations == ["ListJobs", "DescribeJobs"]
    assert batch_api.requests("ListJobs") == [{"jobQueue": "q", "filters": [{"name": "JOB_NAME", "values": [JOB]}]}]
    assert batch_api.requests("DescribeJobs") == [{"jobs": ["old"]}]
    assert (result.job_id, result.submitted) == ("old", False)


def test_a_failed_container_reports_its_reason_and_exit_code(batch_api: AwsJsonApiDouble) -> None:
    _nothing_listed_then_submitted(batch_api, "job-1")
    batch_api.add_response("DescribeJobs", {"jobs": [_batch_job("job-1", "RUNNING")]})
    container = {
        "reason": "OutOfMemoryError: Container killed due to memory usage",
        "exitCode": 137,
        "logStreamName": "features/default/abc",
    }
    failed = _batch_job("job-1", "FAILED", statusReason="Essential container in task exited", container=container)
    batch_api.add_response("DescribeJobs", {"jobs": [failed]})
    sleeps = _Sleeps()

    with pytest.raises(OperationFailed) as caught:
        batch.run_batch_job(
            batch_api.client(), name=JOB, queue="q", definition="features", poll=5.0, max_poll=60.0, sleep=sleeps
        )

    assert str(caught.value) == (
        f"batch job {JOB} (job-1) FAILED: Essential container in task exited; "
        "container: OutOfMemoryError: Container killed due to memory usage, exit code 137"
    )
    assert caught.value.hint is not None and "features/default/abc" in caught.value.hint
    assert sleeps.waits == [5.0]
    assert batch_api.operations == ["ListJobs", "SubmitJob", "DescribeJobs", "DescribeJobs"]
    assert batch_api.requests("SubmitJob") == [{"jobName": JOB, "jobQueue": "q", "jobDefinition": "features"}]
    assert batch_api.requests("DescribeJobs") == [{"jobs": ["job-1"]}] * 2


def test_a_failed_array_job_names_its_first_failed_child(batch_api: AwsJsonApiDouble) -> None:
    _nothing_listed_then_submitted(batch_api, "arr-1")
    summary = {"SUCCEEDED": 1, "FAILED": 1}
    parent = _batch_job(
        "arr-1",
        "FAILED",
        statusReason="Array Child Job failed",
        arrayProperties={"statusSummary": summary, "size": 2},
    )
    batch_api.add_response("DescribeJobs", {"jobs": [parent]})
    children = [
        _batch_job(
            "arr-1:1",
            "FAILED",
            statusReason="Essential container in task exited",
            container={"exitCode": 3, "logStreamName": "features/default/child-1"},
        ),
        _batch_job("arr-1:0", "SUCCEEDED", container={"exitCode": 0, "logStreamName": "features/default/child-0"}),
    ]
    batch_api.add_response("DescribeJobs", {"jobs": children})
    reported: list[str] = []

    with pytest.raises(OperationFailed) as caught:
        batch.run_batch_job(
            batch_api.client(),
            name=JOB,
            queue="q",
            definition="features",
            array_size=2,
            sleep=_Sleeps(),
            on_status=reported.append,
        )

    assert str(caught.value) == (
        f"batch job {JOB} (arr-1) FAILED: Array Child Job failed; first failed child arr-1:1: "
        "Essential container in task exited; container: exit code 3"
    )
    assert caught.value.hint is not None and "features/default/child-1" in caught.value.hint
    assert reported == ["children SUCCEEDED=1 FAILED=1", "status FAILED"]
    assert batch_api.requests("SubmitJob") == [
        {"jobName": JOB, "jobQueue": "q", "jobDefinition": "features", "arrayProperties": {"size": 2}}
    ]
    assert batch_api.requests("DescribeJobs") == [{"jobs": ["arr-1"]}, {"jobs": ["arr-1:0", "arr-1:1"]}]


def test_batch_throttling_is_retried(batch_api: AwsJsonApiDouble) -> None:
    batch_api.add_response("ListJobs", {"jobSummaryList": []})
    batch_api.add_error("SubmitJob", "ThrottlingException", "Rate exceeded", times=2)
    batch_api.add_response("SubmitJob", {"jobName": JOB, "jobId": "job-1"})
    batch_api.add_response("DescribeJobs", {"jobs": [_batch_job("job-1", "SUCCEEDED")]})
    sleeps = _Sleeps()

    result = batch.run_batch_job(batch_api.client(), name=JOB, queue="q", definition="features", sleep=sleeps)

    assert result.status == "SUCCEEDED"
    assert (result.job_id, result.submitted) == ("job-1", True)
    assert sleeps.waits == [1.0, 2.0]
    assert batch_api.operations == ["ListJobs", "SubmitJob", "SubmitJob", "SubmitJob", "DescribeJobs"]
    # The same request each time, and only the last one accepted: one job.
    assert batch_api.requests("SubmitJob") == [{"jobName": JOB, "jobQueue": "q", "jobDefinition": "features"}] * 3
    assert [call.status for call in batch_api.calls if call.operation == "SubmitJob"] == [400, 400, 200]


# --- the double itself: strict, so a converted test cannot pass on answers it never got ---------


def test_the_double_refuses_answers_the_service_model_does_not_allow(httpserver: HTTPServer) -> None:
    api = AwsJsonApiDouble(httpserver, "batch", region=REGION)
    with pytest.raises(ParamValidationError, match='Missing required parameter in jobs\\[0\\]: "jobQueue"'):
        api.add_response("DescribeJobs", {"jobs": [{"jobId": "j", "jobName": JOB}]})
    with pytest.raises(ValueError, match="batch has no operation 'describe_jobs'"):
        api.add_response("describe_jobs", {"jobs": []})
    assert api.pending() == {}


def test_the_double_fails_on_requests_it_was_not_scripted_for(httpserver: HTTPServer) -> None:
    api = AwsJsonApiDouble(httpserver, "sagemaker", region=REGION)
    api.add_response("DescribeTrainingJob", _described("train-x", "Completed", "Completed", []))

    with pytest.raises(ClientError, match="UnexpectedRequestToDouble"):  # signed for another region
        api.client(region_name="eu-west-1").describe_training_job(TrainingJobName="train-x")
    with pytest.raises(ClientError, match="ListTrainingJobs called with no answer scripted"):
        api.client().list_training_jobs()
    with pytest.raises(AssertionError) as caught:
        api.verify()

    assert "signed as ('testing', 'eu-west-1', 'sagemaker'), expected ('testing', 'us-east-1', 'sagemaker')" in str(
        caught.value
    )
    assert "ListTrainingJobs called with no answer scripted" in str(caught.value)
    assert "scripted answers not used: {'DescribeTrainingJob': 1}" in str(caught.value)
    assert [(call.operation, call.status) for call in api.calls] == [
        ("DescribeTrainingJob", 400),
        ("ListTrainingJobs", 400),
    ]
    httpserver.clear_assertions()  # the double also told pytest-httpserver; this test expected it


# --- Batch failures, on the failing sandbox -------------------------------------------------


def _submit_in_background(failing: dict[str, Any], name: str) -> threading.Thread:
    """SubmitJob from another thread (it blocks until the job fails) and wait until the job is listed."""
    client = moto_client("batch", failing["endpoint"], failing["ca_bundle"])

    def submit() -> None:
        client.submit_job(jobName=name, jobQueue=failing["queue"], jobDefinition=failing["definition"])

    thread = threading.Thread(target=submit, daemon=True)
    thread.start()
    observer = moto_client("batch", failing["endpoint"], failing["ca_bundle"])
    deadline = time.monotonic() + FAIL_AFTER_S
    while not _parent_jobs(observer, failing["queue"], name):
        assert time.monotonic() < deadline, "the background submission never showed up"
        time.sleep(0.02)
    return thread


def test_rerun_waits_for_a_running_submission_and_reports_its_failure(failing: dict[str, Any]) -> None:
    client = moto_client("batch", failing["endpoint"], failing["ca_bundle"])
    name = _unique("features")
    thread = _submit_in_background(failing, name)
    calls = _record_calls(client)
    reported: list[str] = []
    terminator = moto_client("batch", failing["endpoint"], failing["ca_bundle"])

    def on_status(line: str) -> None:
        if not reported:  # give the job a reason while it is still on its way
            job_id = _parent_jobs(terminator, failing["queue"], name)[0]["jobId"]
            terminator.terminate_job(jobId=job_id, reason="stopped by the test")
        reported.append(line)

    with pytest.raises(OperationFailed) as caught:
        batch.run_batch_job(
            client,
            name=name,
            queue=failing["queue"],
            definition=failing["definition"],
            poll=0.05,
            max_poll=0.2,
            sleep=time.sleep,
            on_status=on_status,
        )
    thread.join(timeout=10)

    assert "SubmitJob" not in calls
    assert len(_parent_jobs(client, failing["queue"], name)) == 1
    message = str(caught.value)
    assert message.startswith(f"batch job {name} (") and message.endswith(") FAILED: stopped by the test")
    assert caught.value.hint is not None and f"{failing['definition']}/default/" in caught.value.hint
    statuses = [line.removeprefix("status ") for line in reported]
    assert statuses[-1] == "FAILED" and len(statuses) >= 2
    order = [batch.STATUS_ORDER.index(status) for status in statuses]
    assert order == sorted(set(order))  # each status once, in lifecycle order
    assert calls.count("DescribeJobs") > len(reported)  # polled more often than anything changed


def test_a_failed_job_is_reported_and_not_adopted_by_a_retry(failing: dict[str, Any]) -> None:
    client = moto_client("batch", failing["endpoint"], failing["ca_bundle"])
    name = _unique("features")
    args = {"name": name, "queue": failing["queue"], "definition": failing["definition"], "sleep": time.sleep}

    with pytest.raises(OperationFailed, match=r"FAILED: no reason given$") as first:
        batch.run_batch_job(client, **args, poll=0.05, max_poll=0.2)
    calls = _record_calls(client)
    with pytest.raises(OperationFailed, match="FAILED") as retried:
        batch.run_batch_job(client, **args, poll=0.05, max_poll=0.2)

    assert "SubmitJob" in calls  # the failed attempt was not taken for this one
    assert str(retried.value) != str(first.value)  # another job id
    assert len(_parent_jobs(client, failing["queue"], name)) == 2
