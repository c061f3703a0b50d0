"""Terraform diagnostics, turned into the kit's one-line errors.

Terraform reports problems as *diagnostics*: a severity, a summary, an optional detail and an
optional source range. They arrive in two shapes:

- JSON: ``"type": "diagnostic"`` lines of the machine-readable UI (``plan -json``, ``apply
  -json``) and the ``diagnostics`` list of ``validate -json``. Parsed by ``from_json`` and
  ``from_ui_message``.
- Human text, for commands with no JSON mode (``init``) and for anything Terraform writes to
  stderr. With colour the blocks are boxed (``╷ │ Error: ... ╵``); with ``-no-color`` they are
  not. Parsed by ``parse_human``.

Either way a ``Diagnostic`` renders as ``FILE:LINE: summary: first sentence of detail``.
``failure`` turns a failed command's diagnostics into a ``TerraformError`` (an
``OperationFailed``) whose message is the first error's line. A state-lock error names the lock's
holder and hints at the exact ``terraform force-unlock`` command; nothing here ever runs it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platform_kit.errors import OperationFailed

ERROR = "error"
WARNING = "warning"

# init prints this wrapper before the real configuration errors; it carries no information.
_INIT_PREAMBLE = "Terraform encountered problems during initiali"
_LOCK_SUMMARIES = ("Error acquiring the state lock", "Error locking state")
_MAX_SENTENCE = 240

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_HEAD = re.compile(r"^(Error|Warning): ?(.*)$")
_WHERE = re.compile(r"^\s*on (?P<file>.+?) line (?P<line>\d+)(?:, in .*)?:\s*$")
_WITH = re.compile(r"^\s*with (?P<address>\S+),\s*$")
_SNIPPET = re.compile(r"^\s*\d+:(?: |$)")
_SNIPPET_VALUE = re.compile(r"^\s*[├│└]")
_SENTENCE = re.compile(r"^(.+?[.!?])(?=\s|$)")
_LOCK_FIELD = re.compile(r"^\s*(ID|Path|Operation|Who|Version|Created|Info):\s*(.*?)\s*$")


@dataclass(frozen=True)
class Diagnostic:
    """One Terraform diagnostic."""

    severity: str  # "error" or "warning"
    summary: str
    detail: str = ""
    filename: str | None = None
    line: int | None = None
    address: str | None = None  # the resource it concerns, when Terraform says

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def one_line(self) -> str:
        """``FILE:LINE: summary: first sentence of detail`` (parts left out when unknown)."""
        sentence = first_sentence(self.detail)
        head = self._head()
        return f"{head}: {sentence}" if sentence else head

    def full_text(self) -> str:
        """Everything known, for logs: ``FILE:LINE: summary``, the address, the whole detail."""
        parts = [f"{self.severity.capitalize()}: {self._head()}"]
        if self.address:
            parts.append(f"  resource: {self.address}")
        if self.detail:
            parts.append("\n".join(f"  {line}" if line else "" for line in self.detail.splitlines()))
        return "\n".join(parts)

    def _head(self) -> str:
        where = ""
        if self.filename:
            where = f"{self.filename}:{self.line}: " if self.line else f"{self.filename}: "
        return where + self.summary.rstrip(" .:")


@dataclass(frozen=True)
class LockInfo:
    """Who holds a Terraform state lock, from the ``Lock Info:`` block of a lock error."""

    id: str
    who: str | None = None
    path: str | None = None
    operation: str | None = None
    created: str | None = None
    version: str | None = None
    info: str | None = None


class TerraformError(OperationFailed):
    """A Terraform command failed; ``diagnostics`` holds everything it reported."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        diagnostics: Sequence[Diagnostic] = (),
        lock: LockInfo | None = None,
        log_path: Path | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.diagnostics = list(diagnostics)
        self.lock = lock
        self.log_path = log_path


# --- parsing --------------------------------------------------------------------------------


def first_sentence(text: str) -> str:
    """The first sentence of the first paragraph, on one line and capped in length."""
    paragraph = text.strip().split("\n\n", 1)[0]
    flat = " ".join(paragraph.split())
    if not flat:
        return ""
    match = _SENTENCE.match(flat)
    sentence = match.group(1) if match else flat
    if len(sentence) > _MAX_SENTENCE:
        sentence = sentence[: _MAX_SENTENCE - 1].rstrip() + "…"
    return sentence


def from_json(diagnostic: Mapping[str, Any]) -> Diagnostic:
    """A diagnostic object as in ``validate -json`` or the ``diagnostic`` key of a UI line."""
    source = diagnostic.get("range") or {}
    start = source.get("start") or {}
    line = start.get("line")
    return Diagnostic(
        severity=str(diagnostic.get("severity") or ERROR),
        summary=str(diagnostic.get("summary") or "").strip(),
        detail=str(diagnostic.get("detail") or "").strip(),
        filename=source.get("filename") or None,
        line=int(line) if isinstance(line, int) else None,
        address=diagnostic.get("address") or None,
    )


def from_ui_message(message: Mapping[str, Any]) -> Diagnostic | None:
    """The diagnostic in one machine-readable UI message, or None if it is another type."""
    if message.get("type") != "diagnostic" or not isinstance(message.get("diagnostic"), Mapping):
        return None
    return from_json(message["diagnostic"])


