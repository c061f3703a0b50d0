"""Security policy checks with checkov, run from its own virtual environment.

checkov pins versions that clash with current boto3 and kubernetes, so it lives in
``.venv-checkov`` (``make test`` creates it) or wherever ``PLATFORM_CHECKOV`` points. Used by the
test suite as a gate (zero failed checks; every skip carries a written reason inline) and to write
``docs/security.md``: ``python -m platform_kit.policy --write docs/security.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from platform_kit.errors import BadInput, OperationFailed

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class PolicyReport:
    passed: int
    failed: int
    skipped: int
    resources: int
    version: str
    failures: list[str] = field(default_factory=list)  # "CHECK_ID resource (file)"
    skips: list[tuple[str, str, str]] = field(default_factory=list)  # (check, resource, reason)


def checkov_path() -> Path:
    override = os.environ.get("PLATFORM_CHECKOV")
    candidates = [override] if override else [str(ROOT / ".venv-checkov" / "bin" / "checkov"), "checkov"]
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return Path(found)
    raise BadInput(
        "checkov not found" + (f" at PLATFORM_CHECKOV={override}" if override else ""),
        hint="run: make install-checkov (checkov in its own venv, .venv-checkov)",
    )


def scan(directory: Path) -> PolicyReport:
    """checkov over the Terraform in ``directory`` (offline: no guideline download)."""
    result = subprocess.run(
        [
            str(checkov_path()),
            "-d",
            str(directory),
            "--framework",
            "terraform",
            "--skip-download",
            "--quiet",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        document = json.loads(result.stdout)
    except ValueError:
        raise OperationFailed(
            f"checkov gave no JSON (exit {result.returncode}): {(result.stderr.strip().splitlines() or ['?'])[-1]}"
        ) from None
    documents = document if isinstance(document, list) else [document]
    report = PolicyReport(0, 0, 0, 0, "")
    for doc in documents:
        summary = doc.get("summary", {})
        report.passed += summary.get("passed", 0)
        report.failed += summary.get("failed", 0)
        report.skipped += summary.get("skipped", 0)
        report.resources += summary.get("resource_count", 0)
        report.version = summary.get("checkov_version", report.version)
        results = doc.get("results", {})
        for check in results.get("failed_checks", []):
            report.failures.append(f"{check['check_id']} {check['resource']} ({check['file_path']})")
        for check in results.get("skipped_checks", []):
            reason = (check.get("check_result") or {}).get("suppress_comment", "")
            report.skips.append((check["check_id"], check["resource"], reason))
    return report


def markdown(report: PolicyReport) -> str:
    lines = [
        "# Security",
        "",
        "## Policy checks on the Terraform (checkov)",
        "",
        f"checkov {report.version} over `terraform/` (every module, example and stack), offline, written by "
        "`python -m platform_kit.policy --write docs/security.md`; `make test` fails on any failed check.",
        "",
        "| passed | failed | skipped | resources scanned |",
        "|---|---|---|---|",
        f"| {report.passed} | {report.failed} | {report.skipped} | {report.resources} |",
        "",
        "Every skip is an inline `#checkov:skip=ID:reason` next to the resource; the reasons:",
        "",
        "| check | resource | reason |",
        "|---|---|---|",
    ]
    for check, resource, reason in sorted(set(report.skips)):
        lines.append(f"| {check} | `{resource}` | {reason.replace('|', '/')} |")
    lines += [
        "",
        "## The kit's own rules",
        "",
        "- No IAM policy has a `*` action; a `*` resource only where AWS requires it, with the reason in a comment "
        "(module tests decode every policy and assert this; the sandbox integration test re-reads the applied team "
        "policies with boto3).",
        "- Team roles trust only `system:serviceaccount:<team>:default-editor` with an exact `StringEquals` on "
        "`sub` and `aud`; each team reaches only `artifacts/<team>/` and `v2/artifacts/<team>/`.",
        "- Secrets are references in config (`platform validate` refuses literals and never echoes them); "
        "generated secrets live in Secrets Manager, and no output carries a secret value.",
        "- Buckets: SSE-KMS, versioning, public access blocked, TLS-only policy (left out only on the sandbox, "
        "whose emulator ignores policy conditions: see `emulator_compat` in `terraform/stacks/_shared/aws.tf`).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "terraform")
    parser.add_argument("--write", type=Path, help="write the Markdown report here")
    args = parser.parse_args(argv)
    report = scan(args.dir)
    if args.write:
        args.write.write_text(markdown(report), encoding="utf-8")
    print(f"checkov: {report.passed} passed, {report.failed} failed, {report.skipped} skipped")
    for failure in report.failures:
        print(f"FAILED {failure}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
