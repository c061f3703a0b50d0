"""The SageMaker and Batch components run for real with ``kfp.local`` against the moto server.

The component body runs in a subprocess of this Python, as it would in the runtime image, and
finds AWS through the standard environment (``AWS_ENDPOINT_URL``, the sandbox CA, fake keys)
instead of IRSA. What moto does and does not emulate is in docs/catalog-moto.md.
"""

# No `from __future__ import annotations`: KFP reads component annotations as types.
import uuid
from pathlib import Path

import pytest
from conftest import make_batch_queue, moto_client
from kfp import local

from platform_kit import aws
from platform_kit.catalog.components.batch_job import make_batch_job
from platform_kit.catalog.components.sagemaker_training import make_sagemaker_training

# The runtime image carries this same package, so running the body in this Python is the same code.
pytestmark = pytest.mark.filterwarnings("ignore:You may be attemping to run a task:RuntimeWarning")
REGION = "us-east-1"


@pytest.fixture()
def aws_env(moto_endpoint: str, tmp_path: Path, monkeypatch) -> str:
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": aws.FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": aws.FAKE_SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    return moto_endpoint


def test_training_runs_once_and_outputs_the_model_even_when_the_task_runs_again(aws_env: str) -> None:
    sagemaker = moto_client("sagemaker", aws_env)
    iam = moto_client("iam", aws_env)
    role = iam.create_role(RoleName=f"sm-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    name = f"smoke-{uuid.uuid4().hex[:8]}"
    training = make_sagemaker_training(poll_s=0.01)
    arguments = {
        "job_name": name,
        "training_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/teams/vision:1.0",
        "role_arn": role,
        "instance_type": "ml.m5.large",
        "output_path": "s3://acme-artifacts/v2/artifacts/vision/models",
        "hyperparameters": {"epochs": 1, "lr": 0.01, "augment": True},
        "input_channels": {"train": "s3://acme-artifacts/v2/artifacts/vision/data/train"},
    }
    first = training(**arguments)
    assert first.outputs["status"] == "Completed"
    assert (
        first.outputs["model_artifacts"] == f"s3://acme-artifacts/v2/artifacts/vision/models/{name}/output/model.tar.gz"
    )
    described = sagemaker.describe_training_job(TrainingJobName=name)
    # Numbers cross KFP as doubles; the component gives 1 back as "1", not "1.0".
    assert described["HyperParameters"] == {"epochs": "1", "lr": "0.01", "augment": "true"}
    assert described["RoleArn"] == role

    again = training(**arguments)  # a KFP retry of the same task
    assert again.outputs["model_artifacts"] == first.outputs["model_artifacts"]
    # moto replaces a job created twice under one name; an unchanged creation time proves one create.
    assert sagemaker.describe_training_job(TrainingJobName=name)["CreationTime"] == described["CreationTime"]


def test_batch_job_runs_to_succeeded_and_a_retry_waits_for_the_same_job(aws_env: str) -> None:
    iam, batch = moto_client("iam", aws_env), moto_client("batch", aws_env)
    suffix = uuid.uuid4().hex[:8]
    world = make_batch_queue(iam, batch, suffix)
    queue, definition = world["queue"], world["definition"]
    job = make_batch_job(poll_s=0.01)
    arguments = {
        "job_name": f"features-{suffix}",
        "queue": queue,
        "definition": definition,
        "overrides": {"command": ["echo", "smoke"], "environment": {"TEAM": "vision"}},
        "client_token": f"run-{suffix}/features",
    }
    first = job(**arguments)
    assert first.outputs["status"] == "SUCCEEDED"
    assert first.outputs["log_stream"]
    described = batch.describe_jobs(jobs=[first.outputs["job_id"]])["jobs"][0]
    assert described["container"]["command"] == ["echo", "smoke"]
    assert {"name": "TEAM", "value": "vision"} in described["container"]["environment"]

    again = job(**arguments)
    assert again.outputs["job_id"] == first.outputs["job_id"]  # found by its token, not submitted again
    listed = batch.list_jobs(jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [arguments["job_name"]]}])
    assert len(listed["jobSummaryList"]) == 1


def test_the_storage_probe_names_the_step_and_the_s3_error(aws_env: str) -> None:
    from platform_kit.catalog.runtime import s3_probe
    from platform_kit.errors import BadInput, OperationFailed

    s3 = moto_client("s3", aws_env)
    bucket = f"probe-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    result = s3_probe.roundtrip(s3, bucket=bucket, prefix="v2/artifacts/vision/platform-health", run_id="run-1")
    assert result.uri == f"s3://{bucket}/v2/artifacts/vision/platform-health/run-1/probe" and result.size == 64
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0  # it cleans up after itself
    with pytest.raises(OperationFailed, match=r"could not write s3://missing-bucket-x/.*: NoSuchBucket"):
        s3_probe.roundtrip(s3, bucket="missing-bucket-x", prefix="v2/artifacts/vision", run_id="r")
    with pytest.raises(BadInput, match="prefix"):
        s3_probe.roundtrip(s3, bucket=bucket, prefix="/abs", run_id="r")
