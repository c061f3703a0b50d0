"""Telling a state lock left by a killed run of the kit from one a live run holds.

Terraform releases its state lock when it stops normally or on one Ctrl-C. Killed outright
(``kill -9``, an out-of-memory kill, a lost CI runner) it leaves the lock behind, and every later
run fails on it until someone runs ``terraform force-unlock``. The kit finishes such a run by
running it again, so it must release that lock itself, but only when it can prove the holder is
dead; a lock anyone else may still hold is reported with its holder and the unlock command.

While a command that takes the lock runs, the kit keeps a run marker in the stack's
``TF_DATA_DIR`` (``platform-kit-run.json``: Terraform's pid, ``user@host``, start time). A normal
end, success or failure, removes it. A lock is stale, and released, only when all of these hold:

* a marker is there, so the last kit run on this stack, from this data directory, did not end;
* the lock's ``Who`` is this ``user@host`` and the marker's too: the run was ours, here;
* the marker's process is gone, so nothing on this host still works on the state;
* the lock was created after the marker's run started, so that run took it (a lock older than
  the run belongs to someone else, whom the dead run was waiting for).

A lock from another host or user, or with no marker, is never touched.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from platform_kit.terraform.diagnostics import LockInfo

MARKER = "platform-kit-run.json"
# Terraform's lock Created field: Go's time.String(), e.g. "2026-11-25 10:50:12.123456789 +0000 UTC".
_CREATED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d+))? ([+-]\d{4})")
# Clocks and the marker write are not atomic with the lock's creation: allow this much earlier.
_SLACK_SECONDS = 2.0


def who() -> str:
    """``user@host`` as Terraform writes it in a lock's ``Who`` (Go's user.Current and os.Hostname)."""
    try:
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        import getpass

        user = getpass.getuser()
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True)
class Marker:
    pid: int
    who: str
    command: str
    started: float

    def describe(self) -> str:
        started = time.strftime("%H:%M:%S", time.localtime(self.started))
        return f"terraform {self.command}, pid {self.pid}, started {started}"


def write_marker(data_dir: Path, pid: int, command: str) -> Path | None:
    """Record a running lock-taking command; returns the marker's path (None if it cannot be written)."""
    path = Path(data_dir) / MARKER
    body = {"pid": pid, "who": who(), "command": command, "started": time.time()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(body), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        return None
    return path


def remove_marker(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


def read_marker(data_dir: Path) -> Marker | None:
    try:
        body = json.loads((Path(data_dir) / MARKER).read_text(encoding="utf-8"))
        return Marker(int(body["pid"]), str(body["who"]), str(body["command"]), float(body["started"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, and not ours to judge
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" not in status


def created_at(lock: LockInfo) -> float | None:
    """The lock's creation time as a Unix timestamp, or None if it cannot be read."""
    match = _CREATED.match(lock.created or "")
    if not match:
        return None
    stamp = datetime.strptime(f"{match.group(1)} {match.group(3)}", "%Y-%m-%d %H:%M:%S %z").timestamp()
    return stamp + float(f"0.{match.group(2) or 0}")


def stale(lock: LockInfo, marker: Marker | None) -> str | None:
    """Why ``lock`` is a leftover of the run ``marker`` records (read before this run started, which
    replaces it), or None when that is not proven."""
    if marker is None or not lock.who or lock.who != marker.who or marker.who != who():
        return None
    if alive(marker.pid):
        return None
    created = created_at(lock)
    if created is None or created < marker.started - _SLACK_SECONDS:
        return None
    return f"left by an interrupted run on this host ({marker.describe()}, no longer running)"
