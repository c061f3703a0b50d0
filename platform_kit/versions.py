"""The version tables in ``data/``, read once: supported versions (``versions.yaml``) and the EKS
add-on versions matrix (``eks-addons.yaml``)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def table() -> dict[str, Any]:
    text = resources.files("platform_kit").joinpath("data/versions.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def kubernetes_versions() -> list[str]:
    return list(table()["kubernetes"]["supported"])


def kubeflow_versions() -> list[str]:
    return [str(r["version"]) for r in table()["kubeflow"]["releases"]]


def kubeflow_upstream() -> str:
    return str(table()["kubeflow"]["upstream"])


def kubeflow_ref(version: str) -> str:
    for release in table()["kubeflow"]["releases"]:
        if str(release["version"]) == version:
            return str(release["ref"])
    raise KeyError(version)


EKS_ADDONS = ("vpc-cni", "kube-proxy", "coredns", "aws-ebs-csi-driver")


@cache
def data(name: str) -> Any:
    """A YAML table of ``platform_kit/data/`` (read once)."""
    return yaml.safe_load(resources.files("platform_kit").joinpath(f"data/{name}").read_text(encoding="utf-8"))


def _addon_table() -> dict[str, Any]:
    return data("eks-addons.yaml")["versions"]


def eks_addons(kubernetes: str) -> dict[str, str] | None:
    """The EKS add-on versions the kit runs with Kubernetes ``kubernetes``; None when the matrix has no row."""
    row = _addon_table().get(kubernetes)
    return None if row is None else {name: str(row[name]) for name in EKS_ADDONS}
