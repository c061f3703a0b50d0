"""``platform ci apply``: apply, after merge, exactly the plans a pull request's review saw.

Every saved plan is checked before anything is applied, and one stale or unsafe plan stops them all:

- **fresh**: the plan's commit is the checked-out (merged) commit, or an ancestor of it whose later
  changes reach no input or source of that stack (``affected`` between the two commits); and the
  stack's state has the serial and lineage it had when planned. Otherwise: re-plan.
- **same tools**: the Terraform version and the stack's lock file are those the plan was made with.
- **no unreviewed data loss**: a plan destroying a stateful resource (bucket, cluster, database, key)
  needs ``--allow-destroy``, which the shipped workflow sets only from a PR label. The saved plan
  itself is read for this (``terraform show -json``), whatever its ``meta.json`` says.

Then the plans are applied in order (per environment: bootstrap, platform, teams), and after them the
render of each environment whose cluster configuration the PR changed (``renders.apply_env``), re-made
from the merged commit with the platform's outputs as they now are. Terraform takes
each state's lock as usual; a held lock fails with its holder and the ``force-unlock`` command, and is
never released by this command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_kit.ci import affected as affected_mod
from platform_kit.ci import plan as ci_plan
from platform_kit.errors import BadInput, OperationFailed


@dataclass
class Planned:
    target: affected_mod.Target
    folder: Path
    meta: dict[str, Any]


@dataclass
class ApplyResult:
    applied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    renders: list[Any] = field(default_factory=list)  # renders.Applied, one per environment

    def as_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "unchanged": self.unchanged,
            "renders": [r.as_dict() for r in self.renders],
        }


def load_renders(plans_dir: Path, env: str | None) -> tuple[str, list[Any]]:
    """(the commit planned, the render diffs of ``plans_dir``), of ``env`` only when given."""
    from platform_kit.ci import renders

    index = json.loads((Path(plans_dir) / ci_plan.RESULTS_FILE).read_text(encoding="utf-8"))
    diffs = [renders.RenderDiff.from_dict(d) for d in index.get("renders") or []]
    return str(index.get("head", "")), [d for d in diffs if env is None or d.env == env]


def render_problems(settings: Any, commit: str, diffs: list[Any], plans_dir: Path) -> list[str]:
    """Why a render diff may not be applied: it failed, or the cluster configuration of its environment
    changed again after the commit it was made at."""
    found = [f"{d.env}/render: the render failed at plan time ({d.error}); re-plan" for d in diffs if d.error]
    if found or not diffs:
        return found
    root = ci_plan.repo_root(settings.project_dir)
    head = affected_mod.resolve(root, "HEAD", "HEAD")
    if commit == head:
        return []
    try:
        is_ancestor = affected_mod.git(root, "merge-base", commit, head).strip() == commit
    except OperationFailed:
        is_ancestor = False
    if not is_ancestor:
        return [f"renders: planned at {commit[:12]}, which is not in the history of {head[:12]}"]
    scratch = Path(plans_dir) / ".work" / "trees-apply" / f"render-{commit[:12]}"
    _, _, _, since = ci_plan.find_affected(settings, commit, None, scratch)
    moved = set(since.renders) | set(since.team_renders)
    return [
        f"{d.env}/render: the cluster configuration changed again after {commit[:12]}" for d in diffs if d.env in moved
    ]


def load(plans_dir: Path, env: str | None) -> list[Planned]:
    """The saved plans of ``plans_dir`` (``ci plan --out``), in apply order; BadInput when it is not one."""
    index = Path(plans_dir) / ci_plan.RESULTS_FILE
    if not index.is_file():
        raise BadInput(f"--plans {plans_dir}: no {ci_plan.RESULTS_FILE} (is it the --out folder of platform ci plan?)")
    results = json.loads(index.read_text(encoding="utf-8"))["results"]
    found = []
    for entry in results:
        target = affected_mod.Target(entry["env"], entry["stack"])
        if env is not None and target.env != env:
            continue
        if entry.get("error"):
            raise BadInput(f"--plans {plans_dir}: the plan of {target.env}/{target.stack} failed; re-plan first")
        folder = ci_plan.target_dir(Path(plans_dir), target)
        meta_file = folder / ci_plan.META_FILE
        if not meta_file.is_file() or not (folder / ci_plan.PLAN_FILE).is_file():
            raise BadInput(f"--plans {plans_dir}: {folder.name} has no {ci_plan.META_FILE} or {ci_plan.PLAN_FILE}")
        found.append(Planned(target, folder, json.loads(meta_file.read_text(encoding="utf-8"))))
    rank = {"bootstrap": 0, "platform": 1}
    return sorted(found, key=lambda p: (p.target.env, rank.get(p.target.stack, 2), p.target.stack))


def problems(settings: Any, loaded: Any, planned: list[Planned], *, allow_destroy: bool) -> list[str]:
    """Why each plan may not be applied (empty: all may); reads git, the states and the tools only."""
    from platform_kit.infra import Infra, Stack
    from platform_kit.terraform.adapter import find_terraform, terraform_version

    root = ci_plan.repo_root(settings.project_dir)
    head = affected_mod.resolve(root, "HEAD", "HEAD")
    version = ".".join(str(n) for n in terraform_version(find_terraform()))
    moved_since: dict[str, set[affected_mod.Target]] = {}
    found: list[str] = []
    for item in planned:
        name = f"{item.target.env}/{item.target.stack}"
        meta = item.meta
        commit = str(meta.get("commit", ""))
        if commit != head:
            if commit not in moved_since:
                try:
                    is_ancestor = affected_mod.git(root, "merge-base", commit, head).strip() == commit
                except OperationFailed:
                    is_ancestor = False
                if not is_ancestor:
                    found.append(f"{name}: planned at {commit[:12]}, which is not in the history of {head[:12]}")
                    continue
                scratch = item.folder.parent.parent / ".work" / "trees-apply" / commit[:12]
                _, _, _, since = ci_plan.find_affected(settings, commit, None, scratch)
                moved_since[commit] = set(since.stacks)
            if item.target in moved_since[commit]:
                found.append(f"{name}: changed again after {commit[:12]}, the commit it was planned at")
                continue
        if meta.get("terraform_version") != version:
            found.append(f"{name}: planned with Terraform {meta.get('terraform_version')}, this is {version}")
            continue
        stack = Stack.parse(item.target.stack)
        lock = Infra.stacks_dir(settings) / stack.kind / ".terraform.lock.hcl"
        if meta.get("lock_file_sha256") != ci_plan._sha256(lock):
            found.append(f"{name}: the provider lock file changed since the plan")
            continue
        state = Infra(settings, loaded, item.target.env).state_meta(stack)
        if state != meta.get("state"):
            was = (meta.get("state") or {}).get("serial")
            now = (state or {}).get("serial")
            found.append(f"{name}: its state moved since the plan (serial {was} -> {now})")
            continue
        if meta.get("destroyed_stateful") and not allow_destroy:
            gone = ", ".join(meta["destroyed_stateful"])
            found.append(f"{name}: destroys stateful resources ({gone}); apply needs --allow-destroy")
    return found


def run(
    settings: Any,
    plans_dir: Path,
    *,
    allow_destroy: bool = False,
    kube_context: str | None = None,
    on_line: Any = None,
) -> ApplyResult:
    """Check every plan and render diff, then apply the plans in order and the renders after them;
    BadInput (nothing applied) when one may not be."""
    from platform_kit.ci import renders
    from platform_kit.config import load_platform
    from platform_kit.infra import Infra, PlanReport, Stack, summarise

    loaded = load_platform(settings.config_dir)
    planned = load(plans_dir, settings.env)
    refused = problems(settings, loaded, planned, allow_destroy=allow_destroy)
    commit, diffs = load_renders(plans_dir, settings.env)
    refused += render_problems(settings, commit, diffs, plans_dir)
    ready: list[tuple[Planned, Any, Any]] = []  # (plan, Infra, Stack) of each plan with changes
    if not refused:
        for item in planned:
            if not item.meta.get("has_changes"):
                continue
            infra = Infra(settings, loaded, item.target.env, on_line=on_line)
            infra.build_dir = Path(plans_dir) / ".work" / item.target.env
            stack = Stack.parse(item.target.stack)
            tf, _ = infra.prepare(stack)  # inputs and init in this job's own folder
            # The saved plan itself says what it destroys (meta.json may come from the human plan).
            report = summarise(
                stack, item.target.env, item.folder / ci_plan.PLAN_FILE, tf.show_json(item.folder / ci_plan.PLAN_FILE)
            )
            if report.destroyed_stateful and not allow_destroy:
                gone = ", ".join(report.destroyed_stateful)
                refused.append(
                    f"{item.target.env}/{item.target.stack}: destroys stateful resources ({gone}); "
                    "apply needs --allow-destroy"
                )
            ready.append((item, infra, stack))
    if refused:
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise BadInput(
            f"nothing applied: {refused[0]}{more}",
            hint=f"re-plan: platform ci plan --base BASE --out {plans_dir}"
            if "--allow-destroy" not in refused[0]
            else "review the destroy, then pass --allow-destroy",
        )
    result = ApplyResult()
    result.unchanged = [f"{p.target.env}/{p.target.stack}" for p in planned if not p.meta.get("has_changes")]
    for item, infra, stack in ready:
        report = PlanReport(stack, item.target.env, item.folder / ci_plan.PLAN_FILE, True, 0, 0, 0)
        result.outputs[f"{item.target.env}/{item.target.stack}"] = infra.apply(report)  # the plan as saved
        result.applied.append(f"{item.target.env}/{item.target.stack}")
    work = Path(plans_dir) / ".work" / "render-apply"
    for diff in diffs:
        if diff.skipped is None:
            result.renders.append(
                renders.apply_env(settings, loaded, diff, work, kube_context=kube_context, on_line=on_line)
            )
        else:
            result.renders.append(renders.Applied(diff.env, f"not applied: {diff.skipped}"))
    return result
