"""The Kubernetes objects of one team in one environment, rendered from the validated desired state.

``render_team`` is pure: models in, a sorted list of plain dicts out, ready for server-side apply.
It renders what the design calls the team objects:

- the Kubeflow ``Profile`` (owner, quota, the ``AwsIamForServiceAccount`` plugin with the team's
  IRSA role); the profile controller then creates the namespace, the owner's bindings and the
  ``kf-resource-quota`` ResourceQuota;
- the ``Namespace`` again, metadata only, for the labels the kit owns (Pod Security, Istio
  injection, team and cost centre), applied once the profile controller has created it;
- per member and per IdP group a ``RoleBinding`` (what the Kubernetes and KFP APIs check) and an
  Istio ``AuthorizationPolicy`` (what the mesh checks for requests through the ingress gateway),
  plus the ``RequestAuthentication`` the group policies need;
- a ``LimitRange`` with the team's container defaults, which the quota makes necessary;
- default-deny ``NetworkPolicy`` objects with the exceptions Kubeflow needs.

Member bindings are named the way Kubeflow's access management (KFAM) names them, so the central
dashboard lists them and can remove them. Every name is within its Kubernetes limit; long or
ambiguous subjects get a short stable hash instead of being cut into a collision.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any, Literal

from platform_kit import naming
from platform_kit.config.models import PlatformConfig, Role, Team
from platform_kit.errors import BadInput

# The identity the Istio ingress gateway's sidecar presents over mTLS (upstream Kubeflow's default).
INGRESS_GATEWAY_PRINCIPAL = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
# Where istiod fetches Dex's signing keys; istiod inlines them, so team pods never call Dex.
DEX_JWKS_URI = "http://dex.auth.svc.cluster.local:5556/dex/keys"
# The header the gateway fills from the verified token's email claim (upstream USERID_HEADER).
USERID_HEADER = "kubeflow-userid"

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "platform-kit"
TEAM_LABEL = "platform-kit.io/team"
COST_CENTER_KEY = "platform-kit.io/cost-center"
DISPLAY_NAME_ANNOTATION = "platform-kit.io/display-name"
OWNER_ANNOTATION = "platform-kit.io/owner"

# Apply order: the Profile first (its controller creates the namespace), then the namespace's
# labels, the guard rails, and access last, so nobody is admitted before the fences stand.
KIND_ORDER = (
    "Profile",
    "Namespace",
    "LimitRange",
    "ConfigMap",
    "NetworkPolicy",
    "RequestAuthentication",
    "RoleBinding",
    "AuthorizationPolicy",
)

# The custom kinds a team render holds: their schemas come from the platform render's CRDs, so a
# check without those CRDs (a team-only render, onboarding) lets exactly these through unchecked.
CUSTOM_KINDS = (
    ("kubeflow.org", "Profile"),
    ("security.istio.io", "AuthorizationPolicy"),
    ("security.istio.io", "RequestAuthentication"),
)

# Every object name rendered here is a DNS-1123 subdomain (RoleBinding, AuthorizationPolicy, ...).
MAX_NAME_LENGTH = 253
_HASH_LENGTH = 8

# Who may carry a member's identity (the kubeflow-userid header) into the namespace: the gateway,
# which sets it from a verified token, and the KFP UI, which checks the user's access itself
# (SubjectAccessReview) and proxies artifact reads to ml-pipeline-ui-artifact in the namespace with
# the user's header. The same two principals upstream's profile controller trusts for the owner
# (ISTIO_INGRESS_GATEWAY_PRINCIPAL and KFP_UI_PRINCIPAL in its profiles-config).
KFP_UI_PRINCIPAL = "cluster.local/ns/kubeflow/sa/ml-pipeline-ui"
_MEMBER_PRINCIPALS = (INGRESS_GATEWAY_PRINCIPAL, KFP_UI_PRINCIPAL)
# Group access is decided on the verified token's claim, which only the gateway forwards.
_GROUP_PRINCIPALS = (INGRESS_GATEWAY_PRINCIPAL,)

_CLUSTER_ROLES: dict[str, str] = {"edit": "kubeflow-edit", "view": "kubeflow-view"}
_RBAC_GROUP = "rbac.authorization.k8s.io"
_ISTIO_SECURITY = "security.istio.io/v1beta1"
_NON_ALNUM = re.compile(r"[^a-zA-Z0-9]+")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")

# Namespaces and pods the network policies let team pods talk to.
_KUBE_SYSTEM = "kube-system"
_ISTIO_SYSTEM = "istio-system"
_KUBEFLOW = "kubeflow"
_IMDS = "169.254.169.254/32"


# --- names and identities --------------------------------------------------------------------


def dex_issuer(cfg: PlatformConfig, env: str) -> str:
    """The ``iss`` of the tokens Dex issues in ``env``: its public URL under the Kubeflow hostname."""
    return f"https://{cfg.environments[env].kubeflow.hostname}/dex"


def team_role_arn(cfg: PlatformConfig, env: str, team: str) -> str:
    """ARN of the IAM role the team's pipelines assume through IRSA (created by the team stack)."""
    account = cfg.environments[env].aws.account_id
    return f"arn:aws:iam::{account}:role/{naming.team_role(cfg.organisation.name, env, team)}"


