"""The steps that apply one Kubeflow release hop to a cluster (``platform upgrade apply --kubeflow``).

Per hop (``kubeflow.plan_hops`` rendered and compared it), in this order:

1. ``backup``: Profiles, RoleBindings and AuthorizationPolicies exported to a timestamped folder,
   and an RDS snapshot when the Pipelines database is on RDS (``backup.py``);
2. ``manual/<id>``: each of the release's manual steps, confirmed by the operator before anything
   changes (``--yes`` confirms them in CI);
3. ``crds``: the target's CRDs server-side applied, then waited for until Established;
4. ``objects``: everything else of the target render, and its Secrets from their references,
   in dependency order (``cluster_apply``);
5. ``prune``: the objects of the current release the target no longer renders, deleted only where
   the live copy carries the kit's environment label;
6. ``desired-state``: ``kubeflow.version`` and its source in ``platform.yaml`` move to the target,
   last, so the file never names a release the cluster does not run.

Each step's ``is_done`` reads the cluster (or ``platform.yaml``, or the backup folder), so a re-run
skips what is already there and finishes an interrupted hop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platform_kit import cluster_apply
from platform_kit.upgrade import backup
from platform_kit.upgrade.steps import Step, StepFailed

SHOWN = 5  # missing objects named in a failure; the rest are counted


@dataclass
class KubeflowContext:
    env: str
    cluster: Any  # kube.Cluster
    backup_root: Path
    secretsmanager: Callable[[], Any]  # makes the boto3 client, only when a Secret needs it
    desired_version: Callable[[], str]  # platform.yaml's kubeflow.version, read now
    record_version: Callable[[str], None]  # writes the target release (and its source) to platform.yaml
    known: list[str]  # supported releases, oldest first
    database: Callable[[], backup.Database] | None = None  # the RDS instance, when RDS is on
    on_line: Callable[[str], None] = lambda _: None


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def _secret_specs(hop: Any) -> list[dict[str, Any]]:
    from platform_kit import secret_values

    if hop.build_dir is None:
        return []
    return secret_values.load_specs(hop.build_dir)


def _secrets_missing(cluster: Any, specs: list[dict[str, Any]]) -> list[str]:
    """Secrets of the render that do not exist yet or lack one of their keys (values are not read)."""
    found = []
    for spec in specs:
        live = cluster.get("v1", "Secret", str(spec["name"]), str(spec["namespace"]))
        keys = set((live or {}).get("data") or {})
        if live is None or not set(spec.get("data") or {}) <= keys:
            found.append(f"Secret {spec['namespace']}/{spec['name']}")
    return found


def hop_steps(hop: Any, ctx: KubeflowContext) -> list[Step]:
    """The steps of one hop (``kubeflow.KubeflowHop`` with its renders), each acting on ``ctx``."""
    source, target = hop.source, hop.target
    prefix = f"kubeflow-{target}"
    crds = [o for o in hop.after if cluster_apply.is_crd(o)]
    rest = [o for o in hop.after if not cluster_apply.is_crd(o)]
    prune_set = hop.prune_objects()
    cluster = ctx.cluster

    def recorded() -> bool:
        current = ctx.desired_version()
        return current in ctx.known and ctx.known.index(current) >= ctx.known.index(target)

    # 1. backup
    def take_backup() -> None:
        folder = backup.take(cluster, ctx.backup_root, source, target, env=ctx.env, database=ctx.database)
        ctx.on_line(f"backup written to {folder}")

    def backup_there() -> None:
        if backup.recent(ctx.backup_root, source, target) is None:
            raise StepFailed(f"no complete backup of {source} -> {target} under {ctx.backup_root}")

    what = "Profiles, RoleBindings and AuthorizationPolicies exported to " + str(
        ctx.backup_root / f"<UTC time>-{backup.hop_name(source, target)}/"
    )
    steps = [
        Step(
            f"{prefix}/backup",
            f"Back up before Kubeflow {target}",
            prechecks=["the cluster answers (the export lists three kinds)"],
            changes=[what] + (["a manual snapshot of the Pipelines RDS instance, waited for"] if ctx.database else []),
            verify=[f"{backup.MANIFEST} written last; a backup of this hop younger than {backup.FRESH_HOURS} h counts"],
            is_done=lambda: recorded() or backup.recent(ctx.backup_root, source, target) is not None,
            run=take_backup,
            confirm_after=backup_there,
        )
    ]

    # 2. the release's manual steps, each confirmed before anything changes
    for manual in hop.manual:
        steps.append(
            Step(
                f"{prefix}/manual/{manual.id}",
                f"Manual step for Kubeflow {target}: {manual.id}",
                prechecks=[f"source: {manual.source}"],
                manual=manual.text,
                is_done=recorded,
            )
        )

    # 3. CRDs, then wait until Established
    def apply_crds() -> None:
        for obj in cluster_apply.order(crds):
            cluster.apply(obj)
        cluster_apply.wait_established(cluster, [str(o["metadata"]["name"]) for o in crds])

    def crds_there() -> None:
        gone = cluster_apply.missing(cluster, crds)
        if gone:
            raise StepFailed(f"{len(gone)} CRD(s) not applied or not Established: {_listing(gone)}")

    crd_changes = [f"CRD {c.line()}" for c in hop.crd_changes]
    steps.append(
        Step(
            f"{prefix}/crds",
            f"Apply the CRDs of Kubeflow {target}",
            prechecks=[f"{len(crds)} CRDs rendered from the {target} upstream"],
            changes=[f"server-side apply of {len(crds)} CRDs ({len(hop.crds_added)} new)", *crd_changes],
            verify=["every CRD is Established before anything that uses it is applied"],
            is_done=lambda: recorded() or not cluster_apply.missing(cluster, crds, limit=1),
            run=apply_crds,
            confirm_after=crds_there,
        )
    )

    # 4. everything else, with the Secrets made from their references
    def apply_objects() -> None:
        if missing_crds := cluster_apply.missing(cluster, crds, limit=1):
            raise StepFailed(f"the CRDs are not all Established ({missing_crds[0]})", hint="run the crds step first")
        specs = _secret_specs(hop)
        secrets = cluster_apply.secret_objects(cluster, specs, ctx.secretsmanager()) if specs else []
        counts = cluster_apply.apply_all(cluster, rest + secrets, on_line=ctx.on_line)
        ctx.on_line(
            f"{counts['created']} created, {counts['changed']} changed, {counts['unchanged']} unchanged "
            f"({len(secrets)} Secrets from their references)"
        )

    def objects_missing(limit: int | None = None) -> list[str]:
        gone = cluster_apply.missing(cluster, rest, limit=limit)
        if limit is not None and gone:
            return gone
        return gone + _secrets_missing(cluster, _secret_specs(hop))

    def objects_there() -> None:
        gone = objects_missing()
        if gone:
            raise StepFailed(f"{len(gone)} object(s) do not hold what was applied: {_listing(gone)}")

    changed = len(hop.diff.changed)
    steps.append(
        Step(
            f"{prefix}/objects",
            f"Apply Kubeflow {target}",
            prechecks=["the CRDs of the release are Established"],
            changes=[
                f"server-side apply of {len(rest)} objects: {len(hop.diff.added)} new, {changed} changed; "
                "namespaces first, webhooks last",
                "the Secrets of the render's secrets.yaml, values read from their references (never logged)",
            ],
            verify=["every object on the cluster holds every field rendered"],
            is_done=lambda: recorded() or not objects_missing(limit=1),
            run=apply_objects,
            confirm_after=objects_there,
        )
    )

    # 5. prune: only what the kit labelled for this environment
    def prune() -> None:
        deleted, kept = cluster_apply.prune(cluster, prune_set, ctx.env)
        ctx.on_line(f"pruned {len(deleted)} object(s)" + (f": {_listing(deleted)}" if deleted else ""))
        for line in kept:
            ctx.on_line(f"kept {line}")

    def pruned() -> None:
        left = cluster_apply.still_present(cluster, prune_set, ctx.env)
        if left:
            raise StepFailed(f"{len(left)} object(s) of the prune set are still there: {_listing(left)}")

    steps.append(
        Step(
            f"{prefix}/prune",
            f"Prune what Kubeflow {target} no longer has",
            prechecks=[f"only live objects labelled {cluster_apply.ENV_LABEL}={ctx.env}"],
            changes=[f"delete {len(prune_set)} object(s) the {source} render had and {target} does not"],
            verify=["none of them is left with the kit's label"],
            # Before the hop the prune set is the running release's own objects, so "none left" means
            # pruned (a later hop's set, not created yet, is held back by the plan until its turn).
            is_done=lambda: recorded() or not cluster_apply.still_present(cluster, prune_set, ctx.env),
            run=prune,
            confirm_after=pruned,
        )
    )

    # 6. platform.yaml
    def record() -> None:
        ctx.record_version(target)

    def recorded_check() -> None:
        if not recorded():
            raise StepFailed(f"platform.yaml still says kubeflow.version {ctx.desired_version()}")

    steps.append(
        Step(
            f"{prefix}/desired-state",
            f"Record Kubeflow {target} in platform.yaml",
            changes=[f"kubeflow.version {source} -> {target}, and its source (git ref or release folder)"],
            verify=["platform.yaml loads and names the new release"],
            is_done=recorded,
            run=record,
            confirm_after=recorded_check,
        )
    )
    return steps
