"""``platform upgrade``'s core: the ordered steps for an environment, from the request and real state.

``plan_upgrade`` reads the environment's cluster from EKS (its version and node groups), turns the
request into steps (``eks.hop_steps`` per hop) and reports which are already done. The CLI prints
that plan, or hands the steps to ``steps.execute`` to apply them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_kit.errors import BadInput, OperationFailed
from platform_kit.upgrade import eks as eks_upgrade
from platform_kit.upgrade.steps import Step, StepFailed, status


@dataclass
class UpgradePlan:
    env: str
    current: dict[str, str]  # what is running now: "kubernetes" -> "1.31", ...
    target: dict[str, str]
    steps: list[Step]
    done: dict[str, bool]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "current": self.current,
            "target": self.target,
            "steps": [dict(step.describe(), done=self.done.get(step.id, False)) for step in self.steps],
            "notes": self.notes,
        }


def rendered_objects(infra: Any) -> list[tuple[str, dict[str, Any]]]:
    """The environment's last render (``build/<env>/rendered``), for the removed-API pre-check."""
    from platform_kit import manifests, policy

    directory = manifests.default_out_dir(infra.settings, infra.env_name) / manifests.RENDERED
    if not directory.is_dir():
        raise StepFailed(
            f"no render of '{infra.env_name}' at {directory} to check for removed APIs",
            hint=f"render first: platform render --env {infra.env_name}",
        )
    return policy.load_objects(directory)


def platform_plan_check(infra: Any):
    """A pre-check: plan the platform stack as if the cluster were at ``target``; None when that plan
    updates the cluster in place and destroys nothing, else what it would do instead."""
    import json

    from platform_kit.infra import Infra, Stack

    def check(target: str) -> str | None:
        loaded = copy.deepcopy(infra.loaded)
        loaded.platform.environments[infra.env_name].cluster.kubernetes_version = target
        shadow = Infra(infra.settings, loaded, infra.env_name, on_line=infra.on_line, on_notice=infra.on_notice)
        # Its own working folder: the stack's usual one keeps its inputs and saved plan for `infra apply`.
        shadow.build_dir = infra.settings.project_dir / "build" / "upgrade" / infra.env_name / "terraform"
        report = shadow.plan(Stack("platform"))
        if not report.has_changes:
            return "the plan changes nothing: the cluster would stay where it is"
        plan_json = json.loads((shadow.workdir(Stack("platform")) / "plan.json").read_text(encoding="utf-8"))
        return eks_upgrade.in_place_update(plan_json)

    return check


def _desired(config_dir: Path, env: str):
    from platform_kit.config import load_platform

    def read() -> str:
        return str(load_platform(config_dir).platform.environments[env].cluster.kubernetes_version)

    return read


def _record(config_dir: Path, env: str):
    from platform_kit.config import edit
    from platform_kit.config.validate import PLATFORM_FILE

    def write(version: str) -> None:
        edit.set_scalar(config_dir / PLATFORM_FILE, ("environments", env, "cluster", "kubernetes_version"), version)

    return write


def plan_upgrade(
    infra: Any,
    *,
    kubernetes: str | None = None,
    eks: eks_upgrade.Eks | None = None,
    plan_check: bool = True,
) -> UpgradePlan:
    """The steps that take ``infra``'s environment to the requested versions, and which are done.

    ``eks`` defaults to the environment's EKS and EC2 through its AWS session; ``plan_check`` runs
    the platform stack's plan as the control plane's last pre-check."""
    from platform_kit import versions

    if kubernetes is None:
        raise BadInput("nothing to upgrade: give --kubernetes X.Y or --image NAME=IMAGE (plan also --kubeflow)")
    env_name = infra.env_name
    env = infra.loaded.platform.environments[env_name]
    emulated = env.aws.endpoint_url is not None
    if eks is None:
        session = infra.session()
        eks = eks_upgrade.Eks(
            session.client("eks"),
            session.client("ec2"),
            infra.loaded.platform.cluster_name(env_name),
            emulated=emulated,
        )
    current = eks.version()
    notes: list[str] = []
    desired = str(env.cluster.kubernetes_version)
    if desired != current and eks_upgrade.minor(desired) < eks_upgrade.minor(current):
        notes.append(
            f"platform.yaml says {desired} but the control plane is at {current}: an interrupted upgrade; "
            "its desired-state step records the version"
        )
    hop_targets = eks_upgrade.hops(current, kubernetes, versions.kubernetes_versions())
    if not hop_targets:
        behind = {name: v for name, v in eks.nodegroups().items() if v != current}
        if not behind:
            notes.append(f"the cluster and its node groups are at {current} already")
    if eks.emulated:
        notes.append(
            "the sandbox (moto) keeps EKS versions but cannot update them: the plan is real, an apply stops at "
            "UpdateClusterVersion; the platform stack's plan check runs against the sandbox's state"
        )
    ctx = eks_upgrade.HopContext(
        env=env_name,
        desired_version=_desired(infra.settings.config_dir, env_name),
        record_version=_record(infra.settings.config_dir, env_name),
        rendered=lambda: rendered_objects(infra),
        plan_check=platform_plan_check(infra) if plan_check else None,
        with_addons=not eks.emulated,
    )
    steps: list[Step] = []
    source = current
    # An upgrade stopped after its control plane moved leaves the hop that got there unfinished
    # (platform.yaml, add-ons or node groups behind): its remaining steps come first.
    previous = _previous(current, versions.kubernetes_versions())
    if previous is not None:
        unfinished = eks_upgrade.hop_steps(eks, previous, current, ctx)
        if not all(step.is_done() for step in unfinished):
            steps += unfinished
    for target in hop_targets:
        steps += eks_upgrade.hop_steps(eks, source, target, ctx)
        source = target
    try:
        done = status(steps)
    except OperationFailed as exc:
        raise OperationFailed(f"reading the cluster's state for the plan: {exc.message}", hint=exc.hint) from None
    return UpgradePlan(
        env=env_name,
        current={"kubernetes": current},
        target={"kubernetes": kubernetes},
        steps=steps,
        done=done,
        notes=notes,
    )


