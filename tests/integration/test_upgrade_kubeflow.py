"""Kubeflow upgrade plans: the sandbox's platform rendered at v1.10.2, v1.11.0 and 26.03 (the offline
upstream snapshots, real ``kubectl kustomize``) and compared hop by hop.

The summaries are kept as golden files (tests/golden/upgrade/), so a change to what an upgrade
moves shows in review. Regenerate them with
``PLATFORM_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -n 0 tests/integration/test_upgrade_kubeflow.py``.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
from conftest import EXAMPLE_CONFIG, REPO_ROOT, UPSTREAM

from platform_kit import context, manifests
from platform_kit.config import load_platform
from platform_kit.errors import BadInput
from platform_kit.upgrade import kubeflow

GOLDEN = REPO_ROOT / "tests" / "golden" / "upgrade"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("kubeflow-upgrade")
    config = root / "platform"
    shutil.copytree(EXAMPLE_CONFIG, config)
    text = (config / "platform.yaml").read_text().replace("path: ../../shared/upstream/", f"path: {UPSTREAM}/")
    (config / "platform.yaml").write_text(text)
    settings = context.Settings(env="sandbox", config_dir=config)
    loaded = load_platform(config)
    outputs = manifests.outputs_from_file(
        REPO_ROOT / "tests" / "golden" / "sandbox" / "platform-outputs.json", "sandbox"
    )
    return settings, loaded, outputs


@pytest.fixture(scope="module")
def hops(setup) -> list[kubeflow.KubeflowHop]:
    settings, loaded, outputs = setup
    return kubeflow.plan_hops(settings, loaded, "sandbox", "26.03", outputs)


def test_two_hops_one_release_at_a_time(hops) -> None:
    assert [(h.source, h.target) for h in hops] == [("v1.10.2", "v1.11.0"), ("v1.11.0", "26.03")]
    for hop in hops:
        assert hop.diff.added and hop.diff.removed and hop.diff.changed, f"{hop.source} -> {hop.target}"
        assert hop.prune, "each hop leaves objects the kit applied and no longer renders"
        assert set(hop.prune) <= set(hop.diff.removed)
    assert [m.id for m in hops[0].manual] == ["pipelines-mysql-8.4", "istio-two-minors"]
    assert hops[1].manual == [], "26.03's upstream notes are about objects the kit does not render"
    # The NetworkPolicies 26.03 moves out of `kubeflow` are pruned there and added in their namespaces.
    moved = [k for k in hops[1].prune if k[1] == "NetworkPolicy"]
    assert len(moved) >= 8 and all(k[2] == "kubeflow" for k in moved)


@pytest.mark.parametrize("index", [0, 1])
def test_each_hop_matches_its_golden_summary(hops, index: int) -> None:
    hop = hops[index]
    text = "\n".join(hop.summary_lines()) + "\n"
    path = GOLDEN / f"kubeflow-{hop.source}-to-{hop.target}.txt"
    if os.environ.get("PLATFORM_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"{path} missing; see this module's docstring to write it"
    assert text == path.read_text(), f"{path} is stale; see this module's docstring to regenerate it"


def test_crd_changes_name_versions_and_storage_moves() -> None:
    def crd(name: str, *versions: tuple[str, bool, bool]) -> dict:
        listed = [{"name": v, "served": served, "storage": storage} for v, served, storage in versions]
        return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": name}, "spec": {"versions": listed}}  # fmt: skip

    before = [crd("a.x.io", ("v1beta1", True, True)), crd("gone.x.io", ("v1", True, True))]
    after = [crd("a.x.io", ("v1beta1", False, False), ("v1", True, True)), crd("new.x.io", ("v1", True, True))]
    added, removed, changed = kubeflow.crd_changes(before, after)
    assert added == ["new.x.io"] and removed == ["gone.x.io"]
    assert [c.line() for c in changed] == ["a.x.io: +v1; no longer served: v1beta1; storage v1beta1 -> v1"]


def test_only_objects_with_the_kit_label_are_pruned() -> None:
    labelled = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "kubeflow",
                "labels": {kubeflow.KIT_LABEL: "sandbox"}}}  # fmt: skip
    foreign = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "kubeflow"}}
    hop = kubeflow.compare("v1.10.2", "v1.11.0", [labelled, foreign], [])
    assert [key[3] for key in hop.prune] == ["a"] and len(hop.diff.removed) == 2


def test_sources_move_to_the_target_release_and_bad_requests_are_refused(setup) -> None:
    _settings, loaded, _ = setup
    cfg = kubeflow.config_at(loaded.platform, "sandbox", "v1.11.0", loaded.config_dir)
    assert cfg.environments["sandbox"].kubeflow.source.path.endswith("/kubeflow-manifests/v1.11.0")
    assert loaded.platform.environments["sandbox"].kubeflow.version == "v1.10.2", "the loaded config is unchanged"
    moved = kubeflow.config_at(loaded.platform, "prod", "26.03", loaded.config_dir)  # a git source
    assert moved.environments["prod"].kubeflow.source.git.ref == "26.03"
    with pytest.raises(BadInput, match="does not downgrade"):
        kubeflow.hops("v1.11.0", "v1.10.2", ["v1.10.2", "v1.11.0", "26.03"])
    with pytest.raises(BadInput, match="not a release the kit supports"):
        kubeflow.hops("v1.10.2", "v9", ["v1.10.2", "v1.11.0", "26.03"])
    assert kubeflow.hops("v1.11.0", "v1.11.0", ["v1.10.2", "v1.11.0"]) == []


def test_the_cli_plans_each_hop_and_refuses_what_it_cannot_do(cli, setup, monkeypatch) -> None:
    from platform_kit import aws

    settings, _, _ = setup
    outputs = REPO_ROOT / "tests" / "golden" / "sandbox" / "platform-outputs.json"
    base = ["--env", "sandbox", "--config-dir", str(settings.config_dir)]

    def no_aws(*_args, **_kwargs):
        raise AssertionError("an AWS session was made")

    monkeypatch.setattr(aws, "session_for", no_aws)  # the outputs come from the file: no AWS at all
    code, out, err = cli(
        "upgrade", "plan", *base, "--kubeflow", "26.03", "--platform-outputs", str(outputs), "-o", "json"
    )
    assert code == 0, err
    planned = json.loads(out)["kubeflow"]
    assert [(h["from"], h["to"]) for h in planned] == [("v1.10.2", "v1.11.0"), ("v1.11.0", "26.03")]
    assert [m["id"] for m in planned[0]["manual"]] == ["pipelines-mysql-8.4", "istio-two-minors"]

    for args, message in (
        (["plan", "--kubeflow", "v9"], "not a release the kit supports"),
        (["plan", "--kubeflow", "26.03", "--kubernetes", "1.32"], "one upgrade at a time"),
        (["apply", "--kubeflow", "26.03", "--yes"], "is emulated and has no Kubernetes API server"),
        (["apply", "--kubeflow", "26.03", "--image", "python=x:1", "--yes"], "one upgrade at a time"),
    ):
        code, _, err = cli("upgrade", *args, *base)
        assert code == 2 and message in err, (args, err)
