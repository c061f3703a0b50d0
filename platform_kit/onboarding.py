"""``onboard_team``: from a request to a working team, in steps that are each safe to repeat.

1. the spec is built and validated with every platform-wide rule (bad input: nothing touched);
2. nothing that belongs to someone else is taken over (an IAM role outside this team's state, a
   namespace that is not this team's profile);
3. ``platform/teams/<team>.yaml`` is written (only if it changed; ``write=False`` for the
   pull-request path, where CI runs from the committed file);
4. the team's Terraform stack is planned, shown, confirmed and applied (its own state and lock);
5. the team's objects are rendered with the role ARN the stack created, and server-side applied
   (Profile first; the rest once the profile controller has made the namespace);
6. the namespace and the ``default-editor`` service account's role annotation are waited for.

Each step reads before it writes, so a second run changes nothing, and a run stopped anywhere is
finished by running it again. Without a cluster (the sandbox has no Kubernetes API server) the
objects are rendered and validated, and the result says so.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from platform_kit import naming, team_spec
from platform_kit.config.validate import TEAMS_DIR, LoadedConfig, load_platform
from platform_kit.context import Settings
from platform_kit.errors import BadInput, OperationFailed

NAMESPACE_TIMEOUT = 120.0
ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


@dataclass
class Step:
    name: str
    outcome: str
    changed: bool
    seconds: float = 0.0


@dataclass
class OnboardResult:
    team: str
    env: str
    namespace: str
    role_arn: str | None = None
    artifact_prefixes: list[str] = field(default_factory=list)
    ecr_repository: str | None = None
    dashboard_url: str = ""
    cluster: str = ""  # "applied" | "rendered and validated (no cluster)"
    dry_run: bool = False
    steps: list[Step] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(step.changed for step in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "env": self.env,
            "namespace": self.namespace,
            "role_arn": self.role_arn,
            "artifact_prefixes": self.artifact_prefixes,
            "ecr_repository": self.ecr_repository,
            "dashboard_url": self.dashboard_url,
            "cluster": self.cluster,
            "dry_run": self.dry_run,
            "changed": self.changed,
            "steps": [{"name": s.name, "outcome": s.outcome, "changed": s.changed} for s in self.steps],
        }


@dataclass
class Options:
    env: str
    dry_run: bool = False
    write: bool = True
    yes: bool = False
    allow_destroy: bool = False
    kube_context: str | None = None
    namespace_timeout: float = NAMESPACE_TIMEOUT
    check_runs: bool = False  # offboard-team: refuse while pipeline runs are active...
    force: bool = False  # ...unless forced
    hand_over: bool = False  # transfer-owner: move the namespace's owner annotation first


# --- 1. the spec ----------------------------------------------------------------------------


@dataclass
class Candidate:
    """The validated team, the text of its file, and whether that file exists and differs."""

    loaded: LoadedConfig
    team: Any
    path: Path
    text: str
    file_changes: bool
    prepared_from: str | None = None  # the team file's text when the request was built


def prepare(
    settings: Settings,
    request: team_spec.Request,
    *,
    from_file: Path | None,
    write: bool,
    must_exist: bool = False,
    owner_change: bool = False,
) -> Candidate:
    """Build the spec and validate it against the whole platform; BadInput/ConfigErrors before any call.

    ``must_exist`` for offboard-team and transfer-owner, which act on a team that has a file."""
    config_dir = settings.config_dir
    current = load_platform(config_dir)  # the platform as it is must already be valid
    current.env(request.env)  # --env given and known
    path = config_dir / TEAMS_DIR / f"{request.name}.yaml"
    existing = current.teams.get(request.name)
    if existing is not None and current.team_files.get(request.name) != path:
        path = current.team_files[request.name]
    base = team_spec.read_spec_file(from_file) if from_file else None
    if base is None and path.is_file():
        base = team_spec.read_spec_file(path, flag=str(path))
    if not write:
        if from_file is not None:
            raise BadInput("--no-write runs from the committed team file; --from-file would apply an uncommitted spec")
        if request.changes_anything:
            raise BadInput(
                "--no-write runs from the committed team file; change the file in the pull request instead of flags"
            )
        if not path.is_file():
            raise BadInput(f"--no-write: {path} does not exist (commit the team file first)")
    if must_exist and existing is None:
        raise BadInput(f"no team '{request.name}' in {config_dir / TEAMS_DIR}/", hint="see: platform teams list")
    if must_exist and request.env not in existing.environments:
        raise BadInput(
            f"team '{request.name}' is not in environment '{request.env}' "
            f"(its environments: {', '.join(existing.environments)})"
        )
    spec = team_spec.build(request, base, existing=existing is not None, owner_change=owner_change)
    on_disk = path.read_text(encoding="utf-8") if path.is_file() else None
    # A file that already says the same keeps its bytes (and its comments): compare meaning, not text.
    unchanged = on_disk is not None and yaml.safe_load(on_disk) == spec
    text = on_disk if unchanged else team_spec.to_yaml(spec)
    loaded = load_platform(config_dir, team_texts={path: text})
    team = loaded.teams[request.name]
    return Candidate(loaded, team, path, text, file_changes=write and not unchanged, prepared_from=on_disk)


# --- 2. nothing taken over ------------------------------------------------------------------


def check_namespace(cluster: Any, namespace: str, owner: str) -> None:
    """Refuse a namespace that exists but is not this team's Kubeflow profile."""
    live = cluster.get("v1", "Namespace", namespace)
    if live is None:
        return
    profile = cluster.get("kubeflow.org/v1", "Profile", namespace)
    if profile is None:
        raise OperationFailed(
            f"namespace {namespace} already exists and is not a Kubeflow profile; refusing to take it over",
            hint="pick another team name, or delete the namespace if it is abandoned",
        )
    labels = (profile.get("metadata") or {}).get("labels") or {}
    if labels.get("platform-kit.io/team") != namespace:
        current = ((profile.get("spec") or {}).get("owner") or {}).get("name")
        raise OperationFailed(
            f"profile {namespace} exists (owner {current}) and was not created by platform-kit; "
            "refusing to take it over",
            hint=f"if it should become this team, label it: kubectl label profile {namespace} "
            f"platform-kit.io/team={namespace}",
        )


