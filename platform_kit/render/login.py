"""Enterprise login values: the Dex configuration, the oauth2-proxy configuration and the Secrets they read.

Pure functions of the platform config. The static half of the login layer (removing upstream's
demo Secrets, pointing the workloads at the kit's Secrets) is the Kustomize component
``manifests/components/enterprise-login``.

How the pieces meet:

* People reach ``https://<hostname>/``; oauth2-proxy (Istio ext-authz) sends them to Dex at
  ``https://<hostname>/dex``, Dex to the corporate IdP through one of the configured connectors.
* Dex's issuer is the public URL, so the ID tokens it signs carry ``iss: https://<hostname>/dex``;
  the gateway's RequestAuthentication trusts that issuer and fetches keys in-cluster.
* Secret values never appear here: Dex expands ``$VARS`` in its config from the ``dex-secrets``
  Secret, and oauth2-proxy reads ``oauth2-proxy-credentials``. ``secret_specs`` says where each
  value comes from; the CLI resolves them at apply time.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from platform_kit.config.models import (
    Environment,
    GithubConnector,
    LdapConnector,
    MicrosoftConnector,
    OidcConnector,
    PlatformConfig,
    SamlConnector,
    SecretRef,
)

DEX_NAMESPACE = "auth"
DEX_IN_CLUSTER = "http://dex.auth.svc.cluster.local:5556/dex"
DEX_JWKS_URI = f"{DEX_IN_CLUSTER}/keys"
OAUTH2_PROXY_NAMESPACE = "oauth2-proxy"
# The OIDC client Dex knows oauth2-proxy by. Not a secret; upstream kept it in a Secret.
CLIENT_ID = "kubeflow-oidc-authservice"
DEX_SECRET = "dex-secrets"
OAUTH2_PROXY_SECRET = "oauth2-proxy-credentials"
CLIENT_SECRET_ENV = "OIDC_CLIENT_SECRET"


def public_url(env: Environment) -> str:
    return f"https://{env.kubeflow.hostname}"


def dex_issuer(env: Environment) -> str:
    return f"{public_url(env)}/dex"


# --- Secrets by reference -------------------------------------------------------------------


@dataclass(frozen=True)
class ValueSource:
    """Where one key of a Kubernetes Secret comes from: Secrets Manager, an env var, a random value the
    CLI generates once (kept while the Secret exists; for in-cluster-only passwords), or a non-secret literal."""

    aws_secretsmanager: str | None = None
    json_key: str | None = None
    env: str | None = None
    generate: bool = False
    literal: str | None = None

    @classmethod
    def of(cls, ref: SecretRef) -> ValueSource:
        return cls(aws_secretsmanager=ref.aws_secretsmanager, json_key=ref.key, env=ref.env)

    def as_dict(self) -> dict[str, str]:
        if self.aws_secretsmanager is not None:
            out = {"aws_secretsmanager": self.aws_secretsmanager}
            if self.json_key is not None:
                out["key"] = self.json_key
            return out
        if self.env is not None:
            return {"env": self.env}
        if self.generate:
            return {"generate": "random, 32 characters, kept once created"}
        return {"literal": self.literal or ""}


@dataclass(frozen=True)
class SecretSpec:
    """A Kubernetes Secret the CLI creates at apply time; the render holds only this description."""

    namespace: str
    name: str
    data: dict[str, ValueSource] = field(default_factory=dict)
    purpose: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "purpose": self.purpose,
            "data": {key: self.data[key].as_dict() for key in sorted(self.data)},
        }


def connector_env(connector_id: str, what: str) -> str:
    """The environment variable Dex reads a connector's secret from, e.g. DEX_OKTA_CLIENT_SECRET."""
    return f"DEX_{connector_id.upper().replace('-', '_')}_{what}"


def _connector_secrets(env: Environment) -> dict[str, ValueSource]:
    out: dict[str, ValueSource] = {}
    for connector in env.identity.connectors:
        if isinstance(connector, LdapConnector):
            out[connector_env(connector.id, "BIND_PASSWORD")] = ValueSource.of(connector.bind_password)
        elif isinstance(connector, OidcConnector | GithubConnector | MicrosoftConnector):
            out[connector_env(connector.id, "CLIENT_SECRET")] = ValueSource.of(connector.client_secret)
    return out