def parse_human(text: str) -> list[Diagnostic]:
    """Diagnostics from Terraform's human output, boxed (colour) or not (``-no-color``).

    Without the box nothing marks where a diagnostic ends, so text printed after the last one
    can end up in its detail; ``one_line`` only uses the detail's first sentence.
    """
    found: list[Diagnostic] = []
    block: _Block | None = None
    for raw in text.splitlines():
        line = _ANSI.sub("", raw).rstrip()
        if line.startswith(("╷", "╵")):
            if block is not None:
                found.append(block.done())
                block = None
            continue
        if line.startswith("│"):
            line = line[2:] if line.startswith("│ ") else line[1:]
        head = _HEAD.match(line)
        if head:
            if block is not None:
                found.append(block.done())
            block = _Block(head.group(1).lower(), [head.group(2)])
        elif block is not None:
            block.feed(line)
    if block is not None:
        found.append(block.done())
    return found


@dataclass
class _Block:
    """A human-text diagnostic being read: summary lines, a blank, location, blank, detail."""

    severity: str
    summary: list[str]
    in_summary: bool = True
    filename: str | None = None
    line: int | None = None
    address: str | None = None
    detail: list[str] | None = None

    def feed(self, line: str) -> None:
        if self.in_summary:
            if line.strip():
                self.summary.append(line.strip())
            else:
                self.in_summary = False
            return
        if self.detail is None:  # still in the location section
            where = _WHERE.match(line)
            if where:
                self.filename, self.line = where.group("file"), int(where.group("line"))
                return
            with_address = _WITH.match(line)
            if with_address:
                self.address = with_address.group("address")
                return
            if not line.strip() or _SNIPPET.match(line) or _SNIPPET_VALUE.match(line):
                return
            self.detail = []
        self.detail.append(line)

    def done(self) -> Diagnostic:
        return Diagnostic(
            severity=self.severity,
            summary=" ".join(part for part in self.summary if part),
            detail="\n".join(self.detail or []).strip(),
            filename=self.filename,
            line=self.line,
            address=self.address,
        )


def lock_info(diagnostic: Diagnostic) -> LockInfo | None:
    """The lock holder named in a state-lock error, or None if this is not one."""
    if not any(s in diagnostic.summary for s in _LOCK_SUMMARIES) or "Lock Info:" not in diagnostic.detail:
        return None
    fields: dict[str, str] = {}
    for line in diagnostic.detail.split("Lock Info:", 1)[1].splitlines():
        match = _LOCK_FIELD.match(line)
        if match:
            fields[match.group(1).lower()] = match.group(2)
    if not fields.get("id"):
        return None
    return LockInfo(
        id=fields["id"],
        who=fields.get("who") or None,
        path=fields.get("path") or None,
        operation=fields.get("operation") or None,
        created=fields.get("created") or None,
        version=fields.get("version") or None,
        info=fields.get("info") or None,
    )


# --- turning diagnostics into errors --------------------------------------------------------


def unique(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Drop repeats (the same problem can show up on stdout and stderr), keeping order."""
    seen: set[Diagnostic] = set()
    kept = []
    for diagnostic in diagnostics:
        if diagnostic not in seen:
            seen.add(diagnostic)
            kept.append(diagnostic)
    return kept


def errors_of(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """The errors, without init's content-free preamble when there are real ones."""
    errors = [d for d in unique(diagnostics) if d.is_error]
    real = [d for d in errors if not d.summary.startswith(_INIT_PREAMBLE)]
    return real or errors


def lock_message(lock: LockInfo) -> str:
    """One line naming the lock, its holder and the state it protects."""
    operation = (lock.operation or "").removeprefix("OperationType").lower()
    facts = [f"lock ID {lock.id}"]
    if operation:
        facts.append(f"held for {operation}")
    if lock.created:
        facts.append(f"since {lock.created}")
    state = lock.path or "the state"
    holder = lock.who or "an unknown holder"
    return f"{state} is locked by {holder} ({', '.join(facts)})"


def force_unlock_hint(lock: LockInfo, workdir: Path | None) -> str:
    """The exact command to release the lock by hand; only safe once its holder is gone."""
    command = f"terraform force-unlock {lock.id}"
    if workdir is not None:
        command = f"cd {shlex.quote(str(workdir))} && {command}"
    holder = lock.who or "its holder"
    return f"wait for {holder} to finish; if that run is dead, release the lock with: {command}"


def failure(
    command: str,
    diagnostics: Sequence[Diagnostic],
    *,
    workdir: Path | None = None,
    returncode: int | None = None,
    stderr: str = "",
    log_path: Path | None = None,
) -> TerraformError:
    """The error to raise for a failed ``terraform <command>``.

    The message is the first error's one-line form, with ``(+N more)`` when there are others;
    a held state lock gets a message naming it and a ``force-unlock`` hint instead.
    """
    errors = errors_of(diagnostics)
    kept = unique(diagnostics)
    lock = next((info for info in map(lock_info, errors) if info is not None), None)
    if lock is not None:
        return TerraformError(
            lock_message(lock),
            force_unlock_hint(lock, workdir),
            diagnostics=kept,
            lock=lock,
            log_path=log_path,
        )
    if errors:
        message = errors[0].one_line()
        if len(errors) > 1:
            message += f" (+{len(errors) - 1} more)"
        what = f"all {len(errors)} errors" if len(errors) > 1 else "the whole error"
    else:
        last = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "")
        code = f" (exit code {returncode})" if returncode is not None else ""
        message = f"terraform {command} failed{code}" + (f": {last}" if last else "")
        what = "Terraform's output"
    hint = f"see {what} in {log_path}" if log_path else f"rerun with --debug to see {what}"
    return TerraformError(message, hint, diagnostics=kept, log_path=log_path)
