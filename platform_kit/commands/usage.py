"""``platform usage``: runs per team, pipeline and catalog component from the KFP API, to spot what to retire."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from platform_kit import console, context
from platform_kit.commands.smoke import CaBundleOption, KfpUrlOption
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption

SinceOption = Annotated[
    str, typer.Option("--since", help="How far back to look: a whole number and h, d or w (12h, 30d, 2w).")
]
HtmlOption = Annotated[
    Path | None, typer.Option("--html", help="Also write a static HTML page with charts to this file.", dir_okay=False)
]


def command(
    since: SinceOption = "30d",
    kfp_url: KfpUrlOption = None,
    html: HtmlOption = None,
    ca_bundle: CaBundleOption = None,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """Runs per team, pipeline and catalog component from the KFP API, and the pipelines worth retiring.

    Counts the runs created in the window (--since) in each team namespace of the environment, with success rate
    and last run; --html also writes a self-contained page with charts. Reads the KFP API with the bearer token
    in KFP_TOKEN and changes nothing."""
    from platform_kit import kfp_api, naming, usage
    from platform_kit.catalog.registry import COMPONENTS
    from platform_kit.config import load_platform
    from platform_kit.errors import BadInput, OperationFailed
    from platform_kit.files import write_if_changed

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    window = usage.Window.ending(datetime.now(UTC), since)  # a bad --since stops here, before any call
    loaded = load_platform(settings.config_dir)
    environment = loaded.env(settings.env)
    assert settings.env is not None
    url, token = kfp_api.endpoint(environment, kfp_url, ca_bundle, dict(os.environ))
    if html is not None and html.is_dir():
        raise BadInput(f"--html {html}: is a folder; give the page's file name")
    teams = sorted(t.name for t in loaded.teams_in(settings.env) if t.active_in(settings.env))
    namespaces = {team: naming.team_namespace(team) for team in teams}

    if not settings.json:
        console.step(f"reading runs since {usage.iso(window.start)} from {url} ({len(teams)} team namespace(s))")
    figures = usage.collect(
        url,
        token,
        env=settings.env,
        window=window,
        namespaces=namespaces,
        components=sorted(COMPONENTS),
        ca_bundle=ca_bundle,
    )

    page = None
    if html is not None:
        from platform_kit.usage_html import render_page

        try:
            write_if_changed(html, render_page(figures, kfp_url=url))
        except OSError as exc:
            raise OperationFailed(f"--html {html}: could not write the page: {exc.strerror or exc}") from None
        page = html
    if settings.json:
        data = figures.as_dict()
        data["kfp_url"] = url
        data["html"] = str(page) if page else None
        console.emit_json(data)
        return
    print_tables(figures)
    again = f"platform usage --env {settings.env} --since {since}"
    if page:
        console.success(f"wrote {page}")
        console.next_commands(f"{again} --output json")
    else:
        console.next_commands(f"{again} --html usage.html", f"{again} --output json")


def print_tables(figures) -> None:
    """The figures as rich tables: teams, pipelines, components, then the candidates to retire and the rules."""
    from rich.markup import escape
    from rich.table import Table

    from platform_kit import usage
    from platform_kit.usage_html import FIGURE_HEADERS, figure_rows

    window = figures.window
    sections = (
        ("Runs per team", "team", figures.teams, False),
        ("Runs per pipeline", "pipeline", figures.pipelines, True),
        ("Runs per catalog component", "component", figures.components, False),
    )
    for title, key, rows, with_teams in sections:
        table = Table(title=f"{title} in {figures.env}", show_edge=False, title_justify="left")
        table.add_column(key, overflow="fold")
        for header in FIGURE_HEADERS:
            table.add_column(header, justify="left" if header == "last run" else "right")
        if with_teams:
            table.add_column("teams", overflow="fold")
        for row in figure_rows(rows, with_teams=with_teams):
            table.add_row(*(escape(cell) for cell in row))
        console.out.print(table)
        console.out.print()
    if figures.retire:
        table = Table(title="Candidates to retire", show_edge=False, title_justify="left")
        table.add_column("pipeline", overflow="fold")
        table.add_column("why", overflow="fold")
        for candidate in figures.retire:
            table.add_row(escape(candidate.pipeline), escape("; ".join(candidate.reasons)))
        console.out.print(table)
    else:
        console.out.print("Candidates to retire: none")
    total = figures.total
    console.out.print(
        f"{total.runs} run(s) since {usage.iso(window.start)} (the last {escape(window.since)}): "
        f"{total.succeeded} succeeded, {total.failed} failed"
    )
    for rule in (usage.RETIRE_RULE, usage.SUCCESS_RATE_RULE, usage.COMPONENT_RULE):
        console.out.print(f"[muted]- {escape(rule)}[/muted]")
