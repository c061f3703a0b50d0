"""The kit's own checks on rendered Kubernetes objects: the rules checkov has no check for.

Each check is a pure function over a list of object dicts (one rendered document each) and returns
one-line findings, ``Kind namespace/name: what is wrong`` (``Kind name`` for cluster-scoped
objects); an empty list means the rule holds. ``run_all`` runs every check with the allow-lists
kept as data in this module. Allow-lists never apply to objects the kit renders itself (label
``app.kubernetes.io/managed-by: platform-kit``): a finding there is always real.

Findings never repeat a secret value: they name the field and which known default it is.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
KIT_MANAGER = "platform-kit"
USERID_HEADER = "request.headers[kubeflow-userid]"
PSS_LEVELS = ("privileged", "baseline", "restricted")
PSS_ENFORCE_AT_LEAST = ("baseline", "restricted")

# --- data: allow-lists (object ref -> why the finding is accepted) ---------------------------

# AuthorizationPolicies allowed to admit on the kubeflow-userid header without source principals.
# Empty: upstream's own policies pass (see authorization_policy_principals), and the kit's never may.
AUTHZ_HEADER_ALLOW: dict[str, str] = {}

# Roles and ClusterRoles allowed a `*` in verbs, resources or apiGroups. Only upstream objects whose
# wildcard stays within their own API group, read-only verbs or named resources are here; the
# others upstream ships (kubeflow/pipeline-runner; katib-ui's all verbs on namespaces and ConfigMaps
# when katib is on) stay findings until someone decides to patch or accept them.
RBAC_WILDCARD_ALLOW: dict[str, str] = {
    "ClusterRole dex": "all verbs on dex.coreos.com only: Dex's own storage objects (Kubernetes storage backend)",
    "ClusterRole istio-reader-clusterrole-istio-system": "read-only (get, list, watch) on Istio's own API groups",
    "ClusterRole istiod-clusterrole-istio-system": (
        "read-only on Istio's and the Gateway API's groups; all verbs only on ingresses/status, which istiod writes"
    ),
    "ClusterRole kubeflow-istio-edit": "read-only (get, list, watch) on Istio networking objects, for team members",
    "ClusterRole kubeflow-istio-view": "read-only (get, list, watch) on Istio networking objects, for team viewers",
    "ClusterRole ml-pipeline-viewer-controller-role": (
        "'*' only in apiGroups, for resources named deployments and services: the TensorBoard viewers it creates "
        "(['', 'apps'] would do; a one-line upstream patch)"
    ),
    "Role kubeflow/ml-pipeline-viewer-controller-role": (
        "'*' only in apiGroups, for resources named deployments and services: the TensorBoard viewers it creates "
        "(['', 'apps'] would do; a one-line upstream patch)"
    ),
    "ClusterRole notebook-controller-role": (
        "all verbs only on what the notebook controller creates per notebook (statefulsets, services, "
        "virtualservices) and on notebooks; optional jupyter component"
    ),
    "ClusterRole katib-controller": "all verbs only on Katib's own experiments, trials and suggestions; optional katib",
    "Role kubeflow/pipeline-runner": (
        "upstream's runner role, bound only to the pipeline-runner service account of the kubeflow namespace; "
        "with multi-user Pipelines no team runs there (team runs use their namespace's default-editor), so "
        "nothing the kit onboards holds it"
    ),
    "ClusterRole katib-ui": (
        "all verbs on namespaces, configmaps and Katib's own objects for the Katib UI's service account; "
        "optional katib component, off unless kubeflow.components.katib is true"
    ),
    "ClusterRole aggregate-to-kubeflow-pipelines-edit": (
        "all verbs on named pipeline objects only (Argo workflows, scheduled workflows), aggregated into "
        "kubeflow-edit and bound per team namespace, so editors can run and delete their own runs"
    ),
}

# --- data: upstream Kubeflow's default credentials and placeholders -------------------------


@dataclass(frozen=True)
class DefaultCredential:
    """A credential upstream ships as a default, and the files in kubeflow/manifests that carry it."""

    what: str
    value: str
    sources: tuple[str, ...]
    # "token": anywhere in any string, as a whole token; "secret": only as a whole Secret value.
    match: str = "token"


_MINIO_SECRET = (
    "applications/pipeline/upstream/third-party/minio/base/mlpipeline-minio-artifact-secret.yaml",
    "applications/pipeline/upstream/third-party/seaweedfs/base/seaweedfs/mlpipeline-minio-artifact-secret.yaml",
)
DEFAULT_CREDENTIALS: tuple[DefaultCredential, ...] = (
    DefaultCredential(
        "Dex's default static user",
        "user@example.com",
        ("common/dex/base/config-map.yaml", "common/dex/overlays/oauth2-proxy/config-map.yaml"),
    ),
    DefaultCredential(
        "Dex's default user's password hash",
        "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72",
        ("common/dex/base/dex-passwords.yaml",),
    ),
    DefaultCredential(
        "the default oauth2-proxy/Dex client secret",
        "pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok",
        ("common/oauth2-proxy/base/kustomization.yaml", "common/dex/base/secret_params.env"),
    ),
    DefaultCredential(
        "the default oauth2-proxy cookie secret",
        "7d16fee92f8d11b8940b081b3f8b8acb",
        ("common/oauth2-proxy/base/kustomization.yaml",),
    ),
    DefaultCredential("MinIO's default secret key", "minio123", _MINIO_SECRET),
    # "minio" is also a Service, label and image name: only a whole Secret value counts as the key.
    DefaultCredential("MinIO's default access key", "minio", _MINIO_SECRET, match="secret"),
)

# Placeholders upstream leaves for a human, and where: a whole token (not part of a longer name
# such as ISTIO_META_CLUSTER_ID, not a $VAR reference) in any value is one left unreplaced.
PLACEHOLDERS: dict[str, str] = {
    "AWS_REGION": "common/oauth2-proxy/overlays/m2m-dex-and-eks/kustomization.yaml",
    "CLUSTER_ID": "common/oauth2-proxy/overlays/m2m-dex-and-eks/kustomization.yaml",
    "PATCH_ME": "common/oauth2-proxy/components/istio-m2m/requestauthentication.yaml",
}


# --- helpers ----------------------------------------------------------------------------------


def object_ref(obj: Mapping[str, Any]) -> str:
    """``Kind namespace/name``, or ``Kind name`` for an object without a namespace."""
    metadata = obj.get("metadata") or {}
    namespace = metadata.get("namespace")
    name = metadata.get("name", "?")
    return f"{obj.get('kind', '?')} {namespace}/{name}" if namespace else f"{obj.get('kind', '?')} {name}"


def is_kit_object(obj: Mapping[str, Any]) -> bool:
    """True for objects the kit renders itself (label ``app.kubernetes.io/managed-by: platform-kit``)."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) == KIT_MANAGER


