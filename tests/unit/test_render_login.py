"""Enterprise login values (pure): Dex config, oauth2-proxy config, and the Secrets they read by reference."""

from __future__ import annotations

import re
import tomllib

import pytest
from conftest import EXAMPLE_CONFIG

from platform_kit.config.models import (
    GithubConnector,
    GithubOrg,
    LdapConnector,
    LdapGroupSearch,
    LdapSearch,
    MicrosoftConnector,
    OidcConnector,
    SamlConnector,
    SecretRef,
)
from platform_kit.config.validate import load_platform
from platform_kit.render import login

PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


@pytest.fixture(scope="module")
def loaded():
    return load_platform(EXAMPLE_CONFIG)


def _env(loaded, name: str):
    return loaded.platform.model_copy(deep=True).environments[name]


def _all_connectors():
    secret = SecretRef(aws_secretsmanager="platform/x")
    return [
        OidcConnector(
            type="oidc",
            id="okta",
            name="Okta",
            issuer="https://idp.corp.example/oauth2/default",
            client_id="cid",
            client_secret=secret,
            end_session_url="https://idp.corp.example/logout",
        ),
        LdapConnector(
            type="ldap",
            id="corp-ldap",
            name="LDAP",
            host="ldap.corp.example:636",
            bind_dn="cn=svc",
            bind_password=SecretRef(env="LDAP_PW"),
            user_search=LdapSearch(base_dn="ou=people"),
            group_search=LdapGroupSearch(base_dn="ou=groups"),
        ),
        SamlConnector(type="saml", id="adfs", name="ADFS", sso_url="https://adfs.corp.example/sso", ca_pem=PEM),
        GithubConnector(
            type="github",
            id="gh",
            name="GitHub",
            client_id="gh-id",
            client_secret=secret,
            orgs=[GithubOrg(name="acme")],
        ),
        MicrosoftConnector(
            type="microsoft", id="entra", name="Entra", tenant="corp.example", client_id="ms", client_secret=secret
        ),
    ]


def test_dex_has_no_password_db_no_static_users_and_the_public_issuer(loaded) -> None:
    env = _env(loaded, "sandbox")
    config = login.dex_config(env)
    assert config["enablePasswordDB"] is False
    assert "staticPasswords" not in config
    assert config["issuer"] == "https://kubeflow.sandbox.corp.example/dex"
    (client,) = config["staticClients"]
    assert client["secretEnv"] == login.CLIENT_SECRET_ENV and "secret" not in client
    assert client["redirectURIs"] == ["https://kubeflow.sandbox.corp.example/oauth2/callback"]


def test_every_connector_type_renders_with_secrets_as_env_references(loaded) -> None:
    env = _env(loaded, "sandbox")
    env.identity.connectors = _all_connectors()
    connectors = {c["id"]: c for c in login.dex_config(env)["connectors"]}
    assert [c["type"] for c in connectors.values()] == ["oidc", "ldap", "saml", "github", "microsoft"]
    assert connectors["okta"]["config"]["clientSecret"] == "$DEX_OKTA_CLIENT_SECRET"
    assert connectors["corp-ldap"]["config"]["bindPW"] == "$DEX_CORP_LDAP_BIND_PASSWORD"
    assert connectors["corp-ldap"]["config"]["insecureNoSSL"] is False
    assert connectors["gh"]["config"]["clientSecret"] == "$DEX_GH_CLIENT_SECRET"
    assert connectors["entra"]["config"]["clientSecret"] == "$DEX_ENTRA_CLIENT_SECRET"
    assert connectors["adfs"]["config"]["caData"]  # a public CA, base64
    # Every $VAR a connector uses is provided by the dex-secrets Secret.
    (dex_secret, _) = login.secret_specs(env, "arn:client", "arn:cookie")
    used = set(re.findall(r"\$([A-Z_][A-Z0-9_]*)", login.dex_config_text(env)))
    assert used <= set(dex_secret.data), used - set(dex_secret.data)
    assert dex_secret.data["DEX_CORP_LDAP_BIND_PASSWORD"].env == "LDAP_PW"
    assert dex_secret.data["DEX_OKTA_CLIENT_SECRET"].aws_secretsmanager == "platform/x"


def test_groups_are_requested_from_the_idp(loaded) -> None:
    env = _env(loaded, "sandbox")
    (oidc,) = login.dex_config(env)["connectors"]
    assert "groups" in oidc["config"]["scopes"]
    assert oidc["config"]["insecureEnableGroups"] is True


def _proxy(loaded, env_name: str, env=None) -> dict:
    cfg = loaded.platform
    env = env or cfg.environments[env_name]
    return tomllib.loads(login.oauth2_proxy_config(cfg, env))


def test_oauth2_proxy_secure_cookies_https_and_groups_and_domains_from_config(loaded) -> None:
    proxy = _proxy(loaded, "sandbox")
    assert proxy["cookie_secure"] is True and proxy["cookie_httponly"] is True
    assert proxy["redirect_url"].startswith("https://kubeflow.sandbox.corp.example/")
    assert proxy["oidc_issuer_url"] == "https://kubeflow.sandbox.corp.example/dex"
    assert proxy["email_domains"] == ["corp.example"]
    # Default: no group restriction (people listed by email only must be able to sign in).
    assert proxy["allowed_groups"] == []
    assert not any(k for k in proxy if "secret" in k)


def test_login_groups_from_config(loaded) -> None:
    env = _env(loaded, "sandbox")
    env.identity.login_groups = ["ml-staff", "all-ml", "ml-staff"]
    assert _proxy(loaded, "sandbox", env)["allowed_groups"] == ["all-ml", "ml-staff"]


def test_logout_goes_to_the_idp_end_session_url(loaded) -> None:
    dev = _env(loaded, "dev")
    assert (
        login.logout_url(dev) == "/oauth2/sign_out?rd=https%3A%2F%2Fcorp.okta.example%2Foauth2%2Fdefault%2Fv1%2Flogout"
    )
    assert "corp.okta.example" in _proxy(loaded, "dev")["whitelist_domains"]
    assert login.logout_url(_env(loaded, "sandbox")) == "/oauth2/sign_out"  # no end-session URL configured


def test_secret_specs_hold_references_only(loaded) -> None:
    specs = login.secret_specs(_env(loaded, "sandbox"), "arn:client", "arn:cookie")
    assert [(s.namespace, s.name) for s in specs] == [
        ("auth", "dex-secrets"),
        ("oauth2-proxy", "oauth2-proxy-credentials"),
    ]
    proxy = specs[1].as_dict()["data"]
    assert proxy == {
        "client-secret": {"aws_secretsmanager": "arn:client"},
        "cookie-secret": {"aws_secretsmanager": "arn:cookie"},
    }
    # The sandbox connector's secret is an env var reference, carried as such.
    assert specs[0].as_dict()["data"]["DEX_CORP_SSO_CLIENT_SECRET"] == {"env": "SANDBOX_OIDC_CLIENT_SECRET"}
