"""``platform schema``: write the JSON Schemas that editors use to check platform YAML as you type."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from platform_kit import context
from platform_kit.context import ConfigDirOption, OutputOption

DEFAULT_OUT = Path("docs/schema")


def command(
    out: Annotated[Path | None, typer.Option("--out", help="Folder to write into (default: docs/schema).")] = None,
    check: Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 if the files are stale.")] = False,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
) -> None:
    """Write platform.schema.json and team.schema.json (unchanged files are left alone)."""
    from platform_kit import console
    from platform_kit.config.schema import write_schemas
    from platform_kit.errors import OperationFailed

    settings = context.resolve(config_dir=config_dir, output=output)
    target = out or settings.project_dir / DEFAULT_OUT
    changed = write_schemas(target, dry_run=check)
    if settings.json:
        console.emit_json({"ok": not (check and changed), "out": str(target), "changed": [str(p) for p in changed]})
    if check and changed:
        raise OperationFailed(
            f"{', '.join(str(p) for p in changed)}: stale JSON Schema",
            hint="run: platform schema, and commit the result",
        )
    if not settings.json:
        if changed:
            for path in changed:
                console.success(f"wrote {path}")
        else:
            console.success(f"{target}: schemas up to date")