def _allowed(obj: Mapping[str, Any], allow: Mapping[str, str]) -> bool:
    return not is_kit_object(obj) and object_ref(obj) in allow


# --- Istio: who may claim a user through the kubeflow-userid header ---------------------------


def _requires_header_absent(condition: Mapping[str, Any]) -> bool:
    """``notValues: ["*"]`` and no ``values``: the rule only matches requests without the header."""
    return not condition.get("values") and "*" in (condition.get("notValues") or [])


def authorization_policy_principals(objects: list[dict[str, Any]], allow: Mapping[str, str] | None = None) -> list[str]:
    """ALLOW rules keyed on ``request.headers[kubeflow-userid]`` must name their source principals.

    Any workload in the mesh can set that header, so a rule that admits on it must also say who
    may send it (``from.source.principals``, no ``*``). A rule whose condition only requires the
    header to be absent (``notValues: ["*"]``) cannot admit a request carrying it, so it passes.
    ``allow`` maps object refs to reasons; ``None`` means ``AUTHZ_HEADER_ALLOW``.
    """
    allow = AUTHZ_HEADER_ALLOW if allow is None else allow
    findings: list[str] = []
    for obj in objects:
        if obj.get("kind") != "AuthorizationPolicy" or _allowed(obj, allow):
            continue
        spec = obj.get("spec") or {}
        if str(spec.get("action", "ALLOW")).upper() != "ALLOW":
            continue
        for index, rule in enumerate(spec.get("rules") or []):
            rule = rule or {}
            on_header = [
                c for c in rule.get("when") or [] if str((c or {}).get("key", "")).strip().lower() == USERID_HEADER
            ]
            if not on_header or any(_requires_header_absent(c) for c in on_header):
                continue
            sources = rule.get("from") or []
            if not sources:
                findings.append(
                    f"{object_ref(obj)}: rule {index} admits on {USERID_HEADER} from any source "
                    "(no from.source.principals)"
                )
            for position, entry in enumerate(sources):
                principals = ((entry or {}).get("source") or {}).get("principals") or []
                if not principals:
                    findings.append(
                        f"{object_ref(obj)}: rule {index} admits on {USERID_HEADER} and its from[{position}] "
                        "has no source.principals"
                    )
                elif "*" in principals:
                    findings.append(
                        f"{object_ref(obj)}: rule {index} admits on {USERID_HEADER} from the wildcard principal '*'"
                    )
    return findings


