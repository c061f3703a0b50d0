"""The kind e2e workflow's environment, rendered offline as the workflow renders it (real kubectl
kustomize over the v1.10.2 snapshot): Dex trusts the directory's CA, Pipelines keeps upstream's
object store with generated keys, and nothing of it reaches for S3 through IRSA."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import REPO_ROOT, UPSTREAM

from platform_kit import sandbox_tls

E2E = REPO_ROOT / "e2e" / "kind"
OUTPUTS = REPO_ROOT / "tests" / "golden" / "sandbox" / "platform-outputs.json"


def _objects(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _find(objects: list[dict], kind: str, name: str, namespace: str = "kubeflow") -> dict | None:
    return next(
        (
            o
            for o in objects
            if o["kind"] == kind and o["metadata"]["name"] == name and o["metadata"].get("namespace") == namespace
        ),
        None,
    )


def test_the_kind_environment_renders_with_the_directory_ca_and_an_in_cluster_store(cli, tmp_path: Path) -> None:
    ca = sandbox_tls.ensure(tmp_path / "tls").ca
    config = tmp_path / "platform"
    done = subprocess.run(
        [
            sys.executable,
            str(E2E / "with_ldap_ca.py"),
            str(E2E / "platform"),
            str(config),
            "--ca",
            str(ca),
            "--upstream-path",
            str(UPSTREAM / "kubeflow-manifests" / "v1.10.2"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    code, _, err = cli("validate", "--config-dir", str(config))
    assert code == 0, err

    out = tmp_path / "build"
    code, _, err = cli(
        "render", "--config-dir", str(config), "--env", "kind", "--out", str(out), "--platform-outputs", str(OUTPUTS)
    )
    assert code == 0, err
    objects = _objects(out / "rendered" / "platform.yaml")

    dex = _find(objects, "ConfigMap", "dex", namespace="auth")
    [connector] = yaml.safe_load(dex["data"]["config.yaml"])["connectors"]
    assert connector["type"] == "ldap" and connector["config"]["host"] == "openldap.ldap.svc.cluster.local:636"
    assert base64.b64decode(connector["config"]["rootCAData"]).decode().strip() == ca.read_text().strip()
    assert connector["config"]["insecureNoSSL"] is False

    # Upstream's object store stays; the S3-through-IRSA wiring of the kit's default is absent.
    assert _find(objects, "Deployment", "minio") is not None
    api = _find(objects, "Deployment", "ml-pipeline")
    env = {e["name"]: e.get("value") for c in api["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
    assert "amazonaws.com" not in str(env.get("OBJECTSTORECONFIG_HOST"))
    for account in ("ml-pipeline", "argo"):
        sa = _find(objects, "ServiceAccount", account)
        assert sa is None or "eks.amazonaws.com/role-arn" not in (sa["metadata"].get("annotations") or {})

    # Its keys are generated at apply time (upstream ships minio/minio123), never written here.
    specs = yaml.safe_load((out / "secrets.yaml").read_text())
    [store] = [s for s in specs["secrets"] if s["name"] == "mlpipeline-minio-artifact"]
    assert store["namespace"] == "kubeflow"
    assert set(store["data"]) == {"accesskey", "secretkey"}
    assert all(set(source) == {"generate"} for source in store["data"].values())
    minio_secret = _find(objects, "Secret", "mlpipeline-minio-artifact")
    assert minio_secret is None
