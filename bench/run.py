"""Benchmarks of the kit, written to docs/benchmarks.md (`make bench`).

Each benchmark runs its commands interleaved, several rounds, and reports the median, so
commands compared in one table saw the same machine load. Targets are checked here, never in
unit tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass
class Case:
    label: str
    argv: list[str]
    target_s: float | None = None


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"benchmark command failed ({result.returncode}): {' '.join(argv)}")
    return elapsed


def run_cases(title: str, cases: list[Case], rounds: int, note: str) -> list[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    for case in cases:  # warm the page cache and .pyc files once
        _time(case.argv, env)
    samples: dict[str, list[float]] = {c.label: [] for c in cases}
    for _ in range(rounds):
        for case in cases:
            samples[case.label].append(_time(case.argv, env))
    baseline = statistics.median(samples[cases[0].label])
    lines = [
        f"## {title}",
        "",
        note,
        "",
        "| command | median | min | max | vs first row | target |",
        "|---|---|---|---|---|---|",
    ]
    for case in cases:
        values = samples[case.label]
        median = statistics.median(values)
        target = f"<= {case.target_s:.2f} s ({'met' if median <= case.target_s else 'MISSED'})" if case.target_s else ""
        lines.append(
            f"| `{' '.join([Path(case.argv[0]).name, *case.argv[1:]])}` "
            f"| {median:.3f} s | {min(values):.3f} s | {max(values):.3f} s | {median / baseline:.2f}x | {target} |"
        )
    return [*lines, ""]


def machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}",
        f"- python: {platform.python_version()}",
    ]


SECTIONS = ("startup", "onboarding", "ci-plan", "render")
HEADER = "# Benchmarks"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, help="rounds per section (default: 7 start-up, 5 onboarding)")
    parser.add_argument("--only", choices=SECTIONS, help="run one section and replace only it in --out")
    parser.add_argument("--teams", type=int, default=200, help="onboarding, ci-plan, render: teams present")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    if args.rounds is not None and args.rounds < 5:
        raise SystemExit("use at least 5 rounds")
    wanted = [args.only] if args.only else list(SECTIONS)

    python = str(BIN / "python")
    aws = shutil.which("aws")
    platform_cmd = str(BIN / "platform")
    header = [
        HEADER,
        "",
        "Written by `make bench` (`bench/run.py`); medians of interleaved rounds on the machine below.",
        "",
        *machine(),
        f"- rounds: {args.rounds or 7}",
        "",
    ]
    sections: list[list[str]] = []
    if "startup" in wanted:
        sections.append(
            run_cases(
                "CLI start-up",
                [
                    Case("python", [python, "-c", "pass"]),
                    *([Case("aws", [aws, "--version"])] if aws else []),
                    Case("help", [platform_cmd, "--help"], target_s=0.3),
                    Case("validate", [platform_cmd, "validate"]),
                ],
                args.rounds or 7,
                "`platform --help` must stay fast: heavy libraries (boto3, kubernetes, kfp, pydantic models) are "
                "imported inside commands. The first row, a bare interpreter start, is the floor; `aws --version` "
                "(the AWS CLI, another Python CLI platform engineers run all day) is the yardstick"
                + ("." if aws else " (not installed on this machine: no row)."),
            )
        )
    if "onboarding" in wanted:
        import onboarding  # bench/ is on sys.path when this file runs as a script

        sections.append(onboarding.section(args.teams, args.rounds or 5, machine()))
    if "ci-plan" in wanted:
        import ci_plan  # bench/ is on sys.path when this file runs as a script

        sections.append(ci_plan.section(args.teams, args.rounds or 5, machine()))
    if "render" in wanted:
        import render  # bench/ is on sys.path when this file runs as a script

        sections.append(render.section(args.teams, args.rounds or 5, machine()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.only and args.out.is_file():
        text = _replace_section(args.out.read_text(encoding="utf-8"), sections[0])
    else:
        text = "\n".join([*header, *[line for lines in sections for line in lines]])
    args.out.write_text(text, encoding="utf-8")
    print(args.out.read_text())


def _replace_section(text: str, section: list[str]) -> str:
    """``text`` with the ``## `` section titled like ``section`` replaced (or appended); the rest kept as is."""
    lines = text.split("\n")
    title = section[0]
    if title not in lines:
        return "\n".join([*lines, *([""] if lines[-1] else []), *section])
    start = lines.index(title)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join([*lines[:start], *section, *lines[end:]])


if __name__ == "__main__":
    main()
