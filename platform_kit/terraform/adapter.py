"""Run Terraform for the kit: streamed progress for people, plain results and one-line errors.

``Terraform(workdir, state_dir=...)`` wraps one working directory. Every run gets
``TF_IN_AUTOMATION=1``, ``TF_INPUT=0``, ``CHECKPOINT_DISABLE=1``, ``-no-color`` and
``TF_CLI_CONFIG_FILE`` pointing at the kit's CLI config (provider mirror and plugin cache, see
``cliconfig``). ``plan`` and ``apply`` use the machine-readable UI (``-json``): stdout is read line
by line while Terraform runs and only each line's ``@message`` reaches ``on_line``, never the raw
JSON, whose fields can hold values. ``init`` has no JSON mode, so its human text is passed on (progress
lines only) and its errors parsed from text. A failure raises ``diagnostics.TerraformError``.

The argv comes from python-terraform's ``generate_cmd_string``; the process is ours, because
python-terraform 0.10.1's ``Terraform.cmd()``:

- passes ``os.environ`` (or nothing) to the child, with no way to add variables such as
  ``TF_CLI_CONFIG_FILE``;
- pops its ``synchronous`` kwarg only after building the argv, so ``synchronous=False`` leaks into
  the command line as ``-synchronous=false`` and Terraform rejects the flag;
- reads the output with ``communicate()``, so nothing can be shown until Terraform exits;
- reads ``terraform.tfstate`` into memory after every successful command, and once in its
  constructor (``_Argv`` below switches that off).

Backend settings passed to ``init`` end up in the argv (``-backend-config=k=v``), where other
local users can see them in ``ps``: pass credentials through ``env`` instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged
from python_terraform import Terraform as _PyTerraform

from platform_kit.errors import BadInput, OperationFailed
from platform_kit.terraform import cliconfig, plan_text, stale_lock
from platform_kit.terraform.diagnostics import (
    Diagnostic,
    TerraformError,
    errors_of,
    failure,
    from_json,
    from_ui_message,
    parse_human,
    unique,
)
from platform_kit.terraform.plan_text import PlanText

MIN_TERRAFORM = (1, 6)
TERRAFORM_ENV = "PLATFORM_TERRAFORM"
TIMINGS_ENV = "PLATFORM_TERRAFORM_TIMINGS"
VERSION_TIMEOUT = 30.0
INSTALL_HINT = (
    f"install Terraform >= {'.'.join(map(str, MIN_TERRAFORM))} "
    f"(https://developer.hashicorp.com/terraform/install) or set {TERRAFORM_ENV} to its path"
)

# Commands that take the state lock: while one runs, a marker in TF_DATA_DIR names its process.
_LOCKING = frozenset({"plan", "apply", "import", "refresh"})
_FIXED_ENV = {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
# Machine-readable UI message types whose @message is shown as progress. Left out on purpose:
# "version", "outputs", "log" and "provision_progress" (a provisioner's raw output).
_PROGRESS_TYPES = frozenset(
    {
        "planned_change",
        "resource_drift",
        "change_summary",
        "apply_start",
        "apply_progress",
        "apply_complete",
        "apply_errored",
        "refresh_start",
        "refresh_complete",
        "ephemeral_op_start",
        "ephemeral_op_progress",
        "ephemeral_op_complete",
        "ephemeral_op_errored",
        "provision_start",
        "provision_complete",
        "provision_errored",
        "diagnostic",
    }
)
# init's human output: the lines worth showing as progress (its warnings are kept as diagnostics).
_INIT_PROGRESS = ("Initializing", "- ", "Terraform has been successfully", "Upgrading")
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


# --- finding Terraform ----------------------------------------------------------------------


def terraform_path() -> Path:
    """The binary to run: ``PLATFORM_TERRAFORM`` (a path or a name on PATH), else ``terraform``."""
    override = os.environ.get(TERRAFORM_ENV)
    if override:
        found = shutil.which(override)
        if found is None:
            raise BadInput(f"{TERRAFORM_ENV}={override}: no such executable", hint=INSTALL_HINT)
        return Path(found)
    found = shutil.which("terraform")
    if found is None:
        raise BadInput("terraform not found on PATH", hint=INSTALL_HINT)
    return Path(found)


def terraform_version(binary: Path | str) -> tuple[int, int, int]:
    """(major, minor, patch) from ``terraform version -json`` (or the text of Terraform < 0.13)."""
    try:
        result = subprocess.run(
            [str(binary), "version", "-json"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            env={**os.environ, **_FIXED_ENV},
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise OperationFailed(f"could not run `{binary} version -json`: {exc}", hint=INSTALL_HINT) from exc
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise OperationFailed(
            f"`{binary} version -json` failed (exit code {result.returncode}): {last}", hint=INSTALL_HINT
        )
    try:
        text = str(json.loads(result.stdout)["terraform_version"])
    except (ValueError, KeyError, TypeError):
        text = result.stdout  # old releases print "Terraform v0.12.31"
    match = _VERSION.search(text)
    if match is None:
        raise OperationFailed(
            f"could not read a version from `{binary} version -json`: {result.stdout.strip()[:120]!r}",
            hint=INSTALL_HINT,
        )
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def find_terraform(minimum: tuple[int, int] = MIN_TERRAFORM) -> Path:
    """The Terraform binary to use, checked to be at least ``minimum`` (BadInput otherwise)."""
    binary = terraform_path()
    version = terraform_version(binary)
    if version[:2] < minimum:
        have, want = ".".join(map(str, version)), ".".join(map(str, minimum))
        raise BadInput(f"terraform {have} at {binary} is older than {want}", hint=INSTALL_HINT)
    return binary


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanResult:
    """A saved plan and its change counts (Terraform's ``change_summary``)."""

    plan_file: Path
    has_changes: bool  # exit code 2 of -detailed-exitcode: resources *or* outputs change
    add: int = 0
    change: int = 0
    destroy: int = 0  # Terraform calls it "remove"
    imports: int = 0
    text: PlanText | None = None  # the human plan, when planned with text=True


@dataclass(frozen=True)
class ApplyResult:
    """What an apply did (Terraform's ``change_summary``)."""

    add: int = 0
    change: int = 0
    destroy: int = 0
    imports: int = 0


@dataclass
class _Outcome:
    returncode: int
    stdout: str = ""  # only when captured
    diagnostics: list[Diagnostic] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)


