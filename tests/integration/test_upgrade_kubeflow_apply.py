"""Applying Kubeflow upgrades: backup, manual steps, CRDs, objects, prune, platform.yaml.

The renders are real (the offline upstream snapshots through ``kubectl kustomize``); the cluster is
the Kubernetes API server double, driven by the real ``kubernetes`` client, with its simulated
apiextensions controller establishing CRDs only after a few reads, as a real API server takes a
moment; Secrets Manager and RDS are a moto sandbox. Each test starts from the v1.10.2 release as
the kit applies it, plus the example teams' access objects.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLE_CONFIG, REPO_ROOT, UPSTREAM, moto_client

from platform_kit import cluster_apply, context, kube, manifests, sandbox
from platform_kit.config import edit, load_platform
from platform_kit.errors import OperationFailed
from platform_kit.infra import Infra
from platform_kit.render import team as team_render
from platform_kit.upgrade import backup, kubeflow
from platform_kit.upgrade.planner import plan_kubeflow
from platform_kit.upgrade.steps import StepFailed, execute

ENV = "sandbox"
OIDC_VALUE = "sandbox-connector-secret-value"  # the SANDBOX_OIDC_CLIENT_SECRET the render refers to


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """A config, its sandbox (Secrets Manager holding the login secrets), the outputs naming them,
    and the two release hops v1.10.2 -> v1.11.0 -> 26.03 rendered once."""
    root = tmp_path_factory.mktemp("kubeflow-apply")
    config = root / "platform"
    shutil.copytree(EXAMPLE_CONFIG, config)
    text = (config / "platform.yaml").read_text().replace("path: ../../shared/upstream/", f"path: {UPSTREAM}/")
    (config / "platform.yaml").write_text(text)
    state = root / ".platform"
    info = sandbox.start(state)
    try:
        secrets = moto_client("secretsmanager", info.endpoint, info.ca_bundle)
        values = {"client": "client-secret-value-1", "cookie": "cookie-secret-value-2"}
        arns = {
            name: secrets.create_secret(Name=f"acme/sandbox/oauth2-proxy/{name}-secret", SecretString=value)["ARN"]
            for name, value in values.items()
        }
        outputs = json.loads((REPO_ROOT / "tests" / "golden" / "sandbox" / "platform-outputs.json").read_text())
        outputs["oauth2_proxy_client_secret_arn"] = arns["client"]
        outputs["oauth2_proxy_cookie_secret_arn"] = arns["cookie"]
        outputs_file = root / "platform-outputs.json"
        outputs_file.write_text(json.dumps(outputs))
        settings = context.Settings(env=ENV, config_dir=config)
        loaded = load_platform(config)
        rendered_outputs = manifests.outputs_from_file(outputs_file, ENV)
        hops = kubeflow.plan_hops(settings, loaded, ENV, "26.03", rendered_outputs)
        yield {
            "root": root,
            "config": config,
            "state": state,
            "values": values,
            "outputs_file": outputs_file,
            "outputs": rendered_outputs,
            "hops": hops,
            "ca_bundle": info.ca_bundle,
            "endpoint": info.endpoint,
        }
    finally:
        sandbox.stop(state)


@pytest.fixture()
def setup(world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """This test's own platform.yaml (the upgrade edits it), a cluster double running v1.10.2, and the
    example teams' access objects on it."""
    from doubles.kube_api import KubeApiDouble

    config = tmp_path / "platform"
    shutil.copytree(world["config"], config)
    monkeypatch.setenv("PLATFORM_STATE_DIR", str(world["state"]))
    monkeypatch.setenv("SANDBOX_OIDC_CLIENT_SECRET", OIDC_VALUE)
    settings = context.Settings(env=ENV, config_dir=config)
    context.set_current(settings)
    loaded = load_platform(config)
    infra = Infra(settings, loaded, ENV)
    with KubeApiDouble() as double:
        monkeypatch.setenv("KUBECONFIG", str(double.kubeconfig(tmp_path / "kubeconfig")))
        cluster = kube.Cluster(double_client(double), cache_file=str(tmp_path / "discovery.json"), sleep=lambda _: None)
        first = world["hops"][0]
        secrets = cluster_apply.secret_objects(
            cluster, manifests_secrets(first.build_dir.parent / "v1.10.2"), infra.session().client("secretsmanager")
        )
        # v1.10.2 as the kit applied it, seeded straight into the double (the apply path is what the
        # tests exercise; seeding through it would only make each test slower).
        for obj in cluster_apply.order(first.before + secrets):
            double.put_object(obj, manager=kube.FIELD_MANAGER)
        double.crd_controller(delay_reads=2)
        # The example teams as onboarding leaves them: the Profile first (the profile controller makes
        # its namespace), then the team's other objects.
        double.profile_controller()
        for team in loaded.teams.values():
            if ENV not in team.environments:
                continue
            objects = team_render.render_team(loaded.platform, ENV, team)
            for obj in sorted(objects, key=lambda o: o["kind"] != "Profile"):
                cluster.apply(obj)
        double.clear_calls()
        yield {
            "kube": double,
            "cluster": cluster,
            "infra": infra,
            "config": config,
            "settings": settings,
            "backups": tmp_path / "backups",
            "monkeypatch": monkeypatch,
        }
        assert double.internal_errors == []


