"""Helpers shared by the onboarding and offboarding tests (test_onboard.py, test_offboard.py); their
fixtures (``onboard``, ``kube``) are in tests/conftest.py."""

from __future__ import annotations

ENV = "sandbox"


def _iam(infra):
    from platform_kit import aws

    return aws.session_for(infra.env, state_dir=infra.settings.state_dir).client("iam")


def _state_keys(infra) -> set[str]:
    from platform_kit import aws

    s3 = aws.session_for(infra.env, state_dir=infra.settings.state_dir).client("s3")
    return {o["Key"] for o in s3.list_objects_v2(Bucket=infra.state_bucket).get("Contents", [])}


def _state_text(infra, team: str) -> str:
    """The team stack's state document, or "" when it has none yet."""
    key = f"teams/{ENV}/{team}.tfstate"
    if key not in _state_keys(infra):
        return ""
    return infra.session().client("s3").get_object(Bucket=infra.state_bucket, Key=key)["Body"].read().decode()


def _cluster_args(name: str, owner: str) -> list[str]:
    return [
        name,
        "--owner",
        owner,
        "--group",
        f"ml-{name}",
        "--member",
        "tom.berg@corp.example:view",
        "--cost-center",
        "CC-4400",
        "--env",
        ENV,
        "--yes",
        "--kube-context",
        "kube-api-double",
        "--wait-timeout",
        "5",
    ]
