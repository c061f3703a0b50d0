"""Which endpoint and which credentials an environment's AWS calls use (no network)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from platform_kit import aws, sandbox
from platform_kit.errors import BadInput, OperationFailed

REAL_KEY = "AKIAREALUSERKEY00000"


def _env(endpoint_url: str | None = None, profile: str | None = None, region: str = "eu-west-1"):
    return SimpleNamespace(
        aws=SimpleNamespace(region=region, account_id="111122223333", endpoint_url=endpoint_url, profile=profile)
    )


@pytest.fixture(autouse=True)
def real_user_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A user whose shell carries real-looking credentials, which must never reach an emulator."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", REAL_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-token")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))


@pytest.fixture()
def running_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A state dir whose sandbox reports itself running at a fixed URL (liveness is tested elsewhere)."""
    info = sandbox.SandboxInfo(
        endpoint="http://127.0.0.1:45999",
        port=45999,
        pid=1,
        started_at="2024-01-01T00:00:00+00:00",
        log=tmp_path / "sandbox.log",
    )
    monkeypatch.setattr(sandbox, "status", lambda state_dir: info if Path(state_dir) == tmp_path else None)
    return tmp_path


# --- endpoint resolution -----------------------------------------------------------------------


def test_sandbox_resolves_to_the_running_sandbox(running_sandbox: Path) -> None:
    assert aws.resolve_endpoint(_env("sandbox"), state_dir=running_sandbox) == "http://127.0.0.1:45999"


def test_sandbox_not_running_says_how_to_start_it(tmp_path: Path) -> None:
    with pytest.raises(OperationFailed) as raised:
        aws.resolve_endpoint(_env("sandbox"), state_dir=tmp_path)
    assert raised.value.message == "the sandbox is not running"
    assert raised.value.hint == "run: platform sandbox start"


def test_sandbox_record_with_a_dead_pid_is_not_running(tmp_path: Path) -> None:
    import json
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / "sandbox.json").write_text(
        json.dumps({"endpoint": "http://127.0.0.1:1", "port": 1, "pid": gone.pid, "started_at": "x", "log": "l"})
    )
    with pytest.raises(OperationFailed):
        aws.resolve_endpoint(_env("sandbox"), state_dir=tmp_path)


def test_explicit_url_is_used_as_is(tmp_path: Path) -> None:
    assert aws.resolve_endpoint(_env("http://localhost:4566/"), state_dir=tmp_path) == "http://localhost:4566"
    assert aws.resolve_endpoint(_env("https://aws.internal:8443"), state_dir=tmp_path) == "https://aws.internal:8443"


def test_no_endpoint_means_real_aws(tmp_path: Path) -> None:
    assert aws.resolve_endpoint(_env(None), state_dir=tmp_path) is None


@pytest.mark.parametrize("value", ["ftp://example.com", "localhost:4566", "sandboxx", "http://"])
def test_anything_else_is_bad_input(tmp_path: Path, value: str) -> None:
    with pytest.raises(BadInput) as raised:
        aws.resolve_endpoint(_env(value), state_dir=tmp_path)
    assert value in raised.value.message


# --- sessions ------------------------------------------------------------------------------------


def test_sandbox_session_uses_fake_keys_and_the_sandbox_endpoint(running_sandbox: Path) -> None:
    target = aws.session_for(_env("sandbox"), state_dir=running_sandbox)
    assert target.emulated and target.endpoint_url == "http://127.0.0.1:45999"
    credentials = target.session.get_credentials()
    assert (credentials.access_key, credentials.secret_key, credentials.token) == ("testing", "testing", None)
    s3 = target.client("s3")
    assert s3.meta.endpoint_url == "http://127.0.0.1:45999"
    assert s3.meta.region_name == "eu-west-1"
    assert s3.meta.config.s3 == {"addressing_style": "path"}
    assert s3.meta.config.retries["mode"] == "standard"
    # botocore counts the first call too: max_attempts=5 retries is 6 attempts in all.
    assert s3.meta.config.retries["total_max_attempts"] == 6


