"""Applying a platform render to a cluster, in the order a cluster can take it.

- CustomResourceDefinitions first, then a wait until the API server says each is ``Established``:
  until then it answers 404 for their kinds, so a custom resource applied too early fails.
- Then everything else, kinds in dependency order (namespaces before what lives in them, service
  accounts and RBAC before workloads, admission webhooks last so no webhook intercepts an apply
  before its service exists), custom resources after the built-in kinds.
- Secrets are made at apply time from the render's ``secrets.yaml`` (``secret_values``), with
  their values in ``data`` as the API server stores them, so a re-run compares equal and writes
  nothing; no value is logged.
- Pruning deletes only objects whose live copy carries the kit's environment label with this
  environment's name, whatever a render says: an object someone else created keeps living.

Every write goes through ``kube.Cluster``: read first, server-side apply only what differs, bounded
retries. Nothing here keeps local state; ``missing`` reads the cluster to say what is still to do.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from platform_kit.errors import OperationFailed

CRD_KIND = "CustomResourceDefinition"
ENV_LABEL = "platform-kit.io/environment"
ESTABLISH_TIMEOUT = 120.0
NAMESPACE_TIMEOUT = 120.0

# Built-in kinds in the order they can be applied. The order follows what installers settled on
# (Helm's install order is the best-known list): namespaces and policies that admit pods, then
# identities and configuration, storage, RBAC, services, workloads, routing; admission webhooks
# go last here so that no webhook intercepts objects before the service behind it exists.
KIND_ORDER = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PriorityClass",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def is_crd(obj: dict[str, Any]) -> bool:
    return obj.get("kind") == CRD_KIND and str(obj.get("apiVersion", "")).startswith("apiextensions.k8s.io/")


def order(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``objects`` in apply order: CRDs, the built-in kinds by ``KIND_ORDER``, custom resources, webhooks."""

    def rank(obj: dict[str, Any]) -> tuple[int, int, str, str, str]:
        kind = str(obj.get("kind"))
        if is_crd(obj):
            position = (0, 0)
        elif kind in WEBHOOK_KINDS:
            position = (3, WEBHOOK_KINDS.index(kind))
        elif kind in KIND_ORDER:
            position = (1, KIND_ORDER.index(kind))
        else:
            position = (2, 0)
        meta = _meta(obj)
        return (*position, kind, str(meta.get("namespace") or ""), str(meta.get("name")))

    return sorted(objects, key=rank)


def describe(obj: dict[str, Any]) -> str:
    meta = _meta(obj)
    return f"{obj.get('kind')} {meta['namespace'] + '/' if meta.get('namespace') else ''}{meta.get('name')}"


