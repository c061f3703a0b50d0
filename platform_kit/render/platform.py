"""The platform build directory: upstream Kubeflow + the kit's components + values from config and outputs.

``platform render`` writes, per environment::

    build/<env>/
      kustomization.yaml   upstream paths (or pinned git URLs), our components, the value patches
      values/*.yaml        patches and objects whose content comes from platform.yaml and the
                           platform stack's outputs (issuers, hostnames, bucket, role ARNs)
      secrets.yaml         the Secrets the CLI creates at apply time and where each value comes
                           from (Secrets Manager ARN or env var); never a value

Everything here is pure except ``write_files``, which only writes files (and only changed ones).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from platform_kit.config.models import Environment, PlatformConfig
from platform_kit.errors import OperationFailed, PlatformError
from platform_kit.files import write_if_changed
from platform_kit.render import kustomize, login

MANAGED_BY = {"app.kubernetes.io/managed-by": "platform-kit"}
KUBEFLOW_NAMESPACE = "kubeflow"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
MINIO_SECRET = "mlpipeline-minio-artifact"
# Upstream service accounts that reach the artifact bucket (the Terraform module's defaults trust
# the same names: terraform/modules/kubeflow-aws, kfp_service_accounts / argo_service_accounts).
KFP_SERVICE_ACCOUNTS = ("ml-pipeline", "ml-pipeline-ui", "ml-pipeline-visualizationserver")
ARGO_SERVICE_ACCOUNTS = ("argo", "pipeline-runner")
INGRESS_TLS_SECRET = "kubeflow-ingress-tls"
# Kustomize appends a 10-character content hash to generated ConfigMaps and Secrets.
_HASHED = "(-[a-z0-9]{10})?"


@dataclass(frozen=True)
class PlatformOutputs:
    """What the render needs from the platform stack (``terraform output``)."""

    region: str
    cluster_name: str
    oidc_issuer_url: str
    artifact_bucket_name: str
    kfp_role_arn: str
    argo_role_arn: str
    oauth2_proxy_client_secret_arn: str
    oauth2_proxy_cookie_secret_arn: str
    rds_endpoint: str | None = None
    rds_master_secret_arn: str | None = None

    @classmethod
    def from_outputs(
        cls, outputs: dict[str, Any], *, source: str, env: str, error: type[PlatformError] = OperationFailed
    ) -> PlatformOutputs:
        """From ``terraform output -json`` or a plain map; a missing output raises ``error`` naming it."""
        values: dict[str, Any] = {}
        for name, spec in cls.__dataclass_fields__.items():
            value = outputs.get(name)
            if isinstance(value, dict) and "value" in value:  # `terraform output -json` shape
                value = value["value"]
            optional = spec.default is None
            if value is None and not optional:
                raise error(
                    f"{source}: the platform stack of '{env}' has no output '{name}'",
                    hint=f"run: platform infra apply --env {env} --stack platform",
                )
            values[name] = None if value is None else str(value)
        return cls(**values)


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, so generated configs read like the files they are."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def dump_all(docs: list[Any]) -> str:
    return yaml.dump_all(docs, Dumper=_BlockDumper, sort_keys=True, width=1000, default_flow_style=False)


# --- value patches --------------------------------------------------------------------------


def _json_patch(target: dict[str, str], ops: list[dict[str, Any]], why: str) -> dict[str, Any]:
    """A JSON 6902 patch and its target; ``why`` becomes the comment at the top of its file."""
    return {"why": why, "target": target, "ops": ops}


def _sa(name: str, role_arn: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": KUBEFLOW_NAMESPACE, "annotations": {IRSA_ANNOTATION: role_arn}},
    }


def _env_patch(deployment: str, container: str, env: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": deployment, "namespace": KUBEFLOW_NAMESPACE},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": container, "env": [{"name": k, "value": v, "valueFrom": None} for k, v in env.items()]}
                    ]
                }
            }
        },
    }


def s3_endpoint(region: str) -> str:
    return f"s3.{region}.amazonaws.com"


def argo_artifact_repository(out: PlatformOutputs) -> str:
    """Argo's artifact repository: the bucket through the SDK chain (IRSA), one prefix per namespace.

    ``artifacts/<namespace>/`` is the prefix each team role may write (naming.team_artifact_prefixes).
    """
    repo = {
        "archiveLogs": True,
        "s3": {
            "endpoint": s3_endpoint(out.region),
            "bucket": out.artifact_bucket_name,
            "region": out.region,
            "insecure": False,
            "useSDKCreds": True,
            "keyFormat": (
                "artifacts/{{workflow.namespace}}/{{workflow.name}}/{{workflow.creationTimestamp.Y}}/"
                "{{workflow.creationTimestamp.m}}/{{workflow.creationTimestamp.d}}/{{pod.name}}"
            ),
        },
    }
    return yaml.safe_dump(repo, sort_keys=False)


def s3_artifact_patches(out: PlatformOutputs) -> list[dict[str, Any]]:
    """Pipelines and Argo read and write the environment's bucket through IRSA; no object store in the cluster."""
    return [
        *(_sa(name, out.kfp_role_arn) for name in KFP_SERVICE_ACCOUNTS),
        *(_sa(name, out.argo_role_arn) for name in ARGO_SERVICE_ACCOUNTS),
        _env_patch(
            "ml-pipeline",
            "ml-pipeline-api-server",
            {
                "OBJECTSTORECONFIG_HOST": s3_endpoint(out.region),
                "OBJECTSTORECONFIG_PORT": "",
                "OBJECTSTORECONFIG_SECURE": "true",
                "OBJECTSTORECONFIG_REGION": out.region,
            },
        ),
        _env_patch("ml-pipeline-ui", "ml-pipeline-ui", {"AWS_REGION": out.region}),
        _env_patch("kubeflow-pipelines-profile-controller", "profile-controller", {"AWS_REGION": out.region}),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "workflow-controller-configmap", "namespace": KUBEFLOW_NAMESPACE},
            "data": {"artifactRepository": argo_artifact_repository(out)},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "kfp-launcher", "namespace": KUBEFLOW_NAMESPACE},
            "data": {"defaultPipelineRoot": f"s3://{out.artifact_bucket_name}/v2/artifacts/{KUBEFLOW_NAMESPACE}"},
        },
    ]


