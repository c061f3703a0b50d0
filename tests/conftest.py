"""Shared fixtures: a moto server on 127.0.0.1 standing in for AWS, and a CLI runner."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = REPO_ROOT / "platform"
# The offline Kubeflow snapshots live in ../shared beside the clone (on CI too).
UPSTREAM = REPO_ROOT.parent / "shared" / "upstream"


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One moto server for the whole session, started through the kit's own sandbox code."""
    from platform_kit import sandbox

    state_dir = tmp_path_factory.mktemp("moto-state")
    info = sandbox.start(state_dir)
    # The sandbox speaks HTTPS with its own CA: boto3 and Terraform in tests trust it through the
    # standard variable, as the kit's own clients do explicitly.
    previous = os.environ.get("AWS_CA_BUNDLE")
    os.environ["AWS_CA_BUNDLE"] = str(info.ca_bundle)
    yield info.endpoint
    if previous is None:
        os.environ.pop("AWS_CA_BUNDLE", None)
    else:
        os.environ["AWS_CA_BUNDLE"] = previous
    sandbox.stop(state_dir)


@pytest.fixture()
def example_config(tmp_path: Path) -> Path:
    """A private copy of the example platform config, safe to edit in a test."""
    target = tmp_path / "platform"
    shutil.copytree(EXAMPLE_CONFIG, target)
    platform_yaml = target / "platform.yaml"
    text = platform_yaml.read_text()
    platform_yaml.write_text(text.replace("path: ../../shared/upstream/", f"path: {UPSTREAM}/"))
    return target


@pytest.fixture()
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run the real CLI entry point in-process; returns (exit_code, stdout, stderr)."""
    from platform_kit import cli as cli_module

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    for var in ("PLATFORM_ENV", "PLATFORM_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)

    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            cli_module.main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
