"""``platform transfer-owner``: a team changes hands without its namespace being recreated."""

from __future__ import annotations

from typing import Annotated

import typer

from platform_kit import context
from platform_kit.commands.onboard import (
    AllowDestroyOption,
    KubeContextOption,
    WaitTimeoutOption,
    require_yes,
    run_and_report,
)
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption, YesOption


def command(
    name: Annotated[str, typer.Argument(help="The team.")],
    to: Annotated[str, typer.Option("--to", help="The new owner's email.")],
    previous_owner: Annotated[
        str,
        typer.Option("--previous-owner", help="What the previous owner keeps: edit, view, or none."),
    ] = "edit",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")] = False,
    kube_context: KubeContextOption = None,
    wait_timeout: WaitTimeoutOption = 120.0,
    allow_destroy: AllowDestroyOption = False,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
    yes: YesOption = False,
) -> None:
    """Make EMAIL the owner everywhere: the team file, the Profile, the namespace and the owner's bindings."""
    from platform_kit import onboarding, team_spec
    from platform_kit.errors import BadInput

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug, yes=yes)
    if previous_owner not in ("edit", "view", "none"):
        raise BadInput(f"--previous-owner '{previous_owner}' is not one of edit, view, none")
    require_yes(settings, dry_run, "transfer-owner")
    from platform_kit.config import load_platform

    loaded = load_platform(settings.config_dir)
    current = loaded.teams.get(name)
    members = []
    if current is not None and current.owner != to and previous_owner != "none":
        members.append(team_spec.Grant(current.owner, previous_owner))
    drop = [current.owner] if current is not None and current.owner != to and previous_owner == "none" else []
    request = team_spec.Request(name=name, owner=to, members=members, env=settings.env, drop_members=drop)
    candidate = onboarding.prepare(settings, request, from_file=None, write=True, must_exist=True, owner_change=True)
    assert settings.env is not None
    options = onboarding.Options(
        env=settings.env,
        dry_run=dry_run,
        yes=settings.yes,
        hand_over=True,
        namespace_timeout=wait_timeout,
        allow_destroy=allow_destroy,
    )
    run_and_report(
        settings,
        candidate,
        options,
        kube_context,
        command="transfer-owner",
        done=f"team {name} in {settings.env} is now owned by {to}",
    )
