"""Offline schema validation of rendered Kubernetes objects.

Every object of a render is checked against a schema, without a cluster and without a network:

- **Built-in kinds** (``v1``, ``apps/v1``, ``rbac.authorization.k8s.io/v1``, ``apiextensions.k8s.io/v1``
  ``CustomResourceDefinition`` objects themselves, ...) against the OpenAPI schemas that the
  ``kubernetes-validate`` package bundles per Kubernetes minor. By default its *strict* variant is used:
  every object has ``additionalProperties: false``, so an unknown field (``spec.replica``) is an error,
  as it is for ``kubectl apply`` (whose default ``--validate=strict`` asks the API server to reject them).
- **Custom resources** (the group/kind is defined by a ``CustomResourceDefinition`` in the render or in
  ``extra_crds``) against that CRD's ``openAPIV3Schema`` for the object's version, with ``jsonschema``.
  The Kubernetes extensions are translated (see ``_structural``); ``metadata`` is not validated for
  custom resources (CRD schemas describe it only partially; the API server checks it as ObjectMeta).
  CEL rules (``x-kubernetes-validations``) and ``format`` values are not evaluated.
- **Anything else** is a problem of its own ("no schema"), unless its (group, kind) is allow-listed.

Which bundled schemas are used for a cluster version: the same minor when the package ships it; else the
nearest *lower* bundled minor, with a ``SchemaVersionWarning`` (a minor missing inside the bundled range);
a version newer than the newest bundled minor, or older than the oldest, is ``BadInput``. Newer is refused
on purpose: an upgrade is exactly when validating against the previous minor's schemas would miss removed
APIs and reject new fields, so the fix is to upgrade ``kubernetes-validate`` (``schema_kubernetes_version``
tells callers which schemas a version maps to).

The bundled schemas are read straight from the installed package (the library's own ``validate()``
re-reads and re-parses ~1.3 MB of definitions per object); validators are built once per
(schema version, apiVersion, kind) for built-in kinds and once per (apiVersion, kind) per call for
custom resources.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import jsonschema.exceptions
import kubernetes_validate
from referencing import Registry, Resource

from platform_kit.errors import BadInput

CRD_API_VERSION = "apiextensions.k8s.io/v1"
CRD_KIND = "CustomResourceDefinition"

_SCHEMA_ROOT = "kubernetes-json-schema"
_SCHEMA_DIR = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-local$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")
_MAX_VALUE_CHARS = 60
_MAX_MESSAGE_CHARS = 240


class SchemaVersionWarning(UserWarning):
    """The cluster's Kubernetes minor is not bundled; an older bundled minor's schemas are used."""


@dataclass(frozen=True)
class Problem:
    """One schema violation (or a missing schema) in one rendered object; ``message`` is one line."""

    kind: str
    namespace: str
    name: str
    message: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}: {self.message}"


# --- which bundled schemas ------------------------------------------------------------------------


@cache
def _bundled() -> dict[tuple[int, int], str]:
    """Bundled minors -> the schema directory's full version ("1.31.0"), from the installed package."""
    root = resources.files("kubernetes_validate").joinpath(_SCHEMA_ROOT)
    found: dict[tuple[int, int], tuple[int, int, int]] = {}
    for entry in root.iterdir():
        match = _SCHEMA_DIR.match(entry.name)
        if match and entry.joinpath("_definitions.json").is_file():
            major, minor, patch = (int(g) for g in match.groups())
            found[(major, minor)] = max(found.get((major, minor), (0, 0, 0)), (major, minor, patch))
    return {key: ".".join(map(str, full)) for key, full in sorted(found.items())}


def bundled_kubernetes_versions() -> list[str]:
    """The Kubernetes minors whose schemas the installed ``kubernetes-validate`` ships, oldest first."""
    return [f"{major}.{minor}" for major, minor in _bundled()]


def _select(kubernetes_version: str) -> tuple[str, str, str]:
    """(minor asked for, bundled minor used, its full schema version); BadInput if none fits."""
    match = _VERSION.match(kubernetes_version.strip())
    if not match:
        raise BadInput(
            f"'{kubernetes_version}' is not a Kubernetes version",
            hint="use a minor such as 1.31 (a patch or 'v' prefix is accepted)",
        )
    wanted = (int(match.group(1)), int(match.group(2)))
    bundled = _bundled()
    supported = ", ".join(bundled_kubernetes_versions())
    package = f"kubernetes-validate {kubernetes_validate.__version__}"
    if not bundled or wanted > max(bundled):
        raise BadInput(
            f"{package} has no schemas for Kubernetes {wanted[0]}.{wanted[1]} (bundled: {supported})",
            hint="upgrade kubernetes-validate to a release that bundles this Kubernetes minor",
        )
    lower = [key for key in bundled if key <= wanted]
    if not lower:
        raise BadInput(
            f"{package} has no schemas for Kubernetes {wanted[0]}.{wanted[1]} or older (bundled: {supported})",
            hint="validate against a Kubernetes minor the package bundles",
        )
    used = lower[-1]
    return f"{wanted[0]}.{wanted[1]}", f"{used[0]}.{used[1]}", bundled[used]


