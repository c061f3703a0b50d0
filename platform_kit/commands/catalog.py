"""``platform catalog build``: compile the component catalog into a versioned folder (no AWS, no cluster)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from platform_kit import console, context
from platform_kit.context import ConfigDirOption, DebugOption, OutputOption

app = typer.Typer(help="Build the shared catalog: every component and pipeline, compiled.", no_args_is_help=True)

DEFAULT_OUT = Path("build") / "catalog"


@app.command("build")
def build_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder to build into (default: build/catalog beside platform/).")
    ] = None,
    image: Annotated[
        str | None,
        typer.Option("--image", help="The pinned image every component runs in (default: the kit's runtime image)."),
    ] = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """Compile every component and pipeline with the KFP compiler into OUT/<catalog version>/ with an index.json.

    Versions are content hashes, so the same catalog and image give the same folder; unchanged files are not
    rewritten, and OUT/latest names the newest catalog version."""
    from rich.markup import escape
    from rich.table import Table

    from platform_kit.catalog import images
    from platform_kit.catalog.build import LATEST, build_catalog

    settings = context.resolve(config_dir=config_dir, output=output, debug=debug)
    target = out or settings.project_dir / DEFAULT_OUT
    index = build_catalog(target, image or images.RUNTIME_IMAGE)
    if settings.json:
        console.emit_json(index.as_dict())
        return
    table = Table(title=f"Catalog {index.catalog_version}", show_edge=False, title_justify="left")
    for column in ("name", "kind", "version", "images"):
        table.add_column(column, overflow="fold")
    for entry in index.entries:
        table.add_row(escape(entry.name), entry.kind, entry.version, escape(", ".join(entry.images)))
    console.out.print(table)
    if index.unchanged:
        console.success(f"{index.index_path}: unchanged ({len(index.entries)} entries)")
    else:
        console.success(f"{index.index_path}: wrote {len(index.written)} file(s) ({len(index.entries)} entries)")
    console.info(f"{target / LATEST} -> {index.catalog_version}")
    upload = [
        f"kfp --endpoint KFP_URL pipeline create -p {e.name} {index.directory / e.file}"
        for e in index.entries
        if e.kind == "pipeline"
    ]
    console.next_commands(*upload[:1], "platform catalog build --image REGISTRY/NAME:TAG  (for another image)")
