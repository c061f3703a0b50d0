"""``batch_job``: submit an AWS Batch job (or array job), wait for it, output its status and logs.

Re-run safety: the job is tagged with ``client_token``; a retried task finds the job carrying the
same token in the queue and waits for it instead of submitting again (Batch itself has no unique
names). Pipelines pass the run's ID plus the step name (``dsl.PIPELINE_JOB_ID_PLACEHOLDER``).

Needs, at run time (the team role, through IRSA on ``default-editor``):
- AWS: ``batch:SubmitJob`` and ``batch:TagResource`` on the team's job queues and the job
  definition, ``batch:DescribeJobs`` and ``batch:ListJobs`` (the team module grants them for the
  queues listed in the team's ``aws.batch_queues``).
"""

# No ``from __future__ import annotations`` in component modules: KFP reads the annotations as types.
from typing import Any, NamedTuple

from platform_kit.catalog import components

SETTINGS = {"array_size": 0, "region": "", "poll_s": 10.0}


def make_batch_job(image: str | None = None, **settings: Any) -> Any:
    """The component; ``settings`` change its defaults (array_size, region, poll_s)."""

    def batch_job(
        job_name: str,
        queue: str,
        definition: str,
        overrides: dict,
        client_token: str,
        *,
        array_size: int,
        region: str,
        poll_s: float,
    ) -> NamedTuple("BatchOutputs", job_id=str, status=str, log_stream=str):
        """Run the job to SUCCEEDED; outputs its ID, status and CloudWatch log stream."""
        from collections import namedtuple

        import boto3
        from botocore.config import Config

        from platform_kit.catalog.runtime import batch

        # botocore would resend a SubmitJob whose answer was lost (a read timeout), and Batch would
        # start the job twice. One attempt per call here: throttling is retried by the runtime,
        # and any other failure fails the task, whose retry finds the job by its client_token.
        client = boto3.client("batch", region_name=region or None, config=Config(retries={"total_max_attempts": 1}))
        result = batch.run_batch_job(
            client,
            name=job_name,
            queue=queue,
            definition=definition,
            overrides=overrides or None,
            array_size=array_size or None,
            client_token=client_token or None,
            poll=poll_s,
            on_status=lambda line: print(f"{job_name}: {line}", flush=True),
        )
        if result.array_summary:
            print(f"{job_name}: children {result.array_summary}", flush=True)
        outputs = namedtuple("BatchOutputs", ["job_id", "status", "log_stream"])
        return outputs(result.job_id, result.status, result.log_stream_name or "")

    return components.build(batch_job, image, SETTINGS, settings)
