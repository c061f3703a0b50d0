"""Run an AWS Batch job (single or array) to its end, safely under Kubeflow Pipelines retries.

AWS Batch has no unique job names and no idempotency token on SubmitJob: submitting twice runs
twice. A retried KFP task would do exactly that, so ``run_batch_job`` first looks for a job it
may already have submitted, and waits for that one instead:

* It lists the queue's jobs with that exact name (ListJobs, ``JOB_NAME`` filter, every status;
  array children are not listed) and keeps those not ``FAILED``: one still on its way, or one
  that ``SUCCEEDED``. A failed attempt is never adopted, so a retry after a failure really retries.
* With ``client_token`` the job is also tagged ``platform-kit:client-token=<token>``, and only a
  job carrying the same token counts (tags read with DescribeJobs). Pass something stable across
  retries of one task and new for every pipeline run (the KFP run id plus the task name): then a
  fixed job name such as ``nightly-features`` is safe, and yesterday's SUCCEEDED job is not taken
  for today's. Without a token the name alone is the key, so the name must be unique per run.
* Of several matches the newest (``createdAt``) is used.

This protects against sequential re-runs, which is what KFP retries are. Two submissions racing
each other within ListJobs' consistency window can still both submit; Batch offers nothing to
close that gap.

Waiting polls DescribeJobs with a growing interval (``poll`` doubling up to ``max_poll``),
reports each status change once through ``on_status`` (and the children's status counts for an
array job), and retries throttling a bounded number of times. A ``FAILED`` job raises
``OperationFailed`` with Batch's statusReason and the container's reason and exit code (for an
array job, those of its first failed child). Environment values may be secrets: they are sent to
Batch and never logged or echoed in an error.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from platform_kit.catalog.runtime import aws_calls
from platform_kit.errors import BadInput, OperationFailed

log = logging.getLogger(__name__)

T = TypeVar("T")

TOKEN_TAG = "platform-kit:client-token"
TERMINAL = frozenset({"SUCCEEDED", "FAILED"})
STATUS_ORDER = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
DESCRIBE_BATCH = 100  # DescribeJobs takes at most 100 job IDs
# An array job's children are described (for their log streams and failure reasons) up to this
# many: one DescribeJobs call. Larger arrays report their status counts only past that.
MAX_CHILDREN_DESCRIBED = 100
# Right after SubmitJob a describe can briefly miss the new job (eventual consistency).
NOT_YET_VISIBLE_POLLS = 5

_JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_OVERRIDE_KEYS = frozenset({"command", "environment", "vcpus", "memory", "gpus"})
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_TAGS = 50
MAX_TAG_VALUE = 256
MIN_ARRAY, MAX_ARRAY = 2, 10_000


@dataclass(frozen=True)
class BatchResult:
    """A finished (SUCCEEDED) Batch job and what was seen while waiting for it."""

    job_id: str
    name: str
    status: str
    log_stream_name: str | None  # the job's own CloudWatch stream (group /aws/batch/job by default)
    transitions: tuple[str, ...]  # every line reported through on_status, in order
    submitted: bool  # False when an earlier submission was found and waited for
    array_size: int | None = None
    array_summary: dict[str, int] = field(default_factory=dict)  # children per status (array jobs)
    child_log_streams: tuple[str, ...] = ()  # children's streams, by index (first MAX_CHILDREN_DESCRIBED)


def run_batch_job(
    client: Any,
    *,
    name: str,
    queue: str,
    definition: str,
    overrides: Mapping[str, Any] | None = None,
    array_size: int | None = None,
    parameters: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    client_token: str | None = None,
    poll: float = 10.0,
    max_poll: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
    on_status: Callable[[str], None] | None = None,
) -> BatchResult:
    """Submit the job (unless an earlier submission is found; see the module doc), wait, and return.

    ``client`` is a boto3 Batch client; ``queue`` and ``definition`` are names or ARNs (a
    definition may carry ``:revision``). ``overrides`` may hold ``command`` (list of strings),
    ``environment`` (name to value), ``vcpus``, ``memory`` (MiB) and ``gpus``; the last three
    become resourceRequirements. ``array_size`` (2-10,000) makes an array job. Polling starts at
    ``poll`` seconds (Batch jobs are often minutes long, and DescribeJobs is cheap). Raises
    ``BadInput`` for invalid arguments, ``OperationFailed`` when Batch refuses the job, keeps
    throttling, or the job ends FAILED.
    """
    container = _container_overrides(name, overrides)
    parameters = dict(parameters or {})
    tags = dict(tags or {})
    _validate(
        name=name,
        queue=queue,
        definition=definition,
        array_size=array_size,
        parameters=parameters,
        tags=tags,
        client_token=client_token,
        poll=poll,
        max_poll=max_poll,
    )
    if client_token is not None:
        tags[TOKEN_TAG] = client_token

    existing = _find_existing(client, name=name, queue=queue, client_token=client_token, sleep=sleep, max_poll=max_poll)
    if existing is not None:
        log.info("batch job %s already submitted (%s, %s); waiting for it", name, existing["jobId"], existing["status"])
        job_id = str(existing["jobId"])
        submitted = False
    else:
        request: dict[str, Any] = {"jobName": name, "jobQueue": queue, "jobDefinition": definition}
        if container:
            request["containerOverrides"] = container
        if array_size is not None:
            request["arrayProperties"] = {"size": array_size}
        if parameters:
            request["parameters"] = parameters
        if tags:
            request["tags"] = tags
        job_id = _submit(client, name, request, sleep=sleep, max_poll=max_poll)
        submitted = True
    return _wait(
        client, name, job_id, submitted=submitted, poll=poll, max_poll=max_poll, sleep=sleep, on_status=on_status
    )


# --- validation ----------------------------------------------------------------------------


def _container_overrides(name: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """SubmitJob's containerOverrides from the component's simpler shape (validated)."""
    if not overrides:
        return {}
    unknown = sorted(set(overrides) - _OVERRIDE_KEYS)
    if unknown:
        raise BadInput(
            f"batch job {name}: unknown override {unknown[0]!r}",
            hint=f"overrides take {', '.join(sorted(_OVERRIDE_KEYS))}",
        )
    result: dict[str, Any] = {}
    command = overrides.get("command")
    if command is not None:
        if isinstance(command, str) or not command or not all(isinstance(part, str) for part in command):
            raise BadInput(f"batch job {name}: command must be a non-empty list of strings")
        result["command"] = list(command)
    environment = overrides.get("environment")
    if environment is not None:
        if not isinstance(environment, Mapping):
            raise BadInput(f"batch job {name}: environment must map names to values")
        for key, value in environment.items():
            # Values are never echoed: an environment variable can be a secret.
            if not isinstance(key, str) or not _ENV_NAME.match(key) or key.startswith("AWS_BATCH"):
                raise BadInput(f"batch job {name}: environment name {key!r} is not valid (AWS_BATCH* is reserved)")
            if not isinstance(value, str):
                raise BadInput(f"batch job {name}: environment {key} must be a string")
        result["environment"] = [{"name": key, "value": value} for key, value in environment.items()]
    requirements = []
    for key, kind in (("vcpus", "VCPU"), ("memory", "MEMORY"), ("gpus", "GPU")):
        value = overrides.get(key)
        if value is None:
            continue
        whole = key != "vcpus"  # Fargate takes fractional vCPUs (0.25, 0.5)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value <= 0
            or (whole and value != int(value))
        ):
            kind_text = "a positive integer" if whole else "a positive number"
            raise BadInput(f"batch job {name}: {key} must be {kind_text}, not {value!r}")
        requirements.append({"type": kind, "value": str(int(value)) if value == int(value) else str(value)})
    if requirements:
        result["resourceRequirements"] = requirements
    return result


def _validate(
    *,
    name: str,
    queue: str,
    definition: str,
    array_size: int | None,
    parameters: dict[str, str],
    tags: dict[str, str],
    client_token: str | None,
    poll: float,
    max_poll: float,
) -> None:
    """Refuse what Batch would refuse, before any call."""
    if not isinstance(name, str) or not _JOB_NAME.match(name):
        raise BadInput(
            f"batch job name {name!r} is not valid",
            hint="use 1-128 letters, digits, hyphens and underscores, starting with a letter or digit",
        )
    for label, value in (("queue", queue), ("definition", definition)):
        if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
            raise BadInput(f"batch job {name}: {label} {value!r} is not a name or ARN")
    if array_size is not None and (
        isinstance(array_size, bool) or not isinstance(array_size, int) or not MIN_ARRAY <= array_size <= MAX_ARRAY
    ):
        raise BadInput(f"batch job {name}: array_size must be {MIN_ARRAY}-{MAX_ARRAY}, not {array_size!r}")
    for key, value in parameters.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise BadInput(f"batch job {name}: parameter {key!r} needs a string name and value")
    if len(tags) + (client_token is not None) > MAX_TAGS:
        raise BadInput(f"batch job {name}: more than {MAX_TAGS} tags")
    for key, value in tags.items():
        if not isinstance(key, str) or not key or key.startswith("aws:") or key == TOKEN_TAG:
            raise BadInput(f"batch job {name}: tag {key!r} is not allowed (aws: prefix, or reserved {TOKEN_TAG})")
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            raise BadInput(f"batch job {name}: tag {key!r} needs a string value of at most {MAX_TAG_VALUE} characters")
    if client_token is not None and (
        not isinstance(client_token, str) or not client_token.strip() or len(client_token) > MAX_TAG_VALUE
    ):
        raise BadInput(
            f"batch job {name}: client_token must be a non-empty string of at most {MAX_TAG_VALUE} characters"
        )
    if not poll > 0 or max_poll < poll:
        raise BadInput(f"batch job {name}: poll ({poll}) must be positive and max_poll ({max_poll}) at least poll")


# --- calls -----------------------------------------------------------------------------------


def _describe(client: Any, job_ids: list[str], what: str, **retry: Any) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    for start in range(0, len(job_ids), DESCRIBE_BATCH):
        answer = aws_calls.call(client.describe_jobs, what, jobs=job_ids[start : start + DESCRIBE_BATCH], **retry)
        jobs.extend(answer.get("jobs", []))
    return jobs


def _find_existing(
    client: Any, *, name: str, queue: str, client_token: str | None, sleep: Callable[[float], None], max_poll: float
) -> dict[str, Any] | None:
    """The newest job in the queue this run may already have submitted (see the module doc)."""
    retry = {"service": "Batch", "sleep": sleep, "max_wait": max_poll}
    what = f"looking for batch job {name} in queue {queue}"
    summaries: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        request: dict[str, Any] = {"jobQueue": queue, "filters": [{"name": "JOB_NAME", "values": [name]}]}
        if token:
            request["nextToken"] = token
        page = aws_calls.call(client.list_jobs, what, **retry, **request)
        for summary in page.get("jobSummaryList", []):
            # The filter is case-insensitive; array children ("<parent>:<index>") are not candidates
            # (AWS does not list them here; moto does).
            job_id = str(summary.get("jobId"))
            if summary.get("jobName") == name and ":" not in job_id and summary.get("status") != "FAILED":
                summaries.append(summary)
        token = page.get("nextToken")
        if not token:
            break
    if client_token is not None and summaries:
        details = _describe(client, [str(s["jobId"]) for s in summaries], what, **retry)
        tagged = {str(job["jobId"]) for job in details if (job.get("tags") or {}).get(TOKEN_TAG) == client_token}
        summaries = [s for s in summaries if str(s["jobId"]) in tagged]
    if not summaries:
        return None
    return max(summaries, key=lambda s: int(s.get("createdAt") or 0))


def _submit(client: Any, name: str, request: dict[str, Any], *, sleep: Callable[[float], None], max_poll: float) -> str:
    answer = aws_calls.call(
        client.submit_job, f"submitting batch job {name}", service="Batch", sleep=sleep, max_wait=max_poll, **request
    )
    job_id = str(answer["jobId"])
    log.info("submitted batch job %s (%s)", name, job_id)
    return job_id


# --- waiting ---------------------------------------------------------------------------------


def _summary_line(summary: Mapping[str, Any]) -> str:
    """``children RUNNING=2 SUCCEEDED=1``: non-zero counts in lifecycle order."""
    counts = [f"{status}={summary[status]}" for status in STATUS_ORDER if summary.get(status)]
    return "children " + (" ".join(counts) if counts else "none")


def _wait(
    client: Any,
    name: str,
    job_id: str,
    *,
    submitted: bool,
    poll: float,
    max_poll: float,
    sleep: Callable[[float], None],
    on_status: Callable[[str], None] | None,
) -> BatchResult:
    """Poll until the job ends; report changes once; raise if it FAILED."""
    retry = {"service": "Batch", "sleep": sleep, "max_wait": max_poll}
    what = f"describing batch job {name} ({job_id})"
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        log.info("batch job %s: %s", name, line)
        if on_status is not None:
            on_status(line)

    interval = poll
    misses = 0
    last_status: str | None = None
    last_children: str | None = None
    while True:
        found = _describe(client, [job_id], what, **retry)
        if not found:
            misses += 1
            if misses > NOT_YET_VISIBLE_POLLS:
                raise OperationFailed(
                    f"batch job {name} ({job_id}) is not known to Batch",
                    hint="check the region and account the Batch client points at",
                )
        else:
            job = found[0]
            status = str(job.get("status"))
            summary = (job.get("arrayProperties") or {}).get("statusSummary")
            if summary is not None:
                children = _summary_line(summary)
                if children != last_children:
                    last_children = children
                    say(children)
            if status != last_status:
                last_status = status
                say(f"status {status}")
            if status in TERMINAL:
                return _finish(client, name, job, lines, submitted, retry)
        sleep(interval)
        interval = min(interval * 2, max_poll)


def _stream(job: Mapping[str, Any]) -> str | None:
    """The job's log stream: its container's, else its last attempt's."""
    stream = (job.get("container") or {}).get("logStreamName")
    if not stream:
        attempts = job.get("attempts") or []
        stream = (attempts[-1].get("container") or {}).get("logStreamName") if attempts else None
    return str(stream) if stream else None


