"""``platform onboard-team``: a team from request to namespace, role, bucket prefix and access, in one command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from platform_kit import console, context
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption, YesOption

GroupOption = Annotated[
    list[str] | None, typer.Option("--group", "-g", help="IdP group, GROUP or GROUP:edit|view (repeatable).")
]
MemberOption = Annotated[
    list[str] | None, typer.Option("--member", "-m", help="Person, EMAIL or EMAIL:edit|view (repeatable).")
]
KubeContextOption = Annotated[
    str | None,
    typer.Option("--kube-context", help="kubeconfig context to apply with (default: the env's EKS cluster)."),
]

AllowDestroyOption = Annotated[
    bool,
    typer.Option("--allow-destroy", help="Allow a plan that destroys resources in a protected environment (prod)."),
]
WaitTimeoutOption = Annotated[
    float, typer.Option("--wait-timeout", help="Seconds to wait for the namespace and role annotation.", min=1)
]


def command(
    name: Annotated[str, typer.Argument(help="Team name: the namespace and part of every AWS name.")],
    owner: Annotated[str | None, typer.Option("--owner", help="The team owner's email (new teams).")] = None,
    group: GroupOption = None,
    member: MemberOption = None,
    cpu: Annotated[str | None, typer.Option("--cpu", help="CPU quota (requests), e.g. 64.")] = None,
    memory: Annotated[str | None, typer.Option("--memory", help="Memory quota, e.g. 256Gi.")] = None,
    gpu: Annotated[int | None, typer.Option("--gpu", help="GPU quota.", min=0)] = None,
    storage: Annotated[str | None, typer.Option("--storage", help="Storage quota, e.g. 2Ti.")] = None,
    cost_center: Annotated[str | None, typer.Option("--cost-center", help="Cost-allocation tag (new teams).")] = None,
    display_name: Annotated[str | None, typer.Option("--display-name", help="Shown in the dashboard.")] = None,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="A team spec (the shape of platform/teams/NAME.yaml).")
    ] = None,
    no_write: Annotated[
        bool, typer.Option("--no-write", help="Run from the committed team file; never write it (CI).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate, plan and render; change nothing anywhere.")
    ] = False,
    kube_context: KubeContextOption = None,
    wait_timeout: WaitTimeoutOption = 120.0,
    allow_destroy: AllowDestroyOption = False,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
    yes: YesOption = False,
) -> None:
    """Onboard a team: its file in platform/teams, its Terraform stack, its Profile and access in the cluster."""
    from platform_kit import onboarding, team_spec

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug, yes=yes)
    request = team_spec.Request(
        name=name,
        owner=owner,
        groups=[team_spec.parse_grant(g, "--group") for g in group or []],
        members=[team_spec.parse_grant(m, "--member") for m in member or []],
        cpu=cpu,
        memory=memory,
        gpu=gpu,
        storage=storage,
        cost_center=cost_center,
        display_name=display_name,
        env=settings.env,
        state=None if no_write else "active",  # onboarding an offboarded (stale) team brings it back
    )
    require_yes(settings, dry_run, "onboard-team")
    candidate = onboarding.prepare(settings, request, from_file=from_file, write=not no_write)
    assert settings.env is not None
    options = onboarding.Options(
        env=settings.env,
        dry_run=dry_run,
        write=not no_write,
        yes=settings.yes,
        namespace_timeout=wait_timeout,
        allow_destroy=allow_destroy,
    )
    run_and_report(settings, candidate, options, kube_context, command="onboard-team")


def run_and_report(settings, candidate, options, kube_context, *, command: str, done: str | None = None) -> None:
    """The shared core of onboard-team, offboard-team and transfer-owner: connect, run, report."""
    from platform_kit import onboarding
    from platform_kit.kube import connect

    cluster = connect(settings, candidate.loaded, options.env, kube_context)
    result = onboarding.onboard_team(
        settings,
        candidate,
        options,
        confirm=lambda report: confirm_plan(
            report, settings.yes, candidate.loaded.env(options.env).protected, options.allow_destroy
        ),
        progress=(lambda _: None) if settings.json else console.step,
        cluster=cluster,
    )
    if settings.json:
        console.emit_json({**result.as_dict(), "owner": candidate.team.owner})
        return
    print_summary(result, command=command, done=done)


def require_yes(settings, dry_run: bool, name: str) -> None:
    """Refuse, before anything happens, a run that would need to ask but has no terminal to ask on."""
    if not settings.yes and not dry_run and not sys.stdin.isatty():
        from platform_kit.errors import BadInput

        raise BadInput(
            f"{name} changes the team file, AWS and the cluster, and there is no terminal to confirm",
            hint="pass --yes (CI), or --dry-run to see what would change",
        )


def confirm_plan(report, yes: bool, protected: bool, allow_destroy: bool = False) -> bool:
    from platform_kit.commands.infra import confirm, print_plan

    if not context.current().json:
        print_plan(report)
    return confirm(report, yes=yes, allow_destroy=allow_destroy, protected=protected)


def print_summary(result, *, command: str = "onboard-team", done: str | None = None, details: bool = True) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{command} {result.team} ({result.env})", show_edge=False, title_justify="left")
    table.add_column("step")
    table.add_column("result", overflow="fold")
    for step in result.steps:
        table.add_row(escape(step.name), escape(step.outcome))
    console.out.print(table)
    if details:
        names = Table(show_header=False, show_edge=False, box=None)
        names.add_column(style="bold")
        names.add_column(overflow="fold")
        names.add_row("namespace", result.namespace)
        names.add_row("role", result.role_arn or "(not created yet)")
        names.add_row("artifacts", ", ".join(result.artifact_prefixes))
        names.add_row("images", result.ecr_repository or "(no ECR repository)")
        names.add_row("dashboard", result.dashboard_url)
        names.add_row("cluster", result.cluster)
        console.out.print(names)
    if result.dry_run:
        console.info("dry run: nothing was written, applied or changed")
    elif result.changed:
        console.success(done or f"team {result.team} onboarded in {result.env}")
    else:
        console.success(f"team {result.team} in {result.env} already matches; nothing changed")
    console.next_commands(
        f"platform render --env {result.env} --team {result.team}",
        f"platform infra plan --env {result.env} --stack team:{result.team}",
    )
