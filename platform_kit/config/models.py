"""The schema of ``platform/platform.yaml`` and ``platform/teams/<team>.yaml``.

Field descriptions become the JSON Schema that ``platform schema`` writes for editors. Rules
that involve one model live here as validators; rules across files live in ``validate.py``.
Secrets never appear as values: every secret is a ``SecretRef``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from platform_kit.config.types import (
    LITERAL_SECRET_CHECK,
    AccountId,
    Cidr,
    Email,
    EndpointUrl,
    Hostname,
    HttpsUrl,
    Image,
    Quantity,
    Region,
    Slug,
    quantity_value,
)

Role = Literal["edit", "view"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)


def _fail(kind: str, message: str, field: str | None = None) -> PydanticCustomError:
    """A rule broken inside one model; ``field`` says which field to point the error at."""
    return PydanticCustomError(kind, message, {"field": field} if field else None)


# --- shared ----------------------------------------------------------------------------------


class SecretRef(Model):
    """Where a secret lives. The kit reads it at apply time; the value never enters the repo."""

    aws_secretsmanager: str | None = Field(
        None, min_length=1, max_length=512, description="Secrets Manager secret name or ARN."
    )
    key: str | None = Field(None, description="JSON key inside the secret, when it holds several values.")
    env: str | None = Field(
        None, pattern=r"^[A-Z_][A-Z0-9_]*$", description="Environment variable that holds the value (CI)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.aws_secretsmanager is None) == (self.env is None):
            raise _fail("secret_ref", "give exactly one of aws_secretsmanager or env")
        if self.key is not None and self.env is not None:
            raise _fail("secret_ref", "key goes with aws_secretsmanager, not env")
        return self


Secret = Annotated[SecretRef, LITERAL_SECRET_CHECK]


# --- platform.yaml ---------------------------------------------------------------------------


class Organisation(Model):
    name: Annotated[Slug, Field(max_length=16)] = Field(
        description="Short lowercase name, the prefix of every derived AWS name (at most 16 characters)."
    )
    display_name: str = Field(min_length=1, max_length=100)
    email_domains: list[Hostname] = Field(
        default_factory=list, description="Domains of people who may log in; members must use one."
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Tags added to every AWS resource.")


class Aws(Model):
    account_id: AccountId
    region: Region
    endpoint_url: EndpointUrl | None = Field(
        None,
        description="Only for emulators: 'sandbox' for the embedded sandbox, or a URL. Absent for real AWS.",
    )
    profile: str | None = Field(None, description="Named AWS profile for this environment's credentials.")


class EndpointAccess(Model):
    private: bool = True
    public: bool = False
    public_cidrs: list[Cidr] = Field(default_factory=list, description="Who may reach the public endpoint.")

    @model_validator(mode="after")
    def _allowlist(self) -> EndpointAccess:
        if not self.private and not self.public:
            raise _fail("endpoint", "at least one of private or public must be true")
        if self.public and not self.public_cidrs:
            raise _fail("endpoint", "a public endpoint needs public_cidrs, an allowlist of CIDR blocks", "public_cidrs")
        if self.public and "0.0.0.0/0" in self.public_cidrs:
            raise _fail(
                "endpoint", "public_cidrs may not contain 0.0.0.0/0; list the networks that need access", "public_cidrs"
            )
        if not self.public and self.public_cidrs:
            raise _fail(
                "endpoint", "public_cidrs is set but public is false; remove it or set public: true", "public_cidrs"
            )
        return self


class Taint(Model):
    key: str = Field(min_length=1, max_length=253)
    value: str | None = Field(None, max_length=63)
    effect: Literal["NoSchedule", "NoExecute", "PreferNoSchedule"]


GPU_FAMILIES = ("g4dn", "g4ad", "g5", "g5g", "g6", "g6e", "gr6", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en")


class NodeGroup(Model):
    instance_types: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")]] = Field(min_length=1)
    min_size: int = Field(ge=0, le=1000)
    max_size: int = Field(ge=1, le=1000)
    desired_size: int = Field(ge=0, le=1000)
    gpu: bool = Field(False, description="GPU nodes get the nvidia.com/gpu taint and label.")
    capacity_type: Literal["ON_DEMAND", "SPOT"] = "ON_DEMAND"
    disk_size_gb: int = Field(50, ge=20, le=16384)
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _sizes(self) -> NodeGroup:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise _fail(
                "sizes",
                f"sizes must satisfy min_size <= desired_size <= max_size (got {self.min_size}, "
                f"{self.desired_size}, {self.max_size})",
                "desired_size",
            )
        if self.gpu:
            bad = [t for t in self.instance_types if t.split(".")[0] not in GPU_FAMILIES]
            if bad:
                raise _fail(
                    "gpu_instance",
                    f"gpu is true but {', '.join(bad)} has no GPU (allowed families: {', '.join(GPU_FAMILIES)})",
                    "instance_types",
                )
        return self


class Cluster(Model):
    name: str | None = Field(None, description="EKS cluster name; default <organisation>-<environment>.")
    kubernetes_version: str = Field(description="EKS minor version, quoted, for example '1.31'.")
    endpoint: EndpointAccess = Field(default_factory=EndpointAccess)
    node_groups: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")], NodeGroup] = Field(min_length=1)
    admin_role_arns: list[Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")]] = Field(
        default_factory=list, description="IAM roles granted cluster admin through EKS access entries."
    )


class ExistingNetwork(Model):
    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$")
    private_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(min_length=2)
    public_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(default_factory=list)


class Network(Model):
    vpc_cidr: Cidr | None = Field(None, description="CIDR of a new VPC (/16 to /22).")
    az_count: int = Field(3, ge=2, le=6)
    nat: Literal["single", "per_az", "none"] = "single"
    existing: ExistingNetwork | None = Field(None, description="Adopt an existing VPC instead of creating one.")

    @model_validator(mode="after")
    def _one_way(self) -> Network:
        if (self.vpc_cidr is None) == (self.existing is None):
            raise _fail("network", "give exactly one of vpc_cidr (new VPC) or existing (adopt a VPC)")
        if self.vpc_cidr is not None:
            prefix = int(self.vpc_cidr.split("/")[1])
            if not 16 <= prefix <= 22:
                raise _fail("network", f"vpc_cidr prefix /{prefix} is not allowed (use /16 to /22)", "vpc_cidr")
        return self


class GitSource(Model):
    url: HttpsUrl
    ref: str = Field(min_length=1, description="Tag or commit; a branch is not a pin.")


class KubeflowSource(Model):
    git: GitSource | None = None
    path: str | None = Field(
        None, description="Local folder laid out like the upstream repository, relative to platform.yaml."
    )

    @model_validator(mode="after")
    def _one(self) -> KubeflowSource:
        if (self.git is None) == (self.path is None):
            raise _fail("source", "give exactly one of git (url and ref) or path (a local folder)")
        return self


class Tls(Model):
    certificate_arn: str | None = Field(None, pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/.+$")
    cert_manager_issuer: str | None = Field(None, description="A cert-manager ClusterIssuer name.")

    @model_validator(mode="after")
    def _one(self) -> Tls:
        if (self.certificate_arn is None) == (self.cert_manager_issuer is None):
            raise _fail("tls", "give exactly one of certificate_arn or cert_manager_issuer")
        return self


class KubeflowComponents(Model):
    jupyter: bool = False
    katib: bool = False


class Kubeflow(Model):
    version: str = Field(description="Kubeflow manifests release, for example v1.10.2.")
    source: KubeflowSource
    hostname: Hostname
    tls: Tls
    load_balancer: Literal["internal", "internet-facing"] = Field(
        "internal", description="Scheme of the ALB in front of the gateway (with tls.certificate_arn)."
    )
    components: KubeflowComponents = Field(default_factory=KubeflowComponents)
    artifact_store: Literal["s3", "in-cluster"] = Field(
        "s3",
        description="s3: Pipelines' artifacts in the environment's bucket through IRSA (EKS). in-cluster: "
        "upstream's object store (MinIO or SeaweedFS) with generated keys, for a cluster without IRSA "
        "such as the kind cluster of the e2e workflow; those artifacts are not carried across a Kubeflow "
        "upgrade that swaps the store (v1.11 replaces MinIO with SeaweedFS).",
    )


class _Connector(Model):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
    name: str = Field(min_length=1, max_length=100, description="Shown on the login page.")


class OidcConnector(_Connector):
    type: Literal["oidc"]
    issuer: HttpsUrl
    client_id: str = Field(min_length=1)
    client_secret: Secret
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email", "groups"])
    groups_claim: str = "groups"
    end_session_url: HttpsUrl | None = Field(None, description="Where logout sends people (the IdP's end session).")


class LdapSearch(Model):
    base_dn: str = Field(min_length=1)
    filter: str = ""
    username_attr: str = "uid"
    id_attr: str = "uid"
    email_attr: str = "mail"
    name_attr: str = "cn"


class LdapGroupSearch(Model):
    base_dn: str = Field(min_length=1)
    filter: str = "(objectClass=groupOfNames)"
    user_attr: str = "DN"
    group_attr: str = "member"
    name_attr: str = "cn"


class LdapConnector(_Connector):
    type: Literal["ldap"]
    host: str = Field(pattern=r"^[A-Za-z0-9.-]+:\d{1,5}$", description="host:port of the LDAP server.")
    bind_dn: str = Field(min_length=1)
    bind_password: Secret
    start_tls: bool = False
    insecure_no_ssl: Literal[False] = Field(False, description="Plain LDAP is not allowed.")
    ca_pem: str | None = Field(
        None,
        pattern=r"-----BEGIN CERTIFICATE-----",
        description="The CA that signed the LDAP server's certificate (PEM), when it is not a public one.",
    )
    user_search: LdapSearch
    group_search: LdapGroupSearch


class SamlConnector(_Connector):
    type: Literal["saml"]
    sso_url: HttpsUrl
    ca_pem: str = Field(pattern=r"-----BEGIN CERTIFICATE-----", description="The IdP's public signing CA (PEM).")
    entity_issuer: str | None = None
    username_attr: str = "name"
    email_attr: str = "email"
    groups_attr: str = "groups"


class GithubOrg(Model):
    name: str = Field(min_length=1)
    teams: list[str] = Field(default_factory=list)


class GithubConnector(_Connector):
    type: Literal["github"]
    client_id: str = Field(min_length=1)
    client_secret: Secret
    orgs: list[GithubOrg] = Field(min_length=1, description="Only members of these orgs (and teams) may log in.")
    team_name_field: Literal["name", "slug", "both"] = "slug"


class MicrosoftConnector(_Connector):
    type: Literal["microsoft"]
    tenant: str = Field(min_length=1, description="Entra ID tenant ID or domain.")
    client_id: str = Field(min_length=1)
    client_secret: Secret
    groups: list[str] = Field(default_factory=list, description="Only members of these groups may log in.")
    only_security_groups: bool = True


Connector = Annotated[
    OidcConnector | LdapConnector | SamlConnector | GithubConnector | MicrosoftConnector,
    Field(discriminator="type"),
]


class Identity(Model):
    admin_groups: list[str] = Field(min_length=1, description="IdP groups with platform admin rights.")
    platform_admin: Email = Field(
        description="The Kubeflow cluster admin (the profiles controller's and KFAM's admin user).",
    )
    login_groups: list[str] | None = Field(
        None,
        description="IdP groups allowed to sign in through oauth2-proxy (for example an all-staff group). "
        "Unset: anyone the IdP authenticates from the email domains; team namespaces stay guarded by "
        "their own bindings. Everyone a team lists by email must be in one of these groups.",
    )
    connectors: list[Connector] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Identity:
        ids = [c.id for c in self.connectors]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise _fail("connectors", f"connector ids must be unique; repeated: {', '.join(dupes)}", "connectors")
        return self


class Rds(Model):
    enabled: bool = False
    instance_class: str = Field("db.t3.medium", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    allocated_storage_gb: int = Field(20, ge=20, le=65536)
    multi_az: bool = False
    backup_retention_days: int = Field(7, ge=1, le=35)


class Storage(Model):
    artifact_bucket: str | None = Field(None, description="Override the derived artifact bucket name.")
    rds: Rds = Field(default_factory=Rds)


class Catalog(Model):
    registry: str | None = Field(None, description="Registry for catalog images; default the env's ECR.")
    images: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")], Image] = Field(
        default_factory=dict, description="Pinned compute images by name (tag other than latest, or digest)."
    )


class Slack(Model):
    default_channel: str = Field(pattern=r"^#[a-z0-9_-]{1,80}$")
    webhook: Secret


class Notifications(Model):
    slack: Slack | None = None


class GitHub(Model):
    repository: str = Field(pattern=r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", description="owner/name")
    token: Secret
    api_url: HttpsUrl = "https://api.github.com"


class Kubernetes(Model):
    context: str | None = Field(None, description="kubeconfig context to use instead of the EKS-derived one.")


class PolicyException(Model):
    """A failed checkov check on this environment's plans that was reviewed and accepted."""

    check: str = Field(pattern=r"^CKV2?_[A-Z0-9]+_\d+$", description="The checkov check id, e.g. CKV_AWS_39.")
    resource: str = Field(min_length=1, description="The resource address in the plan the exception is for.")
    reason: str = Field(min_length=10, description="Why it is accepted; shown in the PR comment.")