def value_patches(env: Environment, cfg: PlatformConfig, out: PlatformOutputs) -> dict[str, Any]:
    """File name -> content for ``values/``: strategic-merge patches, JSON patches and new objects.

    Returns ``{"patches": {file: [docs]}, "json": [..], "resources": {file: [objects]}}``.
    """
    patches: dict[str, list[dict[str, Any]]] = {}
    json_patches: dict[str, dict[str, Any]] = {}
    resources: dict[str, list[dict[str, Any]]] = {}

    # Login: Dex's configuration (connectors, public issuer, no password DB, no static users).
    patches["dex-config.yaml"] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "dex", "namespace": login.DEX_NAMESPACE},
            "data": {"config.yaml": login.dex_config_text(env)},
        }
    ]
    json_patches["oauth2-proxy-config.yaml"] = _json_patch(
        {"version": "v1", "kind": "ConfigMap", "namespace": "oauth2-proxy", "name": f"^oauth2-proxy{_HASHED}$"},
        [{"op": "add", "path": "/data/oauth2_proxy.cfg", "value": login.oauth2_proxy_config(cfg, env)}],
        "oauth2-proxy's whole configuration: public issuer, secure cookies, allowed groups and domains",
    )
    json_patches["request-authentication-dex.yaml"] = _json_patch(
        {"group": "security.istio.io", "kind": "RequestAuthentication", "name": "^dex-jwt$"},
        [
            {"op": "add", "path": "/spec/jwtRules/0/issuer", "value": login.dex_issuer(env)},
            {"op": "add", "path": "/spec/jwtRules/0/jwksUri", "value": login.DEX_JWKS_URI},
        ],
        "ID tokens carry the public Dex issuer; the gateway fetches Dex's keys in-cluster",
    )
    json_patches["request-authentication-m2m.yaml"] = _json_patch(
        {"group": "security.istio.io", "kind": "RequestAuthentication", "name": "^m2m-token-issuer$"},
        [{"op": "add", "path": "/spec/jwtRules/0/issuer", "value": out.oidc_issuer_url}],
        "machine-to-machine tokens are this cluster's service-account tokens (EKS OIDC issuer)",
    )
    json_patches["profiles-admin.yaml"] = _json_patch(
        {"version": "v1", "kind": "ConfigMap", "namespace": KUBEFLOW_NAMESPACE, "name": f"^profiles-config{_HASHED}$"},
        [{"op": "add", "path": "/data/ADMIN", "value": env.identity.platform_admin}],
        "the profiles controller's and KFAM's cluster admin is the platform admin",
    )
    patches["dashboard-logout.yaml"] = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "centraldashboard", "namespace": KUBEFLOW_NAMESPACE},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "centraldashboard",
                                "env": [{"name": "LOGOUT_URL", "value": login.logout_url(env)}],
                            }
                        ]
                    }
                }
            },
        }
    ]

    # AWS: artifacts in S3 through IRSA (an in-cluster store keeps upstream's wiring).
    install_config: dict[str, str] = {}
    if env.kubeflow.artifact_store == "s3":
        patches["s3-artifacts.yaml"] = s3_artifact_patches(out)
        install_config["bucketName"] = out.artifact_bucket_name
    if env.storage.rds.enabled:
        if not out.rds_endpoint:
            raise OperationFailed(
                "storage.rds.enabled is true but the platform stack has no rds_endpoint output",
                hint="run: platform infra apply --env <env> --stack platform",
            )
        install_config.update({"dbHost": out.rds_endpoint, "mysqlHost": out.rds_endpoint})
    if install_config:
        patches["pipeline-install-config.yaml"] = [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "pipeline-install-config", "namespace": KUBEFLOW_NAMESPACE},
                "data": install_config,
            }
        ]

    # Ingress: an ALB with the ACM certificate in front of the ClusterIP gateway, or cert-manager TLS.
    if env.kubeflow.tls.certificate_arn:
        resources["ingress.yaml"] = [alb_ingress(env)]
    else:
        resources["ingress.yaml"] = [cert_manager_certificate(env)]
        patches["gateway-tls.yaml"] = [gateway_tls(env)]
    return {"patches": patches, "json": json_patches, "resources": resources}


