"""The embedded sandbox: a moto server on 127.0.0.1 standing in for AWS.

A newcomer's first environment. ``start`` spawns ``python -m platform_kit.sandbox_server`` (moto's
server with a guard that answers a retried AWS call once, see that module) detached from the
terminal and records it in ``<state_dir>/sandbox.json``; ``stop`` ends only that process, after
checking that the recorded pid still runs our server on the recorded port (pids are reused).
Both are safe to repeat.

Only the standard library is imported here, so ``platform --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from platform_kit.errors import OperationFailed

HOST = "127.0.0.1"
STATE_FILE = "sandbox.json"
LOG_FILE = "sandbox.log"
LOCK_FILE = "sandbox.lock"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
# Batch jobs would otherwise need a Docker daemon; the sandbox must work without one.
MOTO_CONFIG: dict[str, Any] = {"batch": {"use_docker": False}}
# AWS managed policies (ReadOnlyAccess, AmazonEKSClusterPolicy...) must exist for roles to attach
# them; moto loads them only when told so in its environment (its config API has no such key).
MOTO_ENV = {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}

SERVER_MODULE = "platform_kit.sandbox_server"
# What a sandbox started by an earlier kit runs (plain moto): still ours to reuse and to stop, so
# an upgrade never leaves the old server, with every applied resource in it, running unowned.
_EARLIER_SERVER_MODULES = ("moto.server",)

_SPAWN_ATTEMPTS = 3  # a free port can be taken by someone else between choosing it and binding it
_POLL_INTERVAL = 0.05

# Processes started by this Python process, kept so stop() can reap them (no zombies, no
# "subprocess still running" warnings when the CLI or a test session starts and stops in-process).
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class SandboxInfo:
    """A running (or recorded) sandbox."""

    endpoint: str
    port: int
    pid: int
    started_at: str  # ISO 8601, UTC
    log: Path
    ca_bundle: Path | None = None  # the sandbox CA that clients verify its certificate against

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "port": self.port,
            "pid": self.pid,
            "started_at": self.started_at,
            "log": str(self.log),
            "ca_bundle": str(self.ca_bundle) if self.ca_bundle else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxInfo:
        return cls(
            endpoint=str(data["endpoint"]),
            port=int(data["port"]),
            pid=int(data["pid"]),
            started_at=str(data["started_at"]),
            log=Path(data["log"]),
            ca_bundle=Path(data["ca_bundle"]) if data.get("ca_bundle") else None,
        )


# --- public API -----------------------------------------------------------------------------


def start(state_dir: Path, *, timeout: float = START_TIMEOUT) -> SandboxInfo:
    """Start the sandbox, or return the one already running (starting twice is harmless)."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    with _locked(state_dir):
        recorded = read_state(state_dir)
        if recorded is not None and is_ours(recorded):
            if answers(recorded.endpoint, ca_bundle=recorded.ca_bundle):
                return recorded
            # Our process, but it no longer answers (hung): replace it rather than orphan it.
            _terminate(recorded.pid, STOP_TIMEOUT)
        info = _spawn(state_dir, timeout)
        _write_state(state_dir, info)
        return info


