"""The ``platform`` command: a thin shell that wires command groups and global options.

Each command lives in its own module under ``platform_kit.commands`` and calls one core function.
Heavy libraries (boto3, kubernetes, kfp, pydantic models) are imported inside commands, so
``platform --help`` stays fast.
"""

from __future__ import annotations

import sys

import typer

from platform_kit import context
from platform_kit.commands import (
    bootstrap,
    catalog,
    ci,
    doctor,
    infra,
    launch,
    offboard,
    onboard,
    render,
    sandbox,
    schema,
    smoke,
    teams,
    transfer,
    upgrade,
    usage,
    validate,
)
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption, YesOption

app = typer.Typer(
    name="platform",
    help="Provision and run the ML orchestration platform (Kubeflow Pipelines on EKS) for many model teams.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"platform-kit {version('platform-kit')}")
        raise typer.Exit()


@app.callback()
def root(
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
    yes: YesOption = False,
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Global options apply to every command and may also be given after the command name."""
    context.set_current(context.Settings())
    context.resolve(env=env, config_dir=config_dir, output=output, debug=debug, yes=yes)


# Commands in the order a newcomer meets them. Only commands that work are listed.
app.command("validate", rich_help_panel="Configuration")(validate.command)
app.command("schema", rich_help_panel="Configuration")(schema.command)
app.command("doctor", rich_help_panel="Environment")(doctor.command)
app.add_typer(sandbox.app, name="sandbox", rich_help_panel="Environment")
app.command("bootstrap", rich_help_panel="Infrastructure")(bootstrap.command)
app.add_typer(infra.app, name="infra", rich_help_panel="Infrastructure")
app.add_typer(upgrade.app, name="upgrade", rich_help_panel="Infrastructure")
app.add_typer(ci.app, name="ci", rich_help_panel="Infrastructure")
app.command("render", rich_help_panel="Cluster")(render.command)
app.command("onboard-team", rich_help_panel="Teams")(onboard.command)
app.command("offboard-team", rich_help_panel="Teams")(offboard.command)
app.command("transfer-owner", rich_help_panel="Teams")(transfer.command)
app.add_typer(teams.app, name="teams", rich_help_panel="Teams")
app.add_typer(catalog.app, name="catalog", rich_help_panel="Workloads")
app.add_typer(smoke.app, name="smoke", rich_help_panel="Workloads")
app.command("launch", rich_help_panel="Workloads")(launch.command)
app.command("usage", rich_help_panel="Workloads")(usage.command)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app and turn every ``PlatformError`` into one line and an exit code."""
    from platform_kit.errors import PlatformError

    try:
        app(args=argv, prog_name="platform")
    except PlatformError as exc:
        from platform_kit import console

        if context.current().debug:
            console.err.print_exception()
        report_error(exc)
        sys.exit(exc.exit_code)
    except Exception as exc:
        # An AWS error the kit did not expect still gets one line (the traceback only with --debug).
        if not type(exc).__module__.startswith("botocore"):
            raise
        from platform_kit import console
        from platform_kit.errors import OperationFailed

        if context.current().debug:
            console.err.print_exception()
        report_error(
            OperationFailed(
                f"AWS call failed: {exc}", hint="check the environment's credentials and region; --debug shows where"
            )
        )
        sys.exit(1)
    except KeyboardInterrupt:
        from platform_kit import console

        console.error("interrupted; run the same command again to finish (every command is safe to re-run)")
        sys.exit(130)


def report_error(exc) -> None:
    """Print a PlatformError: every problem on its own line, then the message and hint (or JSON)."""
    from platform_kit import console

    if context.current().json:
        problems = getattr(exc, "problems", None)
        payload = {"ok": False, "error": exc.message, "hint": exc.hint}
        if problems is not None:
            payload["problems"] = [p.as_dict() for p in problems]
        console.emit_json(payload)
        return
    problems = getattr(exc, "problems", None)
    if problems and len(problems) > 1:
        for problem in problems:
            console.err.print(str(problem), markup=False, highlight=False)
    console.error(exc.message, exc.hint)


if __name__ == "__main__":  # pragma: no cover
    main()
