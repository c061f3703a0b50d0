"""``platform ci plan``: plan what a pull request changes, and say it where reviewers read.

1. ``affected``: the stacks (and renders) the PR's changed files reach.
2. Each stack is planned with the real Terraform, up to ``jobs`` at once, into its own folder of
   ``--out``: ``plan.tfplan`` (what ``platform ci apply`` applies after merge), ``plan.json``,
   ``plan.txt`` (the human plan, for the comment) and ``meta.json`` (the commit planned, the
   Terraform version, the lock file's hash, and the state's serial and lineage when planned, which
   is how ``ci apply`` knows a plan went stale).
3. The policy gate: checkov over each plan's JSON; a failed check blocks that stack.
4. Markdown: ``comment.md`` per stack and ``summary.md`` (``comment.py``), and the summary appended
   to ``$GITHUB_STEP_SUMMARY`` when GitHub Actions sets it.

The command fails (exit 1) when a plan failed or the policy gate blocked; a long plan never fails.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_kit.ci import affected as affected_mod
from platform_kit.ci import renders
from platform_kit.ci.comment import StackResult, section, summary
from platform_kit.errors import BadInput, OperationFailed, PlatformError

PLAN_FILE = "plan.tfplan"
META_FILE = "meta.json"
RESULTS_FILE = "plans.json"


@dataclass
class CiPlan:
    base: str
    head: str
    changed: list[str]
    affected: affected_mod.Affected
    results: list[StackResult] = field(default_factory=list)
    renders: list[Any] = field(default_factory=list)  # renders.RenderDiff, one per environment
    out_dir: Path | None = None

    @property
    def blocked(self) -> bool:
        return any(r.blocked for r in self.results) or any(r.error is not None for r in self.renders)

    def as_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "head": self.head,
            "changed": self.changed,
            "affected": self.affected.as_dict(),
            "results": [r.as_dict() for r in self.results],
            "renders": [r.as_dict() for r in self.renders],
            "blocked": self.blocked,
        }


def target_dir(out_dir: Path, target: affected_mod.Target) -> Path:
    return out_dir / target.env / target.stack.replace(":", "-")


def repo_root(start: Path) -> Path:
    try:
        return Path(affected_mod.git(start, "rev-parse", "--show-toplevel").strip())
    except OperationFailed:
        raise BadInput(f"{start} is not inside a git repository", hint="run platform ci in the platform repo") from None


def _relative(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def find_affected(
    settings: Any, base: str, head: str | None, scratch: Path, *, loaded: Any = None
) -> tuple[str, str, list[str], Any]:
    """(base commit, head commit, changed paths, Affected) for the checked-out head against ``base``;
    ``loaded`` is the head's config when the caller has already read it."""
    from platform_kit.config import load_platform
    from platform_kit.infra import Infra

    root = repo_root(settings.project_dir)
    base_sha = affected_mod.resolve(root, base, "--base")
    head_sha = affected_mod.resolve(root, head or "HEAD", "--head")
    checked_out = affected_mod.resolve(root, "HEAD", "HEAD")
    if head_sha != checked_out:
        raise BadInput(
            f"--head {head}: is {head_sha[:12]}, but the checkout is at {checked_out[:12]}",
            hint=f"check the head out first (git checkout {head}); plans run from the checked-out files",
        )
    changed = affected_mod.changed_files(root, base_sha, head_sha)
    config_prefix = _relative(settings.config_dir, root)
    if config_prefix is None:
        raise BadInput(f"--config-dir {settings.config_dir}: not inside the repository {root}")
    terraform_dir = Infra.stacks_dir(settings).parent
    terraform_prefix = _relative(terraform_dir, root) or "<kit>"
    head_cfg = loaded if loaded is not None else load_platform(settings.config_dir)
    merge_base = affected_mod.git(root, "merge-base", base_sha, head_sha).strip()
    project_prefix = _relative(settings.project_dir, root) or ""
    manifests_prefix = "/".join(p for p in (project_prefix.strip("."), "manifests") if p)
    base_tree = affected_mod.snapshot(root, merge_base, [config_prefix, manifests_prefix], scratch / "base")
    base_cfg = None
    if (base_tree / config_prefix).is_dir():
        try:
            base_cfg = load_platform(base_tree / config_prefix)
        except PlatformError:
            base_cfg = None  # an invalid base: every stack of the head counts as new
    sources = affected_mod.stack_sources(terraform_dir)
    if terraform_prefix == "<kit>":
        sources = {}
    result = affected_mod.affected(
        changed,
        base=base_cfg,
        head=head_cfg,
        config_prefix=config_prefix,
        terraform_prefix=terraform_prefix,
        sources=sources,
        manifests_prefix=manifests_prefix,
    )
    result.base_config = base_cfg
    result.base_project = base_tree / project_prefix if project_prefix not in ("", ".") else base_tree
    if base_cfg is None:
        result.notes.append(f"no valid config at the base ({merge_base[:12]}): every stack is planned as new")
    return base_sha, head_sha, changed, result


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def plan_one(
    settings: Any,
    loaded: Any,
    target: affected_mod.Target,
    reasons: list[str],
    out_dir: Path,
    head: str,
    *,
    policy: Callable[..., tuple[list[str], list[str]]] | None,
) -> StackResult:
    """Plan one stack into its folder of ``out_dir``; errors become the section's ``error``."""
    from platform_kit.infra import Infra, Stack
    from platform_kit.terraform.adapter import find_terraform

    folder = target_dir(out_dir, target)
    result = StackResult(target.env, target.stack, reasons, full_plan=f"{folder.relative_to(out_dir)}/plan.txt")
    infra = Infra(settings, loaded, target.env)
    infra.build_dir = out_dir / ".work" / target.env
    stack = Stack.parse(target.stack)
    try:
        # One Terraform run: the human plan is kept from the plan itself; `show -json` runs only for
        # the policy gate, which scans it.
        report = infra.plan(stack, text=True, plan_json=policy is not None)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(report.plan_file, folder / PLAN_FILE)
        workdir = infra.workdir(stack)
        saved_json = workdir / "plan.json"
        (folder / "plan.json").unlink(missing_ok=True)
        if report.has_changes and saved_json.is_file():
            shutil.copyfile(saved_json, folder / "plan.json")
        text = report.text or "No changes."
        (folder / "plan.txt").write_text(text, encoding="utf-8")
        state = infra.state_meta(stack)
        meta = {
            "env": target.env,
            "stack": target.stack,
            "commit": head,
            "terraform_version": _terraform_version(str(find_terraform())),
            "lock_file_sha256": _sha256(Infra.stacks_dir(settings) / stack.kind / ".terraform.lock.hcl"),
            "inputs_sha256": _sha256(workdir / "inputs.auto.tfvars.json"),
            "state": state,
            "has_changes": report.has_changes,
            "destroyed_stateful": report.destroyed_stateful,
        }
        (folder / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        result.add, result.change, result.destroy = report.add, report.change, report.destroy
        result.has_changes = report.has_changes
        result.destroyed_stateful = list(report.destroyed_stateful)
        result.plan_text = text if report.has_changes else ""
        if policy is not None and report.has_changes:
            ci = loaded.platform.environments[target.env].ci
            exceptions = list(ci.policy_exceptions) if ci is not None else []
            result.policy_failures, result.policy_waived = policy(
                folder, Infra.stacks_dir(settings) / stack.kind, exceptions
            )
    except PlatformError as exc:
        result.error = exc.message
    except Exception as exc:  # one stack's surprise must not lose the others' plans
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def checkov_gate(folder: Path, source_dir: Path, exceptions: list[Any]) -> tuple[list[str], list[str]]:
    """checkov over ``folder``'s ``plan.json`` (enriched from ``source_dir``, so the modules' reviewed
    ``#checkov:skip`` comments count): (failed checks, failures waived by the environment's
    ``ci.policy_exceptions``, each with its reason)."""
    from platform_kit import policy

    report = policy.scan_plan(folder / "plan.json", source_dir)
    failed, waived = [], []
    for line in sorted(report.failures):
        check, resource = line.split(" ", 2)[:2]
        accepted = next((e for e in exceptions if e.check == check and e.resource == resource), None)
        if accepted is None:
            failed.append(line)
        else:
            waived.append(f"{check} {resource}: {accepted.reason}")
    return failed, waived


def run(
    settings: Any,
    *,
    base: str,
    head: str | None,
    out_dir: Path,
    jobs: int | None = None,
    policy: Callable[..., tuple[list[str], list[str]]] | None = checkov_gate,
    loaded: Any = None,
) -> CiPlan:
    """``platform ci plan``'s core: find, plan, gate, and write every file of ``out_dir``. ``loaded``
    is the checked-out config when the caller has read it already (200 teams take a while)."""
    from platform_kit.config import load_platform

    out_dir = Path(out_dir)
    scratch = out_dir / ".work" / "trees"
    if scratch.exists():
        shutil.rmtree(scratch)
    loaded = loaded if loaded is not None else load_platform(settings.config_dir)
    base_sha, head_sha, changed, found = find_affected(settings, base, head, scratch, loaded=loaded)
    if settings.env:  # one environment per job: each account has its own CI role
        loaded_envs = sorted({t.env for t in found.stacks})
        found.stacks = {t: why for t, why in found.stacks.items() if t.env == settings.env}
        found.renders = {e: why for e, why in found.renders.items() if e == settings.env}
        found.team_renders = {e: why for e, why in found.team_renders.items() if e == settings.env}
        others = [e for e in loaded_envs if e != settings.env]
        if others:
            found.notes.append(f"--env {settings.env}: stacks of {', '.join(others)} are left to their own jobs")
    plan = CiPlan(base_sha, head_sha, changed, found, out_dir=out_dir)
    plan.results = plan_all(settings, loaded, found, out_dir, head_sha, jobs=jobs, policy=policy)
    plan.renders = render_all(settings, loaded, found, out_dir)
    write_outputs(plan)
    return plan


@functools.cache
def _terraform_version(binary: str) -> str:
    """One `terraform version` per run, not one per stack planned."""
    from platform_kit.terraform.adapter import terraform_version

    return ".".join(str(n) for n in terraform_version(binary))


def render_all(settings: Any, loaded: Any, found: affected_mod.Affected, out_dir: Path) -> list[Any]:
    """The render diff of each environment ``found`` asks for (see ``renders``)."""
    return [
        renders.diff_env(
            settings,
            env,
            reasons,
            teams,
            head=loaded,
            base=found.base_config,
            base_project=found.base_project or settings.project_dir,
            out_dir=out_dir,
        )
        for env, reasons, teams in found.render_requests()
    ]


def plan_all(
    settings: Any,
    loaded: Any,
    found: affected_mod.Affected,
    out_dir: Path,
    head: str,
    *,
    jobs: int | None,
    policy: Callable[..., tuple[list[str], list[str]]] | None,
) -> list[StackResult]:
    """``plan_one`` for every target of ``found``, up to ``jobs`` (default: the cores) at once, in order."""
    targets = found.ordered()
    workers = max(1, min(jobs or os.cpu_count() or 1, len(targets) or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(plan_one, settings, loaded, t, found.stacks[t], out_dir, head, policy=policy) for t in targets
        ]
        return [f.result() for f in futures]


def write_outputs(plan: CiPlan, *, title: str = "platform ci plan") -> None:
    assert plan.out_dir is not None
    out_dir = plan.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    for result in plan.results:
        folder = target_dir(out_dir, affected_mod.Target(result.env, result.stack))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "comment.md").write_text(section(result), encoding="utf-8")
    lines = []
    for diff in plan.renders:
        folder = out_dir / diff.env / renders.RENDER_DIR
        folder.mkdir(parents=True, exist_ok=True)
        where = f"{diff.env}/{renders.RENDER_DIR}/diff.txt"
        (folder / "diff.txt").write_text("\n".join(diff.lines()) + "\n", encoding="utf-8")
        (folder / "comment.md").write_text(renders.section(diff, where=where), encoding="utf-8")
        detail = diff.error or diff.skipped
        lines.append(f"render: {diff.headline()}" + (f" ({detail})" if detail else f"; see {where}"))
    text = summary(plan.results, lines, plan.affected.notes, title=title)
    (out_dir / "summary.md").write_text(text, encoding="utf-8")
    (out_dir / RESULTS_FILE).write_text(json.dumps(plan.as_dict(), indent=2) + "\n", encoding="utf-8")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")


def drift(settings: Any, *, out_dir: Path, jobs: int | None = None) -> CiPlan:
    """``platform ci drift``'s core: plan every platform and team stack of the checked-out config (of
    ``settings.env`` only, when set) and report which differ from AWS. Bootstrap is left out: its
    state lives with the operator who ran ``platform bootstrap``."""
    from platform_kit.config import load_platform

    root = repo_root(settings.project_dir)
    head = affected_mod.resolve(root, "HEAD", "HEAD")
    loaded = load_platform(settings.config_dir)
    found = affected_mod.Affected()
    for target in affected_mod.stack_inputs(loaded):
        if target.stack != "bootstrap" and (settings.env is None or target.env == settings.env):
            found.add(target, "scheduled drift check")
    plan = CiPlan(head, head, [], found, out_dir=Path(out_dir))
    plan.results = plan_all(settings, loaded, found, Path(out_dir), head, jobs=jobs, policy=None)
    write_outputs(plan, title="platform ci drift")
    return plan
