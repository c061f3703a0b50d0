"""Scheduling the ``platform-health`` smoke pipeline in the cluster for each team, through the KFP API.

``deploy`` makes the Kubeflow Pipelines side match what the kit wants, and changes nothing that
already matches:

* one shared pipeline ``platform-health`` (created if missing) with a version per compiled
  content: the version's name is the hash of the compiled YAML, so the same catalog and image
  upload nothing;
* per team, in its namespace: an experiment ``platform-health`` and a recurring run
  ``platform-health`` on that version, with the team's arguments (``smoke.target_for``: values
  from the stacks' state) and the cron schedule. KFP cannot update a recurring run, so a changed
  one is replaced: the new one is created first and the old one deleted after, so a failure in
  between leaves the team with two schedules (the next deploy removes the old one), never none.
  A recurring run someone paused stays paused (a replacement is created paused too).

Teams are independent: one team's failure is recorded in its result and the others go on. KFP
calls that answer 429 or 5xx are retried with bounded backoff; anything else fails at once with
the call named. Bad input (teams, schedule) is refused before any call. The function prints
nothing; ``platform smoke deploy`` (``commands/smoke.py``) is its command.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from platform_kit import kfp_api, naming
from platform_kit.errors import BadInput, OperationFailed

PIPELINE_NAME = "platform-health"
EXPERIMENT_NAME = "platform-health"
RECURRING_RUN_NAME = "platform-health"
DEFAULT_SCHEDULE = "0 0 6 * * *"  # every day at 06:00 (KFP's cron: seconds first, six fields)
PAGE_SIZE = 100

T = TypeVar("T")


# --- input --------------------------------------------------------------------------------------


def select_teams(loaded: Any, env: str, teams: Sequence[str], all_teams: bool) -> list[str]:
    """The teams to deploy for: ``teams`` (each must exist and be active in ``env``) or, with
    ``all_teams``, every team active there. BadInput for anything else."""
    if bool(teams) == bool(all_teams):
        raise BadInput(
            "give either --team (one or more) or --all, not " + ("both" if teams else "neither"),
            hint=f"platform smoke deploy --env {env} --all",
        )
    if all_teams:
        active = sorted(t.name for t in loaded.teams.values() if env in t.environments and t.active_in(env))
        if not active:
            raise BadInput(f"--all: no team is active in environment '{env}'")
        return active
    from platform_kit.smoke import checked_team

    chosen: list[str] = []
    for name in teams:
        checked_team(loaded, env, name)
        if name not in chosen:
            chosen.append(name)
    return chosen


_DESCRIPTORS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
_MONTHS = {
    m: i
    for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
# (name, lowest, highest, names, whether "?" is allowed), in KFP's order: seconds first.
_FIELDS = (
    ("second", 0, 59, {}, False),
    ("minute", 0, 59, {}, False),
    ("hour", 0, 23, {}, False),
    ("day of month", 1, 31, {}, True),
    ("month", 1, 12, _MONTHS, False),
    ("day of week", 0, 6, _DAYS, True),
)


def check_schedule(schedule: str) -> str:
    """``schedule`` when KFP's cron parser (robfig/cron with seconds) takes it; BadInput otherwise."""
    text = " ".join(schedule.split())
    bad = f"--schedule {schedule!r}"
    if text.startswith("@"):
        if text in _DESCRIPTORS or (text.startswith("@every ") and _DURATION.match(text[len("@every ") :])):
            return text
        raise BadInput(f"{bad}: not a cron descriptor (@hourly, @daily, @weekly, @monthly, @every 6h, ...)")
    fields = text.split(" ") if text else []
    if len(fields) == 5:
        raise BadInput(
            f"{bad}: KFP's cron has six fields, seconds first",
            hint=f"--schedule '0 {text}' runs at those minutes; the default is '{DEFAULT_SCHEDULE}' (06:00 daily)",
        )
    if len(fields) != 6:
        raise BadInput(f"{bad}: KFP's cron has six fields (second minute hour day month weekday), got {len(fields)}")
    for value, (name, low, high, names, question) in zip(fields, _FIELDS, strict=True):
        problem = _field_problem(value, low, high, names, question)
        if problem:
            raise BadInput(f"{bad}: {name} field {value!r}: {problem}")
    return text


