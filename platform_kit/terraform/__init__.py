"""Running Terraform: the adapter, its CLI configuration and its error reporting.

- ``adapter``: ``Terraform(workdir, state_dir=...)`` with init/plan/show_json/apply/output/validate,
  and ``find_terraform()`` / ``terraform_version()`` / ``MIN_TERRAFORM`` for ``doctor``.
- ``cliconfig``: the provider mirror finder and the CLI config file (mirror + plugin cache).
- ``diagnostics``: Terraform diagnostics (JSON or human text) as one-line errors.
"""

from platform_kit.terraform.adapter import (
    MIN_TERRAFORM,
    ApplyResult,
    PlanResult,
    Terraform,
    find_terraform,
    terraform_path,
    terraform_version,
)
from platform_kit.terraform.diagnostics import Diagnostic, LockInfo, TerraformError

__all__ = [
    "MIN_TERRAFORM",
    "ApplyResult",
    "Diagnostic",
    "LockInfo",
    "PlanResult",
    "Terraform",
    "TerraformError",
    "find_terraform",
    "terraform_path",
    "terraform_version",
]
