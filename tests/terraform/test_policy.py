"""checkov (in its own venv) finds no failed check in terraform/, and docs/security.md is current."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_kit import policy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report() -> policy.PolicyReport:
    return policy.scan(ROOT / "terraform")


def test_no_failed_checks_and_every_skip_has_a_reason(report: policy.PolicyReport) -> None:
    assert report.failed == 0, "\n".join(report.failures)
    assert report.passed > 100 and report.resources > 50
    assert all(reason.strip() for _, _, reason in report.skips), [s for s in report.skips if not s[2].strip()]


def test_security_doc_reports_the_current_counts(report: policy.PolicyReport) -> None:
    assert (ROOT / "docs" / "security.md").read_text() == policy.markdown(report), (
        "run: .venv/bin/python -m platform_kit.policy --write docs/security.md"
    )


def test_a_failing_resource_is_caught(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_s3_bucket_public_access_block" "open" {\n  bucket = "x"\n  block_public_acls = false\n}\n'
    )
    found = policy.scan(tmp_path)
    assert found.failed >= 1
    assert any("aws_s3_bucket_public_access_block.open" in f for f in found.failures)
