"""Every `platform ...` command a runbook names exists, and every flag it uses is one of that command's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO_ROOT

RUNBOOKS = sorted((REPO_ROOT / "runbooks").glob("*.md"))
COMMANDS = (
    "validate",
    "schema",
    "doctor",
    "sandbox",
    "bootstrap",
    "infra",
    "upgrade",
    "render",
    "onboard-team",
    "offboard-team",
    "transfer-owner",
    "teams",
    "catalog",
    "smoke",
    "usage",
    "ci",
)
GROUPS = {
    "sandbox": ("start", "stop", "status"),
    "infra": ("plan", "apply"),
    "teams": ("list", "show"),
    "catalog": ("build", "image", "publish"),
    "upgrade": ("plan", "apply"),
    "smoke": ("run", "deploy"),
    "ci": ("plan", "apply", "drift"),
}


def _command_lines(path: Path) -> list[str]:
    """`platform ...` invocations in code blocks and inline code, continuation lines joined."""
    text = path.read_text()
    lines: list[str] = []
    for block in re.findall(r"```(?:bash)?\n(.*?)```", text, flags=re.S):
        joined = block.replace("\\\n", " ")
        lines += [line.strip() for line in joined.splitlines() if line.strip().startswith("platform ")]
    lines += re.findall(r"`(platform [^`]+)`", text)
    return lines


def test_there_are_runbooks_with_commands() -> None:
    assert {p.name for p in RUNBOOKS} >= {"onboard-team.md", "offboard-team.md"}
    assert all(_command_lines(p) for p in RUNBOOKS)


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=[p.name for p in RUNBOOKS])
def test_every_command_and_flag_exists(cli, runbook: Path) -> None:
    for line in _command_lines(runbook):
        words = line.split()[1:]
        assert words and words[0] in COMMANDS, f"{runbook.name}: unknown command in `{line}`"
        path = [words[0]]
        if words[0] in GROUPS:
            assert len(words) > 1 and words[1] in GROUPS[words[0]], f"{runbook.name}: `{line}`"
            path.append(words[1])
        code, out, err = cli(*path, "--help")
        assert code == 0, (line, err)
        for flag in re.findall(r"(?<!\S)(--[a-z][a-z-]*)", line):
            assert flag in out, f"{runbook.name}: `{line}` uses {flag}, which `platform {' '.join(path)}` lacks"


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=[p.name for p in RUNBOOKS])
def test_every_runbook_says_when_how_to_check_and_how_to_back_out(runbook: Path) -> None:
    text = runbook.read_text().lower()
    assert "**when**" in text or "**symptom**" in text, f"{runbook.name}: say when to use it"
    assert "check it worked" in text, f"{runbook.name}: say how to check it worked"
    assert "back out" in text, f"{runbook.name}: say how to back out"


def test_the_operator_runbooks_exist() -> None:
    names = {p.name for p in RUNBOOKS}
    assert names >= {
        "onboard-team.md",
        "offboard-team.md",
        "upgrade.md",
        "rotate-idp-secret.md",
        "add-environment.md",
        "break-glass.md",
        "restore-from-backup.md",
        "ci.md",
    }
