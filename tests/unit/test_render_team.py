"""The per-team Kubernetes objects: Profile, namespace labels, access, guard rails (pure rendering)."""

from __future__ import annotations

import json
import random
import re
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from conftest import EXAMPLE_CONFIG, UPSTREAM

from platform_kit import naming
from platform_kit.config.models import PlatformConfig, Team
from platform_kit.config.validate import load_platform
from platform_kit.errors import BadInput
from platform_kit.render import team as render
from platform_kit.render.team import (
    DEX_JWKS_URI,
    INGRESS_GATEWAY_PRINCIPAL,
    KFP_UI_PRINCIPAL,
    dex_issuer,
    render_team,
)

ENV = "sandbox"
NAMESPACE = "perception"
GATEWAY = [INGRESS_GATEWAY_PRINCIPAL]
GATEWAY_AND_UI = [INGRESS_GATEWAY_PRINCIPAL, KFP_UI_PRINCIPAL]
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@cache
def _loaded() -> tuple[PlatformConfig, dict[str, Team]]:
    loaded = load_platform(EXAMPLE_CONFIG)
    return loaded.platform, loaded.teams


@pytest.fixture()
def cfg() -> PlatformConfig:
    return _loaded()[0]


@pytest.fixture()
def perception() -> Team:
    return _loaded()[1]["perception"]


def _team(base: Team, **changes: Any) -> Team:
    """A validated variant of ``base`` (emails lowercased, rules checked), as load_platform would give."""
    return Team.model_validate({**base.model_dump(), **changes})


def _render(cfg: PlatformConfig, team: Team) -> list[dict[str, Any]]:
    return render_team(cfg, ENV, team)


def _of(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def _named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in _of(objects, kind) if o["metadata"]["name"] == name]
    return found


# --- Profile ---------------------------------------------------------------------------------


def test_profile_is_cluster_scoped_and_owned_by_the_team_owner(cfg: PlatformConfig, perception: Team) -> None:
    (profile,) = _of(_render(cfg, perception), "Profile")
    assert profile["apiVersion"] == "kubeflow.org/v1"
    assert profile["metadata"]["name"] == naming.team_namespace("perception")
    assert "namespace" not in profile["metadata"]
    assert profile["spec"]["owner"] == {"kind": "User", "name": "maya.chen@corp.example"}


def test_profile_quota_covers_requests_storage_gpu_and_pods(cfg: PlatformConfig, perception: Team) -> None:
    (profile,) = _of(_render(cfg, perception), "Profile")
    assert profile["spec"]["resourceQuotaSpec"]["hard"] == {
        "requests.cpu": "256",
        "requests.memory": "1Ti",
        "requests.nvidia.com/gpu": "16",
        "requests.storage": "10Ti",
        "pods": "400",
    }


def test_profile_quota_shuts_out_gpus_when_the_team_has_none(cfg: PlatformConfig, perception: Team) -> None:
    team = _team(perception, quotas={**perception.quotas.model_dump(), "gpu": 0})
    (profile,) = _of(_render(cfg, team), "Profile")
    assert profile["spec"]["resourceQuotaSpec"]["hard"]["requests.nvidia.com/gpu"] == "0"


def test_profile_plugin_annotates_with_the_team_role(cfg: PlatformConfig, perception: Team) -> None:
    (profile,) = _of(_render(cfg, perception), "Profile")
    assert profile["spec"]["plugins"] == [
        {
            "kind": "AwsIamForServiceAccount",
            "spec": {"awsIamRole": "arn:aws:iam::123456789012:role/acme-sandbox-team-perception", "annotateOnly": True},
        }
    ]
    dev = render_team(cfg, "dev", perception)
    (dev_profile,) = _of(dev, "Profile")
    role = naming.team_role("acme", "dev", "perception")
    assert dev_profile["spec"]["plugins"][0]["spec"]["awsIamRole"] == f"arn:aws:iam::210987654321:role/{role}"


