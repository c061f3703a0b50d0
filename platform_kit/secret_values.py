"""Turn a render's ``secrets.yaml`` (where each value lives) into Kubernetes Secret objects, at apply time.

The render never holds a secret value; this is the one place values are read. It runs when the
CLI applies the platform: each key comes from AWS Secrets Manager (by name or ARN, optionally one
key of a JSON secret), from an environment variable (CI), from a random value generated once and
kept while the Secret exists (in-cluster-only passwords), or is a non-secret literal. The Secrets
are returned in memory for server-side apply; nothing is written to disk or logged, and errors
name the reference, never a value.

Why not External Secrets: it adds an operator with its own IRSA role, CRDs and upgrade cycle to
every cluster, for values the CLI already reads with the credentials it applies with. Rotation is
"put the new value, run the apply again". Teams that run External Secrets can point it at the same
Secrets Manager entries, which ``secrets.yaml`` lists.
"""

from __future__ import annotations

import json
import os
import secrets as _random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from platform_kit.errors import BadInput, OperationFailed

MANAGED_BY = {"app.kubernetes.io/managed-by": "platform-kit"}
SOURCE_ANNOTATION = "platform-kit.io/value-sources"
GENERATED_LENGTH = 32

# (namespace, name) -> the Secret's current string data, or None when it does not exist yet.
ExistingLookup = Callable[[str, str], Mapping[str, str] | None]


def load_specs(build_dir: Path) -> list[dict[str, Any]]:
    """The ``secrets`` list of ``build_dir/secrets.yaml`` (written by ``platform render``)."""
    path = Path(build_dir) / "secrets.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise BadInput(f"{path} not found", hint="run: platform render --env ENV") from None
    specs = data.get("secrets") if isinstance(data, dict) else None
    if not isinstance(specs, list):
        raise BadInput(f"{path}: expected a top-level 'secrets' list")
    return specs


def _describe(source: Mapping[str, Any]) -> str:
    if "aws_secretsmanager" in source:
        key = f" (key {source['key']})" if "key" in source else ""
        return f"secretsmanager:{source['aws_secretsmanager']}{key}"
    if "env" in source:
        return f"env:{source['env']}"
    return "generated" if "generate" in source else "literal"


class _SecretsManager:
    """GetSecretValue once per secret; errors as one line naming the secret, never its value."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.cache: dict[str, str] = {}

    def value(self, secret_id: str, key: str | None, where: str) -> str:
        if secret_id not in self.cache:
            from botocore.exceptions import ClientError

            try:
                response = self.client.get_secret_value(SecretId=secret_id)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                message = exc.response.get("Error", {}).get("Message", "")
                if code == "ResourceNotFoundException" and "AWSCURRENT" in message:
                    raise OperationFailed(
                        f"{where}: Secrets Manager secret {secret_id} has no value yet",
                        hint=f"put its value (Secrets Manager console or put-secret-value on {secret_id})",
                    ) from None
                if code == "ResourceNotFoundException":
                    raise OperationFailed(f"{where}: Secrets Manager secret {secret_id} does not exist") from None
                if code in ("AccessDeniedException", "AccessDenied"):
                    raise OperationFailed(f"{where}: not allowed to read Secrets Manager secret {secret_id}") from None
                raise
            if "SecretString" not in response:
                raise OperationFailed(f"{where}: Secrets Manager secret {secret_id} is binary; a string is expected")
            self.cache[secret_id] = response["SecretString"]
        text = self.cache[secret_id]
        if key is None:
            return text
        try:
            document = json.loads(text)
        except ValueError:
            raise OperationFailed(
                f"{where}: Secrets Manager secret {secret_id} is not JSON, so it has no key '{key}'"
            ) from None
        if not isinstance(document, dict) or key not in document:
            raise OperationFailed(f"{where}: Secrets Manager secret {secret_id} has no key '{key}'")
        return str(document[key])


def read_reference(
    ref: Any, secretsmanager: Callable[[], Any], *, where: str, environ: Mapping[str, str] | None = None
) -> str:
    """One value from a config secret reference (``SecretRef``: ``aws_secretsmanager`` [+ ``key``] or
    ``env``); ``secretsmanager`` makes the boto3 client, only when it is needed. Errors name the
    reference, never a value."""
    environ = os.environ if environ is None else environ
    if ref.env is not None:
        if not environ.get(ref.env):
            raise BadInput(f"{where}: environment variable {ref.env} is not set")
        return environ[ref.env]
    return _SecretsManager(secretsmanager()).value(str(ref.aws_secretsmanager), ref.key, where)


def resolve(
    specs: list[Mapping[str, Any]],
    secretsmanager: Any,
    *,
    environ: Mapping[str, str] | None = None,
    existing: ExistingLookup | None = None,
) -> list[dict[str, Any]]:
    """Kubernetes Secret objects for ``specs``; ``secretsmanager`` is a boto3 client (used only if needed)."""
    environ = os.environ if environ is None else environ
    store = _SecretsManager(secretsmanager)
    objects: list[dict[str, Any]] = []
    for spec in specs:
        namespace, name = str(spec["namespace"]), str(spec["name"])
        current = existing(namespace, name) if existing is not None else None
        data: dict[str, str] = {}
        sources: dict[str, str] = {}
        for key, source in sorted((spec.get("data") or {}).items()):
            where = f"Secret {namespace}/{name} key {key}"
            if "aws_secretsmanager" in source:
                value = store.value(str(source["aws_secretsmanager"]), source.get("key"), where)
            elif "env" in source:
                variable = str(source["env"])
                if variable not in environ:
                    raise OperationFailed(f"{where}: environment variable {variable} is not set")
                value = environ[variable]
            elif "generate" in source:
                value = (current or {}).get(key) or _random.token_urlsafe(GENERATED_LENGTH)[:GENERATED_LENGTH]
            elif "literal" in source:
                value = str(source["literal"])
            else:
                raise BadInput(f"secrets.yaml: {where}: no source (aws_secretsmanager, env, generate or literal)")
            data[key] = value
            sources[key] = _describe(source)
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": dict(MANAGED_BY),
                    # Where each value came from (never the value), for whoever debugs the cluster.
                    "annotations": {SOURCE_ANNOTATION: json.dumps(sources, sort_keys=True)},
                },
                "stringData": data,
            }
        )
    return objects
