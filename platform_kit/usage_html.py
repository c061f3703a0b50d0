"""The usage figures as one static HTML page: inline SVG bar charts and the same tables as the terminal.

The page is self-contained so it can be mailed, attached to a ticket or opened offline: the styles
are inline, the charts are SVG drawn here in Python, and there are no scripts, web fonts or links
to anything outside the file. Each chart is an ``<svg role="img">`` with an id, a ``<title>`` and
a ``<desc>``; each bar is a ``rect.bar`` with its own ``<title>`` (a tooltip and a screen-reader
label), next to a ``text.label`` (the name) and a ``text.value`` (the figure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from platform_kit.usage import (
    COMPONENT_RULE,
    RETIRE_BELOW,
    RETIRE_RULE,
    SUCCESS_RATE_RULE,
    Figures,
    Usage,
)

# Chart geometry, in CSS pixels.
ROW = 26
BAR = 18
TRACK = 360
VALUE_WIDTH = 130
CHAR = 7.4  # a generous average glyph width at 13px, to size the label column
PAD = 8

RUNS_COLOUR = "#2f6db5"
GOOD = "#2e8540"
FAIR = "#c98a00"
POOR = "#c0392b"

CHART_IDS = ("chart-team-runs", "chart-pipeline-runs", "chart-component-success")

_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330;
       margin: 24px auto; max-width: 1100px; padding: 0 16px; background: #ffffff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
p.meta { color: #5b6474; margin: 0 0 16px; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg text { font: 13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: #1d2330; }
svg text.value { fill: #5b6474; }
svg line.axis { stroke: #9aa3b2; stroke-width: 1; }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { text-align: left; padding: 4px 12px 4px 0; border-bottom: 1px solid #e3e6eb; vertical-align: top; }
th { font-weight: 600; }
td.num, th.num { text-align: right; }
ul.rules { color: #5b6474; }
.none { color: #5b6474; }
"""


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # the bar's length as a share of the longest (0..1)
    text: str  # the figure printed after the bar
    colour: str
    tooltip: str