class Ci(Model):
    """CI identity for this environment's account: GitHub OIDC and plan/apply roles."""

    apply_policy_arns: list[Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/.+$")]] = Field(
        min_length=1, description="Policies the apply role gets; narrow them to what the stacks manage."
    )
    main_branch: str = Field("main", min_length=1, description="Only this branch may assume the apply role.")
    create_oidc_provider: bool = Field(True, description="False when the account already has GitHub's provider.")
    policy_exceptions: list[PolicyException] = Field(
        default_factory=list,
        description="checkov findings on this environment's plans that `platform ci plan` does not block on.",
    )


class Environment(Model):
    aws: Aws
    protected: bool = Field(False, description="Destructive steps need an extra confirmation (production).")
    cluster: Cluster
    network: Network
    kubeflow: Kubeflow
    identity: Identity
    storage: Storage = Field(default_factory=Storage)
    catalog: Catalog | None = Field(None, description="Override the platform-wide catalog for this environment.")
    kubernetes: Kubernetes = Field(default_factory=Kubernetes)
    ci: Ci | None = Field(None, description="Create the CI roles (needs github at the top level).")


class PlatformConfig(Model):
    version: Literal[1] = Field(description="Schema version of this file.")
    organisation: Organisation
    catalog: Catalog = Field(default_factory=Catalog)
    notifications: Notifications = Field(default_factory=Notifications)
    github: GitHub | None = None
    environments: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,11}$")], Environment] = Field(min_length=1)

    def cluster_name(self, env: str) -> str:
        from platform_kit import naming

        return self.environments[env].cluster.name or naming.cluster_name(self.organisation.name, env)

    def catalog_for(self, env: str) -> Catalog:
        return self.environments[env].catalog or self.catalog