# --- Pod Security Standards on the kit's namespaces -------------------------------------------


def pod_security_labels(objects: list[dict[str, Any]]) -> list[str]:
    """Each Namespace the kit renders enforces at least ``baseline`` and sets ``audit`` and ``warn``."""
    findings: list[str] = []
    for obj in objects:
        if obj.get("kind") != "Namespace" or not is_kit_object(obj):
            continue
        labels = (obj.get("metadata") or {}).get("labels") or {}
        enforce = labels.get("pod-security.kubernetes.io/enforce")
        if enforce not in PSS_ENFORCE_AT_LEAST:
            found = f"'{enforce}'" if enforce is not None else "missing"
            findings.append(
                f"{object_ref(obj)}: pod-security.kubernetes.io/enforce is {found}; want baseline or restricted"
            )
        for mode in ("audit", "warn"):
            value = labels.get(f"pod-security.kubernetes.io/{mode}")
            if value not in PSS_LEVELS:
                found = f"'{value}'" if value is not None else "missing"
                findings.append(
                    f"{object_ref(obj)}: pod-security.kubernetes.io/{mode} is {found}; "
                    f"want one of {', '.join(PSS_LEVELS)}"
                )
    return findings


# --- RBAC wildcards ---------------------------------------------------------------------------


def wildcard_rbac(objects: list[dict[str, Any]], allow: Mapping[str, str] | None = None) -> list[str]:
    """No Role or ClusterRole rule has ``*`` in verbs, apiGroups or resources (``pods/*`` counts too).

    ``allow`` maps object refs to reasons; ``None`` means ``RBAC_WILDCARD_ALLOW``.
    """
    allow = RBAC_WILDCARD_ALLOW if allow is None else allow
    findings: list[str] = []
    for obj in objects:
        if obj.get("kind") not in ("Role", "ClusterRole") or _allowed(obj, allow):
            continue
        for index, rule in enumerate(obj.get("rules") or []):
            rule = rule or {}
            fields = [
                field
                for field in ("verbs", "apiGroups", "resources")
                if any("*" in str(item) for item in rule.get(field) or [])
            ]
            if fields:
                findings.append(f"{object_ref(obj)}: rule {index} has '*' in {', '.join(fields)}")
    return findings


# --- default credentials, placeholders and secret values --------------------------------------

_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
# Fields whose value names something rather than being a value: an env var's name, the key a
# ConfigMap/Secret reference reads, and the prose in a CRD's schema.
_NAME_FIELDS = {("env", "name"), ("configMapKeyRef", "key"), ("secretKeyRef", "key")}


def _credential_token(value: str) -> re.Pattern[str]:
    # Not inside a longer word, e-mail address or domain (poweruser@example.com, user@example.com.au).
    return re.compile(rf"(?<![\w.+-]){re.escape(value)}(?![\w-]|\.\w)")


