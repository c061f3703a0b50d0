"""``platform launch`` and the ``/kubeflow run`` PR command: the real compiler and ``kfp.Client``
against the KFP API double, replies on the GitHub comments double."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from doubles.github_comments import GitHubIssueComments
from doubles.kfp_api import KfpApiDouble

from platform_kit import launch
from platform_kit.errors import BadInput

REPO = "acme-autonomy/ml-platform-infra"
TOKEN = "ghp_launch-test-token"  # a test credential for the GitHub double only


@pytest.fixture()
def kfp(monkeypatch):
    with KfpApiDouble(prefix="/pipeline") as double:
        monkeypatch.setenv("KFP_TOKEN", double.token)
        yield double


@pytest.fixture()
def github(httpserver, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", httpserver.url_for("").rstrip("/"))
    return GitHubIssueComments(httpserver, REPO, 7, TOKEN)


def run(cli, example_config: Path, kfp, *args: str):
    return cli("launch", *args, "--env", "dev", "--config-dir", str(example_config), "--kfp-url", kfp.url)


def test_a_member_launches_from_a_comment_and_gets_the_run_link(cli, example_config, kfp, github) -> None:
    comment = "/kubeflow run platform-health --team perception --param env=dev\nthanks!"
    code, out, err = run(cli, example_config, kfp, "--from-comment", comment, "--requested-by", "maya-chen",
                         "--pr", f"{REPO}#7", "-o", "json")  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    [submitted] = kfp.runs("perception")
    assert submitted["run_id"] == result["run_id"] and submitted["state"] == "PENDING"
    assert submitted["runtime_config"]["parameters"]["env"] == "dev"
    # kfp.Client sends a spec with a platform spec as {"pipeline_spec": ..., "platform_spec": ...}.
    spec = submitted["pipeline_spec"].get("pipeline_spec", submitted["pipeline_spec"])
    assert spec["pipelineInfo"]["name"] == "platform-health"
    assert [e["display_name"] for e in kfp.experiments("perception")] == [launch.EXPERIMENT]
    [reply] = github.comments
    assert result["run_url"] in reply["body"] and "@maya-chen" in reply["body"]
    assert TOKEN not in out + err and kfp.token not in out + err


def test_anyone_else_gets_a_polite_refusal_and_nothing_runs(cli, example_config, kfp, github) -> None:
    comment = "/kubeflow run platform-health --team perception"
    for login in ("stranger", "ops-analyst"):  # not in the team; in it but not an edit member with a login
        code, _, err = run(cli, example_config, kfp, "--from-comment", comment, "--requested-by", login,
                           "--pr", f"{REPO}#7")  # fmt: skip
        assert code == 1 and f"not launched: {login} may not launch in perception" in err
    assert kfp.runs() == [] and [c for c in kfp.calls if c.mutating] == []
    assert len(github.comments) == 2
    assert all("nothing was started" in c["body"] for c in github.comments)


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        ("please run it", "expected /kubeflow run PIPELINE --team TEAM"),
        ("/kubeflow run platform-health", "--team TEAM is required"),
        ("/kubeflow run platform-health --team perception --kfp-url https://evil.example", "not allowed here"),
        ("/kubeflow run platform-health --team perception --param novalue", "expected NAME=VALUE"),
        ("/kubeflow run no-such-pipeline --team perception", "not in the catalog"),
        ("/kubeflow run platform-health --team nobody", "--team nobody: no such team"),
        ("/kubeflow run platform-health --team perception --param bogus=1", "has no such parameter"),
    ],
)
def test_bad_comments_are_one_line_and_start_nothing(cli, example_config, kfp, comment, message) -> None:
    code, _, err = run(cli, example_config, kfp, "--from-comment", comment, "--requested-by", "maya-chen")
    assert code == 2 and message in err, err
    assert len(err.strip().splitlines()) <= 2
    assert kfp.runs() == []


def test_the_comment_parser_takes_only_what_it_allows() -> None:
    request = launch.parse_comment("/kubeflow run platform-health --team=vision --param a=1 --param 'b=two words'")
    assert (request.pipeline, request.team) == ("platform-health", "vision")
    assert request.params == {"a": "1", "b": "two words"}
    with pytest.raises(BadInput, match="cannot read"):
        launch.parse_comment("/kubeflow run x --team 'unclosed")