def secret_specs(env: Environment, client_secret_arn: str, cookie_secret_arn: str) -> list[SecretSpec]:
    """The login Secrets: Dex's (client secret + connector secrets) and oauth2-proxy's."""
    client_secret = ValueSource(aws_secretsmanager=client_secret_arn)
    return [
        SecretSpec(
            DEX_NAMESPACE,
            DEX_SECRET,
            {CLIENT_SECRET_ENV: client_secret, **_connector_secrets(env)},
            "Dex: the oauth2-proxy client secret and each connector's secret, as environment variables",
        ),
        SecretSpec(
            OAUTH2_PROXY_NAMESPACE,
            OAUTH2_PROXY_SECRET,
            {"client-secret": client_secret, "cookie-secret": ValueSource(aws_secretsmanager=cookie_secret_arn)},
            "oauth2-proxy: its OIDC client secret (shared with Dex) and cookie secret",
        ),
    ]


# --- Dex ------------------------------------------------------------------------------------


def _connector(connector: Any, env: Environment) -> dict[str, Any]:
    callback = f"{dex_issuer(env)}/callback"
    base = {"type": connector.type, "id": connector.id, "name": connector.name}
    if isinstance(connector, OidcConnector):
        config: dict[str, Any] = {
            "issuer": str(connector.issuer),
            "clientID": connector.client_id,
            "clientSecret": "$" + connector_env(connector.id, "CLIENT_SECRET"),
            "redirectURI": callback,
            "scopes": list(connector.scopes),
            "insecureEnableGroups": True,  # Dex's name for "pass the IdP's groups claim through"
            "getUserInfo": True,
            "userNameKey": "email",
            "claimMapping": {"groups": connector.groups_claim},
        }
    elif isinstance(connector, LdapConnector):
        config = {
            "host": connector.host,
            "insecureNoSSL": False,
            "startTLS": connector.start_tls,
            "bindDN": connector.bind_dn,
            "bindPW": "$" + connector_env(connector.id, "BIND_PASSWORD"),
            "usernamePrompt": "Email or username",
            **({"rootCAData": base64.b64encode(connector.ca_pem.encode()).decode()} if connector.ca_pem else {}),
            "userSearch": {
                "baseDN": connector.user_search.base_dn,
                "filter": connector.user_search.filter,
                "username": connector.user_search.username_attr,
                "idAttr": connector.user_search.id_attr,
                "emailAttr": connector.user_search.email_attr,
                "nameAttr": connector.user_search.name_attr,
            },
            "groupSearch": {
                "baseDN": connector.group_search.base_dn,
                "filter": connector.group_search.filter,
                "userMatchers": [
                    {"userAttr": connector.group_search.user_attr, "groupAttr": connector.group_search.group_attr}
                ],
                "nameAttr": connector.group_search.name_attr,
            },
        }
    elif isinstance(connector, SamlConnector):
        config = {
            "ssoURL": str(connector.sso_url),
            "caData": base64.b64encode(connector.ca_pem.encode()).decode(),  # a public certificate
            "redirectURI": callback,
            "usernameAttr": connector.username_attr,
            "emailAttr": connector.email_attr,
            "groupsAttr": connector.groups_attr,
        }
        if connector.entity_issuer:
            config["entityIssuer"] = connector.entity_issuer
    elif isinstance(connector, GithubConnector):
        config = {
            "clientID": connector.client_id,
            "clientSecret": "$" + connector_env(connector.id, "CLIENT_SECRET"),
            "redirectURI": callback,
            "orgs": [{"name": org.name, **({"teams": list(org.teams)} if org.teams else {})} for org in connector.orgs],
            "teamNameField": connector.team_name_field,
            "loadAllGroups": False,
        }
    elif isinstance(connector, MicrosoftConnector):
        config = {
            "clientID": connector.client_id,
            "clientSecret": "$" + connector_env(connector.id, "CLIENT_SECRET"),
            "redirectURI": callback,
            "tenant": connector.tenant,
            "groups": list(connector.groups),
            "onlySecurityGroups": connector.only_security_groups,
        }
    else:  # pragma: no cover - the config model admits only the types above
        raise TypeError(f"unknown connector type {connector.type}")
    return {**base, "config": config}