def _container_failure(job: Mapping[str, Any]) -> str:
    """``container: <reason>, exit code N`` from the job's container or last attempt, or ''."""
    container = dict(job.get("container") or {})
    attempts = job.get("attempts") or []
    last = dict(attempts[-1].get("container") or {}) if attempts else {}
    reason = container.get("reason") or last.get("reason")
    exit_code = container.get("exitCode", last.get("exitCode"))
    parts = []
    if reason:
        parts.append(" ".join(str(reason).split()))
    if exit_code is not None:
        parts.append(f"exit code {exit_code}")
    return ("; container: " + ", ".join(parts)) if parts else ""


def _finish(
    client: Any, name: str, job: dict[str, Any], lines: list[str], submitted: bool, retry: dict[str, Any]
) -> BatchResult:
    job_id = str(job["jobId"])
    status = str(job["status"])
    array = job.get("arrayProperties") or {}
    size = array.get("size")
    children: list[dict[str, Any]] = []
    if size:
        ids = [f"{job_id}:{index}" for index in range(min(int(size), MAX_CHILDREN_DESCRIBED))]
        children = _describe(client, ids, f"describing the children of batch job {name} ({job_id})", **retry)
        children.sort(key=lambda child: int(str(child["jobId"]).rsplit(":", 1)[-1]))
    stream = _stream(job)
    if status == "FAILED":
        failed_child = next((child for child in children if child.get("status") == "FAILED"), None)
        culprit = failed_child or job
        reason = " ".join(str(job.get("statusReason") or "no reason given").split())
        detail = _container_failure(culprit)
        if failed_child is not None:
            child_reason = " ".join(str(failed_child.get("statusReason") or "").split())
            detail = f"; first failed child {failed_child['jobId']}" + (f": {child_reason}" if child_reason else "")
            detail += _container_failure(failed_child)
        culprit_stream = _stream(culprit)
        hint = "see the job in the AWS Batch console"
        if culprit_stream:
            hint = f"see log stream {culprit_stream} (group /aws/batch/job unless the definition sets another)"
        raise OperationFailed(f"batch job {name} ({job_id}) FAILED: {reason}{detail}", hint=hint)
    return BatchResult(
        job_id=job_id,
        name=name,
        status=status,
        log_stream_name=stream if not size else None,
        transitions=tuple(lines),
        submitted=submitted,
        array_size=int(size) if size else None,
        array_summary={key: int(value) for key, value in (array.get("statusSummary") or {}).items()},
        child_log_streams=tuple(s for s in (_stream(child) for child in children) if s),
    )