# --- teams/<team>.yaml -----------------------------------------------------------------------


class Member(Model):
    email: Email
    role: Role
    github: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}$",
        description="GitHub login; an edit member with one may launch the team's pipelines from PR comments.",
    )


class GroupAccess(Model):
    name: str = Field(min_length=1, max_length=256, description="IdP group name as the connector reports it.")
    role: Role


class Quotas(Model):
    cpu: Quantity
    memory: Quantity
    gpu: int = Field(0, ge=0, le=4096)
    storage: Quantity
    pods: int = Field(100, ge=1, le=100000)


class ContainerDefaults(Model):
    cpu_request: Quantity = "250m"
    memory_request: Quantity = "512Mi"
    cpu_limit: Quantity = "2"
    memory_limit: Quantity = "4Gi"

    @model_validator(mode="after")
    def _request_within_limit(self) -> ContainerDefaults:
        for what in ("cpu", "memory"):
            request, limit = getattr(self, f"{what}_request"), getattr(self, f"{what}_limit")
            if quantity_value(request) > quantity_value(limit):
                raise _fail("limits", f"{what}_request {request} is above {what}_limit {limit}", f"{what}_request")
        return self


class BucketAccess(Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description="An existing S3 bucket.")
    access: Literal["read", "write"]
    prefix: str = Field(
        "", pattern=r"^([A-Za-z0-9!_.'()/-]+/)?$", description="Limit access to keys under this prefix (ends with '/')."
    )


