"""``tensorboard``: a Kubeflow Tensorboard in the run's namespace over an S3 log folder.

Needs, at run time:
- Kubernetes: the pipeline's service account (``default-editor`` in a team namespace) may create
  and patch ``tensorboards.tensorboard.kubeflow.org`` there; Kubeflow's ``kubeflow-edit`` role,
  which every member namespace binds to ``default-editor``, grants it.
- AWS: none for the component; the TensorBoard pod reads the logs with the team role (IRSA).
"""

# No ``from __future__ import annotations`` in component modules: KFP reads the annotations as types.
from typing import Any

from platform_kit.catalog import components

SETTINGS = {"dashboard_url": "", "namespace": ""}


def make_tensorboard(image: str | None = None, **settings: Any) -> Any:
    """The component; ``settings`` change its defaults (dashboard_url, namespace: the run's own when empty)."""

    def tensorboard(name: str, logs_path: str, *, dashboard_url: str, namespace: str) -> str:
        """Create or update the Tensorboard ``name``; returns its URL."""
        from pathlib import Path

        from kubernetes import client, config

        from platform_kit import kube
        from platform_kit.catalog.runtime import tensorboard as runtime

        try:
            config.load_incluster_config()
            api = client.ApiClient()
            if not namespace:  # the namespace this pod runs in
                namespace = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read_text().strip()
        except config.ConfigException:  # outside a cluster (kfp.local): the current kubeconfig context
            api = kube.client_for_context(None)
        if not namespace:
            raise ValueError("namespace is empty and this is not a pod: pass namespace=")
        cluster = kube.Cluster(api)
        result = runtime.ensure_tensorboard(
            cluster, namespace=namespace, name=name, logs_path=logs_path, dashboard_url=dashboard_url or None
        )
        print(f"Tensorboard {namespace}/{name} {result.action}: {result.url}", flush=True)
        return result.url

    return components.build(tensorboard, image, SETTINGS, settings)