def alb_ingress(env: Environment) -> dict[str, Any]:
    """The AWS Load Balancer Controller's Ingress: HTTPS with the configured certificate, to the gateway."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "kubeflow",
            "namespace": "istio-system",
            "labels": dict(MANAGED_BY),
            "annotations": {
                "alb.ingress.kubernetes.io/scheme": env.kubeflow.load_balancer,
                "alb.ingress.kubernetes.io/target-type": "ip",
                "alb.ingress.kubernetes.io/certificate-arn": str(env.kubeflow.tls.certificate_arn),
                "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP": 80}, {"HTTPS": 443}]',
                "alb.ingress.kubernetes.io/ssl-redirect": "443",
                "alb.ingress.kubernetes.io/ssl-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                "alb.ingress.kubernetes.io/healthcheck-path": "/healthz/ready",
                "alb.ingress.kubernetes.io/healthcheck-port": "15021",
            },
        },
        "spec": {
            "ingressClassName": "alb",
            "rules": [
                {
                    "host": env.kubeflow.hostname,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "istio-ingressgateway", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def cert_manager_certificate(env: Environment) -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": INGRESS_TLS_SECRET, "namespace": "istio-system", "labels": dict(MANAGED_BY)},
        "spec": {
            "secretName": INGRESS_TLS_SECRET,
            "dnsNames": [env.kubeflow.hostname],
            "issuerRef": {"kind": "ClusterIssuer", "name": str(env.kubeflow.tls.cert_manager_issuer)},
        },
    }


def gateway_tls(env: Environment) -> dict[str, Any]:
    """The Kubeflow gateway terminates TLS itself (no ALB) and redirects plain HTTP."""
    return {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "Gateway",
        "metadata": {"name": "kubeflow-gateway", "namespace": KUBEFLOW_NAMESPACE},
        "spec": {
            "servers": [
                {
                    "hosts": [env.kubeflow.hostname],
                    "port": {"name": "https", "number": 443, "protocol": "HTTPS"},
                    "tls": {"mode": "SIMPLE", "credentialName": INGRESS_TLS_SECRET},
                },
                {
                    "hosts": [env.kubeflow.hostname],
                    "port": {"name": "http", "number": 80, "protocol": "HTTP"},
                    "tls": {"httpsRedirect": True},
                },
            ]
        },
    }


# --- Secrets --------------------------------------------------------------------------------


def secret_specs(env: Environment, out: PlatformOutputs) -> list[login.SecretSpec]:
    specs = login.secret_specs(env, out.oauth2_proxy_client_secret_arn, out.oauth2_proxy_cookie_secret_arn)
    if env.storage.rds.enabled and out.rds_master_secret_arn:
        source = {
            "username": login.ValueSource(aws_secretsmanager=out.rds_master_secret_arn, json_key="username"),
            "password": login.ValueSource(aws_secretsmanager=out.rds_master_secret_arn, json_key="password"),
        }
        purpose = "Pipelines' database login: the RDS-managed master secret"
    else:
        # Upstream's in-cluster MySQL runs with an empty root password (MYSQL_ALLOW_EMPTY_PASSWORD);
        # nothing secret here, and only pods in the kubeflow namespace may reach it.
        source = {"username": login.ValueSource(literal="root"), "password": login.ValueSource(literal="")}
        purpose = "Pipelines' database login for the in-cluster MySQL (no password, as upstream)"
    specs.append(login.SecretSpec(KUBEFLOW_NAMESPACE, "mysql-secret", source, purpose))
    if env.kubeflow.artifact_store == "in-cluster":
        # Upstream's object store reads its root keys from this Secret, and the Pipelines profile
        # controller copies them into each team namespace; upstream ships minio/minio123.
        specs.append(
            login.SecretSpec(
                KUBEFLOW_NAMESPACE,
                MINIO_SECRET,
                {"accesskey": login.ValueSource(generate=True), "secretkey": login.ValueSource(generate=True)},
                "the in-cluster object store's keys (upstream ships minio/minio123); never leave the cluster",
            )
        )
    if env.kubeflow.components.katib:
        specs.append(
            login.SecretSpec(
                KUBEFLOW_NAMESPACE,
                "katib-mysql-secrets",
                {"MYSQL_ROOT_PASSWORD": login.ValueSource(generate=True)},
                "Katib's in-cluster MySQL root password (upstream ships 'test'); never leaves the cluster",
            )
        )
    return specs


# --- the kustomization ----------------------------------------------------------------------


def components_dir(project_dir: Path) -> Path:
    """``manifests/components`` beside platform/ (a project), else the kit's own."""
    for candidate in (Path(project_dir) / "manifests" / "components", kustomize.KIT_ROOT / "manifests" / "components"):
        if candidate.is_dir():
            return candidate
    raise OperationFailed(
        "no manifests/components folder beside the config folder",
        hint="run from the platform repository root",
    )


