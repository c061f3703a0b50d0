"""A simulated Kubeflow profile controller, running inside the Kubernetes API server double.

It follows the upstream controller (kubeflow/dashboard components/profile-controller,
`profile_controller.go` and `plugin_iam.go`) closely enough for the kit's onboarding code:

* for a Profile it creates the namespace named after it, annotated `owner: <spec.owner.name>`,
  labelled with the default Kubeflow namespace labels (upstream `namespace-labels.yaml`) plus
  `istio-injection: enabled`, and controlled by the Profile (ownerReference);
* it refuses to take over an existing namespace whose `owner` annotation differs from spec.owner
  and appends a `Failed` condition to the Profile's status instead (upstream behaviour; an owner
  change therefore needs the namespace annotation changed first). `owner_change="follow"`
  relaxes this for namespaces the Profile already controls;
* in the namespace: the `ns-owner-access-istio` AuthorizationPolicy, service accounts
  `default-editor` and `default-viewer` with their RoleBindings, the `namespaceAdmin`
  RoleBinding for the owner, and `kf-resource-quota` when spec.resourceQuotaSpec.hard is set;
* the `AwsIamForServiceAccount` plugin annotates `default-editor` with
  `eks.amazonaws.com/role-arn`. The upstream plugin also edits the IAM role's trust policy in
  AWS unless `annotateOnly: true`; the simulation does not call AWS;
* it adds the `profile-finalizer` finalizer, and on deletion removes the annotation and the
  finalizer, after which the double's garbage collector removes the namespace and its contents.

Its writes are not client calls: they appear in `KubeApiDouble.controller_writes`, never in
`calls` or `mutations()`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .kube_api import KubeApiDouble

MANAGER = "kubeflow-profile-controller"
PROFILE_API_VERSION = "kubeflow.org/v1"
PROFILE_FINALIZER = "profile-finalizer"
IRSA_PLUGIN = "AwsIamForServiceAccount"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
DEFAULT_NAMESPACE_LABELS = {
    "katib.kubeflow.org/metrics-collector-injection": "enabled",
    "serving.kubeflow.org/inferenceservice": "enabled",
    "pipelines.kubeflow.org/enabled": "true",
    "app.kubernetes.io/part-of": "kubeflow-profile",
}
USER_ID_HEADER = "kubeflow-userid"


@dataclass
class ProfileControllerSim:
    """State and behaviour of the simulated controller; configure it via `KubeApiDouble.profile_controller()`."""

    cluster: KubeApiDouble = field(repr=False)
    enabled: bool = False
    delay_reads: int = 0
    annotate_irsa: bool = True
    owner_change: str = "reject"
    reconciled: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _pending: dict[str, int] = field(default_factory=dict, init=False)

    def configure(self, *, enabled: bool, delay_reads: int, annotate_irsa: bool, owner_change: str) -> None:
        if owner_change not in ("reject", "follow"):
            raise ValueError("owner_change must be 'reject' or 'follow'")
        if delay_reads < 0:
            raise ValueError("delay_reads must be >= 0")
        self.enabled = enabled
        self.delay_reads = delay_reads
        self.annotate_irsa = annotate_irsa
        self.owner_change = owner_change

    @property
    def pending(self) -> dict[str, int]:
        """Profiles waiting to be reconciled, with the reads still to pass before they are."""
        return dict(self._pending)

    # -- triggers --------------------------------------------------------------------------------

    def on_changes(self, objects: list[dict[str, Any]]) -> None:
        """Called by the double after client (or seed) writes; queues or runs reconciles."""
        if not self.enabled:
            return
        names: set[str] = set()
        for obj in objects:
            if obj.get("kind") == "Profile" and obj.get("apiVersion", "").startswith("kubeflow.org/"):
                names.add(obj["metadata"]["name"])
                continue
            for ref in obj.get("metadata", {}).get("ownerReferences") or []:
                if ref.get("kind") == "Profile" and ref.get("controller"):
                    names.add(ref["name"])
        for name in sorted(names):
            if self.delay_reads:
                self._pending.setdefault(name, self.delay_reads)
            else:
                self.reconcile(name)

    def observe_read(self, path: str) -> None:
        """Called before the double answers a GET: a delayed reconcile may now be due."""
        if not self.enabled:
            return
        for name in list(self._pending):
            if not _observes(path, name):
                continue
            if self._pending[name] > 0:
                self._pending[name] -= 1
            else:
                del self._pending[name]
                self.reconcile(name)

    def flush(self) -> None:
        for name in list(self._pending):
            del self._pending[name]
            self.reconcile(name)

    # -- reconcile -------------------------------------------------------------------------------

    def reconcile(self, name: str) -> None:
        profile = self.cluster._read(PROFILE_API_VERSION, "Profile", None, name)
        if profile is None:
            return
        self.reconciled.append(name)
        if profile["metadata"].get("deletionTimestamp"):
            self._finalize(profile)
            return
        owner = (profile.get("spec") or {}).get("owner") or {}
        owner_name = owner.get("name", "")
        ref = {
            "apiVersion": PROFILE_API_VERSION,
            "kind": "Profile",
            "name": name,
            "uid": profile["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
        if not self._reconcile_namespace(profile, owner_name, ref):
            return
        self._reconcile_authorization_policy(name, owner_name, ref)
        for account, role in (("default-editor", "kubeflow-edit"), ("default-viewer", "kubeflow-view")):
            self._ensure(_meta("v1", "ServiceAccount", name, account, ref), update=None)
            subject = {"kind": "ServiceAccount", "name": account, "namespace": name}
            self._ensure_binding(name, account, role, [subject], ref, annotations=None)
        self._ensure_binding(
            name, "namespaceAdmin", "kubeflow-admin", [owner], ref, annotations={"user": owner_name, "role": "admin"}
        )
        self._reconcile_quota(profile, ref)
        if not self._apply_plugins(profile, revoke=False):
            return
        finalizers = profile["metadata"].get("finalizers") or []
        if PROFILE_FINALIZER not in finalizers:
            profile["metadata"]["finalizers"] = [*finalizers, PROFILE_FINALIZER]
            self.cluster._controller_write(profile, MANAGER)

    def _reconcile_namespace(self, profile: dict[str, Any], owner_name: str, ref: dict[str, Any]) -> bool:
        name = profile["metadata"]["name"]
        namespace = self.cluster._read("v1", "Namespace", None, name)
        if namespace is None:
            created = _meta("v1", "Namespace", None, name, ref)
            created["metadata"]["annotations"] = {"owner": owner_name}
            created["metadata"]["labels"] = {**DEFAULT_NAMESPACE_LABELS, "istio-injection": "enabled"}
            created["status"] = {"phase": "Active"}
            self.cluster._controller_write(created, MANAGER)
            return True
        metadata = namespace["metadata"]
        current_owner = (metadata.get("annotations") or {}).get("owner")
        if current_owner != owner_name:
            controlled = any(r.get("uid") == ref["uid"] for r in metadata.get("ownerReferences") or [])
            if self.owner_change == "follow" and controlled:
                metadata.setdefault("annotations", {})["owner"] = owner_name
            else:
                self._fail(profile, f"namespace already exist, but not owned by profile creator {owner_name}")
                return False
        labels = metadata.setdefault("labels", {})
        for key, value in DEFAULT_NAMESPACE_LABELS.items():
            labels.setdefault(key, value)
        labels["istio-injection"] = "enabled"
        self.cluster._controller_write(namespace, MANAGER)
        return True

    def _reconcile_authorization_policy(self, namespace: str, owner_name: str, ref: dict[str, Any]) -> None:
        policy = _meta("security.istio.io/v1beta1", "AuthorizationPolicy", namespace, "ns-owner-access-istio", ref)
        policy["metadata"]["annotations"] = {"user": owner_name, "role": "admin"}
        policy["spec"] = {
            "action": "ALLOW",
            "rules": [
                {
                    "when": [{"key": f"request.headers[{USER_ID_HEADER}]", "values": [owner_name]}],
                    "from": [
                        {
                            "source": {
                                "principals": [
                                    "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",
                                    "cluster.local/ns/kubeflow/sa/ml-pipeline-ui",
                                ]
                            }
                        }
                    ],
                },
                {"when": [{"key": "source.namespace", "values": [namespace]}]},
                {"to": [{"operation": {"paths": ["/healthz", "/metrics", "/wait-for-drain"]}}]},
                {
                    "from": [
                        {"source": {"principals": ["cluster.local/ns/kubeflow/sa/notebook-controller-service-account"]}}
                    ],
                    "to": [{"operation": {"methods": ["GET"], "paths": ["*/api/kernels"]}}],
                },
            ],
        }
        self._ensure(policy, update=("spec",))

    def _ensure_binding(
        self,
        namespace: str,
        name: str,
        cluster_role: str,
        subjects: list[dict[str, Any]],
        ref: dict[str, Any],
        annotations: dict[str, str] | None,
    ) -> None:
        binding = _meta("rbac.authorization.k8s.io/v1", "RoleBinding", namespace, name, ref)
        if annotations:
            binding["metadata"]["annotations"] = annotations
        binding["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role}
        binding["subjects"] = copy.deepcopy(subjects)
        self._ensure(binding, update=("roleRef", "subjects"))

    def _reconcile_quota(self, profile: dict[str, Any], ref: dict[str, Any]) -> None:
        name = profile["metadata"]["name"]
        quota_spec = (profile.get("spec") or {}).get("resourceQuotaSpec") or {}
        if quota_spec.get("hard"):
            quota = _meta("v1", "ResourceQuota", name, "kf-resource-quota", ref)
            quota["spec"] = copy.deepcopy(quota_spec)
            self._ensure(quota, update=("spec",))
        else:
            self.cluster._controller_delete("v1", "ResourceQuota", name, "kf-resource-quota", MANAGER)

    def _apply_plugins(self, profile: dict[str, Any], *, revoke: bool) -> bool:
        name = profile["metadata"]["name"]
        for plugin in (profile.get("spec") or {}).get("plugins") or []:
            if plugin.get("kind") != IRSA_PLUGIN:
                continue  # upstream logs and skips plugins it does not recognise
            role = ((plugin.get("spec") or {}).get("awsIamRole")) or ""
            account = self.cluster._read("v1", "ServiceAccount", name, "default-editor")
            if account is None:
                self.errors.append(f"{name}: service account default-editor not found")
                return False
            if not role:
                self.errors.append(f"{name}: failed to setup service account because awsIamRole is empty")
                return False
            annotations = account["metadata"].setdefault("annotations", {})
            if revoke:
                annotations.pop(IRSA_ANNOTATION, None)
            elif self.annotate_irsa:
                annotations[IRSA_ANNOTATION] = role
            else:
                continue  # the "broken controller" mode: never annotates
            self.cluster._controller_write(account, MANAGER)
        return True

    def _finalize(self, profile: dict[str, Any]) -> None:
        finalizers = profile["metadata"].get("finalizers") or []
        if PROFILE_FINALIZER not in finalizers:
            return
        self._apply_plugins(profile, revoke=True)
        profile["metadata"]["finalizers"] = [f for f in finalizers if f != PROFILE_FINALIZER]
        self.cluster._controller_write(profile, MANAGER)

    def _fail(self, profile: dict[str, Any], message: str) -> None:
        status = profile.setdefault("status", {})
        conditions = status.setdefault("conditions", [])
        condition = {"type": "Failed", "message": message}
        if not conditions or conditions[-1] != condition:
            conditions.append(condition)
            self.cluster._controller_write(profile, MANAGER)

    def _ensure(self, desired: dict[str, Any], update: tuple[str, ...] | None) -> None:
        """Create `desired` if missing; otherwise copy the `update` fields onto the live object."""
        metadata = desired["metadata"]
        live = self.cluster._read(desired["apiVersion"], desired["kind"], metadata.get("namespace"), metadata["name"])
        if live is None:
            self.cluster._controller_write(desired, MANAGER)
            return
        if not update:
            return
        for key in update:
            live[key] = copy.deepcopy(desired[key])
        self.cluster._controller_write(live, MANAGER)


def _meta(api_version: str, kind: str, namespace: str | None, name: str, ref: dict[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "ownerReferences": [dict(ref)]}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


def _observes(path: str, namespace: str) -> bool:
    """Does a GET of this path observe the namespace (or its contents, or the namespace list)?"""
    if path == "/api/v1/namespaces":
        return True
    return re.match(rf"^/apis?/(?:[^/]+/)?[^/]+/namespaces/{re.escape(namespace)}(/|$)", path) is not None