def _digest(subject: str) -> str:
    return hashlib.sha256(subject.encode("utf-8")).hexdigest()[:_HASH_LENGTH]


def binding_name(kind: Literal["user", "group"], subject: str, role: Role, *, hashed: bool = False) -> str:
    """Name of the RoleBinding (and AuthorizationPolicy) that gives ``subject`` ``role``.

    Unhashed it is KFAM's name: ``<kind>-<subject>-clusterrole-<role>`` with every run of characters
    other than ASCII letters and digits turned into one '-', lowercased. Hashed, the first 8 hex
    digits of the subject's SHA-256 go before ``-clusterrole-``, and the subject part is cut so the
    whole name fits 253 characters. A name that would not fit is always hashed.
    """
    body = _NON_ALNUM.sub("-", subject).lower().strip("-")
    suffix = f"-clusterrole-{role}"
    name = f"{kind}-{body}{suffix}"
    if not hashed and body and len(name) <= MAX_NAME_LENGTH:
        return name
    room = MAX_NAME_LENGTH - len(kind) - len(suffix) - _HASH_LENGTH - 2
    body = "-".join(part for part in (body[:room].rstrip("-"), _digest(subject)) if part)
    return f"{kind}-{body}{suffix}"


def _member_names(members: Iterable[tuple[str, Role]]) -> dict[tuple[str, Role], str]:
    """KFAM names for members; emails that differ only in punctuation would share one, so they are hashed."""
    plain = {member: binding_name("user", member[0], member[1]) for member in members}
    taken = list(plain.values())
    return {
        member: binding_name("user", member[0], member[1], hashed=True) if taken.count(name) > 1 else name
        for member, name in plain.items()
    }


def _group_name(group: str, role: Role) -> str:
    """Group names are case-sensitive and may hold any character: hash whenever sanitising loses information."""
    lossless = _NON_ALNUM.sub("-", group).lower().strip("-") == group
    return binding_name("group", group, role, hashed=not lossless)


def _is_label_value(value: str) -> bool:
    return len(value) <= 63 and bool(_LABEL_VALUE.match(value))


# --- object builders -------------------------------------------------------------------------


