"""A test double for the Kubernetes API server, spoken to over HTTP by the real `kubernetes` client.

No container engine or real API server can run where the kit's tests run, so this double stands
in for one. It serves plain HTTP on 127.0.0.1 from a background thread and implements enough of
the API for the official client (typed `CoreV1Api`/`CustomObjectsApi`, and `DynamicClient`):

* discovery: `/version`, `/api`, `/apis`, `/api/v1`, `/apis/<group>[/<version>]`, legacy JSON
  and (when the Accept header asks for it) aggregated `APIGroupDiscoveryList` v2;
* get, list (label and field selectors, limit/continue), create, update (PUT, optimistic
  concurrency on resourceVersion), patch (merge, strategic-merge treated as merge, JSON patch),
  server-side apply, delete (preconditions, finalizers, delete-collection), the `status`
  subresource for kinds that have one;
* namespaced objects need their namespace to exist; deleting a namespace deletes its contents;
  deleting an owner deletes dependents whose owners are all gone (a tiny garbage collector);
* bearer-token authentication, fault injection, a call log, and an optional simulated Kubeflow
  profile controller (see `kubeflow_profiles.py`);
* CRDs: a simulated apiextensions controller (`crd_controller.py`) serves a CRD's versions and sets
  it Established, at once or after a few reads; a kind may be served in several versions, all
  reading and writing the same stored object (no conversion).

What it does NOT emulate: admission (webhooks, quota and LimitRange enforcement, Pod Security),
schema validation or defaulting, RBAC authorisation, watches (a `watch=true` request gets 501),
protobuf, real server-side-apply semantics beyond the simplified rules below, graceful deletion,
pod lifecycles, and namespaces lingering in `Terminating`.

Server-side apply, simplified: every manager (name, operation) owns a set of leaf field paths
(scalars and lists; lists are atomic, no merge keys). An apply deep-merges the applied object
into the live one, removes fields the manager applied before and no longer applies (unless
another manager owns them), and fails with 409 if it would change a field another manager owns,
unless `force=true`, which moves those fields to the applier. Create/update/patch give the
writing manager the fields they changed and take them from everyone else, as the real server does.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import itertools
import json
import re
import secrets
import threading
import traceback
import uuid
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml
from kubernetes import client as k8s_client

from .crd_controller import CrdControllerSim
from .kube_fields import (
    MISSING,
    SERVER_METADATA,
    FieldPath,
    PatchError,
    SelectorError,
    deep_merge,
    delete_path,
    field_selector_matches,
    fields_v1,
    format_path,
    get_path,
    json_patch,
    label_selector_matches,
    leaf_paths,
    merge_patch,
    overlaps,
    strip_strategic_directives,
)
from .kubeflow_profiles import ProfileControllerSim
from .serving import BackgroundServer

DEFAULT_TOKEN = "kube-api-double-token"  # a fixed test credential
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
_EXTERNAL_ACTORS = frozenset({"client", "seed"})  # writes the simulated controllers react to
MUTATING_VERBS = frozenset({"create", "update", "patch", "apply", "delete"})
_AGGREGATED = "application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"
_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update"]
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    501: "NotImplemented",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclass(frozen=True)
class ResourceType:
    """One served kind: where it lives in the API and whether it is namespaced."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    status_subresource: bool = False
    short_names: tuple[str, ...] = ()
    custom: bool = False  # served from a CRD: no strategic-merge patch, delete answers with the object

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def qualified_plural(self) -> str:
        """`configmaps` or `profiles.kubeflow.org`, as the server names a resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


DEFAULT_RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "Namespace", "namespaces", False, True, ("ns",)),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", True, False, ("sa",)),
    ResourceType("", "v1", "Secret", "secrets", True),
    ResourceType("", "v1", "ConfigMap", "configmaps", True, False, ("cm",)),
    ResourceType("", "v1", "LimitRange", "limitranges", True, False, ("limits",)),
    ResourceType("", "v1", "ResourceQuota", "resourcequotas", True, True, ("quota",)),
    ResourceType("", "v1", "Pod", "pods", True, True, ("po",)),
    ResourceType("", "v1", "Service", "services", True, True, ("svc",)),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, False, ("netpol",)),
    ResourceType("kubeflow.org", "v1", "Profile", "profiles", False, True, custom=True),
    ResourceType(
        "security.istio.io", "v1beta1", "AuthorizationPolicy", "authorizationpolicies", True, True, ("ap",), custom=True
    ),
    ResourceType(
        "security.istio.io", "v1beta1", "RequestAuthentication", "requestauthentications", True, True, custom=True
    ),
    ResourceType("tensorboard.kubeflow.org", "v1alpha1", "Tensorboard", "tensorboards", True, True, custom=True),
    # Argo's Workflow CRD has no status subresource: the controller writes status on the object.
    ResourceType("argoproj.io", "v1alpha1", "Workflow", "workflows", True, False, ("wf",), custom=True),
    # What a Kubeflow install applies besides its own CRDs' kinds (those come from the CRDs).
    ResourceType("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, True, ("pvc",)),
    ResourceType("apps", "v1", "Deployment", "deployments", True, True, ("deploy",)),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", True, True, ("sts",)),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", True, True, ("ds",)),
    ResourceType("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, True, ("hpa",)),
    ResourceType("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, False, ("pc",)),
    ResourceType(
        "apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False, True, ("crd",)
    ),
    ResourceType(
        "admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", False
    ),
    ResourceType(
        "admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", False
    ),
)


@dataclass(frozen=True)
class Call:
    """One HTTP request a client made, as the double understood it."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str | None
    verb: str  # get, list, create, update, patch, apply, delete, discovery, watch, unknown
    status: int = 0
    body: Any = None

    @property
    def field_manager(self) -> str | None:
        return self.query.get("fieldManager")


@dataclass(frozen=True)
class ControllerWrite:
    """A write made inside the double (profile controller, garbage collector, ...), not by a client."""

    actor: str
    action: str  # create, update, delete
    api_version: str
    kind: str
    namespace: str | None
    name: str


