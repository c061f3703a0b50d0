"""The ``platform-health`` smoke pipeline, run for real with ``kfp.local`` against the moto server.

Storage, SageMaker and Batch steps reach moto through the standard AWS environment; Slack (the
exit handler) and GitHub (CI mode) are HTTP doubles. The Tensorboard step needs a cluster and is
switched off here, as in every local run; tests/integration/test_catalog_tensorboard.py runs it.
"""

# No `from __future__ import annotations`: KFP reads component annotations as types.
import json
import uuid
from pathlib import Path

import pytest
import yaml
from conftest import make_batch_queue, moto_client
from kfp import compiler, local
from pytest_httpserver import HTTPServer

from platform_kit import aws
from platform_kit.pipelines.platform_health import make_platform_health

# The runtime image carries this same package, so running the bodies in this Python is the same code.
pytestmark = pytest.mark.filterwarnings("ignore:You may be attemping to run a task:RuntimeWarning")
REGION = "us-east-1"
WEBHOOK_PATH = "/services/T000/B000/health-secret"


@pytest.fixture()
def slack_double(http_double) -> HTTPServer:
    """Slack's incoming-webhook endpoint."""
    return http_double()


@pytest.fixture()
def team_world(moto_endpoint: str, tmp_path: Path, monkeypatch, slack_double: HTTPServer) -> dict[str, str]:
    """A team's AWS side in moto (bucket, SageMaker role, Batch queue and definition) and the env."""
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": aws.FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": aws.FAKE_SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "SLACK_WEBHOOK_URL": slack_double.url_for(WEBHOOK_PATH),
    }.items():
        monkeypatch.setenv(name, value)
    suffix = uuid.uuid4().hex[:8]
    s3, iam, batch = (moto_client(s, moto_endpoint) for s in ("s3", "iam", "batch"))
    bucket = f"acme-artifacts-{suffix}"
    s3.create_bucket(Bucket=bucket)
    role = iam.create_role(RoleName=f"sm-{suffix}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    batch_world = make_batch_queue(iam, batch, suffix, definition="health")
    queue, definition = batch_world["queue"], batch_world["definition"]
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    return {"bucket": bucket, "role": role, "queue": queue, "definition": definition, "endpoint": moto_endpoint}


def test_the_pipeline_compiles_with_its_secrets_conditions_and_exit_handler(tmp_path: Path) -> None:
    target = tmp_path / "platform-health.yaml"
    compiler.Compiler().compile(make_platform_health(), str(target))
    documents = list(yaml.safe_load_all(target.read_text()))
    spec, platform = documents[0], documents[1]
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["run-report"]["triggerPolicy"]["strategy"] == "ALL_UPSTREAM_TASKS_COMPLETED"
    # The PR comment comes from the exit task, which knows the final state; no step inside posts one.
    inner = spec["components"]["comp-exit-handler-1"]["dag"]["tasks"]  # the steps inside the exit handler
    assert {"run-names", "s3-probe"} <= set(inner)
    conditions = {n for n in spec["components"] if n.startswith("comp-condition")}
    assert len(conditions) == 3  # SageMaker, Batch, Tensorboard
    assert not any("github" in name for name in inner)
    secrets = json.dumps(platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"])
    assert '"secretName": "slack-webhook"' in secrets and '"secretName": "github-token"' in secrets


def test_a_local_run_proves_storage_sagemaker_and_batch_and_tells_slack(team_world, slack_double) -> None:
    slack_double.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")
    pipeline = make_platform_health()
    pipeline(
        team="vision",
        env="sandbox",
        artifact_bucket=team_world["bucket"],
        sagemaker_role_arn=team_world["role"],
        training_image="123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/catalog/health:1",
        batch_queue=team_world["queue"],
        batch_definition=team_world["definition"],
        with_tensorboard=False,
    )
    endpoint = team_world["endpoint"]
    jobs = moto_client("sagemaker", endpoint).list_training_jobs(NameContains="health-vision-")["TrainingJobSummaries"]
    assert [j["TrainingJobStatus"] for j in jobs] == ["Completed"]
    batch_jobs = moto_client("batch", endpoint).list_jobs(jobQueue=team_world["queue"])["jobSummaryList"]
    assert [j["status"] for j in batch_jobs] == ["SUCCEEDED"]
    # The probe cleaned up after itself.
    assert moto_client("s3", endpoint).list_objects_v2(Bucket=team_world["bucket"]).get("KeyCount", 0) == 0
    (message,) = [json.loads(r.get_data()) for r, _ in slack_double.log]
    assert "platform-health" in json.dumps(message) and "vision" in json.dumps(message)


def test_a_failed_step_is_one_error_line_naming_the_team(team_world, slack_double, tmp_path: Path) -> None:
    from platform_kit import smoke
    from platform_kit.errors import OperationFailed

    slack_double.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")
    target = smoke.SmokeTarget(team="vision", env="sandbox", artifact_bucket="no-such-bucket-for-health")
    with pytest.raises(OperationFailed, match="platform-health failed for team vision in sandbox") as caught:
        smoke.run_local(target, {}, tmp_path / "root")
    assert "\n" not in str(caught.value)
    # The exit handler still told Slack, with the failure.
    (message,) = [json.loads(r.get_data()) for r, _ in slack_double.log]
    assert "fail" in message["text"].lower()


def test_in_ci_mode_a_failed_run_is_reported_failed_on_the_pull_request(
    team_world, slack_double, http_double, monkeypatch, tmp_path: Path
) -> None:
    from platform_kit import smoke
    from platform_kit.errors import OperationFailed

    slack_double.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")
    github = http_double()
    path = "/repos/acme/infra/issues/42/comments"
    github.expect_request(path, method="GET").respond_with_json([])
    github.expect_request(path, method="POST").respond_with_json({"id": 7, "html_url": "https://github.test/c/7"}, 201)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_testOnlyToken0123456789")
    target = smoke.SmokeTarget(team="vision", env="sandbox", artifact_bucket="no-such-bucket-for-health")
    target.pull_request = smoke.PullRequest(repo="acme/infra", number=42, api_url=github.url_for("").rstrip("/"))
    with pytest.raises(OperationFailed, match="platform-health failed for team vision"):
        smoke.run_local(target, {}, tmp_path / "root")
    posted = [json.loads(r.get_data())["body"] for r, _ in github.log if r.method == "POST"]
    assert len(posted) == 1, "the exit handler comments once, after the steps"
    assert "❌ platform-health FAILED" in posted[0]
    # kfp.local reports the failed group with a short message; a cluster's KFP adds the step's error.
    assert "Failed in `exit-handler-1`: Task exit-handler-1 failed." in posted[0]
    assert "ghs_testOnlyToken" not in posted[0]