def dex_config(env: Environment) -> dict[str, Any]:
    """Dex's config.yaml: public issuer, connectors from config, no password database, no static users."""
    return {
        "issuer": dex_issuer(env),
        "storage": {"type": "kubernetes", "config": {"inCluster": True}},
        "web": {"http": "0.0.0.0:5556"},
        "logger": {"level": "info", "format": "json"},
        "oauth2": {"skipApprovalScreen": True, "responseTypes": ["code"]},
        "enablePasswordDB": False,
        "staticClients": [
            {
                "id": CLIENT_ID,
                "name": "Kubeflow",
                "redirectURIs": [f"{public_url(env)}/oauth2/callback"],
                "secretEnv": CLIENT_SECRET_ENV,
            }
        ],
        "connectors": [_connector(c, env) for c in env.identity.connectors],
    }


def dex_config_text(env: Environment) -> str:
    import yaml

    return yaml.safe_dump(dex_config(env), sort_keys=False, default_flow_style=False, width=1000)


# --- oauth2-proxy ---------------------------------------------------------------------------


def login_groups(env: Environment) -> list[str]:
    """Who may sign in at all: ``identity.login_groups``; empty (the default) means anyone the IdP
    authenticates from the organisation's email domains, with namespaces guarded by each team's
    RoleBindings and AuthorizationPolicies. A default built from the teams' groups would lock out
    people who are listed by email only."""
    return sorted(set(env.identity.login_groups or []))


def end_session_url(env: Environment) -> str | None:
    """The IdP's end-session URL: the first connector that names one."""
    for connector in env.identity.connectors:
        url = getattr(connector, "end_session_url", None)
        if url:
            return str(url)
    return None


def logout_url(env: Environment) -> str:
    """Where the dashboard's logout button goes: clear our cookie, then end the IdP session."""
    idp = end_session_url(env)
    return "/oauth2/sign_out" + (f"?rd={quote(idp, safe='')}" if idp else "")


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def oauth2_proxy_config(cfg: PlatformConfig, env: Environment) -> str:
    """oauth2_proxy.cfg (TOML): HTTPS, secure cookies, allowed groups and email domains from config."""
    host = env.kubeflow.hostname
    whitelist = [host]
    idp = end_session_url(env)
    if idp:
        whitelist.append(urlsplit(idp).netloc)
    settings: list[tuple[str, Any]] = [
        ("provider", "oidc"),
        ("provider_display_name", cfg.organisation.display_name),
        ("oidc_issuer_url", dex_issuer(env)),
        # Discovery would hand browsers in-cluster URLs; the browser goes to the public Dex, the
        # proxy redeems codes and fetches keys in-cluster.
        ("skip_oidc_discovery", True),
        ("login_url", f"{dex_issuer(env)}/auth"),
        ("redeem_url", f"{DEX_IN_CLUSTER}/token"),
        ("oidc_jwks_url", DEX_JWKS_URI),
        ("scope", "openid profile email groups"),
        ("email_domains", sorted(cfg.organisation.email_domains)),
        ("allowed_groups", login_groups(env)),
        ("oidc_groups_claim", "groups"),
        ("upstreams", ["static://200"]),  # ext-authz: answer "allowed" and let Istio route
        ("skip_auth_routes", ["^/dex/"]),
        ("api_routes", ["/api/", "/apis/", "^/ml_metadata"]),
        ("redirect_url", f"{public_url(env)}/oauth2/callback"),
        ("whitelist_domains", whitelist),
        ("cookie_name", "oauth2_proxy_kubeflow"),
        ("cookie_domains", [host]),
        ("cookie_secure", True),
        ("cookie_httponly", True),
        ("cookie_samesite", "lax"),
        # Dex ID tokens live 24h; a longer cookie would outlive the JWT Istio checks.
        ("cookie_expire", "24h"),
        ("cookie_refresh", "0"),
        ("code_challenge_method", "S256"),
        ("prompt", "none"),
        ("set_authorization_header", True),
        ("set_xauthrequest", True),
        ("skip_provider_button", True),
    ]
    lines = ["# Generated by platform-kit (platform_kit.render.login); do not edit."]
    for key, value in settings:
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list):
            text = _toml_list(value)
        else:
            text = json.dumps(value)
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"
