"""The kit's own checks on rendered objects: each catches a small bad object and passes a good one."""

from __future__ import annotations

import base64
from typing import Any

from platform_kit.render import checks

KIT = {"app.kubernetes.io/managed-by": "platform-kit"}
GATEWAY = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _obj(kind: str, name: str, namespace: str | None = None, labels: dict | None = None, **body: Any) -> dict:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": kind, "metadata": metadata, **body}


def _policy(rule: dict, action: str | None = "ALLOW", labels: dict | None = None, name: str = "team-a") -> dict:
    spec: dict[str, Any] = {"rules": [rule]}
    if action:
        spec["action"] = action
    policy = _obj("AuthorizationPolicy", name, "team-a", labels, spec=spec)
    policy["apiVersion"] = "security.istio.io/v1"
    return policy


def _user_is(*users: str) -> list[dict]:
    return [{"key": "request.headers[kubeflow-userid]", "values": list(users)}]


# --- authorization_policy_principals ------------------------------------------------------------


def test_header_rule_without_principals_is_caught() -> None:
    findings = checks.authorization_policy_principals([_policy({"when": _user_is("lead@corp.example")})])
    assert findings == [
        "AuthorizationPolicy team-a/team-a: rule 0 admits on request.headers[kubeflow-userid] from any source "
        "(no from.source.principals)"
    ]


def test_header_rule_with_the_gateway_principal_passes() -> None:
    rule = {"from": [{"source": {"principals": [GATEWAY]}}], "when": _user_is("lead@corp.example")}
    assert checks.authorization_policy_principals([_policy(rule)]) == []


def test_wildcard_principal_and_namespace_only_sources_are_caught() -> None:
    wildcard = {"from": [{"source": {"principals": ["*"]}}], "when": _user_is("a@corp.example")}
    namespaces = {"from": [{"source": {"namespaces": ["istio-system"]}}], "when": _user_is("a@corp.example")}
    findings = checks.authorization_policy_principals([_policy(wildcard, action=None), _policy(namespaces)])
    assert len(findings) == 2
    assert "wildcard principal '*'" in findings[0]
    assert "from[0] has no source.principals" in findings[1]


def test_header_key_is_matched_case_insensitively() -> None:
    rule = {"when": [{"key": "request.headers[Kubeflow-Userid]", "values": ["a@corp.example"]}]}
    assert len(checks.authorization_policy_principals([_policy(rule)])) == 1


def test_a_rule_that_requires_the_header_absent_passes_but_other_not_values_do_not() -> None:
    # Upstream's ml-pipeline pattern: admits only requests WITHOUT the header, so it cannot be spoofed.
    absent = {"when": [{"key": "request.headers[kubeflow-userid]", "notValues": ["*"]}]}
    anyone_but = {"when": [{"key": "request.headers[kubeflow-userid]", "notValues": ["admin@corp.example"]}]}
    assert checks.authorization_policy_principals([_policy(absent)]) == []
    assert len(checks.authorization_policy_principals([_policy(anyone_but)])) == 1


def test_deny_policies_and_other_keys_are_not_this_checks_business() -> None:
    header = {"when": _user_is("a@corp.example")}
    other_key = {"when": [{"key": "request.headers[authorization]", "values": ["*"]}]}
    assert checks.authorization_policy_principals([_policy(header, action="DENY"), _policy(other_key)]) == []


def test_allow_list_covers_upstream_objects_only() -> None:
    rule = {"when": _user_is("a@corp.example")}
    allow = {"AuthorizationPolicy team-a/team-a": "reviewed"}
    assert checks.authorization_policy_principals([_policy(rule)], allow=allow) == []
    assert len(checks.authorization_policy_principals([_policy(rule, labels=KIT)], allow=allow)) == 1


# --- pod_security_labels ------------------------------------------------------------------------


def _namespace(labels: dict[str, str]) -> dict:
    return _obj("Namespace", "vision", labels={**KIT, **labels})


PSS = "pod-security.kubernetes.io/"


def test_kit_namespace_with_enforce_audit_and_warn_passes() -> None:
    good = [
        _namespace({f"{PSS}enforce": "baseline", f"{PSS}audit": "restricted", f"{PSS}warn": "restricted"}),
        _namespace({f"{PSS}enforce": "restricted", f"{PSS}audit": "restricted", f"{PSS}warn": "restricted"}),
    ]
    assert checks.pod_security_labels(good) == []


