"""Render diffs for ``platform ci plan`` and the cluster half of ``platform ci apply``.

A pull request that changes ``manifests/``, an environment's ``kubeflow`` block or the kit itself
changes what reaches the cluster, not (only) Terraform: ``affected`` asks for a render diff of each
such environment, and one of only the changed teams' objects when a team file changed.

- **plan**: the environment is rendered twice with the same platform outputs (read from the
  platform stack's state): from the merge base (its config and ``manifests/`` snapshot) and from the
  checked-out head. The object-level diff (``render.diff``: added, removed, changed objects with the
  field paths) is written to ``<out>/<env>/render/`` and commented like a stack's plan, under its
  own marker. Values never appear, only object names and field paths; Secrets are references.
- **apply**: after the stacks are applied, each environment of the reviewed plans is rendered again
  from the merged commit with the outputs as they are now, and applied to its cluster: CRDs, then a
  wait until they are Established, then everything else with the Secrets from their references, then
  the objects the reviewed diff removed, deleted only where they carry the kit's environment label.

A render needs the platform stack's outputs: before its first apply a diff is skipped with a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_kit.catalog.runtime.github import comment_marker
from platform_kit.ci.comment import _fence, truncate
from platform_kit.errors import PlatformError

LIMIT = 60_000
RENDER_DIR = "render"


def marker_key(env: str) -> str:
    return f"render:{env}"


@dataclass
class RenderDiff:
    env: str
    reasons: list[str]
    teams: list[str] | None = None  # None: the whole environment; else only these teams' objects
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    removed_objects: list[dict[str, Any]] = field(default_factory=list)  # apiVersion, kind, name, namespace
    skipped: str | None = None
    error: str | None = None

    @property
    def scope(self) -> str:
        return "the platform and its teams" if self.teams is None else f"team(s) {', '.join(self.teams)}"

    def headline(self) -> str:
        if self.error is not None:
            return f"{self.env} / render: failed"
        if self.skipped is not None:
            return f"{self.env} / render: not diffed"
        if not (self.added or self.removed or self.changed):
            return f"{self.env} / render: no changes"
        return (
            f"{self.env} / render: {len(self.added)} to add, {len(self.changed)} to change, "
            f"{len(self.removed)} to remove"
        )

    def lines(self) -> list[str]:
        out = [f"+ {name}" for name in self.added]
        out += [f"- {name}" for name in self.removed]
        out += [f"~ {name}: {', '.join(paths)}" for name, paths in self.changed.items()]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "reasons": self.reasons,
            "teams": self.teams,
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "removed_objects": self.removed_objects,
            "skipped": self.skipped,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RenderDiff:
        return cls(**{key: data.get(key) for key in cls.__dataclass_fields__ if key in data})


def section(diff: RenderDiff, *, where: str, limit: int = LIMIT) -> str:
    """The Markdown of one environment's render diff, at most ``limit`` characters."""
    lines = [comment_marker(marker_key(diff.env)), f"### {diff.headline()}", ""]
    lines += [f"Rendered because: {'; '.join(diff.reasons)} ({diff.scope})", ""]
    if diff.error is not None:
        lines += ["> [!WARNING]", f"> The render failed: {diff.error}", ""]
    if diff.skipped is not None:
        lines += [f"Not diffed: {diff.skipped}", ""]
    if diff.removed:
        lines += [
            "> [!NOTE]",
            f"> {len(diff.removed)} object(s) leave the render; `platform ci apply` deletes those that carry "
            "the kit's environment label.",
            "",
        ]
    body = "\n".join(lines)
    text = "\n".join(diff.lines())
    if not text:
        return body.rstrip() + "\n"
    fence = _fence(text)
    opening = f"<details><summary>Objects of {diff.env} that change</summary>\n\n{fence}diff\n"
    closing = f"\n{fence}\n\n</details>\n"
    budget = limit - len(body) - len(opening) - len(closing) - 1
    return body + "\n" + opening + truncate(text, budget, where) + closing


def _outputs(settings: Any, loaded: Any, env: str) -> Any:
    from platform_kit.infra import Infra
    from platform_kit.render.platform import PlatformOutputs

    infra = Infra(settings, loaded, env)
    return PlatformOutputs.from_outputs(infra.platform_outputs(), source="platform state", env=env)


