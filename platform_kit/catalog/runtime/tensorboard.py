"""Create or update a Kubeflow ``Tensorboard`` in a team namespace, pointing at an S3 log folder.

The Tensorboard controller (``tensorboard.kubeflow.org/v1alpha1``, part of upstream Kubeflow)
runs TensorBoard for each object; the Kubeflow dashboard lists it under the team's namespace and
serves it at ``/tensorboard/<namespace>/<name>/``. Its pod runs as the namespace's
``default-editor``, so it reads ``s3://`` logs with the team role (IRSA), nothing else needed.

Written with server-side apply through ``platform_kit.kube.Cluster`` (read first: an object that
already says the same is not written; conflicts and throttling retried), under the catalog's own
field manager, so a pipeline re-run changes nothing and the kit's team objects are never touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from platform_kit.errors import BadInput

API_VERSION = "tensorboard.kubeflow.org/v1alpha1"
KIND = "Tensorboard"
FIELD_MANAGER = "platform-kit-catalog"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_LOGS = re.compile(r"^(s3|gs|pvc)://[^/\s]+(/\S*)?$")


@dataclass(frozen=True)
class TensorboardResult:
    name: str
    namespace: str
    logs_path: str
    action: str  # created, changed, unchanged
    url: str  # path on the Kubeflow host, or the full URL when a dashboard URL was given


def tensorboard_object(namespace: str, name: str, logs_path: str, labels: dict[str, str] | None = None) -> dict:
    """The object to apply; BadInput for a name Kubernetes would refuse or a log path the controller cannot read."""
    if not _NAME.match(name):
        raise BadInput(f"tensorboard name {name!r} is not a DNS-1123 label (lowercase letters, digits, '-')")
    if not _NAME.match(namespace):
        raise BadInput(f"namespace {namespace!r} is not a DNS-1123 label")
    if not _LOGS.match(logs_path):
        raise BadInput(f"logs path {logs_path!r} is not s3://bucket/prefix (or gs://, pvc://)")
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = dict(labels)
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": {"logspath": logs_path}}


def ensure_tensorboard(
    cluster: Any,
    *,
    namespace: str,
    name: str,
    logs_path: str,
    labels: dict[str, str] | None = None,
    dashboard_url: str | None = None,
) -> TensorboardResult:
    """Apply the Tensorboard ``name`` in ``namespace`` (a ``platform_kit.kube.Cluster``); returns its URL."""
    obj = tensorboard_object(namespace, name, logs_path, labels)
    action = cluster.apply(obj, field_manager=FIELD_MANAGER)
    path = f"/tensorboard/{namespace}/{name}/"
    url = f"{dashboard_url.rstrip('/')}{path}" if dashboard_url else path
    return TensorboardResult(name=name, namespace=namespace, logs_path=logs_path, action=action, url=url)