@dataclass
class _Fault:
    method: str | None
    pattern: re.Pattern[str]
    status: int
    remaining: int | None
    retry_after: int | float | None
    reason: str
    message: str


@dataclass(frozen=True)
class _Ownership:
    paths: frozenset[FieldPath]
    api_version: str
    time: str


_Owners = dict[tuple[str, str], _Ownership]  # (manager, operation) -> fields


@dataclass
class _Stored:
    obj: dict[str, Any]
    owners: _Owners = field(default_factory=dict)


_Key = tuple[str, str, str, str]  # group, kind, namespace ("" if cluster-scoped), name


@dataclass(frozen=True)
class _Target:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None

    def key(self, name: str | None = None) -> _Key:
        return (self.rt.group, self.rt.kind, self.namespace or "", name or self.name or "")


@dataclass
class _Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class ApiError(Exception):
    """Raised inside the double; becomes a `Status` response."""

    def __init__(
        self,
        code: int,
        message: str,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or _REASONS.get(code, "Unknown")
        self.details = details
        self.headers = headers or {}

    def response(self) -> _Response:
        return _Response(self.code, status_object(self.code, self.reason, self.message, self.details), self.headers)


def status_object(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A `meta/v1 Status` failure, as the API server returns it."""
    status: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        status["details"] = details
    return status


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1", "yes")


def _content_base(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


class KubeApiDouble(BackgroundServer):
    """Test double for the Kubernetes API server (see the module docstring for what it covers).

    Use as a context manager, or call `start()` / `stop()`:

        with KubeApiDouble() as kube:
            api = kubernetes.client.ApiClient(kube.configuration())
            ...
            assert kube.mutations() == []
    """

    def __init__(
        self,
        *,
        token: str | None = DEFAULT_TOKEN,
        require_auth: bool = True,
        server_version: str = "1.30",
        seed_namespaces: tuple[str, ...] = ("default", "kube-system", "kube-public"),
    ) -> None:
        self.token = token
        self.require_auth = require_auth and token is not None
        self.server_version = server_version
        self.calls: list[Call] = []
        self.controller_writes: list[ControllerWrite] = []
        self._lock = threading.RLock()
        self._types: dict[tuple[str, str, str], ResourceType] = {}  # (group, version, kind)
        self._objects: dict[_Key, _Stored] = {}
        self._rv = itertools.count(1)
        self._last_rv = 0
        self._faults: list[_Fault] = []
        self._touched: list[dict[str, Any]] = []
        self._agent: str | None = None
        self.internal_errors: list[str] = []
        self.profiles = ProfileControllerSim(self)
        self.crds = CrdControllerSim(self)
        for rt in DEFAULT_RESOURCES:
            self._types[(rt.group, rt.version, rt.kind)] = rt
        for name in seed_namespaces:
            self.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, manager=None)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> KubeApiDouble:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.double = self  # type: ignore[attr-defined]
        return self._serve(server, "kube-api-double")

    @property
    def url(self) -> str:
        return self.base_url

    def kubeconfig(self, path: str | Path, *, context: str = "kube-api-double", namespace: str = "default") -> Path:
        """Write a kubeconfig for this double that `kubernetes.config.load_kube_config` accepts."""
        user: dict[str, Any] = {"token": self.token} if self.token else {}
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": user}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}],
            "current-context": context,
        }
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(config, sort_keys=False))
        return target

    def configuration(self) -> k8s_client.Configuration:
        """A `kubernetes.client.Configuration` pointing at this double, with its bearer token."""
        configuration = k8s_client.Configuration()
        configuration.host = self.url
        if self.token:
            configuration.api_key = {"authorization": self.token}
            configuration.api_key_prefix = {"authorization": "Bearer"}
        return configuration

    # -- registry --------------------------------------------------------------------------------

    def register(
        self,
        group: str,
        version: str,
        kind: str,
        plural: str,
        namespaced: bool,
        *,
        status_subresource: bool = False,
        custom: bool = True,
    ) -> ResourceType:
        """Serve one more kind (a CRD unless custom=False). Returns its `ResourceType`."""
        rt = ResourceType(group, version, kind, plural, namespaced, status_subresource, custom=custom)
        with self._lock:
            self._types[(group, version, kind)] = rt
        return rt

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        group, _, version = api_version.rpartition("/")
        rt = self._types.get((group, version, kind))
        if rt is None:
            raise KeyError(f"KubeApiDouble does not serve {kind} in {api_version}; register() it first")
        return rt

    def _type_of(self, group: str, kind: str) -> ResourceType | None:
        """Any served version of a kind (stored objects are one copy whatever version wrote them)."""
        return next((rt for (g, _, k), rt in self._types.items() if g == group and k == kind), None)

    def _unregister(self, group: str, kind: str, *, keep: set[str], delete_objects: bool = False) -> None:
        """Stop serving the versions of a kind not in ``keep``; with ``delete_objects``, drop its objects."""
        for key in [k for k in self._types if k[0] == group and k[2] == kind and k[1] not in keep]:
            del self._types[key]
        if delete_objects:
            for key in [k for k in self._objects if k[0] == group and k[1] == kind]:
                del self._objects[key]

    def crd_controller(self, delay_reads: int = 0) -> CrdControllerSim:
        """Establish CRDs only after ``delay_reads`` later GETs of each (0: at once, the default)."""
        with self._lock:
            self.crds.delay_reads = delay_reads
        return self.crds

    # -- assertions and seeding ------------------------------------------------------------------

    def objects(self, kind: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]:
        """Copies of stored objects, optionally of one kind and/or in one namespace, sorted."""
        with self._lock:
            found = [
                copy.deepcopy(stored.obj)
                for (_, k, ns, _), stored in sorted(self._objects.items())
                if (kind is None or k == kind) and (namespace is None or ns == namespace)
            ]
        return found

    def get_object(self, group_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """A copy of one stored object, or None."""
        rt = self.resource_type(group_version, kind)
        with self._lock:
            stored = self._objects.get((rt.group, rt.kind, namespace or "", name))
            return copy.deepcopy(stored.obj) if stored else None

    def put_object(self, obj: dict[str, Any], *, manager: str | None = "seed") -> dict[str, Any]:
        """Seed or overwrite an object directly (not a client call, not logged in `calls`).

        The object gets uid, timestamps and a resourceVersion; `manager` (operation Update) owns
        its fields, so a later apply that changes them conflicts as on a real cluster. The profile
        controller, when enabled, reacts to seeded Profiles as to any other change.
        """
        rt = self.resource_type(obj["apiVersion"], obj["kind"])
        namespace = obj.get("metadata", {}).get("namespace") if rt.namespaced else None
        if rt.namespaced and not namespace:
            raise ValueError(f"{rt.kind} is namespaced: metadata.namespace is required")
        with self._lock:
            key = (rt.group, rt.kind, namespace or "", obj["metadata"]["name"])
            live = self._objects.get(key)
            new = copy.deepcopy(obj)
            self._fill_server_metadata(rt, new, live.obj if live else None, keep_given=True)
            owners: _Owners = {}
            if manager:
                owners[(manager, "Update")] = _Ownership(frozenset(leaf_paths(new)), rt.api_version, _now())
            result = self._commit(rt, key, new, owners, actor="seed")
            self._run_controllers()
            return copy.deepcopy(result)

    # -- fault injection and the call log --------------------------------------------------------

    def fail(
        self,
        method: str | None,
        path_regex: str,
        status: int,
        times: int | None = 1,
        retry_after: int | float | None = None,
        reason: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next `times` requests matching method and path (re.search) with `status`.

        `method` None or "*" matches any method; `times` None fails until `clear_faults()`.
        The response is a proper Status object; `retry_after` adds a `Retry-After` header.
        """
        with self._lock:
            self._faults.append(
                _Fault(
                    method=None if method in (None, "*") else method.upper(),
                    pattern=re.compile(path_regex),
                    status=status,
                    remaining=times,
                    retry_after=retry_after,
                    reason=reason or _REASONS.get(status, "Unknown"),
                    message=message or f"injected by KubeApiDouble.fail(): {status}",
                )
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def mutations(self) -> list[Call]:
        """Client calls that create, update, patch, apply or delete (whatever their outcome)."""
        with self._lock:
            return [call for call in self.calls if call.verb in MUTATING_VERBS]

    def clear_calls(self) -> None:
        """Forget the call log and the controller-write log (stored objects stay)."""
        with self._lock:
            self.calls.clear()
            self.controller_writes.clear()

    # -- the simulated Kubeflow profile controller -----------------------------------------------

    def profile_controller(
        self,
        delay_reads: int = 0,
        *,
        annotate_irsa: bool = True,
        owner_change: str = "reject",
        enabled: bool = True,
    ) -> ProfileControllerSim:
        """Enable (or reconfigure) the simulated Kubeflow profile controller.

        delay_reads: reconcile only after that many later GETs that observe the profile's
          namespace (GET of the namespace or anything in it, or a namespace list) have been
          answered without it, to simulate controller latency.
        annotate_irsa: False simulates a broken controller that never annotates `default-editor`
          with the role from the `AwsIamForServiceAccount` plugin.
        owner_change: "reject" (upstream behaviour: an existing namespace whose `owner` annotation
          differs from spec.owner is left alone and the Profile gets a `Failed` condition) or
          "follow" (the controller rewrites the namespace annotation and the owner binding).
        """
        with self._lock:
            self.profiles.configure(
                enabled=enabled, delay_reads=delay_reads, annotate_irsa=annotate_irsa, owner_change=owner_change
            )
        return self.profiles

    def run_controllers(self) -> None:
        """Run pending (delayed) reconciles now."""
        with self._lock:
            self.profiles.flush()
            self.crds.flush()
            self._run_controllers()

    # -- internal access for simulated controllers -----------------------------------------------

    def _read(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        rt = self.resource_type(api_version, kind)
        stored = self._objects.get((rt.group, rt.kind, namespace or "", name))
        return copy.deepcopy(stored.obj) if stored else None

    def _controller_write(self, obj: dict[str, Any], actor: str) -> dict[str, Any]:
        """Create or replace an object as a controller would (an Update by manager `actor`)."""
        rt = self.resource_type(obj["apiVersion"], obj["kind"])
        namespace = obj["metadata"].get("namespace") if rt.namespaced else None
        key = (rt.group, rt.kind, namespace or "", obj["metadata"]["name"])
        live = self._objects.get(key)
        new = copy.deepcopy(obj)
        self._fill_server_metadata(rt, new, live.obj if live else None)
        owners = self._owners_after_update(live, new, actor, rt.api_version)
        return self._commit(rt, key, new, owners, actor=actor)

    def _controller_delete(self, api_version: str, kind: str, namespace: str | None, name: str, actor: str) -> None:
        rt = self.resource_type(api_version, kind)
        key = (rt.group, rt.kind, namespace or "", name)
        if key in self._objects:
            self._remove(key, actor)

    # -- HTTP entry point ------------------------------------------------------------------------

    def _handle(self, method: str, raw_path: str, headers: Any, raw_body: bytes) -> _Response:
        split = urlsplit(raw_path)
        path = "/" + "/".join(unquote(part) for part in split.path.split("/") if part)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        content_type = headers.get("Content-Type")
        with self._lock:
            self._agent = (headers.get("User-Agent") or "").split("/")[0] or None
            verb = self._classify(method, path, query, content_type)
            body: Any = None
            try:
                body = self._parse_body(raw_body, content_type)
                self._authenticate(headers.get("Authorization"))
                self._inject_fault(method, path)
                if method == "GET" and verb != "discovery":
                    self.profiles.observe_read(path)
                    self.crds.observe_read(path)
                response = self._route(method, path, query, content_type, headers, body)
            except ApiError as error:
                response = error.response()
            self.calls.append(Call(method, path, query, content_type, verb, response.status, body))
            self._run_controllers()
        return response

    def _parse_body(self, raw: bytes, content_type: str | None) -> Any:
        if not raw:
            return None
        text = raw.decode("utf-8")
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            if _content_base(content_type) == APPLY_CONTENT_TYPE:
                try:
                    return yaml.safe_load(text)
                except yaml.YAMLError as exc:
                    raise ApiError(400, f"error decoding YAML: {exc}") from exc
            raise ApiError(400, "the request body is not valid JSON") from None

    def _authenticate(self, authorization: str | None) -> None:
        if not self.require_auth:
            return
        if authorization != f"Bearer {self.token}":
            raise ApiError(401, "Unauthorized")

    def _inject_fault(self, method: str, path: str) -> None:
        for fault in self._faults:
            if fault.method not in (None, method) or not fault.pattern.search(path):
                continue
            if fault.remaining is not None:
                if fault.remaining <= 0:
                    continue
                fault.remaining -= 1
            headers = {}
            details: dict[str, Any] | None = None
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
                details = {"retryAfterSeconds": int(fault.retry_after)}
            raise ApiError(fault.status, fault.message, fault.reason, details, headers)

    def _classify(self, method: str, path: str, query: dict[str, str], content_type: str | None) -> str:
        if _is_discovery(path):
            return "discovery"
        try:
            target = self._target(path)
        except ApiError:
            target = None  # an unknown resource: classify by method alone
        if method == "GET":
            if _truthy(query.get("watch")):
                return "watch"
            return "list" if target is not None and not target.name else "get"
        if method == "PATCH" and _content_base(content_type) == APPLY_CONTENT_TYPE:
            return "apply"
        return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "unknown")

    # -- routing ---------------------------------------------------------------------------------

    def _route(
        self, method: str, path: str, query: dict[str, str], content_type: str | None, headers: Any, body: Any
    ) -> _Response:
        discovery = self._discovery(path, headers.get("Accept") or "")
        if discovery is not None:
            if method != "GET":
                raise ApiError(405, f"the server does not allow this method on the requested resource: {method}")
            return discovery
        target = self._target(path)
        if target is None:
            raise ApiError(404, "the server could not find the requested resource", details={})
        dry_run = "dryRun" in query
        if method == "GET":
            if _truthy(query.get("watch")):
                raise ApiError(501, "KubeApiDouble does not emulate watch; poll with get/list instead")
            return self._get(target) if target.name else self._list(target, query)
        if method == "POST" and not target.name:
            return self._create(target, query, body, dry_run)
        if method == "PUT" and target.name:
            return self._update(target, query, body, dry_run)
        if method == "PATCH" and target.name:
            if _content_base(content_type) == APPLY_CONTENT_TYPE:
                return self._apply(target, query, body, dry_run)
            return self._patch(target, query, body, content_type, dry_run)
        if method == "DELETE":
            if target.name:
                return self._delete(target, body, dry_run)
            return self._delete_collection(target, query, dry_run)
        raise ApiError(405, f"the server does not allow this method on the requested resource: {method}")

    def _types_in(self, group: str, version: str) -> dict[str, ResourceType]:
        return {rt.plural: rt for rt in self._types.values() if rt.group == group and rt.version == version}

    def _target(self, path: str) -> _Target | None:
        """Parse a resource path; None for discovery paths, ApiError(404) for unknown resources."""
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) > 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) > 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        types = self._types_in(group, version)
        not_found = ApiError(404, "the server could not find the requested resource", details={})
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] in types and types[rest[2]].namespaced:
            namespace, rest = rest[1], rest[2:]
        rt = types.get(rest[0])
        if rt is None or len(rest) > 3 or (rt.namespaced and namespace is None and len(rest) > 1):
            raise not_found
        if not rt.namespaced and namespace is not None:
            raise not_found
        subresource = rest[2] if len(rest) == 3 else None
        if subresource is not None and not (subresource == "status" and rt.status_subresource):
            raise not_found
        return _Target(rt, namespace, rest[1] if len(rest) > 1 else None, subresource)

    # -- discovery -------------------------------------------------------------------------------

    def _discovery(self, path: str, accept: str) -> _Response | None:
        if path == "/version":
            return _Response(200, self._version_info())
        if path in ("/api", "/apis"):
            aggregated = _aggregated_version(accept)
            if aggregated:
                return _Response(
                    200,
                    self._aggregated(path == "/api", aggregated),
                    content_type=_AGGREGATED.format(version=aggregated),
                )
            if path == "/api":
                return _Response(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
            return _Response(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": self._group_list()})
        parts = path.strip("/").split("/")
        if parts[0] == "apis" and len(parts) == 2:
            for group in self._group_list():
                if group["name"] == parts[1]:
                    return _Response(200, {"kind": "APIGroup", "apiVersion": "v1", **group})
            raise ApiError(404, "the server could not find the requested resource", details={})
        if (parts[0] == "api" and len(parts) == 2) or (parts[0] == "apis" and len(parts) == 3):
            group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
            types = self._types_in(group, version)
            if not types:
                raise ApiError(404, "the server could not find the requested resource", details={})
            return _Response(200, self._resource_list(group, version, types))
        return None

    def _version_info(self) -> dict[str, str]:
        major, minor = self.server_version.split(".")[:2]
        return {
            "major": major,
            "minor": minor,
            "gitVersion": f"v{major}.{minor}.0-kube-api-double",
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2024-01-01T00:00:00Z",
            "goVersion": "go1.22.0",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    def _group_list(self) -> list[dict[str, Any]]:
        versions: dict[str, list[str]] = {}
        for rt in self._types.values():
            if rt.group and rt.version not in versions.setdefault(rt.group, []):
                versions[rt.group].append(rt.version)
        groups = []
        for group, group_versions in sorted(versions.items()):
            ordered = sorted(group_versions, key=_version_priority)
            entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in ordered]
            groups.append({"name": group, "versions": entries, "preferredVersion": dict(entries[0])})
        return groups

    def _resource_list(self, group: str, version: str, types: dict[str, ResourceType]) -> dict[str, Any]:
        resources = []
        for rt in sorted(types.values(), key=lambda r: r.plural):
            entry: dict[str, Any] = {
                "name": rt.plural,
                "singularName": rt.singular,
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": list(_VERBS),
            }
            if rt.short_names:
                entry["shortNames"] = list(rt.short_names)
            resources.append(entry)
            if rt.status_subresource:
                resources.append(
                    {
                        "name": f"{rt.plural}/status",
                        "singularName": "",
                        "namespaced": rt.namespaced,
                        "kind": rt.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    def _aggregated(self, core: bool, version: str) -> dict[str, Any]:
        groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for rt in sorted(self._types.values(), key=lambda r: (r.group, r.version, r.plural)):
            if (rt.group == "") != core:
                continue
            kind_ref = {"group": rt.group, "version": rt.version, "kind": rt.kind}
            resource: dict[str, Any] = {
                "resource": rt.plural,
                "responseKind": kind_ref,
                "scope": "Namespaced" if rt.namespaced else "Cluster",
                "singularResource": rt.singular,
                "verbs": list(_VERBS),
            }
            if rt.short_names:
                resource["shortNames"] = list(rt.short_names)
            if rt.status_subresource:
                resource["subresources"] = [
                    {"subresource": "status", "responseKind": kind_ref, "verbs": ["get", "patch", "update"]}
                ]
            groups.setdefault(rt.group, {}).setdefault(rt.version, []).append(resource)
        items = [
            {
                "metadata": {"name": group} if group else {},
                "versions": [
                    {"version": v, "resources": versions[v], "freshness": "Current"}
                    for v in sorted(versions, key=_version_priority)
                ],
            }
            for group, versions in groups.items()
        ]
        return {
            "kind": "APIGroupDiscoveryList",
            "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {},
            "items": items,
        }

    # -- verbs -----------------------------------------------------------------------------------

    def _not_found(self, rt: ResourceType, name: str) -> ApiError:
        details = {"name": name, "group": rt.group, "kind": rt.plural}
        return ApiError(404, f'{rt.qualified_plural} "{name}" not found', details=details)

    def _live(self, target: _Target, name: str | None = None) -> _Stored:
        stored = self._objects.get(target.key(name))
        if stored is None:
            raise self._not_found(target.rt, name or target.name or "")
        return stored

    def _present(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(obj)
        out["apiVersion"] = rt.api_version
        out["kind"] = rt.kind
        return out

    def _get(self, target: _Target) -> _Response:
        return _Response(200, self._present(target.rt, self._live(target).obj))

    def _matching(self, target: _Target, query: dict[str, str]) -> list[tuple[_Key, _Stored]]:
        rt = target.rt
        found = []
        try:
            for key, stored in sorted(self._objects.items()):
                if key[:2] != (rt.group, rt.kind) or (target.namespace is not None and key[2] != target.namespace):
                    continue
                if not label_selector_matches(query.get("labelSelector"), stored.obj["metadata"].get("labels")):
                    continue
                if not field_selector_matches(query.get("fieldSelector"), stored.obj):
                    continue
                found.append((key, stored))
        except SelectorError as exc:
            raise ApiError(400, str(exc)) from exc
        return found

    def _list(self, target: _Target, query: dict[str, str]) -> _Response:
        items = [self._present(target.rt, stored.obj) for _, stored in self._matching(target, query)]
        metadata: dict[str, Any] = {"resourceVersion": str(self._last_rv)}
        start = 0
        if query.get("continue"):
            try:
                start = int(base64.urlsafe_b64decode(query["continue"]).decode())
            except ValueError as exc:
                raise ApiError(400, "invalid continue token") from exc
        if query.get("limit") and int(query["limit"]) > 0:
            end = start + int(query["limit"])
            if end < len(items):
                metadata["continue"] = base64.urlsafe_b64encode(str(end).encode()).decode()
                metadata["remainingItemCount"] = len(items) - end
            items = items[start:end]
        else:
            items = items[start:]
        body = {"apiVersion": target.rt.api_version, "kind": f"{target.rt.kind}List", "metadata": metadata}
        body["items"] = items
        return _Response(200, body)

    def _check_body(self, target: _Target, body: Any, *, require_type: bool = False) -> dict[str, Any]:
        rt = target.rt
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        if require_type and (not body.get("apiVersion") or not body.get("kind")):
            raise ApiError(400, "apiVersion and kind must be set in an applied object")
        if body.get("kind") and body["kind"] != rt.kind:
            raise ApiError(400, f"the kind in the body ({body['kind']}) does not match the resource ({rt.kind})")
        if body.get("apiVersion") and body["apiVersion"] != rt.api_version:
            raise ApiError(
                400,
                f"the API version in the data ({body['apiVersion']}) does not match the expected API version "
                f"({rt.api_version})",
            )
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise ApiError(400, "metadata must be an object")
        metadata = metadata or {}
        if target.name and metadata.get("name") and metadata["name"] != target.name:
            raise ApiError(
                400, f"the name of the object ({metadata['name']}) does not match the name on the URL ({target.name})"
            )
        if rt.namespaced and metadata.get("namespace") and metadata["namespace"] != target.namespace:
            raise ApiError(400, "the namespace of the provided object does not match the namespace sent on the request")
        return copy.deepcopy(body)

    def _require_namespace(self, target: _Target) -> None:
        if target.rt.namespaced and ("", "Namespace", "", target.namespace) not in self._objects:
            details = {"name": target.namespace, "kind": "namespaces"}
            raise ApiError(404, f'namespaces "{target.namespace}" not found', details=details)

    def _create(self, target: _Target, query: dict[str, str], body: Any, dry_run: bool) -> _Response:
        rt = target.rt
        obj = self._check_body(target, body)
        metadata = obj.setdefault("metadata", {})
        if not metadata.get("name"):
            if not metadata.get("generateName"):
                raise ApiError(422, "metadata.name: Required value: name or generateName is required")
            metadata["name"] = metadata["generateName"] + secrets.token_hex(3)[:5]
        self._require_namespace(target)
        key = target.key(metadata["name"])
        if key in self._objects:
            details = {"name": metadata["name"], "group": rt.group, "kind": rt.plural}
            raise ApiError(409, f'{rt.qualified_plural} "{metadata["name"]}" already exists', "AlreadyExists", details)
        self._fill_server_metadata(rt, obj, None, namespace=target.namespace)
        if rt.status_subresource:
            obj.pop("status", None)
            if rt.kind == "Namespace":
                obj["status"] = {"phase": "Active"}
        owners = self._owners_after_update(None, obj, self._manager(query), rt.api_version)
        if dry_run:
            return _Response(201, self._present(rt, obj))
        return _Response(201, self._present(rt, self._commit(rt, key, obj, owners, actor="client")))

    def _update(self, target: _Target, query: dict[str, str], body: Any, dry_run: bool) -> _Response:
        rt = target.rt
        live = self._live(target)
        obj = self._check_body(target, body)
        self._check_resource_version(rt, target.name or "", live.obj, obj.get("metadata", {}).get("resourceVersion"))
        return self._store_update(target, live, obj, query, dry_run)

    def _patch(
        self, target: _Target, query: dict[str, str], body: Any, content_type: str | None, dry_run: bool
    ) -> _Response:
        rt = target.rt
        if "force" in query:
            raise ApiError(422, "force: Invalid value: may not be specified for non-apply patch", "Invalid")
        live = self._live(target)
        kind = _content_base(content_type)
        try:
            if kind == "application/merge-patch+json":
                patched = merge_patch(live.obj, body)
            elif kind == "application/strategic-merge-patch+json" and not rt.custom:
                patched = merge_patch(live.obj, strip_strategic_directives(body))
            elif kind == "application/json-patch+json":
                patched = json_patch(live.obj, body)
            else:
                accepted = "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
                if not rt.custom:
                    accepted += ", application/strategic-merge-patch+json"
                raise ApiError(
                    415,
                    f"the body of the request was in an unknown format - accepted media types include: {accepted}",
                )
        except PatchError as exc:
            raise ApiError(422, str(exc), "Invalid") from exc
        if not isinstance(patched, dict):
            raise ApiError(422, "the patch did not produce an object", "Invalid")
        rv = get_path(patched, ("metadata", "resourceVersion"))
        self._check_resource_version(rt, target.name or "", live.obj, None if rv is MISSING else rv)
        for key in ("name", "namespace"):
            if get_path(patched, ("metadata", key)) != get_path(live.obj, ("metadata", key)):
                raise ApiError(400, f"metadata.{key} cannot be changed by a patch")
        return self._store_update(target, live, patched, query, dry_run)

    def _store_update(self, target: _Target, live: Any, body: dict[str, Any], query: dict[str, str], dry_run: bool):
        """The shared end of update and patch: merge subresources, fill server fields, record the manager."""
        rt = target.rt
        new = self._merge_subresource(rt, target, live.obj, body)
        self._fill_server_metadata(rt, new, live.obj)
        owners = self._owners_after_update(
            live, new, self._manager(query), rt.api_version, _operation("Update", target)
        )
        if dry_run:
            return _Response(200, self._present(rt, new))
        return _Response(200, self._present(rt, self._commit(rt, target.key(), new, owners, actor="client")))

    def _apply(self, target: _Target, query: dict[str, str], body: Any, dry_run: bool) -> _Response:
        rt = target.rt
        manager = query.get("fieldManager")
        if not manager:
            raise ApiError(422, "fieldManager: Required value: is required for apply patch", "Invalid")
        applied = self._check_body(target, body, require_type=True)
        metadata = applied.setdefault("metadata", {})
        if metadata.get("managedFields"):
            raise ApiError(400, "metadata.managedFields must be nil in an applied configuration")
        applied_rv = metadata.get("resourceVersion")
        for key in SERVER_METADATA:
            metadata.pop(key, None)
        if rt.status_subresource:
            if target.subresource == "status":
                applied = {"status": applied.get("status", {})}
            else:
                applied.pop("status", None)
        stored = self._objects.get(target.key())
        force = _truthy(query.get("force"))
        applied_paths = frozenset(leaf_paths(applied))
        if stored is None:
            if target.subresource:
                raise self._not_found(rt, target.name or "")
            self._require_namespace(target)
            new = deep_merge({}, applied)
            self._fill_server_metadata(rt, new, None, name=target.name, namespace=target.namespace)
            if rt.kind == "Namespace":
                new["status"] = {"phase": "Active"}
            owners = {(manager, _operation("Apply", target)): _Ownership(applied_paths, rt.api_version, _now())}
            if dry_run:
                return _Response(201, self._present(rt, new))
            return _Response(201, self._present(rt, self._commit(rt, target.key(), new, owners, actor="client")))
        live = stored.obj
        self._check_resource_version(rt, target.name or "", live, applied_rv)
        me = (manager, _operation("Apply", target))
        previous = stored.owners.get(me)
        others = {k: v for k, v in stored.owners.items() if k != me}
        candidate = deep_merge(live, applied)
        for path in (previous.paths if previous else frozenset()) - applied_paths:
            if not any(overlaps(path, q) for own in others.values() for q in own.paths):
                delete_path(candidate, path)
        conflicts = [
            (owner_key, own, q)
            for owner_key, own in others.items()
            for q in own.paths
            if get_path(candidate, q) != get_path(live, q)
        ]
        if conflicts and not force:
            raise self._apply_conflict(rt, target.name or "", conflicts)
        taken = {(owner_key, q) for owner_key, own, q in conflicts}
        owners: _Owners = {}
        for owner_key, own in others.items():
            kept = frozenset(
                q for q in own.paths if (owner_key, q) not in taken and get_path(candidate, q) is not MISSING
            )
            if kept:
                owners[owner_key] = replace(own, paths=kept)
        changed = _content(candidate) != _content(live) or previous is None or previous.paths != applied_paths
        time = _now() if changed or previous is None else previous.time
        owners[me] = _Ownership(applied_paths, rt.api_version, time)
        self._fill_server_metadata(rt, candidate, live)
        if dry_run:
            return _Response(200, self._present(rt, candidate))
        return _Response(200, self._present(rt, self._commit(rt, target.key(), candidate, owners, actor="client")))

    def _apply_conflict(
        self, rt: ResourceType, name: str, conflicts: list[tuple[tuple[str, str], _Ownership, FieldPath]]
    ) -> ApiError:
        """409 worded as the API server words it (structured-merge-diff's Conflicts.Error)."""
        causes = [
            {
                "reason": "FieldManagerConflict",
                "message": f'conflict with "{owner_key[0]}" using {own.api_version}',
                "field": format_path(q),
            }
            for owner_key, own, q in conflicts
        ]
        if len(causes) == 1:
            text = f"{causes[0]['message']}: {causes[0]['field']}"
        else:
            by_manager: dict[str, list[str]] = {}
            for (manager, _), _, q in conflicts:
                by_manager.setdefault(manager, []).append(format_path(q))
            if len(by_manager) == 1:
                [(manager, paths)] = by_manager.items()
                text = f'conflicts with "{manager}"' + "".join(f"\n- {p}" for p in paths)
            else:
                text = "conflicts with" + "".join(
                    f'\n"{m}":' + "".join(f"\n- {p}" for p in paths) for m, paths in by_manager.items()
                )
        noun = "conflict" if len(causes) == 1 else "conflicts"
        message = f"Apply failed with {len(causes)} {noun}: {text}"
        details = {"name": name, "group": rt.group, "kind": rt.plural, "causes": causes}
        return ApiError(409, message, "Conflict", details)

    def _delete(self, target: _Target, body: Any, dry_run: bool) -> _Response:
        rt = target.rt
        if target.subresource:
            raise ApiError(405, "the server does not allow this method on the requested resource: DELETE")
        live = self._live(target)
        preconditions = (body.get("preconditions") if isinstance(body, dict) else None) or {}
        for field_name in ("uid", "resourceVersion"):
            wanted = preconditions.get(field_name)
            actual = live.obj["metadata"].get(field_name)
            if wanted is not None and wanted != actual:
                raise ApiError(
                    409,
                    f"Precondition failed: {field_name} in precondition: {wanted}, {field_name} in object meta: "
                    f"{actual}",
                    "Conflict",
                )
        return self._delete_one(rt, target.key(), live, dry_run)

    def _delete_one(self, rt: ResourceType, key: _Key, live: _Stored, dry_run: bool) -> _Response:
        obj = copy.deepcopy(live.obj)
        if obj["metadata"].get("finalizers"):
            obj["metadata"].setdefault("deletionTimestamp", _now())
            if not dry_run:
                obj = self._commit(rt, key, obj, live.owners, actor="client")
            return _Response(200, self._present(rt, obj))
        if not dry_run:
            self._remove(key, "client")
        if rt.kind == "Namespace":
            obj["metadata"].setdefault("deletionTimestamp", _now())
            obj["status"] = {"phase": "Terminating"}
            return _Response(200, self._present(rt, obj))
        if not rt.custom and rt.kind != "Pod":
            details = {"name": key[3], "group": rt.group, "kind": rt.plural, "uid": obj["metadata"]["uid"]}
            success = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
            return _Response(200, success)
        return _Response(200, self._present(rt, obj))

    def _delete_collection(self, target: _Target, query: dict[str, str], dry_run: bool) -> _Response:
        rt = target.rt
        deleted = []
        for key, stored in self._matching(target, query):
            if key in self._objects:
                deleted.append(self._present(rt, stored.obj))
                self._delete_one(rt, key, stored, dry_run)
        body = {"apiVersion": rt.api_version, "kind": f"{rt.kind}List", "metadata": {}, "items": deleted}
        return _Response(200, body)

    # -- storage ---------------------------------------------------------------------------------

    def _manager(self, query: dict[str, str]) -> str:
        """The field manager of a non-apply write: fieldManager, else the User-Agent's product name."""
        return query.get("fieldManager") or self._agent or "unknown"

    def _check_resource_version(self, rt: ResourceType, name: str, live: dict[str, Any], given: Any) -> None:
        if given not in (None, "") and str(given) != live["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                f'Operation cannot be fulfilled on {rt.qualified_plural} "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again",
                "Conflict",
                {"name": name, "group": rt.group, "kind": rt.plural},
            )

    def _merge_subresource(
        self, rt: ResourceType, target: _Target, live: dict[str, Any], new: dict[str, Any]
    ) -> dict[str, Any]:
        """Main-resource writes keep the live status; status writes change nothing but status."""
        if not rt.status_subresource:
            return new
        if target.subresource == "status":
            result = copy.deepcopy(live)
            result["status"] = copy.deepcopy(new.get("status", {}))
            return result
        result = copy.deepcopy(new)
        result.pop("status", None)
        if "status" in live:
            result["status"] = copy.deepcopy(live["status"])
        return result

    def _fill_server_metadata(
        self,
        rt: ResourceType,
        obj: dict[str, Any],
        live: dict[str, Any] | None,
        *,
        name: str | None = None,
        namespace: str | None = None,
        keep_given: bool = False,
    ) -> None:
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        metadata = obj.setdefault("metadata", {})
        metadata.pop("managedFields", None)
        if name:
            metadata["name"] = name
        if live is not None:
            for key in ("name", "uid", "creationTimestamp", "generation", "resourceVersion", "deletionTimestamp"):
                if key in live["metadata"]:
                    metadata[key] = live["metadata"][key]
                else:
                    metadata.pop(key, None)
        else:
            if not keep_given:
                for key in ("uid", "creationTimestamp", "resourceVersion", "deletionTimestamp", "generation"):
                    metadata.pop(key, None)
            metadata.setdefault("uid", str(uuid.uuid4()))
            metadata.setdefault("creationTimestamp", _now())
        if rt.namespaced:
            metadata["namespace"] = (
                namespace or metadata.get("namespace") or (live or {}).get("metadata", {}).get("namespace")
            )
        else:
            metadata.pop("namespace", None)

    def _owners_after_update(
        self, live: _Stored | None, new: dict[str, Any], manager: str, api_version: str, operation: str = "Update"
    ) -> _Owners:
        """A non-apply write: the writer owns what it changed, and takes it from everyone else."""
        old_leaves = leaf_paths(live.obj) if live else {}
        new_leaves = leaf_paths(new)
        changed = {p for p, v in new_leaves.items() if old_leaves.get(p, MISSING) != v}
        removed = set(old_leaves) - set(new_leaves)
        touched = changed | removed
        me = (manager, operation)
        owners: _Owners = {}
        for owner_key, own in (live.owners if live else {}).items():
            if owner_key == me:
                continue
            kept = frozenset(q for q in own.paths if q in new_leaves and not any(overlaps(q, t) for t in touched))
            if kept:
                owners[owner_key] = replace(own, paths=kept)
        previous = live.owners.get(me) if live else None
        mine = frozenset(p for p in (previous.paths if previous else frozenset()) | changed if p in new_leaves)
        if mine:
            time = previous.time if previous and previous.paths == mine and not touched else _now()
            owners[me] = _Ownership(mine, api_version, time)
        return owners

    def _commit(
        self, rt: ResourceType, key: _Key, new: dict[str, Any], owners: _Owners, *, actor: str
    ) -> dict[str, Any]:
        """Store `new` if it differs from the live object; bump resourceVersion only then."""
        live = self._objects.get(key)
        metadata = new["metadata"]
        rendered = [
            _managed_fields_entry(manager, operation, own) for (manager, operation), own in sorted(owners.items())
        ]
        if rendered:
            metadata["managedFields"] = rendered
        else:
            metadata.pop("managedFields", None)
        if live is not None:
            metadata["resourceVersion"] = live.obj["metadata"]["resourceVersion"]
            if "generation" in live.obj["metadata"]:
                metadata["generation"] = live.obj["metadata"]["generation"]
            if new == live.obj:
                return live.obj
            if _spec(new) != _spec(live.obj):
                metadata["generation"] = int(metadata.get("generation", 1)) + 1
        else:
            metadata.setdefault("generation", 1)
        self._last_rv = next(self._rv)
        metadata["resourceVersion"] = str(self._last_rv)
        self._objects[key] = _Stored(new, owners)
        if actor in _EXTERNAL_ACTORS:
            self._touched.append(new)
        else:
            self._record(actor, "update" if live is not None else "create", rt, new)
        if metadata.get("deletionTimestamp") and not metadata.get("finalizers"):
            self._remove(key, actor)
        return new

    def _remove(self, key: _Key, actor: str) -> None:
        stored = self._objects.pop(key, None)
        if stored is None:
            return
        self._last_rv = next(self._rv)
        rt = self._type_of(key[0], key[1])
        assert rt is not None, key
        if actor in _EXTERNAL_ACTORS:
            self._touched.append(stored.obj)
        else:
            self._record(actor, "delete", rt, stored.obj)
        if rt.kind == "Namespace" and rt.group == "":
            for other in [k for k in self._objects if k[2] == key[3] and k[2]]:
                self._remove(other, "namespace-controller")
        self._collect_garbage(stored.obj["metadata"]["uid"])

    def _collect_garbage(self, removed_uid: str) -> None:
        """Delete dependents of a removed object once none of their owners exist any more."""
        uids = {stored.obj["metadata"].get("uid") for stored in self._objects.values()}
        for key, stored in list(self._objects.items()):
            refs = stored.obj["metadata"].get("ownerReferences") or []
            if key not in self._objects or not any(ref.get("uid") == removed_uid for ref in refs):
                continue
            if all(ref.get("uid") not in uids for ref in refs):
                self._remove(key, "garbage-collector")

    def _record(self, actor: str, action: str, rt: ResourceType, obj: dict[str, Any]) -> None:
        namespace = obj["metadata"].get("namespace") if rt.namespaced else None
        self.controller_writes.append(
            ControllerWrite(actor, action, rt.api_version, rt.kind, namespace, obj["metadata"]["name"])
        )

    def _run_controllers(self) -> None:
        while self._touched:
            touched, self._touched = self._touched, []
            self.crds.on_changes(touched)
            self.profiles.on_changes(touched)


def _version_priority(version: str) -> tuple[int, int, int]:
    """Sort key putting the version a server prefers first: GA over beta over alpha, newer first
    (v1 > v1beta2 > v1beta1 > v1alpha1), as Kubernetes orders a group's versions."""
    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if match is None:
        return (3, 0, 0)
    stage = {"alpha": 2, "beta": 1, None: 0}[match.group(2)]
    return (stage, -int(match.group(1)), -int(match.group(3) or 0))


def _operation(base: str, target: _Target) -> str:
    """Owner-map key part: "Apply" or "Update", with "/status" for writes to the status subresource."""
    return f"{base}/{target.subresource}" if target.subresource else base


def _managed_fields_entry(manager: str, operation: str, own: _Ownership) -> dict[str, Any]:
    op, _, subresource = operation.partition("/")
    entry: dict[str, Any] = {
        "manager": manager,
        "operation": op,
        "apiVersion": own.api_version,
        "time": own.time,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields_v1(own.paths),
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _content(obj: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    out["metadata"] = {k: v for k, v in obj.get("metadata", {}).items() if k != "managedFields"}
    return out


def _is_discovery(path: str) -> bool:
    parts = path.strip("/").split("/")
    return (
        path in ("/version", "/api", "/apis")
        or parts[0] == "openapi"
        or (parts[0] == "api" and len(parts) == 2)
        or (parts[0] == "apis" and len(parts) in (2, 3))
    )


def _aggregated_version(accept: str) -> str | None:
    """Which aggregated-discovery version the Accept header asks for, if any (v2 preferred)."""
    for version in ("v2", "v2beta1"):
        if re.search(rf"g=apidiscovery\.k8s\.io;\s*v={version};\s*as=APIGroupDiscoveryList", accept):
            return version
    return None


class _Handler(BaseHTTPRequestHandler):
    server_version = "KubeApiDouble/1"

    def _serve(self) -> None:
        double: KubeApiDouble = self.server.double  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            response = double._handle(self.command, self.path, self.headers, raw)
        except Exception as exc:  # a bug in the double: answer 500 and keep the traceback for the test
            double.internal_errors.append(traceback.format_exc())
            response = _Response(500, status_object(500, "InternalError", f"KubeApiDouble bug: {exc!r}"))
        payload = json.dumps(response.body).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, fmt: str, *args: Any) -> None:
        pass