def _team_objects(loaded: Any, env: str, teams: list[str] | None) -> list[dict[str, Any]]:
    from platform_kit.render import team as team_render

    chosen = [t for t in loaded.teams_in(env) if teams is None or t.name in teams]
    return [obj for team in chosen for obj in team_render.render_team(loaded.platform, env, team)]


def _upstream_config_dir(loaded: Any, env: str, fallback: Path) -> Path:
    """Where a local ``kubeflow.source.path`` of the base resolves: its own config folder when the
    folder is there (a path inside the repository), else the head's (a path beside the checkout,
    which the base's snapshot does not hold)."""
    source = loaded.platform.environments[env].kubeflow.source
    if source.path is None or (Path(loaded.config_dir) / source.path).is_dir():
        return Path(loaded.config_dir)
    return fallback


def diff_env(
    settings: Any,
    env: str,
    reasons: list[str],
    teams: list[str] | None,
    *,
    head: Any,
    base: Any | None,
    base_project: Path,
    out_dir: Path,
) -> RenderDiff:
    """Render ``env`` at the base and the head and compare the objects (``teams``: only theirs)."""
    from platform_kit import manifests
    from platform_kit.render.diff import describe, diff_objects, identity

    result = RenderDiff(env, reasons, teams)
    folder = out_dir / env / RENDER_DIR
    try:
        if env not in head.platform.environments:
            result.skipped = f"{env} is not in the config at the head"
            return result
        after = _team_objects(head, env, teams)
        before = _team_objects(base, env, teams) if base is not None and env in base.platform.environments else []
        if teams is None:
            try:
                outputs = _outputs(settings, head, env)
            except PlatformError as exc:
                result.skipped = f"the platform stack of {env} has no outputs to render with yet ({exc.message})"
                return result
            platform_after, _ = manifests.build_platform(
                head.platform, env, outputs, head.config_dir, folder / "head", settings.project_dir
            )
            after = platform_after + after
            if base is not None and env in base.platform.environments:
                platform_before, _ = manifests.build_platform(
                    base.platform,
                    env,
                    outputs,
                    _upstream_config_dir(base, env, head.config_dir),
                    folder / "base",
                    base_project,
                )
                before = platform_before + before
            manifests.check_objects(head.platform.environments[env].cluster.kubernetes_version, after, folder / "head")
        found = diff_objects(before, after)
        result.added = [describe(k) for k in found.added]
        result.removed = [describe(k) for k in found.removed]
        result.changed = {describe(k): paths for k, paths in found.changed.items()}
        gone = set(found.removed)
        result.removed_objects = [
            {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "metadata": {
                    key: value for key, value in (obj.get("metadata") or {}).items() if key in ("name", "namespace")
                },
            }
            for obj in before
            if identity(obj) in gone
        ]
    except PlatformError as exc:
        result.error = exc.message
    return result


@dataclass
class Applied:
    env: str
    outcome: str  # one line: what happened to the cluster of env

    def as_dict(self) -> dict[str, str]:
        return {"env": self.env, "outcome": self.outcome}


def apply_env(
    settings: Any,
    loaded: Any,
    diff: RenderDiff,
    work_dir: Path,
    *,
    kube_context: str | None = None,
    on_line: Any = None,
) -> Applied:
    """Render ``diff.env`` (or its teams) from the checked-out commit with the platform's outputs as they
    are now, and apply it to the environment's cluster; then delete what the reviewed diff removed."""
    import shutil

    from platform_kit import cluster_apply, manifests
    from platform_kit.infra import Infra
    from platform_kit.kube import connect

    say = on_line or (lambda _: None)
    env = diff.env
    if not (diff.added or diff.removed or diff.changed):
        return Applied(env, "render unchanged: nothing to apply")
    cluster = connect(settings, loaded, env, kube_context)
    if cluster is None:
        return Applied(env, "not applied: an emulated environment has no Kubernetes API server")
    folder = work_dir / env
    if folder.exists():
        shutil.rmtree(folder)  # a teams-only render must not pick up files of an earlier one
    outputs = _outputs(settings, loaded, env)
    manifests.render(settings, loaded, env, outputs, out_dir=folder, team_names=diff.teams)
    counts, secrets = cluster_apply.apply_render(
        cluster, folder, lambda: Infra(settings, loaded, env).session().client("secretsmanager"), on_line=say
    )
    deleted, kept = cluster_apply.prune(cluster, diff.removed_objects, env)
    for line in kept:
        say(f"{env}: kept {line}")
    return Applied(env, f"{cluster_apply.counts_line(counts, secrets)}, {len(deleted)} deleted")
