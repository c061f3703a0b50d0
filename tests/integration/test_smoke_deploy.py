"""``platform smoke deploy`` on the applied sandbox, against the KFP API double with the real kfp.Client."""

from __future__ import annotations

import json
import shutil

import kfp
import pytest
from doubles.kfp_api import KfpApiDouble

from platform_kit import kfp_api as kfp_calls
from platform_kit import smoke

pytestmark = pytest.mark.filterwarnings("ignore:This client only works with Kubeflow Pipeline:FutureWarning")

ENV = "sandbox"
TEAMS = ("perception", "planning")  # the example config's teams, both active in the sandbox


@pytest.fixture(scope="module")
def world(sandbox_world):
    return sandbox_world


@pytest.fixture()
def kfp_api(tmp_path, monkeypatch):
    monkeypatch.setattr(kfp.Client, "_LOCAL_KFP_CONTEXT", str(tmp_path / "kfp-context.json"))
    with KfpApiDouble(prefix="/pipeline") as double:
        yield double
    assert not double.internal_errors, double.internal_errors[0]
    assert not double.unexpected, double.unexpected


@pytest.fixture()
def waits(monkeypatch) -> list[float]:
    """The waits between retried calls, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(kfp_calls, "pause", recorded.append)
    return recorded


@pytest.fixture()
def deploy(cli, world, kfp_api, waits, monkeypatch, tmp_path):
    infra, _ = world
    # The world's config gains teams from other modules (onboarding tests); --all here means the
    # example's two teams, so the command reads a copy holding just those, over the world's state.
    config = tmp_path / "platform"
    shutil.copytree(infra.loaded.config_dir, config, ignore=shutil.ignore_patterns("teams"))
    (config / "teams").mkdir()
    for team in TEAMS:
        shutil.copy(infra.loaded.config_dir / "teams" / f"{team}.yaml", config / "teams")
    monkeypatch.setenv("PLATFORM_STATE_DIR", str(infra.settings.state_dir))
    monkeypatch.chdir(infra.loaded.config_dir.parent)
    monkeypatch.setenv("KFP_TOKEN", kfp_api.token)

    def run(*args: str, url: str | None = None):
        return cli("smoke", "deploy", *args, "--env", ENV, "--config-dir", str(config), "--kfp-url", url or kfp_api.url)

    run.infra = infra
    return run


def _recurring(kfp_api: KfpApiDouble, namespace: str) -> list[dict]:
    return [r for r in kfp_api.recurring_runs(namespace) if r["display_name"] == "platform-health"]


def test_a_first_deploy_schedules_every_team_and_a_second_changes_nothing(deploy, kfp_api) -> None:
    code, out, err = deploy("--all", "--output", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["pipeline"] == "created" and result["version_status"] == "uploaded"
    version_name = result["version"]
    assert len(version_name) == 12 and int(version_name, 16) >= 0  # the compiled YAML's content hash
    [pipeline] = kfp_api.pipelines()
    assert pipeline["display_name"] == "platform-health" and "namespace" not in pipeline  # shared
    [version] = kfp_api.pipeline_versions(pipeline["pipeline_id"])
    assert version["name"] == version_name
    assert version["pipeline_spec"]["pipeline_spec"]["pipelineInfo"]["name"] == "platform-health"
    for team in TEAMS:
        [experiment] = kfp_api.experiments(team)
        assert experiment["display_name"] == "platform-health"
        [recurring] = _recurring(kfp_api, team)
        assert recurring["experiment_id"] == experiment["experiment_id"]
        assert recurring["pipeline_version_reference"]["pipeline_version_id"] == version["pipeline_version_id"]
        assert recurring["trigger"] == {"cron_schedule": {"cron": "0 0 6 * * *"}}
        assert recurring["status"] == "ENABLED" and recurring["no_catchup"] is True
        wanted = smoke.target_for(deploy.infra, team).arguments(with_tensorboard=True)
        assert recurring["runtime_config"]["parameters"] == wanted
    perception = _recurring(kfp_api, "perception")[0]["runtime_config"]["parameters"]
    assert perception["batch_queue"] == "perception-preprocess" and perception["sagemaker_role_arn"]
    assert [(c.operation, c.namespace) for c in kfp_api.mutations()] == [
        ("CreatePipeline", None),
        ("UploadPipelineVersion", None),
        ("CreateExperiment", "perception"),
        ("CreateRecurringRun", "perception"),
        ("CreateExperiment", "planning"),
        ("CreateRecurringRun", "planning"),
    ]
    assert [t["recurring_run"] for t in result["teams"]] == ["created", "created"]

    kfp_api.clear_calls()
    code, out, err = deploy("--team", "perception", "--team", "planning")
    assert code == 0, err
    assert kfp_api.mutations() == []
    assert kfp_api.calls and all(c.status == 200 for c in kfp_api.calls)
    assert "version " + version_name + ": unchanged" in err
    assert out.count("unchanged") == 4  # each team's experiment and recurring run


def test_a_changed_schedule_replaces_the_recurring_run_new_first(deploy, kfp_api) -> None:
    assert deploy("--all")[0] == 0
    before = {team: _recurring(kfp_api, team)[0]["recurring_run_id"] for team in TEAMS}
    kfp_api.clear_calls()
    code, out, err = deploy("--team", "planning", "--schedule", "0 30 7 * * 1-5")
    assert code == 0, err
    assert [(c.operation, c.namespace) for c in kfp_api.mutations()] == [
        ("CreateRecurringRun", "planning"),
        ("DeleteRecurringRun", "planning"),
    ]
    assert kfp_api.mutations()[1].path.endswith(before["planning"])
    [now] = _recurring(kfp_api, "planning")
    assert now["recurring_run_id"] != before["planning"] and now["trigger"]["cron_schedule"]["cron"] == "0 30 7 * * 1-5"
    assert _recurring(kfp_api, "perception")[0]["recurring_run_id"] == before["perception"]  # not selected
    assert "replaced" in out


def test_a_paused_recurring_run_stays_paused_when_replaced(deploy, kfp_api) -> None:
    assert deploy("--team", "planning")[0] == 0
    [old] = _recurring(kfp_api, "planning")
    client = kfp.Client(host=kfp_api.url, existing_token=kfp_api.token, namespace="planning")
    client.disable_recurring_run(old["recurring_run_id"])
    code, out, err = deploy("--team", "planning", "--schedule", "0 0 5 * * *")
    assert code == 0, err
    [new] = _recurring(kfp_api, "planning")
    assert new["status"] == "DISABLED" and new["recurring_run_id"] != old["recurring_run_id"]
    assert "left paused" in out


def test_a_run_stopped_between_create_and_delete_is_finished_by_the_next(deploy, kfp_api, waits) -> None:
    assert deploy("--team", "planning")[0] == 0
    [old] = _recurring(kfp_api, "planning")
    kfp_api.fail(500, operation="DeleteRecurringRun", namespace="planning", times=None)
    code, _, err = deploy("--team", "planning", "--schedule", "0 0 5 * * *")
    assert code == 1 and "delete the old recurring run" in err and "planning" in err
    assert len(waits) == kfp_calls.MAX_ATTEMPTS - 1
    assert len(_recurring(kfp_api, "planning")) == 2  # the new one is there: never left without a schedule
    kfp_api.clear_faults()
    kfp_api.clear_calls()
    code, _, err = deploy("--team", "planning", "--schedule", "0 0 5 * * *")
    assert code == 0, err
    assert [c.operation for c in kfp_api.mutations()] == ["DeleteRecurringRun"]
    assert kfp_api.mutations()[0].path.endswith(old["recurring_run_id"])
    [left] = _recurring(kfp_api, "planning")
    assert left["trigger"]["cron_schedule"]["cron"] == "0 0 5 * * *"


def test_one_team_failing_does_not_stop_the_others(deploy, kfp_api, waits) -> None:
    kfp_api.fail(503, operation="CreateExperiment", namespace="perception", times=None)
    kfp_api.fail(503, operation="CreateExperiment", namespace="planning", times=1)  # passes on a retry
    code, out, err = deploy("--all")
    assert code == 1 and "FAILED: team perception" in out
    error = [line for line in err.splitlines() if line.startswith("Error:")]
    assert error == [
        "Error: team perception: create experiment platform-health in perception: 503 injected by "
        "KfpApiDouble.fail(): 503 (after 5 attempts)"
    ]
    assert _recurring(kfp_api, "perception") == [] and len(_recurring(kfp_api, "planning")) == 1
    attempts = [c for c in kfp_api.calls if c.operation == "CreateExperiment" and c.namespace == "perception"]
    assert len(attempts) == kfp_calls.MAX_ATTEMPTS
    assert waits == [0.5, 1.0, 2.0, 4.0, 0.5]  # perception's four retries, then planning's one
    kfp_api.clear_faults()
    assert deploy("--all")[0] == 0
    assert len(_recurring(kfp_api, "perception")) == 1


def test_a_refused_token_is_one_line_and_changes_nothing(deploy, kfp_api, monkeypatch) -> None:
    monkeypatch.setenv("KFP_TOKEN", "not-the-token")
    code, _, err = deploy("--all")
    assert code == 1
    assert "find pipeline platform-health: 401" in err and "KFP_TOKEN" in err
    assert {c.status for c in kfp_api.calls} == {401} and len(kfp_api.calls) == 1


def test_a_dry_run_reads_and_changes_nothing(deploy, kfp_api) -> None:
    code, out, err = deploy("--all", "--dry-run", "--output", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["dry_run"] is True and result["pipeline"] == "would create"
    assert [t["recurring_run"] for t in result["teams"]] == ["would create", "would create"]
    assert deploy("--team", "planning")[0] == 0
    code, out, err = deploy("--team", "planning", "--schedule", "0 0 5 * * *", "--dry-run", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["teams"][0]["recurring_run"] == "would replace"
    kfp_api.clear_calls()
    deploy("--all", "--dry-run")
    assert kfp_api.mutations() == [] and kfp_api.calls


def test_a_recurring_run_create_that_fails_with_5xx_is_not_sent_again(deploy, kfp_api, waits) -> None:
    """KFP does not deduplicate recurring runs: a 5xx may come after it made one, so a retry could
    schedule the team twice. The create is sent once; a 429 (refused before any work) is retried."""
    kfp_api.fail(502, operation="CreateRecurringRun", namespace="perception", times=1)
    kfp_api.fail(429, operation="CreateRecurringRun", namespace="planning", times=1)
    code, _, err = deploy("--all")
    assert code == 1 and "create recurring run platform-health in perception: 502" in err
    sent = [c.namespace for c in kfp_api.calls if c.operation == "CreateRecurringRun"]
    assert sent.count("perception") == 1 and sent.count("planning") == 2
    kfp_api.clear_faults()
    assert deploy("--all")[0] == 0
    assert len(_recurring(kfp_api, "perception")) == 1 and len(_recurring(kfp_api, "planning")) == 1


def test_two_pipelines_of_the_same_name_are_one_clear_error(deploy, kfp_api) -> None:
    kfp_api.seed_pipeline("platform-health")
    kfp_api.seed_pipeline("platform-health")
    code, _, err = deploy("--all")
    assert code == 1
    assert "find pipeline platform-health: more than one pipeline is named platform-health" in err
    assert "Traceback" not in err and kfp_api.mutations() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give either --team (one or more) or --all, not neither"),
        (["--team", "planning", "--all"], "not both"),
        (["--team", "nobody"], "--team nobody: no such team"),
        (["--all", "--schedule", "0 6 * * *"], "KFP's cron has six fields, seconds first"),
        (["--all", "--schedule", "0 0 25 * * *"], "hour field '25': '25' is outside 0-23"),
        (["--all", "--schedule", "0 0 6 ? * MON-XYZ"], "day of week field"),
        (["--all", "--schedule", "@fortnightly"], "not a cron descriptor"),
        (["--all", "--ca-bundle", "/nowhere/ca.pem"], "--ca-bundle /nowhere/ca.pem: no such file"),
    ],
)
def test_bad_input_is_exit_2_before_any_call(deploy, kfp_api, args: list[str], message: str) -> None:
    code, _, err = deploy(*args)
    assert code == 2 and message in err, err
    assert kfp_api.calls == []


def test_a_url_that_is_not_one_is_refused(deploy, kfp_api) -> None:
    code, _, err = deploy("--all", url="kubeflow.corp.example")
    assert code == 2 and "--kfp-url 'kubeflow.corp.example': not an http(s) URL" in err, err
    assert kfp_api.calls == []


def test_a_team_not_in_the_environment_is_refused(cli, world, kfp_api, monkeypatch) -> None:
    infra, _ = world
    monkeypatch.setenv("KFP_TOKEN", kfp_api.token)
    code, _, err = cli(
        "smoke",
        "deploy",
        "--team",
        "planning",
        "--env",
        "prod",
        "--config-dir",
        str(infra.loaded.config_dir),
        "--kfp-url",
        kfp_api.url,
    )
    assert code == 2 and "--team planning: the team is not in environment 'prod'" in err, err
    assert kfp_api.calls == []


def test_without_a_token_it_says_what_to_set(deploy, kfp_api, monkeypatch) -> None:
    monkeypatch.delenv("KFP_TOKEN")
    code, _, err = deploy("--all")
    assert code == 2
    assert [line for line in err.splitlines() if line.startswith("Error:")] == [
        "Error: KFP_TOKEN is not set: set it to a bearer token the Kubeflow gateway accepts (a ServiceAccount "
        "token of this cluster, e.g. from `kubectl create token`)"
    ]
    assert kfp_api.calls == []