def test_explicit_endpoint_session_ignores_the_users_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stale AWS_PROFILE naming a profile that does not exist would break a normal session.
    monkeypatch.setenv("AWS_PROFILE", "does-not-exist")
    target = aws.session_for(_env("http://127.0.0.1:4566", profile="prod-admin"), state_dir=tmp_path)
    credentials = target.session.get_credentials()
    assert credentials.access_key == "testing" and credentials.token is None
    assert target.client("sts").meta.endpoint_url == "http://127.0.0.1:4566"


def test_real_aws_session_keeps_the_users_credential_chain(tmp_path: Path) -> None:
    target = aws.session_for(_env(None), state_dir=tmp_path)
    assert not target.emulated and target.endpoint_url is None
    credentials = target.session.get_credentials()
    assert credentials.access_key == REAL_KEY and credentials.token == "real-token"
    sts = target.client("sts")
    assert sts.meta.endpoint_url.endswith(".amazonaws.com")
    assert "127.0.0.1" not in sts.meta.endpoint_url
    assert sts.meta.config.retries["mode"] == "standard"


def test_real_aws_session_uses_the_configured_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var)
    (tmp_path / "aws-credentials").write_text(
        "[platform-dev]\naws_access_key_id = AKIAPROFILEKEY000000\naws_secret_access_key = s\n"
    )
    target = aws.session_for(_env(None, profile="platform-dev"), state_dir=tmp_path)
    assert target.session.profile_name == "platform-dev"
    assert target.session.get_credentials().access_key == "AKIAPROFILEKEY000000"


def test_client_accepts_extra_config(tmp_path: Path) -> None:
    from botocore.config import Config

    target = aws.session_for(_env("http://127.0.0.1:4566"), state_dir=tmp_path)
    client = target.client("sts", config=Config(connect_timeout=3))
    assert client.meta.config.connect_timeout == 3
    assert client.meta.config.retries["mode"] == "standard"


# --- Terraform provider and backend settings ------------------------------------------------------


def test_terraform_settings_for_the_sandbox(running_sandbox: Path) -> None:
    settings = aws.terraform_provider_settings(_env("sandbox"), state_dir=running_sandbox)
    provider, backend = settings["provider"], settings["backend"]
    assert provider["region"] == "eu-west-1"
    assert set(provider["endpoints"]) == {
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
    }
    assert set(provider["endpoints"].values()) == {"http://127.0.0.1:45999"}
    assert provider["s3_use_path_style"] is True
    for block in (provider, backend):
        assert block["skip_credentials_validation"] is True
        assert "skip_requesting_account_id" not in block  # resources that build ARNs need the account
        assert block["skip_metadata_api_check"] is True
        assert (block["access_key"], block["secret_key"]) == ("testing", "testing")
    assert backend["use_path_style"] is True
    assert backend["endpoints"]["s3"] == "http://127.0.0.1:45999"
    assert "profile" not in provider


def test_terraform_settings_for_an_explicit_endpoint_use_fake_keys(tmp_path: Path) -> None:
    settings = aws.terraform_provider_settings(_env("http://localhost:4566"), state_dir=tmp_path)
    provider = settings["provider"]
    assert provider["endpoints"]["eks"] == "http://localhost:4566"
    assert provider["s3_use_path_style"] is True and provider["skip_credentials_validation"] is True
    # an endpoint means an emulator: the user's real credentials must not be sent there
    assert provider["access_key"] == settings["backend"]["access_key"] == "testing"


def test_terraform_settings_for_real_aws_are_plain(tmp_path: Path) -> None:
    settings = aws.terraform_provider_settings(_env(None, profile="platform-prod"), state_dir=tmp_path)
    assert settings["provider"] == {
        "region": "eu-west-1",
        "profile": "platform-prod",
        "allowed_account_ids": ["111122223333"],
    }
    assert settings["backend"] == {"region": "eu-west-1", "profile": "platform-prod"}