def _metadata(
    team: Team,
    name: str,
    namespace: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = {MANAGED_BY_LABEL: MANAGED_BY, TEAM_LABEL: team.name, **(labels or {})}
    if annotations:
        meta["annotations"] = annotations
    return meta


def _profile(cfg: PlatformConfig, env: str, team: Team, namespace: str) -> dict[str, Any]:
    quotas = team.quotas
    # Quota on requests only: requests are what the scheduler reserves, so they are the capacity the
    # team is entitled to. Limits are bounded per container by the LimitRange and by node size;
    # quota'ing them would count every container's burst headroom (4x-8x its request with the
    # defaults) and refuse pods long before the team used its reserved capacity.
    hard = {
        "requests.cpu": quotas.cpu,
        "requests.memory": quotas.memory,
        # Extended resources can only be quota'd on requests; "0" keeps GPUs out entirely.
        "requests.nvidia.com/gpu": str(quotas.gpu),
        "requests.storage": quotas.storage,
        "pods": str(quotas.pods),
    }
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "Profile",
        "metadata": _metadata(team, namespace),
        "spec": {
            "owner": {"kind": "User", "name": team.owner},
            "resourceQuotaSpec": {"hard": hard},
            "plugins": [
                {
                    "kind": "AwsIamForServiceAccount",
                    # annotateOnly: the controller only annotates default-editor with the role; the
                    # role's trust policy belongs to the team's Terraform stack, not to the cluster.
                    "spec": {"awsIamRole": team_role_arn(cfg, env, team.name), "annotateOnly": True},
                }
            ],
        },
    }


def _namespace(cfg: PlatformConfig, env: str, team: Team, namespace: str) -> dict[str, Any]:
    k8s_minor = cfg.environments[env].cluster.kubernetes_version
    labels = {
        "istio-injection": "enabled",
        # Enforce baseline (what Kubeflow's own PSS overlay enforces, and what notebooks and
        # pipeline pods need) pinned to the cluster's minor, so an upgrade never tightens it
        # unannounced; audit and warn at restricted and latest show what would break next.
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/enforce-version": f"v{k8s_minor}",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
        # The profile controller sets these two by default; the kit depends on them (Kubeflow's
        # NetworkPolicies admit profile namespaces by part-of; KFP sets up namespaces by enabled),
        # so it owns them too rather than trusting a ConfigMap.
        "app.kubernetes.io/part-of": "kubeflow-profile",
        "pipelines.kubeflow.org/enabled": "true",
    }
    annotations = {DISPLAY_NAME_ANNOTATION: team.display_name, OWNER_ANNOTATION: team.owner}
    # cost_center allows ':/=+@' and 256 characters; a label value does not.
    if _is_label_value(team.cost_center):
        labels[COST_CENTER_KEY] = team.cost_center
    else:
        annotations[COST_CENTER_KEY] = team.cost_center
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _metadata(team, namespace, labels=labels, annotations=annotations),
    }


def _limit_range(team: Team, namespace: str) -> dict[str, Any]:
    defaults = team.container_defaults
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": _metadata(team, "default-limits", namespace),
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "default": {"cpu": defaults.cpu_limit, "memory": defaults.memory_limit},
                    "defaultRequest": {"cpu": defaults.cpu_request, "memory": defaults.memory_request},
                }
            ]
        },
    }


def _pipeline_root(cfg: PlatformConfig, env: str, team: Team, namespace: str) -> dict[str, Any]:
    """Where KFP v2 runs in the namespace keep their artifacts: the team's own prefix of the bucket.

    The team role may write only ``v2/artifacts/<team>/`` (naming.team_artifact_prefixes), so the
    launcher's default root must be exactly there. The pipelines profile controller creates a
    ``kfp-launcher`` ConfigMap only when a platform-wide default root is set, which the kit leaves empty.
    """
    from platform_kit.render.tfvars import artifact_bucket

    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(team, "kfp-launcher", namespace),
        "data": {"defaultPipelineRoot": f"s3://{artifact_bucket(cfg, env)}/v2/artifacts/{team.name}"},
    }


def _request_authentication(cfg: PlatformConfig, env: str, team: Team, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": _ISTIO_SECURITY,
        "kind": "RequestAuthentication",
        "metadata": _metadata(team, "dex-jwt", namespace),
        "spec": {
            # No selector: every workload's sidecar validates the Dex token the gateway forwards.
            # A request without a token passes (and no group policy admits it); a request whose
            # Authorization bearer token is invalid or from another issuer is rejected with 401.
            "jwtRules": [
                {
                    "issuer": dex_issuer(cfg, env),
                    "jwksUri": DEX_JWKS_URI,
                    "forwardOriginalToken": True,
                    "fromHeaders": [{"name": "Authorization", "prefix": "Bearer "}],
                }
            ]
        },
    }


