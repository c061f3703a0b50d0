"""Pipeline usage across teams: which pipelines and catalog components run, how often, how well.

Two layers, kept apart so the figures are tested without any server:

* **fetch** (acts): ``fetch_runs`` pages through the KFP API's runs, one team namespace at a
  time, keeps the runs created inside the window and turns each into a plain ``RunRecord``
  (team, pipeline name, state, times, task names). A run's pipeline name comes from its pipeline
  version reference (the pipeline's display name, asked once per pipeline), else from the
  pipeline spec it carries, else from the run's own display name.
* **aggregate** (pure): ``aggregate`` turns records into figures per team, per pipeline and per
  catalog component, and the list of pipelines worth a look before they are retired.

Rendering (tables, JSON, the HTML page) lives with the command and in ``usage_html``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from platform_kit import kfp_api
from platform_kit.errors import BadInput

# --- the window ------------------------------------------------------------------------------

_SINCE = re.compile(r"^([1-9][0-9]{0,4})([hdw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
RETIRE_BELOW = 0.5  # a pipeline whose success rate is under this is a candidate to retire

SUCCESS_RATE_RULE = "success rate = succeeded / (succeeded + failed); runs still going or canceled are not counted"
RETIRE_RULE = (
    "a pipeline is a candidate to retire when it has no run in the last half of the window, "
    f"or when its success rate is below {RETIRE_BELOW:.0%}"
)
COMPONENT_RULE = (
    "a run uses a catalog component when one of its tasks is named after it "
    "('-' and '_' alike, a trailing '-N' for repeated tasks ignored)"
)


def parse_since(text: str) -> timedelta:
    """``30d``, ``12h`` or ``2w`` as a timedelta; a one-line BadInput for anything else."""
    match = _SINCE.match(text.strip().lower())
    if match is None:
        raise BadInput(
            f"--since: '{text}' is not a duration; give a whole number of hours, days or weeks "
            "followed by h, d or w (for example 12h, 30d, 2w)"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class Window:
    """The period the figures cover: runs created at or after ``start`` and up to ``end``."""

    start: datetime
    end: datetime
    since: str

    @classmethod
    def ending(cls, end: datetime, since: str) -> Window:
        return cls(start=end - parse_since(since), end=end, since=since)

    @property
    def midpoint(self) -> datetime:
        return self.start + (self.end - self.start) / 2

    def as_dict(self) -> dict[str, str]:
        return {"since": self.since, "start": iso(self.start), "end": iso(self.end)}


def iso(moment: datetime | None) -> str | None:
    """A UTC timestamp as ``2024-05-01T12:00:00Z`` (None stays None)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- run records -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """What the figures need from one pipeline run."""

    team: str
    pipeline: str
    state: str
    created_at: datetime
    finished_at: datetime | None = None
    tasks: tuple[str, ...] = ()


def component_key(name: str) -> str:
    """A component or task name compared loosely: lower case, ``_`` as ``-``, no ``-N`` repeat suffix."""
    key = name.strip().lower().replace("_", "-")
    return re.sub(r"-[0-9]+$", "", key)


# --- aggregate (pure) ------------------------------------------------------------------------


@dataclass
class Figures:
    """Counts for one team, pipeline or component over the window."""

    name: str
    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    last_run: datetime | None = None
    teams: set[str] = field(default_factory=set)

    def add(self, record: RunRecord) -> None:
        self.runs += 1
        if record.state == SUCCEEDED:
            self.succeeded += 1
        elif record.state == FAILED:
            self.failed += 1
        if self.last_run is None or record.created_at > self.last_run:
            self.last_run = record.created_at
        self.teams.add(record.team)

    @property
    def success_rate(self) -> float | None:
        ended = self.succeeded + self.failed
        return self.succeeded / ended if ended else None

    def as_dict(self, key: str, *, with_teams: bool = False) -> dict[str, Any]:
        rate = self.success_rate
        data: dict[str, Any] = {
            key: self.name,
            "runs": self.runs,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "success_rate": None if rate is None else round(rate, 4),
            "last_run": iso(self.last_run),
        }
        if with_teams:
            data["teams"] = sorted(self.teams)
        return data


