"""The committed golden renders (tests/golden/sandbox) match what the kit renders now.

A pull request that changes what reaches the cluster must carry the regenerated files, so the
review shows the change object by object. Regenerate with ``make golden``.
"""

from __future__ import annotations

from platform_kit.render import golden


def test_golden_renders_are_current() -> None:
    assert golden.stale() == [], "golden renders are stale: run make golden and commit tests/golden/"


def test_golden_files_hold_no_secret_values() -> None:
    files = golden.render_files()
    assert "kind: Secret\n" not in files["platform.yaml"]
    assert "aws_secretsmanager" in files["secrets.yaml"] and "literal: root" in files["secrets.yaml"]