def double_client(double):
    from kubernetes import client

    return client.ApiClient(double.configuration())


def manifests_secrets(build_dir: Path):
    from platform_kit import secret_values

    return secret_values.load_specs(build_dir)


def plan(world, setup, hops=None):
    return plan_kubeflow(
        setup["infra"],
        world["hops"] if hops is None else hops,
        cluster=setup["cluster"],
        backup_root=setup["backups"],
        outputs=world["outputs"],
    )


def live_keys(double) -> set[tuple[str, str, str, str]]:
    from platform_kit.render.diff import identity

    return {identity(o) for o in double.objects()}


def platform_yaml(setup) -> dict:
    return load_platform(setup["config"]).platform.environments[ENV].kubeflow


def test_two_hops_apply_in_order_and_leave_26_03_running(world, setup) -> None:
    double = setup["kube"]
    upgrade = plan(world, setup)
    ids = [step.id for step in upgrade.steps]
    assert ids[:7] == [
        "kubeflow-v1.11.0/backup",
        "kubeflow-v1.11.0/manual/pipelines-mysql-8.4",
        "kubeflow-v1.11.0/manual/istio-two-minors",
        "kubeflow-v1.11.0/crds",
        "kubeflow-v1.11.0/objects",
        "kubeflow-v1.11.0/prune",
        "kubeflow-v1.11.0/desired-state",
    ]
    assert ids[7:] == [f"kubeflow-26.03/{s}" for s in ("backup", "crds", "objects", "prune", "desired-state")]
    assert not any(upgrade.done.values()), "nothing of either hop is on the v1.10.2 cluster yet"
    confirmed: list[str] = []
    outcomes = execute(upgrade.steps, resume_command="again", confirm=lambda text: confirmed.append(text) or True)
    assert [o.status for o in outcomes] == ["applied"] * len(ids)
    assert len(confirmed) == 2 and "MySQL" in confirmed[0]

    # The cluster runs 26.03: every object of its render holds what was rendered.
    last = world["hops"][1]
    cluster = setup["cluster"]
    assert cluster_apply.missing(cluster, last.after) == []
    # Each hop's prune set is gone: the v1.10.2-only profile-controller ConfigMap, the NetworkPolicies
    # 26.03 moved out of `kubeflow`.
    live = live_keys(double)
    for hop in world["hops"]:
        assert hop.prune and not set(hop.prune) & live, f"{hop.source} -> {hop.target} left prune-set objects"
    # The Secrets carry the values from Secrets Manager and the environment, base64 as the server keeps them.
    oauth = double.get_object("v1", "Secret", "oauth2-proxy", "oauth2-proxy-credentials")
    assert base64.b64decode(oauth["data"]["cookie-secret"]).decode() == world["values"]["cookie"]
    dex = double.get_object("v1", "Secret", "auth", "dex-secrets")
    assert base64.b64decode(dex["data"]["DEX_CORP_SSO_CLIENT_SECRET"]).decode() == OIDC_VALUE
    # platform.yaml names the release the cluster runs, and its source moved with it.
    recorded = platform_yaml(setup)
    assert str(recorded.version) == "26.03" and str(recorded.source.path).endswith("/26.03")
    # One complete backup per hop, each with the teams' access objects.
    folders = sorted(p for p in setup["backups"].iterdir())
    assert [p.name.split("-", 1)[1] for p in folders] == ["v1.10.2-to-v1.11.0", "v1.11.0-to-26.03"]
    manifest = json.loads((folders[0] / backup.MANIFEST).read_text())
    assert manifest["objects"]["Profile"] == 2 and manifest["objects"]["RoleBinding"] > 0
    profiles = list(yaml.safe_load_all((folders[0] / "profiles.yaml").read_text()))
    assert {p["metadata"]["name"] for p in profiles} == {"perception", "planning"}
    assert all("uid" not in p["metadata"] and "managedFields" not in p["metadata"] for p in profiles)
    assert "rds_snapshot" not in manifest, "the sandbox keeps the Pipelines database in the cluster"

    # Applying the same plan again finds everything done and writes nothing.
    double.clear_calls()
    again = execute(upgrade.steps, resume_command="again")
    assert {o.status for o in again} == {"already done"}
    assert double.mutations() == []


