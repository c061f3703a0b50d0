"""Bootstrap, platform and two team stacks applied for real on the sandbox, then checked with boto3.

The real terraform binary and hashicorp/aws provider run against the moto server. EKS add-ons and
access entries, which moto lacks, are asserted at plan level in the modules' own terraform tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SANDBOX_ADMIN_ROLE, SANDBOX_SSO_ROLE

from platform_kit import naming
from platform_kit.infra import Infra, Stack

pytestmark = [pytest.mark.terraform, pytest.mark.sandbox]
ENV = "sandbox"
ADMIN_ROLE = SANDBOX_ADMIN_ROLE
SSO_ROLE = SANDBOX_SSO_ROLE


@pytest.fixture(scope="module")
def world(sandbox_world):
    """The session's applied sandbox (see conftest.sandbox_world): bootstrap, platform, two teams."""
    return sandbox_world


def _client(infra: Infra, service: str):
    from platform_kit import aws

    return aws.session_for(infra.env, state_dir=infra.settings.state_dir).client(service)


def test_state_lives_in_the_bucket_one_object_per_stack(world) -> None:
    infra, _ = world
    keys = {o["Key"] for o in _client(infra, "s3").list_objects_v2(Bucket=infra.state_bucket)["Contents"]}
    assert {
        "platform/sandbox.tfstate",
        "teams/sandbox/perception.tfstate",
        "teams/sandbox/planning.tfstate",
        "bootstrap/sandbox.tfstate",
    } <= keys
    assert not [k for k in keys if k.endswith(".tflock")], "no lock may be left behind"


def test_cluster_encryption_logging_and_endpoint(world) -> None:
    infra, outputs = world
    cluster = _client(infra, "eks").describe_cluster(name=outputs["platform"]["cluster_name"])["cluster"]
    assert cluster["encryptionConfig"][0]["resources"] == ["secrets"]
    assert cluster["encryptionConfig"][0]["provider"]["keyArn"].startswith("arn:aws:kms:")
    logging = cluster["logging"]["clusterLogging"]
    enabled = {t for entry in logging if entry["enabled"] for t in entry["types"]}
    assert enabled == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    vpc = cluster["resourcesVpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert cluster["version"] == "1.31"


def test_gpu_node_group_is_tainted_and_labelled(world) -> None:
    infra, outputs = world
    eks = _client(infra, "eks")
    cluster = outputs["platform"]["cluster_name"]
    group = eks.describe_nodegroup(clusterName=cluster, nodegroupName=naming.node_group_name(cluster, "gpu"))
    group = group["nodegroup"]
    assert {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"} in group["taints"]
    assert group["labels"]["nvidia.com/gpu.present"] == "true"
    cpu = eks.describe_nodegroup(clusterName=cluster, nodegroupName=naming.node_group_name(cluster, "cpu"))
    assert not cpu["nodegroup"].get("taints")


def test_oidc_provider_exists_for_the_cluster(world) -> None:
    infra, outputs = world
    iam = _client(infra, "iam")
    arns = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    assert outputs["platform"]["oidc_provider_arn"] in arns
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=outputs["platform"]["oidc_provider_arn"])
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]


@pytest.mark.parametrize("team", ["perception", "planning"])
def test_team_role_trusts_only_its_default_editor(world, team: str) -> None:
    infra, outputs = world
    issuer = outputs["platform"]["oidc_issuer"]
    role = _client(infra, "iam").get_role(RoleName=naming.team_role("acme", ENV, team))["Role"]
    [statement] = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": outputs["platform"]["oidc_provider_arn"]}
    assert statement["Condition"] == {
        "StringEquals": {
            f"{issuer}:sub": f"system:serviceaccount:{team}:default-editor",
            f"{issuer}:aud": "sts.amazonaws.com",
        }
    }


def _policy_statements(infra: Infra, team: str) -> list[dict]:
    iam = _client(infra, "iam")
    role = naming.team_role("acme", ENV, team)
    documents = [
        iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"]
        for n in iam.list_role_policies(RoleName=role)["PolicyNames"]
    ]
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)["PolicyVersion"]
        documents.append(document["Document"])
    statements = []
    for document in documents:
        document = json.loads(document) if isinstance(document, str) else document
        found = document["Statement"]
        statements += found if isinstance(found, list) else [found]
    assert statements, f"{role} has no policy"
    return statements


@pytest.mark.parametrize(("team", "other"), [("perception", "planning"), ("planning", "perception")])
def test_team_policy_has_no_wildcard_action_and_reaches_only_its_prefixes(world, team: str, other: str) -> None:
    infra, outputs = world
    bucket = outputs["platform"]["artifact_bucket_name"]
    for statement in _policy_statements(infra, team):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all(a != "*" and not a.endswith(":*") for a in actions), statement
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        objects = [r for r in resources if r.startswith(f"arn:aws:s3:::{bucket}/")]
        for resource in objects:
            path = resource.removeprefix(f"arn:aws:s3:::{bucket}/")
            if path == "catalog/*":  # the shared component catalog: every team reads it, none writes
                assert actions == ["s3:GetObject"], statement
                continue
            assert path in {f"{p}*" for p in naming.team_artifact_prefixes(team)}, resource
        assert not any(f"/{other}/" in r for r in resources), statement


