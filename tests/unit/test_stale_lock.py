"""When the kit may release a Terraform state lock by itself: only one left by its own dead run here."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from platform_kit.terraform import LockInfo, stale_lock


def _created(when: float) -> str:
    """A Created field as Terraform writes it (Go's time.String())."""
    stamp = datetime.fromtimestamp(when, UTC)
    return stamp.strftime("%Y-%m-%d %H:%M:%S.") + f"{stamp.microsecond:06d}123 +0000 UTC"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture()
def dead_run(tmp_path: Path) -> Path:
    """A data directory whose marker names a Terraform process that is gone."""
    path = stale_lock.write_marker(tmp_path, _dead_pid(), "apply")
    assert path is not None and path.is_file()
    return tmp_path


def _lock(**fields) -> LockInfo:
    values = {"id": "5d0c8a3e-1111-2222-3333-444455556666", "who": stale_lock.who(), "created": _created(time.time())}
    values.update(fields)
    return LockInfo(**values)


def test_created_is_read_to_the_sub_second() -> None:
    assert stale_lock.created_at(_lock(created="2026-11-25 10:50:12.250000000 +0000 UTC")) == pytest.approx(
        datetime(2026, 11, 25, 10, 50, 12, 250000, UTC).timestamp()
    )
    assert stale_lock.created_at(_lock(created="2026-11-25 11:50:12 +0100 CET")) == pytest.approx(
        datetime(2026, 11, 25, 10, 50, 12, tzinfo=UTC).timestamp()
    )
    assert stale_lock.created_at(_lock(created="yesterday")) is None


def test_a_lock_taken_by_our_dead_run_here_is_stale(dead_run: Path) -> None:
    why = stale_lock.stale(_lock(), stale_lock.read_marker(dead_run))
    assert why is not None and "terraform apply" in why and "no longer running" in why


def test_a_live_holder_is_never_stale(tmp_path: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as proc:
        try:
            stale_lock.write_marker(tmp_path, proc.pid, "apply")
            assert stale_lock.stale(_lock(), stale_lock.read_marker(tmp_path)) is None
        finally:
            proc.kill()


def test_without_a_marker_nothing_is_stale(tmp_path: Path) -> None:
    assert stale_lock.stale(_lock(), stale_lock.read_marker(tmp_path)) is None


def test_another_holder_is_not_ours_to_release(dead_run: Path) -> None:
    assert stale_lock.stale(_lock(who="someone@elsewhere"), stale_lock.read_marker(dead_run)) is None
    assert stale_lock.stale(_lock(who=None), stale_lock.read_marker(dead_run)) is None


def test_a_lock_older_than_the_dead_run_belongs_to_whoever_it_waited_for(dead_run: Path) -> None:
    assert stale_lock.stale(_lock(created=_created(time.time() - 600)), stale_lock.read_marker(dead_run)) is None
    assert stale_lock.stale(_lock(created="not a time"), stale_lock.read_marker(dead_run)) is None


def test_a_run_that_ends_removes_its_marker(tmp_path: Path) -> None:
    path = stale_lock.write_marker(tmp_path, 1, "plan")
    stale_lock.remove_marker(path)
    assert stale_lock.read_marker(tmp_path) is None
    (tmp_path / stale_lock.MARKER).write_text("{not json")
    assert stale_lock.read_marker(tmp_path) is None


def _fake_terraform(tmp_path: Path, body: str) -> Path:
    """A stand-in binary: answers `version -json` like Terraform 1.11, runs ``body`` for anything else."""
    script = tmp_path / "terraform"
    script.write_text(
        f'#!/bin/sh\nif [ "$1" = version ]; then echo \'{{"terraform_version": "1.11.4"}}\'; exit 0; fi\n{body}\n'
    )
    script.chmod(0o755)
    return script


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ("kill -9 $$", True),  # killed by a signal: the lock may be left, the marker must stay
        ("echo 'Error: something' >&2; exit 1", False),  # ended by itself: Terraform released its lock
    ],
)
def test_the_adapter_keeps_its_marker_only_when_terraform_dies_by_a_signal(
    tmp_path: Path, monkeypatch, body: str, kept: bool
) -> None:
    from platform_kit.terraform import Terraform, TerraformError

    monkeypatch.setenv("PLATFORM_TERRAFORM", str(_fake_terraform(tmp_path, body)))
    data_dir = tmp_path / "data"
    tf = Terraform(tmp_path, env={"TF_DATA_DIR": str(data_dir)}, state_dir=tmp_path / "state")
    with pytest.raises(TerraformError):
        tf.plan(tmp_path / "plan.tfplan")
    marker = stale_lock.read_marker(data_dir)
    assert (marker is not None) is kept
    if kept:
        assert marker.command == "plan" and not stale_lock.alive(marker.pid)
