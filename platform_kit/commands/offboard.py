"""``platform offboard-team``: the stale model. Access and the role's trust go; namespace, data and images stay."""

from __future__ import annotations

from typing import Annotated

import typer

from platform_kit import console, context
from platform_kit.commands.onboard import (
    AllowDestroyOption,
    KubeContextOption,
    WaitTimeoutOption,
    print_summary,
    require_yes,
    run_and_report,
)
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption, YesOption


def command(
    name: Annotated[str, typer.Argument(help="The team to offboard.")],
    force: Annotated[
        bool, typer.Option("--force", help="Offboard even while the team's pipeline runs are active.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")] = False,
    delete: Annotated[
        bool, typer.Option("--delete", help="Remove the Profile, namespace and team stack (needs --confirm NAME).")
    ] = False,
    confirm: Annotated[str | None, typer.Option("--confirm", help="The team's name again, for --delete.")] = None,
    purge_data: Annotated[
        bool, typer.Option("--purge-data", help="With --delete: also delete its artifacts and images.")
    ] = False,
    confirm_purge: Annotated[
        str | None, typer.Option("--confirm-purge", help="The team's name once more, for --purge-data.")
    ] = None,
    allow_destroy: AllowDestroyOption = False,
    kube_context: KubeContextOption = None,
    wait_timeout: WaitTimeoutOption = 120.0,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
    yes: YesOption = False,
) -> None:
    """Offboard a team: state: stale in its file, no one may assume its roles, member and group access revoked.

    The namespace, the Profile, the artifacts under the team's prefixes and its images stay, so the
    team can be brought back with onboard-team."""
    from platform_kit import onboarding, team_spec

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug, yes=yes)
    if delete or purge_data or confirm or confirm_purge:
        return _delete(
            settings,
            name,
            confirm,
            purge_data,
            confirm_purge,
            delete,
            force,
            kube_context,
            wait_timeout,
            dry_run=dry_run,
            allow_destroy=allow_destroy,
        )
    require_yes(settings, dry_run, "offboard-team")
    request = team_spec.Request(name=name, env=settings.env, state="stale")
    candidate = onboarding.prepare(settings, request, from_file=None, write=True, must_exist=True)
    assert settings.env is not None
    options = onboarding.Options(
        env=settings.env,
        dry_run=dry_run,
        yes=settings.yes,
        check_runs=True,
        force=force,
        namespace_timeout=wait_timeout,
        allow_destroy=allow_destroy,
    )
    run_and_report(
        settings,
        candidate,
        options,
        kube_context,
        command="offboard-team",
        done=f"team {name} offboarded in {settings.env} (state: stale)",
    )


def _delete(
    settings, name, confirm, purge, confirm_purge, delete, force, kube_context, wait_timeout, *, dry_run, allow_destroy
) -> None:
    """--delete: everything the team has in the environment goes, its data only with --purge-data."""
    import sys

    from platform_kit import onboarding
    from platform_kit.config import load_platform
    from platform_kit.errors import BadInput

    if not delete:
        raise BadInput("--confirm, --purge-data and --confirm-purge go with --delete")
    if confirm != name:
        raise BadInput(f"--delete needs --confirm {name} (the team's name) to say you mean it")
    if purge and confirm_purge is not None and confirm_purge != name:
        raise BadInput(f"--confirm-purge '{confirm_purge}' is not the team's name ({name})")
    if purge and confirm_purge is None and not dry_run and not sys.stdin.isatty():
        raise BadInput(f"--purge-data deletes the team's data: add --confirm-purge {name} (no terminal to ask)")
    loaded = load_platform(settings.config_dir)
    loaded.env(settings.env)
    team = loaded.teams.get(name)
    if team is None:
        raise BadInput(f"no team '{name}' in {settings.config_dir}/teams/", hint="see: platform teams list")
    if settings.env not in team.environments:
        raise BadInput(f"team '{name}' is not in environment '{settings.env}' (its: {', '.join(team.environments)})")

    def show_and_confirm(deletion) -> bool:
        console.warning(f"deleting team {name} in {settings.env} removes:")
        for line in deletion.lines(name, settings.env, purge):
            console.err.print(f"   - {line}", markup=False, highlight=False)
        if purge and confirm_purge is None and not dry_run:
            return typer.prompt(f"Type the team name to delete its data too ({name})") == name
        return True

    def confirm_destroy(report) -> bool:
        from platform_kit.commands.infra import confirm as confirm_plan
        from platform_kit.commands.infra import print_plan

        if not settings.json:
            print_plan(report)
        # --delete --confirm NAME is the answer to "apply this destroy?"; a protected env also needs --allow-destroy.
        return confirm_plan(report, yes=True, allow_destroy=allow_destroy or not protected, protected=protected)

    protected = loaded.env(settings.env).protected

    from platform_kit.kube import connect

    cluster = connect(settings, loaded, settings.env, kube_context)
    result = onboarding.delete_team(
        settings,
        loaded,
        settings.env,
        team,
        purge=purge,
        force=force,
        confirm=show_and_confirm,
        confirm_destroy=confirm_destroy,
        dry_run=dry_run,
        progress=(lambda _: None) if settings.json else console.step,
        cluster=cluster,
        namespace_timeout=wait_timeout,
    )
    if settings.json:
        console.emit_json(result.as_dict())
        return
    print_summary(
        result, command="offboard-team --delete", done=f"team {name} deleted from {result.env}", details=False
    )
