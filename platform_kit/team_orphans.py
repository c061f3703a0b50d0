"""What an interrupted team-stack apply created in AWS but never recorded in its state.

Terraform writes a resource to the state after AWS has created it. A run killed in between
(``kill -9``, a lost runner) leaves an object the state does not know, and the next plan wants to
create it again: AWS answers that the name is taken. Objects whose creation is an upsert in AWS
(policy attachments, inline role policies, ECR lifecycle policies) are harmless; the ones below have
unique names and are not.

``find`` looks each of them up by the name the team stack gives it. One that exists outside the
state and carries this team's and environment's tags (``team``, ``platform-env``, which the module
always sets) was made by this stack: the kit adopts it with ``terraform import``, which changes
nothing in AWS. One without those tags belongs to someone else and is refused, nothing written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from platform_kit.errors import OperationFailed

MODULE = "module.team"
_MISSING = {"NoSuchEntity", "RepositoryNotFoundException", "ResourceNotFoundException"}


@dataclass(frozen=True)
class Named:
    """A uniquely named object of the team stack: its address, import ID and how to read its tags."""

    address: str
    import_id: str
    what: str
    read_tags: Callable[[], dict[str, str] | None]  # None: the object does not exist


def named_objects(session: Any, inputs: dict[str, Any]) -> list[Named]:
    """The team stack's uniquely named objects, for the inputs it is planned with."""
    iam = session.client("iam")
    objects = [
        Named(
            f"{MODULE}.aws_iam_role.this",
            inputs["role_name"],
            f"IAM role {inputs['role_name']}",
            lambda: _iam_role_tags(iam, inputs["role_name"]),
        )
    ]
    caller = session.client("sts").get_caller_identity()
    partition = caller["Arn"].split(":")[1]
    policy_arn = f"arn:{partition}:iam::{caller['Account']}:policy/{inputs['policy_name']}"
    objects.append(
        Named(
            f"{MODULE}.aws_iam_policy.this",
            policy_arn,
            f"IAM policy {inputs['policy_name']}",
            lambda: _tags(lambda: iam.list_policy_tags(PolicyArn=policy_arn)),
        )
    )
    if inputs.get("sagemaker_enabled"):
        name = inputs["sagemaker_role_name"]
        objects.append(
            Named(f"{MODULE}.aws_iam_role.sagemaker[0]", name, f"IAM role {name}", lambda: _iam_role_tags(iam, name))
        )
    if inputs.get("ecr_enabled"):
        ecr = session.client("ecr")
        name = inputs["ecr_repository_name"]
        objects.append(
            Named(f"{MODULE}.aws_ecr_repository.this[0]", name, f"ECR repository {name}", lambda: _ecr_tags(ecr, name))
        )
    if not inputs.get("emulator_compat") and inputs.get("sso_role_arn") and inputs.get("active", True):
        eks = session.client("eks")
        cluster, principal = inputs["cluster_name"], inputs["sso_role_arn"]
        objects.append(
            Named(
                f"{MODULE}.aws_eks_access_entry.sso[0]",
                f"{cluster}:{principal}",
                f"EKS access entry for {principal}",
                lambda: _access_entry_tags(eks, cluster, principal),
            )
        )
    return objects


def addresses(state: dict[str, Any] | None) -> set[str]:
    """Every managed resource instance address in a state document."""
    found: set[str] = set()
    for resource in (state or {}).get("resources", []):
        if resource.get("mode") != "managed":
            continue
        base = ".".join(p for p in (resource.get("module"), resource.get("type"), resource.get("name")) if p)
        for instance in resource.get("instances") or []:
            key = instance.get("index_key")
            suffix = "" if key is None else f"[{key}]" if isinstance(key, int) else f'["{key}"]'
            found.add(base + suffix)
    return found


def find(objects: list[Named], state: dict[str, Any] | None, team: str, env: str) -> list[Named]:
    """The objects to adopt; raises for one of a taken name that is not this team's."""
    known = addresses(state)
    orphans = []
    for named in objects:
        if named.address in known:
            continue
        tags = named.read_tags()
        if tags is None:
            continue
        if tags.get("team") == team and tags.get("platform-env") == env:
            orphans.append(named)
            continue
        owner = f"team '{tags['team']}'" if "team" in tags else "no platform-kit team"
        raise OperationFailed(
            f"{named.what} already exists (tagged for {owner}) and is not in this team's Terraform state; "
            "refusing to take it over",
            hint="pick another team name, or remove the object if it is abandoned",
        )
    return orphans


def _tags(read: Callable[[], dict[str, Any]]) -> dict[str, str] | None:
    from botocore.exceptions import ClientError

    try:
        answer = read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING:
            return None
        raise
    return {t["Key"]: t["Value"] for t in answer.get("Tags") or answer.get("tags") or []}


def _iam_role_tags(iam: Any, name: str) -> dict[str, str] | None:
    return _tags(lambda: iam.list_role_tags(RoleName=name))


def _ecr_tags(ecr: Any, name: str) -> dict[str, str] | None:
    from botocore.exceptions import ClientError

    try:
        arn = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryArn"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING:
            return None
        raise
    return _tags(lambda: ecr.list_tags_for_resource(resourceArn=arn))


def _access_entry_tags(eks: Any, cluster: str, principal: str) -> dict[str, str] | None:
    from botocore.exceptions import ClientError

    try:
        entry = eks.describe_access_entry(clusterName=cluster, principalArn=principal)["accessEntry"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING:
            return None
        raise
    return dict(entry.get("tags") or {})
