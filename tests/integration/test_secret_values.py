"""Secrets by reference: a render's secrets.yaml resolved against Secrets Manager (moto), env vars and generation."""

from __future__ import annotations

import json

import boto3
import pytest

from platform_kit import secret_values
from platform_kit.errors import BadInput, OperationFailed


@pytest.fixture()
def sm(moto_endpoint: str):
    return boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _spec(**data) -> dict:
    return {"namespace": "auth", "name": "dex-secrets", "data": data}


def test_values_come_from_secrets_manager_env_generation_and_literals(sm, request) -> None:
    plain = sm.create_secret(Name=f"{request.node.name}/client", SecretString="s3cr3t-client")["ARN"]
    login = sm.create_secret(
        Name=f"{request.node.name}/rds", SecretString=json.dumps({"username": "kfp", "password": "pw-1"})
    )
    specs = [
        _spec(
            OIDC_CLIENT_SECRET={"aws_secretsmanager": plain},
            DEX_OKTA_CLIENT_SECRET={"env": "OKTA_SECRET"},
            DB_USER={"aws_secretsmanager": login["Name"], "key": "username"},
            DB_PASSWORD={"aws_secretsmanager": login["ARN"], "key": "password"},
            ROOT={"generate": "random"},
            USER={"literal": "root"},
        )
    ]
    (secret,) = secret_values.resolve(specs, sm, environ={"OKTA_SECRET": "from-env"})
    assert secret["kind"] == "Secret" and secret["metadata"] == {
        "name": "dex-secrets",
        "namespace": "auth",
        "labels": {"app.kubernetes.io/managed-by": "platform-kit"},
        "annotations": secret["metadata"]["annotations"],
    }
    data = secret["stringData"]
    assert data["OIDC_CLIENT_SECRET"] == "s3cr3t-client"
    assert data["DEX_OKTA_CLIENT_SECRET"] == "from-env"
    assert (data["DB_USER"], data["DB_PASSWORD"]) == ("kfp", "pw-1")
    assert data["USER"] == "root" and len(data["ROOT"]) == secret_values.GENERATED_LENGTH
    sources = json.loads(secret["metadata"]["annotations"][secret_values.SOURCE_ANNOTATION])
    assert sources["DB_PASSWORD"] == f"secretsmanager:{login['ARN']} (key password)"
    assert "s3cr3t" not in json.dumps(secret["metadata"])  # where it came from, never what it is


def test_a_generated_value_is_kept_once_the_secret_exists(sm) -> None:
    specs = [_spec(ROOT={"generate": "random"})]
    first = secret_values.resolve(specs, sm)[0]["stringData"]["ROOT"]
    again = secret_values.resolve(specs, sm, existing=lambda ns, name: {"ROOT": first})[0]["stringData"]["ROOT"]
    fresh = secret_values.resolve(specs, sm)[0]["stringData"]["ROOT"]
    assert again == first and fresh != first


def test_a_secret_without_a_value_names_the_secret_and_not_a_value(sm, request) -> None:
    empty = sm.create_secret(Name=f"{request.node.name}/empty")["ARN"]  # as Terraform leaves connector secrets
    with pytest.raises(OperationFailed, match=r"Secret auth/dex-secrets key K: .* has no value yet"):
        secret_values.resolve([_spec(K={"aws_secretsmanager": empty})], sm)
    with pytest.raises(OperationFailed, match="does not exist"):
        secret_values.resolve([_spec(K={"aws_secretsmanager": f"{request.node.name}/missing"})], sm)


def test_a_missing_json_key_or_env_var_is_one_clear_error(sm, request) -> None:
    arn = sm.create_secret(Name=f"{request.node.name}/json", SecretString=json.dumps({"a": "hidden-value"}))["ARN"]
    with pytest.raises(OperationFailed, match="has no key 'b'") as caught:
        secret_values.resolve([_spec(K={"aws_secretsmanager": arn, "key": "b"})], sm)
    assert "hidden-value" not in str(caught.value)
    plain = sm.create_secret(Name=f"{request.node.name}/plain", SecretString="hidden-value")["ARN"]
    with pytest.raises(OperationFailed, match="is not JSON") as caught:
        secret_values.resolve([_spec(K={"aws_secretsmanager": plain, "key": "b"})], sm)
    assert "hidden-value" not in str(caught.value)
    with pytest.raises(OperationFailed, match="environment variable NOPE is not set"):
        secret_values.resolve([_spec(K={"env": "NOPE"})], sm, environ={})


def test_the_render_secrets_file_resolves_end_to_end(sm, tmp_path, request) -> None:
    """secrets.yaml as `platform render` writes it for the sandbox, with its references created in moto."""
    from conftest import REPO_ROOT

    specs = secret_values.load_specs(REPO_ROOT / "tests" / "golden" / "sandbox")
    names = {(s["namespace"], s["name"]) for s in specs}
    assert names == {
        ("auth", "dex-secrets"),
        ("oauth2-proxy", "oauth2-proxy-credentials"),
        ("kubeflow", "mysql-secret"),
    }
    # Point the Secrets Manager references at secrets that exist in this moto.
    created: dict[str, str] = {}
    for spec in specs:
        for source in spec["data"].values():
            ref = source.get("aws_secretsmanager")
            if ref and ref not in created:
                created[ref] = sm.create_secret(Name=f"{request.node.name}/{len(created)}", SecretString="v")["ARN"]
            if ref:
                source["aws_secretsmanager"] = created[ref]
    objects = secret_values.resolve(specs, sm, environ={"SANDBOX_OIDC_CLIENT_SECRET": "x"})
    assert [o["metadata"]["name"] for o in objects] == [s["name"] for s in specs]
    assert all(o["stringData"] for o in objects)
    with pytest.raises(BadInput, match="not found"):
        secret_values.load_specs(tmp_path)
