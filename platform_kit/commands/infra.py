"""``platform infra plan|apply``: plan the environment's stacks to files, show them, apply only those plans."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from platform_kit import console, context
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption, YesOption

app = typer.Typer(
    help="Plan and apply the environment's Terraform stacks (platform, team:NAME); one state per stack.",
    no_args_is_help=True,
)

StackOption = Annotated[
    list[str] | None,
    typer.Option(
        "--stack",
        "-s",
        help="platform, team:NAME, or all (platform then every team in the env). Repeatable. Default: platform.",
    ),
]
AllowDestroyOption = Annotated[
    bool,
    typer.Option("--allow-destroy", help="Allow a plan that destroys stateful resources (buckets, clusters, keys)."),
]


def _progress(line: str) -> None:
    console.err.print(f"   {line}", style="muted", markup=False, highlight=False)


def open_infra(env: str | None):
    """Load and validate the config, then the Infra of ``env`` (bad input refused before any call)."""
    from platform_kit.config import load_platform
    from platform_kit.infra import Infra

    settings = context.current()
    loaded = load_platform(settings.config_dir)
    loaded.env(env)
    assert env is not None
    return Infra(settings, loaded, env, on_line=None if settings.json else _progress)


def resolve_stacks(infra, names: list[str] | None):
    from platform_kit.infra import Stack

    stacks: list[Stack] = []
    for name in names or ["platform"]:
        if name == "all":
            stacks.append(Stack("platform"))
            stacks.extend(Stack("team", t.name) for t in infra.loaded.teams_in(infra.env_name))
        else:
            stacks.append(Stack.parse(name))
    for stack in stacks:
        infra.check_stack(stack)
    return list(dict.fromkeys(stacks))


def print_plan(report) -> None:
    """One block per stack: counts, replacements, and destroyed stateful resources in red."""
    title = f"{report.stack.id} ({report.env})"
    if not report.has_changes:
        console.success(f"{title}: no changes; infrastructure matches the configuration")
        return
    console.out.print(
        f"[bold]{title}[/bold]: [success]{report.add} to add[/success], "
        f"[warning]{report.change} to change[/warning], [error]{report.destroy} to destroy[/error]",
        highlight=False,
    )
    symbols = {
        "create": "[success]+[/success]",
        "update": "[warning]~[/warning]",
        "delete": "[error]-[/error]",
        "replace": "[error]-/+[/error]",
    }
    from rich.markup import escape

    for action, address in report.changes:
        console.out.print(f"  {symbols[action]} {escape(address)}", highlight=False)
    if report.destroyed_stateful:
        console.out.print(
            "[error]DESTROYS STATEFUL RESOURCES (data is lost): "
            + escape(", ".join(report.destroyed_stateful))
            + "[/error]",
            highlight=False,
        )


def confirm(report, *, yes: bool, allow_destroy: bool, protected: bool = False) -> bool:
    """Whether to apply ``report``'s plan: refuses stateful destroys (any destroy on a protected
    environment) without --allow-destroy, and asks unless --yes."""
    from platform_kit.errors import BadInput

    if not report.has_changes:
        return True
    if protected and report.destroy and not allow_destroy:
        raise BadInput(
            f"{report.stack.id}: '{report.env}' is protected and the plan destroys {report.destroy} resource(s)",
            hint="check the plan; if that is intended, run again with --allow-destroy",
        )
    if report.destroyed_stateful and not allow_destroy:
        raise BadInput(
            f"{report.stack.id}: the plan destroys stateful resources: {', '.join(report.destroyed_stateful)}",
            hint="check the plan; if that is intended, run again with --allow-destroy",
        )
    if yes:
        return True
    if not sys.stdin.isatty():
        raise BadInput(
            f"{report.stack.id}: refusing to apply without confirmation (no terminal to ask)",
            hint="review the plan above and pass --yes",
        )
    return typer.confirm(f"Apply this plan to {report.stack.id} in {report.env}?", default=False)


@app.command("plan")
def plan_command(
    stack: StackOption = None,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """Render inputs and save a plan per stack (build/terraform/ENV/STACK/plan.tfplan); changes nothing."""
    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    infra = open_infra(settings.env)
    reports = []
    for item in resolve_stacks(infra, stack):
        console.step(f"planning {item.id} in {infra.env_name}")
        report = infra.plan(item)
        reports.append(report)
        if not settings.json:
            print_plan(report)
    if settings.json:
        console.emit_json([r.as_dict() for r in reports])
    elif any(r.has_changes for r in reports):
        console.next_commands(
            f"platform infra apply --env {infra.env_name}"
            + "".join(f" --stack {r.stack.id}" for r in reports if r.has_changes)
        )


@app.command("apply")
def apply_command(
    stack: StackOption = None,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
    yes: YesOption = False,
    allow_destroy: AllowDestroyOption = False,
) -> None:
    """Plan each stack, show the plan, and apply exactly that saved plan after confirmation (or --yes)."""
    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug, yes=yes)
    infra = open_infra(settings.env)
    results = []
    for item in resolve_stacks(infra, stack):
        results.append(plan_and_apply(infra, item, yes=settings.yes, allow_destroy=allow_destroy))
    if settings.json:
        console.emit_json(results)


def plan_and_apply(infra, stack, *, yes: bool, allow_destroy: bool) -> dict:
    """The shared core of ``infra apply`` and ``bootstrap``: plan, show, confirm, apply the saved plan."""
    settings = context.current()
    console.step(f"planning {stack.id} in {infra.env_name}")
    report = infra.plan(stack)
    if not settings.json:
        print_plan(report)
    if not confirm(report, yes=yes, allow_destroy=allow_destroy, protected=infra.env.protected):
        console.warning(f"{stack.id}: not applied")
        return {**report.as_dict(), "applied": False}
    if report.has_changes:
        console.step(f"applying {stack.id} in {infra.env_name}")
    outputs = infra.apply(report)
    if report.has_changes:
        console.success(
            f"{stack.id}: applied ({report.add} added, {report.change} changed, {report.destroy} destroyed)"
        )
    return {**report.as_dict(), "applied": report.has_changes, "outputs": outputs}
