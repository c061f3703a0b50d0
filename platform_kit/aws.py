"""AWS sessions and Terraform provider settings for one environment.

An environment reaches either real AWS (the normal credential chain: env vars, profile, SSO,
instance role) or an emulator at an endpoint URL: the embedded sandbox (``endpoint_url:
sandbox``) or an explicit ``http(s)://`` URL. Against an endpoint the kit uses fixed fake
credentials and an isolated botocore session, so a user's real keys, profile or token are never
sent to a local emulator.

The environment config is read by duck typing: ``env_cfg.aws.region``, ``.account_id``,
``.endpoint_url`` (``None``, ``"sandbox"`` or a URL) and ``.profile``.

boto3 is imported inside functions so that importing this module costs nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from platform_kit.errors import BadInput

SANDBOX = "sandbox"
FAKE_ACCESS_KEY = "testing"
FAKE_SECRET_KEY = "testing"
RETRIES: dict[str, Any] = {"max_attempts": 5, "mode": "standard"}

# Every AWS service the kit's Terraform and Python touch; each gets an endpoint override when the
# environment has an endpoint.
SERVICES: tuple[str, ...] = (
    "s3",
    "sts",
    "iam",
    "ec2",
    "eks",
    "kms",
    "logs",
    "ecr",
    "secretsmanager",
    "rds",
    "sagemaker",
    "batch",
    "dynamodb",
)
# The S3 backend only talks to these.
BACKEND_SERVICES: tuple[str, ...] = ("s3", "sts", "dynamodb", "iam")


@dataclass(frozen=True)
class AwsTarget:
    """Where one environment's AWS calls go, and a session to make them with."""

    session: Any  # boto3.Session
    region: str
    endpoint_url: str | None
    account_id: str | None
    ca_bundle: Path | None = None  # the sandbox's CA; None means the system's trust store

    @property
    def emulated(self) -> bool:
        """True when calls go to an emulator (sandbox or explicit endpoint), not real AWS."""
        return self.endpoint_url is not None

    def client(self, service_name: str, **kwargs: Any) -> Any:
        """A boto3 client for service_name in this environment's region and endpoint."""
        from botocore.config import Config

        options: dict[str, Any] = {"retries": dict(RETRIES)}
        if self.emulated:
            # Emulators on 127.0.0.1 cannot serve bucket-name subdomains.
            options["s3"] = {"addressing_style": "path"}
        config = Config(**options)
        if "config" in kwargs:
            config = config.merge(kwargs.pop("config"))
        kwargs.setdefault("region_name", self.region)
        if self.endpoint_url is not None:
            kwargs.setdefault("endpoint_url", self.endpoint_url)
        if self.ca_bundle is not None:
            kwargs.setdefault("verify", str(self.ca_bundle))
        return self.session.client(service_name, config=config, **kwargs)


def resolve_endpoint(env_cfg: Any, *, state_dir: Path) -> str | None:
    """The environment's endpoint URL: None for real AWS, the sandbox's URL, or an explicit URL.

    Raises OperationFailed (hint: ``platform sandbox start``) for a sandbox environment whose
    sandbox is not running, and BadInput for a value that is neither ``sandbox`` nor a URL.
    """
    raw = getattr(env_cfg.aws, "endpoint_url", None)
    if raw is None or str(raw).strip() == "":
        return None
    value = str(raw).strip()
    if value == SANDBOX:
        from platform_kit import sandbox

        return sandbox.endpoint(state_dir)
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise BadInput(
            f"aws.endpoint_url {value!r} is neither 'sandbox' nor an http(s) URL",
            hint="set aws.endpoint_url to 'sandbox', to a URL like http://127.0.0.1:5000, or remove it",
        )
    return value.rstrip("/")


def session_for(env_cfg: Any, *, state_dir: Path) -> AwsTarget:
    """A boto3 session (wrapped with its region and endpoint) for one environment."""
    aws = env_cfg.aws
    region = str(aws.region)
    endpoint_url = resolve_endpoint(env_cfg, state_dir=state_dir)
    account_id = getattr(aws, "account_id", None)
    if endpoint_url is not None:
        session = emulator_session(region)
    else:
        import boto3

        session = boto3.Session(profile_name=getattr(aws, "profile", None) or None, region_name=region)
    return AwsTarget(
        session=session,
        region=region,
        endpoint_url=endpoint_url,
        account_id=str(account_id) if account_id is not None else None,
        ca_bundle=ca_bundle_for(env_cfg, state_dir=state_dir),
    )


def ca_bundle_for(env_cfg: Any, *, state_dir: Path) -> Path | None:
    """The CA to verify the environment's endpoint against: the sandbox's own, else the system's (None)."""
    if str(getattr(env_cfg.aws, "endpoint_url", None) or "").strip() != SANDBOX:
        return None
    from platform_kit import sandbox

    return sandbox.ca_bundle(state_dir)


def emulator_session(region: str) -> Any:
    """A session with fixed fake keys that ignores the user's profile, config and credential files."""
    import boto3
    import botocore.session

    isolated = botocore.session.Session(
        session_vars={
            # (config file key, env var, default, converter): no env var, no file.
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
    )
    return boto3.Session(
        botocore_session=isolated,
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
        region_name=region,
    )


def terraform_provider_settings(env_cfg: Any, *, state_dir: Path) -> dict[str, Any]:
    """What the generated Terraform ``provider "aws"`` block and S3 backend need for one environment.

    Returns ``{"provider": {...}, "backend": {...}}`` using the argument names of the
    hashicorp/aws provider (v5) and of Terraform's S3 backend (>= 1.6). Real AWS gets region and
    profile only; an endpoint adds per-service endpoints, path-style S3 and the skip_* flags an
    emulator needs, and the fake access keys. Pure data, no I/O beyond reading
    the sandbox's state file.
    """
    aws = env_cfg.aws
    region = str(aws.region)
    endpoint_url = resolve_endpoint(env_cfg, state_dir=state_dir)
    provider: dict[str, Any] = {"region": region}
    backend: dict[str, Any] = {"region": region}
    if endpoint_url is None:
        profile = getattr(aws, "profile", None)
        if profile:
            provider["profile"] = profile
            backend["profile"] = profile
        account_id = getattr(aws, "account_id", None)
        if account_id:
            # Refuse to plan against the wrong account (a stale AWS_PROFILE is a classic).
            provider["allowed_account_ids"] = [str(account_id)]
        return {"provider": provider, "backend": backend}

    # The account ID is still requested (emulators answer STS), because resources that build
    # ARNs need it; credential validation and the instance metadata lookup are skipped.
    skip = {
        "skip_credentials_validation": True,
        "skip_metadata_api_check": True,
        "skip_region_validation": True,
    }
    provider.update(
        {
            "endpoints": {service: endpoint_url for service in SERVICES},
            "s3_use_path_style": True,
            **skip,
        }
    )
    backend.update(
        {
            "endpoints": {service: endpoint_url for service in BACKEND_SERVICES},
            "use_path_style": True,
            **skip,
        }
    )
    # An endpoint always means an emulator (see the config's aws.endpoint_url): Terraform gets the
    # same fake keys as boto3, so a user's real credentials never reach it.
    ca = ca_bundle_for(env_cfg, state_dir=state_dir)
    for block in (provider, backend):
        block["access_key"] = FAKE_ACCESS_KEY
        block["secret_key"] = FAKE_SECRET_KEY
        if ca is not None:
            block["custom_ca_bundle"] = str(ca)  # the sandbox's own CA: verify, never skip TLS checks
    return {"provider": provider, "backend": backend}