def _fail_backup(double, _setup) -> None:
    double.fail("GET", r"/rolebindings$", 403)


def _fail_crds(double, _setup) -> None:
    double.fail("PATCH", r"/customresourcedefinitions/", 422)


def _fail_objects(double, _setup) -> None:
    double.fail("PATCH", r"/deployments/", 422)


def _fail_prune(double, _setup) -> None:
    double.fail("DELETE", r"/configmaps/kubeflow-pipelines-profile-controller-code-", 422)


def _fail_record(_double, setup) -> None:
    setup["monkeypatch"].setattr(edit, "set_scalars", _refuse_once(edit.set_scalars))


def _refuse_once(write):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise OperationFailed("platform.yaml: injected write failure")
        return write(*args, **kwargs)

    return refuse


@pytest.mark.parametrize(
    ("step", "inject"),
    [
        ("backup", _fail_backup),
        ("crds", _fail_crds),
        ("objects", _fail_objects),
        ("prune", _fail_prune),
        ("desired-state", _fail_record),
    ],
)
def test_a_failure_at_each_step_stops_there_and_a_rerun_finishes(world, setup, step, inject) -> None:
    double = setup["kube"]
    hop = world["hops"][:1]
    inject(double, setup)
    with pytest.raises(OperationFailed) as failed:
        execute(plan(world, setup, hop).steps, resume_command="platform upgrade apply --kubeflow v1.11.0",
                confirm=lambda _: True)  # fmt: skip
    assert f"step kubeflow-v1.11.0/{step} " in failed.value.message
    assert "resume with: platform upgrade apply --kubeflow v1.11.0" in (failed.value.hint or "")
    assert str(platform_yaml(setup).version) == "v1.10.2"

    double.clear_faults()
    double.clear_calls()
    upgrade = plan(world, setup, hop)  # planned again from real state, as a second run does
    order = [s.id.rsplit("/", 1)[-1] if "/manual/" not in s.id else "manual" for s in upgrade.steps]
    before = order[: order.index(step)]
    assert all(upgrade.done[s.id] for s in upgrade.steps[: len(before)] if "/manual/" not in s.id), before
    outcomes = execute(upgrade.steps, resume_command="again", confirm=lambda _: True)
    assert outcomes[-1].status == "applied" and outcomes[-1].id.endswith("desired-state")
    assert cluster_apply.missing(setup["cluster"], hop[0].after) == []
    assert str(platform_yaml(setup).version) == "v1.11.0"
    if step in ("prune", "desired-state"):
        # The objects were all there: the second run wrote nothing but the prune's delete.
        assert {c.verb for c in double.mutations()} <= {"delete"}


def test_an_unconfirmed_manual_step_stops_before_the_cluster_changes(world, setup) -> None:
    double = setup["kube"]
    with pytest.raises(OperationFailed) as failed:
        execute(plan(world, setup, world["hops"][:1]).steps, resume_command="again", confirm=lambda _: False)
    assert "kubeflow-v1.11.0/manual/pipelines-mysql-8.4" in failed.value.message
    assert "not confirmed" in failed.value.message
    assert double.mutations() == [], "only the backup ran, and it reads"
    assert backup.recent(setup["backups"], "v1.10.2", "v1.11.0") is not None