def _previous(version: str, supported: list[str]) -> str | None:
    if version not in supported or supported.index(version) == 0:
        return None
    return supported[supported.index(version) - 1]


def plan_images(infra: Any, wanted: dict[str, str], canary: str | None = None, *, smoke: Any = None) -> UpgradePlan:
    """The compute-image rollout (``compute_images``): canary, pins, catalog; which are done."""
    from platform_kit.smoke import checked_team
    from platform_kit.upgrade import compute_images

    env = infra.env_name
    team = canary or compute_images.default_canary(infra.loaded, env)
    checked_team(infra.loaded, env, team)  # an unknown or inactive canary is bad input
    steps = compute_images.image_steps(infra, wanted, team, smoke=smoke)
    pins = infra.loaded.platform.catalog_for(env).images
    return UpgradePlan(
        env=env,
        current={name: str(pins.get(name)) for name in wanted},
        target=dict(wanted),
        steps=steps,
        done=status(steps),
        notes=[f"canary team: {team}"],
    )


def kubeflow_recorder(config_dir: Path, loaded: Any, env: str):
    """Writes a release into ``platform.yaml``: ``kubeflow.version`` and its source (the git ref, or the
    release folder beside the current one), both in one write."""
    from platform_kit.config import edit
    from platform_kit.config.validate import PLATFORM_FILE
    from platform_kit.upgrade import kubeflow as kubeflow_upgrade

    base = ("environments", env, "kubeflow")

    def write(version: str) -> None:
        moved = kubeflow_upgrade.config_at(loaded.platform, env, version, loaded.config_dir).environments[env]
        source = moved.kubeflow.source
        if source.git is not None:
            where, value = (*base, "source", "git", "ref"), str(source.git.ref)
        else:
            where, value = (*base, "source", "path"), str(source.path)
        edit.set_scalars(config_dir / PLATFORM_FILE, {(*base, "version"): version, where: value})

    return write


def plan_kubeflow(
    infra: Any,
    hops: list[Any],
    *,
    cluster: Any,
    backup_root: Path,
    outputs: Any,
    on_line: Any = None,
) -> UpgradePlan:
    """The apply steps of each Kubeflow release hop (``kubeflow_apply``), and which are done on ``cluster``.
    ``outputs`` are the platform stack's (``PlatformOutputs``): the RDS endpoint when RDS is on."""
    from platform_kit import versions
    from platform_kit.config import load_platform
    from platform_kit.upgrade import backup, kubeflow_apply

    env_name = infra.env_name
    loaded = infra.loaded
    env = loaded.platform.environments[env_name]
    config_dir = infra.settings.config_dir

    def desired() -> str:
        return str(load_platform(config_dir).platform.environments[env_name].kubeflow.version)

    database = None
    if env.storage.rds.enabled:

        def database() -> backup.Database:
            endpoint = outputs.rds_endpoint
            if not endpoint:
                raise StepFailed(
                    f"storage.rds is on but the platform stack of '{env_name}' has no rds_endpoint output",
                    hint=f"apply the platform stack first: platform infra apply --env {env_name} --stack platform",
                )
            return backup.Database(infra.session().client("rds"), str(endpoint))

    ctx = kubeflow_apply.KubeflowContext(
        env=env_name,
        cluster=cluster,
        backup_root=backup_root,
        secretsmanager=lambda: infra.session().client("secretsmanager"),
        desired_version=desired,
        record_version=kubeflow_recorder(config_dir, loaded, env_name),
        known=versions.kubeflow_versions(),
        database=database,
        on_line=on_line or (lambda _: None),
    )
    steps: list[Step] = []
    done: dict[str, bool] = {}
    earlier_done = True
    for hop in hops:
        these = kubeflow_apply.hop_steps(hop, ctx)
        steps += these
        try:
            found = status(these)
        except OperationFailed as exc:
            raise OperationFailed(f"reading the cluster's state for the plan: {exc.message}", hint=exc.hint) from None
        # A later hop is read again when its turn comes; until the earlier ones are done, all of it is to do.
        done.update({step_id: earlier_done and is_done for step_id, is_done in found.items()})
        earlier_done = earlier_done and all(found.values())
    current = str(env.kubeflow.version)
    notes = [f"backups go to {backup_root}"]
    if database is not None:
        notes.append("the Pipelines database is on RDS: the backup step snapshots it")
    return UpgradePlan(
        env=env_name,
        current={"kubeflow": current},
        target={"kubeflow": hops[-1].target if hops else current},
        steps=steps,
        done=done,
        notes=notes,
    )