def test_second_plan_of_every_stack_changes_nothing(world) -> None:
    infra, _ = world
    for stack in (Stack("bootstrap"), Stack("platform"), Stack("team", "perception"), Stack("team", "planning")):
        report = infra.plan(stack)
        assert not report.has_changes, f"{stack.id}: {report.changes}"


def test_a_second_plan_skips_init_until_what_init_depends_on_changes(world) -> None:
    from platform_kit.infra import INIT_STAMP

    infra, _ = world
    stack = Stack("team", "planning")
    lines: list[str] = []
    infra.on_line = lines.append
    try:
        infra.plan(stack)
        lines.clear()
        infra.plan(stack)
        assert not [line for line in lines if line.startswith("Initializing")], lines
        (infra.workdir(stack) / INIT_STAMP).write_text("from another backend\n")
        lines.clear()
        assert not infra.plan(stack).has_changes
        assert any(line.startswith("Initializing the backend") for line in lines), lines
    finally:
        infra.on_line = None


def _plan_without_emulator_compat(infra: Infra, stack: Stack, tmp_path: Path) -> list[tuple[str, str]]:
    """Plan the applied stack as it would be on AWS: the emulator switch off, everything else the same."""
    override = tmp_path / f"{stack.slug}-aws.tfvars.json"
    override.write_text(json.dumps({"emulator_compat": False}))
    tf = infra.terraform(stack)
    workdir = infra.workdir(stack)
    result = tf.plan(tmp_path / f"{stack.slug}.tfplan", var_files=[workdir / "inputs.auto.tfvars.json", override])
    plan = tf.show_json(result.plan_file)
    return [
        (rc["type"], "/".join(rc["change"]["actions"]))
        for rc in plan["resource_changes"]
        if rc["change"]["actions"] not in (["no-op"], ["read"])
    ]


def test_on_aws_the_platform_adds_exactly_addons_access_entries_and_tls_policy(world, tmp_path: Path) -> None:
    infra, _ = world
    changes = _plan_without_emulator_compat(infra, Stack("platform"), tmp_path)
    # One access entry for admin_role_arns, one for the CI apply role (which applies renders).
    assert sorted(changes) == sorted(
        [("aws_eks_addon", "create")] * 4
        + [("aws_eks_access_entry", "create"), ("aws_eks_access_policy_association", "create")] * 2
        + [("aws_s3_bucket_policy", "create")]
    ), changes


def test_on_aws_a_team_adds_exactly_its_access_entry(world, tmp_path: Path) -> None:
    infra, _ = world
    changes = _plan_without_emulator_compat(infra, Stack("team", "perception"), tmp_path)
    assert sorted(changes) == [("aws_eks_access_entry", "create"), ("aws_eks_access_policy_association", "create")]


def test_destroying_one_team_stack_leaves_the_other(world) -> None:
    infra, _ = world
    iam = _client(infra, "iam")
    report = infra.plan(Stack("team", "planning"), destroy=True)
    assert report.destroy > 0 and report.add == 0
    infra.apply(report)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=naming.team_role("acme", ENV, "planning"))
    assert iam.get_role(RoleName=naming.team_role("acme", ENV, "perception"))["Role"]["Arn"]
    assert not infra.plan(Stack("team", "perception")).has_changes


def test_render_takes_its_values_from_the_applied_platform_state(world, cli, tmp_path: Path) -> None:
    """`platform render` without --platform-outputs reads the platform stack's outputs from its state."""
    import yaml

    infra, outputs = world
    out = tmp_path / "build"
    code, stdout, stderr = cli("render", "--env", ENV, "--config-dir", str(infra.loaded.config_dir), "--out", str(out))
    assert code == 0, stderr
    assert "Profile" in stdout
    objects = [o for o in yaml.safe_load_all((out / "rendered" / "platform.yaml").read_text()) if o]
    cluster = _client(infra, "eks").describe_cluster(name=outputs["platform"]["cluster_name"])["cluster"]
    (m2m,) = [
        o for o in objects if o["kind"] == "RequestAuthentication" and o["metadata"]["name"] == "m2m-token-issuer"
    ]
    assert m2m["spec"]["jwtRules"][0]["issuer"] == cluster["identity"]["oidc"]["issuer"]
    (sa,) = [o for o in objects if o["kind"] == "ServiceAccount" and o["metadata"]["name"] == "ml-pipeline"]
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == outputs["platform"]["kfp_role_arn"]
    # The role ARN the team render derives is the role the team stack created.
    team_objects = list(yaml.safe_load_all((out / "rendered" / "teams" / "perception.yaml").read_text()))
    (profile,) = [o for o in team_objects if o["kind"] == "Profile"]
    assert profile["spec"]["plugins"][0]["spec"]["awsIamRole"] == outputs["team:perception"]["role_arn"]
    secrets = yaml.safe_load((out / "secrets.yaml").read_text())["secrets"]
    (proxy,) = [s for s in secrets if s["name"] == "oauth2-proxy-credentials"]
    assert proxy["data"]["cookie-secret"] == {
        "aws_secretsmanager": outputs["platform"]["oauth2_proxy_cookie_secret_arn"]
    }