def test_team_without_members_or_groups_still_gets_a_profile_with_quota(cfg: PlatformConfig, perception: Team) -> None:
    objects = _render(cfg, _team(perception, members=[], groups=[]))
    (profile,) = _of(objects, "Profile")
    assert profile["spec"]["resourceQuotaSpec"]["hard"]
    assert not _of(objects, "RoleBinding")
    assert not _of(objects, "AuthorizationPolicy")
    assert _of(objects, "LimitRange")
    assert _of(objects, "NetworkPolicy")


# --- every object ----------------------------------------------------------------------------


def test_every_object_is_labelled_managed_by_the_kit_for_the_team(cfg: PlatformConfig, perception: Team) -> None:
    for obj in _render(cfg, perception):
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "platform-kit", obj["kind"]
        assert labels["platform-kit.io/team"] == "perception", obj["kind"]


def test_every_namespaced_object_is_in_the_team_namespace(cfg: PlatformConfig, perception: Team) -> None:
    for obj in _render(cfg, perception):
        if obj["kind"] in ("Profile", "Namespace"):
            assert "namespace" not in obj["metadata"]
        else:
            assert obj["metadata"]["namespace"] == NAMESPACE, obj["kind"]


def test_every_name_is_within_its_kubernetes_limit(cfg: PlatformConfig, perception: Team) -> None:
    for obj in _render(cfg, perception):
        name = obj["metadata"]["name"]
        if obj["kind"] in ("Profile", "Namespace"):
            assert naming.check(naming.DNS_LABEL, name) is None
        else:
            assert len(name) <= 253 and _SUBDOMAIN.match(name), name


def test_objects_come_in_apply_order(cfg: PlatformConfig, perception: Team) -> None:
    objects = _render(cfg, perception)
    keys = [
        (render.KIND_ORDER.index(o["kind"]), o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objects
    ]
    assert keys == sorted(keys)
    assert objects[0]["kind"] == "Profile"


def test_render_is_deterministic_whatever_the_list_order(cfg: PlatformConfig, perception: Team) -> None:
    first = json.dumps(_render(cfg, perception))
    assert json.dumps(_render(cfg, perception)) == first
    shuffled = random.Random(7)
    for _ in range(5):
        members = [m.model_dump() for m in perception.members]
        groups = [g.model_dump() for g in perception.groups]
        shuffled.shuffle(members)
        shuffled.shuffle(groups)
        assert json.dumps(_render(cfg, _team(perception, members=members, groups=groups))) == first


def test_unknown_environment_or_one_the_team_skips_is_bad_input(cfg: PlatformConfig, perception: Team) -> None:
    with pytest.raises(BadInput, match="no such environment"):
        render_team(cfg, "staging", perception)
    with pytest.raises(BadInput, match="not deployed to 'prod'"):
        render_team(cfg, "prod", _team(perception, environments=["sandbox", "dev"]))


# --- namespace labels ------------------------------------------------------------------------


def _namespace(cfg: PlatformConfig, team: Team) -> dict[str, Any]:
    (namespace,) = _of(_render(cfg, team), "Namespace")
    return namespace


def test_namespace_is_metadata_only(cfg: PlatformConfig, perception: Team) -> None:
    namespace = _namespace(cfg, perception)
    assert set(namespace) == {"apiVersion", "kind", "metadata"}
    assert namespace["metadata"]["name"] == NAMESPACE


def test_namespace_enforces_at_least_baseline_and_audits_and_warns_restricted(
    cfg: PlatformConfig, perception: Team
) -> None:
    labels = _namespace(cfg, perception)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] in ("baseline", "restricted")
    assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.31"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"


def test_namespace_gets_istio_sidecars(cfg: PlatformConfig, perception: Team) -> None:
    assert _namespace(cfg, perception)["metadata"]["labels"]["istio-injection"] == "enabled"


def test_namespace_names_its_display_name_and_owner(cfg: PlatformConfig, perception: Team) -> None:
    annotations = _namespace(cfg, perception)["metadata"]["annotations"]
    assert annotations["platform-kit.io/display-name"] == "Perception"
    assert annotations["platform-kit.io/owner"] == "maya.chen@corp.example"


