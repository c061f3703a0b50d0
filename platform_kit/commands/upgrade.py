"""``platform upgrade plan`` and ``platform upgrade apply``: ordered, checked, resumable upgrades."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from platform_kit import console, context
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption, YesOption
from platform_kit.errors import BadInput

app = typer.Typer(
    help="Upgrade an environment, planned first: Kubernetes (EKS control plane, add-ons, node groups), compute "
    "images (canary first), and Kubeflow (one release at a time, backed up first).",
    no_args_is_help=True,
)

KubernetesOption = Annotated[
    str | None,
    typer.Option("--kubernetes", help="Target Kubernetes minor (X.Y); reached one minor at a time."),
]
NoPlanCheckOption = Annotated[
    bool,
    typer.Option(
        "--no-plan-check",
        help="Skip the platform stack's Terraform plan among the control plane's pre-checks (faster; not for prod).",
    ),
]


def _plan(settings: Any, kubernetes: str | None, plan_check: bool, image: list[str] | None = None, canary=None):
    from platform_kit.config import load_platform
    from platform_kit.infra import Infra
    from platform_kit.upgrade.planner import plan_images, plan_upgrade

    loaded = load_platform(settings.config_dir)
    loaded.env(settings.env)
    if image:
        from platform_kit.upgrade import compute_images

        if kubernetes is not None:
            raise BadInput("one upgrade at a time: --kubernetes or --image")
        wanted = compute_images.parse(image, loaded, settings.env)
        if canary is not None:
            from platform_kit.smoke import checked_team

            checked_team(loaded, settings.env, canary)
        return plan_images(Infra(settings, loaded, settings.env), wanted, canary)
    if kubernetes is None:
        raise BadInput("nothing to upgrade: give --kubernetes X.Y or --image NAME=IMAGE (plan also --kubeflow)")
    from platform_kit import versions
    from platform_kit.upgrade.eks import check_request

    desired = str(loaded.platform.environments[settings.env].cluster.kubernetes_version)
    check_request(kubernetes, desired, versions.kubernetes_versions())
    infra = Infra(settings, loaded, settings.env)
    return plan_upgrade(infra, kubernetes=kubernetes, plan_check=plan_check)


def _show(plan: Any) -> None:
    from rich.markup import escape

    current = ", ".join(f"{k} {v}" for k, v in plan.current.items())
    target = ", ".join(f"{k} {v}" for k, v in plan.target.items())
    console.step(f"upgrade of {plan.env}: {current} -> {target}")
    for note in plan.notes:
        console.info(note)
    for number, step in enumerate(plan.steps, 1):
        mark = "done" if plan.done.get(step.id) else "to do"
        console.out.print(f"\n[bold]{number}. {escape(step.title)}[/bold]  ({step.id}, {mark})")
        for label, lines in (("check", step.prechecks), ("change", step.changes), ("verify", step.verify)):
            for line in lines:
                console.out.print(f"   {label:<7}{escape(line)}")
        if step.manual:
            console.out.print(f"   [yellow]manual[/yellow] {escape(step.manual)}")


ImageOption = Annotated[
    list[str] | None,
    typer.Option(
        "--image", help="A compute image to roll forward, NAME=IMAGE (repeatable; NAME as in catalog.images)."
    ),
]
CanaryOption = Annotated[
    str | None,
    typer.Option("--canary", help="With --image: the team whose smoke run must pass first (default: one that trains)."),
]
KubeflowOption = Annotated[
    str | None,
    typer.Option("--kubeflow", help="Target Kubeflow release (for example 26.03); planned one release at a time."),
]
PlatformOutputsOption = Annotated[
    Path | None,
    typer.Option(
        "--platform-outputs",
        help="With --kubeflow: the platform stack's outputs as JSON (default: read from its state).",
    ),
]


KubeContextOption = Annotated[
    str | None,
    typer.Option(
        "--kube-context", help="With --kubeflow: kubeconfig context of the cluster (default: the env's EKS cluster)."
    ),
]
BackupDirOption = Annotated[
    Path | None,
    typer.Option("--backup-dir", help="With --kubeflow: where backups go (default: backups/<env> in the project)."),
]


@dataclass
class KubeflowRequest:
    loaded: Any
    hops: list[Any]
    outputs: Any
    cluster: Any  # None: no cluster to read (the sandbox without --kube-context)


def _kubeflow_request(
    settings: Any, kubeflow: str, outputs_file: Path | None, kube_context: str | None, *, need_cluster: bool
) -> KubeflowRequest:
    from platform_kit import manifests, versions
    from platform_kit.config import load_platform
    from platform_kit.kube import connect
    from platform_kit.upgrade import kubeflow as kubeflow_upgrade

    loaded = load_platform(settings.config_dir)
    env = loaded.env(settings.env)
    current = str(env.kubeflow.version)
    # Bad input before any call: an unknown release, a downgrade, a source the kit cannot move.
    for _source, target in kubeflow_upgrade.hops(current, kubeflow, versions.kubeflow_versions()):
        kubeflow_upgrade.config_at(loaded.platform, settings.env, target, loaded.config_dir)
    if need_cluster and not (kube_context or env.kubernetes.context) and env.aws.endpoint_url is not None:
        raise BadInput(
            f"--kubeflow: '{settings.env}' is emulated and has no Kubernetes API server to apply to",
            hint="pass --kube-context CONTEXT (a cluster you can write to)",
        )
    if outputs_file is not None:
        outputs = manifests.outputs_from_file(outputs_file, settings.env)
    else:
        from platform_kit.infra import Infra
        from platform_kit.render.platform import PlatformOutputs

        state = Infra(settings, loaded, settings.env).platform_outputs()
        outputs = PlatformOutputs.from_outputs(state, source="platform state", env=settings.env)
    cluster = connect(settings, loaded, settings.env, kube_context)
    hops = kubeflow_upgrade.plan_hops(settings, loaded, settings.env, kubeflow, outputs)
    return KubeflowRequest(loaded, hops, outputs, cluster)


def _kubeflow_steps(settings: Any, request: KubeflowRequest, backup_dir: Path | None):
    from platform_kit.infra import Infra
    from platform_kit.upgrade.planner import plan_kubeflow

    root = backup_dir or settings.project_dir / "backups" / settings.env
    infra = Infra(settings, request.loaded, settings.env)
    on_line = None if settings.json else console.info
    return plan_kubeflow(
        infra, request.hops, cluster=request.cluster, backup_root=root, outputs=request.outputs, on_line=on_line
    )


def _show_hops(settings: Any, hops: list[Any]) -> None:
    from rich.markup import escape

    for hop in hops:
        console.step(f"Kubeflow {hop.source} -> {hop.target} in {settings.env}")
        for line in hop.summary_lines():
            console.out.print(f"   {escape(line)}")


@app.command("plan")
def plan_command(
    kubernetes: KubernetesOption = None,
    image: ImageOption = None,
    canary: CanaryOption = None,
    kubeflow: KubeflowOption = None,
    platform_outputs: PlatformOutputsOption = None,
    kube_context: KubeContextOption = None,
    backup_dir: BackupDirOption = None,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """Print the ordered steps of an upgrade, each with its pre-checks, change and verification, and which are
    done already (read from EKS and platform.yaml); for --kubeflow, what each release hop adds, removes,
    changes and prunes, its CRD changes and manual steps. Changes nothing."""
    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    if kubeflow is not None:
        if kubernetes is not None or image:
            raise BadInput("plan one upgrade at a time: --kubernetes, --image or --kubeflow")
        request = _kubeflow_request(settings, kubeflow, platform_outputs, kube_context, need_cluster=False)
        plan = _kubeflow_steps(settings, request, backup_dir) if request.cluster is not None else None
        if settings.json:
            steps = plan.as_dict() if plan is not None else None
            console.emit_json({"env": settings.env, "kubeflow": [hop.as_dict() for hop in request.hops], "plan": steps})
            return
        _show_hops(settings, request.hops)
        if plan is not None:
            _show(plan)
        else:
            console.info("no cluster to read (an emulated environment): pass --kube-context to see the apply steps")
        console.success(
            f"{len(request.hops)} release hop(s) planned; renders under build/upgrade/{settings.env}/kubeflow"
        )
        if request.hops:
            console.next_commands(f"platform upgrade apply --env {settings.env} --kubeflow {kubeflow}")
        return
    plan = _plan(settings, kubernetes, plan_check=False, image=image, canary=canary)
    if settings.json:
        console.emit_json(plan.as_dict())
        return
    _show(plan)
    pending = sum(1 for step in plan.steps if not plan.done.get(step.id))
    console.success(f"{len(plan.steps)} step(s), {pending} to do")
    if pending:
        what = " ".join(f"--image {i}" for i in image) if image else f"--kubernetes {kubernetes}"
        console.next_commands(f"platform upgrade apply --env {settings.env} {what}")


@app.command("apply")
def apply_command(
    kubernetes: KubernetesOption = None,
    image: ImageOption = None,
    canary: CanaryOption = None,
    kubeflow: KubeflowOption = None,
    no_plan_check: NoPlanCheckOption = False,
    platform_outputs: PlatformOutputsOption = None,
    kube_context: KubeContextOption = None,
    backup_dir: BackupDirOption = None,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
    yes: YesOption = False,
) -> None:
    """Run the plan's steps in order, skipping those already done; stop at the first failed check with what to
    do next. Running it again resumes: finished steps are found from real state, and an update already in
    progress on AWS is waited for, never started twice."""
    from platform_kit.upgrade.steps import execute

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug, yes=yes)
    if kubeflow is not None:
        if kubernetes is not None or image:
            raise BadInput("apply one upgrade at a time: --kubernetes, --image or --kubeflow")
        request = _kubeflow_request(settings, kubeflow, platform_outputs, kube_context, need_cluster=True)
        if not settings.json:
            _show_hops(settings, request.hops)
        plan = _kubeflow_steps(settings, request, backup_dir)
        what = f"--kubeflow {kubeflow}"
        next_commands = [
            f"platform render --env {settings.env}",
            f"platform smoke run --env {settings.env} --team TEAM",
        ]
    else:
        plan = _plan(settings, kubernetes, plan_check=not no_plan_check, image=image, canary=canary)
        what = " ".join(f"--image {i}" for i in image) if image else f"--kubernetes {kubernetes}"
        next_commands = [
            f"platform infra plan --env {settings.env} --stack platform",
            f"platform smoke run --env {settings.env} --team TEAM --local",
        ]
    if not settings.json:
        _show(plan)
    pending = [step for step in plan.steps if not plan.done.get(step.id)]
    resume = f"platform upgrade apply --env {settings.env} {what}"
    if pending and not settings.yes:
        if not sys.stdin.isatty():
            raise BadInput(
                "refusing to upgrade without confirmation (no terminal to ask)", hint="review the plan and pass --yes"
            )
        if not typer.confirm(f"Apply {len(pending)} step(s) to {settings.env}?", default=False):
            raise typer.Exit(1)

    def said(outcome: Any) -> None:
        if not settings.json and outcome.status in {"applied", "already done"}:
            console.success(f"{outcome.id}: {outcome.status}")

    def confirm_manual(text: str) -> bool:
        if settings.yes:
            return True
        console.warning(f"manual step: {text}")
        return sys.stdin.isatty() and typer.confirm("Is it done?", default=False)

    outcomes = execute(plan.steps, resume_command=resume, confirm=confirm_manual, on_outcome=said)
    if settings.json:
        console.emit_json({"plan": plan.as_dict(), "outcomes": [o.as_dict() for o in outcomes]})
        return
    applied = sum(1 for o in outcomes if o.status == "applied")
    console.success(f"{settings.env}: {what} done, {applied} step(s) applied")
    console.next_commands(*next_commands)