def not_established(live: dict[str, Any] | None) -> str | None:
    """Why a live CRD is not usable yet (None when its ``Established`` condition is True)."""
    if live is None:
        return "not created"
    for condition in (live.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Established":
            return None if condition.get("status") == "True" else f"Established={condition.get('status')}"
    return "no Established condition yet"


def wait_established(cluster: Any, names: list[str], *, timeout: float = ESTABLISH_TIMEOUT) -> None:
    """Poll until every CRD in ``names`` is Established; OperationFailed naming the first that is not."""
    if not names:
        return

    pending = list(names)

    def check() -> str | None:
        # Each round reads only the CRDs not yet Established (a CRD once established stays so).
        reasons = {name: not_established(cluster.get("apiextensions.k8s.io/v1", CRD_KIND, name)) for name in pending}
        pending[:] = [name for name, why in reasons.items() if why is not None]
        if not pending:
            return None
        first = pending[0]
        more = f" (and {len(pending) - 1} more)" if len(pending) > 1 else ""
        return f"CRD {first}: {reasons[first]}{more}"

    cluster.wait_for(check, timeout=timeout, what=f"{len(names)} CRD(s) to be Established")


def _served(cluster: Any, obj: dict[str, Any]) -> bool:
    try:
        cluster.resource(obj["apiVersion"], obj["kind"])
    except OperationFailed:
        return False
    return True


def _live(cluster: Any, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The live copy of ``obj``; None when absent or its kind is not served."""
    if not _served(cluster, obj):
        return None
    meta = _meta(cluster.scoped(obj))
    return cluster.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))


def missing(cluster: Any, objects: list[dict[str, Any]], *, limit: int | None = None) -> list[str]:
    """Objects of ``objects`` whose live copy does not hold every field rendered (``describe`` lines);
    stops after ``limit`` found. A kind the cluster does not serve yet counts as missing."""
    from platform_kit.kube import contains, without_status

    found: list[str] = []
    for obj in objects:
        live = _live(cluster, obj)
        if (
            live is None
            or not contains(live, without_status(cluster.scoped(obj)))
            or (is_crd(obj) and not_established(live))
        ):
            found.append(describe(obj))
            if limit is not None and len(found) >= limit:
                break
    return found


def apply_all(
    cluster: Any, objects: list[dict[str, Any]], *, on_line: Callable[[str], None] = lambda _: None
) -> Counter[str]:
    """Server-side apply ``objects`` in ``order``; CRDs are waited for before anything else is applied.
    Returns how many objects were created, changed and unchanged."""
    counts: Counter[str] = Counter()
    ordered = order(objects)
    crds = [o for o in ordered if is_crd(o)]
    for obj in crds:
        counts[cluster.apply(obj)] += 1
    wait_established(cluster, [str(_meta(o)["name"]) for o in crds])
    rest = [o for o in ordered if not is_crd(o)]
    for number, obj in enumerate(rest, 1):
        counts[cluster.apply(obj)] += 1
        if number % 50 == 0:
            on_line(f"{number}/{len(rest)} objects applied")
    return counts


def secret_objects(cluster: Any, specs: list[dict[str, Any]], secretsmanager: Any) -> list[dict[str, Any]]:
    """The Secrets ``specs`` (a render's ``secrets.yaml``) describe, values read now; ``data`` holds them
    base64-encoded, as the API server keeps them, so an unchanged Secret is not written again."""
    from platform_kit import secret_values

    def existing(namespace: str, name: str) -> dict[str, str] | None:
        live = cluster.get("v1", "Secret", name, namespace)
        if live is None:
            return None
        return {k: base64.b64decode(v).decode("utf-8") for k, v in (live.get("data") or {}).items()}

    objects = secret_values.resolve(specs, secretsmanager, existing=existing)
    for obj in objects:
        values = obj.pop("stringData")
        obj["data"] = {k: base64.b64encode(v.encode("utf-8")).decode("ascii") for k, v in values.items()}
    return objects


def prune(cluster: Any, objects: list[dict[str, Any]], env: str) -> tuple[list[str], list[str]]:
    """Delete those of ``objects`` whose live copy carries ``ENV_LABEL: env``; CRDs are never deleted
    here (that would delete every object of their kinds), nor PersistentVolumeClaims (their data
    would go with them). Returns (deleted, kept with the reason)."""
    deleted: list[str] = []
    kept: list[str] = []
    for obj in objects:
        meta = _meta(obj)
        reason = _never_pruned(obj)
        if reason:
            kept.append(f"{describe(obj)}: {reason}")
            continue
        live = _live(cluster, obj)
        if live is None:
            continue
        label = (_meta(live).get("labels") or {}).get(ENV_LABEL)
        if label != env:
            kept.append(f"{describe(obj)}: live copy not labelled {ENV_LABEL}={env}")
            continue
        if cluster.delete(obj["apiVersion"], obj["kind"], meta["name"], _meta(live).get("namespace")):
            deleted.append(describe(obj))
    return deleted, kept


def _never_pruned(obj: dict[str, Any]) -> str | None:
    """Why ``prune`` keeps ``obj`` whatever its label says, or None."""
    if is_crd(obj):
        return "a CRD (deleting it deletes all its objects; remove it by hand)"
    if obj.get("kind") == "PersistentVolumeClaim":
        return "a volume claim (its data would be lost; delete it by hand once unneeded)"
    return None


def still_present(cluster: Any, objects: list[dict[str, Any]], env: str) -> list[str]:
    """Objects of a prune set that still exist with the kit's label (what ``prune`` would delete)."""
    found = []
    for obj in objects:
        if _never_pruned(obj):
            continue
        live = _live(cluster, obj)
        if live is not None and (_meta(live).get("labels") or {}).get(ENV_LABEL) == env:
            found.append(describe(obj))
    return found


def apply_render(
    cluster: Any,
    folder: Any,
    secretsmanager: Callable[[], Any],
    *,
    on_line: Callable[[str], None] = lambda _: None,
) -> tuple[Counter[str], int]:
    """Apply the render in ``folder`` (``platform render``'s build directory, or a teams-only one):
    CRDs, waited for until Established; then each team's Profile, whose namespace the profile
    controller makes (waited for); then everything else with the Secrets of its ``secrets.yaml``
    (``secretsmanager`` makes the client, only when a Secret needs it). Returns the counts and how
    many Secrets were made."""
    from pathlib import Path

    from platform_kit import manifests, secret_values

    objects = manifests.read_render(folder)
    specs = secret_values.load_specs(folder) if (Path(folder) / "secrets.yaml").is_file() else []  # teams only: none
    secrets = secret_objects(cluster, specs, secretsmanager()) if specs else []
    crds = [o for o in objects if is_crd(o)]
    profiles = [o for o in objects if o.get("kind") == "Profile"]
    rest = [o for o in objects if not is_crd(o) and o.get("kind") != "Profile"]
    counts = apply_all(cluster, crds, on_line=on_line)
    for profile in profiles:
        counts[cluster.apply(profile)] += 1
    for profile in profiles:
        name = str(_meta(profile)["name"])

        def namespace_there(name: str = name) -> str | None:
            if cluster.get("v1", "Namespace", name) is None:
                return f"namespace {name} not created yet (is the Kubeflow profile controller running?)"
            return None

        cluster.wait_for(namespace_there, timeout=NAMESPACE_TIMEOUT, what=f"namespace {name}")
    counts.update(apply_all(cluster, rest + secrets, on_line=on_line))
    return counts, len(secrets)


def counts_line(counts: Counter[str], secrets: int) -> str:
    return (
        f"{counts['created']} created, {counts['changed']} changed, {counts['unchanged']} unchanged "
        f"({secrets} Secrets from their references)"
    )
