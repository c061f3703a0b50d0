"""Kubeflow upgrades: what moves between two releases of the platform render, before anything is applied.

For each release hop (v1.10.2 -> v1.11.0 -> 26.03: one release at a time, as upstream's own
upgrade notes assume), the kit renders the environment's platform at both releases, exactly as
``platform render`` would, and compares them object by object:

- added, removed and changed objects (with the field paths that changed), from ``render.diff``;
- CustomResourceDefinitions: added and removed ones, and for those in both, versions added or
  removed, versions no longer served, and a change of storage version (stored objects then need
  migrating before the old version can go);
- the prune set: objects of the current render that the target no longer renders and that carry
  the kit's label (``platform-kit.io/environment``); only those may be deleted after the apply;
- the release's manual steps (``data/kubeflow-upgrades.yaml``), shown in the plan and confirmed
  before apply.

Rendering is the same pure build as ``platform render`` (a kustomize build over the upstream
release); this module only compares what comes out.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from platform_kit.cluster_apply import ENV_LABEL as KIT_LABEL
from platform_kit.errors import BadInput
from platform_kit.render.diff import Diff, Key, describe, diff_objects, identity


@dataclass(frozen=True)
class ManualStep:
    id: str
    text: str
    source: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "text": self.text, "source": self.source}


def manual_steps(source: str, target: str) -> list[ManualStep]:
    """The manual steps of the hop ``source`` -> ``target`` (``data/kubeflow-upgrades.yaml``)."""
    from platform_kit import versions

    for hop in versions.data("kubeflow-upgrades.yaml")["hops"]:
        if str(hop["from"]) == source and str(hop["to"]) == target:
            return [ManualStep(str(s["id"]), " ".join(str(s["text"]).split()), str(s["source"])) for s in hop["manual"]]
    return []


def hops(current: str, target: str, known: list[str]) -> list[tuple[str, str]]:
    """(from, to) pairs, one release at a time; BadInput for an unknown release or a downgrade."""
    if target not in known:
        raise BadInput(f"--kubeflow {target}: not a release the kit supports ({', '.join(known)})")
    if current not in known:
        raise BadInput(f"kubeflow.version {current} is not a release the kit supports ({', '.join(known)})")
    start, end = known.index(current), known.index(target)
    if end < start:
        raise BadInput(f"--kubeflow {target}: the environment runs {current}; the kit does not downgrade Kubeflow")
    path = known[start : end + 1]
    return list(itertools.pairwise(path))


def config_at(cfg: Any, env: str, version: str, config_dir: Path) -> Any:
    """A copy of ``cfg`` whose ``env`` runs Kubeflow ``version``: a git source moves to that release's
    ref; a local source to the sibling folder named for it (``.../kubeflow-manifests/<version>``)."""
    from platform_kit import versions

    changed = copy.deepcopy(cfg)
    kubeflow = changed.environments[env].kubeflow
    current = str(kubeflow.version)
    kubeflow.version = version
    if kubeflow.source.git is not None:
        kubeflow.source.git.ref = versions.kubeflow_ref(version)
        return changed
    path = PurePosixPath(str(kubeflow.source.path))
    if path.name != current:
        raise BadInput(
            f"environments.{env}.kubeflow.source.path: '{path}' is not named for release {current}, so the kit "
            f"cannot find {version} beside it",
            hint="use a git source, or lay local releases out as <folder>/<release> (like ../shared/upstream)",
        )
    sibling = path.with_name(version)
    if not (Path(config_dir) / sibling).is_dir():
        raise BadInput(f"Kubeflow {version} not found at {sibling} (beside {path}, relative to platform.yaml)")
    kubeflow.source.path = str(sibling)
    return changed


@dataclass
class CrdChange:
    name: str
    versions_added: list[str] = field(default_factory=list)
    versions_removed: list[str] = field(default_factory=list)
    no_longer_served: list[str] = field(default_factory=list)
    storage: tuple[str, str] | None = None  # (before, after) when it moved

    @property
    def empty(self) -> bool:
        return not (self.versions_added or self.versions_removed or self.no_longer_served or self.storage)

    def line(self) -> str:
        parts = []
        if self.versions_added:
            parts.append(f"+{','.join(self.versions_added)}")
        if self.versions_removed:
            parts.append(f"-{','.join(self.versions_removed)}")
        if self.no_longer_served:
            parts.append(f"no longer served: {','.join(self.no_longer_served)}")
        if self.storage:
            parts.append(f"storage {self.storage[0]} -> {self.storage[1]}")
        return f"{self.name}: {'; '.join(parts)}"


def _crd_versions(crd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(v.get("name")): v for v in (crd.get("spec") or {}).get("versions") or []}


def _storage(crd: dict[str, Any]) -> str | None:
    return next((name for name, v in _crd_versions(crd).items() if v.get("storage")), None)


def crd_changes(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> tuple[list[str], list[str], list[CrdChange]]:
    """(added CRD names, removed CRD names, changes to CRDs in both)."""

    def crds(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        found = [o for o in objects if o.get("kind") == "CustomResourceDefinition"]
        return {str((o.get("metadata") or {}).get("name")): o for o in found}

    old, new = crds(before), crds(after)
    changes = []
    for name in sorted(set(old) & set(new)):
        was, now = _crd_versions(old[name]), _crd_versions(new[name])
        change = CrdChange(
            name,
            versions_added=sorted(set(now) - set(was)),
            versions_removed=sorted(set(was) - set(now)),
            no_longer_served=sorted(
                v for v in set(was) & set(now) if was[v].get("served") and not now[v].get("served")
            ),
        )
        if _storage(old[name]) != _storage(new[name]):
            change.storage = (_storage(old[name]) or "?", _storage(new[name]) or "?")
        if not change.empty:
            changes.append(change)
    return sorted(set(new) - set(old)), sorted(set(old) - set(new)), changes


@dataclass
class KubeflowHop:
    source: str
    target: str
    diff: Diff
    crds_added: list[str]
    crds_removed: list[str]
    crd_changes: list[CrdChange]
    prune: list[Key]
    manual: list[ManualStep]
    counts: tuple[int, int] = (0, 0)  # objects rendered before, after
    # What the apply needs: both renders, and the target's build folder (its secrets.yaml).
    before: list[dict[str, Any]] = field(default_factory=list, repr=False)
    after: list[dict[str, Any]] = field(default_factory=list, repr=False)
    build_dir: Path | None = None

    def prune_objects(self) -> list[dict[str, Any]]:
        """The prune set as the objects of the current render (their apiVersion says where to delete)."""
        wanted = set(self.prune)
        return [o for o in self.before if identity(o) in wanted]

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "to": self.target,
            "objects": {"before": self.counts[0], "after": self.counts[1]},
            "added": [describe(k) for k in self.diff.added],
            "removed": [describe(k) for k in self.diff.removed],
            "changed": {describe(k): paths for k, paths in self.diff.changed.items()},
            "crds": {
                "added": self.crds_added,
                "removed": self.crds_removed,
                "changed": [c.line() for c in self.crd_changes],
            },
            "prune": [describe(k) for k in self.prune],
            "manual": [m.as_dict() for m in self.manual],
        }

    def summary_lines(self) -> list[str]:
        """A stable, reviewable text of the hop (what the golden files hold)."""
        lines = [
            f"Kubeflow {self.source} -> {self.target}: {self.counts[0]} -> {self.counts[1]} objects; "
            f"{len(self.diff.added)} added, {len(self.diff.removed)} removed, {len(self.diff.changed)} changed",
            f"CRDs added ({len(self.crds_added)}): {', '.join(self.crds_added) or '-'}",
            f"CRDs removed ({len(self.crds_removed)}): {', '.join(self.crds_removed) or '-'}",
            *(f"CRD changed: {c.line()}" for c in self.crd_changes),
            f"prune ({len(self.prune)}):",
            *(f"  - {describe(k)}" for k in self.prune),
            f"manual steps ({len(self.manual)}):",
            *(f"  - {m.id}: {m.text} [{m.source}]" for m in self.manual),
        ]
        return lines


def _labelled(obj: dict[str, Any]) -> bool:
    return KIT_LABEL in ((obj.get("metadata") or {}).get("labels") or {})


def compare(source: str, target: str, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> KubeflowHop:
    """The hop from the render ``before`` (release ``source``) to ``after`` (release ``target``)."""
    diff = diff_objects(before, after)
    added, removed, changed = crd_changes(before, after)
    by_key = {identity(o): o for o in before}
    prune = [key for key in diff.removed if _labelled(by_key[key])]
    return KubeflowHop(
        source,
        target,
        diff,
        added,
        removed,
        changed,
        prune,
        manual_steps(source, target),
        counts=(len(before), len(after)),
        before=before,
        after=after,
    )


def render_release(settings: Any, loaded: Any, env: str, version: str, outputs: Any, out_root: Path) -> list[dict]:
    """The platform objects of ``env`` at Kubeflow ``version`` (a build under ``out_root/<version>``)."""
    from platform_kit import manifests

    cfg = config_at(loaded.platform, env, version, loaded.config_dir)
    build_dir = out_root / version
    objects, _ = manifests.build_platform(cfg, env, outputs, loaded.config_dir, build_dir, settings.project_dir)
    return objects


def plan_hops(settings: Any, loaded: Any, env: str, target: str, outputs: Any) -> list[KubeflowHop]:
    """Each release hop from the environment's Kubeflow to ``target``, rendered and compared."""
    from platform_kit import manifests, versions

    current = str(loaded.platform.environments[env].kubeflow.version)
    pairs = hops(current, target, versions.kubeflow_versions())
    out_root = manifests.default_out_dir(settings, env).parent / "upgrade" / env / "kubeflow"
    rendered: dict[str, list[dict]] = {}
    result = []
    for source, goal in pairs:
        for version in (source, goal):
            if version not in rendered:
                rendered[version] = render_release(settings, loaded, env, version, outputs, out_root)
        hop = compare(source, goal, rendered[source], rendered[goal])
        hop.build_dir = out_root / goal
        result.append(hop)
    return result
