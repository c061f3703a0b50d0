"""Reaching the cluster and writing to it: EKS credentials from boto3, server-side apply, bounded retries.

* ``eks_token`` makes the bearer token ``aws eks get-token`` makes: a presigned STS
  GetCallerIdentity URL carrying the cluster name in the signed ``x-k8s-aws-id`` header, base64url
  encoded behind ``k8s-aws-v1.``. No AWS CLI is needed.
* ``client_for_eks`` builds a ``kubernetes`` ApiClient from EKS DescribeCluster (endpoint and CA)
  and that token, refreshed before it expires; ``client_for_context`` uses a kubeconfig context.
* ``Cluster`` reads before it writes: an object whose live state already holds every field the kit
  sets is left alone (no call at all), anything else is server-side applied with the kit's fixed
  field manager. 429 honours Retry-After, 409 is retried after a fresh read, 5xx with backoff, all
  bounded; 401/403 fail at once with the object named.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_kit.errors import OperationFailed

FIELD_MANAGER = "platform-kit"
TOKEN_PREFIX = "k8s-aws-v1."
K8S_AWS_ID_HEADER = "x-k8s-aws-id"
# STS accepts the presigned URL for 60 s; EKS honours the token for 15 minutes. Refresh well before.
PRESIGN_SECONDS = 60
TOKEN_REFRESH_SECONDS = 10 * 60
RETRYABLE_STATUS = {429, 500, 502, 503, 504}


# --- credentials ----------------------------------------------------------------------------


def eks_token(sts_client: Any, cluster_name: str) -> str:
    """A Kubernetes bearer token for ``cluster_name``, signed by the caller's AWS credentials."""

    def move_id_to_context(params: dict, context: dict, **_: Any) -> None:
        if K8S_AWS_ID_HEADER in params:
            context[K8S_AWS_ID_HEADER] = params.pop(K8S_AWS_ID_HEADER)

    def sign_id_header(request: Any, **_: Any) -> None:
        if K8S_AWS_ID_HEADER in request.context:
            request.headers[K8S_AWS_ID_HEADER] = request.context[K8S_AWS_ID_HEADER]

    events = sts_client.meta.events
    events.register("provide-client-params.sts.GetCallerIdentity", move_id_to_context)
    events.register("before-sign.sts.GetCallerIdentity", sign_id_header)
    try:
        url = sts_client.generate_presigned_url(
            "get_caller_identity",
            Params={K8S_AWS_ID_HEADER: cluster_name},
            ExpiresIn=PRESIGN_SECONDS,
            HttpMethod="GET",
        )
    finally:
        events.unregister("provide-client-params.sts.GetCallerIdentity", move_id_to_context)
        events.unregister("before-sign.sts.GetCallerIdentity", sign_id_header)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class EksEndpoint:
    name: str
    endpoint: str
    ca_data: str  # base64 PEM, as DescribeCluster returns it