def test_prune_deletes_only_what_carries_the_environment_label(world, setup) -> None:
    double = setup["kube"]
    cluster = setup["cluster"]
    hop = world["hops"][1]
    cluster_apply.apply_all(cluster, hop.before)  # the cluster at v1.11.0
    victims = hop.prune_objects()
    assert len(victims) == len(hop.prune) > 2
    # One object of the prune set was taken over by someone else: its live copy lost the kit's label.
    adopted = next(o for o in victims if o["kind"] == "NetworkPolicy")
    name = adopted["metadata"]["name"]
    live = double.get_object("networking.k8s.io/v1", "NetworkPolicy", "kubeflow", name)
    live["metadata"]["labels"] = {"team": "someone-else"}
    double.put_object(live)
    double.clear_calls()

    deleted, kept = cluster_apply.prune(cluster, victims, ENV)
    assert len(deleted) == len(victims) - 1 and not any(name in line for line in deleted)
    assert [line for line in kept if name in line] == [f"NetworkPolicy kubeflow/{name}: live copy not labelled "
                                                        f"{cluster_apply.ENV_LABEL}={ENV}"]  # fmt: skip
    assert double.get_object("networking.k8s.io/v1", "NetworkPolicy", "kubeflow", name) is not None
    assert cluster_apply.still_present(cluster, victims, ENV) == []
    assert len([c for c in double.mutations() if c.verb == "delete"]) == len(victims) - 1


def test_prune_keeps_volume_claims_and_says_why(setup) -> None:
    double = setup["kube"]
    cluster = setup["cluster"]
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "minio-pvc", "namespace": "kubeflow", "labels": {cluster_apply.ENV_LABEL: ENV}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}},
    }
    double.put_object(claim)
    double.clear_calls()
    deleted, kept = cluster_apply.prune(cluster, [claim], ENV)
    assert deleted == []
    assert kept == [
        "PersistentVolumeClaim kubeflow/minio-pvc: a volume claim "
        "(its data would be lost; delete it by hand once unneeded)"
    ]
    assert double.get_object("v1", "PersistentVolumeClaim", "kubeflow", "minio-pvc") is not None
    assert double.mutations() == []
    assert cluster_apply.still_present(cluster, [claim], ENV) == []


WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.io"},
    "spec": {
        "group": "example.io",
        "names": {"kind": "Widget", "plural": "widgets"},
        "scope": "Namespaced",
        "versions": [{"name": "v1", "served": True, "storage": True}],
    },
}