@pytest.mark.parametrize(
    ("cost_center", "as_label"),
    [("CC-4120", True), ("finance:ml/vision=1", False), ("c" * 63, True), ("c" * 64, False), ("CC-", False)],
)
def test_cost_center_is_a_label_when_it_can_be_and_an_annotation_otherwise(
    cfg: PlatformConfig, perception: Team, cost_center: str, as_label: bool
) -> None:
    meta = _namespace(cfg, _team(perception, cost_center=cost_center))["metadata"]
    where, other = (meta["labels"], meta["annotations"]) if as_label else (meta["annotations"], meta["labels"])
    assert where["platform-kit.io/cost-center"] == cost_center
    assert "platform-kit.io/cost-center" not in other


# --- members ---------------------------------------------------------------------------------


def test_member_role_bindings_are_named_and_annotated_like_kfam(cfg: PlatformConfig, perception: Team) -> None:
    objects = _render(cfg, perception)
    binding = _named(objects, "RoleBinding", "user-ravi-patel-corp-example-clusterrole-edit")
    assert binding["metadata"]["annotations"] == {"user": "ravi.patel@corp.example", "role": "edit"}
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "kubeflow-edit",
    }
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "ravi.patel@corp.example"}
    ]
    viewer = _named(objects, "RoleBinding", "user-ops-analyst-corp-example-clusterrole-view")
    assert viewer["metadata"]["annotations"] == {"user": "ops-analyst@corp.example", "role": "view"}
    assert viewer["roleRef"]["name"] == "kubeflow-view"


def test_member_policy_admits_the_member_through_the_gateway(cfg: PlatformConfig, perception: Team) -> None:
    policy = _named(_render(cfg, perception), "AuthorizationPolicy", "user-ravi-patel-corp-example-clusterrole-edit")
    assert policy["apiVersion"] == "security.istio.io/v1beta1"
    assert policy["metadata"]["annotations"] == {"user": "ravi.patel@corp.example", "role": "edit"}
    assert policy["spec"] == {
        "action": "ALLOW",
        "rules": [
            {
                "from": [{"source": {"principals": GATEWAY_AND_UI}}],
                "when": [{"key": "request.headers[kubeflow-userid]", "values": ["ravi.patel@corp.example"]}],
            }
        ],
    }


@pytest.mark.parametrize(
    ("email", "name"),
    [
        ("ravi.patel@corp.example", "user-ravi-patel-corp-example-clusterrole-edit"),
        ("o'brien+ml@corp.example", "user-o-brien-ml-corp-example-clusterrole-edit"),
        ("a--b@corp.example", "user-a-b-corp-example-clusterrole-edit"),
    ],
)
def test_binding_names_follow_kfam(email: str, name: str) -> None:
    # KFAM: every run of characters other than letters and digits becomes one '-', then lowercase.
    assert render.binding_name("user", email, "edit") == name


def test_owner_listed_as_member_gets_no_second_binding(cfg: PlatformConfig, perception: Team) -> None:
    assert any(m.email == perception.owner for m in perception.members)
    for obj in _render(cfg, perception):
        assert obj["metadata"].get("annotations", {}).get("user") != perception.owner
        assert "maya-chen" not in obj["metadata"]["name"]


def test_members_differing_only_in_punctuation_get_distinct_bindings(cfg: PlatformConfig, perception: Team) -> None:
    members = [{"email": "a.b@corp.example", "role": "edit"}, {"email": "a-b@corp.example", "role": "edit"}]
    bindings = _of(_render(cfg, _team(perception, members=members)), "RoleBinding")
    users = {b["metadata"]["name"]: b["metadata"]["annotations"].get("user") for b in bindings}
    assert len([u for u in users.values() if u]) == 2
    assert "user-a-b-corp-example-clusterrole-edit" not in users


def test_very_long_member_email_is_hashed_within_limits(cfg: PlatformConfig, perception: Team) -> None:
    email = "x" * 64 + "@" + ".".join(["d" * 60] * 3) + ".example"
    objects = _render(cfg, _team(perception, members=[{"email": email, "role": "view"}]))
    (binding,) = [b for b in _of(objects, "RoleBinding") if b["subjects"][0]["kind"] == "User"]
    assert binding["metadata"]["annotations"]["user"] == email
    assert len(binding["metadata"]["name"]) <= 253
    assert binding["metadata"]["name"].endswith("-clusterrole-view")


