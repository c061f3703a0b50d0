"""``platform sandbox start|stop|status``: the local moto server that stands in for AWS."""

from __future__ import annotations

import typer

from platform_kit import console, context
from platform_kit.context import ConfigDirOption, DebugOption, OutputOption

EXIT_NOT_RUNNING = 3  # like `systemctl status` for an inactive unit

app = typer.Typer(
    help="The local AWS stand-in (a moto server on 127.0.0.1) that the sandbox environment uses.",
    no_args_is_help=True,
)


@app.command("start")
def start_command(
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = None,
) -> None:
    """Start the sandbox, or report the one already running (safe to run twice)."""
    from platform_kit import sandbox

    settings = context.resolve(config_dir=config_dir, output=output, debug=debug)
    was_running = sandbox.status(settings.state_dir)
    info = sandbox.start(settings.state_dir)
    already = was_running is not None and was_running.pid == info.pid
    if settings.json:
        console.emit_json({"running": True, "already_running": already, **info.as_dict()})
        return
    if already:
        console.info(f"the sandbox is already running at {info.endpoint} (pid {info.pid})")
    else:
        console.success(f"sandbox started at {info.endpoint} (pid {info.pid}, log {info.log})")
    console.next_commands("platform doctor --env sandbox", "platform sandbox status", "platform sandbox stop")


@app.command("stop")
def stop_command(
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = None,
) -> None:
    """Stop the sandbox this kit started; nothing else is ever signalled. Safe when not running."""
    from platform_kit import sandbox

    settings = context.resolve(config_dir=config_dir, output=output, debug=debug)
    recorded = sandbox.read_state(settings.state_dir)
    stopped = sandbox.stop(settings.state_dir)
    stale = recorded is not None and not stopped
    if settings.json:
        console.emit_json(
            {"stopped": stopped, "stale_record_removed": stale, "pid": recorded.pid if recorded else None}
        )
        return
    if stopped:
        console.success(f"sandbox stopped (pid {recorded.pid if recorded else '?'})")
    elif stale:
        console.info(
            f"the sandbox was not running; removed a stale record (pid {recorded.pid} is gone "
            "or now belongs to another program, which was left alone)"
        )
    else:
        console.info("the sandbox is not running; nothing to stop")
    console.next_commands("platform sandbox start")


@app.command("status")
def status_command(
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = None,
) -> None:
    """Show whether the sandbox runs. Exit code 0: running; 3: not running (like systemctl)."""
    from platform_kit import sandbox

    settings = context.resolve(config_dir=config_dir, output=output, debug=debug)
    info = sandbox.status(settings.state_dir)
    if settings.json:
        console.emit_json({"running": True, **info.as_dict()} if info else {"running": False})
    elif info:
        console.success(f"sandbox running at {info.endpoint} (pid {info.pid}, since {info.started_at}, log {info.log})")
        console.next_commands("platform doctor --env sandbox", "platform sandbox stop")
    else:
        console.info("the sandbox is not running")
        console.next_commands("platform sandbox start")
    if info is None:
        raise typer.Exit(EXIT_NOT_RUNNING)
