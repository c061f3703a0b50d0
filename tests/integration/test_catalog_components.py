"""The catalog's notification components, compiled and run for real with ``kfp.local``.

The pipeline below is what a team writes: its steps inside the Slack exit handler, a PR comment
at the end. It compiles with the real KFP compiler and runs in the local subprocess runner; Slack
and GitHub are HTTP doubles, so the assertions are on what reached them.
"""

# No `from __future__ import annotations`: KFP reads the component annotations below as types.

import json
from pathlib import Path

import pytest
import yaml
from kfp import compiler, dsl, local
from pytest_httpserver import HTTPServer

from platform_kit.catalog import images
from platform_kit.catalog.components.github_pr_comment import make_github_pr_comment
from platform_kit.catalog.components.slack_notify import make_slack_notify
from platform_kit.errors import BadInput

# The runtime image carries this same package, so running the body in this Python is the same code.
pytestmark = pytest.mark.filterwarnings("ignore:You may be attemping to run a task:RuntimeWarning")
WEBHOOK_PATH = "/services/T000/B000/double-secret"
TOKEN = "ghp_double_token_not_real"
REPO, PR = "acme/models", 7


@pytest.fixture()
def slack_double(http_double) -> HTTPServer:
    """Slack's incoming-webhook endpoint, as a local HTTP server."""
    return http_double()


@pytest.fixture()
def github_double(http_double) -> HTTPServer:
    """GitHub's REST API for one pull request's comments, as a local HTTP server."""
    return http_double()


@dsl.component(base_image=images.runtime_image())
def evaluate(fail: bool) -> dict:
    """A stand-in for a team's evaluation step."""
    if fail:
        raise ValueError("loss diverged at step 12")
    return {"accuracy": 0.9123, "examples": 120000}


def _pipeline(github_url: str):
    notify = make_slack_notify(team="vision", env="sandbox")
    comment = make_github_pr_comment(api_url=github_url, team="vision", env="sandbox")

    @dsl.pipeline(name="catalog-check")
    def catalog_check(fail: bool = False):
        exit_task = notify(pipeline_name="catalog-check", run_url="https://kubeflow.example/runs/1")
        with dsl.ExitHandler(exit_task):
            metrics = evaluate(fail=fail)
            comment(repo=REPO, pr=PR, pipeline_name="catalog-check", state="SUCCEEDED", metrics=metrics.output)

    return catalog_check


@pytest.fixture()
def run_locally(tmp_path: Path, monkeypatch, slack_double: HTTPServer, github_double: HTTPServer):
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_double.url_for(WEBHOOK_PATH))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    local.init(
        runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"), raise_on_error=False
    )
    return _pipeline(github_double.url_for("").rstrip("/"))


def test_the_pipeline_compiles_with_pinned_images_and_the_factory_defaults(tmp_path: Path) -> None:
    target = tmp_path / "catalog-check.yaml"
    compiler.Compiler().compile(_pipeline("https://github.example/api/v3"), str(target))
    spec = yaml.safe_load(target.read_text())
    notify = spec["components"]["comp-slack-notify"]["inputDefinitions"]["parameters"]
    assert notify["team"]["defaultValue"] == "vision" and notify["fail_on_error"]["defaultValue"] is False
    assert notify["status"]["parameterType"] == "TASK_FINAL_STATUS"
    comment = spec["components"]["comp-github-pr-comment"]["inputDefinitions"]["parameters"]
    assert comment["api_url"]["defaultValue"] == "https://github.example/api/v3"
    executors = spec["deploymentSpec"]["executors"]
    assert {e["container"]["image"] for e in executors.values()} == {images.runtime_image()}
    # The exit handler runs after the group whatever its outcome.
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["slack-notify"]["triggerPolicy"]["strategy"] == "ALL_UPSTREAM_TASKS_COMPLETED"


def test_a_green_run_comments_on_the_pr_and_tells_slack(run_locally, slack_double, github_double) -> None:
    comments_url = f"/repos/{REPO}/issues/{PR}/comments"
    github_double.expect_ordered_request(comments_url, method="GET").respond_with_json([])
    github_double.expect_ordered_request(comments_url, method="POST").respond_with_json(
        {"id": 11, "html_url": "https://github.example/acme/models/pull/7#issuecomment-11", "body": ""}, status=201
    )
    slack_double.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")
    run_locally(fail=False)

    posted = [r for r, _ in github_double.log if r.method == "POST"]
    assert len(posted) == 1
    body = json.loads(posted[0].get_data())["body"]
    assert body.startswith("<!-- platform-kit:") and "0.9123" in body and "120,000" in body
    assert posted[0].headers["Authorization"] == f"Bearer {TOKEN}"
    (message,) = [json.loads(r.get_data()) for r, _ in slack_double.log]
    assert "SUCCEEDED" in json.dumps(message) or "succeeded" in message["text"].lower()
    assert "vision" in json.dumps(message)


def test_a_red_run_still_tells_slack_which_step_failed(run_locally, slack_double, github_double) -> None:
    slack_double.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")
    run_locally(fail=True)
    assert github_double.log == []  # the comment step never ran
    (message,) = [json.loads(r.get_data()) for r, _ in slack_double.log]
    assert "fail" in message["text"].lower()
    assert WEBHOOK_PATH not in json.dumps(message)


def test_a_second_green_run_updates_nothing_when_the_comment_says_the_same(
    run_locally, slack_double, github_double
) -> None:
    comments_url = f"/repos/{REPO}/issues/{PR}/comments"
    github_double.expect_request(comments_url, method="GET").respond_with_json([])
    github_double.expect_request(comments_url, method="POST").respond_with_json(
        {"id": 11, "html_url": "https://github.example/c/11", "body": ""}, status=201
    )
    slack_double.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")
    run_locally(fail=False)
    (first,) = [json.loads(r.get_data())["body"] for r, _ in github_double.log if r.method == "POST"]

    github_double.clear()
    github_double.expect_request(comments_url, method="GET").respond_with_json(
        [{"id": 11, "html_url": "https://github.example/c/11", "body": first}]
    )
    run_locally(fail=False)
    assert [r.method for r, _ in github_double.log] == ["GET"]  # found by its marker, same body: no write


def test_factories_refuse_unpinned_images_and_unknown_settings() -> None:
    with pytest.raises(BadInput, match="is not pinned"):
        make_slack_notify(image="python:latest")
    with pytest.raises(BadInput, match="is not pinned"):
        make_slack_notify(image="python")
    with pytest.raises(BadInput, match="has no setting 'channel'"):
        make_slack_notify(channel="#ml")
    digest = "python@sha256:" + "a" * 64
    assert make_github_pr_comment(image=digest).component_spec.implementation.container.image == digest
