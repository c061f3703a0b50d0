"""Every AWS and Kubernetes name the kit derives, and the real limit each must meet.

Validation, Terraform inputs, rendered manifests and the CLI all call these functions, so the
name that ``platform validate`` checks is the name that gets created.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Kubernetes namespaces the kit or Kubeflow own; a team may not take them.
RESERVED_NAMES = frozenset(
    {
        "default",
        "kubeflow",
        "istio-system",
        "auth",
        "cert-manager",
        "oauth2-proxy",
        "platform",
        "platform-kit",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "amazon-cloudwatch",
        "karpenter",
        "admin",
        "system",
    }
)
RESERVED_PREFIXES = ("kube-", "knative-", "kubeflow-", "istio-", "aws-", "eks-", "platform-kit-")

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_IAM_NAME = re.compile(r"^[\w+=,.@-]+$")
_ECR_REPO = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_EKS_CLUSTER = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]*$")


def reserved_reason(name: str) -> str | None:
    """Why ``name`` may not be a team name, or None."""
    if name in RESERVED_NAMES:
        return f"'{name}' is reserved for the platform"
    for prefix in RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"names starting with '{prefix}' are reserved for the platform"
    return None


# --- names -----------------------------------------------------------------------------------


def cluster_name(org: str, env: str) -> str:
    return f"{org}-{env}"


def state_bucket(org: str, account_id: str, region: str) -> str:
    return f"{org}-tfstate-{account_id}-{region}"


def artifact_bucket(org: str, env: str, account_id: str) -> str:
    return f"{org}-{env}-kfp-artifacts-{account_id}"


def state_kms_alias(org: str, account_id: str, region: str) -> str:
    """KMS alias of the state bucket's key: found by name, so a CI runner needs no local state."""
    return f"alias/{state_bucket(org, account_id, region)}"


def platform_state_key(env: str) -> str:
    return f"platform/{env}.tfstate"


def team_state_key(env: str, team: str) -> str:
    return f"teams/{env}/{team}.tfstate"


def platform_name(org: str, env: str) -> str:
    """Prefix of the platform stack's own AWS names (KMS aliases, secrets, log groups)."""
    return f"{org}-{env}"


def kfp_role(org: str, env: str) -> str:
    return f"{org}-{env}-kfp"


def argo_role(org: str, env: str) -> str:
    return f"{org}-{env}-argo"


def catalog_repository(org: str) -> str:
    return f"{org}/catalog"


def ci_role(org: str, env: str, kind: str) -> str:
    """CI roles: kind is 'plan' or 'apply'."""
    return f"{org}-{env}-ci-{kind}"


def secret_prefix(org: str, env: str) -> str:
    return f"{org}/{env}"


def team_namespace(team: str) -> str:
    """Kubeflow profile name and Kubernetes namespace of a team."""
    return team


def team_role(org: str, env: str, team: str) -> str:
    """IAM role the team's pipelines assume through IRSA."""
    return f"{org}-{env}-team-{team}"


def team_sagemaker_role(org: str, env: str, team: str) -> str:
    """IAM role SageMaker assumes for the team's training jobs."""
    return f"{org}-{env}-team-{team}-sm"


def team_policy(org: str, env: str, team: str) -> str:
    return f"{org}-{env}-team-{team}-access"


def team_ecr_repository(org: str, team: str) -> str:
    return f"{org}/teams/{team}"


def team_artifact_prefixes(team: str) -> list[str]:
    """Where a team's pipelines keep artifacts in the shared bucket: Argo's and KFP v2's roots."""
    return [f"artifacts/{team}/", f"v2/artifacts/{team}/"]


def node_group_name(cluster: str, group: str) -> str:
    return f"{cluster}-{group}"


# --- limits ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A kind of name and the check that AWS or Kubernetes applies to it."""

    kind: str
    check: Callable[[str], str | None]


def _dns_label(value: str) -> str | None:
    if len(value) > 63:
        return f"is {len(value)} characters (a DNS-1123 label allows at most 63)"
    if not _DNS_LABEL.match(value):
        return "must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending alphanumeric)"
    return None


def _iam_name(limit: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if len(value) > limit:
            return f"is {len(value)} characters (IAM allows at most {limit})"
        if not _IAM_NAME.match(value):
            return "may contain only letters, digits and +=,.@_-"
        return None

    return check


def _bucket(value: str) -> str | None:
    if not 3 <= len(value) <= 63:
        return f"is {len(value)} characters (S3 bucket names allow 3 to 63)"
    if not _BUCKET.match(value) or ".." in value or value.startswith("xn--") or value.endswith("-s3alias"):
        return "must be lowercase letters, digits, '.' and '-', starting and ending with a letter or digit"
    return None


def _ecr(value: str) -> str | None:
    if len(value) > 256:
        return f"is {len(value)} characters (ECR allows at most 256)"
    if not _ECR_REPO.match(value):
        return "must be lowercase path segments of letters and digits separated by '.', '_', '-' or '/'"
    return None


def _eks_cluster(value: str) -> str | None:
    if len(value) > 100:
        return f"is {len(value)} characters (EKS allows at most 100)"
    if not _EKS_CLUSTER.match(value):
        return "must start with a letter or digit and contain only letters, digits, '-' and '_'"
    return None


def _node_group(value: str) -> str | None:
    if len(value) > 63:
        return f"is {len(value)} characters (EKS node group names allow at most 63)"
    return None


DNS_LABEL = Rule("Kubernetes namespace", _dns_label)
IAM_ROLE = Rule("IAM role name", _iam_name(64))
IAM_POLICY = Rule("IAM policy name", _iam_name(128))
S3_BUCKET = Rule("S3 bucket name", _bucket)
ECR_REPOSITORY = Rule("ECR repository name", _ecr)
EKS_CLUSTER = Rule("EKS cluster name", _eks_cluster)
NODE_GROUP = Rule("EKS node group name", _node_group)


def team_names(org: str, env: str, team: str) -> list[tuple[Rule, str]]:
    """Every derived name of one team in one environment, with its rule."""
    return [
        (DNS_LABEL, team_namespace(team)),
        (IAM_ROLE, team_role(org, env, team)),
        (IAM_ROLE, team_sagemaker_role(org, env, team)),
        (IAM_POLICY, team_policy(org, env, team)),
        (ECR_REPOSITORY, team_ecr_repository(org, team)),
    ]


def check(rule: Rule, value: str) -> str | None:
    """A one-line problem with ``value`` as a ``rule.kind``, or None when it is valid."""
    problem = rule.check(value)
    return f"derived {rule.kind} '{value}' {problem}" if problem else None
