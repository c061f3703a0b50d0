"""Object-level diff of two renders: added, removed, and changed objects with the field paths that changed.

Objects are matched by identity (apiVersion group, kind, namespace, name). kustomize's content
hash suffix on generated ConfigMaps and Secrets is part of the name, so a changed generated
ConfigMap shows as one removed and one added object, exactly as the cluster will see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str, str, str]


def identity(obj: dict[str, Any]) -> Key:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    meta = obj.get("metadata") or {}
    return (group, str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", "")))


def describe(key: Key) -> str:
    group, kind, namespace, name = key
    kind_text = f"{kind}.{group}" if group else kind
    return f"{kind_text} {namespace + '/' if namespace else ''}{name}"


def field_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths (``spec.template.spec.containers[0].env``) where ``old`` and ``new`` differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        paths: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                paths.append(path)
            else:
                paths.extend(field_paths(old[key], new[key], path))
        return paths
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        paths = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            paths.extend(field_paths(a, b, f"{prefix}[{index}]"))
        return paths
    return [] if old == new else [prefix or "(whole object)"]


@dataclass
class Diff:
    added: list[Key] = field(default_factory=list)
    removed: list[Key] = field(default_factory=list)
    changed: dict[Key, list[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def lines(self) -> list[str]:
        out = [f"+ {describe(k)}" for k in self.added]
        out += [f"- {describe(k)}" for k in self.removed]
        for key, paths in self.changed.items():
            out.append(f"~ {describe(key)}: {', '.join(paths)}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": [describe(k) for k in self.added],
            "removed": [describe(k) for k in self.removed],
            "changed": {describe(k): paths for k, paths in self.changed.items()},
        }


def diff_objects(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> Diff:
    before = {identity(o): o for o in old}
    after = {identity(o): o for o in new}
    result = Diff(
        added=sorted(set(after) - set(before)),
        removed=sorted(set(before) - set(after)),
    )
    for key in sorted(set(before) & set(after)):
        paths = field_paths(before[key], after[key])
        if paths:
            result.changed[key] = paths
    return result