@dataclass(frozen=True)
class RetireCandidate:
    pipeline: str
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Usage:
    """The figures for one environment and window."""

    env: str
    window: Window
    teams: tuple[Figures, ...]
    pipelines: tuple[Figures, ...]
    components: tuple[Figures, ...]
    retire: tuple[RetireCandidate, ...]
    total: Figures

    def as_dict(self) -> dict[str, Any]:
        total = self.total.as_dict("scope")
        total.pop("scope")
        return {
            "env": self.env,
            "window": self.window.as_dict(),
            "rules": {"success_rate": SUCCESS_RATE_RULE, "retire": RETIRE_RULE, "components": COMPONENT_RULE},
            "total": total,
            "teams": [f.as_dict("team") for f in self.teams],
            "pipelines": [f.as_dict("pipeline", with_teams=True) for f in self.pipelines],
            "components": [f.as_dict("component") for f in self.components],
            "retire_candidates": [c.as_dict() for c in self.retire],
        }


def _busiest_first(figures: Iterable[Figures]) -> tuple[Figures, ...]:
    return tuple(sorted(figures, key=lambda f: (-f.runs, f.name)))


def retire_candidates(pipelines: Iterable[Figures], window: Window) -> tuple[RetireCandidate, ...]:
    """Pipelines idle in the window's last half, or failing more often than not (``RETIRE_RULE``)."""
    candidates = []
    for figures in pipelines:
        reasons = []
        if figures.last_run is None or figures.last_run < window.midpoint:
            reasons.append(f"no run since {iso(window.midpoint)} (the last half of the window)")
        rate = figures.success_rate
        if rate is not None and rate < RETIRE_BELOW:
            reasons.append(f"success rate {rate:.0%} ({figures.succeeded} of {figures.succeeded + figures.failed})")
        if reasons:
            candidates.append(RetireCandidate(figures.name, tuple(reasons)))
    return tuple(sorted(candidates, key=lambda c: c.pipeline))


def aggregate(
    records: Iterable[RunRecord],
    *,
    env: str,
    window: Window,
    teams: Sequence[str],
    components: Sequence[str],
) -> Usage:
    """Figures per team, pipeline and catalog component for the records inside ``window``.

    Every team and every catalog component is listed, with zeros when it had no run; a run
    counts once for a component however many of its tasks used it. Records created before the
    window are ignored, so the caller may hand over more than it needs (a run stamped a little
    after ``window.end`` by a server clock ahead of ours still counts).
    """
    per_team = {name: Figures(name) for name in teams}
    per_pipeline: dict[str, Figures] = {}
    per_component = {name: Figures(name) for name in components}
    by_key = {component_key(name): name for name in components}
    total = Figures("total")
    for record in records:
        if record.created_at < window.start:
            continue
        total.add(record)
        per_team.setdefault(record.team, Figures(record.team)).add(record)
        per_pipeline.setdefault(record.pipeline, Figures(record.pipeline)).add(record)
        used = {by_key[key] for key in map(component_key, record.tasks) if key in by_key}
        for name in used:
            per_component[name].add(record)
    pipelines = _busiest_first(per_pipeline.values())
    return Usage(
        env=env,
        window=window,
        teams=_busiest_first(per_team.values()),
        pipelines=pipelines,
        components=tuple(sorted(per_component.values(), key=lambda f: f.name)),
        retire=retire_candidates(pipelines, window),
        total=total,
    )


# --- fetch (acts on the KFP API) -------------------------------------------------------------

PAGE_SIZE = 100


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc(moment: datetime | None) -> datetime | None:
    """A time in UTC (naive taken as UTC); the API's zero time (1970-01-01, "not yet") as None."""
    if moment is None:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return None if moment <= _EPOCH else moment


def _state(value: Any) -> str:
    """A run state as its upper-case name (the client may give a plain string or an enum-like value)."""
    return str(getattr(value, "value", value) or "RUNTIME_STATE_UNSPECIFIED").upper()


def _direct(what: str, action: Callable[[], Any], namespace: str | None = None) -> Any:
    """Run a client call as it is (what ``kfp_api.Caller`` does, without retries or error lines)."""
    return action()


