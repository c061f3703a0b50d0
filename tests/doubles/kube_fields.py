"""Pure object helpers for the Kubernetes API server double: field paths, patches, selectors.

Nothing here does I/O. The rules are deliberately simplified versions of the API server's:
lists are atomic (replaced whole, no merge keys), and strategic-merge patches are merge patches.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from typing import Any

FieldPath = tuple[str, ...]


class _Missing:
    """Marks a field that is absent (distinct from an explicit null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

# Fields the server owns: never part of a manager's field set, never taken from a request body.
SERVER_METADATA = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "generation",
        "managedFields",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "generateName",
    }
)


class PatchError(ValueError):
    """A patch document the double cannot apply (the server answers 422 or 400)."""


class SelectorError(ValueError):
    """A label or field selector the double cannot parse (the server answers 400)."""


# -- field paths ---------------------------------------------------------------------------------


def leaf_paths(obj: dict[str, Any]) -> dict[FieldPath, Any]:
    """Every leaf field of an object (scalars and lists), minus type and server metadata."""
    return dict(_walk(obj, ()))


def _walk(node: dict[str, Any], prefix: FieldPath) -> Iterator[tuple[FieldPath, Any]]:
    for key, value in node.items():
        if not prefix and key in ("apiVersion", "kind"):
            continue
        if prefix == ("metadata",) and key in SERVER_METADATA:
            continue
        path = (*prefix, key)
        if isinstance(value, dict):
            yield from _walk(value, path)  # an empty map owns nothing
        else:
            yield path, value


def get_path(obj: Any, path: FieldPath) -> Any:
    """The value at path, or MISSING."""
    node = obj
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return MISSING
        node = node[key]
    return node


def set_path(obj: dict[str, Any], path: FieldPath, value: Any) -> None:
    node = obj
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = copy.deepcopy(value)


def delete_path(obj: dict[str, Any], path: FieldPath) -> None:
    """Remove the field at path, then any map it leaves empty (top-level keys are kept)."""
    parents: list[tuple[dict[str, Any], str]] = []
    node: Any = obj
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return
        parents.append((node, key))
        node = node[key]
    parent, key = parents.pop()
    del parent[key]
    while len(parents) > 1:
        parent, key = parents.pop()
        if parent[key] == {}:
            del parent[key]
        else:
            break