def schema_kubernetes_version(kubernetes_version: str) -> str:
    """The bundled minor whose schemas ``validate`` uses for ``kubernetes_version`` (raises BadInput)."""
    return _select(kubernetes_version)[1]


# --- built-in kinds: kubernetes-validate's bundled OpenAPI schemas ----------------------------------


@dataclass(frozen=True)
class _Builtins:
    index: dict[tuple[str, str, str], str]  # (group, version, kind) -> definition name
    groups: frozenset[str]
    registry: Registry
    base: str  # the definitions document's $id


@cache
def _builtins(full_version: str, strict: bool) -> _Builtins:
    directory = f"v{full_version}-local" + ("-strict" if strict else "")
    path = resources.files("kubernetes_validate").joinpath(_SCHEMA_ROOT, directory, "_definitions.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    index: dict[tuple[str, str, str], str] = {}
    for name, definition in document["$defs"].items():
        for gvk in definition.get("x-kubernetes-group-version-kind") or ():
            index.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
    base = document["$id"]
    registry = Registry().with_resource(base, Resource.from_contents(document))
    return _Builtins(index, frozenset(group for group, _, _ in index), registry, base)


@cache
def _builtin_validator(full_version: str, strict: bool, group: str, version: str, kind: str) -> Any:
    builtins = _builtins(full_version, strict)
    name = builtins.index.get((group, version, kind))
    if name is None:
        return None
    schema = {"$ref": f"{builtins.base}#/$defs/{name}"}
    return jsonschema.Draft202012Validator(schema, registry=builtins.registry)


# --- custom resources: the CRDs' openAPIV3Schema ----------------------------------------------------

_SUBSCHEMA_MAPS = ("properties", "patternProperties", "definitions", "dependencies")
_SUBSCHEMA = ("items", "additionalProperties", "additionalItems")
_JUNCTORS = ("allOf", "anyOf", "oneOf", "not")


def _structural(node: Any, strict: bool, in_junctor: bool = False) -> Any:
    """A CRD (OpenAPI v3, structural) schema node as JSON Schema draft 4, following the API server.

    - ``nullable: true`` adds ``null`` to the type (and enum).
    - ``x-kubernetes-int-or-string: true`` means integer or string, whatever ``type`` says.
    - ``x-kubernetes-embedded-resource: true``: an object with ``apiVersion`` and ``kind`` (required, as the
      API server requires them) and ``metadata`` besides its declared properties.
    - ``x-kubernetes-preserve-unknown-fields: true`` keeps fields the schema does not declare; everywhere
      else (when ``strict``) an object node accepts only its declared properties: the API server prunes the
      rest, and ``kubectl apply``'s default strict field validation reports them as unknown fields.
      Subschemas of ``allOf``/``anyOf``/``oneOf``/``not`` only add constraints to the main schema (a
      structural-schema rule), so no closing ``additionalProperties`` is added inside them.
    - Other ``x-kubernetes-*`` keys (list/map types, CEL validations) are dropped.
    """
    if isinstance(node, list):
        return [_structural(item, strict, in_junctor) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key == "nullable":
            continue
        if key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _structural(sub, strict, in_junctor) for name, sub in value.items()}
        elif key in _SUBSCHEMA:
            out[key] = _structural(value, strict, in_junctor)
        elif key in _JUNCTORS:
            out[key] = _structural(value, strict, in_junctor=True)
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if node.get("x-kubernetes-embedded-resource"):
        properties = out.setdefault("properties", {})
        properties.setdefault("apiVersion", {"type": "string"})
        properties.setdefault("kind", {"type": "string"})
        properties.setdefault("metadata", {"type": "object"})
        out["required"] = sorted({*out.get("required", ()), "apiVersion", "kind"})
    if node.get("nullable"):
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    is_object = out.get("type") == "object" or "properties" in out
    if (
        strict
        and is_object
        and not in_junctor
        and not node.get("x-kubernetes-preserve-unknown-fields")
        and "additionalProperties" not in out
    ):
        out["additionalProperties"] = False
    return out


def _prune_nulls(value: Any, schema: Mapping[str, Any] | None) -> Any:
    """``value`` without the nulls the API server drops before validating a custom resource.

    Like apiextensions' PruneNonNullableNullsWithoutDefaults (and the defaulting after it): a null for a
    declared, non-nullable field is removed, or replaced by the field's default when it has one.
    """
    if isinstance(value, Mapping):
        properties = (schema or {}).get("properties") or {}
        additional = (schema or {}).get("additionalProperties")
        out = {}
        for key, item in value.items():
            sub = properties.get(key, additional if isinstance(additional, Mapping) else None)
            if item is None and sub is not None and not sub.get("nullable"):
                if "default" in sub:
                    out[key] = sub["default"]
                continue
            out[key] = _prune_nulls(item, sub)
        return out
    if isinstance(value, list):
        items = (schema or {}).get("items")
        return [_prune_nulls(item, items if isinstance(items, Mapping) else None) for item in value]
    return value


def _root_schema(open_api_v3: Mapping[str, Any], strict: bool) -> dict[str, Any]:
    """The CR's top-level schema: apiVersion and kind always allowed, metadata left out."""
    schema = _structural(dict(open_api_v3), strict)
    properties = schema.setdefault("properties", {})
    properties.pop("metadata", None)
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    if "required" in schema:
        schema["required"] = [field for field in schema["required"] if field != "metadata"]
    return schema


def _crd_index(crds: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Mapping[str, Any]]:
    """(group, kind) -> CRD; a later CRD for the same group/kind wins (the render's over ``extra_crds``).

    Only ``apiextensions.k8s.io/v1`` CRDs count: v1beta1 is gone since Kubernetes 1.22, and a v1beta1
    CRD in the render is itself reported (no built-in schema for it).
    """
    index: dict[tuple[str, str], Mapping[str, Any]] = {}
    for crd in crds:
        if not isinstance(crd, Mapping) or crd.get("apiVersion") != CRD_API_VERSION or crd.get("kind") != CRD_KIND:
            continue
        spec = crd.get("spec") or {}
        group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
        if isinstance(group, str) and isinstance(kind, str):
            index[(group, kind)] = crd
    return index


# --- messages ---------------------------------------------------------------------------------------

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
_SIMPLE_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


def _path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _SIMPLE_KEY.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text or "(root)"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def _type_name(value: Any) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[: _MAX_MESSAGE_CHARS - 3] + "..."


def _messages(error: jsonschema.exceptions.ValidationError) -> Iterator[str]:
    """One-line ``field.path: what is wrong`` messages for one jsonschema error."""
    parts = list(error.absolute_path)
    where = _path(parts)
    instance, keyword, expected = error.instance, error.validator, error.validator_value
    if keyword == "additionalProperties" and expected is False and isinstance(instance, dict):
        declared = set(error.schema.get("properties") or ())
        patterns = list(error.schema.get("patternProperties") or ())
        for field in sorted(instance):
            if field not in declared and not any(re.search(p, field) for p in patterns):
                yield f"{_path([*parts, field])}: unknown field"
    elif keyword == "required" and isinstance(instance, dict):
        for field in expected:
            if field not in instance:
                yield f"{_path([*parts, field])}: required field missing"
    elif keyword == "type":
        types = [expected] if isinstance(expected, str) else list(expected)
        shown = [t for t in types if t != "null"] or types
        yield f"{where}: expected {' or '.join(shown)}, got {_type_name(instance)} {_short(instance)}"
    elif keyword == "enum":
        allowed = [v for v in expected if v is not None] or list(expected)
        yield f"{where}: {_short(instance)} is not one of {_short(allowed)}"
    elif keyword in ("oneOf", "anyOf") and error.context:
        if all(sub.validator == "type" for sub in error.context):
            types: list[str] = []
            for sub in error.context:
                value = sub.validator_value
                types += [t for t in ([value] if isinstance(value, str) else value) if t != "null" and t not in types]
            yield f"{where}: expected {' or '.join(types)}, got {_type_name(instance)} {_short(instance)}"
        else:
            best = jsonschema.exceptions.best_match(error.context)
            detail = next(_messages(best), _one_line(best.message)) if best is not None else ""
            yield _one_line(f"{where}: matches none of the allowed schemas ({detail})")
    else:
        yield _one_line(f"{where}: {error.message}")


def _problems(obj: Mapping[str, Any], validator: Any, instance: Mapping[str, Any]) -> list[Problem]:
    messages: dict[str, None] = {}
    errors = sorted(validator.iter_errors(instance), key=lambda e: [(isinstance(p, str), p) for p in e.absolute_path])
    for error in errors:
        for message in _messages(error):
            messages.setdefault(message, None)
    return [_problem(obj, message) for message in messages]


def _problem(obj: Mapping[str, Any], message: str) -> Problem:
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    return Problem(
        kind=str(obj.get("kind") or "?"),
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or metadata.get("generateName") or "?"),
        message=message,
    )


