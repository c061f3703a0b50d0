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

from platform_kit import naming

ENV = "sandbox"


@pytest.fixture(scope="module")
def world(sandbox_world):
    return sandbox_world


@pytest.fixture()
def onboard(cli, world, monkeypatch):
    infra, _ = world
    config = infra.loaded.config_dir
    monkeypatch.chdir(config.parent)

    def run(*args: str):
        return cli("onboard-team", *args, "--config-dir", str(config))

    run.config = config
    run.infra = infra
    return run


def _iam(infra):
    from platform_kit import aws

    return aws.session_for(infra.env, state_dir=infra.settings.state_dir).client("iam")


def _state_keys(infra) -> set[str]:
    from platform_kit import aws

    s3 = aws.session_for(infra.env, state_dir=infra.settings.state_dir).client("s3")
    return {o["Key"] for o in s3.list_objects_v2(Bucket=infra.state_bucket).get("Contents", [])}


def _state_text(infra, team: str) -> str:
    """The team stack's state document, or "" when it has none yet."""
    key = f"teams/{ENV}/{team}.tfstate"
    if key not in _state_keys(infra):
        return ""
    return infra.session().client("s3").get_object(Bucket=infra.state_bucket, Key=key)["Body"].read().decode()


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


@pytest.fixture()
def kube(tmp_path: Path, monkeypatch):
    from doubles.kube_api import KubeApiDouble

    with KubeApiDouble() as double:
        double.profile_controller(delay_reads=2)
        monkeypatch.setenv("KUBECONFIG", str(double.kubeconfig(tmp_path / "kubeconfig")))
        yield double


def _cluster_args(name: str, owner: str) -> list[str]:
    return [
        name,
        "--owner",
        owner,
        "--group",
        f"ml-{name}",
        "--member",
        "tom.berg@corp.example:view",
        "--cost-center",
        "CC-4400",
        "--env",
        ENV,
        "--yes",
        "--kube-context",
        "kube-api-double",
        "--wait-timeout",
        "5",
    ]


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


# --- offboard-team, transfer-owner, pruning ----------------------------------------------------


def _trust_effects(infra, team: str) -> list[str]:
    role = _iam(infra).get_role(RoleName=naming.team_role("acme", ENV, team))["Role"]
    document = role["AssumeRolePolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    return [s["Effect"] for s in document["Statement"]]


def _access(kube, namespace: str) -> set[str]:
    return {
        f"{o['kind']} {o['metadata']['name']}"
        for kind in ("RoleBinding", "AuthorizationPolicy")
        for o in kube.objects(kind, namespace)
        if (o["metadata"].get("labels") or {}).get("platform-kit.io/team") == namespace
    }


def test_offboard_is_stale_access_and_trust_go_namespace_and_profile_stay(onboard, cli, kube) -> None:
    assert onboard(*_cluster_args("wave", "ines.costa@corp.example"))[0] == 0
    assert _access(kube, "wave") and _trust_effects(onboard.infra, "wave") == ["Allow"]
    namespace_uid = kube.get_object("v1", "Namespace", None, "wave")["metadata"]["uid"]
    args = ["offboard-team", "wave", "--env", ENV, "--yes", "--kube-context", "kube-api-double", "--wait-timeout", "5"]
    # A pipeline run still going: refused, nothing touched; --force goes ahead (below, after it ends).
    run = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "train-7f2", "namespace": "wave"},
        "status": {"phase": "Running"},
    }
    kube.put_object(run)
    kube.clear_calls()
    code, _, err = cli(*args, "--config-dir", str(onboard.config))
    assert code == 1 and "1 pipeline run(s) still active in wave: train-7f2" in err
    assert kube.mutations() == []
    assert yaml.safe_load((onboard.config / "teams" / "wave.yaml").read_text())["state"] == "active"
    args.append("--force")
    code, out, err = cli(*args, "--config-dir", str(onboard.config), "--output", "json")
    assert code == 0, err
    assert json.loads(out)["changed"] is True
    assert yaml.safe_load((onboard.config / "teams" / "wave.yaml").read_text())["state"] == "stale"
    assert _trust_effects(onboard.infra, "wave") == ["Deny"]  # nobody may assume the role any more
    assert _access(kube, "wave") == set()  # member and group bindings and policies revoked
    assert kube.get_object("kubeflow.org/v1", "Profile", None, "wave") is not None
    assert kube.get_object("v1", "Namespace", None, "wave")["metadata"]["uid"] == namespace_uid
    # Again: nothing to do.
    kube.clear_calls()
    code, out, err = cli(*args, "--config-dir", str(onboard.config), "--output", "json")
    assert code == 0 and json.loads(out)["changed"] is False, err
    assert kube.mutations() == []
    # onboard-team brings the team back.
    assert onboard(*_cluster_args("wave", "ines.costa@corp.example"))[0] == 0
    assert _trust_effects(onboard.infra, "wave") == ["Allow"] and _access(kube, "wave")