def test_kit_namespace_that_is_privileged_or_lacks_audit_and_warn_is_caught() -> None:
    findings = checks.pod_security_labels([_namespace({f"{PSS}enforce": "privileged"}), _namespace({})])
    assert findings == [
        "Namespace vision: pod-security.kubernetes.io/enforce is 'privileged'; want baseline or restricted",
        "Namespace vision: pod-security.kubernetes.io/audit is missing; want one of privileged, baseline, restricted",
        "Namespace vision: pod-security.kubernetes.io/warn is missing; want one of privileged, baseline, restricted",
        "Namespace vision: pod-security.kubernetes.io/enforce is missing; want baseline or restricted",
        "Namespace vision: pod-security.kubernetes.io/audit is missing; want one of privileged, baseline, restricted",
        "Namespace vision: pod-security.kubernetes.io/warn is missing; want one of privileged, baseline, restricted",
    ]


def test_upstream_namespaces_are_not_checked() -> None:
    assert checks.pod_security_labels([_obj("Namespace", "kubeflow", labels={f"{PSS}enforce": "baseline"})]) == []


# --- wildcard_rbac ------------------------------------------------------------------------------


def _role(rules: list[dict], kind: str = "Role", labels: dict | None = None, name: str = "runner") -> dict:
    role = _obj(kind, name, "team-a" if kind == "Role" else None, labels, rules=rules)
    role["apiVersion"] = "rbac.authorization.k8s.io/v1"
    return role


def test_wildcards_in_verbs_api_groups_and_resources_are_caught() -> None:
    findings = checks.wildcard_rbac(
        [
            _role([{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}]),
            _role([{"apiGroups": ["*"], "resources": ["pods/*"], "verbs": ["get"]}], kind="ClusterRole"),
        ]
    )
    assert findings == [
        "Role team-a/runner: rule 0 has '*' in verbs",
        "ClusterRole runner: rule 0 has '*' in apiGroups, resources",
    ]


