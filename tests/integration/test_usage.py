"""``platform usage`` against the KFP API double, through the real ``kfp.Client``: figures, tables, errors."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import kfp
import pytest
from doubles.kfp_api import KfpApiDouble

from platform_kit import kfp_api as kfp_calls
from platform_kit.catalog.registry import COMPONENTS
from platform_kit.usage import iso

NOW = datetime.now(UTC).replace(microsecond=0)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def seed(double: KfpApiDouble) -> None:
    """Two teams of the example config in dev, a stranger namespace, and runs outside the window."""
    minutes = timedelta(minutes=7)
    runs = [
        ("perception", "train-detector", "SUCCEEDED", 1, ("sagemaker-training", "slack-notify")),
        ("perception", "train-detector", "SUCCEEDED", 3, ("sagemaker-training",)),
        ("perception", "train-detector", "FAILED", 4, ("sagemaker-training", "slack-notify")),
        ("perception", "eval-detector", "RUNNING", 0.5, ("s3-probe",)),
        ("perception", "train-detector", "SUCCEEDED", 45, ("sagemaker-training",)),  # before the window
        ("planning", "nightly-features", "FAILED", 20, ("batch-job",)),
        ("planning", "nightly-features", "FAILED", 21, ("batch-job", "slack-notify")),
        ("planning", "nightly-features", "SUCCEEDED", 25, ("batch-job",)),
        ("planning", "train-detector", "SUCCEEDED", 2, ("sagemaker-training",)),
        ("planning", "platform-health", "FAILED", 60, ("s3-probe",)),  # before the window
        ("intruder", "train-detector", "SUCCEEDED", 1, ()),  # not a team of the platform
    ]
    for namespace, pipeline, state, days, tasks in runs:
        finished = None if state == "RUNNING" else ago(days) + minutes
        double.seed_run(namespace, pipeline, state, ago(days), finished, tasks)


@pytest.fixture()
def kfp_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr(kfp_calls, "pause", lambda seconds: None)  # retries without the waits
    # The client would read (and send) the developer's saved KFP context; this test has its own.
    monkeypatch.setattr(kfp.Client, "_LOCAL_KFP_CONTEXT", str(tmp_path / "kfp-context.json"))
    with KfpApiDouble(token="usage-test-token", prefix="/pipeline") as double:
        seed(double)
        monkeypatch.setenv("KFP_TOKEN", double.token)
        yield double


def run_usage(cli, config: Path, double: KfpApiDouble, *extra: str) -> tuple[int, str, str]:
    return cli("usage", "--env", "dev", "--config-dir", str(config), "--kfp-url", double.url, *extra)


def test_figures_as_json(cli, example_config: Path, kfp_api: KfpApiDouble, tmp_path: Path) -> None:
    page = tmp_path / "report" / "usage.html"
    code, out, err = run_usage(cli, example_config, kfp_api, "--output", "json", "--html", str(page))
    assert code == 0, err
    data = json.loads(out)
    assert data["env"] == "dev" and data["kfp_url"] == kfp_api.url and data["html"] == str(page)
    start = datetime.fromisoformat(data["window"]["start"].replace("Z", "+00:00"))
    assert data["window"]["since"] == "30d"
    assert abs(start - (datetime.now(UTC) - timedelta(days=30))) < timedelta(minutes=1)
    assert data["total"] == {"runs": 8, "succeeded": 4, "failed": 3, "success_rate": 0.5714, "last_run": iso(ago(0.5))}
    assert data["teams"] == [
        {
            "team": "perception",
            "runs": 4,
            "succeeded": 2,
            "failed": 1,
            "success_rate": 0.6667,
            "last_run": iso(ago(0.5)),
        },
        {"team": "planning", "runs": 4, "succeeded": 2, "failed": 2, "success_rate": 0.5, "last_run": iso(ago(2))},
    ]
    assert data["pipelines"] == [
        {
            "pipeline": "train-detector",
            "runs": 4,
            "succeeded": 3,
            "failed": 1,
            "success_rate": 0.75,
            "last_run": iso(ago(1)),
            "teams": ["perception", "planning"],
        },
        {
            "pipeline": "nightly-features",
            "runs": 3,
            "succeeded": 1,
            "failed": 2,
            "success_rate": 0.3333,
            "last_run": iso(ago(20)),
            "teams": ["planning"],
        },
        {
            "pipeline": "eval-detector",
            "runs": 1,
            "succeeded": 0,
            "failed": 0,
            "success_rate": None,
            "last_run": iso(ago(0.5)),
            "teams": ["perception"],
        },
    ]
    components = {row.pop("component"): row for row in data["components"]}
    assert list(components) == sorted(COMPONENTS)
    assert components["sagemaker_training"] == {
        "runs": 4,
        "succeeded": 3,
        "failed": 1,
        "success_rate": 0.75,
        "last_run": iso(ago(1)),
    }
    assert components["batch_job"] == {
        "runs": 3,
        "succeeded": 1,
        "failed": 2,
        "success_rate": 0.3333,
        "last_run": iso(ago(20)),
    }
    assert components["slack_notify"] == {
        "runs": 3,
        "succeeded": 1,
        "failed": 2,
        "success_rate": 0.3333,
        "last_run": iso(ago(1)),
    }
    assert components["s3_probe"] == {
        "runs": 1,
        "succeeded": 0,
        "failed": 0,
        "success_rate": None,
        "last_run": iso(ago(0.5)),
    }
    assert components["tensorboard"] == {"runs": 0, "succeeded": 0, "failed": 0, "success_rate": None, "last_run": None}
    [candidate] = data["retire_candidates"]
    assert candidate["pipeline"] == "nightly-features"
    assert candidate["reasons"][0].startswith("no run since ") and "last half of the window" in candidate["reasons"][0]
    assert candidate["reasons"][1] == "success rate 33% (1 of 3)"
    assert "last half of the window" in data["rules"]["retire"]
    assert page.is_file() and 'id="chart-pipeline-runs"' in page.read_text()

    # Read only, and only the platform's teams: the stranger namespace is never listed.
    assert kfp_api.mutations() == []
    listed = [c for c in kfp_api.calls if c.operation == "ListRuns"]
    assert {c.namespace for c in listed} == {"perception", "planning"}
    assert all(c.query["sort_by"] == "created_at desc" and "created_at" in c.query["filter"] for c in listed)
    # Each pipeline's name is asked for once, however many runs it has.
    assert len([c for c in kfp_api.calls if c.operation == "GetPipeline"]) == 3
    assert all(c.status == 200 for c in kfp_api.calls) and kfp_api.internal_errors == []


def test_pages_are_all_read(cli, example_config: Path, kfp_api: KfpApiDouble, monkeypatch) -> None:
    from platform_kit import usage

    monkeypatch.setattr(usage, "PAGE_SIZE", 2)
    code, out, err = run_usage(cli, example_config, kfp_api, "-o", "json")
    assert code == 0, err
    assert json.loads(out)["total"]["runs"] == 8
    pages = [c for c in kfp_api.calls if c.operation == "ListRuns"]
    assert [c.namespace for c in pages] == ["perception", "perception", "planning", "planning"]
    assert [bool(c.query.get("page_token")) for c in pages] == [False, True, False, True]


def test_tables_for_people(cli, example_config: Path, kfp_api: KfpApiDouble) -> None:
    code, out, err = run_usage(cli, example_config, kfp_api, "--since", "4w")
    assert code == 0, err
    out = out.replace("│", " ")  # the tables' column rules
    day = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"
    for title in ("Runs per team in dev", "Runs per pipeline in dev", "Runs per catalog component in dev"):
        assert title in out
    assert re.search(rf"perception\s+4\s+2\s+1\s+67%\s+{day}", out)
    assert re.search(rf"planning\s+4\s+2\s+2\s+50%\s+{day}", out)
    assert re.search(rf"train-detector\s+4\s+3\s+1\s+75%\s+{day}\s+perception, planning", out)
    assert re.search(rf"nightly-features\s+3\s+1\s+2\s+33%\s+{day}\s+planning", out)
    assert re.search(rf"eval-detector\s+1\s+0\s+0\s+-\s+{day}\s+perception", out)
    assert re.search(rf"sagemaker_training\s+4\s+3\s+1\s+75%\s+{day}", out)
    assert re.search(r"tensorboard\s+0\s+0\s+0\s+-\s+-", out)
    assert "Candidates to retire" in out
    assert re.search(r"nightly-features\s+no run since .*; success rate 33% \(1 of 3\)", out)
    assert "8 run(s) since" in out and "(the last 4w): 4 succeeded, 3 failed" in out
    assert "candidate to retire when it has no run in the last half of the window" in out


def test_a_refused_token_is_one_line(cli, example_config: Path, kfp_api: KfpApiDouble, monkeypatch) -> None:
    monkeypatch.setenv("KFP_TOKEN", "not-the-token")
    code, out, err = run_usage(cli, example_config, kfp_api)
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("Error:") or "Traceback" in line]
    assert lines == ["Error: list runs in perception: 401 Unauthenticated: the request has no valid bearer token"]
    assert "Hint: the gateway refused KFP_TOKEN" in err
    assert "Traceback" not in err
    assert [c.status for c in kfp_api.calls] == [401]  # it stops at the first refusal

    code, out, err = run_usage(cli, example_config, kfp_api, "-o", "json")
    assert code == 1 and json.loads(out)["error"].startswith("list runs in perception: 401 ")


def test_an_unreachable_api_is_one_line(cli, example_config: Path, monkeypatch, tmp_path: Path) -> None:
    import socket

    monkeypatch.setenv("KFP_TOKEN", "t")
    monkeypatch.setattr(kfp_calls, "pause", lambda seconds: None)
    monkeypatch.setattr(kfp.Client, "_LOCAL_KFP_CONTEXT", str(tmp_path / "kfp-context.json"))
    with socket.socket() as held:  # bound, never listening: the port stays ours and refuses connections
        held.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{held.getsockname()[1]}/pipeline"
        code, _, err = cli("usage", "--env", "dev", "--config-dir", str(example_config), "--kfp-url", url)
    assert code == 1
    error = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and f"cannot reach {url}" in error[0]


def test_a_page_that_cannot_be_written_is_one_line(cli, example_config: Path, kfp_api: KfpApiDouble) -> None:
    code, _, err = run_usage(cli, example_config, kfp_api, "--html", "/proc/no-such-dir/usage.html")
    assert code == 1 and "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("Error:")] == [
        "Error: --html /proc/no-such-dir/usage.html: could not write the page: No such file or directory"
    ]


def test_a_deleted_pipeline_falls_back_to_the_run_names(cli, example_config: Path, kfp_api: KfpApiDouble) -> None:
    kfp_api.fail(404, operation="GetPipeline", times=None, message="pipeline not found")
    code, out, err = run_usage(cli, example_config, kfp_api, "-o", "json")
    assert code == 0, err
    names = {row["pipeline"] for row in json.loads(out)["pipelines"]}
    assert len(names) == 8 and all(re.fullmatch(r"[a-z-]+-\d{14}", name) for name in names)  # one per run

    kfp_api.clear_faults()
    kfp_api.fail(500, operation="GetPipeline", times=None, message="database is down")
    code, out, err = run_usage(cli, example_config, kfp_api)
    assert code == 1
    error = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and error[0].startswith("Error: get pipeline ")
    assert error[0].endswith(": 500 database is down (after 5 attempts)")