def _field_problem(value: str, low: int, high: int, names: dict[str, int], question: bool) -> str | None:
    def number(text: str) -> int | None:
        if text.upper() in names:
            return names[text.upper()]
        return int(text) if text.isdigit() else None

    for item in value.split(","):
        base, _, step = item.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            return f"step {step!r} is not a positive whole number"
        if base in ("*", "?"):
            if base == "?" and not question:
                return "'?' is only for the day fields"
            continue
        first, _, last = base.partition("-")
        bounds = [number(first)] + ([number(last)] if last else [])
        if any(b is None for b in bounds):
            return f"{item!r} is not a number, range or name"
        if any(not low <= b <= high for b in bounds if b is not None):
            return f"{item!r} is outside {low}-{high}"
        if len(bounds) == 2 and bounds[0] > bounds[1]:  # type: ignore[operator]
            return f"range {base!r} runs backwards"
    return None


# --- results ------------------------------------------------------------------------------------


@dataclass
class TeamDeploy:
    """What the deploy did (or, in a dry run, would do) for one team."""

    team: str
    namespace: str
    ok: bool = True
    experiment: str = ""  # created | unchanged | would create
    recurring_run: str = ""  # created | replaced | unchanged | would create | would replace
    recurring_run_id: str = ""
    paused: bool = False
    removed: list[str] = field(default_factory=list)  # ids of recurring runs deleted (replaced or duplicates)
    arguments: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    hint: str = ""


@dataclass
class DeployResult:
    env: str
    kfp_url: str
    schedule: str
    pipeline: str  # created | unchanged | would create
    version: str  # the version's name: the compiled pipeline's content hash
    version_status: str  # uploaded | unchanged | would upload
    pipeline_id: str = ""
    version_id: str = ""
    dry_run: bool = False
    teams: list[TeamDeploy] = field(default_factory=list)

    @property
    def failed(self) -> list[TeamDeploy]:
        return [t for t in self.teams if not t.ok]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- calls --------------------------------------------------------------------------------------


def _equals(key: str, value: str) -> str:
    return json.dumps({"predicates": [{"operation": "EQUALS", "key": key, "string_value": value}]})


def compile_pipeline(image: str) -> tuple[str, str]:
    """(content hash, compiled YAML) of ``platform-health`` for ``image``, as the catalog builds it."""
    from platform_kit.catalog.build import compile_catalog
    from platform_kit.pipelines.platform_health import make_platform_health

    entries, texts = compile_catalog(image, components={}, pipelines={PIPELINE_NAME: make_platform_health})
    return entries[0].version, texts[entries[0].file]


def deploy(
    infra: Any,
    client: Any,
    *,
    teams: Sequence[str] = (),
    all_teams: bool = False,
    schedule: str = DEFAULT_SCHEDULE,
    kfp_url: str = "",
    dry_run: bool = False,
    image: str | None = None,
    sleep: Callable[[float], None] | None = None,
) -> DeployResult:
    """Make KFP hold ``platform-health`` for the chosen teams (see the module docstring).

    ``client`` is a ``kfp.Client`` (or anything with its methods). Bad input raises BadInput before
    any call; a failure of the shared pipeline raises OperationFailed (no team can go on); a team's
    own failure is in its ``TeamDeploy`` and the other teams go on."""
    from platform_kit.catalog import images
    from platform_kit.smoke import target_for

    names = select_teams(infra.loaded, infra.env_name, teams, all_teams)
    schedule = check_schedule(schedule)
    image = images.pinned(image or images.for_environment(infra.loaded, infra.env_name), what="--image")
    url = kfp_url or kfp_api.default_url(infra.env)
    call = kfp_api.Caller(url, sleep=sleep or kfp_api.pause)

    plans: list[tuple[TeamDeploy, dict[str, Any] | None]] = []
    for name in names:
        team = TeamDeploy(team=name, namespace=naming.team_namespace(name))
        try:
            arguments = target_for(infra, name).arguments(with_tensorboard=True)
        except OperationFailed as exc:
            team.ok, team.error, team.hint = False, f"team {name}: {exc.message}", exc.hint or ""
            plans.append((team, None))
            continue
        team.arguments = arguments
        plans.append((team, arguments))

    version_name, text = compile_pipeline(image)
    result = DeployResult(
        env=infra.env_name, kfp_url=url, schedule=schedule, pipeline="", version=version_name, version_status=""
    )
    result.dry_run = dry_run
    with tempfile.TemporaryDirectory(prefix="platform-health-") as tmp:
        package = Path(tmp) / f"{PIPELINE_NAME}.yaml"
        package.write_text(text, encoding="utf-8")
        try:
            _ensure_pipeline(client, call, result, package, dry_run)
        except kfp_api.KfpCallFailed as exc:
            raise OperationFailed(f"smoke deploy for every team stopped: {exc.message}", hint=exc.hint) from None
    for team, arguments in plans:
        if arguments is not None:
            try:
                _ensure_team(client, call, result, team, arguments, dry_run)
            except kfp_api.KfpCallFailed as exc:
                team.ok, team.error, team.hint = False, f"team {team.team}: {exc.message}", exc.hint or ""
        result.teams.append(team)
    return result