# --- groups ----------------------------------------------------------------------------------


def test_group_role_bindings_bind_the_idp_group(cfg: PlatformConfig, perception: Team) -> None:
    objects = _render(cfg, perception)
    binding = _named(objects, "RoleBinding", "group-ml-perception-clusterrole-edit")
    assert binding["metadata"]["annotations"] == {"group": "ml-perception", "role": "edit"}
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "kubeflow-edit",
    }
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "ml-perception"}]
    viewers = _named(objects, "RoleBinding", "group-ml-perception-viewers-clusterrole-view")
    assert viewers["roleRef"]["name"] == "kubeflow-view"
    assert viewers["subjects"][0]["name"] == "ml-perception-viewers"


def test_group_policy_matches_the_verified_groups_claim(cfg: PlatformConfig, perception: Team) -> None:
    policy = _named(_render(cfg, perception), "AuthorizationPolicy", "group-ml-perception-clusterrole-edit")
    (rule,) = policy["spec"]["rules"]
    assert rule["from"] == [{"source": {"principals": GATEWAY}}]
    # Exactly the claim, exact value: never the joined kubeflow-groups header, never a wildcard.
    assert rule["when"] == [{"key": "request.auth.claims[groups]", "values": ["ml-perception"]}]


def test_group_policies_exist_only_with_the_request_authentication(cfg: PlatformConfig, perception: Team) -> None:
    (authn,) = _of(_render(cfg, perception), "RequestAuthentication")
    assert authn["apiVersion"] == "security.istio.io/v1beta1"
    assert authn["metadata"]["name"] == "dex-jwt"
    assert "selector" not in authn["spec"]
    assert authn["spec"]["jwtRules"] == [
        {
            "issuer": "https://kubeflow.sandbox.corp.example/dex",
            "jwksUri": DEX_JWKS_URI,
            "forwardOriginalToken": True,
            "fromHeaders": [{"name": "Authorization", "prefix": "Bearer "}],
        }
    ]


def test_dex_issuer_is_under_the_environments_kubeflow_hostname(cfg: PlatformConfig) -> None:
    assert dex_issuer(cfg, "dev") == "https://kubeflow.dev.ml.corp.example/dex"


def test_long_group_names_are_hashed_within_limits_and_distinct(cfg: PlatformConfig, perception: Team) -> None:
    stem = "g" * 250
    groups = [{"name": stem + suffix, "role": "edit"} for suffix in ("-one", "-two", "xxxxxx")]
    objects = _render(cfg, _team(perception, members=[], groups=groups))
    names = [b["metadata"]["name"] for b in _of(objects, "RoleBinding")]
    assert len(set(names)) == 3
    for name in names:
        assert len(name) <= 253 and _SUBDOMAIN.match(name), name
        assert re.search(r"-[0-9a-f]{8}-clusterrole-edit$", name)
    # A group's name depends on the group alone, not on who else has access.
    with_members = _of(_render(cfg, _team(perception, groups=groups)), "RoleBinding")
    assert names == [b["metadata"]["name"] for b in with_members if b["subjects"][0]["kind"] == "Group"]


def test_groups_that_sanitise_alike_stay_distinct(cfg: PlatformConfig, perception: Team) -> None:
    groups = [{"name": n, "role": "view"} for n in ("ml-perception", "ML-Perception", "ml.perception", "ml perception")]
    objects = _render(cfg, _team(perception, groups=groups))
    names = {b["metadata"]["name"] for b in _of(objects, "RoleBinding") if b["subjects"][0]["kind"] == "Group"}
    assert len(names) == 4
    assert "group-ml-perception-clusterrole-view" in names  # the plain name keeps its readable form


# --- every AuthorizationPolicy ---------------------------------------------------------------


