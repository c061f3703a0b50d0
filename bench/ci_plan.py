"""A pull request touching one team among N: ``platform ci plan`` against a no-op plan of one stack.

Run through ``bench/run.py`` (``make bench``, or ``bench/run.py --only ci-plan``). One sandbox, a git
repository holding a config with N teams, one of them applied for real. Cases, rounds interleaved:

- no-op plan: ``platform infra plan --stack team:T`` on ``main``, where nothing changed;
- PR plan: ``platform ci plan --base main --no-policy`` on a branch that changes team T's cost
  centre. It must find exactly one stack among the N + 2 of the environment, and its plan must
  show the change; the target is at most 1.3 times the no-op plan;
- PR plan with the policy gate (checkov on the plan): the same with the gate, for information.

Both plan commands reuse their working folders between rounds (Terraform's init is done once), as
a CI runner with a cache would; a fresh runner adds one ``terraform init`` to each.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from onboarding import PLATFORM, Runner, environ, make_config, snapshot_terraform

ENV = "sandbox"
TARGET_RATIO = 1.3
PREFIX = "ci-t"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def section(teams: int, rounds: int, machine: list[str], log: Callable[[str], None] = print) -> list[str]:
    from platform_kit import context, sandbox
    from platform_kit.config import load_platform
    from platform_kit.infra import Infra, Stack

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-ci-plan-"))
    logs = work / "logs"
    logs.mkdir()
    state_dir = work / "state"
    terraform = snapshot_terraform(work / "terraform")
    project = work / "project"
    names = [f"{PREFIX}{i:03d}" for i in range(teams)]
    config = make_config(project, names)
    target = names[teams // 2]
    team_file = config / "teams" / f"{target}.yaml"
    (project / ".gitignore").write_text("build/\n.platform/\nout/\n")
    _git(project, "init", "-q", "-b", "main")
    _git(project, "-c", "user.email=b@x", "-c", "user.name=bench", "add", "-A")
    _git(project, "-c", "user.email=b@x", "-c", "user.name=bench", "commit", "-q", "-m", "base")
    text = team_file.read_text(encoding="utf-8")
    cost = next(line for line in text.splitlines() if line.startswith("cost_center:"))
    _git(project, "checkout", "-q", "-b", "pr")
    team_file.write_text(text.replace(cost, "cost_center: CC-9999"), encoding="utf-8")
    _git(project, "-c", "user.email=b@x", "-c", "user.name=bench", "commit", "-q", "-am", "one team")
    _git(project, "checkout", "-q", "main")
    log(f"ci-plan bench: work folder {work}, {teams} teams, the PR changes {target}")
    samples: dict[str, list[float]] = {"noop": [], "pr": [], "pr-gate": []}
    found_stacks: list[list[str]] = []
    with environ(PLATFORM_STATE_DIR=str(state_dir), PLATFORM_TERRAFORM_DIR=str(terraform), NO_COLOR="1"):
        runner = Runner(logs, dict(os.environ))
        sandbox.start(state_dir)
        try:
            settings = context.set_current(context.Settings(env=ENV, config_dir=config))
            infra = Infra(settings, load_platform(config), ENV)
            log("applying bootstrap, platform and the one team (about two minutes)")
            for stack in (Stack("bootstrap"), Stack("platform"), Stack("team", target)):
                infra.apply(infra.plan(stack))
            setup = time.perf_counter() - started
            common = ["--env", ENV, "--config-dir", str(config)]
            noop = [PLATFORM, "infra", "plan", "--stack", f"team:{target}", *common]
            out = project / "out"

            def pr(gate: bool) -> list[str]:
                argv = [PLATFORM, "ci", "plan", "--base", "main", *common, "--out", str(out)]
                return argv if gate else [*argv, "--no-policy"]

            for warm in (True, *([False] * rounds)):
                _git(project, "checkout", "-q", "main")
                elapsed = runner.run("noop", noop, cwd=project)
                if not warm:
                    samples["noop"].append(elapsed)
                _git(project, "checkout", "-q", "pr")
                for key, gate in (("pr", False), ("pr-gate", True)):
                    elapsed = runner.run(key, pr(gate), cwd=project)
                    result = json.loads((out / "plans.json").read_text(encoding="utf-8"))
                    found_stacks.append([f"{r['env']}/{r['stack']}" for r in result["results"]])
                    [stack] = result["results"]
                    if not stack["has_changes"]:
                        raise SystemExit(f"the PR plan of {target} shows no change; see {logs}")
                    if not warm:
                        samples[key].append(elapsed)
            _git(project, "checkout", "-q", "main")
        finally:
            sandbox.stop(state_dir)
    total = time.perf_counter() - started
    shutil.rmtree(work, ignore_errors=True)
    return _report(teams, rounds, machine, samples, found_stacks, target, setup, total)


def _report(
    teams: int,
    rounds: int,
    machine: list[str],
    samples: dict[str, list[float]],
    found: list[list[str]],
    target: str,
    setup: float,
    total: float,
) -> list[str]:
    base = statistics.median(samples["noop"])
    exact = all(stacks == [f"{ENV}/team:{target}"] for stacks in found)
    rows = [
        ("no-op plan: `platform infra plan --stack team:T` (nothing changed)", "noop", ""),
        ("PR plan: `platform ci plan --base main --no-policy` (one team changed)", "pr", TARGET_RATIO),
        ("PR plan with the policy gate: `platform ci plan --base main`", "pr-gate", None),
    ]
    lines = [
        f"## A pull request touching one team among {teams}: `platform ci plan` versus a no-op plan",
        "",
        f"A pull request that changes one team's file, with {teams} teams in the environment, should plan that "
        f"team's stack and nothing else, in at most {TARGET_RATIO}x the time of a plan of one unchanged stack.",
        "",
        *machine,
        f"- rounds: {rounds}, interleaved, after one untimed warm-up of each case (Terraform's init done once)",
        "",
        "| case | median | min | max | ratio to no-op | target |",
        "|---|---|---|---|---|---|",
    ]
    for label, key, goal in rows:
        values = samples[key]
        median = statistics.median(values)
        ratio = median / base
        verdict = ""
        if isinstance(goal, float):
            verdict = f"<= {goal}x ({'met' if ratio <= goal else 'MISSED'})"
        lines.append(
            f"| {label} | {median:.2f} s | {min(values):.2f} s | {max(values):.2f} s | {ratio:.2f}x | {verdict} |"
        )
    lines += [
        "",
        f"- stacks planned by every PR run: {'exactly' if exact else 'NOT only'} `{ENV}/team:{target}` "
        f"(of {teams + 2} stacks in the environment: bootstrap, platform and {teams} teams)",
        f"- set-up (untimed): {setup:.0f} s; whole section {total / 60:.1f} min",
        "- what a PR plan runs: git diff and the config read at both commits (the affected stacks), one "
        "`terraform plan` whose human output is the comment's plan text, the state's serial read from S3; "
        "the gate adds `terraform show -json` and checkov on it",
        "",
    ]
    return lines