def component_names(env: Environment) -> list[str]:
    names = ["secrets-by-reference", "enterprise-login"]
    if env.kubeflow.artifact_store == "s3":
        names.append("aws-s3-artifacts")
    if env.storage.rds.enabled:
        names.append("aws-rds")
    return names


def kustomization(
    cfg: PlatformConfig, env_name: str, upstream_ref: str, components_rel: str, values: dict[str, Any]
) -> dict[str, Any]:
    env = cfg.environments[env_name]
    doc = kustomize.platform_kustomization(cfg, env_name, upstream_ref)
    doc["resources"] = [*doc["resources"], *(f"values/{name}" for name in sorted(values["resources"]))]
    doc["components"] = [f"{components_rel}/{name}" for name in component_names(env)]
    entries: list[dict[str, Any]] = [{"path": f"values/{name}"} for name in sorted(values["patches"])]
    entries.extend(
        {"path": f"values/{name}", "target": item["target"]} for name, item in sorted(values["json"].items())
    )
    doc["patches"] = entries
    doc["labels"] = [{"pairs": {"platform-kit.io/environment": env_name}, "includeSelectors": False}]
    return doc


@dataclass(frozen=True)
class BuildFiles:
    """Every file of a build directory: relative path -> text."""

    files: dict[str, str]


def build_files(
    cfg: PlatformConfig,
    env_name: str,
    out: PlatformOutputs,
    upstream_ref: str,
    components_rel: str,
) -> BuildFiles:
    env = cfg.environments[env_name]
    values = value_patches(env, cfg, out)
    files: dict[str, str] = {}
    header = "# Generated by platform-kit (platform render); do not edit.\n"
    for name, docs in {**values["patches"], **values["resources"]}.items():
        files[f"values/{name}"] = header + dump_all(docs)
    for name, item in values["json"].items():
        files[f"values/{name}"] = header + f"# {item['why']}\n" + dump_all([item["ops"]])
    files[kustomize.KUSTOMIZATION_FILE] = kustomize.dump(
        kustomization(cfg, env_name, upstream_ref, components_rel, values)
    )
    specs = [s.as_dict() for s in secret_specs(env, out)]
    files["secrets.yaml"] = (
        "# Secrets the kit creates at apply time, and where each value comes from. No values here.\n"
        + yaml.safe_dump({"secrets": specs}, sort_keys=False, width=1000)
    )
    return BuildFiles(files)


def write_files(out_dir: Path, build: BuildFiles, managed: tuple[str, ...] = ("values",)) -> list[Path]:
    """Write the files that changed, remove stale files under ``managed`` folders; return changed paths."""
    out_dir = Path(out_dir)
    changed: list[Path] = []
    for rel, text in sorted(build.files.items()):
        target = out_dir / rel
        if write_if_changed(target, text):
            changed.append(target)
    for folder in managed:
        base = out_dir / folder
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                if path.is_file() and path.relative_to(out_dir).as_posix() not in build.files:
                    path.unlink()
                    changed.append(path)
    return changed


def relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), Path(start).resolve())).as_posix()