def test_transfer_owner_changes_the_owner_everywhere_without_a_new_namespace(onboard, cli, kube) -> None:
    assert onboard(*_cluster_args("xeno", "ines.costa@corp.example"))[0] == 0
    uid = kube.get_object("v1", "Namespace", None, "xeno")["metadata"]["uid"]
    args = [
        "transfer-owner",
        "xeno",
        "--to",
        "kai.tanaka@corp.example",
        "--env",
        ENV,
        "--yes",
        "--kube-context",
        "kube-api-double",
        "--wait-timeout",
        "5",
        "--config-dir",
        str(onboard.config),
    ]
    code, _, err = cli(*args)
    assert code == 0, err
    spec = yaml.safe_load((onboard.config / "teams" / "xeno.yaml").read_text())
    assert spec["owner"] == "kai.tanaka@corp.example"
    assert {"email": "ines.costa@corp.example", "role": "edit"} in spec["members"]  # the previous owner keeps edit
    assert (
        kube.get_object("kubeflow.org/v1", "Profile", None, "xeno")["spec"]["owner"]["name"]
        == "kai.tanaka@corp.example"
    )
    namespace = kube.get_object("v1", "Namespace", None, "xeno")
    assert (
        namespace["metadata"]["uid"] == uid
        and namespace["metadata"]["annotations"]["owner"] == "kai.tanaka@corp.example"
    )
    admin = kube.get_object("rbac.authorization.k8s.io/v1", "RoleBinding", "xeno", "namespaceAdmin")
    assert admin["subjects"][0]["name"] == "kai.tanaka@corp.example"
    assert "RoleBinding user-ines-costa-corp-example-clusterrole-edit" in _access(kube, "xeno")
    kube.clear_calls()
    assert cli(*args)[0] == 0
    assert kube.mutations() == []


def test_a_member_removed_from_the_file_loses_access_on_the_next_run(onboard, kube) -> None:
    assert onboard(*_cluster_args("radar", "ines.costa@corp.example"))[0] == 0
    assert "RoleBinding user-tom-berg-corp-example-clusterrole-view" in _access(kube, "radar")
    path = onboard.config / "teams" / "radar.yaml"
    spec = yaml.safe_load(path.read_text())
    spec.pop("members")
    path.write_text(yaml.safe_dump(spec))
    code, _, err = onboard("radar", "--env", ENV, "--yes", "--kube-context", "kube-api-double", "--wait-timeout", "5")
    assert code == 0, err
    assert _access(kube, "radar") == {
        "RoleBinding group-ml-radar-clusterrole-edit",
        "AuthorizationPolicy group-ml-radar-clusterrole-edit",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["offboard-team", "ghost-team", "--env", ENV], "no team 'ghost-team'"),
        (["offboard-team", "planning", "--env", "prod"], "not in environment 'prod'"),
        (["transfer-owner", "planning", "--to", "x@elsewhere.example", "--env", ENV], "email domains"),
        (
            ["transfer-owner", "planning", "--to", "x@corp.example", "--previous-owner", "admin", "--env", ENV],
            "--previous-owner",
        ),
        (["transfer-owner", "ghost-team", "--to", "x@corp.example", "--env", ENV], "no team 'ghost-team'"),
    ],
    ids=["offboard-unknown", "offboard-env", "transfer-domain", "transfer-role", "transfer-unknown"],
)
def test_offboard_and_transfer_bad_input(onboard, cli, args: list[str], message: str) -> None:
    before = {p.name: p.read_text() for p in (onboard.config / "teams").iterdir()}
    code, _, err = cli(*args, "--yes", "--config-dir", str(onboard.config))
    assert code == 2, err
    assert message in err
    assert {p.name: p.read_text() for p in (onboard.config / "teams").iterdir()} == before


# --- offboard-team --delete --------------------------------------------------------------------


def _aws(infra, service: str):
    return infra.session().client(service)


def _delete_args(name: str, *extra: str) -> list[str]:
    return ["offboard-team", name, "--env", ENV, "--kube-context", "kube-api-double", "--wait-timeout", "5", *extra]


