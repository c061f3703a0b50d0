"""``platform smoke run --local`` on the applied sandbox: the team's real stack outputs, kfp.local, moto."""

from __future__ import annotations

import json

import pytest

from platform_kit import naming

ENV = "sandbox"


@pytest.fixture(scope="module")
def world(sandbox_world):
    return sandbox_world


@pytest.fixture()
def smoke(cli, world, monkeypatch):
    infra, _ = world
    config = infra.loaded.config_dir
    monkeypatch.chdir(config.parent)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)

    def run(*args: str):
        return cli("smoke", "run", *args, "--env", ENV, "--config-dir", str(config))

    run.infra = infra
    return run


def test_a_local_run_checks_storage_sagemaker_and_batch_with_the_teams_own_values(smoke) -> None:
    code, out, err = smoke("--team", "perception", "--local", "--output", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["ok"] is True
    assert result["checks"]["SageMaker training"] == "ran"
    assert result["checks"]["Batch job"] == "ran on perception-preprocess"
    session = smoke.infra.session()
    jobs = session.client("sagemaker").list_training_jobs(NameContains="health-perception-")["TrainingJobSummaries"]
    assert jobs and {j["TrainingJobStatus"] for j in jobs} == {"Completed"}
    role = session.client("sagemaker").describe_training_job(TrainingJobName=jobs[0]["TrainingJobName"])["RoleArn"]
    assert role.endswith("/" + naming.team_sagemaker_role("acme", ENV, "perception"))
    queue = session.client("batch").list_jobs(jobQueue="perception-preprocess")["jobSummaryList"]
    assert queue and queue[0]["status"] == "SUCCEEDED"
    # Run again: the sandbox queue exists now, so nothing is created twice.
    code, out, err = smoke("--team", "perception", "--local", "--output", "json")
    assert code == 0, err
    assert json.loads(out)["notes"] == []


def test_a_team_without_sagemaker_or_batch_skips_those_steps(smoke) -> None:
    code, out, err = smoke("--team", "planning", "--local", "--output", "json")
    assert code == 0, err
    checks = json.loads(out)["checks"]
    assert checks["SageMaker training"].startswith("skipped") and checks["Batch job"].startswith("skipped")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "nobody", "--local"], "no such team"),
        (["--team", "perception"], "only --local runs"),
    ],
)
def test_bad_input_is_exit_2_before_any_run(smoke, args: list[str], message: str) -> None:
    code, _, err = smoke(*args)
    assert code == 2 and message in err, err
