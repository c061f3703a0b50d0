"""Which stacks a pull request touches: changed files in, (environment, stack) pairs with reasons out.

The rules, most precise first:

- **Terraform sources.** A changed file under a stack folder, or under a module any stack uses
  (local ``source = "../../modules/x"`` blocks, followed module to module, and files a stack links
  in, such as ``_shared/aws.tf``), affects every instance of those stacks: each environment's
  platform stack, or every team stack.
- **Desired state.** The whole config is loaded at the base and at the head, and each stack's
  Terraform inputs are rendered on both sides and compared. A stack is affected exactly when its
  inputs differ, so an edit to one environment's block plans that environment, and a team stack is
  planned for a platform change only when an input it consumes moved. Team stacks read the platform
  stack's outputs; both sides get the same stand-in values for those, so only the config counts.
- **Team files.** A changed team file always plans that team's stacks (its members do not reach
  Terraform, but the reviewer should still see that the stack is unchanged).
- **Cluster configuration.** ``manifests/`` or an environment's ``kubeflow`` block changing asks
  for a render diff of that environment (``renders``).
- **The kit itself.** A change under ``platform_kit/`` can change any rendered input: every stack of
  every environment is planned, since a module change that plans nothing is the failure to avoid.

Everything here is pure over two checked-out trees; ``snapshot`` makes one from a git ref.
"""

from __future__ import annotations

import re
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from platform_kit.errors import BadInput, OperationFailed

_MODULE_SOURCE = re.compile(r'^\s*source\s*=\s*"(\.{1,2}/[^"]+)"', re.MULTILINE)
KIT_PACKAGE = "platform_kit"


@dataclass(frozen=True, order=True)
class Target:
    """One stack instance to plan: ``env`` and ``stack`` (``bootstrap``, ``platform`` or ``team:NAME``)."""

    env: str
    stack: str


@dataclass
class Affected:
    stacks: dict[Target, list[str]] = field(default_factory=dict)  # target -> why
    renders: dict[str, list[str]] = field(default_factory=dict)  # env -> why its render is diffed
    team_renders: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # env -> team -> why
    notes: list[str] = field(default_factory=list)
    # Set by ``ci.plan.find_affected`` for the render diffs: the base's config and project folder.
    base_config: Any = field(default=None, repr=False, compare=False)
    base_project: Path | None = field(default=None, repr=False, compare=False)

    def add(self, target: Target, reason: str) -> None:
        reasons = self.stacks.setdefault(target, [])
        if reason not in reasons:
            reasons.append(reason)

    def render(self, env: str, reason: str) -> None:
        reasons = self.renders.setdefault(env, [])
        if reason not in reasons:
            reasons.append(reason)

    def render_team(self, env: str, team: str, reason: str) -> None:
        reasons = self.team_renders.setdefault(env, {}).setdefault(team, [])
        if reason not in reasons:
            reasons.append(reason)

    def render_requests(self) -> list[tuple[str, list[str], list[str] | None]]:
        """(env, reasons, teams) of each render diff: the whole environment, or only some teams'
        objects when nothing but team files asked for it."""
        out: list[tuple[str, list[str], list[str] | None]] = []
        for env in sorted(set(self.renders) | set(self.team_renders)):
            teams = self.team_renders.get(env, {})
            if env in self.renders:
                out.append((env, self.renders[env], None))
            else:
                reasons = [reason for why in teams.values() for reason in why]
                out.append((env, list(dict.fromkeys(reasons)), sorted(teams)))
        return out

    def ordered(self) -> list[Target]:
        """Targets in apply order: per environment bootstrap, platform, then teams by name."""
        rank = {"bootstrap": 0, "platform": 1}
        return sorted(self.stacks, key=lambda t: (t.env, rank.get(t.stack, 2), t.stack))

    def as_dict(self) -> dict[str, Any]:
        return {
            "stacks": [{"env": t.env, "stack": t.stack, "reasons": self.stacks[t]} for t in self.ordered()],
            "renders": [{"env": env, "reasons": why, "teams": teams} for env, why, teams in self.render_requests()],
            "notes": self.notes,
        }


# --- git ----------------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise OperationFailed("git is not installed", hint="install git; CI images have it") from None
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise OperationFailed(f"git {' '.join(args)}: {message}")
    return done.stdout


