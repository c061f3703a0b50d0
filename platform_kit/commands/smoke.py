"""``platform smoke run`` and ``platform smoke deploy``: the ``platform-health`` pipeline, run locally
against the env's AWS, or scheduled in the cluster for each team through the KFP API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from platform_kit import console, context
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption
from platform_kit.smoke_deploy import DEFAULT_SCHEDULE  # the module loads kfp only when it deploys

app = typer.Typer(
    help="Run the platform-health smoke pipeline for a team, or schedule it in the cluster.", no_args_is_help=True
)

TeamOption = Annotated[str, typer.Option("--team", "-t", help="The team whose path to check.")]
LocalOption = Annotated[
    bool, typer.Option("--local", help="Run with kfp.local in this Python against the env's AWS (no cluster).")
]
PrOption = Annotated[
    str | None,
    typer.Option(
        "--pr",
        help="CI mode: comment the outcome on this pull request, OWNER/REPO#NUMBER (token: github.token).",
    ),
]
ImageOption = Annotated[
    str | None, typer.Option("--training-image", help="Image for the tiny SageMaker job (default: the env's catalog).")
]


@app.command("run")
def run(
    team: TeamOption,
    local: LocalOption = False,
    training_image: ImageOption = None,
    pr: PrOption = None,
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
            "only --local runs are available here: runs in the cluster are scheduled by `platform smoke deploy`",
            hint=f"platform smoke run --team {team} --env {settings.env} --local",
        )
    loaded = load_platform(settings.config_dir)
    loaded.env(settings.env)
    assert settings.env is not None
    infra = Infra(settings, loaded, settings.env)
    if not settings.json:
        console.step(f"running platform-health for {team} in {settings.env} (kfp.local)")
    result = smoke.run_for_team(infra, team, training_image=training_image, pull_request=pr)
    if settings.json:
        console.emit_json(result.as_dict())
        return
    for note in result.notes:
        console.info(note)
    for check, outcome in result.checks.items():
        console.info(f"{check}: {outcome}")
    console.success(f"platform-health passed for {team} in {settings.env}")
    console.next_commands(f"platform teams show {team} --env {settings.env}")


TeamsOption = Annotated[
    list[str] | None, typer.Option("--team", "-t", help="A team to schedule platform-health for (repeatable).")
]
AllOption = Annotated[bool, typer.Option("--all", help="Every team active in the environment.")]
KfpUrlOption = Annotated[
    str | None,
    typer.Option("--kfp-url", help="The Pipelines API (default: https://<env's kubeflow hostname>/pipeline)."),
]
ScheduleOption = Annotated[
    str,
    typer.Option("--schedule", help="KFP's six-field cron, seconds first (default: daily at 06:00)."),
]
CaBundleOption = Annotated[
    Path | None,
    typer.Option(
        "--ca-bundle",
        envvar="KFP_CA_BUNDLE",
        show_envvar=True,
        help="PEM file to verify the gateway's certificate with (default: the system's trust store).",
    ),
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Read KFP and say what would change; change nothing.")]


@app.command("deploy")
def deploy(
    team: TeamsOption = None,
    all_teams: AllOption = False,
    kfp_url: KfpUrlOption = None,
    schedule: ScheduleOption = DEFAULT_SCHEDULE,
    ca_bundle: CaBundleOption = None,
    dry_run: DryRunOption = False,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """Schedule platform-health in each team's namespace: the pipeline version, an experiment and a recurring run.

    Authenticates with the bearer token in KFP_TOKEN (a ServiceAccount token of the cluster, which the
    gateway's m2m RequestAuthentication accepts). Safe to re-run: what already matches is left alone."""
    from platform_kit import kfp_api, smoke_deploy
    from platform_kit.config import load_platform
    from platform_kit.errors import OperationFailed
    from platform_kit.infra import Infra

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    loaded = load_platform(settings.config_dir)
    env_cfg = loaded.env(settings.env)
    assert settings.env is not None
    # Every input is checked before the first call to anything.
    names = smoke_deploy.select_teams(loaded, settings.env, team or [], all_teams)
    cron = smoke_deploy.check_schedule(schedule)
    url, token = kfp_api.endpoint(env_cfg, kfp_url, ca_bundle, dict(os.environ))
    infra = Infra(settings, loaded, settings.env)
    client = kfp_api.connect(url, token, namespace=names[0], ca_bundle=ca_bundle)
    if not settings.json:
        verb = "checking" if dry_run else "deploying"
        console.step(f"{verb} platform-health for {', '.join(names)} in {settings.env} ({url})")
    result = smoke_deploy.deploy(infra, client, teams=names, schedule=cron, kfp_url=url, dry_run=dry_run)
    if settings.json:
        console.emit_json(result.as_dict())
    else:
        _print_deploy(result)
    if result.failed:
        first = result.failed[0]
        more = f" (and {len(result.failed) - 1} more team(s); see above)" if len(result.failed) > 1 else ""
        raise OperationFailed(
            f"{first.error}{more}",
            hint=(first.hint + "; " if first.hint else "")
            + "the other teams are done: fix this and run the same command again",
        )
    if not settings.json:
        team_flags = " ".join(f"--team {t.team}" for t in result.teams)
        if dry_run:
            console.next_commands(f"platform smoke deploy --env {result.env} {team_flags}")
        else:
            console.next_commands(f"platform smoke deploy --env {result.env} {team_flags} --dry-run")


def _print_deploy(result) -> None:
    from rich.markup import escape
    from rich.table import Table

    from platform_kit.smoke_deploy import PIPELINE_NAME as PIPELINE

    prefix = "dry run: " if result.dry_run else ""
    console.info(f"{prefix}pipeline {PIPELINE}: {result.pipeline}; version {result.version}: {result.version_status}")
    table = Table(title=f"platform-health in {result.env} ({result.schedule})", show_edge=False, title_justify="left")
    for column in ("team", "experiment", "recurring run", "id", "note"):
        table.add_column(column, overflow="fold")
    for team in result.teams:
        note = "FAILED: " + team.error if not team.ok else ""
        if team.paused:
            note = (note + "; " if note else "") + "paused by someone: left paused"
        if team.removed:
            gone = "would delete" if result.dry_run else "deleted"
            note = (note + "; " if note else "") + f"{gone} {len(team.removed)} old recurring run(s)"
        table.add_row(
            escape(team.team), team.experiment or "-", team.recurring_run or "-", team.recurring_run_id, escape(note)
        )
    console.out.print(table)
    done = [t for t in result.teams if t.ok]
    if done and not result.dry_run:
        console.success(f"platform-health scheduled for {len(done)} of {len(result.teams)} team(s) in {result.env}")
