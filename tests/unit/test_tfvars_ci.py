"""The platform stack's CI inputs: the apply role gets its own cluster-admin access entry unless the
environment's admin_role_arns already lists it (EKS refuses a second entry for one principal)."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_kit.config import load_platform
from platform_kit.render.tfvars import platform_inputs


def _ci(config: Path) -> dict:
    loaded = load_platform(config)
    return platform_inputs(loaded.platform, "dev", None)["ci"]


def test_the_apply_role_gets_cluster_admin_by_default(example_config: Path) -> None:
    ci = _ci(example_config)
    assert ci["apply_role_name"] == "acme-dev-ci-apply"
    assert ci["apply_role_cluster_admin"] is True


@pytest.mark.parametrize(
    "arn",
    ["arn:aws:iam::210987654321:role/acme-dev-ci-apply", "arn:aws:iam::210987654321:role/ci/acme-dev-ci-apply"],
    ids=["plain", "with-path"],
)
def test_an_apply_role_already_in_admin_role_arns_gets_no_second_entry(example_config: Path, arn: str) -> None:
    platform_yaml = example_config / "platform.yaml"
    listed = "        - arn:aws:iam::210987654321:role/ml-platform-admin\n"
    text = platform_yaml.read_text()
    assert listed in text
    platform_yaml.write_text(text.replace(listed, listed + f"        - {arn}\n", 1))
    assert _ci(example_config)["apply_role_cluster_admin"] is False


def test_a_role_whose_name_only_ends_like_the_apply_role_still_gets_it(example_config: Path) -> None:
    platform_yaml = example_config / "platform.yaml"
    listed = "        - arn:aws:iam::210987654321:role/ml-platform-admin\n"
    text = platform_yaml.read_text()
    other = "        - arn:aws:iam::210987654321:role/old-acme-dev-ci-apply\n"
    platform_yaml.write_text(text.replace(listed, listed + other, 1))
    assert _ci(example_config)["apply_role_cluster_admin"] is True
