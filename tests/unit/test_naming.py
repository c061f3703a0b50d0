"""Derived names are checked against the limits AWS and Kubernetes really apply."""

from __future__ import annotations

import pytest

from platform_kit import naming


def test_team_names_follow_one_scheme() -> None:
    names = dict((rule.kind + ":" + value, value) for rule, value in naming.team_names("acme", "dev", "vision"))
    assert "IAM role name:acme-dev-team-vision" in names
    assert "IAM role name:acme-dev-team-vision-sm" in names
    assert "Kubernetes namespace:vision" in names
    assert naming.team_state_key("dev", "vision") == "teams/dev/vision.tfstate"
    assert naming.platform_state_key("dev") == "platform/dev.tfstate"


@pytest.mark.parametrize(
    ("rule", "value", "problem"),
    [
        (naming.IAM_ROLE, "r" * 64, None),
        (naming.IAM_ROLE, "r" * 65, "is 65 characters (IAM allows at most 64)"),
        (naming.S3_BUCKET, "b" * 63, None),
        (naming.S3_BUCKET, "b" * 64, "is 64 characters (S3 bucket names allow 3 to 63)"),
        (naming.S3_BUCKET, "Upper-case", "must be lowercase letters"),
        (naming.S3_BUCKET, "a..b", "must be lowercase letters"),
        (naming.DNS_LABEL, "n" * 63, None),
        (naming.DNS_LABEL, "n" * 64, "is 64 characters (a DNS-1123 label allows at most 63)"),
        (naming.DNS_LABEL, "-team", "must be a DNS-1123 label"),
        (naming.ECR_REPOSITORY, "acme/teams/vision", None),
        (naming.ECR_REPOSITORY, "acme//vision", "must be lowercase path segments"),
        (naming.EKS_CLUSTER, "acme-dev", None),
        (naming.EKS_CLUSTER, "-acme", "must start with a letter or digit"),
    ],
)
def test_rules(rule: naming.Rule, value: str, problem: str | None) -> None:
    found = rule.check(value)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.parametrize("name", ["kubeflow", "kube-anything", "knative-serving", "istio-system", "default", "auth"])
def test_reserved(name: str) -> None:
    assert naming.reserved_reason(name)


def test_ordinary_team_name_is_not_reserved() -> None:
    assert naming.reserved_reason("perception") is None
