"""The upstream component map and the platform kustomization (pure rendering, no kustomize run)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import UPSTREAM

from platform_kit import versions
from platform_kit.config.models import GitSource, KubeflowSource, PlatformConfig
from platform_kit.config.validate import load_platform
from platform_kit.errors import BadInput
from platform_kit.files import write_if_changed
from platform_kit.render import kustomize

MANIFESTS = UPSTREAM / "kubeflow-manifests"
REQUIRED = {
    "cert-manager",
    "istio",
    "oauth2-proxy",
    "dex",
    "kubeflow-namespace",
    "networkpolicies",
    "kubeflow-roles",
    "kubeflow-istio-resources",
    "pipelines",
    "central-dashboard",
    "admission-webhook",
    "profiles",
    "tensorboard",
}
OPTIONAL = {"jupyter", "katib"}
KUBEFLOW_VERSIONS = versions.kubeflow_versions()


def _write_build(cfg: PlatformConfig, env: str, config_dir: Path, out_dir: Path) -> Path:
    """What the platform render does with the kustomization: dump it and write it only if it changed."""
    text = kustomize.dump(
        kustomize.platform_kustomization(cfg, env, kustomize.upstream_ref(cfg, env, config_dir, out_dir))
    )
    target = out_dir / kustomize.KUSTOMIZATION_FILE
    write_if_changed(target, text)
    return target


def _config(config_dir: Path) -> PlatformConfig:
    return load_platform(config_dir).platform


def _resources(build: Path) -> list[str]:
    return yaml.safe_load(build.read_text())["resources"]


def test_map_covers_exactly_the_supported_versions() -> None:
    assert kustomize.supported_versions() == KUBEFLOW_VERSIONS


@pytest.mark.parametrize("version", KUBEFLOW_VERSIONS)
def test_map_has_every_component(version: str) -> None:
    by_name = {c.name: c for c in kustomize.components(version)}
    assert set(by_name) == REQUIRED | OPTIONAL
    assert {n for n, c in by_name.items() if c.optional} == OPTIONAL
    for component in by_name.values():
        # A piece without paths must say which other piece carries its objects.
        assert component.paths or component.included_in in by_name, component.name
    assert any("m2m-dex-and-eks" in p for p in by_name["oauth2-proxy"].paths)
    assert not any("knative" in p for c in by_name.values() for p in c.paths)


@pytest.mark.parametrize("version", KUBEFLOW_VERSIONS)
def test_every_path_exists_upstream(version: str) -> None:
    paths = [p for c in kustomize.components(version) for p in c.paths]
    assert len(paths) == len(set(paths))
    missing = [p for p in paths if not (MANIFESTS / version / p / "kustomization.yaml").is_file()]
    assert missing == []


@pytest.mark.parametrize("version", KUBEFLOW_VERSIONS)
def test_sort_options_match_upstream_example(version: str) -> None:
    example = yaml.safe_load((MANIFESTS / version / "example" / "kustomization.yaml").read_text())
    assert kustomize.sort_options() == example["sortOptions"]


def test_local_source_is_relative_to_the_build_dir(example_config: Path, tmp_path: Path) -> None:
    cfg = _config(example_config)
    out = tmp_path / "build" / "sandbox"
    build = _write_build(cfg, "sandbox", example_config, out)
    doc = yaml.safe_load(build.read_text())
    assert doc["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert doc["kind"] == "Kustomization"
    for resource in doc["resources"]:
        assert not Path(resource).is_absolute()
        assert (out / resource / "kustomization.yaml").is_file(), resource
    assert doc["resources"][0].endswith("v1.10.2/common/cert-manager/base")


def test_git_source_yields_pinned_remote_urls(example_config: Path, tmp_path: Path) -> None:
    cfg = _config(example_config)
    # dev uses https://github.com/kubeflow/manifests at ref v1.10.2 in the example config.
    build = _write_build(cfg, "dev", example_config, tmp_path / "dev")
    resources = _resources(build)
    expected = [
        f"https://github.com/kubeflow/manifests//{p}?ref=v1.10.2"
        for c in kustomize.components("v1.10.2")
        if not c.optional
        for p in c.paths
    ]
    assert resources == expected

    cfg.environments["sandbox"].kubeflow.source = KubeflowSource(
        git=GitSource(url="https://github.com/kubeflow/manifests/", ref="26.03")
    )
    cfg.environments["sandbox"].kubeflow.version = "26.03"
    ref = kustomize.upstream_ref(cfg, "sandbox", example_config, tmp_path)
    doc = kustomize.platform_kustomization(cfg, "sandbox", ref)
    assert "https://github.com/kubeflow/manifests//applications/pipeline/overlays?ref=26.03" in doc["resources"]
    assert all("//" in r.removeprefix("https://") and r.endswith("?ref=26.03") for r in doc["resources"])


@pytest.mark.parametrize(("jupyter", "katib"), [(False, False), (True, False), (False, True), (True, True)])
def test_optional_components_follow_the_config(example_config: Path, jupyter: bool, katib: bool) -> None:
    cfg = _config(example_config)
    cfg.environments["sandbox"].kubeflow.components.jupyter = jupyter
    cfg.environments["sandbox"].kubeflow.components.katib = katib
    resources = kustomize.platform_kustomization(cfg, "sandbox", "up")["resources"]
    assert ("up/applications/jupyter/jupyter-web-app/upstream/overlays/istio" in resources) is jupyter
    assert ("up/applications/jupyter/notebook-controller/upstream/overlays/kubeflow" in resources) is jupyter
    assert ("up/applications/katib/upstream/installs/katib-with-kubeflow" in resources) is katib
    assert "up/applications/pipeline/upstream/env/cert-manager/platform-agnostic-multi-user" in resources


def test_resources_follow_the_data_file_order(example_config: Path) -> None:
    cfg = _config(example_config)
    cfg.environments["sandbox"].kubeflow.components.jupyter = True
    cfg.environments["sandbox"].kubeflow.components.katib = True
    resources = kustomize.platform_kustomization(cfg, "sandbox", "")["resources"]
    assert resources == [p for c in kustomize.components("v1.10.2") for p in c.paths]


def test_write_is_deterministic_and_skips_unchanged(example_config: Path, tmp_path: Path) -> None:
    cfg = _config(example_config)
    out = tmp_path / "out"
    first = _write_build(cfg, "sandbox", example_config, out)
    before = first.read_bytes()
    stat = first.stat()
    second = _write_build(_config(example_config), "sandbox", example_config, out)
    assert second == first
    assert second.read_bytes() == before
    after = second.stat()
    assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    assert sorted(p.name for p in out.iterdir()) == ["kustomization.yaml"]
    # Keys sorted, the header comment first.
    lines = before.decode().splitlines()
    assert lines[0].startswith("# Generated by platform-kit")
    assert [line.split(":")[0] for line in lines[1:] if line and not line.startswith((" ", "-"))] == [
        "apiVersion",
        "kind",
        "resources",
        "sortOptions",
    ]

    cfg.environments["sandbox"].kubeflow.components.katib = True
    _write_build(cfg, "sandbox", example_config, out)
    assert first.read_bytes() != before


def test_unsupported_version_is_bad_input(example_config: Path, tmp_path: Path) -> None:
    cfg = _config(example_config)
    cfg.environments["sandbox"].kubeflow.version = "v1.9.0"
    with pytest.raises(BadInput, match=r"v1\.9\.0 has no component map") as info:
        _write_build(cfg, "sandbox", example_config, tmp_path / "out")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_missing_local_source_is_bad_input(example_config: Path, tmp_path: Path) -> None:
    cfg = _config(example_config)
    cfg.environments["sandbox"].kubeflow.source = KubeflowSource(path="../nowhere/kubeflow-manifests")
    with pytest.raises(BadInput, match=r"kubeflow\.source\.path: '../nowhere/kubeflow-manifests' not found") as info:
        _write_build(cfg, "sandbox", example_config, tmp_path / "out")
    assert "\n" not in str(info.value)


def test_unpinned_git_upstream_is_bad_input(example_config: Path) -> None:
    cfg = _config(example_config)
    with pytest.raises(BadInput, match="no \\?ref="):
        kustomize.platform_kustomization(cfg, "sandbox", "https://github.com/kubeflow/manifests")