def test_delete_removes_profile_namespace_stack_and_file_and_keeps_the_data(onboard, cli, kube, world) -> None:
    _, outputs = world
    bucket = outputs["platform"]["artifact_bucket_name"]
    assert onboard(*_cluster_args("quartz", "ines.costa@corp.example"))[0] == 0
    s3 = _aws(onboard.infra, "s3")
    s3.put_object(Bucket=bucket, Key="v2/artifacts/quartz/run-1/model.bin", Body=b"weights")
    code, _, err = cli(*_delete_args("quartz", "--delete", "--confirm", "quartz"), "--config-dir", str(onboard.config))
    assert code == 0, err
    assert "deleting team quartz in sandbox removes:" in err and "kept: the team's artifacts" in err
    assert kube.get_object("kubeflow.org/v1", "Profile", None, "quartz") is None
    assert kube.get_object("v1", "Namespace", None, "quartz") is None
    iam = _iam(onboard.infra)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=naming.team_role("acme", ENV, "quartz"))
    assert not (onboard.config / "teams" / "quartz.yaml").exists()
    assert s3.get_object(Bucket=bucket, Key="v2/artifacts/quartz/run-1/model.bin")["Body"].read() == b"weights"


def test_delete_with_purge_removes_artifacts_and_images_too(onboard, cli, kube, world) -> None:
    _, outputs = world
    bucket = outputs["platform"]["artifact_bucket_name"]
    assert onboard(*_cluster_args("ruby", "ines.costa@corp.example"))[0] == 0
    s3, ecr = _aws(onboard.infra, "s3"), _aws(onboard.infra, "ecr")
    for version in (b"one", b"two"):
        s3.put_object(Bucket=bucket, Key="artifacts/ruby/wf-1/log.txt", Body=version)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "digest": "sha256:" + "a" * 64,
                "size": 1,
                "mediaType": "application/vnd.docker.container.image.v1+json",
            },
            "layers": [],
        }
    )
    ecr.put_image(repositoryName="acme/teams/ruby", imageManifest=manifest, imageTag="v1")
    # Images and no --purge-data: refused before anything is removed.
    code, _, err = cli(*_delete_args("ruby", "--delete", "--confirm", "ruby"), "--config-dir", str(onboard.config))
    assert code == 1 and "holds 1 image(s)" in err
    assert kube.get_object("kubeflow.org/v1", "Profile", None, "ruby") is not None
    code, _, err = cli(
        *_delete_args("ruby", "--delete", "--confirm", "ruby", "--purge-data", "--confirm-purge", "ruby"),
        "--config-dir",
        str(onboard.config),
    )
    assert code == 0, err
    assert "2 artifact object version(s)" in err and "1 image(s)" in err
    listing = s3.list_object_versions(Bucket=bucket, Prefix="artifacts/ruby/")
    assert not listing.get("Versions") and not listing.get("DeleteMarkers")
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        ecr.describe_repositories(repositoryNames=["acme/teams/ruby"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--delete"], "--delete needs --confirm planning"),
        (["--delete", "--confirm", "perception"], "--delete needs --confirm planning"),
        (["--purge-data"], "go with --delete"),
        (["--delete", "--confirm", "planning", "--purge-data"], "add --confirm-purge planning"),
        (["--delete", "--confirm", "planning", "--purge-data", "--confirm-purge", "x"], "is not the team's name"),
    ],
    ids=["no-confirm", "wrong-confirm", "purge-alone", "purge-unconfirmed", "purge-wrong"],
)
def test_delete_bad_input_removes_nothing(onboard, cli, kube, extra: list[str], message: str) -> None:
    kube.clear_calls()
    code, _, err = cli(*_delete_args("planning", *extra), "--config-dir", str(onboard.config))
    assert code == 2, err
    assert message in err
    assert (onboard.config / "teams" / "planning.yaml").exists()
    assert kube.mutations() == []


def test_delete_dry_run_lists_what_would_go_and_removes_nothing(onboard, cli, kube) -> None:
    kube.clear_calls()
    args = _delete_args("planning", "--delete", "--confirm", "planning", "--dry-run")
    code, _, err = cli(*args, "--config-dir", str(onboard.config))
    assert code == 0, err
    assert "deleting team planning in sandbox removes:" in err
    assert kube.mutations() == []
    assert (onboard.config / "teams" / "planning.yaml").exists()
    assert _iam(onboard.infra).get_role(RoleName=naming.team_role("acme", ENV, "planning"))["Role"]