def _role_binding(
    team: Team, namespace: str, name: str, subject_kind: str, subject: str, role: Role, annotations: dict[str, str]
) -> dict[str, Any]:
    return {
        "apiVersion": f"{_RBAC_GROUP}/v1",
        "kind": "RoleBinding",
        "metadata": _metadata(team, name, namespace, annotations=annotations),
        "roleRef": {"apiGroup": _RBAC_GROUP, "kind": "ClusterRole", "name": _CLUSTER_ROLES[role]},
        "subjects": [{"apiGroup": _RBAC_GROUP, "kind": subject_kind, "name": subject}],
    }


def _authorization_policy(
    team: Team,
    namespace: str,
    name: str,
    condition: dict[str, Any],
    annotations: dict[str, str],
    principals: tuple[str, ...],
) -> dict[str, Any]:
    return {
        "apiVersion": _ISTIO_SECURITY,
        "kind": "AuthorizationPolicy",
        "metadata": _metadata(team, name, namespace, annotations=annotations),
        "spec": {
            "action": "ALLOW",
            # Only named principals may vouch for an identity: any pod in the mesh can set a header.
            "rules": [{"from": [{"source": {"principals": list(principals)}}], "when": [condition]}],
        },
    }


def _member_access(team: Team, namespace: str) -> list[dict[str, Any]]:
    # The profile controller gives the owner admin (namespaceAdmin, ns-owner-access-istio); a
    # second, weaker binding for the owner would only confuse the dashboard's contributor list.
    members = sorted((m.email, m.role) for m in team.members if m.email != team.owner)
    objects: list[dict[str, Any]] = []
    for (email, role), name in _member_names(members).items():
        annotations = {"user": email, "role": role}
        objects.append(_role_binding(team, namespace, name, "User", email, role, annotations))
        condition = {"key": f"request.headers[{USERID_HEADER}]", "values": [email]}
        objects.append(_authorization_policy(team, namespace, name, condition, annotations, _MEMBER_PRINCIPALS))
    return objects


def _group_access(team: Team, namespace: str) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for group, role in sorted((g.name, g.role) for g in team.groups):
        name = _group_name(group, role)
        # No "user" annotation: KFAM lists every binding that has one as a person.
        annotations = {"group": group, "role": role}
        objects.append(_role_binding(team, namespace, name, "Group", group, role, annotations))
        # Match the verified JWT's groups claim, not the kubeflow-groups header: the gateway's
        # outputClaimToHeaders joins the list claim into one comma-separated header, so an exact
        # header match fails for anyone in several groups, and a wildcard ("*ml-perception*")
        # over-matches ("ml-perception-viewers"). A list claim matches when any element equals the
        # value. The claim exists only where a sidecar has validated the token, hence the
        # dex-jwt RequestAuthentication in this namespace.
        condition = {"key": "request.auth.claims[groups]", "values": [group]}
        objects.append(_authorization_policy(team, namespace, name, condition, annotations, _GROUP_PRINCIPALS))
    return objects


def _namespace_selector(namespace: str) -> dict[str, Any]:
    # kubernetes.io/metadata.name is set by the API server on every namespace and cannot be forged.
    return {"matchLabels": {"kubernetes.io/metadata.name": namespace}}


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def _network_policy(team: Team, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(team, name, namespace),
        "spec": {"podSelector": {}, **spec},
    }


