"""The Kubernetes API server double, driven only through the real `kubernetes` client.

These tests pin down what the kit's cluster code may rely on when it runs against
`tests/doubles/kube_api.py`: discovery for typed and dynamic clients, the verbs, server-side
apply with field managers, errors as `Status` objects, injected faults, the call log, and the
simulated Kubeflow profile controller.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from doubles.kube_api import KubeApiDouble
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

MANAGER = "platform-kit"
ROLE_ARN = "arn:aws:iam::123456789012:role/kfp-team-vision"
AGGREGATED_ACCEPT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


@pytest.fixture()
def kube() -> Iterator[KubeApiDouble]:
    with KubeApiDouble() as double:
        yield double
        assert double.internal_errors == []


@pytest.fixture()
def api(kube: KubeApiDouble) -> Iterator[client.ApiClient]:
    api_client = client.ApiClient(kube.configuration())
    yield api_client
    api_client.close()


@pytest.fixture()
def dyn(api: client.ApiClient, tmp_path: Path) -> DynamicClient:
    # An explicit cache file: the default lives in /tmp keyed by host:port, and ports get reused.
    return DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))


def _status(exc: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    body = exc.value.body
    return json.loads(body if isinstance(body, str) else body.decode())


def _configmap(name: str, data: dict[str, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "default"}
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def _profile(name: str, owner: str, role_arn: str | None = ROLE_ARN) -> dict[str, Any]:
    spec: dict[str, Any] = {"owner": {"kind": "User", "name": owner, "apiGroup": "rbac.authorization.k8s.io"}}
    if role_arn:
        spec["plugins"] = [{"kind": "AwsIamForServiceAccount", "spec": {"awsIamRole": role_arn, "annotateOnly": True}}]
    return {"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": name}, "spec": spec}


# -- discovery and configuration -----------------------------------------------------------------


def test_discovery_serves_typed_and_dynamic_clients(kube: KubeApiDouble, api: client.ApiClient, dyn: DynamicClient):
    assert client.VersionApi(api).get_code().git_version.startswith("v1.30.")
    assert client.CoreApi(api).get_api_versions().versions == ["v1"]
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {"kubeflow.org", "security.istio.io", "argoproj.io", "rbac.authorization.k8s.io"} <= groups
    core = {r.name: r for r in client.CoreV1Api(api).get_api_resources().resources}
    assert core["namespaces"].namespaced is False
    assert core["configmaps"].singular_name == "configmap"
    assert "namespaces/status" in core

    for api_version, kind, namespaced in [
        ("v1", "Namespace", False),
        ("v1", "ServiceAccount", True),
        ("v1", "Secret", True),
        ("v1", "LimitRange", True),
        ("v1", "ResourceQuota", True),
        ("rbac.authorization.k8s.io/v1", "RoleBinding", True),
        ("networking.k8s.io/v1", "NetworkPolicy", True),
        ("kubeflow.org/v1", "Profile", False),
        ("security.istio.io/v1beta1", "AuthorizationPolicy", True),
        ("security.istio.io/v1beta1", "RequestAuthentication", True),
        ("argoproj.io/v1alpha1", "Workflow", True),
    ]:
        resource = dyn.resources.get(api_version=api_version, kind=kind)
        assert resource.namespaced is namespaced, kind
    assert {c.verb for c in kube.calls} == {"discovery"}


def test_aggregated_discovery_when_asked_for(api: client.ApiClient):
    response = api.call_api(
        "/apis",
        "GET",
        header_params={"Accept": AGGREGATED_ACCEPT},
        auth_settings=["BearerToken"],
        _preload_content=False,
    )[0]
    assert response.getheader("Content-Type").startswith("application/json;g=apidiscovery.k8s.io;v=v2")
    body = json.loads(response.data)
    profiles = next(i for i in body["items"] if i["metadata"]["name"] == "kubeflow.org")["versions"][0]["resources"]
    assert profiles[0]["resource"] == "profiles"
    assert profiles[0]["scope"] == "Cluster"


def test_register_adds_a_kind(kube: KubeApiDouble, dyn: DynamicClient):
    kube.register("kubeflow.org", "v1beta1", "PodDefault", "poddefaults", True)
    resource = dyn.resources.get(api_version="kubeflow.org/v1beta1", kind="PodDefault")
    body = {"apiVersion": "kubeflow.org/v1beta1", "kind": "PodDefault", "metadata": {"name": "aws"}, "spec": {}}
    dyn.create(resource, body=body, namespace="default")
    assert kube.get_object("kubeflow.org/v1beta1", "PodDefault", "default", "aws") is not None


def test_kubeconfig_loads_and_bearer_token_is_checked(kube: KubeApiDouble, tmp_path: Path):
    path = kube.kubeconfig(tmp_path / "kubeconfig")
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(path), client_configuration=configuration)
    with client.ApiClient(configuration) as api_client:
        names = [n.metadata.name for n in client.CoreV1Api(api_client).list_namespace().items]
    assert "default" in names

    kube.token = "rotated"
    with client.ApiClient(configuration) as api_client, pytest.raises(ApiException) as exc:
        client.CoreV1Api(api_client).list_namespace()
    assert exc.value.status == 401
    assert _status(exc)["reason"] == "Unauthorized"


# -- verbs -------------------------------------------------------------------------------------------


def test_core_kind_create_get_list_patch_delete(kube: KubeApiDouble, api: client.ApiClient):
    v1 = client.CoreV1Api(api)
    created = v1.create_namespaced_config_map("default", _configmap("a", {"k": "1"}, {"team": "vision", "tier": "x"}))
    v1.create_namespaced_config_map("default", _configmap("b", {"k": "2"}, {"team": "nlp"}))
    assert created.metadata.uid and created.metadata.creation_timestamp
    assert int(created.metadata.resource_version) > 0

    assert v1.read_namespaced_config_map("a", "default").data == {"k": "1"}
    assert [c.metadata.name for c in v1.list_namespaced_config_map("default", label_selector="team=vision").items] == [
        "a"
    ]
    assert [c.metadata.name for c in v1.list_namespaced_config_map("default", label_selector="team").items] == [
        "a",
        "b",
    ]
    selected = v1.list_namespaced_config_map("default", label_selector="team=vision,tier=x")
    assert [c.metadata.name for c in selected.items] == ["a"]
    assert [c.metadata.name for c in v1.list_namespaced_config_map("default", label_selector="!tier").items] == ["b"]
    by_name = v1.list_config_map_for_all_namespaces(field_selector="metadata.name=b")
    assert [c.metadata.name for c in by_name.items] == ["b"]

    patched = v1.patch_namespaced_config_map("a", "default", {"data": {"k": "3"}})  # strategic merge
    assert patched.data == {"k": "3"}
    assert int(patched.metadata.resource_version) > int(created.metadata.resource_version)

    v1.delete_namespaced_config_map("a", "default")
    with pytest.raises(ApiException) as exc:
        v1.read_namespaced_config_map("a", "default")
    assert exc.value.status == 404
    assert _status(exc)["message"] == 'configmaps "a" not found'
    assert [c.verb for c in kube.mutations()] == ["create", "create", "patch", "delete"]


def test_profile_and_authorization_policy_through_custom_objects_api(kube: KubeApiDouble, api: client.ApiClient):
    custom = client.CustomObjectsApi(api)
    custom.create_cluster_custom_object("kubeflow.org", "v1", "profiles", _profile("vision", "lead@corp.example"))
    policy = {
        "apiVersion": "security.istio.io/v1beta1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "team-access", "labels": {"app.kubernetes.io/managed-by": "platform-kit"}},
        "spec": {"action": "ALLOW", "rules": [{"when": [{"key": "request.headers[kubeflow-groups]"}]}]},
    }
    custom.create_namespaced_custom_object("security.istio.io", "v1beta1", "default", "authorizationpolicies", policy)

    profile = custom.get_cluster_custom_object("kubeflow.org", "v1", "profiles", "vision")
    assert profile["spec"]["owner"]["name"] == "lead@corp.example"
    listed = custom.list_namespaced_custom_object(
        "security.istio.io",
        "v1beta1",
        "default",
        "authorizationpolicies",
        label_selector="app.kubernetes.io/managed-by",
    )
    assert [p["metadata"]["name"] for p in listed["items"]] == ["team-access"]

    patched = custom.patch_cluster_custom_object(  # merge patch
        "kubeflow.org", "v1", "profiles", "vision", {"spec": {"owner": {"name": "new-lead@corp.example"}}}
    )
    assert patched["spec"]["owner"] == {
        "kind": "User",
        "name": "new-lead@corp.example",
        "apiGroup": "rbac.authorization.k8s.io",
    }

    deleted = custom.delete_namespaced_custom_object(
        "security.istio.io", "v1beta1", "default", "authorizationpolicies", "team-access"
    )
    assert deleted["metadata"]["name"] == "team-access"
    custom.delete_cluster_custom_object("kubeflow.org", "v1", "profiles", "vision")
    assert kube.objects(kind="Profile") == []
    assert kube.objects(kind="AuthorizationPolicy") == []


def test_dynamic_client_crud_and_strategic_merge_refused_for_custom_resources(kube: KubeApiDouble, dyn: DynamicClient):
    profiles = dyn.resources.get(api_version="kubeflow.org/v1", kind="Profile")
    dyn.create(profiles, body=_profile("vision", "lead@corp.example"))
    assert dyn.get(profiles, name="vision").spec.owner.name == "lead@corp.example"
    assert [p.metadata.name for p in dyn.get(profiles).items] == ["vision"]

    # DynamicClient.patch defaults to strategic merge, which a real API server refuses for CRs.
    with pytest.raises(ApiException) as exc:
        dyn.patch(profiles, body={"metadata": {"name": "vision", "labels": {"a": "b"}}})
    assert exc.value.status == 415
    dyn.patch(
        profiles,
        body={"metadata": {"name": "vision", "labels": {"a": "b"}}},
        content_type="application/merge-patch+json",
    )
    dyn.patch(
        profiles,
        name="vision",
        body=[{"op": "add", "path": "/metadata/labels/c", "value": "d"}],
        content_type="application/json-patch+json",
    )
    assert dyn.get(profiles, name="vision").to_dict()["metadata"]["labels"] == {"a": "b", "c": "d"}
    assert [p.metadata.name for p in dyn.get(profiles, label_selector="c=d").items] == ["vision"]

    dyn.delete(profiles, name="vision")
    assert kube.get_object("kubeflow.org/v1", "Profile", None, "vision") is None


def test_create_existing_is_409_already_exists(api: client.ApiClient):
    v1 = client.CoreV1Api(api)
    v1.create_namespaced_config_map("default", _configmap("a", {}))
    with pytest.raises(ApiException) as exc:
        v1.create_namespaced_config_map("default", _configmap("a", {}))
    assert exc.value.status == 409
    status = _status(exc)
    assert (status["kind"], status["status"], status["reason"]) == ("Status", "Failure", "AlreadyExists")
    assert status["details"] == {"name": "a", "group": "", "kind": "configmaps"}


def test_update_with_stale_resource_version_is_409(api: client.ApiClient):
    v1 = client.CoreV1Api(api)
    first = v1.create_namespaced_config_map("default", _configmap("a", {"k": "1"}))
    first.data = {"k": "2"}
    second = v1.replace_namespaced_config_map("a", "default", first)
    assert second.metadata.resource_version != first.metadata.resource_version
    first.data = {"k": "3"}  # still carries the old resourceVersion
    with pytest.raises(ApiException) as exc:
        v1.replace_namespaced_config_map("a", "default", first)
    assert exc.value.status == 409
    assert _status(exc)["reason"] == "Conflict"
    assert "the object has been modified" in _status(exc)["message"]


def test_namespaced_write_into_missing_namespace_is_404(api: client.ApiClient):
    with pytest.raises(ApiException) as exc:
        client.CoreV1Api(api).create_namespaced_service_account("nope", {"metadata": {"name": "sa"}})
    assert exc.value.status == 404
    assert _status(exc)["message"] == 'namespaces "nope" not found'


def test_watch_is_refused_clearly(api: client.ApiClient):
    with pytest.raises(ApiException) as exc:
        client.CoreV1Api(api).list_namespace(watch=True, _preload_content=False)
    assert exc.value.status == 501


def test_status_subresource_and_main_resource_do_not_overwrite_each_other(kube: KubeApiDouble, api: client.ApiClient):
    custom = client.CustomObjectsApi(api)
    body = {**_profile("vision", "lead@corp.example"), "status": {"conditions": [{"type": "Ignored"}]}}
    created = custom.create_cluster_custom_object("kubeflow.org", "v1", "profiles", body)
    assert "status" not in created  # the Profile CRD has a status subresource

    status_patch = {"status": {"conditions": [{"type": "Ready"}]}, "spec": {"owner": {"name": "ignored"}}}
    custom.patch_cluster_custom_object_status("kubeflow.org", "v1", "profiles", "vision", status_patch)
    custom.patch_cluster_custom_object("kubeflow.org", "v1", "profiles", "vision", {"spec": {"owner": {"name": "b"}}})
    stored = kube.get_object("kubeflow.org/v1", "Profile", None, "vision")
    assert stored["status"] == {"conditions": [{"type": "Ready"}]}
    assert stored["spec"]["owner"]["name"] == "b"
    assert stored["metadata"]["generation"] == 2  # spec changed once; the status write did not count


def test_delete_waits_for_finalizers(kube: KubeApiDouble, api: client.ApiClient):
    v1 = client.CoreV1Api(api)
    v1.create_namespaced_config_map("default", {"metadata": {"name": "a", "finalizers": ["example.com/hold"]}})
    v1.delete_namespaced_config_map("a", "default")
    assert kube.get_object("v1", "ConfigMap", "default", "a")["metadata"]["deletionTimestamp"]
    v1.patch_namespaced_config_map("a", "default", {"metadata": {"finalizers": None}})
    assert kube.get_object("v1", "ConfigMap", "default", "a") is None


# -- server-side apply -------------------------------------------------------------------------------


def test_apply_creates_then_noop_keeps_resource_version_then_change_bumps_it(kube: KubeApiDouble, dyn: DynamicClient):
    configmaps = dyn.resources.get(api_version="v1", kind="ConfigMap")
    body = _configmap("team", {"owner": "lead@corp.example"}, {"team": "vision"})

    created = dyn.server_side_apply(configmaps, body=body, field_manager=MANAGER)
    again = dyn.server_side_apply(configmaps, body=body, field_manager=MANAGER)
    assert again.metadata.resourceVersion == created.metadata.resourceVersion
    assert [(m.manager, m.operation) for m in again.metadata.managedFields] == [(MANAGER, "Apply")]

    body["data"]["owner"] = "other@corp.example"
    changed = dyn.server_side_apply(configmaps, body=body, field_manager=MANAGER)
    assert int(changed.metadata.resourceVersion) > int(created.metadata.resourceVersion)
    assert changed.data.owner == "other@corp.example"

    apply_calls = [c for c in kube.calls if c.verb == "apply"]
    assert [c.status for c in apply_calls] == [201, 200, 200]
    assert all(c.content_type == "application/apply-patch+yaml" and c.field_manager == MANAGER for c in apply_calls)


def test_apply_drops_fields_the_manager_no_longer_applies(dyn: DynamicClient):
    configmaps = dyn.resources.get(api_version="v1", kind="ConfigMap")
    dyn.server_side_apply(configmaps, body=_configmap("a", {"x": "1", "y": "2"}, {"l": "1"}), field_manager=MANAGER)
    result = dyn.server_side_apply(configmaps, body=_configmap("a", {"x": "1"}), field_manager=MANAGER)
    assert result.to_dict()["data"] == {"x": "1"}
    assert not result.metadata.labels


def test_apply_conflict_between_managers_then_force_takes_over(kube: KubeApiDouble, dyn: DynamicClient):
    configmaps = dyn.resources.get(api_version="v1", kind="ConfigMap")
    dyn.server_side_apply(configmaps, body=_configmap("a", {"k": "mine"}), field_manager=MANAGER)

    # The same value from another manager is shared ownership, not a conflict.
    shared = dyn.server_side_apply(configmaps, body=_configmap("a", {"k": "mine"}), field_manager="kubectl")
    assert sorted(m.manager for m in shared.metadata.managedFields) == ["kubectl", MANAGER]

    with pytest.raises(ApiException) as exc:
        dyn.server_side_apply(configmaps, body=_configmap("a", {"k": "theirs"}), field_manager="other")
    assert exc.value.status == 409
    status = _status(exc)
    assert status["reason"] == "Conflict"
    assert status["message"].startswith("Apply failed with 2 conflicts: conflicts with")
    assert {c["field"] for c in status["details"]["causes"]} == {".data.k"}
    assert kube.get_object("v1", "ConfigMap", "default", "a")["data"] == {"k": "mine"}

    forced = dyn.server_side_apply(
        configmaps, body=_configmap("a", {"k": "theirs"}), field_manager="other", force_conflicts=True
    )
    assert forced.data.k == "theirs"
    owners = {m["manager"]: m["fieldsV1"] for m in forced.to_dict()["metadata"]["managedFields"]}
    assert owners["other"] == {"f:data": {"f:k": {}}}
    assert MANAGER not in owners  # lost its only field


def test_apply_conflicts_with_a_seeded_owner(kube: KubeApiDouble, dyn: DynamicClient):
    kube.put_object(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vision", "annotations": {"owner": "someone"}}},
        manager="kubectl-edit",
    )
    namespaces = dyn.resources.get(api_version="v1", kind="Namespace")
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vision", "annotations": {"owner": "me"}}}
    with pytest.raises(ApiException) as exc:
        dyn.server_side_apply(namespaces, body=body, field_manager=MANAGER)
    assert _status(exc)["details"]["causes"][0] == {
        "reason": "FieldManagerConflict",
        "message": 'conflict with "kubectl-edit" using v1',
        "field": ".metadata.annotations.owner",
    }
    assert kube.mutations()[-1].status == 409


def test_apply_requires_a_field_manager(dyn: DynamicClient):
    configmaps = dyn.resources.get(api_version="v1", kind="ConfigMap")
    with pytest.raises(ApiException) as exc:
        dyn.server_side_apply(configmaps, body=_configmap("a", {}))
    assert exc.value.status == 422


# -- fault injection and the call log --------------------------------------------------------------


def test_injected_429_reaches_the_client_with_retry_after(kube: KubeApiDouble, dyn: DynamicClient):
    configmaps = dyn.resources.get(api_version="v1", kind="ConfigMap")
    kube.fail("PATCH", r"/configmaps/a$", 429, retry_after=7)
    with pytest.raises(ApiException) as exc:
        dyn.server_side_apply(configmaps, body=_configmap("a", {}), field_manager=MANAGER)
    assert exc.value.status == 429
    assert exc.value.headers["Retry-After"] == "7"
    assert _status(exc)["reason"] == "TooManyRequests"
    assert _status(exc)["details"] == {"retryAfterSeconds": 7}
    dyn.server_side_apply(configmaps, body=_configmap("a", {}), field_manager=MANAGER)  # times=1: next one passes


def test_urllib3_retries_idempotent_requests_on_429_with_retry_after(kube: KubeApiDouble, api: client.ApiClient):
    """Worth knowing: GET/PUT/DELETE answered 429 (or 503) with Retry-After are retried inside urllib3."""
    kube.fail("GET", r"^/api/v1/namespaces/default$", 429, times=1, retry_after=0)
    assert client.CoreV1Api(api).read_namespace("default").metadata.name == "default"
    assert [c.status for c in kube.calls] == [429, 200]


def test_injected_403_is_a_forbidden_status(kube: KubeApiDouble, api: client.ApiClient):
    kube.fail("POST", r"/namespaces/default/secrets$", 403, message='secrets is forbidden: User "ci" cannot create')
    with pytest.raises(ApiException) as exc:
        client.CoreV1Api(api).create_namespaced_secret("default", {"metadata": {"name": "s"}})
    assert exc.value.status == 403
    assert _status(exc)["reason"] == "Forbidden"
    assert _status(exc)["message"].startswith("secrets is forbidden")
    assert kube.objects(kind="Secret") == []


def test_reads_only_leave_no_mutations(kube: KubeApiDouble, api: client.ApiClient, dyn: DynamicClient):
    v1 = client.CoreV1Api(api)
    v1.read_namespace("default")
    v1.list_namespaced_service_account("default", label_selector="a=b")
    with pytest.raises(ApiException):
        v1.read_namespaced_secret("missing", "default")
    dyn.get(dyn.resources.get(api_version="kubeflow.org/v1", kind="Profile"))
    assert kube.mutations() == []
    verbs = [c.verb for c in kube.calls if c.verb != "discovery"]
    assert verbs == ["get", "list", "get", "list"]
    assert [c.status for c in kube.calls if c.verb != "discovery"] == [200, 200, 404, 200]

    kube.clear_calls()
    assert kube.calls == []


# -- cascades ------------------------------------------------------------------------------------------


def test_namespace_deletion_cascades_to_its_objects(kube: KubeApiDouble, api: client.ApiClient):
    v1 = client.CoreV1Api(api)
    v1.create_namespace({"metadata": {"name": "vision"}})
    v1.create_namespaced_config_map("vision", {"metadata": {"name": "a"}})
    client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(
        "vision",
        {
            "metadata": {"name": "b"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "Group", "name": "ml-vision", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    v1.create_namespaced_config_map("default", {"metadata": {"name": "kept"}})

    v1.delete_namespace("vision")
    assert kube.objects(namespace="vision") == []
    assert [o["metadata"]["name"] for o in kube.objects(kind="ConfigMap")] == ["kept"]
    assert {(w.actor, w.kind) for w in kube.controller_writes} == {
        ("namespace-controller", "ConfigMap"),
        ("namespace-controller", "RoleBinding"),
    }
    assert [c.verb for c in kube.mutations()][-1] == "delete"


# -- the simulated Kubeflow profile controller ---------------------------------------------------------


def test_profile_controller_creates_namespace_and_annotates_default_editor(kube: KubeApiDouble, dyn: DynamicClient):
    kube.profile_controller()
    profiles = dyn.resources.get(api_version="kubeflow.org/v1", kind="Profile")
    applied = dyn.server_side_apply(profiles, body=_profile("vision", "lead@corp.example"), field_manager=MANAGER)

    namespace = dyn.get(dyn.resources.get(api_version="v1", kind="Namespace"), name="vision")
    assert namespace.metadata.annotations.owner == "lead@corp.example"
    assert namespace.metadata.labels["app.kubernetes.io/part-of"] == "kubeflow-profile"
    assert namespace.metadata.ownerReferences[0].uid == applied.metadata.uid
    account = dyn.get(
        dyn.resources.get(api_version="v1", kind="ServiceAccount"), name="default-editor", namespace="vision"
    )
    assert account.metadata.annotations["eks.amazonaws.com/role-arn"] == ROLE_ARN
    admin = kube.get_object("rbac.authorization.k8s.io/v1", "RoleBinding", "vision", "namespaceAdmin")
    assert admin["subjects"][0]["name"] == "lead@corp.example"

    assert [c.verb for c in kube.mutations()] == ["apply"]
    assert ("Namespace", "create") in {(w.kind, w.action) for w in kube.controller_writes}
    # The controller added its finalizer: the Profile moved on, but a re-apply is still a no-op.
    current = kube.get_object("kubeflow.org/v1", "Profile", None, "vision")
    assert current["metadata"]["finalizers"] == ["profile-finalizer"]
    again = dyn.server_side_apply(profiles, body=_profile("vision", "lead@corp.example"), field_manager=MANAGER)
    assert again.metadata.resourceVersion == current["metadata"]["resourceVersion"]


def test_profile_controller_latency_in_reads(kube: KubeApiDouble, api: client.ApiClient):
    kube.profile_controller(delay_reads=2)
    client.CustomObjectsApi(api).create_cluster_custom_object(
        "kubeflow.org", "v1", "profiles", _profile("vision", "lead@corp.example")
    )
    v1 = client.CoreV1Api(api)
    for _ in range(2):
        with pytest.raises(ApiException) as exc:
            v1.read_namespace("vision")
        assert exc.value.status == 404
    assert v1.read_namespace("vision").metadata.annotations["owner"] == "lead@corp.example"


def test_broken_profile_controller_never_annotates(kube: KubeApiDouble, api: client.ApiClient):
    kube.profile_controller(annotate_irsa=False)
    client.CustomObjectsApi(api).create_cluster_custom_object(
        "kubeflow.org", "v1", "profiles", _profile("vision", "lead@corp.example")
    )
    account = client.CoreV1Api(api).read_namespaced_service_account("default-editor", "vision")
    assert "eks.amazonaws.com/role-arn" not in (account.metadata.annotations or {})


def test_profile_controller_refuses_a_namespace_owned_by_someone_else(kube: KubeApiDouble, api: client.ApiClient):
    kube.put_object(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vision", "annotations": {"owner": "other"}}}
    )
    kube.profile_controller()
    custom = client.CustomObjectsApi(api)
    custom.create_cluster_custom_object("kubeflow.org", "v1", "profiles", _profile("vision", "lead@corp.example"))

    profile = custom.get_cluster_custom_object("kubeflow.org", "v1", "profiles", "vision")
    assert profile["status"]["conditions"][-1]["type"] == "Failed"
    assert "not owned by profile creator" in profile["status"]["conditions"][-1]["message"]
    assert kube.objects(kind="ServiceAccount", namespace="vision") == []


@pytest.mark.parametrize(("mode", "expected_owner"), [("reject", "lead@corp.example"), ("follow", "new@corp.example")])
def test_profile_owner_change(kube: KubeApiDouble, dyn: DynamicClient, mode: str, expected_owner: str):
    kube.profile_controller(owner_change=mode)
    profiles = dyn.resources.get(api_version="kubeflow.org/v1", kind="Profile")
    dyn.server_side_apply(profiles, body=_profile("vision", "lead@corp.example"), field_manager=MANAGER)
    dyn.server_side_apply(profiles, body=_profile("vision", "new@corp.example"), field_manager=MANAGER)

    namespace = kube.get_object("v1", "Namespace", None, "vision")
    assert namespace["metadata"]["annotations"]["owner"] == expected_owner
    admin = kube.get_object("rbac.authorization.k8s.io/v1", "RoleBinding", "vision", "namespaceAdmin")
    assert admin["subjects"][0]["name"] == expected_owner


def test_profile_deletion_removes_its_namespace(kube: KubeApiDouble, api: client.ApiClient):
    kube.profile_controller()
    custom = client.CustomObjectsApi(api)
    custom.create_cluster_custom_object("kubeflow.org", "v1", "profiles", _profile("vision", "lead@corp.example"))
    assert kube.objects(namespace="vision")

    custom.delete_cluster_custom_object("kubeflow.org", "v1", "profiles", "vision")
    assert kube.objects(kind="Profile") == []
    assert kube.get_object("v1", "Namespace", None, "vision") is None
    assert kube.objects(namespace="vision") == []
    assert [c.verb for c in kube.mutations()] == ["create", "delete"]