# --- failure paths of the core ------------------------------------------------------------------


def _prepared(onboard, name: str):
    from platform_kit import context, onboarding, team_spec

    settings = context.Settings(env=ENV, config_dir=onboard.config)
    request = team_spec.Request(name=name, owner="ines.costa@corp.example", cost_center="CC-4700", env=ENV)
    return settings, onboarding.prepare(settings, request, from_file=None, write=True)


def _nothing_of(onboard, name: str) -> None:
    assert not (onboard.config / "teams" / f"{name}.yaml").exists()
    assert not any(k.startswith(f"teams/{ENV}/{name}.tfstate") for k in _state_keys(onboard.infra))
    roles = {r["RoleName"] for r in _iam(onboard.infra).list_roles()["Roles"]}
    assert naming.team_role("acme", ENV, name) not in roles


def test_a_declined_plan_writes_nothing(onboard) -> None:
    from platform_kit import onboarding
    from platform_kit.errors import OperationFailed

    settings, candidate = _prepared(onboard, "lima")
    asked = []
    with pytest.raises(OperationFailed, match="plan not applied \\(declined\\); nothing was changed"):
        onboarding.onboard_team(
            settings, candidate, onboarding.Options(env=ENV), confirm=lambda report: asked.append(report) and False
        )
    assert asked and asked[0].add > 0  # it was shown a real plan, and said no
    _nothing_of(onboard, "lima")


def test_a_team_file_written_by_another_run_while_waiting_is_not_overwritten(onboard) -> None:
    from platform_kit import onboarding
    from platform_kit.errors import OperationFailed

    settings, candidate = _prepared(onboard, "mike")
    theirs = "name: mike\nowner: someone.else@corp.example\ncost_center: CC-1\nenvironments: [sandbox]\n"
    candidate.path.write_text(theirs)  # what a run that held the lock first would have left
    with pytest.raises(OperationFailed, match=r"mike\.yaml changed while this run waited for the lock"):
        onboarding.onboard_team(settings, candidate, onboarding.Options(env=ENV), confirm=lambda _: True)
    assert candidate.path.read_text() == theirs
    candidate.path.unlink()
    _nothing_of(onboard, "mike")


def test_an_unreachable_api_server_is_one_line_and_nothing_is_written(onboard, tmp_path: Path, monkeypatch) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "gone", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
                "current-context": "gone",
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    code, _, err = onboard(
        "november", "--owner", "ines.costa@corp.example", "--cost-center", "CC-1", "--env", ENV, "--yes",
        "--kube-context", "gone",
    )  # fmt: skip
    assert code == 1
    errors = [line for line in err.strip().splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and f"cannot reach http://127.0.0.1:{port}" in errors[0], err
    assert "Traceback" not in err
    _nothing_of(onboard, "november")


def test_purge_stops_at_the_first_item_it_cannot_delete_and_says_which(onboard) -> None:
    from platform_kit import onboarding
    from platform_kit.errors import OperationFailed

    session = onboard.infra.session()
    s3, ecr = session.client("s3"), session.client("ecr")
    # Object lock with a legal hold: S3 refuses that version, item by item, in a 200 answer.
    s3.create_bucket(Bucket="purge-held", ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket="purge-held", Key="artifacts/oscar/model.bin", Body=b"weights")
    s3.put_object(Bucket="purge-held", Key="artifacts/oscar/held.bin", Body=b"evidence")
    s3.put_object_legal_hold(Bucket="purge-held", Key="artifacts/oscar/held.bin", LegalHold={"Status": "ON"})
    versions = s3.list_object_versions(Bucket="purge-held", Prefix="artifacts/oscar/")["Versions"]
    with pytest.raises(OperationFailed, match="1 artifact object version\\(s\\) could not be deleted") as caught:
        onboarding._purge_objects(s3, "purge-held", versions)
    assert "artifacts/oscar/held.bin: AccessDenied" in str(caught.value)
    assert [v["Key"] for v in s3.list_object_versions(Bucket="purge-held")["Versions"]] == ["artifacts/oscar/held.bin"]
    # ECR reports an image it could not delete as a failure, not an error.
    ecr.create_repository(repositoryName="acme/teams/oscar")
    gone = [{"imageDigest": "sha256:" + "0" * 64}]
    with pytest.raises(OperationFailed, match="1 image\\(s\\) in acme/teams/oscar could not be deleted"):
        onboarding._purge_images(ecr, "acme/teams/oscar", gone)
