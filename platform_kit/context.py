"""Global options, defined once and shared by every command.

Each global option can be given before the command (``platform --env dev doctor``) or after it
(``platform doctor --env dev``); the value given on the command wins. Settings are layered:
defaults, then environment variables, then flags.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


DEFAULT_CONFIG_DIR = "platform"

EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        envvar="PLATFORM_ENV",
        help="Environment from platform.yaml (sandbox, dev, prod...).",
        show_envvar=True,
    ),
]
ConfigDirOption = Annotated[
    Path | None,
    typer.Option(
        "--config-dir",
        envvar="PLATFORM_CONFIG_DIR",
        show_envvar=True,
        help="Folder with platform.yaml and teams/ (default: ./platform).",
    ),
]
OutputOption = Annotated[
    OutputFormat | None, typer.Option("--output", "-o", help="text for people, json for machines.")
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks and tool commands.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Answer yes to confirmations.")]


@dataclass(frozen=True)
class Settings:
    env: str | None = None
    config_dir: Path = Path(DEFAULT_CONFIG_DIR)
    output: OutputFormat = OutputFormat.text
    debug: bool = False
    yes: bool = False

    @property
    def json(self) -> bool:
        return self.output is OutputFormat.json

    @property
    def project_dir(self) -> Path:
        """The folder that holds ``platform/``: the kit's working tree."""
        return self.config_dir.resolve().parent

    @property
    def state_dir(self) -> Path:
        """Local, gitignored state (the sandbox's endpoint and pid, tool caches)."""
        override = os.environ.get("PLATFORM_STATE_DIR")
        return Path(override).resolve() if override else self.project_dir / ".platform"

    def with_overrides(
        self,
        *,
        env: str | None = None,
        config_dir: Path | None = None,
        output: OutputFormat | None = None,
        debug: bool | None = None,
        yes: bool | None = None,
    ) -> Settings:
        changes: dict = {}
        if env is not None:
            changes["env"] = env
        if config_dir is not None:
            changes["config_dir"] = config_dir
        if output is not None:
            changes["output"] = output
        if debug:
            changes["debug"] = True
        if yes:
            changes["yes"] = True
        return replace(self, **changes) if changes else self


_current = Settings()


def current() -> Settings:
    """The settings of the running invocation (also read by the entry point's error handler)."""
    return _current


def set_current(settings: Settings) -> Settings:
    global _current
    _current = settings
    return settings


def resolve(
    *,
    env: str | None = None,
    config_dir: Path | None = None,
    output: OutputFormat | None = None,
    debug: bool | None = None,
    yes: bool | None = None,
) -> Settings:
    """Merge a command's own flags over the root's and make them current."""
    return set_current(current().with_overrides(env=env, config_dir=config_dir, output=output, debug=debug, yes=yes))