def resolve(repo: Path, ref: str, flag: str) -> str:
    """The commit ``ref`` names; BadInput when it names none."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except OperationFailed:
        raise BadInput(f"{flag} {ref}: not a commit in {repo}", hint="fetch it first (git fetch origin REF)") from None


def changed_files(repo: Path, base: str, head: str) -> list[str]:
    """Paths changed between the merge base of ``base`` and ``head``, and ``head`` (what the PR changes)."""
    merge_base = git(repo, "merge-base", base, head).strip()
    out = git(repo, "diff", "--name-only", "--no-renames", merge_base, head)
    return sorted(line for line in out.splitlines() if line)


def snapshot(repo: Path, commit: str, paths: Iterable[str], dest: Path) -> Path:
    """``paths`` of ``commit`` extracted under ``dest`` (folders missing at that commit are skipped)."""
    present = [p for p in paths if git(repo, "ls-tree", "--name-only", commit, "--", p).strip()]
    dest.mkdir(parents=True, exist_ok=True)
    if not present:
        return dest
    with tempfile.TemporaryFile() as archive:
        done = subprocess.run(["git", "-C", str(repo), "archive", commit, "--", *present], stdout=archive, check=False)
        if done.returncode != 0:
            raise OperationFailed(f"git archive {commit}: failed")
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(dest, filter="data")
    return dest


# --- Terraform sources ------------------------------------------------------------------------------


def stack_sources(terraform_dir: Path) -> dict[str, set[str]]:
    """For each stack kind (folder of ``stacks/``), every repo-relative folder and file it is built
    from: its own folder, files it links in, and local modules, followed transitively."""
    terraform_dir = Path(terraform_dir)
    root = terraform_dir.parent

    def rel(path: Path) -> str:
        return path.resolve().relative_to(root.resolve()).as_posix()

    result: dict[str, set[str]] = {}
    stacks = terraform_dir / "stacks"
    for stack in sorted(p for p in stacks.iterdir() if p.is_dir() and not p.name.startswith("_")):
        found: set[str] = set()
        todo = [stack]
        seen: set[Path] = set()
        while todo:
            folder = todo.pop()
            if folder.resolve() in seen:
                continue
            seen.add(folder.resolve())
            found.add(rel(folder))
            for tf in sorted(folder.glob("*.tf")):
                if tf.is_symlink():
                    found.add(rel(tf))
                for source in _MODULE_SOURCE.findall(tf.read_text(encoding="utf-8")):
                    target = (folder / source).resolve()
                    if target.is_dir():
                        todo.append(target)
        result[stack.name] = found
    return result


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


# --- desired state ---------------------------------------------------------------------------------


class _StandIn(dict):
    """Platform outputs for comparing team inputs: the same made-up value for every name, both sides."""

    def get(self, key: str, default: Any = None) -> Any:
        return f"<platform output {key}>"

    def __getitem__(self, key: str) -> Any:
        return self.get(key)


def stack_inputs(loaded: Any) -> dict[Target, Any]:
    """Every stack instance of ``loaded`` with the Terraform inputs the CLI would render for it."""
    from platform_kit.render import tfvars

    cfg = loaded.platform
    out: dict[Target, Any] = {}
    for env_name, env in cfg.environments.items():
        endpoint = env.aws.endpoint_url
        out[Target(env_name, "bootstrap")] = tfvars.bootstrap_inputs(cfg, env_name, endpoint)
        out[Target(env_name, "platform")] = tfvars.platform_inputs(cfg, env_name, endpoint)
        for name, team in sorted(loaded.teams.items()):
            if env_name in team.environments:
                out[Target(env_name, f"team:{name}")] = tfvars.team_inputs(cfg, env_name, team, _StandIn(), endpoint)
    return out


def _kubeflow_blocks(loaded: Any) -> dict[str, Any]:
    return {name: env.kubeflow.model_dump(mode="json") for name, env in loaded.platform.environments.items()}


def affected(
    changed: list[str],
    *,
    base: Any | None,
    head: Any,
    config_prefix: str,
    terraform_prefix: str,
    sources: dict[str, set[str]],
    manifests_prefix: str = "manifests",
) -> Affected:
    """The stacks and renders ``changed`` (repo-relative paths) affects.

    ``base`` and ``head`` are the loaded configs at both commits (``base`` None when the config did
    not exist there); ``sources`` is ``stack_sources`` of the head's Terraform folder, its paths
    relative to the repository root like ``changed``; ``terraform_prefix`` is that folder."""
    result = Affected()
    head_inputs = stack_inputs(head)
    base_inputs = stack_inputs(base) if base is not None else {}
    environments = sorted(head.platform.environments)

    def every(kind: str, reason: str) -> None:
        for target in head_inputs:
            if (kind == "team" and target.stack.startswith("team:")) or target.stack == kind:
                result.add(target, reason)

    for path in changed:
        if _under(path, KIT_PACKAGE):
            for target in head_inputs:
                result.add(target, f"the kit's code changed ({path})")
            for env in environments:
                result.render(env, f"the kit's code changed ({path})")
            continue
        if _under(path, terraform_prefix):
            for kind, files in sorted(sources.items()):
                if any(_under(path, f) for f in files):
                    every(kind, f"Terraform source changed ({path})")
            continue
        if _under(path, manifests_prefix):
            for env in environments:
                result.render(env, f"cluster configuration changed ({path})")
            continue
        if _under(path, f"{config_prefix}/teams"):
            name = PurePosixPath(path).stem
            for target in head_inputs:
                if target.stack == f"team:{name}":
                    result.add(target, f"team file changed ({path})")
                    result.render_team(target.env, name, f"team file changed ({path})")
            if not any(t.stack == f"team:{name}" for t in head_inputs):
                result.notes.append(
                    f"{path}: team '{name}' is not in any environment at the head; "
                    "its stacks are destroyed by platform offboard-team, not by CI"
                )

    for target, inputs in head_inputs.items():
        before = base_inputs.get(target)
        if before is None:
            result.add(target, "new stack")
        elif before != inputs:
            keys = sorted(k for k in set(inputs) | set(before) if inputs.get(k) != before.get(k))
            result.add(target, f"inputs changed: {', '.join(keys)}")
    for target in sorted(set(base_inputs) - set(head_inputs)):
        result.notes.append(f"{target.env}/{target.stack}: no longer in the config; CI does not destroy stacks")
    if base is not None:
        old, new = _kubeflow_blocks(base), _kubeflow_blocks(head)
        for env in environments:
            if old.get(env) != new.get(env):
                result.render(env, "kubeflow settings changed")
    return result