def active_runs(cluster: Any, namespace: str) -> list[str]:
    """Names of the namespace's Argo workflows (pipeline runs) that have not finished."""
    from platform_kit.errors import OperationFailed as _Failed

    try:
        workflows = cluster.list("argoproj.io/v1alpha1", "Workflow", namespace=namespace)
    except _Failed as exc:
        if "does not serve" in exc.message:  # no Argo (Pipelines not installed): no runs
            return []
        raise
    done = {"Succeeded", "Failed", "Error"}
    return sorted(w["metadata"]["name"] for w in workflows if ((w.get("status") or {}).get("phase")) not in done)


OWNER_FIELD_MANAGER = "platform-kit-owner"


def hand_namespace_over(cluster: Any, namespace: str, owner: str) -> tuple[str, bool]:
    """Point the namespace's ``owner`` annotation at the new owner before the Profile changes.

    The profile controller refuses a Profile whose owner differs from its namespace's annotation
    (it never takes over a namespace); this annotation is the one field it checks."""
    if cluster.get("v1", "Namespace", namespace) is None:
        return f"namespace {namespace} does not exist yet", False
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "annotations": {"owner": owner}}}
    outcome = cluster.apply(body, field_manager=OWNER_FIELD_MANAGER)
    changed = outcome != "unchanged"
    return f"namespace {namespace} owner annotation {'set' if changed else 'already'} {owner}", changed


# --- locking --------------------------------------------------------------------------------


