"""``platform offboard-team`` (stale, ``--delete``, ``--purge-data``), ``transfer-owner``, pruning of
removed members, and the onboarding core's failure paths, end to end on the sandbox: real Terraform
on moto, the cluster side on the Kubernetes API double. Split from test_onboard.py so the two halves
run on different workers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from onboard_support import ENV, _cluster_args, _iam, _state_keys

from platform_kit import naming


@pytest.fixture(scope="module")
def world(sandbox_world):
    return sandbox_world


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