def describe_cluster(eks_client: Any, cluster_name: str) -> EksEndpoint:
    from botocore.exceptions import ClientError

    try:
        cluster = eks_client.describe_cluster(name=cluster_name)["cluster"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise OperationFailed(
                f"EKS cluster {cluster_name} does not exist",
                hint="apply the platform stack first: platform infra apply --env ENV --stack platform",
            ) from None
        raise
    return EksEndpoint(cluster_name, cluster["endpoint"], cluster["certificateAuthority"]["data"])


def client_for_eks(session: Any, cluster_name: str, *, ca_dir: Path, endpoint_url: str | None = None) -> Any:
    """An ApiClient for the EKS cluster, authenticated with a token refreshed every 10 minutes."""
    from kubernetes import client

    kwargs = {"endpoint_url": endpoint_url} if endpoint_url else {}
    cluster = describe_cluster(session.client("eks", **kwargs), cluster_name)
    sts = session.client("sts", **kwargs)
    ca_dir.mkdir(parents=True, exist_ok=True)
    ca_file = ca_dir / f"{cluster_name}-ca.crt"
    ca_file.write_bytes(base64.b64decode(cluster.ca_data))
    configuration = client.Configuration()
    configuration.host = cluster.endpoint
    configuration.ssl_ca_cert = str(ca_file)
    issued = {"at": 0.0}

    def refresh(config: Any) -> None:
        if time.monotonic() - issued["at"] > TOKEN_REFRESH_SECONDS:
            config.api_key["authorization"] = eks_token(sts, cluster_name)
            config.api_key_prefix["authorization"] = "Bearer"
            issued["at"] = time.monotonic()

    refresh(configuration)
    configuration.refresh_api_key_hook = refresh
    return client.ApiClient(configuration)


def client_for_context(context: str | None = None, config_file: str | None = None) -> Any:
    """An ApiClient from a kubeconfig context (``--kube-context``); KUBECONFIG is read at call time."""
    import os

    from kubernetes import config

    config_file = config_file or os.environ.get("KUBECONFIG") or None
    try:
        return config.new_client_from_config(config_file=config_file, context=context)
    except config.ConfigException as exc:
        raise OperationFailed(f"kubeconfig context {context or '(current)'}: {exc}") from None


# --- writing objects ------------------------------------------------------------------------


# Maps whose values are resource quantities: the API server stores them in canonical form
# (``0.5`` comes back as ``500m``, ``1024Mi`` as ``1Gi``), so they are compared by value.
QUANTITY_MAPS = frozenset(
    {"hard", "limits", "requests", "default", "defaultRequest", "max", "min", "maxLimitRequestRatio"}
)


def same_quantity(live: Any, desired: Any) -> bool:
    """Whether two resource quantities mean the same amount (``"0.5"`` and ``"500m"`` do)."""
    from kubernetes.utils.quantity import parse_quantity

    try:
        return parse_quantity(live) == parse_quantity(desired)
    except (ValueError, TypeError):
        return False


def contains(live: Any, desired: Any, *, quantities: bool = False) -> bool:
    """Whether ``live`` already holds every field of ``desired`` (maps by subset, lists item by item;
    a null in ``desired`` asks for nothing).

    Values inside the maps named in ``QUANTITY_MAPS`` are compared as quantities, the way the API
    server normalises them, so a re-run does not re-apply an object for a spelling difference.
    """
    if isinstance(desired, dict):
        # A null in an applied object sets nothing (controller-gen CRDs carry `creationTimestamp: null`).
        return isinstance(live, dict) and all(
            v is None or (k in live and contains(live[k], v, quantities=quantities or k in QUANTITY_MAPS))
            for k, v in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(contains(a, b, quantities=quantities) for a, b in zip(live, desired, strict=True))
        )
    if live == desired:
        return True
    return quantities and not isinstance(desired, bool) and same_quantity(live, desired)


def without_status(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` less its ``status``: the server keeps status to itself (a CRD rendered by controller-gen
    carries an empty one), so comparing it would make every re-run write again."""
    return {k: v for k, v in obj.items() if k != "status"}


def describe(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    namespace = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {namespace}{meta.get('name')}"


@dataclass
class Cluster:
    """Typed-free access to a cluster through the dynamic client, with the kit's apply rules."""

    api_client: Any
    cache_file: str | None = None  # discovery cache; the client's default is a shared file in /tmp
    field_manager: str = FIELD_MANAGER
    sleep: Callable[[float], None] = time.sleep
    max_attempts: int = 6
    max_wait: float = 30.0
    _resources: dict[tuple[str, str], Any] = field(default_factory=dict)
    _dynamic: Any = None

    @property
    def dynamic(self) -> Any:
        if self._dynamic is None:
            from kubernetes.dynamic import DynamicClient

            self._dynamic = self._call(
                lambda: DynamicClient(self.api_client, cache_file=self.cache_file), "discover the API"
            )
        return self._dynamic

    def resource(self, api_version: str, kind: str) -> Any:
        key = (api_version, kind)
        if key not in self._resources:
            from kubernetes.dynamic.exceptions import ResourceNotFoundError

            try:
                self._resources[key] = self.dynamic.resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError:
                raise OperationFailed(
                    f"the cluster does not serve {kind} ({api_version})",
                    hint="is Kubeflow installed? apply the platform render first",
                ) from None
        return self._resources[key]

    # --- retries ----------------------------------------------------------------------------

    def _call(self, action: Callable[[], Any], what: str, on_conflict: Callable[[], Any] | None = None) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError as TransportError

        delay = 0.5
        for attempt in range(1, self.max_attempts + 1):
            try:
                return action()
            except (TransportError, OSError) as exc:
                host = getattr(getattr(self.api_client, "configuration", None), "host", "the cluster")
                raise OperationFailed(
                    f"{what}: cannot reach {host} ({type(exc).__name__})",
                    hint="check the network path to the API server (VPN, endpoint access) and --kube-context",
                ) from None
            except ApiException as exc:
                status = exc.status or 0
                last = attempt == self.max_attempts
                if status in (401, 403):
                    raise OperationFailed(f"{what}: {_reason(exc)}", hint=_auth_hint(status)) from None
                if status == 409 and on_conflict is not None and not last:
                    result = on_conflict()  # a fresh read decides whether to try again
                    if result is not None:
                        return result
                elif status not in RETRYABLE_STATUS or last:
                    if last and status in RETRYABLE_STATUS | {409}:
                        raise OperationFailed(
                            f"{what}: still {status} after {attempt} attempts ({_reason(exc)})"
                        ) from None
                    raise OperationFailed(f"{what}: {_reason(exc)}") from None
                wait = _retry_after(exc)
                self.sleep(min(self.max_wait, wait if wait is not None else delay))
                delay = min(self.max_wait, delay * 2)
        raise AssertionError("unreachable")  # pragma: no cover

    # --- verbs ------------------------------------------------------------------------------

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        resource = self.resource(api_version, kind)

        def read() -> dict[str, Any] | None:
            try:
                return resource.get(name=name, namespace=namespace).to_dict()
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise

        return self._call(read, f"read {kind} {namespace + '/' if namespace else ''}{name}")

    def list(self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None):
        resource = self.resource(api_version, kind)
        result = self._call(
            lambda: resource.get(namespace=namespace, label_selector=label_selector),
            f"list {kind}" + (f" in {namespace}" if namespace else ""),
        )
        return [item.to_dict() for item in result.items]

    def scoped(self, obj: dict[str, Any]) -> dict[str, Any]:
        """``obj`` without a namespace when its kind is cluster-scoped. Kustomize's namespace setting
        cannot know a custom kind's scope and gives every object one; the server ignores it."""
        meta = obj.get("metadata") or {}
        if not meta.get("namespace") or self.resource(obj["apiVersion"], obj["kind"]).namespaced:
            return obj
        return {**obj, "metadata": {k: v for k, v in meta.items() if k != "namespace"}}

    def apply(self, obj: dict[str, Any], *, field_manager: str | None = None) -> str:
        """Server-side apply ``obj`` unless the cluster already has it; returns created/changed/unchanged.

        One field manager owns one set of fields: applying a smaller object with the same manager
        removes the fields it no longer names, so a partial write goes under its own manager.
        """
        obj = self.scoped(obj)
        meta = obj["metadata"]
        live = self.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        if live is not None and contains(live, without_status(obj)):
            return "unchanged"
        resource = self.resource(obj["apiVersion"], obj["kind"])

        def write() -> Any:
            return resource.server_side_apply(
                body=obj,
                name=meta["name"],
                namespace=meta.get("namespace"),
                field_manager=field_manager or self.field_manager,
                force_conflicts=True,
            )

        def after_conflict() -> str | None:
            fresh = self.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
            return "unchanged" if fresh is not None and contains(fresh, without_status(obj)) else None

        self._call(write, f"apply {describe(obj)}", on_conflict=after_conflict)
        return "created" if live is None else "changed"

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete if present; False when it was already gone."""
        from kubernetes.client.exceptions import ApiException

        resource = self.resource(api_version, kind)

        def remove() -> bool:
            try:
                resource.delete(name=name, namespace=namespace)
                return True
            except ApiException as exc:
                if exc.status == 404:
                    return False
                raise

        return self._call(remove, f"delete {kind} {namespace + '/' if namespace else ''}{name}")

    def wait_for(self, check: Callable[[], str | None], *, timeout: float, interval: float = 1.0, what: str) -> None:
        """Poll ``check`` (None = done, else what is missing) until done or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        missing = check()
        while missing is not None:
            if time.monotonic() >= deadline:
                raise OperationFailed(f"timed out after {timeout:.0f} s waiting for {what}: {missing}")
            self.sleep(interval)
            missing = check()


def _reason(exc: Any) -> str:
    import json

    try:
        body = json.loads(exc.body or "{}")
        message = body.get("message") or exc.reason
    except (TypeError, ValueError):
        message = exc.reason
    return f"{exc.status} {message}".strip()


def _retry_after(exc: Any) -> float | None:
    headers = getattr(exc, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _auth_hint(status: int) -> str:
    if status == 401:
        return "the cluster did not accept the credentials; check the AWS identity (platform doctor --env ENV)"
    return "the identity lacks RBAC for this; an EKS access entry or cluster role binding is needed"


def connect(settings, loaded, env_name: str, kube_context: str | None):
    """The cluster to apply to: --kube-context, the env's kubernetes.context, else its EKS cluster.
    None for an emulated environment (the sandbox has no Kubernetes API server)."""
    env = loaded.env(env_name)
    context_name = kube_context or env.kubernetes.context
    cache = settings.state_dir / "kube"
    cache.mkdir(parents=True, exist_ok=True)
    if context_name:
        return Cluster(client_for_context(context_name), cache_file=str(cache / f"discovery-{context_name}.json"))
    if env.aws.endpoint_url is not None:
        return None
    from platform_kit import aws
    from platform_kit.infra import Infra

    outputs = Infra(settings, loaded, env_name).platform_outputs()
    target = aws.session_for(env, state_dir=settings.state_dir)
    name = str(outputs["cluster_name"])
    api = client_for_eks(target.session, name, ca_dir=cache)
    return Cluster(api, cache_file=str(cache / f"discovery-{name}.json"))
