"""``platform-health``: the smoke pipeline that proves one team's whole path works, end to end.

One compiled pipeline serves every team: the team and environment are run parameters. Inside the
``run_report`` exit handler, which receives the run's final state and posts it to the team's
Slack channel and, in CI mode (``pr_number`` > 0), to the pull request as a comment
(``github_api_url`` for GitHub Enterprise; ``platform smoke run --pr`` fills all three):

1. ``s3_probe``: write, read back and delete an object under the team's artifact prefix, with
   the pipeline's own credentials (the team role through IRSA);
2. ``sagemaker_training``: a tiny training job with the team's SageMaker execution role (skipped
   when the team has none: ``sagemaker_role_arn`` empty);
3. ``batch_job``: a tiny Batch job on one of the team's queues (skipped when ``batch_queue`` is empty);
4. ``tensorboard``: a Tensorboard over the run's log folder in the team namespace (skipped when
   ``with_tensorboard`` is false, as in a local run, which has no cluster).

Names of the jobs derive from the run's ID, so a retried step waits for its own job.
"""

# No ``from __future__ import annotations``: KFP reads component annotations as types.
from typing import Any, NamedTuple

from kfp import dsl, kubernetes

from platform_kit.catalog import components
from platform_kit.catalog.components import github_pr_comment as github_component
from platform_kit.catalog.components import slack_notify as slack_component
from platform_kit.catalog.components.batch_job import make_batch_job
from platform_kit.catalog.components.run_report import make_run_report
from platform_kit.catalog.components.s3_probe import make_s3_probe
from platform_kit.catalog.components.sagemaker_training import make_sagemaker_training
from platform_kit.catalog.components.tensorboard import make_tensorboard

NAME = "platform-health"
# A training image any SageMaker account can pull is not something the kit can promise; the team
# passes its own (the env's catalog repository holds one). Tiny and bounded either way:
TRAINING_INSTANCE = "ml.m5.large"
TRAINING_MAX_RUNTIME_S = 900


def make_run_names(image: str | None = None) -> Any:
    """A small step turning the run ID into the names the other steps use."""

    def run_names(team: str, run_id: str, artifact_bucket: str) -> NamedTuple(
        "RunNames", training_job=str, batch_job=str, client_token=str, tensorboard=str, logs=str, output=str
    ):
        """Names derived from the run: stable across retries of a step, unique per run."""
        import re
        from collections import namedtuple

        short = re.sub(r"[^a-z0-9]", "", (run_id or "local").lower())[:12] or "local"
        base = f"health-{team}-{short}"[:63].rstrip("-")
        prefix = f"s3://{artifact_bucket}/v2/artifacts/{team}/platform-health/{short}"
        names = namedtuple("RunNames", ["training_job", "batch_job", "client_token", "tensorboard", "logs", "output"])
        return names(base, base, f"{run_id or 'local'}/batch", base, f"{prefix}/logs", f"{prefix}/model")

    return components.build(run_names, image, {}, {})


def make_platform_health(image: str | None = None) -> Any:
    """The pipeline, with every step in ``image``."""
    names_step = make_run_names(image)
    probe = make_s3_probe(image)
    train = make_sagemaker_training(image, max_runtime_s=TRAINING_MAX_RUNTIME_S, poll_s=15.0)
    batch = make_batch_job(image, poll_s=10.0)
    board = make_tensorboard(image)
    report = make_run_report(image)

    @dsl.pipeline(
        name=NAME, description="Smoke run of one team's path: storage, SageMaker, Batch, TensorBoard, PR, Slack."
    )
    def platform_health(
        team: str,
        env: str,
        artifact_bucket: str,
        sagemaker_role_arn: str = "",
        training_image: str = "",
        batch_queue: str = "",
        batch_definition: str = "",
        with_tensorboard: bool = True,
        dashboard_url: str = "",
        pr_repo: str = "",
        pr_number: int = 0,
        github_api_url: str = "https://api.github.com",
        run_url: str = "",
    ):
        exit_task = report(
            pipeline_name=NAME,
            run_url=run_url,
            team=team,
            env=env,
            pr_repo=pr_repo,
            pr_number=pr_number,
            api_url=github_api_url,
        )
        kubernetes.use_secret_as_env(
            exit_task,
            slack_component.SECRET_NAME,
            {slack_component.SECRET_KEY: slack_component.WEBHOOK_ENV},
            optional=True,
        )
        # Only CI-mode runs need the token; the task says so in one line when one of those lacks it.
        kubernetes.use_secret_as_env(
            exit_task,
            github_component.SECRET_NAME,
            {github_component.SECRET_KEY: github_component.TOKEN_ENV},
            optional=True,
        )
        with dsl.ExitHandler(exit_task, name="checks"):
            names = names_step(team=team, run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER, artifact_bucket=artifact_bucket)
            probed = probe(bucket=artifact_bucket, team=team, run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER)
            with dsl.If(sagemaker_role_arn != "", name="team-uses-sagemaker"):
                train(
                    job_name=names.outputs["training_job"],
                    training_image=training_image,
                    role_arn=sagemaker_role_arn,
                    instance_type=TRAINING_INSTANCE,
                    output_path=names.outputs["output"],
                    hyperparameters={"epochs": 1},
                    input_channels={},
                ).after(probed)
            with dsl.If(batch_queue != "", name="team-uses-batch"):
                batch(
                    job_name=names.outputs["batch_job"],
                    queue=batch_queue,
                    definition=batch_definition,
                    overrides={"command": ["echo", "platform-health"]},
                    client_token=names.outputs["client_token"],
                ).after(probed)
            with dsl.If(with_tensorboard == True, name="in-a-cluster"):  # noqa: E712 (a KFP condition, not Python)
                board(
                    name=names.outputs["tensorboard"], logs_path=names.outputs["logs"], dashboard_url=dashboard_url
                ).after(probed)

    return platform_health