class PipelineNames:
    """A run's pipeline name, asking the API once per pipeline."""

    def __init__(self, get_pipeline: Callable[[str], Any], call: Callable[..., Any] = _direct) -> None:
        self._get_pipeline = get_pipeline
        self._call = call
        self._names: dict[str, str | None] = {}

    def _by_id(self, pipeline_id: str) -> str | None:
        if pipeline_id not in self._names:
            name = None
            try:
                pipeline = self._call(f"get pipeline {pipeline_id}", lambda: self._get_pipeline(pipeline_id))
                name = getattr(pipeline, "display_name", None) or None
            except Exception as exc:
                # A deleted pipeline leaves its runs behind: they fall back to their own names.
                if _status(exc) != 404:
                    raise
            self._names[pipeline_id] = name
        return self._names[pipeline_id]

    def of(self, run: Any) -> str:
        reference = getattr(run, "pipeline_version_reference", None)
        pipeline_id = getattr(reference, "pipeline_id", None) if reference is not None else None
        if pipeline_id:
            name = self._by_id(pipeline_id)
            if name:
                return name
        spec = getattr(run, "pipeline_spec", None)
        if isinstance(spec, Mapping):
            info = spec.get("pipelineInfo") or spec.get("pipeline_info") or {}
            if isinstance(info, Mapping) and info.get("name"):
                return str(info["name"])
        return getattr(run, "display_name", None) or getattr(run, "run_id", None) or "(unnamed)"


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _task_names(run: Any) -> tuple[str, ...]:
    details = getattr(run, "run_details", None)
    tasks = getattr(details, "task_details", None) or []
    return tuple(t.display_name for t in tasks if getattr(t, "display_name", None))


def created_since(start: datetime) -> str:
    """The API filter for runs created at or after ``start`` (the JSON form of KFP's ``Filter``)."""
    predicate = {"key": "created_at", "operation": "GREATER_THAN_EQUALS", "timestamp_value": iso(start)}
    return json.dumps({"predicates": [predicate]})


def _pages(client: Any, namespace: str, start: datetime, page_size: int, call: Callable[..., Any]) -> Iterator[Any]:
    token = ""
    while True:
        response = call(
            f"list runs in {namespace}",
            lambda token=token: client.list_runs(
                page_token=token,
                page_size=page_size,
                namespace=namespace,
                sort_by="created_at desc",
                filter=created_since(start),
            ),
            namespace,
        )
        yield from response.runs or []
        token = response.next_page_token or ""
        if not token:
            return


def fetch_runs(
    client: Any,
    namespaces: Mapping[str, str],
    start: datetime,
    *,
    page_size: int | None = None,
    call: Callable[..., Any] = _direct,
) -> list[RunRecord]:
    """Every run created at or after ``start`` in each team's namespace, as records.

    ``client`` is a ``kfp.Client`` (or anything with its ``list_runs``, ``get_pipeline`` and
    ``get_run``); ``namespaces`` maps team to namespace. The server is asked for the window's runs
    only, and the window is applied here again, so a server that ignores the filter gives the same
    answer. A run listed without its details is asked for once, to learn its tasks.
    """
    if not namespaces:
        return []
    names = PipelineNames(client.get_pipeline, call)
    records = []
    for team, namespace in namespaces.items():
        for run in _pages(client, namespace, start, page_size or PAGE_SIZE, call):
            created = _utc(run.created_at)
            if created is None or created < start:
                continue
            if getattr(run, "run_details", None) is None and getattr(run, "run_id", None):
                run = call(f"get run {run.run_id}", lambda run_id=run.run_id: client.get_run(run_id), namespace)
            records.append(
                RunRecord(
                    team=team,
                    pipeline=names.of(run),
                    state=_state(run.state),
                    created_at=created,
                    finished_at=_utc(getattr(run, "finished_at", None)),
                    tasks=_task_names(run),
                )
            )
    return records


def collect(
    url: str,
    token: str,
    *,
    env: str,
    window: Window,
    namespaces: Mapping[str, str],
    components: Sequence[str],
    ca_bundle: Path | None = None,
) -> Usage:
    """The usage core: read the window's runs from the KFP API at ``url`` and aggregate them.

    Calls go through ``kfp_api.Caller``: 429 and 5xx are retried a few times, anything else is one
    ``KfpCallFailed`` line naming the call.
    """
    records: list[RunRecord] = []
    if namespaces:
        client = kfp_api.connect(url, token, namespace=next(iter(namespaces.values())), ca_bundle=ca_bundle)
        records = fetch_runs(client, namespaces, window.start, call=kfp_api.Caller(url, sleep=kfp_api.pause))
    return aggregate(records, env=env, window=window, teams=list(namespaces), components=components)
