"""The embedded sandbox against a real moto server: start, reuse, stop, and the records it leaves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import moto_client

from platform_kit import sandbox
from platform_kit.errors import OperationFailed

pytestmark = pytest.mark.sandbox


def _running(pid: int) -> bool:
    """True if pid is a live (not zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


@pytest.fixture()
def state_dir(tmp_path: Path):
    """A fresh state dir; whatever sandbox a test leaves running is stopped afterwards."""
    directory = tmp_path / "state"
    yield directory
    sandbox.stop(directory)


@pytest.fixture()
def sleeper():
    """A live process that is not moto, to stand in for a reused pid."""
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


def _write_record(state_dir: Path, pid: int, port: int = 1) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "endpoint": f"http://127.0.0.1:{port}",
        "port": port,
        "pid": pid,
        "started_at": "2024-01-01T00:00:00+00:00",
        "log": str(state_dir / "sandbox.log"),
    }
    (state_dir / "sandbox.json").write_text(json.dumps(record))


def test_start_serves_aws_and_records_itself(state_dir: Path) -> None:
    import boto3

    started = time.monotonic()
    info = sandbox.start(state_dir)
    elapsed = time.monotonic() - started
    assert elapsed < 30

    assert info.endpoint == f"https://127.0.0.1:{info.port}"
    assert info.ca_bundle is not None and info.ca_bundle.is_file()
    assert _running(info.pid)
    assert sandbox.status(state_dir) == info
    assert sandbox.endpoint(state_dir) == info.endpoint
    assert sandbox.answers(info.endpoint, ca_bundle=info.ca_bundle)
    cmdline = Path(f"/proc/{info.pid}/cmdline").read_bytes().split(b"\0")
    assert sandbox.SERVER_MODULE.encode() in cmdline and str(info.port).encode() in cmdline

    record = json.loads((state_dir / "sandbox.json").read_text())
    assert record["pid"] == info.pid and record["endpoint"] == info.endpoint
    assert info.log == state_dir / "sandbox.log" and info.log.exists()

    s3 = boto3.client(
        "s3",
        endpoint_url=info.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        verify=str(info.ca_bundle),  # HTTPS with the sandbox's own CA
    )
    s3.create_bucket(Bucket="sandbox-smoke")
    assert "sandbox-smoke" in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_batch_runs_without_docker(state_dir: Path) -> None:

    info = sandbox.start(state_dir)
    config = sandbox.moto_config(info.endpoint, ca_bundle=info.ca_bundle)
    assert config["batch"]["use_docker"] is False
    iam = moto_client("iam", info.endpoint, info.ca_bundle)
    # managed policies are loaded, so roles can attach them as on AWS
    assert (
        iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")["Policy"]["PolicyName"] == "ReadOnlyAccess"
    )


def test_a_lost_answer_is_not_a_second_create(state_dir: Path) -> None:
    """The AWS SDKs resend a call whose answer was lost with the same invocation id; the sandbox
    answers the resend with the first answer instead of creating the role again (moto alone would
    say EntityAlreadyExists, which is how a loaded CI machine once failed a platform apply)."""
    info = sandbox.start(state_dir)
    iam = moto_client("iam", info.endpoint, info.ca_bundle)
    sent: list[str] = []

    def same_invocation(request, **_: object) -> None:
        # What botocore does on a retry: the same invocation id, the next attempt number.
        request.headers["amz-sdk-invocation-id"] = "11111111-2222-3333-4444-555555555555"
        request.headers["amz-sdk-request"] = f"attempt={len(sent) + 1}; max=5"
        sent.append(request.headers["amz-sdk-request"])

    iam.meta.events.register("before-send.iam.CreateRole", same_invocation)
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    first = iam.create_role(RoleName="lost-answer", AssumeRolePolicyDocument=trust)["Role"]
    again = iam.create_role(RoleName="lost-answer", AssumeRolePolicyDocument=trust)["Role"]
    assert sent == ["attempt=1; max=5", "attempt=2; max=5"]
    assert again["RoleId"] == first["RoleId"]
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]].count("lost-answer") == 1
    assert "attempt 2 of POST / CreateRole replays the first answer" in info.log.read_text()

    iam.meta.events.unregister("before-send.iam.CreateRole", same_invocation)
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName="lost-answer", AssumeRolePolicyDocument=trust)  # a new call is a new call