def when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def bar_chart(chart_id: str, title: str, description: str, bars: Sequence[Bar]) -> str:
    """A horizontal bar chart as an inline SVG element (one row per bar, the label on the left)."""
    label_width = int(max([len(b.label) for b in bars] + [4]) * CHAR) + PAD
    width = label_width + TRACK + VALUE_WIDTH
    height = max(len(bars), 1) * ROW + PAD
    parts = [
        f'<svg id="{chart_id}" class="chart" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for row, bar in enumerate(bars):
        top = PAD // 2 + row * ROW
        middle = top + BAR / 2
        length = round(max(0.0, min(1.0, bar.value)) * TRACK, 1)
        parts.append(
            f'<text class="label" x="{label_width - PAD}" y="{middle}" text-anchor="end" '
            f'dominant-baseline="central">{escape(bar.label)}</text>'
        )
        parts.append(
            f'<rect class="bar" x="{label_width}" y="{top}" width="{length}" height="{BAR}" fill="{bar.colour}">'
            f"<title>{escape(bar.tooltip)}</title></rect>"
        )
        parts.append(
            f'<text class="value" x="{label_width + length + 6}" y="{middle}" '
            f'dominant-baseline="central">{escape(bar.text)}</text>'
        )
    if not bars:
        parts.append(f'<text class="none" x="0" y="{ROW / 2}" dominant-baseline="central">nothing to show</text>')
    parts.append(f'<line class="axis" x1="{label_width}" y1="0" x2="{label_width}" y2="{height}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _runs_text(figures: Figures) -> str:
    if not figures.runs:
        return "0"
    if figures.success_rate is None:
        return f"{figures.runs} (none finished)"
    return f"{figures.runs} ({percent(figures.success_rate)} succeeded)"


def _runs_bars(rows: Sequence[Figures]) -> list[Bar]:
    most = max([f.runs for f in rows] + [1])
    return [
        Bar(
            label=f.name,
            value=f.runs / most,
            text=_runs_text(f),
            colour=RUNS_COLOUR,
            tooltip=f"{f.name}: {f.runs} runs, {f.succeeded} succeeded, {f.failed} failed",
        )
        for f in rows
    ]


def _rate_colour(rate: float | None) -> str:
    if rate is None or rate >= 0.8:
        return GOOD
    return FAIR if rate >= RETIRE_BELOW else POOR


def _rate_bars(rows: Sequence[Figures]) -> list[Bar]:
    return [
        Bar(
            label=f.name,
            value=f.success_rate or 0.0,
            text=(
                f"{percent(f.success_rate)} of {f.succeeded + f.failed}"
                if f.success_rate is not None
                else "no finished runs"
            ),
            colour=_rate_colour(f.success_rate),
            tooltip=f"{f.name}: {percent(f.success_rate)} success over {f.runs} runs",
        )
        for f in rows
    ]


def charts(usage: Usage) -> list[tuple[str, str, str]]:
    """The page's charts as (id, caption, svg)."""
    team_id, pipeline_id, component_id = CHART_IDS
    return [
        (
            team_id,
            "Runs per team",
            bar_chart(
                team_id,
                "Runs per team",
                f"Pipeline runs per team in {usage.env} since {when(usage.window.start)}, busiest first.",
                _runs_bars(usage.teams),
            ),
        ),
        (
            pipeline_id,
            "Runs per pipeline",
            bar_chart(
                pipeline_id,
                "Runs per pipeline",
                f"Runs per pipeline in {usage.env} since {when(usage.window.start)}, busiest first.",
                _runs_bars(usage.pipelines),
            ),
        ),
        (
            component_id,
            "Success rate per catalog component",
            bar_chart(
                component_id,
                "Success rate per catalog component",
                "Share of finished runs that succeeded, among the runs that used each catalog component.",
                _rate_bars(usage.components),
            ),
        ),
    ]


def _table(table_id: str, headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    head = "".join(f"<th{' class=num' if i in numeric else ''}>{escape(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if i in numeric else ''}>{escape(cell)}</td>" for i, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def figure_rows(rows: Sequence[Figures], *, with_teams: bool = False) -> list[list[str]]:
    out = []
    for f in rows:
        row = [f.name, str(f.runs), str(f.succeeded), str(f.failed), percent(f.success_rate), when(f.last_run)]
        if with_teams:
            row.append(", ".join(sorted(f.teams)) or "-")
        out.append(row)
    return out


FIGURE_HEADERS = ("runs", "succeeded", "failed", "success rate", "last run")


def render_page(usage: Usage, *, kfp_url: str) -> str:
    """The whole page as text (UTF-8 HTML5)."""
    window = usage.window
    total = usage.total
    numeric = {1, 2, 3, 4}
    figures = "".join(
        f'<figure><figcaption id="{chart_id}-caption">{escape(caption)}</figcaption>{svg}</figure>'
        for chart_id, caption, svg in charts(usage)
    )
    if usage.retire:
        retire = _table(
            "table-retire",
            ("pipeline", "why"),
            [[c.pipeline, "; ".join(c.reasons)] for c in usage.retire],
            set(),
        )
    else:
        retire = '<p class="none">No pipeline meets the rule.</p>'
    pipeline_rows = figure_rows(usage.pipelines, with_teams=True)
    rules = "".join(f"<li>{escape(rule)}</li>" for rule in (SUCCESS_RATE_RULE, RETIRE_RULE, COMPONENT_RULE))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pipeline usage in {escape(usage.env)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>Pipeline usage in {escape(usage.env)}</h1>
<p class="meta">Runs created from {when(window.start)} to {when(window.end)} (the last {escape(window.since)}),
from {escape(kfp_url)}: {total.runs} runs, {total.succeeded} succeeded, {total.failed} failed,
success rate {percent(total.success_rate)}.</p>
<section class="charts" aria-label="Charts">{figures}</section>
<h2>Candidates to retire</h2>
{retire}
<h2>Teams</h2>
{_table("table-teams", ("team", *FIGURE_HEADERS), figure_rows(usage.teams), numeric)}
<h2>Pipelines</h2>
{_table("table-pipelines", ("pipeline", *FIGURE_HEADERS, "teams"), pipeline_rows, numeric)}
<h2>Catalog components</h2>
{_table("table-components", ("component", *FIGURE_HEADERS), figure_rows(usage.components), numeric)}
<h2>How the figures are counted</h2>
<ul class="rules">{rules}</ul>
</body>
</html>
"""
