"""The shipped CI pipelines: valid against their published schemas (check-jsonschema's vendored
copies of the GitHub workflow and Buildkite schemas, offline), safe by construction, and every
`platform ...` command they run exists with the flags they pass."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
BUILDKITE = REPO_ROOT / ".buildkite" / "pipeline.yml"


@pytest.mark.parametrize(
    ("schema", "path"),
    [("vendor.github-workflows", p) for p in WORKFLOWS] + [("vendor.buildkite", BUILDKITE)],
    ids=[p.name for p in WORKFLOWS] + ["buildkite"],
)
def test_each_pipeline_is_valid_against_its_published_schema(schema: str, path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _workflow(name: str) -> dict:
    return yaml.safe_load((REPO_ROOT / ".github" / "workflows" / name).read_text())


def test_plans_run_without_credentials_for_forks_and_cancel_older_pushes() -> None:
    [job] = _workflow("platform-plan.yml")["jobs"].values()
    assert "head.repo.full_name == github.repository" in job["if"]
    assert job["permissions"]["id-token"] == "write" and job["concurrency"]["cancel-in-progress"] is True


def test_applies_are_queued_per_environment_and_never_cancelled() -> None:
    [job] = _workflow("platform-apply.yml")["jobs"].values()
    assert job["concurrency"] == {"group": "platform-apply-${{ matrix.env }}", "cancel-in-progress": False}
    assert job["strategy"]["max-parallel"] == 1
    steps = yaml.safe_load(BUILDKITE.read_text())["steps"]
    apply = next(s for s in steps if str(s.get("label", "")).startswith(":terraform: apply"))
    assert apply["concurrency"] == 1 and apply["depends_on"] == ["plan", "approve"]


def _platform_commands() -> list[str]:
    found = []
    for path in [*WORKFLOWS, BUILDKITE]:
        text = path.read_text().replace("\\\n", " ")
        pattern = r"platform (?:ci (?:plan|apply|drift)|launch)(?=\s)[^\n]*(?:\n\s+--[^\n]*)*"
        for match in re.finditer(pattern, text):
            found.append(" ".join(match.group(0).split()))
    return found


def test_every_platform_command_and_flag_they_run_exists(cli) -> None:
    commands = _platform_commands()
    assert len(commands) >= 4
    assert any(line.startswith("platform launch --from-comment") for line in commands)
    for line in commands:
        words = line.split()
        path = words[1:3] if words[1] == "ci" else words[1:2]
        code, out, err = cli(*path, "--help")
        assert code == 0, (line, err)
        for flag in re.findall(r"(?<!\S)(--[a-z][a-z-]*)", line):
            assert flag in out, f"`{line}` uses {flag}, which `platform {' '.join(path)}` lacks"


def test_comment_commands_never_run_for_forks_or_outsiders_and_keep_the_comment_out_of_the_shell() -> None:
    [job] = _workflow("platform-commands.yml")["jobs"].values()
    assert "author_association" in job["if"] and "issue.pull_request" in job["if"]
    steps = {step.get("name", ""): step for step in job["steps"]}
    assert steps["Refuse pull requests from forks"]["if"] == "steps.pr.outputs.fork == 'true'"
    launch = steps["/kubeflow run"]
    assert launch["env"]["COMMENT"] == "${{ github.event.comment.body }}"
    assert "github.event.comment" not in launch["run"], "the comment reaches the command only through $COMMENT"
