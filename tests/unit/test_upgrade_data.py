"""The upgrade's data (add-on matrix, API removals), its pure checks, and in-place edits of platform.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_kit import versions
from platform_kit.config import edit, load_platform
from platform_kit.errors import OperationFailed
from platform_kit.upgrade import eks as eks_upgrade


def test_every_supported_kubernetes_version_has_add_on_pins_that_match_it() -> None:
    for version in versions.kubernetes_versions():
        pins = versions.eks_addons(version)
        assert pins is not None, f"data/eks-addons.yaml has no row for {version}"
        assert set(pins) == set(versions.EKS_ADDONS)
        assert pins["kube-proxy"].startswith(f"v{version}."), "kube-proxy follows the cluster's minor"
        assert all(v.startswith("v") and "-eksbuild." in v for v in pins.values())
    assert versions.eks_addons("1.99") is None


def test_the_removal_table_finds_what_a_hop_removes_and_nothing_else() -> None:
    cron = ("cron.yaml", {"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": "nightly"}})
    flow = ("flow.yaml", {"apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3", "kind": "FlowSchema"})
    current = ("ok.yaml", {"apiVersion": "batch/v1", "kind": "CronJob"})
    assert eks_upgrade.removed_in_use([cron, current], "1.24", "1.25") == [
        "cron.yaml: batch/v1beta1 CronJob nightly (removed in 1.25; use batch/v1)"
    ]
    assert eks_upgrade.removed_in_use([cron, current], "1.25", "1.26") == [], "already gone before the hop"
    assert len(eks_upgrade.removed_in_use([flow], "1.31", "1.32")) == 1
    assert eks_upgrade.removed_in_use([flow], "1.32", "1.33") == []
    for removal in eks_upgrade.removals():
        eks_upgrade.minor(removal.removed_in)
        assert removal.api_version != removal.replacement


def _plan(**actions: list[str]) -> dict:
    return {"resource_changes": [{"address": a, "change": {"actions": acts}} for a, acts in actions.items()]}


def test_the_in_place_check_accepts_an_update_and_names_anything_else() -> None:
    cluster = eks_upgrade.CLUSTER_ADDRESS
    node_group = 'module.eks.aws_eks_node_group.this["cpu"]'
    assert eks_upgrade.in_place_update(_plan(**{cluster: ["update"], node_group: ["update"]})) is None
    assert "would replace" in (eks_upgrade.in_place_update(_plan(**{cluster: ["delete", "create"]})) or "")
    both = _plan(**{cluster: ["update"], node_group: ["delete"]})
    assert "also destroys" in (eks_upgrade.in_place_update(both) or "")
    assert "does not touch" in (eks_upgrade.in_place_update(_plan()) or "")


def test_set_scalar_changes_one_line_and_keeps_comments(example_config: Path) -> None:
    file = example_config / "platform.yaml"
    before = file.read_text().splitlines()
    path = ("environments", "dev", "cluster", "kubernetes_version")
    assert edit.set_scalar(file, path, "1.32") is True
    after = file.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 1 and changed[0][1].strip() == 'kubernetes_version: "1.32"'
    loaded = load_platform(example_config)
    assert loaded.platform.environments["dev"].cluster.kubernetes_version == "1.32"
    assert loaded.platform.environments["sandbox"].cluster.kubernetes_version == "1.31"
    assert edit.set_scalar(file, path, "1.32") is False


def test_set_scalar_refuses_a_missing_key_or_a_block_and_leaves_the_file(example_config: Path) -> None:
    file = example_config / "platform.yaml"
    before = file.read_text()
    with pytest.raises(OperationFailed, match="not a value the kit can change"):
        edit.set_scalar(file, ("environments", "dev", "cluster", "no_such_key"), "x")
    with pytest.raises(OperationFailed, match="not a value the kit can change"):
        edit.set_scalar(file, ("environments", "dev", "cluster"), "x")
    assert file.read_text() == before


def test_kubeflow_release_moves_version_and_git_ref_in_one_write(example_config: Path) -> None:
    from platform_kit.upgrade.planner import kubeflow_recorder

    file = example_config / "platform.yaml"
    before = file.read_text().splitlines()
    kubeflow_recorder(example_config, load_platform(example_config), "dev")("v1.11.0")
    after = file.read_text().splitlines()
    changed = [(a.strip(), b.strip()) for a, b in zip(before, after, strict=True) if a != b]
    # Two lines of dev: the version, and the ref inside the flow mapping of the git source.
    assert changed == [
        ("version: v1.10.2", 'version: "v1.11.0"'),
        ("git: {url: https://github.com/kubeflow/manifests, ref: v1.10.2}",
         'git: {url: https://github.com/kubeflow/manifests, ref: "v1.11.0"}'),
    ]  # fmt: skip
    kubeflow = load_platform(example_config).platform.environments["dev"].kubeflow
    assert str(kubeflow.version) == "v1.11.0" and str(kubeflow.source.git.ref) == "v1.11.0"
    assert str(load_platform(example_config).platform.environments["prod"].kubeflow.version) == "v1.10.2"


def test_set_scalars_writes_nothing_when_one_key_cannot_be_edited(example_config: Path) -> None:
    file = example_config / "platform.yaml"
    before = file.read_text()
    with pytest.raises(OperationFailed, match="not a value the kit can change"):
        edit.set_scalars(
            file,
            {
                ("environments", "dev", "kubeflow", "version"): "v1.11.0",
                ("environments", "dev", "kubeflow", "source"): "x",
            },
        )
    assert file.read_text() == before
