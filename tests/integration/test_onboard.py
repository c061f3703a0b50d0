"""``platform onboard-team`` end to end on the sandbox: real Terraform on moto, the cluster side on the
Kubernetes API double, the team file in a private copy of the config.

Teams onboarded here are new ones (not the example teams), on the session's applied sandbox.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pytest
import yaml
from onboard_support import ENV, _cluster_args, _iam, _state_keys, _state_text

from platform_kit import naming


@pytest.fixture(scope="module")
def world(sandbox_world):
    return sandbox_world


VISION = [
    "vision",
    "--owner",
    "lena.fischer@corp.example",
    "--group",
    "ml-vision",
    "--group",
    "ml-vision-viewers:view",
    "--member",
    "tom.berg@corp.example:view",
    "--cpu",
    "32",
    "--memory",
    "128Gi",
    "--gpu",
    "2",
    "--cost-center",
    "CC-4200",
    "--env",
    ENV,
    "--yes",
]


def test_onboard_writes_the_file_applies_the_stack_and_summarises(onboard) -> None:
    code, out, err = onboard(*VISION, "--output", "json")
    assert code == 0, err
    result = json.loads(out)
    role = naming.team_role("acme", ENV, "vision")
    assert result["role_arn"] == f"arn:aws:iam::123456789012:role/{role}"
    assert result["namespace"] == "vision"
    assert result["artifact_prefixes"] == ["artifacts/vision/", "v2/artifacts/vision/"]
    assert result["ecr_repository"].endswith("/acme/teams/vision")
    assert result["dashboard_url"] == "https://kubeflow.sandbox.corp.example/?ns=vision"
    assert result["cluster"].startswith("rendered and validated")
    assert result["changed"] is True
    # The reviewable record.
    spec = yaml.safe_load((onboard.config / "teams" / "vision.yaml").read_text())
    assert spec["owner"] == "lena.fischer@corp.example"
    assert spec["groups"] == [{"name": "ml-vision", "role": "edit"}, {"name": "ml-vision-viewers", "role": "view"}]
    assert spec["quotas"]["gpu"] == 2 and spec["environments"] == [ENV]
    # The stack, in its own state, and its role.
    assert "teams/sandbox/vision.tfstate" in _state_keys(onboard.infra)
    assert _iam(onboard.infra).get_role(RoleName=role)["Role"]["Arn"] == result["role_arn"]


def test_the_same_command_again_changes_nothing(onboard) -> None:
    path = onboard.config / "teams" / "vision.yaml"
    if not path.exists():
        assert onboard(*VISION)[0] == 0
    before = path.stat().st_mtime_ns
    code, out, err = onboard(*VISION, "--output", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["changed"] is False, result["steps"]
    assert {s["name"]: s["outcome"] for s in result["steps"]}[
        f"team stack (teams/{ENV}/vision.tfstate)"
    ] == "no changes"
    assert path.stat().st_mtime_ns == before


def test_text_output_is_a_summary_with_next_commands(onboard) -> None:
    code, out, err = onboard(*VISION)
    assert code == 0, err
    for needle in ("namespace", "vision", "role", "artifacts/vision/", "dashboard", "nothing changed"):
        assert needle in out + err, f"{needle!r} missing from the whole output:\n{out}\n{err}"
    assert "Next:" in err


def test_an_iam_role_that_is_not_this_teams_is_not_taken_over(onboard) -> None:
    iam = _iam(onboard.infra)
    role = naming.team_role("acme", ENV, "ghost")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    code, _, err = onboard("ghost", "--owner", "a.b@corp.example", "--cost-center", "CC-1", "--env", ENV, "--yes")
    assert code == 1
    assert f"IAM role {role} already exists" in err and "refusing to take it over" in err
    assert not (onboard.config / "teams" / "ghost.yaml").exists()
    assert "teams/sandbox/ghost.tfstate" not in _state_keys(onboard.infra)


def test_a_second_onboarding_of_the_same_team_fails_cleanly_on_the_lock(onboard) -> None:
    lock = onboard.infra.settings.state_dir / "locks" / f"{ENV}-team-vision.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        handle.write("pid 4242 since 2026-11-25T08:00:00")
        handle.flush()
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = onboard(*VISION)
    assert code == 1
    assert "team:vision in sandbox is locked by pid 4242" in err


BAD = [
    (["--owner", "x@corp.example", "--cost-center", "C", "--env", ENV], "Missing argument"),
    (["Bad_Name", "--owner", "x@corp.example", "--cost-center", "C", "--env", ENV], "name"),
    (["newteam", "--cost-center", "C", "--env", ENV], "--owner is required"),
    (["newteam", "--owner", "x@corp.example", "--env", ENV], "--cost-center is required"),
    (["newteam", "--owner", "x@elsewhere.example", "--cost-center", "C", "--env", ENV], "email domains"),
    (["newteam", "--owner", "not-an-email", "--cost-center", "C", "--env", ENV], "owner"),
    (["newteam", "--owner", "x@corp.example", "--cost-center", "C", "--env", "nowhere"], "no such environment"),
    (["newteam", "--owner", "x@corp.example", "--cost-center", "C"], "no environment given"),
    (
        ["newteam", "--owner", "x@corp.example", "--cost-center", "C", "--env", ENV, "--group", "g:admin"],
        "role 'admin'",
    ),
    (
        ["newteam", "--owner", "x@corp.example", "--cost-center", "C", "--env", ENV, "--member", ":view"],
        "name is empty",
    ),
    (["newteam", "--owner", "x@corp.example", "--cost-center", "C", "--env", ENV, "--cpu", "lots"], "quotas.cpu"),
    (
        ["newteam", "--owner", "x@corp.example", "--cost-center", "C", "--env", ENV, "--memory", "12 GB"],
        "quotas.memory",
    ),
    (
        ["newteam", "--owner", "x@corp.example", "--cost-center", "C", "--env", ENV, "--gpu", "-1"],
        "greater than or equal to 0",
    ),
    (["newteam", "--owner", "x@corp.example", "--cost-center", "bad value!", "--env", ENV], "cost_center"),
    (["perception", "--owner", "someone.else@corp.example", "--env", ENV], "transfer-owner"),
    (["perception-x", "--owner", "x@corp.example", "--cost-center", "C", "--env", ENV], "starts with team"),
    (["default", "--owner", "x@corp.example", "--cost-center", "C", "--env", ENV], "reserved"),
    (["newteam", "--owner", "x@corp.example", "--cost-center", "C", "--env", ENV, "--no-write"], "--no-write"),
    (["newteam", "--from-file", "/nonexistent/spec.yaml", "--env", ENV], "not found"),
    (["a" * 64, "--owner", "x@corp.example", "--cost-center", "C", "--env", ENV], "name"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[f"bad-{i}" for i in range(len(BAD))])
def test_bad_input_is_exit_2_and_creates_nothing(onboard, args: list[str], message: str) -> None:
    teams_before = sorted(p.name for p in (onboard.config / "teams").iterdir())
    keys_before = _state_keys(onboard.infra)
    roles_before = {r["RoleName"] for r in _iam(onboard.infra).list_roles()["Roles"]}
    code, out, err = onboard(*args, "--yes")
    assert code == 2, (out, err)
    assert message in err, err
    assert sorted(p.name for p in (onboard.config / "teams").iterdir()) == teams_before
    assert _state_keys(onboard.infra) == keys_before
    assert {r["RoleName"] for r in _iam(onboard.infra).list_roles()["Roles"]} == roles_before


def test_no_terminal_and_no_yes_is_bad_input_before_anything(onboard) -> None:
    args = [a for a in VISION if a != "--yes"]
    args[0] = "quiet"
    code, _, err = onboard(*args)
    assert code == 2 and "pass --yes" in err
    assert not (onboard.config / "teams" / "quiet.yaml").exists()


def test_spec_file_is_the_base_and_flags_apply_on_top(onboard, tmp_path: Path) -> None:
    spec = tmp_path / "lidar.yaml"
    spec.write_text(
        "name: lidar\nowner: ana.silva@corp.example\ncost_center: CC-4300\n"
        "quotas: {cpu: '8', memory: 32Gi, storage: 500Gi}\nenvironments: [sandbox]\n"
    )
    code, _, err = onboard("lidar", "--from-file", str(spec), "--group", "ml-lidar", "--env", ENV, "--yes", "--dry-run")
    assert code == 0, err
    assert "dry run" in err
    assert not (onboard.config / "teams" / "lidar.yaml").exists()  # a dry run writes nothing
    assert "teams/sandbox/lidar.tfstate" not in _state_keys(onboard.infra)


# --- the cluster side, on the Kubernetes API double -------------------------------------------


def test_onboard_applies_the_profile_waits_for_the_namespace_and_role_then_the_objects(onboard, kube) -> None:
    code, out, err = onboard(*_cluster_args("radar", "ines.costa@corp.example"), "--output", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["cluster"] == "applied"
    profile = kube.get_object("kubeflow.org/v1", "Profile", None, "radar")
    assert profile["spec"]["owner"]["name"] == "ines.costa@corp.example"
    assert profile["spec"]["plugins"][0]["spec"] == {"awsIamRole": result["role_arn"], "annotateOnly": True}
    namespace = kube.get_object("v1", "Namespace", None, "radar")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert namespace["metadata"]["labels"]["istio-injection"] == "enabled"
    editor = kube.get_object("v1", "ServiceAccount", "radar", "default-editor")
    assert editor["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == result["role_arn"]
    policies = {o["metadata"]["name"] for o in kube.objects("AuthorizationPolicy", "radar")}
    assert {"group-ml-radar-clusterrole-edit", "user-tom-berg-corp-example-clusterrole-view"} <= policies
    assert kube.get_object("v1", "ConfigMap", "radar", "kfp-launcher")["data"]["defaultPipelineRoot"].endswith(
        "/v2/artifacts/radar"
    )
    # Applied with the kit's one field manager, by server-side apply.
    applies = [c for c in kube.mutations() if c.verb == "apply"]
    assert applies and all(c.query.get("fieldManager") == "platform-kit" for c in applies)

    kube.clear_calls()
    code, out, err = onboard(*_cluster_args("radar", "ines.costa@corp.example"), "--output", "json")
    assert code == 0, err
    assert json.loads(out)["changed"] is False
    assert kube.mutations() == []  # the second run makes no mutating call


def test_a_namespace_that_is_not_a_profile_is_not_taken_over(onboard, kube) -> None:
    kube.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sonar"}})
    kube.clear_calls()
    code, _, err = onboard(*_cluster_args("sonar", "ines.costa@corp.example"))
    assert code == 1
    assert "namespace sonar already exists and is not a Kubeflow profile" in err
    assert kube.mutations() == []
    assert not (onboard.config / "teams" / "sonar.yaml").exists()
    assert "teams/sandbox/sonar.tfstate" not in _state_keys(onboard.infra)


def test_throttling_is_retried_and_forbidden_is_one_line(onboard, kube) -> None:
    kube.fail("PATCH", r"/profiles/radar$", 429, times=2, retry_after=0)
    code, _, err = onboard(*_cluster_args("radar", "ines.costa@corp.example"))
    assert code == 0, err
    assert kube.get_object("kubeflow.org/v1", "Profile", None, "radar") is not None
    kube.fail("PATCH", r"/namespaces/radar/limitranges/", 403, times=None)
    kube.put_object(
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "default-limits", "namespace": "radar"},
            "spec": {"limits": []},
        }
    )
    code, _, err = onboard(*_cluster_args("radar", "ines.costa@corp.example"))
    assert code == 1
    assert "apply LimitRange radar/default-limits: 403" in err
    assert len([line for line in err.strip().splitlines() if line.startswith("Error")]) == 1


def test_an_interrupted_cluster_apply_is_finished_by_running_again(onboard, kube) -> None:
    kube.fail("PATCH", r"/namespaces/radar/authorizationpolicies/", 500, times=None, retry_after=0)
    code, _, err = onboard(*_cluster_args("radar", "ines.costa@corp.example"))
    assert code == 1 and "still 500" in err
    assert kube.get_object("kubeflow.org/v1", "Profile", None, "radar") is not None  # got part of the way
    kube.clear_faults()
    code, _, err = onboard(*_cluster_args("radar", "ines.costa@corp.example"), "--output", "json")
    assert code == 0, err
    names = [o["metadata"]["name"] for o in kube.objects("AuthorizationPolicy", "radar")]
    assert len(names) == len(set(names)) and "group-ml-radar-clusterrole-edit" in names


def test_a_profile_controller_that_never_annotates_is_a_timeout_naming_what_is_missing(onboard, kube) -> None:
    kube.profile_controller(annotate_irsa=False)
    code, _, err = onboard(*_cluster_args("radar", "ines.costa@corp.example"))
    assert code == 1
    assert "timed out after 5 s waiting for radar/default-editor's role annotation" in err
    assert "eks.amazonaws.com/role-arn=None" in err


def test_two_teams_onboarded_at_once_both_succeed(onboard) -> None:
    """Two real `platform` processes, two teams, each with its own state and lock."""
    procs = [
        _platform_process(
            onboard,
            name,
            "--owner",
            "ines.costa@corp.example",
            "--cost-center",
            "CC-4500",
            "--env",
            ENV,
            "--yes",
            "--output",
            "json",
        )
        for name in ("alpha", "bravo")
    ]
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err[-2000:]
        assert json.loads(out)["changed"] is True
    assert {"teams/sandbox/alpha.tfstate", "teams/sandbox/bravo.tfstate"} <= _state_keys(onboard.infra)


def _platform_process(onboard, *args: str):
    import subprocess
    import sys

    platform = str(Path(sys.executable).parent / "platform")
    return subprocess.Popen(
        [platform, "onboard-team", *args, "--config-dir", str(onboard.config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_run_killed_during_terraform_apply_is_finished_by_running_it_again(onboard) -> None:
    """kill -9 of the kit and of Terraform mid-apply leaves a created role outside the state and the
    state lock held; running the same command again adopts the role, releases the lock, converges."""
    import os
    import signal
    import time

    from platform_kit.infra import Stack
    from platform_kit.terraform import stale_lock

    team = "kilo"
    args = [team, "--owner", "ines.costa@corp.example", "--cost-center", "CC-4600", "--env", ENV, "--yes"]
    data_dir = onboard.infra.workdir(Stack("team", team)) / ".terraform"
    iam, role = _iam(onboard.infra), naming.team_role("acme", ENV, team)
    proc = _platform_process(onboard, *args)
    marker, deadline = None, time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        marker = stale_lock.read_marker(data_dir)
        if marker is not None and marker.command == "apply":
            try:
                iam.get_role(RoleName=role)
                break  # AWS has the role; Terraform has not finished the apply
            except iam.exceptions.NoSuchEntityException:
                pass
        time.sleep(0.05)
    assert proc.poll() is None and marker is not None and marker.command == "apply", proc.communicate()
    os.kill(marker.pid, signal.SIGKILL)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    # The damage is real: the lock is left behind and the role is not (yet) in any state.
    assert f"teams/sandbox/{team}.tfstate.tflock" in _state_keys(onboard.infra)
    assert '"aws_iam_role"' not in _state_text(onboard.infra, team)

    code, out, err = onboard(*args, "--output", "json")
    assert code == 0, (out, err)
    steps = {s["name"]: s["outcome"] for s in json.loads(out)["steps"]}
    assert f"adopted IAM role {role}" in steps["adopt what an interrupted run left"]
    assert "released state lock" in steps["adopt what an interrupted run left"]
    assert f"teams/sandbox/{team}.tfstate.tflock" not in _state_keys(onboard.infra)
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]].count(role) == 1
    code, out, err = onboard(*args, "--output", "json")
    assert code == 0, err
    assert json.loads(out)["changed"] is False
