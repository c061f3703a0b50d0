"""The version tables in ``data/versions.yaml``, read once."""

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