def test_second_start_returns_the_running_sandbox(state_dir: Path) -> None:
    first = sandbox.start(state_dir)
    second = sandbox.start(state_dir)
    assert second == first
    assert _running(first.pid)


def test_concurrent_starts_spawn_one_server(state_dir: Path) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        infos = list(pool.map(lambda _: sandbox.start(state_dir), range(3)))
    assert len({info.pid for info in infos}) == 1


def test_stop_ends_the_process_and_removes_the_record(state_dir: Path) -> None:
    info = sandbox.start(state_dir)
    assert sandbox.stop(state_dir) is True
    assert not _running(info.pid)
    assert not (state_dir / "sandbox.json").exists()
    assert not sandbox.answers(info.endpoint, ca_bundle=info.ca_bundle)
    assert sandbox.status(state_dir) is None
    with pytest.raises(OperationFailed) as raised:
        sandbox.endpoint(state_dir)
    assert raised.value.hint == "run: platform sandbox start"


def test_stop_when_not_running_is_harmless(tmp_path: Path) -> None:
    assert sandbox.stop(tmp_path / "never-created") is False
    (tmp_path / "empty").mkdir()
    assert sandbox.stop(tmp_path / "empty") is False
    assert sandbox.status(tmp_path / "empty") is None


def test_a_sandbox_an_earlier_kit_started_is_reused_and_stopped(state_dir: Path) -> None:
    """Earlier kits ran plain ``python -m moto.server``; after an upgrade that server (holding every
    applied resource) is still the sandbox: reused by start, ended by stop, never orphaned."""
    from platform_kit import sandbox_tls

    state_dir.mkdir(parents=True)
    tls = sandbox_tls.ensure(state_dir)
    port = sandbox._free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            str(port),
            "-c",
            str(tls.cert),
            "-k",
            str(tls.key),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        endpoint = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while not sandbox.answers(endpoint, ca_bundle=tls.ca):
            assert time.monotonic() < deadline and server.poll() is None, "moto.server did not start"
            time.sleep(0.1)
        record = {
            "endpoint": endpoint,
            "port": port,
            "pid": server.pid,
            "started_at": "2026-01-01T00:00:00+00:00",
            "log": str(state_dir / "sandbox.log"),
            "ca_bundle": str(tls.ca),
        }
        (state_dir / "sandbox.json").write_text(json.dumps(record))

        assert sandbox.start(state_dir).pid == server.pid
        assert sandbox.stop(state_dir) is True
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_start_replaces_a_record_with_a_dead_pid(state_dir: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    _write_record(state_dir, gone.pid)
    assert sandbox.status(state_dir) is None

    info = sandbox.start(state_dir)
    assert info.pid != gone.pid
    assert json.loads((state_dir / "sandbox.json").read_text())["pid"] == info.pid
    assert sandbox.status(state_dir) == info


def test_a_reused_pid_is_never_signalled(state_dir: Path, sleeper: subprocess.Popen) -> None:
    # The record names a live process that is not our moto server (the pid was reused).
    _write_record(state_dir, sleeper.pid, port=5)
    assert sandbox.status(state_dir) is None
    assert sandbox.stop(state_dir) is False
    time.sleep(0.2)
    assert sleeper.poll() is None, "stop() signalled a process it did not start"
    assert not (state_dir / "sandbox.json").exists()


def test_start_over_a_reused_pid_leaves_that_process_alone(state_dir: Path, sleeper: subprocess.Popen) -> None:
    _write_record(state_dir, sleeper.pid, port=5)
    info = sandbox.start(state_dir)
    assert info.pid != sleeper.pid
    assert sleeper.poll() is None
    assert sandbox.stop(state_dir) is True
    assert sleeper.poll() is None


def test_a_torn_record_counts_as_not_running(state_dir: Path) -> None:
    state_dir.mkdir()
    (state_dir / "sandbox.json").write_text("{not json")
    assert sandbox.status(state_dir) is None
    info = sandbox.start(state_dir)
    assert sandbox.status(state_dir) == info


def test_a_server_that_dies_while_starting_is_reported_with_its_log(
    state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\necho 'boom: the fake server cannot start' >&2\nexit 4\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    with pytest.raises(OperationFailed) as raised:
        sandbox.start(state_dir)
    assert "exited with code 4" in raised.value.message
    assert str(state_dir / "sandbox.log") in raised.value.message
    assert "boom: the fake server cannot start" in raised.value.message
    assert not (state_dir / "sandbox.json").exists()


def test_a_server_that_never_answers_times_out_and_is_ended(
    state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = tmp_path / "fake.pid"
    fake = tmp_path / "fake-python"
    fake.write_text(f"#!/bin/sh\necho $$ > {pid_file}\necho 'listening soon...'\nexec sleep 60\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    with pytest.raises(OperationFailed) as raised:
        sandbox.start(state_dir, timeout=1.5)
    assert "did not answer" in raised.value.message
    assert "listening soon..." in raised.value.message
    assert not _running(int(pid_file.read_text()))
    assert not (state_dir / "sandbox.json").exists()


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_start_status_stop(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_STATE_DIR", str(tmp_path / "cli-state"))
    try:
        code, out, err = cli("sandbox", "status")
        assert code == 3
        assert "not running" in err and "platform sandbox start" in err

        code, out, err = cli("sandbox", "start")
        assert code == 0, err
        assert "sandbox started at https://127.0.0.1:" in err
        assert "platform sandbox stop" in err

        code, out, err = cli("sandbox", "start", "--output", "json")
        assert code == 0, err
        started = json.loads(out)
        assert started["already_running"] is True and started["running"] is True

        # Global flags work before the command as well as after it.
        code, out, _ = cli("--output", "json", "sandbox", "status")
        assert code == 0
        status = json.loads(out)
        assert status["pid"] == started["pid"] and status["endpoint"] == started["endpoint"]

        code, out, err = cli("sandbox", "stop", "-o", "json")
        assert code == 0
        assert json.loads(out) == {"stopped": True, "stale_record_removed": False, "pid": started["pid"]}
        assert not _running(started["pid"])

        code, _, err = cli("sandbox", "stop")
        assert code == 0 and "nothing to stop" in err
        code, out, _ = cli("sandbox", "status", "-o", "json")
        assert code == 3 and json.loads(out) == {"running": False}
    finally:
        sandbox.stop(tmp_path / "cli-state")


def test_cli_stop_reports_a_stale_record(
    cli, tmp_path: Path, sleeper: subprocess.Popen, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "cli-state"
    monkeypatch.setenv("PLATFORM_STATE_DIR", str(state))
    _write_record(state, sleeper.pid, port=5)
    code, _, err = cli("sandbox", "stop")
    assert code == 0
    assert "stale record" in err and str(sleeper.pid) in err
    assert sleeper.poll() is None


# --- the data the Terraform adapter consumes, checked against the real provider ----------------


@pytest.mark.terraform
def test_terraform_provider_settings_drive_the_real_aws_provider(state_dir: Path, tmp_path: Path) -> None:
    import shutil

    from platform_kit import aws
    from platform_kit.terraform.cliconfig import find_plugin_mirror

    terraform = os.environ.get("PLATFORM_TERRAFORM") or shutil.which("terraform")
    mirror = find_plugin_mirror()
    if terraform is None or mirror is None:
        pytest.skip("needs terraform and a local provider mirror")
    sandbox.start(state_dir)
    env_cfg = SimpleNamespace(
        aws=SimpleNamespace(region="eu-west-1", account_id="123456789012", endpoint_url="sandbox", profile=None)
    )
    settings = aws.terraform_provider_settings(env_cfg, state_dir=state_dir)
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "main.tf.json").write_text(
        json.dumps(
            {
                "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws"}}},
                "provider": {"aws": settings["provider"]},
                "resource": {"aws_s3_bucket": {"this": {"bucket": "tf-through-sandbox"}}},
                "data": {"aws_caller_identity": {"this": {}}},
                "output": {"account": {"value": "${data.aws_caller_identity.this.account_id}"}},
            }
        )
    )
    rc = tmp_path / "cli.tfrc"
    rc.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n')
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(rc), "TF_IN_AUTOMATION": "1"}
    for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        result = subprocess.run([terraform, *args, "-no-color"], cwd=stack, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    output = subprocess.run(
        [terraform, "output", "-raw", "account"], cwd=stack, env=env, capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "123456789012"
    target = aws.session_for(env_cfg, state_dir=state_dir)
    buckets = [b["Name"] for b in target.client("s3").list_buckets()["Buckets"]]
    assert "tf-through-sandbox" in buckets
