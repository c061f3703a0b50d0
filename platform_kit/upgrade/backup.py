"""The backup taken before a Kubeflow upgrade changes the cluster.

Two parts, both kept where an operator can find them without the kit:

- the access objects a team would lose with a bad apply: every Profile, RoleBinding and Istio
  AuthorizationPolicy, exported from the cluster into a timestamped folder
  (``backups/<env>/<UTC time>-<from>-to-<to>/``), one YAML file per kind, with the fields the
  server sets (uid, resourceVersion, managedFields, status) removed so the files apply again as
  they are (``kubectl apply --server-side -f``);
- when the Pipelines database is on RDS, a manual snapshot of its instance
  (``<instance>-<from>-to-<to>-<time>``, tagged with the folder's name), waited for until available.

A backup is complete when its ``backup.json`` exists: it is written last, after the snapshot is
available and every file is in place, and the folder is renamed from ``….partial`` then. An
interrupted backup resumes in its own partial folder (same time, same snapshot name), so a re-run
never starts a second snapshot. A complete backup of the same hop younger than ``FRESH_HOURS``
counts as done.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from platform_kit.errors import OperationFailed

FRESH_HOURS = 24
MANIFEST = "backup.json"
PARTIAL = ".partial"
STAMP = "%Y%m%dT%H%M%SZ"
SNAPSHOT_TAG = "platform-kit.io/backup"
# (apiVersion, kind, file): the access objects; v1beta1 AuthorizationPolicies are served by every
# Istio the supported releases ship (1.26 to 1.28), whichever version stores them.
EXPORTED = (
    ("kubeflow.org/v1", "Profile", "profiles.yaml"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings.yaml"),
    ("security.istio.io/v1beta1", "AuthorizationPolicy", "authorizationpolicies.yaml"),
)
SERVER_FIELDS = ("uid", "resourceVersion", "managedFields", "creationTimestamp", "generation", "selfLink")


def hop_name(source: str, target: str) -> str:
    return f"{source}-to-{target}"


def _stamp(folder: Path) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(folder.name.split("-", 1)[0], STAMP).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _of_hop(root: Path, source: str, target: str, *, partial: bool) -> list[Path]:
    suffix = f"-{hop_name(source, target)}{PARTIAL if partial else ''}"
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.endswith(suffix) and _stamp(p) is not None]
    return sorted(found, key=lambda p: p.name)


def recent(root: Path, source: str, target: str, *, now: dt.datetime | None = None) -> Path | None:
    """The newest complete backup of this hop younger than ``FRESH_HOURS``, if any."""
    now = now or dt.datetime.now(dt.UTC)
    for folder in reversed(_of_hop(root, source, target, partial=False)):
        taken = _stamp(folder)
        if (folder / MANIFEST).is_file() and taken is not None and now - taken < dt.timedelta(hours=FRESH_HOURS):
            return folder
    return None


def clean(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without what the server sets, ready to apply again."""
    out = {k: v for k, v in obj.items() if k != "status" and v is not None}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_FIELDS and v is not None}
    annotations = dict(meta.get("annotations") or {})
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out["metadata"] = meta
    return out


def export(cluster: Any, folder: Path) -> dict[str, int]:
    """Write each exported kind's objects to ``folder``; returns the count per kind."""
    counts = {}
    for api_version, kind, file_name in EXPORTED:
        try:
            items = cluster.list(api_version, kind)
        except OperationFailed as exc:
            if "does not serve" not in exc.message:
                raise
            items = []  # no such kind on this cluster (no Istio yet): nothing to keep
        objects = sorted(
            (dict(clean(o), apiVersion=api_version, kind=kind) for o in items),
            key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"]),
        )
        (folder / file_name).write_text(yaml.safe_dump_all(objects, sort_keys=True), encoding="utf-8")
        counts[kind] = len(objects)
    return counts


@dataclass(frozen=True)
class Database:
    """The RDS instance behind the Pipelines database, and the client to reach it."""

    client: Any
    endpoint: str

    def instance(self) -> str:
        pages = self.client.get_paginator("describe_db_instances").paginate()
        for page in pages:
            for db in page.get("DBInstances", []):
                if (db.get("Endpoint") or {}).get("Address") == self.endpoint:
                    return str(db["DBInstanceIdentifier"])
        raise OperationFailed(
            f"no RDS instance has the endpoint {self.endpoint} (platform output rds_endpoint)",
            hint="check the platform stack: platform infra plan --env ENV --stack platform",
        )


def snapshot_id(instance: str, source: str, target: str, folder: Path) -> str:
    taken = folder.name.split("-", 1)[0].lower()
    return f"{instance}-{hop_name(source, target)}-{taken}".replace(".", "-")


def snapshot(client: Any, instance: str, identifier: str, tag: str, *, wait_delay: float = 15.0) -> str:
    """Create the manual snapshot ``identifier`` of ``instance`` unless it exists; wait until available."""
    from botocore.exceptions import ClientError, WaiterError

    try:
        client.describe_db_snapshots(DBSnapshotIdentifier=identifier)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "DBSnapshotNotFound":
            raise OperationFailed(f"RDS DescribeDBSnapshots {identifier}: {exc}") from None
        try:
            client.create_db_snapshot(
                DBSnapshotIdentifier=identifier,
                DBInstanceIdentifier=instance,
                Tags=[{"Key": SNAPSHOT_TAG, "Value": tag}],
            )
        except ClientError as create_exc:
            raise OperationFailed(f"RDS CreateDBSnapshot of {instance}: {create_exc}") from None
    try:
        client.get_waiter("db_snapshot_available").wait(
            DBSnapshotIdentifier=identifier, WaiterConfig={"Delay": wait_delay, "MaxAttempts": 240}
        )
    except WaiterError as exc:
        raise OperationFailed(
            f"RDS snapshot {identifier} did not become available: {exc}",
            hint=f"see its state: aws rds describe-db-snapshots --db-snapshot-identifier {identifier}",
        ) from None
    return identifier


def take(
    cluster: Any,
    root: Path,
    source: str,
    target: str,
    *,
    env: str,
    database: Callable[[], Database] | None = None,
    now: dt.datetime | None = None,
) -> Path:
    """Take (or finish) the backup of hop ``source`` -> ``target``; returns its complete folder."""
    now = now or dt.datetime.now(dt.UTC)
    root.mkdir(parents=True, exist_ok=True)
    partials = _of_hop(root, source, target, partial=True)
    folder = partials[-1] if partials else root / f"{now.strftime(STAMP)}-{hop_name(source, target)}{PARTIAL}"
    folder.mkdir(exist_ok=True)
    final = folder.with_name(folder.name.removesuffix(PARTIAL))
    manifest: dict[str, Any] = {
        "env": env,
        "from": source,
        "to": target,
        "taken": (_stamp(folder) or now).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if database is not None:
        db = database()
        instance = db.instance()
        identifier = snapshot_id(instance, source, target, folder)
        manifest["rds_snapshot"] = snapshot(db.client, instance, identifier, final.name)
    manifest["objects"] = export(cluster, folder)
    manifest["files"] = [name for _, _, name in EXPORTED]
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if final.exists():  # a rename interrupted half-way cannot happen, but a stale copy can be there
        shutil.rmtree(final)
    folder.rename(final)
    return final