def test_crds_go_first_and_are_waited_for_before_what_uses_them(setup) -> None:
    double = setup["kube"]
    cluster = setup["cluster"]
    double.crd_controller(delay_reads=3)  # not served until three reads of the CRD after it is applied
    widget = {"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "kubeflow"}}
    counts = cluster_apply.apply_all(cluster, [widget, WIDGET_CRD])
    assert counts["created"] == 2
    assert "widgets.example.io" in double.crds.established
    assert double.get_object("example.io/v1", "Widget", "kubeflow", "w") is not None
    paths = [c.path for c in double.calls]
    crd_apply = next(i for i, c in enumerate(double.calls) if c.verb == "apply" and "widgets.example.io" in c.path)
    widget_apply = next(i for i, c in enumerate(double.calls) if c.verb == "apply" and c.path.endswith("/widgets/w"))
    waits = [p for p in paths[crd_apply:widget_apply] if p.endswith("/customresourcedefinitions/widgets.example.io")]
    assert crd_apply < widget_apply and len(waits) >= 3


def test_a_crd_that_never_establishes_fails_with_its_name(setup) -> None:
    setup["kube"].crd_controller(delay_reads=10_000)
    cluster = setup["cluster"]
    cluster.apply(WIDGET_CRD)
    with pytest.raises(OperationFailed) as failed:
        cluster_apply.wait_established(cluster, ["widgets.example.io"], timeout=0)
    assert "CRD widgets.example.io" in failed.value.message and "Established" in failed.value.message


def test_backup_snapshots_the_rds_database_once_and_resumes_in_its_folder(world, setup, tmp_path: Path) -> None:
    rds = moto_client("rds", world["endpoint"], world["ca_bundle"])
    db = rds.create_db_instance(
        DBInstanceIdentifier="acme-sandbox-kfp",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="not-a-real-password-1",
    )["DBInstance"]
    endpoint = db["Endpoint"]["Address"]
    root = tmp_path / "rds-backups"
    # An earlier run stopped after it named its folder: this run finishes that backup, not a new one.
    stamp = "20261207T010203Z"
    (root / f"{stamp}-v1.10.2-to-v1.11.0{backup.PARTIAL}").mkdir(parents=True)
    database = backup.Database(rds, endpoint)
    folder = backup.take(setup["cluster"], root, "v1.10.2", "v1.11.0", env=ENV, database=lambda: database)
    assert folder.name == f"{stamp}-v1.10.2-to-v1.11.0"
    manifest = json.loads((folder / backup.MANIFEST).read_text())
    assert manifest["rds_snapshot"] == "acme-sandbox-kfp-v1-10-2-to-v1-11-0-20261207t010203z"
    snapshots = rds.describe_db_snapshots(DBInstanceIdentifier="acme-sandbox-kfp", SnapshotType="manual")["DBSnapshots"]
    assert [s["DBSnapshotIdentifier"] for s in snapshots] == [manifest["rds_snapshot"]]
    assert snapshots[0]["Status"] == "available"
    # Run again with the snapshot already there (an interruption before backup.json): no second snapshot.
    (folder / backup.MANIFEST).unlink()
    folder.rename(folder.with_name(folder.name + backup.PARTIAL))
    again = backup.take(setup["cluster"], root, "v1.10.2", "v1.11.0", env=ENV, database=lambda: database)
    assert again == folder
    assert (
        len(rds.describe_db_snapshots(DBInstanceIdentifier="acme-sandbox-kfp", SnapshotType="manual")["DBSnapshots"])
        == 1
    )
    # A database the outputs point at but RDS does not know is one clear line.
    with pytest.raises(OperationFailed, match=r"no RDS instance has the endpoint nowhere\.example"):
        backup.Database(rds, "nowhere.example").instance()
    rds.delete_db_instance(DBInstanceIdentifier="acme-sandbox-kfp", SkipFinalSnapshot=True)


def test_step_failed_is_an_operation_failure() -> None:
    assert issubclass(StepFailed, OperationFailed)


def test_the_cli_plans_applies_and_reruns_a_kubeflow_upgrade(world, setup, cli) -> None:
    double = setup["kube"]
    base = ["--env", ENV, "--config-dir", str(setup["config"]), "--platform-outputs", str(world["outputs_file"])]
    target = ["--kubeflow", "v1.11.0", "--kube-context", "kube-api-double", "--backup-dir", str(setup["backups"])]

    code, out, err = cli("upgrade", "plan", *base, *target)
    assert code == 0, err
    assert "Kubeflow v1.10.2 -> v1.11.0" in out and "(kubeflow-v1.11.0/crds, to do)" in out
    assert "manual" in out and "MySQL" in out
    assert double.mutations() == [], "a plan changes nothing"

    code, out, err = cli("upgrade", "apply", *base, *target, "--yes")
    assert code == 0, err
    assert "kubeflow-v1.11.0/objects: applied" in err and "backup written to" in err
    assert str(platform_yaml(setup).version) == "v1.11.0"
    for value in (*world["values"].values(), OIDC_VALUE):
        assert value not in out + err, "a secret value reached the output"

    # Run again: platform.yaml names v1.11.0 now, so there is no hop left and nothing is written.
    double.clear_calls()
    code, out, err = cli("upgrade", "apply", *base, *target, "--yes")
    assert code == 0, err
    assert "0 step(s) applied" in err
    assert double.mutations() == []


def test_the_cli_refuses_bad_kubeflow_requests_before_any_call(world, setup, cli) -> None:
    double = setup["kube"]
    base = ["--env", ENV, "--config-dir", str(setup["config"]), "--platform-outputs", str(world["outputs_file"])]
    for args, message in (
        (["--kubeflow", "v1.10.1", "--kube-context", "kube-api-double"], "not a release the kit supports"),
        (["--kubeflow", "v1.11.0"], "has no Kubernetes API server to apply to"),
        (["--kubeflow", "v1.11.0", "--kube-context", "kube-api-double", "--kubernetes", "1.32"], "one upgrade"),
    ):
        code, out, err = cli("upgrade", "apply", *base, *args, "--yes")
        assert code == 2, (args, out, err)
        assert message in err and len(err.strip().splitlines()) <= 2, err
    code, _, err = cli("upgrade", "apply", *base, "--kubeflow", "v1.11.0", "--kube-context", "kube-api-double")
    assert code == 2 and "no terminal to ask" in err
    assert double.mutations() == []
    assert str(platform_yaml(setup).version) == "v1.10.2"