def overlaps(a: FieldPath, b: FieldPath) -> bool:
    """True if one path is the other or lies inside it."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def format_path(path: FieldPath) -> str:
    """A path as the API server prints it in conflict messages: `.metadata.labels.team`."""
    return "".join(f".{key}" for key in path)


def fields_v1(paths: Iterable[FieldPath]) -> dict[str, Any]:
    """Render a field set in the managedFields `FieldsV1` shape: {"f:metadata": {"f:labels": {...}}}."""
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return tree


# -- merging and patches -------------------------------------------------------------------------


def deep_merge(live: Any, applied: Any) -> Any:
    """Merge an applied configuration into a live object: maps merge, everything else replaces."""
    if not isinstance(applied, dict) or not isinstance(live, dict):
        return copy.deepcopy(applied)
    result = copy.deepcopy(live)
    for key, value in applied.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = deep_merge(result.get(key, MISSING), value)
    return result


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strip_strategic_directives(patch: Any) -> Any:
    """Drop strategic-merge directives ($patch, $retainKeys, $setElementOrder/...), keep the rest."""
    if isinstance(patch, dict):
        return {k: strip_strategic_directives(v) for k, v in patch.items() if not k.startswith("$")}
    if isinstance(patch, list):
        return [strip_strategic_directives(v) for v in patch]
    return patch


def json_patch(doc: Any, operations: Any) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test)."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    result = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid JSON patch operation: {op!r}")
        kind, path = op["op"], _pointer(op["path"])
        if kind == "add":
            result = _pointer_add(result, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _pointer_remove(result, path)
        elif kind == "replace":
            _pointer_get(result, path)
            _pointer_remove(result, path)
            result = _pointer_add(result, path, copy.deepcopy(op.get("value")))
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from", ""))
            value = copy.deepcopy(_pointer_get(result, source))
            if kind == "move":
                _pointer_remove(result, source)
            result = _pointer_add(result, path, value)
        elif kind == "test":
            if _pointer_get(result, path) != op.get("value"):
                raise PatchError(f"test operation failed at {op['path']}")
        else:
            raise PatchError(f"unknown JSON patch operation {kind!r}")
    return result


def _pointer(text: str) -> list[str]:
    if text == "":
        return []
    if not text.startswith("/"):
        raise PatchError(f"invalid JSON pointer {text!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/")]


def _container(doc: Any, path: list[str]) -> Any:
    node = doc
    for key in path:
        node = _child(node, key)
    return node


def _child(node: Any, key: str) -> Any:
    if isinstance(node, dict) and key in node:
        return node[key]
    if isinstance(node, list) and key.isdigit() and int(key) < len(node):
        return node[int(key)]
    raise PatchError(f"path element {key!r} not found")


def _pointer_get(doc: Any, path: list[str]) -> Any:
    return _container(doc, path)


def _pointer_add(doc: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    parent, key = _container(doc, path[:-1]), path[-1]
    if isinstance(parent, dict):
        parent[key] = value
    elif isinstance(parent, list):
        if key == "-":
            parent.append(value)
        elif key.isdigit() and int(key) <= len(parent):
            parent.insert(int(key), value)
        else:
            raise PatchError(f"invalid list index {key!r}")
    else:
        raise PatchError(f"cannot add to a {type(parent).__name__}")
    return doc


def _pointer_remove(doc: Any, path: list[str]) -> None:
    if not path:
        raise PatchError("cannot remove the whole document")
    parent, key = _container(doc, path[:-1]), path[-1]
    _child(parent, key)
    if isinstance(parent, dict):
        del parent[key]
    else:
        del parent[int(key)]


# -- selectors -----------------------------------------------------------------------------------

_REQUIREMENT = re.compile(
    r"""^\s*(?:
        (?P<not_exists>!\s*(?P<nk>[^\s=!(),]+))
      | (?P<k1>[^\s=!(),]+)\s*(?P<op>==|=|!=)\s*(?P<v>[^\s,()]*)
      | (?P<k2>[^\s=!(),]+)\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\)
      | (?P<exists>[^\s=!(),]+)
    )\s*$""",
    re.VERBOSE,
)


def _split_requirements(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def label_selector_matches(selector: str | None, labels: dict[str, str] | None) -> bool:
    """Kubernetes label selector syntax: k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b)."""
    if not selector:
        return True
    labels = labels or {}
    for requirement in _split_requirements(selector):
        match = _REQUIREMENT.match(requirement)
        if not match:
            raise SelectorError(f"unable to parse requirement: {requirement.strip()!r}")
        if match["not_exists"]:
            ok = match["nk"] not in labels
        elif match["k1"]:
            present = match["k1"] in labels and labels[match["k1"]] == match["v"]
            ok = not present if match["op"] == "!=" else present
        elif match["k2"]:
            values = {v.strip() for v in match["values"].split(",") if v.strip()}
            inside = match["k2"] in labels and labels[match["k2"]] in values
            ok = inside if match["setop"] == "in" else not inside
        else:
            ok = match["exists"] in labels
        if not ok:
            return False
    return True


def field_selector_matches(selector: str | None, obj: dict[str, Any]) -> bool:
    """Field selectors over dotted paths: metadata.name=x, metadata.namespace!=y, status.phase=Running."""
    if not selector:
        return True
    for requirement in _split_requirements(selector):
        match = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$", requirement)
        if not match:
            raise SelectorError(f"invalid field selector: {requirement.strip()!r}")
        field, op, wanted = match.groups()
        value = get_path(obj, tuple(field.split(".")))
        actual = "" if value is MISSING or value is None else str(value)
        if (actual == wanted) != (op != "!="):
            return False
    return True
