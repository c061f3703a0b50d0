"""``platform render``: the environment's Kubeflow platform and team objects, built offline into build/ENV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from platform_kit import console, context
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption

OutOption = Annotated[Path | None, typer.Option("--out", help="Build directory (default: build/ENV).")]
TeamOption = Annotated[
    list[str] | None, typer.Option("--team", "-t", help="Render only this team's objects (repeatable).")
]
DiffOption = Annotated[
    Path | None, typer.Option("--diff", help="A previous render directory: print what changed, object by object.")
]
OutputsOption = Annotated[
    Path | None,
    typer.Option(
        "--platform-outputs",
        help="JSON of the platform stack's outputs (`terraform output -json`), instead of reading its state.",
    ),
]


def command(
    env: EnvOption = None,
    out: OutOption = None,
    team: TeamOption = None,
    diff: DiffOption = None,
    platform_outputs: OutputsOption = None,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Then apply the render to the cluster: CRDs (waited for), Profiles (their namespaces "
            "waited for), the rest with Secrets read from their references. Nothing is deleted.",
        ),
    ] = False,
    kube_context: Annotated[
        str | None,
        typer.Option("--kube-context", help="With --apply: this kubeconfig context (default: the env's EKS)."),
    ] = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """Render Kubeflow (upstream + enterprise login + AWS) and each team's objects; writes only what changed."""
    from platform_kit import manifests
    from platform_kit.config import load_platform

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    loaded = load_platform(settings.config_dir)
    loaded.env(settings.env)
    env_name = settings.env
    assert env_name is not None
    manifests.select_teams(loaded, env_name, team)  # bad --team refused before anything else
    if diff is not None:
        manifests.read_render(diff)  # a bad --diff too
    if kube_context is not None and not apply:
        from platform_kit.errors import BadInput

        raise BadInput("--kube-context: only with --apply (the render itself needs no cluster)")
    if apply and team:
        from platform_kit.errors import BadInput

        # A teams-only build folder still holds the last platform render, which may be stale.
        raise BadInput(
            "--apply: applies the whole environment's render, not some teams' (drop --team)",
            hint=f"a team's objects reach the cluster with: platform onboard-team {team[0]} --env {env_name}",
        )
    if (
        apply
        and not kube_context
        and not loaded.env(env_name).kubernetes.context
        and loaded.env(env_name).aws.endpoint_url
    ):
        from platform_kit.errors import BadInput

        raise BadInput(
            f"--apply: environment {env_name} is emulated and has no Kubernetes API server",
            hint="pass --kube-context CONTEXT (a kind cluster, for example)",
        )
    if platform_outputs is not None:
        outputs = manifests.outputs_from_file(platform_outputs, env_name)
    else:
        from platform_kit.infra import Infra
        from platform_kit.render.platform import PlatformOutputs

        infra = Infra(settings, loaded, env_name)
        outputs = PlatformOutputs.from_outputs(infra.platform_outputs(), source="platform state", env=env_name)
    if not settings.json:
        console.step(f"rendering {'teams ' + ', '.join(team) if team else 'the platform and its teams'} for {env_name}")
    result = manifests.render(settings, loaded, env_name, outputs, out_dir=out, team_names=team, previous=diff)
    applied = _apply(settings, loaded, env_name, result.out_dir, kube_context) if apply else None
    if settings.json:
        console.emit_json(dict(result.as_dict(), applied=applied))
        return
    print_result(result)
    if applied is not None:
        console.success(f"applied to the cluster: {applied}")


def _apply(settings, loaded, env_name: str, folder: Path, kube_context: str | None) -> str:
    from platform_kit import cluster_apply
    from platform_kit.infra import Infra
    from platform_kit.kube import connect

    cluster = connect(settings, loaded, env_name, kube_context)
    on_line = None if settings.json else console.info
    counts, secrets = cluster_apply.apply_render(
        cluster,
        folder,
        lambda: Infra(settings, loaded, env_name).session().client("secretsmanager"),
        on_line=on_line or (lambda _: None),
    )
    return cluster_apply.counts_line(counts, secrets)


def print_result(result) -> None:
    print_table(result)
    if result.written:
        console.success(f"wrote {len(result.written)} file(s) under {result.out_dir}")
    else:
        console.success(f"no changes: {result.out_dir} already matches the configuration")
    if result.diff is not None:
        if result.diff.empty:
            console.info("diff: no object changed")
        else:
            from rich.markup import escape

            for line in result.diff.lines():
                style = {"+": "success", "-": "error", "~": "warning"}[line[0]]
                console.out.print(f"[{style}]{escape(line)}[/{style}]", highlight=False)
    shown = _shown(result.out_dir)
    out = "" if shown == f"build/{result.env}" else f" --out {shown}"
    console.next_commands(f"platform render --env {result.env}{out} --diff {shown}  (re-render; show what changed)")


def print_table(result) -> None:
    """Objects per kind: one column for the platform, one per team."""
    from rich.table import Table

    table = Table(title=f"Rendered objects ({result.env})", show_edge=False)
    table.add_column("kind")
    columns = (["platform"] if result.platform is not None else []) + list(result.teams)
    for column in columns:
        table.add_column(column, justify="right")
    kinds = sorted(set(result.platform or {}).union(*[set(c) for c in result.teams.values()]))
    for kind in kinds:
        row = [kind]
        if result.platform is not None:
            row.append(str(result.platform.get(kind, "")))
        row.extend(str(result.teams[t].get(kind, "")) for t in result.teams)
        table.add_row(*row)
    totals = ["total"]
    if result.platform is not None:
        totals.append(str(sum(result.platform.values())))
    totals.extend(str(sum(c.values())) for c in result.teams.values())
    table.add_row(*totals, style="bold")
    console.out.print(table)


def _shown(path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