def test_explicit_rules_pass() -> None:
    rule = {"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["get", "list", "create"]}
    assert checks.wildcard_rbac([_role([rule])]) == []


def test_rbac_allow_list_is_data_and_never_covers_kit_objects() -> None:
    rule = [{"apiGroups": ["dex.coreos.com"], "resources": ["*"], "verbs": ["*"]}]
    assert "ClusterRole dex" in checks.RBAC_WILDCARD_ALLOW
    assert checks.wildcard_rbac([_role(rule, kind="ClusterRole", name="dex")]) == []
    assert len(checks.wildcard_rbac([_role(rule, kind="ClusterRole", name="dex", labels=KIT)])) == 1
    assert len(checks.wildcard_rbac([_role(rule, kind="ClusterRole", name="dex")], allow={})) == 1


# --- default_secrets ----------------------------------------------------------------------------


def test_default_cookie_secret_hidden_in_base64_secret_data_is_found_without_echoing_it() -> None:
    secret = _obj(
        "Secret", "oauth2-proxy", "oauth2-proxy", data={"cookie-secret": _b64("7d16fee92f8d11b8940b081b3f8b8acb")}
    )
    findings = checks.default_secrets([secret])
    assert findings[0].startswith(
        "Secret oauth2-proxy/oauth2-proxy: data.cookie-secret holds the default oauth2-proxy cookie secret (base64)"
    )
    assert not any("7d16fee9" in f or secret["data"]["cookie-secret"] in f for f in findings)


def test_every_default_credential_is_found_in_a_secret() -> None:
    for credential in checks.DEFAULT_CREDENTIALS:
        secret = _obj("Secret", "s", "kubeflow", stringData={"value": credential.value})
        findings = checks.default_secrets([secret])
        assert any(credential.what in f for f in findings), credential.what


def test_dex_default_user_in_a_configmap_is_found_but_a_longer_address_is_not() -> None:
    config = "staticPasswords:\n- email: user@example.com\n  hash: $DEX_USER_PASSWORD\n"
    found = checks.default_secrets([_obj("ConfigMap", "dex", "auth", data={"config.yaml": config})])
    assert found == [
        "ConfigMap auth/dex: data.config.yaml holds Dex's default static user (common/dex/base/config-map.yaml)"
    ]
    other = config.replace("user@example.com", "poweruser@example.com")
    assert checks.default_secrets([_obj("ConfigMap", "dex", "auth", data={"config.yaml": other})]) == []


def test_minio_default_keys_are_found_in_secrets_but_the_word_minio_elsewhere_is_fine() -> None:
    secret = _obj("Secret", "mlpipeline-minio-artifact", "kubeflow", data={"accesskey": _b64("minio")})
    assert "MinIO's default access key (base64)" in checks.default_secrets([secret])[0]
    service = _obj("Service", "minio", "kubeflow", spec={"selector": {"app": "minio"}})
    assert checks.default_secrets([service]) == []
    binary = _obj("ConfigMap", "legacy", "kubeflow", binaryData={"env": _b64("MINIO_SECRET_KEY=minio123\n")})
    assert "MinIO's default secret key (base64)" in checks.default_secrets([binary])[0]


def test_placeholders_are_whole_tokens_only() -> None:
    issuer = "https://oidc.eks.AWS_REGION.amazonaws.com/id/CLUSTER_ID"
    bad = _obj("RequestAuthentication", "m2m", "istio-system", spec={"jwtRules": [{"issuer": issuer}]})
    patch_me = _obj("RequestAuthentication", "m2m", "istio-system", spec={"jwtRules": [{"issuer": "PATCH_ME"}]})
    findings = checks.default_secrets([bad, patch_me])
    assert [f.split(" (")[0] for f in findings] == [
        "RequestAuthentication istio-system/m2m: spec.jwtRules[0].issuer has the unreplaced placeholder AWS_REGION",
        "RequestAuthentication istio-system/m2m: spec.jwtRules[0].issuer has the unreplaced placeholder CLUSTER_ID",
        "RequestAuthentication istio-system/m2m: spec.jwtRules[0].issuer has the unreplaced placeholder PATCH_ME",
    ]


def test_names_and_references_that_contain_a_placeholder_word_are_not_placeholders() -> None:
    container = {
        "name": "discovery",
        "env": [
            {"name": "ISTIO_META_CLUSTER_ID", "value": "Kubernetes"},
            {"name": "CLUSTER_ID", "value": "Kubernetes"},  # istiod's own variable
            {"name": "AWS_REGION", "value": "eu-west-1"},
            {"name": "ENDPOINT", "value": "https://s3.$(AWS_REGION).amazonaws.com"},
            {"name": "REGION", "valueFrom": {"configMapKeyRef": {"name": "aws", "key": "AWS_REGION"}}},
        ],
        "args": ["--regions=AWS_REGIONS_ALL", "--script=echo ${AWS_REGION} $CLUSTER_ID"],
    }
    deployment = _obj("Deployment", "istiod", "istio-system", spec={"template": {"spec": {"containers": [container]}}})
    crd = _obj(
        "CustomResourceDefinition",
        "issuers.cert-manager.io",
        spec={"description": "Uses the AWS_REGION and AWS_DEFAULT_REGION environment variables."},
    )
    sidecar = _obj("ConfigMap", "istio-sidecar-injector", "istio-system", data={"config": "env:\n- name: CLUSTER_ID\n"})
    assert checks.default_secrets([deployment, crd, sidecar]) == []


def test_any_secret_with_values_is_a_finding_and_an_empty_one_is_not() -> None:
    with_value = _obj("Secret", "db", "kubeflow", stringData={"username": "root", "password": ""})
    assert checks.default_secrets([with_value]) == [
        "Secret kubeflow/db: carries values in stringData.username; rendered output holds none "
        "(the kit applies secrets from AWS Secrets Manager at apply time)"
    ]
    empty = [_obj("Secret", "db", "kubeflow"), _obj("Secret", "tls", "kubeflow", data={}, stringData={"password": ""})]
    assert checks.default_secrets(empty) == []


# --- run_all ------------------------------------------------------------------------------------


def test_run_all_is_empty_for_good_objects_and_collects_every_check() -> None:
    good = [
        _namespace({f"{PSS}enforce": "restricted", f"{PSS}audit": "restricted", f"{PSS}warn": "restricted"}),
        _policy({"from": [{"source": {"principals": [GATEWAY]}}], "when": _user_is("a@corp.example")}),
        _role([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]),
        _obj("Secret", "placeholder", "team-a"),
    ]
    assert checks.run_all(good) == []
    bad = [
        _namespace({}),
        _policy({"when": _user_is("a@corp.example")}),
        _role([{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}]),
        _obj("Secret", "s", "team-a", stringData={"k": "v"}),
    ]
    kinds = {finding.split(" ")[0] for finding in checks.run_all(bad)}
    assert kinds == {"Namespace", "AuthorizationPolicy", "Role", "Secret"}


def test_object_ref_names_cluster_scoped_objects_without_a_namespace() -> None:
    assert checks.object_ref(_obj("ClusterRole", "dex")) == "ClusterRole dex"
    assert checks.object_ref(_obj("Role", "r", "kubeflow")) == "Role kubeflow/r"