def stop(state_dir: Path, *, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the sandbox this kit started; True if a process was stopped.

    A record whose pid is dead, or now belongs to another program, is removed without signalling
    anything. Stopping a sandbox that is not running is harmless and returns False.
    """
    state_dir = Path(state_dir)
    if not state_dir.is_dir():
        return False
    with _locked(state_dir):
        recorded = read_state(state_dir)
        stopped = False
        if recorded is not None and is_ours(recorded):
            _terminate(recorded.pid, timeout)
            stopped = True
        _state_path(state_dir).unlink(missing_ok=True)
        return stopped


def status(state_dir: Path) -> SandboxInfo | None:
    """The running sandbox, or None if none is running (a stale record counts as not running)."""
    recorded = read_state(Path(state_dir))
    if recorded is None or not is_ours(recorded) or not answers(recorded.endpoint, ca_bundle=recorded.ca_bundle):
        return None
    return recorded


def endpoint(state_dir: Path) -> str:
    """The running sandbox's URL, for boto3 and Terraform endpoint overrides."""
    info = status(state_dir)
    if info is None:
        raise OperationFailed("the sandbox is not running", hint="run: platform sandbox start")
    return info.endpoint


def read_state(state_dir: Path) -> SandboxInfo | None:
    """The recorded sandbox, live or not; None if there is no readable record."""
    path = _state_path(Path(state_dir))
    try:
        return SandboxInfo.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a torn or hand-edited record is as good as none; start() replaces it


def is_ours(info: SandboxInfo) -> bool:
    """True if info.pid is alive and really is the sandbox server listening on info.port."""
    if not _alive(info.pid):
        return False
    args = _cmdline(info.pid)
    if args is None or str(info.port) not in args:
        return False
    return any(module in args for module in (SERVER_MODULE, *_EARLIER_SERVER_MODULES))


def answers(url: str, *, timeout: float = 1.0, ca_bundle: Path | None = None) -> bool:
    """True if the moto API at url responds (over TLS verified against ca_bundle for https)."""
    try:
        with _open(f"{url}/moto-api/", timeout=timeout, ca_bundle=ca_bundle) as response:
            return 200 <= response.status < 500
    except (urllib.error.URLError, OSError, ValueError):
        return False


def moto_config(url: str, *, timeout: float = 5.0, ca_bundle: Path | None = None) -> dict[str, Any]:
    """The moto server's runtime configuration (GET /moto-api/config)."""
    with _open(f"{url}/moto-api/config", timeout=timeout, ca_bundle=ca_bundle) as response:
        return json.loads(response.read())


def ca_bundle(state_dir: Path) -> Path | None:
    """The CA that the running sandbox's certificate is signed by (None if it is not running)."""
    info = status(state_dir)
    return info.ca_bundle if info else None


def _open(url: str | urllib.request.Request, *, timeout: float, ca_bundle: Path | None):
    target = url.full_url if isinstance(url, urllib.request.Request) else url
    if target.startswith("https://"):
        from platform_kit.sandbox_tls import ssl_context

        return urllib.request.urlopen(url, timeout=timeout, context=ssl_context(ca_bundle))
    return urllib.request.urlopen(url, timeout=timeout)


# --- internals ------------------------------------------------------------------------------


def _state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def _write_state(state_dir: Path, info: SandboxInfo) -> None:
    path = _state_path(state_dir)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(info.as_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _locked(state_dir: Path) -> contextlib.AbstractContextManager[None]:
    """Serialise start/stop on one state dir, so two concurrent starts spawn one server."""
    from platform_kit.files import exclusive_lock

    return exclusive_lock(state_dir / LOCK_FILE)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _check_moto_installed() -> None:
    import importlib.util

    missing = [name for name in ("moto", "flask") if importlib.util.find_spec(name) is None]
    if missing:
        raise OperationFailed(
            f"the sandbox needs moto with its server extra, which is not installed in {sys.executable}",
            hint="run: pip install 'moto[server]>=5'",
        )


def _spawn(state_dir: Path, timeout: float) -> SandboxInfo:
    _check_moto_installed()
    from platform_kit import sandbox_tls

    tls = sandbox_tls.ensure(state_dir, HOST)
    log = state_dir / LOG_FILE
    deadline = time.monotonic() + timeout
    for attempt in range(1, _SPAWN_ATTEMPTS + 1):
        port = _free_port()
        url = f"https://{HOST}:{port}"
        with open(log, "wb") as log_handle:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    SERVER_MODULE,
                    "-H",
                    HOST,
                    "-p",
                    str(port),
                    "-c",
                    str(tls.cert),
                    "-k",
                    str(tls.key),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_handle,
                stderr=subprocess.STDOUT,
                cwd=state_dir,
                env={**os.environ, **MOTO_ENV},
                start_new_session=True,
                close_fds=True,
            )
        _children[process.pid] = process
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if answers(url, timeout=0.5, ca_bundle=tls.ca):
                _configure(url, process.pid, tls.ca)
                return SandboxInfo(
                    endpoint=url,
                    port=port,
                    pid=process.pid,
                    started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                    log=log,
                    ca_bundle=tls.ca,
                )
            time.sleep(_POLL_INTERVAL)
        else:
            _terminate(process.pid, STOP_TIMEOUT)
            raise OperationFailed(
                f"the sandbox did not answer on {url} within {timeout:.0f}s; see {log}{_tail(log)}",
                hint=f"check {log}, then run: platform sandbox start",
            )
        _children.pop(process.pid, None)
        if "Address already in use" in _tail(log) and attempt < _SPAWN_ATTEMPTS:
            continue  # lost the race for the port; pick another
        raise OperationFailed(
            f"the sandbox (moto server) exited with code {process.returncode} while starting; see {log}{_tail(log)}",
            hint=f"check {log}, then run: platform sandbox start",
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _configure(url: str, pid: int, ca: Path) -> None:
    request = urllib.request.Request(
        f"{url}/moto-api/config",
        data=json.dumps(MOTO_CONFIG).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with _open(request, timeout=5.0, ca_bundle=ca):
            pass
    except (urllib.error.URLError, OSError) as exc:
        _terminate(pid, STOP_TIMEOUT)
        raise OperationFailed(
            f"could not configure the sandbox at {url}: {exc}",
            hint="run: platform sandbox start",
        ) from exc


def _tail(log: Path, lines: int = 10) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    last = [line for line in text.splitlines() if line.strip()][-lines:]
    return ("\n" + "\n".join(f"  | {line}" for line in last)) if last else ""


def _alive(pid: int) -> bool:
    """True if pid runs; zombies (exited, not yet reaped) count as dead."""
    if pid <= 0:
        return False
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): trust kill(0)
    # The state letter follows the parenthesised command name, which may itself contain spaces.
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _reap(pid: int) -> None:
    process = _children.get(pid)
    if process is not None and process.poll() is not None:
        _children.pop(pid, None)


def _cmdline(pid: int) -> list[str] | None:
    """The process's argument vector, or None if it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return None  # Linux, and the process is gone
        return _cmdline_from_ps(pid)
    except OSError:
        return None
    return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]


def _cmdline_from_ps(pid: int) -> list[str] | None:
    try:
        result = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.split() if result.returncode == 0 else None


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM, wait up to timeout, then SIGKILL. Callers have checked that pid is ours."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, timeout):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not _wait_gone(pid, 5.0):
        raise OperationFailed(f"the sandbox process {pid} did not exit after SIGKILL")


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    process = _children.get(pid)
    if process is not None:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        _children.pop(pid, None)
        return True
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(_POLL_INTERVAL)
    return not _alive(pid)
