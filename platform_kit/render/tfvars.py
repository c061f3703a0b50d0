"""Terraform inputs for each stack, rendered from the validated desired state.

Pure functions: they take models (and, for team stacks, the platform stack's outputs) and
return the JSON that becomes ``inputs.auto.tfvars.json``. Every AWS name comes from
``platform_kit.naming``, the same functions ``platform validate`` checks.
"""

from __future__ import annotations

import re
from typing import Any

from platform_kit import naming, versions
from platform_kit.config.models import Environment, PlatformConfig, Team

# Kubernetes taint effects as the EKS API spells them.
_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}

# The platform outputs a team stack consumes; nothing else crosses from one state to the other.
TEAM_NEEDS_FROM_PLATFORM = (
    "cluster_name",
    "oidc_provider_arn",
    "oidc_issuer",
    "artifact_bucket_name",
    "artifact_kms_key_arn",
)


def aws_inputs(env: Environment, endpoint_url: str | None) -> dict[str, Any]:
    """Where the stack's provider sends calls. ``endpoint_url`` is set only for an emulator."""
    aws: dict[str, Any] = {"region": env.aws.region}
    if endpoint_url:
        aws["endpoint_url"] = endpoint_url
    else:
        aws["allowed_account_ids"] = [env.aws.account_id]
        if env.aws.profile:
            aws["profile"] = env.aws.profile
    return aws


def _tags(cfg: PlatformConfig, env_name: str, **extra: str) -> dict[str, str]:
    return {**cfg.organisation.tags, "platform-env": env_name, **extra}


def emulated(env: Environment) -> bool:
    """True for an environment served by an emulator, where EKS add-ons and access entries do not exist."""
    return env.aws.endpoint_url is not None


def state_bucket(cfg: PlatformConfig, env_name: str) -> str:
    env = cfg.environments[env_name]
    return naming.state_bucket(cfg.organisation.name, env.aws.account_id, env.aws.region)


def artifact_bucket(cfg: PlatformConfig, env_name: str) -> str:
    env = cfg.environments[env_name]
    return env.storage.artifact_bucket or naming.artifact_bucket(cfg.organisation.name, env_name, env.aws.account_id)


def bootstrap_inputs(cfg: PlatformConfig, env_name: str, endpoint_url: str | None) -> dict[str, Any]:
    env = cfg.environments[env_name]
    return {
        "aws": aws_inputs(env, endpoint_url),
        "emulator_compat": emulated(env),
        "bucket_name": state_bucket(cfg, env_name),
        "tags": _tags(cfg, env_name),
    }