def _pipeline_id(client: Any) -> str | None:
    """The shared pipeline's id; two pipelines of that name (made by hand) is one clear error."""
    try:
        return client.get_pipeline_id(PIPELINE_NAME)
    except ValueError:  # kfp.Client's answer to more than one match
        raise kfp_api.KfpCallFailed(
            f"find pipeline {PIPELINE_NAME}: more than one pipeline is named {PIPELINE_NAME}",
            409,
            "keep one: delete the others (and their versions) in the Kubeflow Pipelines UI, then deploy again",
        ) from None


def _ensure_pipeline(client: Any, call: kfp_api.Caller, result: DeployResult, package: Path, dry_run: bool) -> None:
    """The shared pipeline and the version named by the content hash: found, or made (not in a dry run)."""
    pipeline_id = call(f"find pipeline {PIPELINE_NAME}", lambda: _pipeline_id(client))
    if pipeline_id is None and dry_run:
        result.pipeline, result.version_status = "would create", "would upload"
        return
    result.pipeline = "unchanged"
    if pipeline_id is None:
        body = client.api_models.V2beta1Pipeline(
            display_name=PIPELINE_NAME,
            name=PIPELINE_NAME,
            description="The platform's smoke pipeline: one team's storage, SageMaker, Batch and TensorBoard path.",
        )
        try:
            created = call(
                f"create pipeline {PIPELINE_NAME}", lambda: client.pipelines.pipeline_service_create_pipeline(body)
            )
            pipeline_id, result.pipeline = created.pipeline_id, "created"
        except kfp_api.KfpCallFailed as exc:
            if exc.status != 409:  # 409: another deploy made it meanwhile
                raise
            pipeline_id = call(f"find pipeline {PIPELINE_NAME}", lambda: _pipeline_id(client))
    result.pipeline_id = pipeline_id

    def find_version() -> Any:
        found = kfp_api.all_pages(
            lambda token: client.list_pipeline_versions(
                pipeline_id, page_token=token, page_size=PAGE_SIZE, filter=_equals("name", result.version)
            ),
            "pipeline_versions",
        )
        return next((v for v in found if v.name == result.version), None)

    what = f"find version {result.version} of pipeline {PIPELINE_NAME}"
    version = call(what, find_version)
    if version is None and dry_run:
        result.version_status = "would upload"
        return
    result.version_status = "unchanged"
    if version is None:
        try:
            version = call(
                f"upload version {result.version} of pipeline {PIPELINE_NAME}",
                lambda: client.upload_pipeline_version(
                    str(package), result.version, pipeline_id=pipeline_id, description="compiled by platform-kit"
                ),
            )
            result.version_status = "uploaded"
        except kfp_api.KfpCallFailed as exc:
            if exc.status != 409:
                raise
            version = call(what, find_version)
    result.version_id = version.pipeline_version_id


