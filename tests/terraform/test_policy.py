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


def test_the_catalog_runtime_images_dockerfile_passes_checkov(tmp_path: Path) -> None:
    from platform_kit.catalog import runtime_image

    runtime_image.write_context(tmp_path / "context", runtime_image.context_files())
    dockerfile = policy.scan(tmp_path / "context", framework="dockerfile")
    assert dockerfile.failed == 0, "\n".join(dockerfile.failures)
    assert dockerfile.passed >= 40 and dockerfile.resources == 1
    assert [check for check, _, reason in dockerfile.skips if reason.strip()] == ["CKV_DOCKER_2"]


@pytest.fixture(scope="module")
def sandbox_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sandbox platform and teams rendered as `make render` does (golden platform outputs)."""
    from platform_kit import context, manifests
    from platform_kit.config.validate import load_platform

    out = tmp_path_factory.mktemp("sandbox-render") / "sandbox"
    settings = context.Settings(env="sandbox", config_dir=ROOT / "platform")
    loaded = load_platform(settings.config_dir)
    outputs = manifests.outputs_from_file(ROOT / "tests" / "golden" / "sandbox" / "platform-outputs.json", "sandbox")
    manifests.render(settings, loaded, "sandbox", outputs, out_dir=out)
    return out / "rendered"


@pytest.fixture(scope="module")
def kubernetes_report(sandbox_render: Path) -> policy.PolicyReport:
    return policy.scan_kubernetes(sandbox_render)


def test_the_rendered_platform_and_teams_pass_checkov_and_the_kit_checks(
    kubernetes_report: policy.PolicyReport, sandbox_render: Path
) -> None:
    from platform_kit.render import checks

    assert kubernetes_report.failed == 0, "\n".join(kubernetes_report.failures)
    assert kubernetes_report.passed > 1000 and kubernetes_report.objects > 300
    assert checks.run_all([obj for _, obj in policy.load_objects(sandbox_render)]) == []


def test_security_doc_reports_the_current_counts(
    report: policy.PolicyReport, kubernetes_report: policy.PolicyReport, sandbox_render: Path
) -> None:
    from platform_kit.render import checks

    findings = checks.run_all([obj for _, obj in policy.load_objects(sandbox_render)])
    expected = policy.markdown(report, kubernetes_report, findings=findings)
    assert (ROOT / "docs" / "security.md").read_text() == expected, "run: make docs"


def test_a_failing_resource_is_caught(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_s3_bucket_public_access_block" "open" {\n  bucket = "x"\n  block_public_acls = false\n}\n'
    )
    found = policy.scan(tmp_path)
    assert found.failed >= 1
    assert any("aws_s3_bucket_public_access_block.open" in f for f in found.failures)