def _placeholder_token(name: str) -> re.Pattern[str]:
    # Not inside a longer name (ISTIO_META_CLUSTER_ID), not a $VAR, ${VAR} or $(VAR) reference, and
    # not a `name:`/`key:` value inside embedded YAML (an env var's name in a sidecar template).
    return re.compile(rf"(?<![\w$])(?<!\$\{{)(?<!\$\()(?<!name: )(?<!key: ){re.escape(name)}(?!\w)")


_CREDENTIAL_TOKENS = [(c, _credential_token(c.value)) for c in DEFAULT_CREDENTIALS if c.match == "token"]
_SECRET_VALUES = {c.value: c for c in DEFAULT_CREDENTIALS if c.match == "secret"}
_PLACEHOLDER_TOKENS = [(name, _placeholder_token(name)) for name in PLACEHOLDERS]


def _decode(value: str, min_length: int = 8) -> str | None:
    """The text inside a base64 string, or None when it is not base64 of UTF-8 text."""
    compact = "".join(value.split())
    if len(compact) < max(min_length, 1) or len(compact) % 4 or not _BASE64.fullmatch(compact):
        return None
    try:
        return base64.b64decode(compact, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def _strings(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _strings(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, index))
    elif isinstance(node, str):
        yield path, node


def _dotted(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _names_something(obj: Mapping[str, Any], path: tuple[str | int, ...]) -> bool:
    keys = [p for p in path if isinstance(p, str)]
    if len(keys) >= 2 and (keys[-2], keys[-1]) in _NAME_FIELDS:
        return True
    return obj.get("kind") == "CustomResourceDefinition" and bool(keys) and keys[-1] == "description"


def _secret_value_fields(obj: Mapping[str, Any]) -> list[str]:
    fields = []
    for section in ("data", "stringData"):
        for key, value in (obj.get(section) or {}).items():
            if value not in (None, ""):
                fields.append(f"{section}.{key}")
    return fields


def default_secrets(objects: list[dict[str, Any]]) -> list[str]:
    """Upstream's default credentials, unreplaced placeholders, and any Secret carrying values.

    Every string value is searched, and also the text inside it when it is base64 (Secret ``data``,
    ConfigMap ``binaryData``, or any other base64 string). The rendered output never holds a secret
    value: the kit applies Secrets from AWS Secrets Manager at apply time, so a Secret with a
    non-empty ``data`` or ``stringData`` value is a finding whatever the value is.
    """
    findings: list[str] = []
    for obj in objects:
        found: list[str] = []
        kind = obj.get("kind")
        for path, raw in _strings(obj):
            field = _dotted(path)
            secret_value = kind == "Secret" and len(path) == 2 and path[0] in ("data", "stringData")
            always_base64 = (kind == "Secret" and path[:1] == ("data",)) or (
                kind == "ConfigMap" and path[:1] == ("binaryData",)
            )
            decoded = _decode(raw, 1 if always_base64 else 8)
            texts = [(raw, "")] + ([(decoded, " (base64)")] if decoded is not None else [])
            for text, how in texts:
                for credential, pattern in _CREDENTIAL_TOKENS:
                    if pattern.search(text):
                        found.append(f"{field} holds {credential.what}{how} ({credential.sources[0]})")
                credential = _SECRET_VALUES.get(text.strip()) if secret_value else None
                if credential is not None:
                    found.append(f"{field} holds {credential.what}{how} ({credential.sources[0]})")
                if _names_something(obj, path):
                    continue
                for name, pattern in _PLACEHOLDER_TOKENS:
                    if pattern.search(text):
                        found.append(f"{field} has the unreplaced placeholder {name}{how} ({PLACEHOLDERS[name]})")
        fields = _secret_value_fields(obj) if kind == "Secret" else []
        if fields:
            found.append(
                f"carries values in {', '.join(fields)}; rendered output holds none "
                "(the kit applies secrets from AWS Secrets Manager at apply time)"
            )
        findings.extend(f"{object_ref(obj)}: {message}" for message in dict.fromkeys(found))
    return findings


def run_all(objects: list[dict[str, Any]]) -> list[str]:
    """Every check above, with this module's allow-lists."""
    return [
        *authorization_policy_principals(objects),
        *pod_security_labels(objects),
        *wildcard_rbac(objects),
        *default_secrets(objects),
    ]
