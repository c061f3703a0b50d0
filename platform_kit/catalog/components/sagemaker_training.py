"""``sagemaker_training``: one SageMaker training job, created once and waited for.

The job's name is the component's identity: a retried task (or a re-run of the same run) waits for
the job of that name instead of starting a second one, so pipelines derive it from the run
(``dsl.PIPELINE_JOB_ID_PLACEHOLDER``) and the step. Status changes are printed as they happen; a
failed or stopped job fails the task with SageMaker's FailureReason.

Needs, at run time (the team role, through IRSA on ``default-editor``):
- AWS: ``sagemaker:CreateTrainingJob``, ``sagemaker:DescribeTrainingJob``, ``sagemaker:AddTags``
  on ``training-job/*``, and ``iam:PassRole`` on the team's SageMaker execution role (the team
  module grants all four). The execution role reads the input channels and writes the output path.
"""

# No ``from __future__ import annotations`` in component modules: KFP reads the annotations as types.
from typing import Any, NamedTuple

from platform_kit.catalog import components

SETTINGS = {
    "instance_count": 1,
    "volume_gb": 50,
    "max_runtime_s": 86400,
    "spot": False,
    "max_wait_s": 0,
    "region": "",
    "poll_s": 30.0,
}


def make_sagemaker_training(image: str | None = None, **settings: Any) -> Any:
    """The component; ``settings`` change its defaults (instance_count, volume_gb, max_runtime_s,
    spot, max_wait_s, region, poll_s)."""

    def sagemaker_training(
        job_name: str,
        training_image: str,
        role_arn: str,
        instance_type: str,
        output_path: str,
        hyperparameters: dict,
        input_channels: dict,
        *,
        instance_count: int,
        volume_gb: int,
        max_runtime_s: int,
        spot: bool,
        max_wait_s: int,
        region: str,
        poll_s: float,
    ) -> NamedTuple("TrainingOutputs", model_artifacts=str, status=str):
        """Run the training job ``job_name`` to completion; outputs the model artifact's S3 URI."""
        from collections import namedtuple

        import boto3

        from platform_kit.catalog.runtime import sagemaker

        def text(value: object) -> str:
            # KFP passes dict inputs through protobuf Struct, where every number is a double: an
            # epoch count of 1 arrives as 1.0. SageMaker wants strings; give integers back their form.
            if isinstance(value, bool):
                return str(value).lower()
            if isinstance(value, float) and value.is_integer():
                return str(int(value))
            return str(value)

        result = sagemaker.run_training_job(
            boto3.client("sagemaker", region_name=region or None),
            name=job_name,
            image=training_image,
            role_arn=role_arn,
            instance_type=instance_type,
            instance_count=instance_count,
            hyperparameters={str(k): text(v) for k, v in hyperparameters.items()},
            input_channels=input_channels,
            output_path=output_path,
            volume_gb=volume_gb,
            max_runtime_s=max_runtime_s,
            spot=spot,
            max_wait_s=max_wait_s or None,
            poll=poll_s,
            on_status=lambda line: print(f"{job_name}: {line}", flush=True),
        )
        outputs = namedtuple("TrainingOutputs", ["model_artifacts", "status"])
        return outputs(result.model_artifacts or "", result.status)

    return components.build(sagemaker_training, image, SETTINGS, settings)