def platform_inputs(cfg: PlatformConfig, env_name: str, endpoint_url: str | None) -> dict[str, Any]:
    org = cfg.organisation.name
    env = cfg.environments[env_name]
    cluster = cfg.cluster_name(env_name)
    network: dict[str, Any] = {"az_count": env.network.az_count, "nat_mode": env.network.nat}
    if env.network.existing is not None:
        network["existing"] = env.network.existing.model_dump()
    else:
        network["vpc_cidr"] = env.network.vpc_cidr
    secret_refs = [
        ref
        for connector in env.identity.connectors
        for ref in (getattr(connector, "client_secret", None), getattr(connector, "bind_password", None))
        if ref is not None and ref.aws_secretsmanager and not ref.aws_secretsmanager.startswith("arn:")
    ]
    inputs: dict[str, Any] = {
        "aws": aws_inputs(env, endpoint_url),
        "name": naming.platform_name(org, env_name),
        "emulator_compat": emulated(env),
        "network": network,
        "cluster": {
            "name": cluster,
            "kubernetes_version": env.cluster.kubernetes_version,
            # The add-on pins that go with that version (data/eks-addons.yaml); null keeps the module's.
            "addon_versions": versions.eks_addons(env.cluster.kubernetes_version),
            "endpoint_private_access": env.cluster.endpoint.private,
            "endpoint_public_access": env.cluster.endpoint.public,
            "public_access_cidrs": env.cluster.endpoint.public_cidrs,
            "admin_role_arns": env.cluster.admin_role_arns,
            "node_groups": {
                name: {
                    "instance_types": group.instance_types,
                    "min_size": group.min_size,
                    "max_size": group.max_size,
                    "desired_size": group.desired_size,
                    "gpu": group.gpu,
                    "capacity_type": group.capacity_type,
                    "disk_size_gb": group.disk_size_gb,
                    "labels": group.labels,
                    "taints": [{"key": t.key, "value": t.value, "effect": _EFFECTS[t.effect]} for t in group.taints],
                }
                for name, group in env.cluster.node_groups.items()
            },
        },
        "kubeflow": {
            "artifact_bucket_name": artifact_bucket(cfg, env_name),
            "kfp_role_name": naming.kfp_role(org, env_name),
            "argo_role_name": naming.argo_role(org, env_name),
            "catalog_repository_name": naming.catalog_repository(org),
            "secret_prefix": naming.secret_prefix(org, env_name),
            "dex_connector_secret_names": sorted({ref.aws_secretsmanager for ref in secret_refs}),
            "rds": env.storage.rds.model_dump(),
        },
        "ci": None,
        "tags": _tags(cfg, env_name),
    }
    if env.ci is not None and cfg.github is not None:
        apply_role = naming.ci_role(org, env_name, "apply")
        inputs["ci"] = {
            "github_repository": cfg.github.repository,
            "main_branch": env.ci.main_branch,
            "create_oidc_provider": env.ci.create_oidc_provider,
            "apply_policy_arns": env.ci.apply_policy_arns,
            "plan_role_name": naming.ci_role(org, env_name, "plan"),
            "apply_role_name": apply_role,
            "state_bucket_name": state_bucket(cfg, env_name),
            # The stack gives the apply role cluster-admin unless admin_role_arns already does.
            "apply_role_cluster_admin": not any(
                re.fullmatch(rf"arn:aws[a-z-]*:iam::{env.aws.account_id}:role/(.+/)?{re.escape(apply_role)}", arn)
                for arn in env.cluster.admin_role_arns
            ),
        }
    return inputs


def team_inputs(
    cfg: PlatformConfig, env_name: str, team: Team, platform_outputs: dict[str, Any], endpoint_url: str | None
) -> dict[str, Any]:
    """Inputs of one team's stack; ``platform_outputs`` are the platform stack's outputs (from its state)."""
    org = cfg.organisation.name
    env = cfg.environments[env_name]
    missing = [key for key in TEAM_NEEDS_FROM_PLATFORM if platform_outputs.get(key) in (None, "")]
    if missing:
        raise KeyError(", ".join(missing))
    region, account = env.aws.region, env.aws.account_id
    return {
        "aws": aws_inputs(env, endpoint_url),
        "emulator_compat": emulated(env),
        "team_name": team.name,
        "active": team.active_in(env_name),
        "namespace": naming.team_namespace(team.name),
        "role_name": naming.team_role(org, env_name, team.name),
        "sagemaker_role_name": naming.team_sagemaker_role(org, env_name, team.name),
        "policy_name": naming.team_policy(org, env_name, team.name),
        "ecr_repository_name": naming.team_ecr_repository(org, team.name),
        "cost_center": team.cost_center,
        "cluster_name": platform_outputs["cluster_name"],
        "oidc_provider_arn": platform_outputs["oidc_provider_arn"],
        "oidc_issuer": platform_outputs["oidc_issuer"],
        "artifact_bucket_name": platform_outputs["artifact_bucket_name"],
        "artifact_kms_key_arn": platform_outputs["artifact_kms_key_arn"],
        "catalog_repository_arns": [platform_outputs["catalog_repository_arn"]]
        if platform_outputs.get("catalog_repository_arn")
        else [],
        "extra_buckets": [b.model_dump() for b in team.aws.s3_buckets],
        "sagemaker_enabled": team.aws.sagemaker,
        "batch_queue_arns": [f"arn:aws:batch:{region}:{account}:job-queue/{q}" for q in team.aws.batch_queues],
        "ecr_enabled": team.aws.ecr,
        "sso_role_arn": team.aws.sso_roles.get(env_name),
        "tags": _tags(cfg, env_name, team=team.name),
    }
