"""Rendering the platform and N teams against the upstream example build alone.

Run through ``bench/run.py`` (``make bench``, or ``bench/run.py --only render``). The baseline is
what the kit cannot make faster: ``kubectl kustomize`` of the upstream ``example`` folder of the
release the sandbox pins (the same kubectl the kit uses). The kit's case is ``platform render
--env sandbox`` with N teams and the golden platform outputs (no AWS): the kit's Kustomize build
over that upstream with its components, each team's objects, and the validation of every object
(schemas of the core kinds and of the CRDs, the kit's own checks). Target: at most 2x the baseline.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from onboarding import PLATFORM, ROOT, make_config

ENV = "sandbox"
TARGET_RATIO = 2.0
OUTPUTS = ROOT / "tests" / "golden" / "sandbox" / "platform-outputs.json"


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"bench command failed ({done.returncode}): {' '.join(argv)}\n{done.stderr[-2000:]}")
    return elapsed


def section(teams: int, rounds: int, machine: list[str], log: Callable[[str], None] = print) -> list[str]:
    from platform_kit import kubectl
    from platform_kit.config import load_platform

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-render-"))
    names = [f"r-t{i:03d}" for i in range(teams)]
    config = make_config(work / "project", names)
    source = load_platform(config).platform.environments[ENV].kubeflow.source
    if source.path is None:
        raise SystemExit(f"the example's {ENV} environment must render from a local upstream folder")
    example = (config / source.path).resolve() / "example"
    tool = str(kubectl.require())
    upstream = [tool, "kustomize", str(example)]
    kit = [PLATFORM, "render", "--env", ENV, "--config-dir", str(config), "--platform-outputs", str(OUTPUTS),
           "--out", str(work / "build")]  # fmt: skip
    env = {**os.environ, "NO_COLOR": "1"}
    log(f"render bench: {teams} teams, upstream {example}")
    samples: dict[str, list[float]] = {"upstream": [], "kit": []}
    for warm in (True, *([False] * rounds)):
        for key, argv in (("upstream", upstream), ("kit", kit)):
            elapsed = _time(argv, env)
            if not warm:
                samples[key].append(elapsed)
    rendered = sorted((work / "build" / "rendered" / "teams").glob("*.yaml"))
    if len(rendered) != teams:
        raise SystemExit(f"the render wrote {len(rendered)} team files, expected {teams}")
    total = time.perf_counter() - started
    shutil.rmtree(work, ignore_errors=True)
    base = statistics.median(samples["upstream"])
    lines = [
        f"## Rendering the platform and {teams} teams versus the upstream example build",
        "",
        f"`platform render` of an environment with {teams} teams should take at most {TARGET_RATIO}x the time of "
        "building the upstream Kubeflow example alone, which is the floor the kit builds on.",
        "",
        *machine,
        f"- rounds: {rounds}, interleaved, after one untimed warm-up of each case",
        "",
        "| case | median | min | max | ratio to upstream | target |",
        "|---|---|---|---|---|---|",
    ]
    rows = [
        (f"upstream alone: `kubectl kustomize {example.parent.name}/example`", "upstream", None),
        (f"`platform render --env {ENV}` ({teams} teams, validated)", "kit", TARGET_RATIO),
    ]
    for label, key, goal in rows:
        values = samples[key]
        median = statistics.median(values)
        ratio = median / base
        verdict = f"<= {goal}x ({'met' if ratio <= goal else 'MISSED'})" if goal else ""
        lines.append(
            f"| {label} | {median:.2f} s | {min(values):.2f} s | {max(values):.2f} s | {ratio:.2f}x | {verdict} |"
        )
    lines += [
        "",
        f"- the kit's render wrote the platform and {teams} team files; platform outputs from "
        "`tests/golden/sandbox/platform-outputs.json` (no AWS); kubectl: "
        f"`{subprocess.run([tool, 'version', '--client'], capture_output=True, text=True).stdout.splitlines()[0]}`",
        f"- whole section {total / 60:.1f} min",
        "",
    ]
    return lines
