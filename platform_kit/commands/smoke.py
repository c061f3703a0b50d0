"""``platform smoke run``: the ``platform-health`` pipeline for one team, run locally against the env's AWS."""

from __future__ import annotations

from typing import Annotated

import typer

from platform_kit import console, context
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption

app = typer.Typer(help="Run the platform-health smoke pipeline for a team.", no_args_is_help=True)

TeamOption = Annotated[str, typer.Option("--team", "-t", help="The team whose path to check.")]
LocalOption = Annotated[
    bool, typer.Option("--local", help="Run with kfp.local in this Python against the env's AWS (no cluster).")
]
ImageOption = Annotated[
    str | None, typer.Option("--training-image", help="Image for the tiny SageMaker job (default: the env's catalog).")
]


@app.command("run")
def run(
    team: TeamOption,
    local: LocalOption = False,
    training_image: ImageOption = None,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """Check one team's storage, SageMaker and Batch path (and Slack, when SLACK_WEBHOOK_URL is set)."""
    from platform_kit import smoke
    from platform_kit.config import load_platform
    from platform_kit.errors import BadInput
    from platform_kit.infra import Infra

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    if not local:
        raise BadInput(
            "only --local runs are available: a run in the cluster comes with `platform smoke deploy`",
            hint=f"platform smoke run --team {team} --env {settings.env} --local",
        )
    loaded = load_platform(settings.config_dir)
    loaded.env(settings.env)
    assert settings.env is not None
    infra = Infra(settings, loaded, settings.env)
    if not settings.json:
        console.step(f"running platform-health for {team} in {settings.env} (kfp.local)")
    result = smoke.run_for_team(infra, team, training_image=training_image)
    if settings.json:
        console.emit_json(result.as_dict())
        return
    for note in result.notes:
        console.info(note)
    for check, outcome in result.checks.items():
        console.info(f"{check}: {outcome}")
    console.success(f"platform-health passed for {team} in {settings.env}")
    console.next_commands(f"platform teams show {team} --env {settings.env}")