def _network_policies(cfg: PlatformConfig, env: str, team: Team, namespace: str) -> list[dict[str, Any]]:
    # Policies are additive: default-deny closes both directions and each other policy opens one
    # need. (On EKS they take effect only with the VPC CNI's network policy agent enabled.)
    kubeflow_ports = [
        8888,  # ml-pipeline REST: the KFP SDK in notebooks and pipeline steps
        8887,  # ml-pipeline gRPC: the KFP v2 driver and launcher (runs, executions, cache)
        8080,  # metadata-grpc-service: the launcher records artifacts and executions in MLMD
    ]
    if cfg.environments[env].kubeflow.components.katib:
        kubeflow_ports.append(6789)  # katib-db-manager: trial metrics collectors report here
    return [
        # Nothing in or out unless a policy below allows it.
        _network_policy(team, namespace, "default-deny", {"policyTypes": ["Ingress", "Egress"]}),
        # Name resolution through CoreDNS. (NodeLocal DNSCache would need its link-local address.)
        _network_policy(
            team,
            namespace,
            "allow-dns",
            {
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": _namespace_selector(_KUBE_SYSTEM),
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        ),
        # Pipeline steps, notebooks and their servers talk to each other inside the team.
        _network_policy(
            team,
            namespace,
            "allow-same-namespace",
            {
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "egress": [{"to": [{"podSelector": {}}]}],
            },
        ),
        # People reach notebooks and tensorboards through the ingress gateway; every sidecar gets
        # its configuration and certificates from istiod over xDS on 15012.
        _network_policy(
            team,
            namespace,
            "allow-istio",
            {
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": _namespace_selector(_ISTIO_SYSTEM),
                                "podSelector": {"matchLabels": {"app": "istio-ingressgateway"}},
                            }
                        ]
                    }
                ],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": _namespace_selector(_ISTIO_SYSTEM),
                                "podSelector": {"matchLabels": {"app": "istiod"}},
                            }
                        ],
                        "ports": _tcp(15012),
                    }
                ],
            },
        ),
        # In: the KFP UI reads artifacts through ml-pipeline-ui-artifact and the API server renders
        # through ml-pipeline-visualizationserver, both in this namespace; the notebook controller
        # culls idle notebooks. Out: the Pipelines services the steps call. (Caching in KFP v2 goes
        # through the API server; the v1 cache server is a webhook the API server calls, not pods.)
        _network_policy(
            team,
            namespace,
            "allow-kubeflow",
            {
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"namespaceSelector": _namespace_selector(_KUBEFLOW)}]}],
                "egress": [
                    {"to": [{"namespaceSelector": _namespace_selector(_KUBEFLOW)}], "ports": _tcp(*kubeflow_ports)}
                ],
            },
        ),
        # HTTPS to AWS (S3 artifacts and data, STS for IRSA, SageMaker, Batch, ECR) and to the
        # Kubernetes API (Argo's executor), whose EKS endpoints have no fixed addresses. Only 443,
        # and never the instance metadata service: pods use IRSA, not the node's role.
        _network_policy(
            team,
            namespace,
            "allow-aws-egress",
            {
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [_IMDS]}}], "ports": _tcp(443)}],
            },
        ),
    ]


# --- the render ------------------------------------------------------------------------------


def _sort_key(obj: dict[str, Any]) -> tuple[int, str, str]:
    meta = obj["metadata"]
    return KIND_ORDER.index(obj["kind"]), meta.get("namespace", ""), meta["name"]


def render_team(cfg: PlatformConfig, env: str, team: Team) -> list[dict[str, Any]]:
    """Every Kubernetes object of ``team`` in ``env``, in apply order (kind, namespace, name)."""
    if env not in cfg.environments:
        raise BadInput(f"environments.{env}: no such environment (defined: {', '.join(cfg.environments)})")
    if env not in team.environments:
        raise BadInput(
            f"team '{team.name}' is not deployed to '{env}' (its environments: {', '.join(team.environments)})",
            hint=f"add {env} to environments in teams/{team.name}.yaml",
        )
    namespace = naming.team_namespace(team.name)
    objects = [
        _profile(cfg, env, team, namespace),
        _namespace(cfg, env, team, namespace),
        _limit_range(team, namespace),
        _pipeline_root(cfg, env, team, namespace),
        *_network_policies(cfg, env, team, namespace),
        _request_authentication(cfg, env, team, namespace),
        # An offboarded (stale) team keeps its profile, namespace and data, but nobody's access.
        *(_member_access(team, namespace) if team.active_in(env) else []),
        *(_group_access(team, namespace) if team.active_in(env) else []),
    ]
    return sorted(objects, key=_sort_key)
