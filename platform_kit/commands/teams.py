"""``platform teams list|show``: the teams of the desired state, from platform/ alone (no AWS, no cluster)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from platform_kit import console, context
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption

app = typer.Typer(help="List teams and show one: owner, access, quota, state and derived names.", no_args_is_help=True)


def _quota(team) -> str:
    q = team.quotas
    return f"{q.cpu} CPU, {q.memory}, {q.gpu} GPU, {q.storage}"


def describe(cfg, team, env: str | None) -> dict[str, Any]:
    """One team as data: what platform/teams/<team>.yaml says plus the names the kit derives from it."""
    from platform_kit import naming
    from platform_kit.render import team as team_render

    data: dict[str, Any] = {
        "name": team.name,
        "display_name": team.display_name,
        "owner": team.owner,
        "state": team.state,
        "offboarded_in": list(team.offboarded_in),
        "environments": list(team.environments),
        "members": [{"email": m.email, "role": m.role} for m in team.members],
        "groups": [{"name": g.name, "role": g.role} for g in team.groups],
        "quotas": team.quotas.model_dump(),
        "cost_center": team.cost_center,
    }
    if env is not None:
        data["derived"] = {
            "env": env,
            "namespace": naming.team_namespace(team.name),
            "role_arn": team_render.team_role_arn(cfg, env, team.name),
            "artifact_prefixes": naming.team_artifact_prefixes(team.name),
            "ecr_repository": naming.team_ecr_repository(cfg.organisation.name, team.name) if team.aws.ecr else None,
            "state_key": naming.team_state_key(env, team.name),
        }
    return data


@app.command("list")
def list_command(
    env: EnvOption = None, config_dir: ConfigDirOption = None, output: OutputOption = None, debug: DebugOption = False
) -> None:
    """A table of teams (all, or those of --env): owner, groups, quota, state."""
    from rich.markup import escape
    from rich.table import Table

    from platform_kit.config import load_platform

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    loaded = load_platform(settings.config_dir)
    if settings.env is not None:
        loaded.env(settings.env)
    teams = loaded.teams_in(settings.env) if settings.env else list(loaded.teams.values())
    teams = sorted(teams, key=lambda t: t.name)
    if settings.json:
        console.emit_json([describe(loaded.platform, t, settings.env) for t in teams])
        return
    table = Table(title=f"Teams{' in ' + settings.env if settings.env else ''}", show_edge=False, title_justify="left")
    for column in ("team", "environments", "owner", "groups", "quota", "state"):
        table.add_column(column, overflow="fold")
    for team in teams:
        groups = ", ".join(f"{g.name} ({g.role})" for g in team.groups) or "-"
        if team.state == "stale":
            state = "[warning]stale[/warning]"
        elif team.offboarded_in:
            state = f"active; [warning]offboarded in {', '.join(team.offboarded_in)}[/warning]"
        else:
            state = "active"
        table.add_row(
            escape(team.name), ", ".join(team.environments), escape(team.owner), escape(groups), _quota(team), state
        )
    console.out.print(table)
    console.info(f"{len(teams)} team(s)")


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="The team.")],
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """One team in detail; with --env also its namespace, role ARN, artifact prefixes, ECR repository and state key."""
    from rich.markup import escape
    from rich.table import Table

    from platform_kit.config import load_platform
    from platform_kit.errors import BadInput

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    loaded = load_platform(settings.config_dir)
    if settings.env is not None:
        loaded.env(settings.env)
    team = loaded.teams.get(name)
    if team is None:
        raise BadInput(f"no team '{name}' in {settings.config_dir}/teams/", hint="see: platform teams list")
    if settings.env is not None and settings.env not in team.environments:
        raise BadInput(f"team '{name}' is not in environment '{settings.env}' (its: {', '.join(team.environments)})")
    data = describe(loaded.platform, team, settings.env)
    if settings.json:
        console.emit_json(data)
        return
    table = Table(show_header=False, show_edge=False, box=None, title=f"{team.display_name} ({team.name})")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("owner", escape(team.owner))
    table.add_row(
        "state", team.state + (f" (offboarded in {', '.join(team.offboarded_in)})" if team.offboarded_in else "")
    )
    table.add_row("environments", ", ".join(team.environments))
    table.add_row("members", escape(", ".join(f"{m.email} ({m.role})" for m in team.members) or "-"))
    table.add_row("groups", escape(", ".join(f"{g.name} ({g.role})" for g in team.groups) or "-"))
    table.add_row("quota", f"{_quota(team)}, {team.quotas.pods} pods")
    table.add_row("cost center", escape(team.cost_center))
    for key, value in (data.get("derived") or {}).items():
        if key != "env":
            table.add_row(key.replace("_", " "), escape(", ".join(value) if isinstance(value, list) else str(value)))
    console.out.print(table)