# --- the entry point --------------------------------------------------------------------------------


def validate(
    objects: Sequence[Mapping[str, Any]],
    kubernetes_version: str,
    extra_crds: Iterable[Mapping[str, Any]] = (),
    *,
    allow_without_schema: Collection[tuple[str, str]] = (),
    strict: bool = True,
) -> list[Problem]:
    """Validate every rendered object; returns the problems (none means schema-valid), in input order.

    ``kubernetes_version`` is the cluster's minor ("1.31"; "v1.31.4-eks-..." works too). ``extra_crds``
    adds CustomResourceDefinitions installed on the cluster by other means; a CRD in ``objects`` wins
    over one for the same group/kind in ``extra_crds``. ``allow_without_schema`` names (group, kind)
    pairs that may appear without any schema (group "" is the core group). ``strict=False`` accepts
    unknown fields (built-in kinds and custom resources alike). Raises BadInput for a Kubernetes
    version that has no usable bundled schemas; warns (SchemaVersionWarning) when an older bundled
    minor stands in for a missing one.
    """
    wanted, used, full_version = _select(kubernetes_version)
    if wanted != used:
        warnings.warn(
            f"kubernetes-validate {kubernetes_validate.__version__} bundles no schemas for Kubernetes {wanted}; "
            f"validating against the nearest older bundled minor, {used}",
            SchemaVersionWarning,
            stacklevel=2,
        )
    builtins = _builtins(full_version, strict)
    crds = _crd_index([*extra_crds, *objects])
    allowed = {(group, kind) for group, kind in allow_without_schema}
    custom_validators: dict[tuple[str, str], tuple[jsonschema.Draft4Validator, Mapping[str, Any]] | str | None] = {}
    problems: list[Problem] = []

    for obj in objects:
        if not isinstance(obj, Mapping):
            problems.append(Problem("?", "", "?", f"(root): expected a Kubernetes object, got {_type_name(obj)}"))
            continue
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        missing = [field for field, value in (("apiVersion", api_version), ("kind", kind)) if not value]
        if missing or not isinstance(api_version, str) or not isinstance(kind, str):
            fields = missing or ["apiVersion", "kind"]
            problems += [_problem(obj, f"{field}: required field missing or not a string") for field in fields]
            continue
        group, _, version = api_version.rpartition("/")
        metadata = obj.get("metadata")
        if not isinstance(metadata, Mapping) or not (metadata.get("name") or metadata.get("generateName")):
            problems.append(_problem(obj, "metadata.name: required field missing"))

        validator = _builtin_validator(full_version, strict, group, version, kind)
        if validator is not None:
            problems += _problems(obj, validator, obj)
            continue

        crd = crds.get((group, kind))
        if crd is not None:
            key = (api_version, kind)
            if key not in custom_validators:
                custom_validators[key] = _custom_validator(crd, version, strict)
            checker = custom_validators[key]
            if isinstance(checker, str):
                problems.append(_problem(obj, checker))
            elif checker is not None:
                custom, open_api_v3 = checker
                instance = _prune_nulls({k: v for k, v in obj.items() if k != "metadata"}, open_api_v3)
                problems += _problems(obj, custom, instance)
            continue

        if (group, kind) in allowed:
            continue
        if group in builtins.groups:
            message = f"no schema: {api_version} {kind} is not in the Kubernetes {used} API"
        else:
            message = f"no schema: CRD not in the render ({api_version} {kind})"
        problems.append(_problem(obj, message))
    return problems


def _custom_validator(
    crd: Mapping[str, Any], version: str, strict: bool
) -> tuple[jsonschema.Draft4Validator, Mapping[str, Any]] | str | None:
    """(Draft 4 validator, the CRD's schema) for one CRD version, ``None`` (no schema: accept), or a problem."""
    spec = crd.get("spec") or {}
    name = (crd.get("metadata") or {}).get("name") or "?"
    versions = {v.get("name"): v for v in spec.get("versions") or () if isinstance(v, Mapping)}
    entry = versions.get(version)
    if entry is None:
        return f"apiVersion: CRD {name} has no version {version} (defines: {', '.join(map(str, versions))})"
    if not entry.get("served", False):
        return f"apiVersion: version {version} of CRD {name} is not served"
    open_api_v3 = (entry.get("schema") or {}).get("openAPIV3Schema")
    if not isinstance(open_api_v3, Mapping):
        return None
    schema = _root_schema(open_api_v3, strict)
    try:
        jsonschema.Draft4Validator.check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        return _one_line(f"(root): CRD {name} version {version} has an unusable schema: {exc.message}")
    return jsonschema.Draft4Validator(schema), open_api_v3
