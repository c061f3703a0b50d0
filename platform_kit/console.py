"""All terminal styling in one place: people get rich text, machines get JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.theme import Theme

_THEME = Theme(
    {
        "info": "cyan",
        "success": "bold green",
        "warning": "yellow",
        "error": "bold red",
        "muted": "dim",
        "hint": "italic",
    }
)

out = Console(theme=_THEME, highlight=False, soft_wrap=True)
err = Console(theme=_THEME, highlight=False, stderr=True, soft_wrap=True)


def info(message: str) -> None:
    err.print(f"[info]{escape(message)}[/info]")


def step(message: str) -> None:
    err.print(f"[info]->[/info] {escape(message)}")


def success(message: str) -> None:
    err.print(f"[success]OK[/success] {escape(message)}")


def warning(message: str) -> None:
    err.print(f"[warning]Warning:[/warning] {escape(message)}")


def error(message: str, hint: str | None = None) -> None:
    err.print(f"[error]Error:[/error] {escape(message)}")
    if hint:
        err.print(f"[hint]Hint: {escape(hint)}[/hint]")


def next_commands(*commands: str) -> None:
    if commands:
        err.print("[muted]Next:[/muted] " + "  |  ".join(f"[bold]{escape(c)}[/bold]" for c in commands))


def emit_json(data: Any) -> None:
    """Print data as JSON on stdout, nothing else, so it pipes into jq."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()