def test_every_authorization_policy_trusts_only_named_principals(cfg: PlatformConfig, perception: Team) -> None:
    # Groups: the gateway alone (the claim comes from the token it forwards). Members: the gateway
    # and the KFP UI, which proxies artifact reads with the user's header, as upstream trusts it.
    policies = _of(_render(cfg, perception), "AuthorizationPolicy")
    assert len(policies) == 4
    for policy in policies:
        assert policy["spec"]["action"] == "ALLOW"
        expected = GATEWAY if policy["metadata"]["name"].startswith("group-") else GATEWAY_AND_UI
        for rule in policy["spec"]["rules"]:
            assert rule["from"] == [{"source": {"principals": expected}}], policy["metadata"]["name"]


def test_no_policy_admits_on_the_userid_header_without_principals(cfg: PlatformConfig, perception: Team) -> None:
    for policy in _of(_render(cfg, perception), "AuthorizationPolicy"):
        for rule in policy["spec"]["rules"]:
            keys = [c["key"] for c in rule.get("when", [])]
            assert all("*" not in v for c in rule.get("when", []) for v in c["values"])
            if any("kubeflow-userid" in k or "kubeflow-groups" in k for k in keys):
                principals = [p for f in rule.get("from", []) for p in f["source"].get("principals", [])]
                assert principals and set(principals) <= set(GATEWAY_AND_UI) and "*" not in principals
            assert not any("kubeflow-groups" in k for k in keys)


# --- LimitRange ------------------------------------------------------------------------------


def test_limit_range_sets_the_team_container_defaults(cfg: PlatformConfig, perception: Team) -> None:
    limit_range = _named(_render(cfg, perception), "LimitRange", "default-limits")
    assert limit_range["spec"]["limits"] == [
        {
            "type": "Container",
            "default": {"cpu": "4", "memory": "16Gi"},
            "defaultRequest": {"cpu": "500m", "memory": "1Gi"},
        }
    ]


# --- NetworkPolicies -------------------------------------------------------------------------


def _policies(cfg: PlatformConfig, team: Team) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p["spec"] for p in _of(_render(cfg, team), "NetworkPolicy")}


def _ns(name: str) -> dict[str, Any]:
    return {"matchLabels": {"kubernetes.io/metadata.name": name}}


def test_default_deny_closes_both_directions(cfg: PlatformConfig, perception: Team) -> None:
    spec = _policies(cfg, perception)["default-deny"]
    assert spec == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_network_policies_are_exactly_the_documented_set(cfg: PlatformConfig, perception: Team) -> None:
    assert set(_policies(cfg, perception)) == {
        "default-deny",
        "allow-dns",
        "allow-same-namespace",
        "allow-istio",
        "allow-kubeflow",
        "allow-aws-egress",
    }