@contextmanager
def local_lock(path: Path, what: str) -> Iterator[None]:
    """One process at a time per stack on this machine (the S3 state lock covers other machines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise OperationFailed(
                f"{what} is locked by {holder} on this machine",
                hint="wait for it to finish; the lock goes away with that process",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- the whole thing ------------------------------------------------------------------------


def onboard_team(
    settings: Settings,
    candidate: Candidate,
    options: Options,
    *,
    confirm: Callable[[Any], bool],
    progress: Callable[[str], None] = lambda _: None,
    cluster: Any | None = None,
) -> OnboardResult:
    """Run every step for ``candidate`` in ``options.env``; ``cluster`` (a kube.Cluster) or None."""
    from platform_kit.infra import Infra, Stack

    team = candidate.team
    env_name = options.env
    loaded = candidate.loaded
    env = loaded.env(env_name)
    namespace = naming.team_namespace(team.name)
    result = OnboardResult(
        team=team.name,
        env=env_name,
        namespace=namespace,
        dashboard_url=f"https://{env.kubeflow.hostname}/?ns={namespace}",
        dry_run=options.dry_run,
    )

    notices: list[str] = []  # what Terraform's adapter did on its own (a stale lock released)

    def step(name: str, action: Callable[[], tuple[str, bool]]) -> None:
        progress(name)
        start = time.perf_counter()
        outcome, changed = action()
        if notices:
            outcome = "; ".join([*notices, outcome])
            notices.clear()
        result.steps.append(Step(name, outcome, changed, time.perf_counter() - start))

    infra = Infra(settings, loaded, env_name, on_notice=notices.append)
    stack = Stack("team", team.name)
    lock = settings.state_dir / "locks" / f"{env_name}-team-{team.name}.lock"
    with local_lock(lock, f"team:{team.name} in {env_name}"):
        state = _team_state(infra, stack)
        ownership: dict[str, Any] = {}

        def check_ownership() -> tuple[str, bool]:
            checked, ownership["orphans"] = _check_ownership(infra, stack, team, env_name, state, cluster, namespace)
            return checked, False

        step("check nothing is taken over", check_ownership)
        if options.check_runs:
            step("check for active pipeline runs", lambda: (_check_runs(cluster, namespace, options.force), False))
        _same_file_as_prepared(candidate)
        orphans = ownership["orphans"]
        if orphans:
            step("adopt what an interrupted run left", lambda: _adopt(infra, stack, orphans, options.dry_run))
        report_box: dict[str, Any] = {}

        def plan() -> tuple[str, bool]:
            # Planned and confirmed before the team file is written: a refused or declined plan
            # leaves nothing changed, not even the file.
            report = infra.plan(stack)
            report_box["report"] = report
            if not report.has_changes:
                return "no changes", False
            if options.dry_run:
                return f"would add {report.add}, change {report.change}, destroy {report.destroy}", False
            if not confirm(report):
                kept = "only the adoption above is in the state" if orphans and not options.dry_run else "nothing"
                raise OperationFailed(f"team:{team.name}: plan not applied (declined); {kept} was changed")
            return f"{report.add} to add, {report.change} to change, {report.destroy} to destroy (confirmed)", False

        step(f"plan the team stack (teams/{env_name}/{team.name}.tfstate)", plan)
        if options.dry_run:
            step("team file", lambda: ("would be written" if candidate.file_changes else "unchanged", False))
        else:
            step("team file", lambda: _write_team_file(candidate, settings))

        def terraform() -> tuple[str, bool]:
            report = report_box["report"]
            if options.dry_run:
                return "not applied (dry run)", False
            report_box["outputs"] = infra.apply(report)  # no changes: reads the outputs only
            if not report.has_changes:
                return "no changes", False
            return f"applied: {report.add} added, {report.change} changed, {report.destroy} destroyed", True

        step(f"team stack (teams/{env_name}/{team.name}.tfstate)", terraform)
        outputs = report_box.get("outputs") or {}
        result.role_arn = outputs.get("role_arn")
        result.artifact_prefixes = list(outputs.get("artifact_prefixes") or naming.team_artifact_prefixes(team.name))
        result.ecr_repository = outputs.get("ecr_repository_url")

        objects = _render(loaded, env_name, team, result.role_arn)
        if cluster is None:
            result.cluster = "rendered and validated (no cluster; pass --kube-context to apply)"
            step(
                "team objects",
                lambda: (f"{len(objects)} objects rendered and validated; no cluster to apply to", False),
            )
        elif options.dry_run:
            result.cluster = "dry run"
            step("team objects", lambda: (_preview(cluster, objects), False))
        else:
            result.cluster = "applied"
            if options.hand_over:
                step("hand the namespace over", lambda: hand_namespace_over(cluster, namespace, team.owner))
            step("apply the Profile", lambda: _apply(cluster, [o for o in objects if o["kind"] == "Profile"]))
            step(
                "wait for the namespace",
                lambda: (_wait_namespace(cluster, namespace, team.owner, options.namespace_timeout), False),
            )
            step("apply the team objects", lambda: _apply(cluster, [o for o in objects if o["kind"] != "Profile"]))
            step("remove what is no longer rendered", lambda: _prune(cluster, team.name, namespace, objects))
            step(
                "wait for default-editor's role",
                lambda: (_wait_role(cluster, namespace, result.role_arn, options.namespace_timeout), False),
            )
    return result


def _check_runs(cluster: Any, namespace: str, force: bool) -> str:
    if cluster is None:
        return "no cluster to ask (sandbox); not checked"
    runs = active_runs(cluster, namespace)
    if runs and not force:
        shown = ", ".join(runs[:5]) + (f" and {len(runs) - 5} more" if len(runs) > 5 else "")
        raise OperationFailed(
            f"{len(runs)} pipeline run(s) still active in {namespace}: {shown}",
            hint="wait for them to finish, or pass --force to offboard anyway (their role stops working)",
        )
    return f"{len(runs)} active (forced)" if runs else "none active"


def _same_file_as_prepared(candidate: Candidate) -> None:
    """Under the lock: the team file is still the one the request was built from (no run slipped in)."""
    now = candidate.path.read_text(encoding="utf-8") if candidate.path.is_file() else None
    if now != candidate.prepared_from:
        raise OperationFailed(
            f"{candidate.path.name} changed while this run waited for the lock; nothing was done",
            hint="run the command again",
        )


def _team_state(infra: Any, stack: Any) -> dict[str, Any] | None:
    """The team stack's state object, or None before its first apply."""
    import json

    from botocore.exceptions import ClientError

    try:
        body = (
            infra.session()
            .client("s3")
            .get_object(Bucket=infra.state_bucket, Key=infra.state_key(stack))["Body"]
            .read()
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code == "NoSuchKey":
            return None
        if code == "NoSuchBucket":
            raise OperationFailed(
                f"state bucket {infra.state_bucket} does not exist",
                hint=f"run: platform bootstrap --env {infra.env_name}",
            ) from None
        raise
    return json.loads(body)


def _check_ownership(infra: Any, stack: Any, team: Any, env_name: str, state: Any, cluster: Any, namespace: str):
    """Refuse what belongs to someone else; return (what was checked, objects to adopt)."""
    from platform_kit import team_orphans

    named = team_orphans.named_objects(infra.session(), infra.inputs(stack))
    orphans = team_orphans.find(named, state, team.name, env_name)
    checked = f"{len(named)} named AWS objects"
    if cluster is not None:
        check_namespace(cluster, namespace, team.owner)
        checked += " and the namespace"
    return f"{checked} free or already this team's", orphans


def _adopt(infra: Any, stack: Any, orphans: list[Any], dry_run: bool) -> tuple[str, bool]:
    """Import what an interrupted run created but did not record (state only; AWS is unchanged)."""
    listed = ", ".join(o.what for o in orphans)
    if dry_run:
        return f"would adopt {listed} (left by an interrupted run)", False
    infra.import_resources(stack, [(o.address, o.import_id) for o in orphans])
    return f"adopted {listed}, left by an interrupted run, into the state", True


def _write_team_file(candidate: Candidate, settings: Settings) -> tuple[str, bool]:
    try:
        shown = candidate.path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        shown = candidate.path
    if not candidate.file_changes:
        return f"{shown} unchanged", False
    team_spec.write(candidate.path, candidate.text)
    return f"{shown} written", True


def _render(loaded: LoadedConfig, env_name: str, team: Any, role_arn: str | None) -> list[dict[str, Any]]:
    from platform_kit.render import schemas
    from platform_kit.render import team as team_render

    objects = team_render.render_team(loaded.platform, env_name, team)
    derived = team_render.team_role_arn(loaded.platform, env_name, team.name)
    if role_arn is not None and role_arn != derived:
        raise OperationFailed(f"the team stack's role {role_arn} is not the role the render derives ({derived})")
    kubernetes = loaded.platform.environments[env_name].cluster.kubernetes_version
    problems = schemas.validate(objects, kubernetes, allow_without_schema=team_render.CUSTOM_KINDS)
    if problems:
        raise OperationFailed(f"rendered team objects are not valid: {problems[0]}")
    return objects


def _preview(cluster: Any, objects: list[dict[str, Any]]) -> str:
    from platform_kit import kube

    pending = [
        o
        for o in objects
        if not kube.contains(
            cluster.get(o["apiVersion"], o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")), o
        )
    ]
    return f"{len(pending)} of {len(objects)} objects would be applied" if pending else "cluster already matches"


def _apply(cluster: Any, objects: list[dict[str, Any]]) -> tuple[str, bool]:
    outcomes = [cluster.apply(o) for o in objects]
    created, changed = outcomes.count("created"), outcomes.count("changed")
    if not created and not changed:
        return f"{len(objects)} unchanged", False
    return f"{created} created, {changed} changed, {outcomes.count('unchanged')} unchanged", True


# Namespaced kinds the team render produces; the prune step looks only at these, and only at
# objects carrying the kit's team label (the profile controller's own objects have none).
PRUNABLE = (
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("security.istio.io/v1beta1", "AuthorizationPolicy"),
    ("security.istio.io/v1beta1", "RequestAuthentication"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("v1", "LimitRange"),
    ("v1", "ConfigMap"),
)


def _prune(cluster: Any, team: str, namespace: str, objects: list[dict[str, Any]]) -> tuple[str, bool]:
    """Delete the team's labelled objects that the render no longer has (a removed member, an offboarding)."""
    wanted = {(o["kind"], o["metadata"]["name"]) for o in objects}
    selector = f"app.kubernetes.io/managed-by=platform-kit,platform-kit.io/team={team}"
    removed: list[str] = []
    for api_version, kind in PRUNABLE:
        for live in cluster.list(api_version, kind, namespace=namespace, label_selector=selector):
            name = live["metadata"]["name"]
            if (kind, name) not in wanted and cluster.delete(api_version, kind, name, namespace):
                removed.append(f"{kind} {name}")
    if not removed:
        return "nothing to remove", False
    return f"removed {len(removed)}: {', '.join(removed)}", True


def _wait_namespace(cluster: Any, namespace: str, owner: str, timeout: float) -> str:
    def check() -> str | None:
        live = cluster.get("v1", "Namespace", namespace)
        if live is None:
            return f"namespace {namespace} not created yet (is the Kubeflow profile controller running?)"
        current = ((live.get("metadata") or {}).get("annotations") or {}).get("owner")
        if current != owner:
            return f"namespace {namespace} has owner {current!r}, expected {owner}"
        return None

    cluster.wait_for(check, timeout=timeout, what=f"namespace {namespace}")
    return f"namespace {namespace} exists, owner {owner}"


def _wait_role(cluster: Any, namespace: str, role_arn: str | None, timeout: float) -> str:
    def check() -> str | None:
        account = cluster.get("v1", "ServiceAccount", "default-editor", namespace)
        if account is None:
            return f"service account {namespace}/default-editor not created yet"
        current = ((account.get("metadata") or {}).get("annotations") or {}).get(ROLE_ANNOTATION)
        if role_arn is not None and current != role_arn:
            return f"{namespace}/default-editor has {ROLE_ANNOTATION}={current!r}, expected {role_arn}"
        return None

    cluster.wait_for(check, timeout=timeout, what=f"{namespace}/default-editor's role annotation")
    return f"{namespace}/default-editor assumes {role_arn}"


# --- deleting a team ------------------------------------------------------------------------


@dataclass
class Deletion:
    """What deleting a team in one environment removes; shown before anything is removed."""

    stack_resources: int = 0
    profile: bool = False
    images: int = 0
    objects: int = 0
    bytes: int = 0
    file_action: str = ""

    def lines(self, team: str, env: str, purge: bool) -> list[str]:
        out = [
            f"the team stack teams/{env}/{team}.tfstate ({self.stack_resources} resources: roles, policy, repository)"
        ]
        if self.profile:
            out.append(f"the Profile and namespace {team} (everything in the namespace)")
        if purge:
            out.append(f"{self.objects} artifact object version(s), {self.bytes:,} bytes, under the team's prefixes")
            out.append(f"{self.images} image(s) in the team's ECR repository")
        else:
            out.append("kept: the team's artifacts in the bucket")
        out.append(self.file_action)
        return out


def _artifact_versions(s3: Any, bucket: str, prefixes: list[str]) -> list[dict[str, Any]]:
    versions: list[dict[str, Any]] = []
    for prefix in prefixes:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            versions += [
                {"Key": v["Key"], "VersionId": v["VersionId"], "Size": v.get("Size", 0)}
                for v in page.get("Versions", [])
            ]
            versions += [
                {"Key": m["Key"], "VersionId": m["VersionId"], "Size": 0} for m in page.get("DeleteMarkers", [])
            ]
    return versions


def _images(ecr: Any, repository: str) -> list[dict[str, Any]]:
    from botocore.exceptions import ClientError

    try:
        pages = ecr.get_paginator("list_images").paginate(repositoryName=repository)
        return [image for page in pages for image in page.get("imageIds", [])]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "RepositoryNotFoundException":
            return []
        raise


def delete_team(
    settings: Settings,
    loaded: LoadedConfig,
    env_name: str,
    team: Any,
    *,
    purge: bool,
    force: bool,
    confirm: Callable[[Deletion], bool],
    confirm_destroy: Callable[[Any], bool],
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda _: None,
    cluster: Any | None = None,
    namespace_timeout: float = NAMESPACE_TIMEOUT,
) -> OnboardResult:
    """Remove ``team`` from ``env_name``: Profile and namespace, its stack, optionally its data; then its file.

    The team file changes last, so a run stopped anywhere still finds the team and finishes."""
    from platform_kit.infra import Infra, Stack

    namespace = naming.team_namespace(team.name)
    org = loaded.platform.organisation.name
    result = OnboardResult(team=team.name, env=env_name, namespace=namespace)
    infra = Infra(settings, loaded, env_name)
    stack = Stack("team", team.name)
    session = infra.session()
    repository = naming.team_ecr_repository(org, team.name)
    prefixes = naming.team_artifact_prefixes(team.name)
    bucket = infra.platform_outputs().get("artifact_bucket_name")

    def step(name: str, action: Callable[[], tuple[str, bool]]) -> None:
        progress(name)
        start = time.perf_counter()
        outcome, changed = action()
        result.steps.append(Step(name, outcome, changed, time.perf_counter() - start))

    lock = settings.state_dir / "locks" / f"{env_name}-team-{team.name}.lock"
    with local_lock(lock, f"team:{team.name} in {env_name}"):
        step("check for active pipeline runs", lambda: (_check_runs(cluster, namespace, force), False))
        state = _team_state(infra, stack)
        versions = _artifact_versions(session.client("s3"), str(bucket), prefixes) if bucket else []
        images = _images(session.client("ecr"), repository)
        other_envs = [e for e in team.environments if e != env_name]
        deletion = Deletion(
            stack_resources=sum(len(r.get("instances", [])) for r in (state or {}).get("resources", [])),
            profile=cluster is not None and cluster.get("kubeflow.org/v1", "Profile", namespace) is not None,
            images=len(images),
            objects=len(versions),
            bytes=sum(v["Size"] for v in versions),
            file_action=(
                f"{env_name} removed from the team file's environments (still in {', '.join(other_envs)})"
                if other_envs
                else f"the team file teams/{team.name}.yaml"
            ),
        )
        if cluster is not None:
            check_namespace(cluster, namespace, team.owner)  # never delete a namespace that is not this team's
        if images and not purge:
            raise OperationFailed(
                f"the team's ECR repository {repository} holds {len(images)} image(s), which deleting the stack "
                "would lose",
                hint="move them, or pass --purge-data to delete them with the team",
            )
        if not confirm(deletion):
            raise OperationFailed(f"team {team.name}: deletion not confirmed; nothing was removed")
        if dry_run:
            result.cluster = "dry run: nothing was removed"
            return result
        destroy_plan = infra.plan(stack, destroy=True)
        if destroy_plan.has_changes and not confirm_destroy(destroy_plan):
            raise OperationFailed(f"team:{team.name}: destroy plan not applied (declined); nothing was removed")
        if cluster is not None:
            step("delete the Profile and its namespace", lambda: _delete_profile(cluster, namespace, namespace_timeout))
        else:
            step("delete the Profile and its namespace", lambda: ("no cluster (sandbox); nothing to delete", False))
        if purge:
            step("delete the team's images", lambda: _purge_images(session.client("ecr"), repository, images))
            step("delete the team's artifacts", lambda: _purge_objects(session.client("s3"), str(bucket), versions))

        def destroy() -> tuple[str, bool]:
            report = infra.plan(stack, destroy=True)  # again: the images and Profile are gone now
            if not report.has_changes:
                return "nothing left to destroy", False
            infra.apply(report)
            return f"destroyed {report.destroy} resource(s)", True

        step(f"destroy the team stack (teams/{env_name}/{team.name}.tfstate)", destroy)
        step("team file", lambda: _drop_env_from_file(loaded, team, env_name))
    result.cluster = "deleted" if cluster is not None else "no cluster (sandbox)"
    return result


def _delete_profile(cluster: Any, namespace: str, timeout: float) -> tuple[str, bool]:
    deleted = cluster.delete("kubeflow.org/v1", "Profile", namespace)

    def gone() -> str | None:
        return None if cluster.get("v1", "Namespace", namespace) is None else f"namespace {namespace} still exists"

    cluster.wait_for(gone, timeout=timeout, what=f"namespace {namespace} to be deleted")
    return ("Profile deleted; namespace gone" if deleted else "already gone"), deleted


def _purge_images(ecr: Any, repository: str, images: list[dict[str, Any]]) -> tuple[str, bool]:
    failed = 0
    for start in range(0, len(images), 100):
        answer = ecr.batch_delete_image(repositoryName=repository, imageIds=images[start : start + 100])
        failed += len(answer.get("failures") or [])
    if failed:
        raise OperationFailed(f"{failed} image(s) in {repository} could not be deleted; nothing else was removed after")
    return (f"{len(images)} image(s) deleted" if images else "no images"), bool(images)


def _purge_objects(s3: Any, bucket: str, versions: list[dict[str, Any]]) -> tuple[str, bool]:
    for start in range(0, len(versions), 1000):
        batch = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions[start : start + 1000]]
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        errors = answer.get("Errors") or []
        if errors:
            raise OperationFailed(
                f"{len(errors)} artifact object version(s) could not be deleted (first: {errors[0].get('Key')}: "
                f"{errors[0].get('Code')}); the team stack and file were left in place",
                hint="fix the cause (bucket policy, object lock) and run the same command again",
            )
    return (f"{len(versions)} object version(s) deleted" if versions else "no objects"), bool(versions)


def _drop_env_from_file(loaded: LoadedConfig, team: Any, env_name: str) -> tuple[str, bool]:
    path = loaded.team_files.get(team.name)
    if path is None or not path.is_file():
        return "already removed", False
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    environments = [e for e in spec.get("environments", []) if e != env_name]
    if environments:
        spec["environments"] = environments
        team_spec.write(path, team_spec.to_yaml(spec))
        return f"{env_name} removed from {path.name}", True
    path.unlink()
    return f"{path.name} removed", True
