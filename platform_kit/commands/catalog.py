"""``platform catalog build`` compiles the component catalog into a versioned folder (no AWS, no cluster);
``platform catalog publish`` uploads that build to an environment's artifact bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from platform_kit import console, context
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption

app = typer.Typer(
    help="Build the shared catalog (every component and pipeline, compiled) and publish it.", no_args_is_help=True
)

DEFAULT_OUT = Path("build") / "catalog"


@app.command("build")
def build_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder to build into (default: build/catalog beside platform/).")
    ] = None,
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            help="The pinned image every component runs in (default: the kit's runtime image, in the "
            "environment's catalog repository with --env).",
        ),
    ] = None,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """Compile every component and pipeline with the KFP compiler into OUT/<catalog version>/ with an index.json.

    Versions are content hashes, so the same catalog and image give the same folder; unchanged files are not
    rewritten, and OUT/latest names the newest catalog version. No AWS call, with or without --env."""
    from rich.markup import escape
    from rich.table import Table

    from platform_kit.catalog import images
    from platform_kit.catalog.build import LATEST, build_catalog

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    target = out or settings.project_dir / DEFAULT_OUT
    if image is None and settings.env is not None:
        from platform_kit.config import load_platform

        loaded = load_platform(settings.config_dir)
        loaded.env(settings.env)
        image = images.for_environment(loaded, settings.env)
    index = build_catalog(target, image or images.runtime_image())
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


@app.command("image")
def image_command(
    engine: Annotated[
        str | None,
        typer.Option("--engine", help="Container engine: docker or podman (default: the first on PATH)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for build contexts (default: build/catalog-image beside platform/)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write the build context and check the registry; build nothing.")
    ] = False,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """Build the catalog's runtime image and, with --env, push it to the environment's catalog repository.

    The image holds the pinned libraries the components use and the kit's catalog runtime; its tag is a hash
    of its build context. With --env, a tag already in the repository is not built again (ECR tags are
    immutable), so running this again is free (with another registry, --env builds and pushes each time).
    Needs docker or podman on PATH, except with --dry-run."""
    from platform_kit.catalog import runtime_image as runtime

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    if engine is not None:
        runtime.find_engine(engine)  # a wrong --engine is bad input, found before any AWS call
    registry, base = None, runtime.DEFAULT_BASE_IMAGE
    if settings.env is not None:
        from platform_kit.catalog import images
        from platform_kit.config import load_platform
        from platform_kit.infra import Infra

        loaded = load_platform(settings.config_dir)
        loaded.env(settings.env)
        base = images.base_image(loaded, settings.env)
        registry = runtime.registry_for(Infra(settings, loaded, settings.env))
    result = runtime.ensure_image(
        out or settings.project_dir / runtime.DEFAULT_OUT,
        base_image=base,
        registry=registry,
        engine_name=engine,
        dry_run=dry_run,
    )
    if settings.json:
        console.emit_json(result.as_dict())
        return
    for step in result.steps:
        console.info(step)
    said = {
        "unchanged": "already in the registry; nothing built",
        "pushed": f"built and pushed ({result.digest or 'digest not reported'})",
        "built": "built (local image; --env pushes it to an environment's repository)",
        "would push": "not in the registry; would be built and pushed (dry run)",
        "would build": "would be built (dry run)",
    }[result.action]
    console.success(f"{result.reference}: {said}")
    console.info(f"build context: {result.context_dir}")
    env_flag = f" --env {settings.env}" if settings.env else ""
    if result.action.startswith("would"):
        console.next_commands(f"platform catalog image{env_flag}")
    else:
        console.next_commands(
            f"platform catalog build{env_flag}", f"platform catalog publish{env_flag or ' --env ENV'}"
        )


@app.command("publish")
def publish_command(
    source: Annotated[
        Path | None,
        typer.Option("--from", help="Build folder (default: build/catalog beside platform/); publishes its latest."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compare with the bucket and show what would be uploaded; upload nothing.")
    ] = False,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """Upload the newest catalog build to the environment's artifact bucket under catalog/<catalog version>/,
    then point catalog/latest.json at it.

    Only missing or changed objects are uploaded (each carries its sha256), so publishing the same build
    again uploads nothing; older versions stay. Needs the platform's operator or CI credentials."""
    from rich.markup import escape
    from rich.table import Table

    from platform_kit.catalog.publish import UNCHANGED, load_build, publish_catalog
    from platform_kit.config import load_platform
    from platform_kit.errors import OperationFailed
    from platform_kit.infra import Infra

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    loaded = load_platform(settings.config_dir)
    loaded.env(settings.env)
    assert settings.env is not None
    root = source or settings.project_dir / DEFAULT_OUT
    load_build(root)  # a missing or altered build is refused before any AWS call
    infra = Infra(settings, loaded, settings.env)
    bucket = infra.platform_outputs().get("artifact_bucket_name")
    if not bucket:
        raise OperationFailed(
            f"the platform stack of '{settings.env}' has no output artifact_bucket_name",
            hint=f"run: platform infra apply --env {settings.env} --stack platform",
        )
    result = publish_catalog(infra.session(), str(bucket), root, dry_run=dry_run)
    if settings.json:
        console.emit_json(result.as_dict())
        return
    where = f"s3://{result.bucket}/{result.prefix}"
    table = Table(title=f"Catalog {result.catalog_version} -> {where}", show_edge=False, title_justify="left")
    for column in ("name", "kind", "version", "status"):
        table.add_column(column, overflow="fold")
    for item in result.objects:
        table.add_row(escape(item.name), item.kind, item.version, item.action)
    console.out.print(table)
    for note in result.notes:
        console.warning(note)
    pointer = f"s3://{result.bucket}/{result.pointer.key}"
    if result.pointer.action == UNCHANGED:
        console.info(f"{pointer} already names {result.catalog_version}")
    elif dry_run:
        console.info(f"{pointer} would move: {result.previous_version or 'none'} -> {result.catalog_version}")
    else:
        console.info(f"{pointer} moved: {result.previous_version or 'none'} -> {result.catalog_version}")
    sent = sum(1 for item in result.objects if item.action != UNCHANGED)
    if result.unchanged:
        console.success(f"{where}: unchanged ({len(result.objects)} objects, and the pointer)")
    elif dry_run:
        console.success(f"dry run: {sent} of {len(result.objects)} objects would be uploaded to {where}")
    else:
        console.success(f"{where}: uploaded {sent} of {len(result.objects)} objects")
    from_flag = f" --from {source}" if source else ""
    if dry_run:
        console.next_commands(f"platform catalog publish --env {settings.env}{from_flag}")
    else:
        # A build names one environment's runtime image: another environment gets its own build.
        others = [name for name in loaded.platform.environments if name != settings.env]
        console.next_commands(
            f"platform smoke deploy --env {settings.env} --all",
            *(f"platform catalog build --env {name}" for name in others[:1]),
        )