def test_dns_is_allowed_only_to_kube_dns_on_port_53(cfg: PlatformConfig, perception: Team) -> None:
    spec = _policies(cfg, perception)["allow-dns"]
    assert spec["policyTypes"] == ["Egress"]
    assert spec["egress"] == [
        {
            "to": [{"namespaceSelector": _ns("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }
    ]


def test_same_namespace_traffic_is_allowed_both_ways(cfg: PlatformConfig, perception: Team) -> None:
    spec = _policies(cfg, perception)["allow-same-namespace"]
    assert spec["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert spec["egress"] == [{"to": [{"podSelector": {}}]}]


def test_istio_gateway_may_enter_and_sidecars_reach_istiod(cfg: PlatformConfig, perception: Team) -> None:
    spec = _policies(cfg, perception)["allow-istio"]
    (ingress,) = spec["ingress"]
    assert ingress["from"] == [
        {"namespaceSelector": _ns("istio-system"), "podSelector": {"matchLabels": {"app": "istio-ingressgateway"}}}
    ]
    (egress,) = spec["egress"]
    assert egress["to"][0]["namespaceSelector"] == _ns("istio-system")
    assert egress["ports"] == [{"protocol": "TCP", "port": 15012}]


def test_kubeflow_may_enter_and_pipelines_reach_its_apis(cfg: PlatformConfig, perception: Team) -> None:
    spec = _policies(cfg, perception)["allow-kubeflow"]
    assert spec["ingress"] == [{"from": [{"namespaceSelector": _ns("kubeflow")}]}]
    (egress,) = spec["egress"]
    assert egress["to"] == [{"namespaceSelector": _ns("kubeflow")}]
    assert {p["port"] for p in egress["ports"]} == {8888, 8887, 8080}


def test_katib_adds_its_db_manager_port(cfg: PlatformConfig, perception: Team) -> None:
    with_katib = cfg.model_copy(deep=True)
    with_katib.environments[ENV].kubeflow.components.katib = True
    (egress,) = _policies(with_katib, perception)["allow-kubeflow"]["egress"]
    assert 6789 in {p["port"] for p in egress["ports"]}


def test_no_egress_is_open_to_everywhere_except_https(cfg: PlatformConfig, perception: Team) -> None:
    for name, spec in _policies(cfg, perception).items():
        for rule in spec.get("egress", []):
            assert rule.get("to"), f"{name}: an egress rule without 'to' allows every destination"
            wide = [peer for peer in rule["to"] if "ipBlock" in peer and peer["ipBlock"]["cidr"] == "0.0.0.0/0"]
            if wide:
                assert rule.get("ports") == [{"protocol": "TCP", "port": 443}], name


def test_instance_metadata_is_never_reachable(cfg: PlatformConfig, perception: Team) -> None:
    for name, spec in _policies(cfg, perception).items():
        for rule in spec.get("egress", []):
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    assert "169.254.169.254/32" in peer["ipBlock"].get("except", []), name
    (rule,) = _policies(cfg, perception)["allow-aws-egress"]["egress"]
    assert rule["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]


def test_no_ingress_is_open_to_everyone(cfg: PlatformConfig, perception: Team) -> None:
    for name, spec in _policies(cfg, perception).items():
        for rule in spec.get("ingress", []):
            assert rule.get("from"), f"{name}: an ingress rule without 'from' admits every source"
            assert not any("ipBlock" in peer for peer in rule["from"]), name


# --- schemas ---------------------------------------------------------------------------------


def test_core_kinds_match_the_kubernetes_schemas(cfg: PlatformConfig, perception: Team) -> None:
    version = cfg.environments[ENV].cluster.kubernetes_version
    core = [
        o for o in _render(cfg, perception) if o["kind"] in ("Namespace", "LimitRange", "NetworkPolicy", "RoleBinding")
    ]
    assert len(core) == 1 + 1 + 6 + 4
    for obj in core:
        kubernetes_validate.validate(obj, version, strict=True)


def _strict(schema: Any) -> Any:
    """A CRD schema that rejects unknown fields (the API server would silently prune them)."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if "properties" in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        out.setdefault("additionalProperties", False)
    return out


@cache
def _crd_schemas(version: str) -> dict[tuple[str, str], dict[str, Any]]:
    root = UPSTREAM / "kubeflow-manifests" / version
    files = [
        root / "applications/profiles/upstream/crd/bases/kubeflow.org_profiles.yaml",
        root / "common/istio/istio-crds/base/crd.yaml",
    ]
    schemas = {}
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for served in spec["versions"]:
                schema = served["schema"]["openAPIV3Schema"]
                props = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}
                schema = {**schema, "properties": {**props, **schema.get("properties", {})}}
                schemas[(f"{spec['group']}/{served['name']}", spec["names"]["kind"])] = _strict(schema)
    return schemas


def test_custom_kinds_match_the_upstream_crd_schemas(cfg: PlatformConfig, perception: Team) -> None:
    version = cfg.environments[ENV].kubeflow.version
    if not (UPSTREAM / "kubeflow-manifests" / version).is_dir():
        pytest.skip(f"no offline snapshot of Kubeflow {version}")
    schemas = _crd_schemas(version)
    custom = [
        o for o in _render(cfg, perception) if o["kind"] in ("Profile", "AuthorizationPolicy", "RequestAuthentication")
    ]
    assert len(custom) == 1 + 4 + 1
    for obj in custom:
        jsonschema.validate(obj, schemas[(obj["apiVersion"], obj["kind"])])