class _Argv(_PyTerraform):
    """python-terraform used only to build argv: no state file is read."""

    def read_state_file(self, file_path: str | None = None) -> None:
        self.tfstate = None


# --- the adapter ----------------------------------------------------------------------------


class Terraform:
    """Terraform in one working directory.

    ``env`` is added to the process environment of every run; ``state_dir`` is where the CLI
    config and failure logs go; ``on_line`` receives short human progress lines as they happen.
    ``on_notice`` (defaults to ``on_line``) receives what the kit itself did that a person should
    know even when progress is hidden, such as releasing a stale state lock. ``warnings`` holds
    the warnings of the last command.
    """

    def __init__(
        self,
        workdir: Path | str,
        *,
        env: Mapping[str, str] | None = None,
        state_dir: Path,
        on_line: Callable[[str], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.workdir = Path(workdir).absolute()
        self.on_notice = on_notice or on_line
        self.env = dict(env or {})
        self.state_dir = Path(state_dir).absolute()
        self.on_line = on_line
        self.warnings: list[Diagnostic] = []
        self._binary: Path | None = None
        self._cli_config: Path | None = None

    @property
    def binary(self) -> Path:
        """The Terraform binary, found and version-checked on first use."""
        if self._binary is None:
            self._binary = find_terraform()
        return self._binary

    # --- commands ---------------------------------------------------------------------------

    def init(self, backend_config: Mapping[str, object] | None = None, reconfigure: bool = False) -> None:
        """``terraform init``. Backend values may be strings, bools, numbers, lists or dicts
        (``{"endpoints": {"s3": url}}`` becomes ``-backend-config=endpoints={s3 = "url"}``)."""
        rendered = {key: _backend_value(value) for key, value in (backend_config or {}).items()}
        self._config_file()  # the cache folder the lock lives in exists once the config is written
        with cliconfig.plugin_cache_lock():
            self._run(
                "init",
                input=False,
                no_color=IsFlagged,
                backend_config=rendered or None,
                reconfigure=IsFlagged if reconfigure else None,
            )

    def plan(
        self, out: Path, var_files: Sequence[Path] = (), destroy: bool = False, *, text: bool = False
    ) -> PlanResult:
        """``terraform plan`` saved to ``out``; streams progress, returns the change counts. With
        ``text``, Terraform prints the human plan instead of its JSON messages and the result keeps
        it (``plan_text``): the plan a reviewer reads, with no ``terraform show`` run after."""
        plan_file = Path(out).absolute()
        outcome = self._run_locking(
            "plan",
            ok=(0, 2),
            json_ui=not text,
            input=False,
            no_color=IsFlagged,
            json=None if text else IsFlagged,
            detailed_exitcode=IsFlagged,
            out=str(plan_file),
            destroy=IsFlagged if destroy else None,
            var_file=[str(Path(f).absolute()) for f in var_files] or None,
        )
        has_changes = outcome.returncode == 2
        if text:
            human = plan_text.parse(outcome.stdout)
            counts = {"add": human.add, "change": human.change, "destroy": human.destroy}
            return PlanResult(plan_file=plan_file, has_changes=has_changes, text=human, **counts)
        return PlanResult(plan_file=plan_file, has_changes=has_changes, **_counts(outcome.changes))

    def apply(self, plan_file: Path) -> ApplyResult:
        """Apply a saved plan (never an unreviewed one); streams progress."""
        outcome = self._run_locking(
            "apply", str(Path(plan_file).absolute()), json_ui=True, input=False, no_color=IsFlagged, json=IsFlagged
        )
        return ApplyResult(**_counts(outcome.changes))

    def import_resource(self, address: str, resource_id: str, var_files: Sequence[Path] = ()) -> None:
        """``terraform import ADDRESS ID``: record an existing object in the state (it changes nothing in AWS)."""
        self._run_locking(
            "import",
            address,
            resource_id,
            input=False,
            no_color=IsFlagged,
            var_file=[str(Path(f).absolute()) for f in var_files] or None,
        )

    def show_json(self, plan_file: Path) -> dict[str, Any]:
        """``terraform show -json PLAN``: the plan as Terraform's JSON representation."""
        outcome = self._run("show", str(Path(plan_file).absolute()), capture=True, no_color=IsFlagged, json=IsFlagged)
        return _json_document(outcome.stdout, "show -json")

    def output(self, *, include_sensitive: bool = True) -> dict[str, Any]:
        """The root module's outputs as plain values. With ``include_sensitive=False`` the outputs
        Terraform marks sensitive are left out, so the result is safe to print."""
        outcome = self._run("output", capture=True, no_color=IsFlagged, json=IsFlagged)
        document = _json_document(outcome.stdout, "output -json")
        return {
            name: entry.get("value")
            for name, entry in document.items()
            if isinstance(entry, dict) and (include_sensitive or not entry.get("sensitive"))
        }

    def validate(self) -> list[Diagnostic]:
        """``terraform validate -json``; raises on errors, returns the warnings."""
        outcome = self._run("validate", capture=True, ok=(0, 1), no_color=IsFlagged, json=IsFlagged)
        try:
            document = json.loads(outcome.stdout)
            found = [from_json(d) for d in document.get("diagnostics") or []]
        except (ValueError, AttributeError):
            document, found = {}, []
        diagnostics = unique([*found, *outcome.diagnostics])
        self.warnings = [d for d in diagnostics if not d.is_error]
        if outcome.returncode != 0 or not document.get("valid", False) or errors_of(diagnostics):
            raise self._failure("validate", diagnostics, outcome.returncode, "")
        return self.warnings

    # --- running ----------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """Terraform's data directory for this working directory (``TF_DATA_DIR`` when set)."""
        configured = self.env.get("TF_DATA_DIR")
        return Path(configured) if configured else self.workdir / ".terraform"

    def _run_locking(self, command: str, *args: str, **options: Any) -> _Outcome:
        """Run a command that takes the state lock; a lock left by a dead run of the kit on this
        host is released once (see ``stale_lock``), any other held lock fails as it is."""
        previous = stale_lock.read_marker(self.data_dir)  # this run's own marker replaces it
        try:
            return self._run(command, *args, **options)
        except TerraformError as exc:
            why = stale_lock.stale(exc.lock, previous) if exc.lock is not None else None
            if why is None:
                raise
            self._run("force-unlock", exc.lock.id, capture=True, force=IsFlagged, no_color=IsFlagged)
            if self.on_notice:
                self.on_notice(f"released state lock {exc.lock.id}, {why}")
        return self._run(command, *args, **options)

    def environment(self) -> dict[str, str]:
        """The environment every Terraform process gets."""
        return {
            **os.environ,
            **self.env,
            **_FIXED_ENV,
            "TF_CLI_CONFIG_FILE": str(self._config_file()),
        }

    def _config_file(self) -> Path:
        if self._cli_config is None:
            mirror = cliconfig.find_plugin_mirror()
            self._cli_config = cliconfig.write_cli_config(
                self.state_dir,
                mirror=mirror,
                cache_may_break_lock_file=cliconfig.cache_may_break_lock_file_needed(self.workdir, mirror),
            )
        return self._cli_config

    def _run(
        self,
        command: str,
        *args: str,
        ok: Iterable[int] = (0,),
        json_ui: bool = False,
        capture: bool = False,
        **options: Any,
    ) -> _Outcome:
        """Run one command; stream (or capture) stdout, collect diagnostics, raise on failure."""
        if not self.workdir.is_dir():
            raise BadInput(f"{self.workdir}: no such directory (Terraform working directory)")
        options = {key: value for key, value in options.items() if value is not None}
        argv = _Argv(terraform_bin_path=str(self.binary)).generate_cmd_string(command, *args, **options)
        env = self.environment()
        try:
            process = subprocess.Popen(
                argv,
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
                # Its own process group: a Ctrl-C reaches only us, and we forward exactly one
                # SIGINT (two make Terraform exit at once, possibly leaving the state locked).
                start_new_session=True,
            )
        except OSError as exc:
            raise OperationFailed(f"could not run {argv[0]}: {exc}", hint=INSTALL_HINT) from exc

        started = time.monotonic()
        marker = stale_lock.write_marker(self.data_dir, process.pid, command) if command in _LOCKING else None
        stderr_parts: list[str] = []
        reader = threading.Thread(target=lambda: stderr_parts.append(process.stderr.read()), daemon=True)
        reader.start()
        outcome = _Outcome(returncode=-1)
        human: list[str] = []
        try:
            if capture:
                outcome.stdout = process.stdout.read()
            else:
                for line in iter(process.stdout.readline, ""):
                    self._take_line(line, json_ui, outcome, human)
                if not json_ui:
                    outcome.stdout = "".join(human)
            process.wait()
        except BaseException:
            _stop(process)
            raise
        finally:
            reader.join()
            process.stdout.close()
            process.stderr.close()
            # Ended by itself (even with an error), Terraform released its lock: the marker goes. Killed
            # by a signal (kill -9, the OOM killer) it may have left the lock: the marker stays, so
            # the next run can prove the lock stale.
            if process.poll() is not None and process.returncode >= 0:
                stale_lock.remove_marker(marker)
        stderr = "".join(stderr_parts)
        outcome.returncode = process.returncode
        _log_timing(command, self.workdir, time.monotonic() - started, process.returncode)
        outcome.diagnostics = unique([*outcome.diagnostics, *parse_human("".join(human)), *parse_human(stderr)])
        self.warnings = [d for d in outcome.diagnostics if not d.is_error]
        if outcome.returncode not in tuple(ok):
            raise self._failure(command, outcome.diagnostics, outcome.returncode, stderr)
        return outcome

    def _take_line(self, line: str, json_ui: bool, outcome: _Outcome, human: list[str]) -> None:
        """Handle one stdout line as it arrives."""
        message: Any = None
        if json_ui and line.startswith("{"):
            try:
                message = json.loads(line)
            except ValueError:
                message = None
        if not isinstance(message, dict):
            human.append(line)
            text = line.rstrip()
            if not json_ui and self.on_line and text.startswith(_INIT_PROGRESS):  # not indented
                self.on_line(text)
            return
        kind = message.get("type")
        diagnostic = from_ui_message(message)
        if diagnostic is not None:
            outcome.diagnostics.append(diagnostic)
        elif kind == "change_summary" and isinstance(message.get("changes"), dict):
            outcome.changes = message["changes"]
        if self.on_line and kind in _PROGRESS_TYPES and message.get("@message"):
            self.on_line(str(message["@message"]))

    def _failure(self, command: str, diagnostics: Sequence[Diagnostic], returncode: int, stderr: str) -> TerraformError:
        log_path = self._write_log(command, diagnostics, returncode, stderr)
        return failure(
            command, diagnostics, workdir=self.workdir, returncode=returncode, stderr=stderr, log_path=log_path
        )

    def _write_log(self, command: str, diagnostics: Sequence[Diagnostic], returncode: int, stderr: str) -> Path | None:
        """Keep a failed command's diagnostics (never its raw JSON stdout) for the user to read."""
        path = self.state_dir / "logs" / f"terraform-{self.workdir.name}-{command}.log"
        body = [f"terraform {command} in {self.workdir}: exit code {returncode}", ""]
        body += [d.full_text() + "\n" for d in diagnostics]
        if stderr.strip():
            body += ["--- stderr ---", stderr.rstrip()]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(body) + "\n", encoding="utf-8")
        except OSError:
            return None
        return path


# --- helpers --------------------------------------------------------------------------------


def _log_timing(command: str, workdir: Path, seconds: float, returncode: int) -> None:
    """With PLATFORM_TERRAFORM_TIMINGS=<file>, one line per Terraform command (for benchmarks and profiling)."""
    target = os.environ.get(TIMINGS_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as log:
            log.write(f"{seconds:.2f}\t{command}\t{returncode}\t{workdir}\n")


def _stop(process: subprocess.Popen[str]) -> None:
    """Ask Terraform to stop as it would on Ctrl-C (it releases its state lock), and wait."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait()
    except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
        process.kill()
        process.wait()
        raise


def _counts(changes: Mapping[str, Any]) -> dict[str, int]:
    return {
        "add": int(changes.get("add") or 0),
        "change": int(changes.get("change") or 0),
        "destroy": int(changes.get("remove") or 0),
        "imports": int(changes.get("import") or 0),
    }


def _json_document(text: str, what: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise OperationFailed(
            f"terraform {what} printed something that is not JSON: {text.strip()[:120]!r}", hint="rerun with --debug"
        ) from exc
    if not isinstance(document, dict):
        raise OperationFailed(f"terraform {what} printed {type(document).__name__}, not a JSON object")
    return document


def _backend_value(value: object) -> str:
    """A ``-backend-config`` value: strings as they are, anything else as an HCL expression."""
    return value if isinstance(value, str) else _hcl(value)


def _hcl(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value).replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key} = {_hcl(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_hcl(item) for item in value) + "]"
    raise TypeError(f"cannot pass {type(value).__name__} as a backend setting")
