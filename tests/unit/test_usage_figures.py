"""``platform usage``: the figures from plain run records, the rendering, and the input checks."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from platform_kit import usage, usage_html
from platform_kit.errors import BadInput

NOW = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)
WINDOW = usage.Window.ending(NOW, "30d")  # 2025-03-01 12:00 .. 2025-03-31 12:00, midpoint 03-16 12:00
COMPONENTS = ["batch_job", "s3_probe", "sagemaker_training", "slack_notify"]


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def record(team: str, pipeline: str, state: str, days: float, *tasks: str) -> usage.RunRecord:
    return usage.RunRecord(team, pipeline, state, ago(days), ago(days) + timedelta(minutes=5), tuple(tasks))


RECORDS = [
    # vision: train twice (one failed), eval once still running; one run before the window.
    record("vision", "train", "SUCCEEDED", 1, "sagemaker-training", "slack-notify"),
    record("vision", "train", "FAILED", 3, "sagemaker-training", "sagemaker-training-2"),
    record("vision", "eval", "RUNNING", 2, "s3-probe"),
    record("vision", "train", "SUCCEEDED", 45, "sagemaker-training"),
    # planning: train once, and an old nightly that fails more often than not and stopped midway.
    record("planning", "train", "SUCCEEDED", 5, "batch_job"),
    record("planning", "nightly", "FAILED", 20, "batch-job", "slack_notify"),
    record("planning", "nightly", "FAILED", 22, "batch-job"),
    record("planning", "nightly", "SUCCEEDED", 25, "batch-job"),
    record("planning", "nightly", "CANCELED", 26),
]


def figures() -> usage.Usage:
    return usage.aggregate(
        RECORDS, env="dev", window=WINDOW, teams=["planning", "quiet", "vision"], components=COMPONENTS
    )


# --- --since ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"), [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), ("2w", timedelta(weeks=2))]
)
def test_since_accepts_hours_days_and_weeks(text: str, expected: timedelta) -> None:
    assert usage.parse_since(text) == expected


@pytest.mark.parametrize("text", ["30", "d", "0d", "-1d", "1.5d", "30m", "3 days", "", "99999999d"])
def test_since_refuses_anything_else_in_one_line(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        usage.parse_since(text)
    message = caught.value.message
    assert message.startswith(f"--since: '{text}' is not a duration")
    assert "h, d or w" in message and "30d" in message and "\n" not in message


# --- aggregate -------------------------------------------------------------------------------


def test_figures_per_team() -> None:
    rows = {f.name: f.as_dict("team") for f in figures().teams}
    assert [f.name for f in figures().teams] == ["planning", "vision", "quiet"]  # busiest first
    assert rows["planning"] == {
        "team": "planning",
        "runs": 5,
        "succeeded": 2,
        "failed": 2,
        "success_rate": 0.5,
        "last_run": "2025-03-26T12:00:00Z",
    }
    assert rows["vision"] == {
        "team": "vision",
        "runs": 3,
        "succeeded": 1,
        "failed": 1,
        "success_rate": 0.5,
        "last_run": "2025-03-30T12:00:00Z",
    }
    assert rows["quiet"] == {
        "team": "quiet",
        "runs": 0,
        "succeeded": 0,
        "failed": 0,
        "success_rate": None,
        "last_run": None,
    }


def test_figures_per_pipeline_name_the_teams() -> None:
    rows = [f.as_dict("pipeline", with_teams=True) for f in figures().pipelines]
    assert rows == [
        {
            "pipeline": "nightly",
            "runs": 4,
            "succeeded": 1,
            "failed": 2,
            "success_rate": 0.3333,
            "last_run": "2025-03-11T12:00:00Z",
            "teams": ["planning"],
        },
        {
            "pipeline": "train",
            "runs": 3,
            "succeeded": 2,
            "failed": 1,
            "success_rate": 0.6667,
            "last_run": "2025-03-30T12:00:00Z",
            "teams": ["planning", "vision"],
        },
        {
            "pipeline": "eval",
            "runs": 1,
            "succeeded": 0,
            "failed": 0,
            "success_rate": None,
            "last_run": "2025-03-29T12:00:00Z",
            "teams": ["vision"],
        },
    ]


def test_figures_per_component_match_dashes_and_underscores_once_per_run() -> None:
    rows = {f.name: f.as_dict("component") for f in figures().components}
    assert list(rows) == COMPONENTS  # every catalog component, by name, used or not
    # The failed train run used sagemaker-training twice (…-2): it counts once.
    assert rows["sagemaker_training"]["runs"] == 2
    assert rows["sagemaker_training"]["succeeded"] == 1 and rows["sagemaker_training"]["failed"] == 1
    assert rows["batch_job"] == {
        "component": "batch_job",
        "runs": 4,
        "succeeded": 2,
        "failed": 2,
        "success_rate": 0.5,
        "last_run": "2025-03-26T12:00:00Z",
    }
    assert rows["slack_notify"]["runs"] == 2 and rows["slack_notify"]["success_rate"] == 0.5
    assert rows["s3_probe"]["runs"] == 1 and rows["s3_probe"]["success_rate"] is None


def test_component_key() -> None:
    assert usage.component_key("sagemaker-training") == usage.component_key("sagemaker_training")
    assert usage.component_key("Sagemaker-Training-3") == "sagemaker-training"
    assert usage.component_key("batch_job") == "batch-job"


def test_candidates_to_retire_follow_the_rule() -> None:
    result = figures()
    assert [c.as_dict() for c in result.retire] == [
        {
            "pipeline": "nightly",
            "reasons": [
                "no run since 2025-03-16T12:00:00Z (the last half of the window)",
                "success rate 33% (1 of 3)",
            ],
        }
    ]
    # A recent pipeline that fails more often than not is a candidate for its success rate alone;
    # exactly 50% is not below the line.
    recent = usage.aggregate(
        [
            record("vision", "flaky", "FAILED", 1),
            record("vision", "flaky", "SUCCEEDED", 2),
            record("vision", "flaky", "FAILED", 3),
            record("vision", "even", "FAILED", 1),
            record("vision", "even", "SUCCEEDED", 2),
        ],
        env="dev",
        window=WINDOW,
        teams=["vision"],
        components=[],
    )
    assert [c.as_dict() for c in recent.retire] == [{"pipeline": "flaky", "reasons": ["success rate 33% (1 of 3)"]}]


def test_the_whole_answer_as_json() -> None:
    data = figures().as_dict()
    assert data["env"] == "dev"
    assert data["window"] == {"since": "30d", "start": "2025-03-01T12:00:00Z", "end": "2025-03-31T12:00:00Z"}
    assert data["total"] == {
        "runs": 8,
        "succeeded": 3,
        "failed": 3,
        "success_rate": 0.5,
        "last_run": "2025-03-30T12:00:00Z",
    }
    assert set(data["rules"]) == {"success_rate", "retire", "components"}
    assert "last half of the window" in data["rules"]["retire"] and "50%" in data["rules"]["retire"]
    json.dumps(data)  # plain data all the way down


def test_nothing_in_the_window() -> None:
    result = usage.aggregate([], env="dev", window=WINDOW, teams=["vision"], components=["s3_probe"])
    assert result.total.runs == 0 and result.pipelines == () and result.retire == ()
    assert [f.as_dict("team")["runs"] for f in result.teams] == [0]


# --- fetch, with a stand-in for kfp.Client ----------------------------------------------------


class NotFound(Exception):
    status = 404


@dataclass
class FakeClient:
    """Just enough of kfp.Client: runs per namespace, served two to a page."""

    runs: dict[str, list[Any]]
    pipelines: dict[str, str] = field(default_factory=dict)
    calls: list[tuple] = field(default_factory=list)

    def list_runs(self, page_token="", page_size=10, sort_by="", namespace=None, **_):
        self.calls.append(("list_runs", namespace, page_token))
        runs = self.runs.get(namespace, [])
        start = int(page_token or 0)
        end = start + 2
        return SimpleNamespace(runs=runs[start:end] or None, next_page_token=str(end) if end < len(runs) else "")

    def get_pipeline(self, pipeline_id):
        self.calls.append(("get_pipeline", pipeline_id))
        if pipeline_id not in self.pipelines:
            raise NotFound()
        return SimpleNamespace(display_name=self.pipelines[pipeline_id])

    def get_run(self, run_id):
        self.calls.append(("get_run", run_id))
        return api_run(run_id, ago(1), tasks=("s3-probe",), pipeline_id="p-train")


def api_run(run_id, created, *, state="SUCCEEDED", tasks=(), pipeline_id=None, spec=None, details=True):
    return SimpleNamespace(
        run_id=run_id,
        display_name=f"run {run_id}",
        created_at=created,
        finished_at=None,
        state=state,
        pipeline_version_reference=SimpleNamespace(pipeline_id=pipeline_id) if pipeline_id else None,
        pipeline_spec=spec,
        run_details=SimpleNamespace(task_details=[SimpleNamespace(display_name=t) for t in tasks]) if details else None,
    )


def test_fetch_pages_applies_the_window_and_names_pipelines_once() -> None:
    client = FakeClient(
        runs={
            "vision": [
                api_run("a", ago(1), tasks=("sagemaker-training",), pipeline_id="p-train"),
                api_run("b", ago(2), state="FAILED", pipeline_id="p-train"),
                api_run("c", ago(40), pipeline_id="p-train"),  # before the window
                api_run("d", ago(3).replace(tzinfo=None), spec={"pipelineInfo": {"name": "from-spec"}}),
                api_run("e", ago(4), pipeline_id="p-gone"),  # a deleted pipeline: the run's own name
            ],
            "planning": [api_run("f", ago(1), details=False)],
        },
        pipelines={"p-train": "train"},
    )
    records = usage.fetch_runs(client, {"vision": "vision", "planning": "planning"}, WINDOW.start)
    assert [(r.team, r.pipeline, r.state, r.tasks) for r in records] == [
        ("vision", "train", "SUCCEEDED", ("sagemaker-training",)),
        ("vision", "train", "FAILED", ()),
        ("vision", "from-spec", "SUCCEEDED", ()),
        ("vision", "run e", "SUCCEEDED", ()),
        ("planning", "train", "SUCCEEDED", ("s3-probe",)),  # details asked for with get_run
    ]
    assert records[2].created_at.tzinfo is not None  # a naive time is taken as UTC
    assert [c for c in client.calls if c[0] == "list_runs"] == [
        ("list_runs", "vision", ""),
        ("list_runs", "vision", "2"),
        ("list_runs", "vision", "4"),
        ("list_runs", "planning", ""),
    ]
    assert [c for c in client.calls if c[0] == "get_pipeline"] == [
        ("get_pipeline", "p-train"),
        ("get_pipeline", "p-gone"),
    ]
    assert ("get_run", "f") in client.calls


def test_api_errors_become_one_line_naming_the_call() -> None:
    from kfp_server_api.exceptions import ApiException

    from platform_kit.kfp_api import Caller, KfpCallFailed

    waits: list[float] = []
    call = Caller("http://kfp.test/pipeline", sleep=waits.append)

    def refuse():
        raise ApiException(status=401, reason="Unauthorized")

    with pytest.raises(KfpCallFailed) as refused:
        call("list runs in vision", refuse, "vision")
    assert refused.value.exit_code == 1 and refused.value.status == 401
    assert refused.value.message == "list runs in vision: 401 Unauthorized"
    assert "KFP_TOKEN" in (refused.value.hint or "")
    assert waits == []  # a refusal is not retried

    def busy():
        raise ApiException(status=503, reason="Service Unavailable")

    with pytest.raises(KfpCallFailed) as unavailable:
        call("get run r1", busy)
    assert unavailable.value.message == "get run r1: 503 Service Unavailable (after 5 attempts)"
    assert waits == [0.5, 1.0, 2.0, 4.0]

    def unreachable():
        raise ConnectionRefusedError()

    with pytest.raises(KfpCallFailed, match=r"^get run r1: cannot reach http://kfp.test/pipeline"):
        call("get run r1", unreachable)

    def bug():
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        call("get run r1", bug)


# --- the HTML page ---------------------------------------------------------------------------


def test_page_has_three_accessible_charts_with_a_bar_per_row() -> None:
    page = usage_html.render_page(figures(), kfp_url="https://kubeflow.dev.example/pipeline")
    for chart_id, rows in zip(usage_html.CHART_IDS, (3, 3, 4), strict=True):
        svg = re.search(rf'<svg id="{chart_id}"[^>]*>.*?</svg>', page, re.S)
        assert svg, chart_id
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in svg.group(0)
        assert f'<title id="{chart_id}-title">' in svg.group(0) and f'<desc id="{chart_id}-desc">' in svg.group(0)
        assert svg.group(0).count('class="bar"') == rows
        assert svg.group(0).count('class="label"') == rows
    team_chart = re.search(r'<svg id="chart-team-runs".*?</svg>', page, re.S).group(0)
    widths = [float(w) for w in re.findall(r'class="bar" x="[\d.]+" y="[\d.]+" width="([\d.]+)"', team_chart)]
    assert widths == [usage_html.TRACK, usage_html.TRACK * 3 / 5, 0.0]  # planning 5, vision 3, quiet 0
    for table_id in ("table-retire", "table-teams", "table-pipelines", "table-components"):
        assert f'<table id="{table_id}">' in page


def test_page_is_self_contained_and_escapes_names() -> None:
    odd = usage.aggregate(
        [record("vision", "<script>alert(1)</script>", "SUCCEEDED", 1)],
        env="dev",
        window=WINDOW,
        teams=["vision"],
        components=[],
    )
    page = usage_html.render_page(odd, kfp_url="https://kubeflow.dev.example/pipeline")
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert not re.search(r"\s(src|href)=", page)
    assert "https://" not in page.replace("https://kubeflow.dev.example/pipeline", "")


# --- the command's input checks (before any call) ---------------------------------------------


def test_bad_since_is_refused_before_anything(cli, example_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFP_TOKEN", "t")
    code, out, err = cli("usage", "--env", "dev", "--since", "30m", "--config-dir", str(example_config))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --since: '30m' is not a duration")


def test_missing_token_is_refused_in_one_line(cli, example_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KFP_TOKEN", raising=False)
    code, out, err = cli("usage", "--env", "dev", "--config-dir", str(example_config))
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "Error: KFP_TOKEN is not set: set it to a bearer token the Kubeflow gateway accepts "
        "(a ServiceAccount token of this cluster, e.g. from `kubectl create token`)",
        "Hint: see runbooks/smoke-deploy.md for how to get one",
    ]


def test_unknown_env_and_bad_url(cli, example_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFP_TOKEN", "t")
    code, _, err = cli("usage", "--env", "nowhere", "--config-dir", str(example_config))
    assert code == 2 and "no such environment" in err
    code, _, err = cli("usage", "--env", "dev", "--kfp-url", "kfp:8888", "--config-dir", str(example_config))
    assert code == 2 and "Error: --kfp-url 'kfp:8888': not an http(s) URL" in err
