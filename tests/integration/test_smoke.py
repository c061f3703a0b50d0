"""``platform smoke run --local`` on the applied sandbox: the team's real stack outputs, kfp.local, moto."""

from __future__ import annotations

import json

import pytest
from doubles.github_comments import GitHubIssueComments

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


def test_ci_mode_comments_on_the_pull_request_once_and_updates_it(smoke, httpserver, monkeypatch) -> None:
    token = "ghs_0nlyForTheDoubleInThisTest0123456789"
    github = GitHubIssueComments(httpserver, "acme-autonomy/ml-platform-infra", 42, token)
    monkeypatch.setenv("GITHUB_TOKEN", token)  # platform.yaml's github.token is {env: GITHUB_TOKEN}
    monkeypatch.setenv("GITHUB_API_URL", httpserver.url_for("").rstrip("/"))  # as GitHub Actions sets it
    for variable, value in {"GITHUB_SERVER_URL": "https://github.test", "GITHUB_RUN_ID": "777"}.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme-autonomy/ml-platform-infra")

    code, out, err = smoke("--team", "planning", "--local", "--pr", "acme-autonomy/ml-platform-infra#42", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["checks"]["PR comment"] == "on acme-autonomy/ml-platform-infra#42"
    [comment] = github.comments
    assert "<!-- platform-kit:planning/platform-health -->" in comment["body"]
    assert "https://github.test/acme-autonomy/ml-platform-infra/actions/runs/777" in comment["body"]
    assert token not in out + err + comment["body"]

    code, _, err = smoke("--team", "planning", "--local", "--pr", "acme-autonomy/ml-platform-infra#42")
    assert code == 0, err
    assert len(github.comments) == 1, "a second run edits its comment instead of adding one"
    assert [method for method, _ in github.requests].count("POST") == 1


def test_ci_mode_without_a_token_is_bad_input_before_any_run(smoke, monkeypatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    code, _, err = smoke("--team", "planning", "--local", "--pr", "acme-autonomy/ml-platform-infra#42")
    assert code == 2
    assert "platform.yaml github.token: environment variable GITHUB_TOKEN is not set" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "nobody", "--local"], "no such team"),
        (["--team", "perception"], "only --local runs"),
        (["--team", "planning", "--local", "--pr", "acme/infra"], "--pr 'acme/infra': not a pull request"),
        (["--team", "planning", "--local", "--pr", "acme/infra#0"], "give OWNER/REPO#NUMBER"),
    ],
)
def test_bad_input_is_exit_2_before_any_run(smoke, args: list[str], message: str) -> None:
    code, _, err = smoke(*args)
    assert code == 2 and message in err, err