class TeamAws(Model):
    s3_buckets: list[BucketAccess] = Field(default_factory=list)
    sagemaker: bool = False
    batch_queues: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,128}$")]] = Field(default_factory=list)
    ecr: bool = True
    sso_roles: dict[str, Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")]] = Field(
        default_factory=dict,
        description="Per environment, the team's SSO role; it gets edit access to the namespace (EKS access entry).",
    )


class Team(Model):
    name: str = Field(
        description="Team name: the namespace, profile and part of every AWS name. Must equal the file name."
    )
    display_name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=1000)
    owner: Email
    members: list[Member] = Field(default_factory=list)
    groups: list[GroupAccess] = Field(default_factory=list)
    quotas: Quotas
    container_defaults: ContainerDefaults = Field(default_factory=ContainerDefaults)
    aws: TeamAws = Field(default_factory=TeamAws)
    slack_channel: str | None = Field(None, pattern=r"^#[a-z0-9_-]{1,80}$")
    cost_center: str = Field(pattern=r"^[A-Za-z0-9_.:/=+@-]{1,256}$", description="Cost-allocation tag value.")
    environments: list[str] = Field(min_length=1)
    state: Literal["active", "stale"] = Field(
        "active", description="stale: offboarded in every environment (platform offboard-team)."
    )
    offboarded_in: list[str] = Field(
        default_factory=list,
        description="Environments where the team is offboarded while it stays active in the others.",
    )

    def active_in(self, env: str) -> bool:
        """Whether the team is active in ``env``: not stale, and not offboarded there."""
        return self.state == "active" and env not in self.offboarded_in

    @model_validator(mode="after")
    def _consistent(self) -> Team:
        emails = [m.email for m in self.members]
        repeated = sorted({e for e in emails if emails.count(e) > 1})
        if repeated:
            raise _fail("members", f"members listed more than once: {', '.join(repeated)}", "members")
        groups = [g.name for g in self.groups]
        repeated = sorted({g for g in groups if groups.count(g) > 1})
        if repeated:
            raise _fail("groups", f"groups listed more than once: {', '.join(repeated)}", "groups")
        envs = self.environments
        repeated = sorted({e for e in envs if envs.count(e) > 1})
        if repeated:
            raise _fail("environments", f"environments listed more than once: {', '.join(repeated)}", "environments")
        strays = [e for e in self.offboarded_in if e not in envs]
        if strays:
            raise _fail("offboarded_in", f"not among the team's environments: {', '.join(strays)}", "offboarded_in")
        for what in ("cpu", "memory"):
            limit = getattr(self.container_defaults, f"{what}_limit")
            if quantity_value(limit) > quantity_value(getattr(self.quotas, what)):
                raise _fail(
                    "quota",
                    f"{what}_limit {limit} is above the team's {what} quota {getattr(self.quotas, what)}",
                    f"container_defaults.{what}_limit",
                )
        return self