def _same_arguments(live: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    """Parameters as KFP gives them back (numbers may come back as floats) against ours."""
    live = live or {}
    if set(live) != set(wanted):
        return False
    for key, value in wanted.items():
        got = live[key]
        if isinstance(value, bool) or isinstance(got, bool):
            if got is not value and str(got).lower() != str(value).lower():
                return False
        elif isinstance(value, int | float) and isinstance(got, int | float | str):
            try:
                if float(got) != float(value):
                    return False
            except ValueError:
                return False
        elif got != value:
            return False
    return True


def _matches(recurring: Any, version_id: str, arguments: dict[str, Any], schedule: str) -> bool:
    reference = recurring.pipeline_version_reference
    cron = recurring.trigger.cron_schedule if recurring.trigger else None
    parameters = recurring.runtime_config.parameters if recurring.runtime_config else None
    return (
        bool(version_id)
        and reference is not None
        and reference.pipeline_version_id == version_id
        and cron is not None
        and " ".join((cron.cron or "").split()) == schedule
        and _same_arguments(parameters, arguments)
    )


def _created(recurring: Any) -> float:
    return recurring.created_at.timestamp() if recurring.created_at else 0.0


def _paused(recurring: Any) -> bool:
    return recurring.mode == "DISABLE" or recurring.status == "DISABLED"


def _ensure_team(
    client: Any, call: kfp_api.Caller, result: DeployResult, team: TeamDeploy, arguments: dict[str, Any], dry_run: bool
) -> None:
    namespace = team.namespace

    def find_experiment() -> Any:
        found = client.list_experiments(namespace=namespace, filter=_equals("display_name", EXPERIMENT_NAME))
        return next((e for e in found.experiments or [] if e.display_name == EXPERIMENT_NAME), None)

    what = f"find experiment {EXPERIMENT_NAME} in {namespace}"
    experiment = call(what, find_experiment, namespace)
    team.experiment = "unchanged"
    if experiment is None:
        if dry_run:
            team.experiment, team.recurring_run = "would create", "would create"
            return
        try:
            experiment = call(
                f"create experiment {EXPERIMENT_NAME} in {namespace}",
                lambda: client.create_experiment(
                    EXPERIMENT_NAME, description="Scheduled platform-health runs", namespace=namespace
                ),
                namespace,
            )
            team.experiment = "created"
        except kfp_api.KfpCallFailed as exc:
            if exc.status != 409:
                raise
            experiment = call(what, find_experiment, namespace)

    existing = call(
        f"list recurring runs in {namespace}",
        lambda: kfp_api.all_pages(
            lambda token: client.list_recurring_runs(
                namespace=namespace,
                page_token=token,
                page_size=PAGE_SIZE,
                filter=_equals("display_name", RECURRING_RUN_NAME),
                sort_by="created_at",
            ),
            "recurring_runs",
        ),
        namespace,
    )
    # Oldest first, so existing[-1] is the newest (whose pause carries over).
    existing = sorted((r for r in existing if r.display_name == RECURRING_RUN_NAME), key=_created)
    keep = next((r for r in existing if _matches(r, result.version_id, arguments, result.schedule)), None)
    if keep is not None:
        team.recurring_run, team.recurring_run_id, team.paused = "unchanged", keep.recurring_run_id, _paused(keep)
    elif dry_run:
        team.recurring_run = "would replace" if existing else "would create"
        team.paused = bool(existing) and _paused(existing[-1])
        return
    else:
        team.paused = bool(existing) and _paused(existing[-1])  # the newest one's pause carries over
        created = call(
            f"create recurring run {RECURRING_RUN_NAME} in {namespace}",
            lambda: client.create_recurring_run(
                experiment.experiment_id,
                RECURRING_RUN_NAME,
                description=f"platform-health for team {team.team}, scheduled by platform-kit",
                cron_expression=result.schedule,
                max_concurrency=1,
                no_catchup=True,
                params=arguments,
                pipeline_id=result.pipeline_id,
                version_id=result.version_id,
                enabled=not team.paused,
            ),
            namespace,
            replayable=False,  # KFP does not deduplicate it: a retried create could schedule twice
        )
        team.recurring_run = "replaced" if existing else "created"
        team.recurring_run_id = created.recurring_run_id
    # Only now, with the wanted one in place, do the others go (old ones, duplicates of a stopped run).
    for other in existing:
        if other.recurring_run_id == team.recurring_run_id:
            continue
        if dry_run:
            team.removed.append(other.recurring_run_id)
            continue
        call(
            f"delete the old recurring run {other.recurring_run_id} in {namespace} "
            f"(the new one, {team.recurring_run_id}, is in place)",
            lambda other=other: client.delete_recurring_run(other.recurring_run_id),
            namespace,
        )
        team.removed.append(other.recurring_run_id)
