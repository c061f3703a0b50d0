"""The demo a newcomer runs (``make demo``): the whole flow on the embedded sandbox.

It calls the same core functions as the CLI, one step after another, and ends with a summary.
Every step is idempotent, so a second run changes nothing and says so. The demo grows with the
kit: each new capability adds its step here.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from platform_kit import console, context
from platform_kit.errors import PlatformError

ENV = "sandbox"


@dataclass
class StepResult:
    name: str
    outcome: str
    seconds: float = 0.0


def _step(results: list[StepResult], name: str, action: Callable[[], str]) -> None:
    console.step(name)
    start = time.perf_counter()
    outcome = action()
    results.append(StepResult(name, outcome, time.perf_counter() - start))


def run(config_dir: Path, renders: list | None = None) -> list[StepResult]:
    """Run every demo step against the sandbox environment; raise PlatformError on the first failure."""
    from platform_kit import sandbox
    from platform_kit.commands import doctor
    from platform_kit.config import load_platform
    from platform_kit.errors import OperationFailed

    settings = context.set_current(context.Settings(env=ENV, config_dir=config_dir))
    results: list[StepResult] = []
    renders = renders if renders is not None else []
    loaded = None

    def validate() -> str:
        nonlocal loaded
        loaded = load_platform(config_dir)
        loaded.env(ENV)
        teams = loaded.teams_in(ENV)
        return f"{len(loaded.platform.environments)} environments, {len(teams)} teams in {ENV}"

    def start_sandbox() -> str:
        before = sandbox.status(settings.state_dir)
        info = sandbox.start(settings.state_dir)
        return f"{'already running' if before else 'started'} at {info.endpoint}"

    def run_doctor() -> str:
        checks = doctor.run_checks(config_dir=config_dir, env=ENV, state_dir=settings.state_dir)
        failed = [c for c in checks if c.failed]
        if failed:
            raise OperationFailed(
                f"doctor: {failed[0].name}: {failed[0].detail}",
                hint=failed[0].fix or "run: platform doctor --env sandbox",
            )
        passed = sum(1 for c in checks if c.status.value == "ok")
        return f"{passed}/{len(checks)} checks ok, none failed"

    def apply(stack) -> Callable[[], str]:
        def action() -> str:
            from platform_kit.infra import Infra

            assert loaded is not None
            infra = Infra(settings, loaded, ENV, on_line=_quiet_progress)
            report = infra.plan(stack)
            outputs = infra.apply(report)
            changed = (
                f"applied: {report.add} added, {report.change} changed, {report.destroy} destroyed"
                if report.has_changes
                else "no changes"
            )
            highlight = {
                "bootstrap": lambda: f"state bucket {outputs.get('bucket_name')}",
                "platform": lambda: (
                    f"cluster {outputs.get('cluster_name')}, bucket {outputs.get('artifact_bucket_name')}"
                ),
            }[stack.kind]()
            return f"{changed}; {highlight}"

        return action

    from platform_kit.infra import Stack

    _step(results, "validate the desired state in platform/", validate)
    _step(results, "start the sandbox (moto on 127.0.0.1)", start_sandbox)
    _step(results, "check tools and sandbox access (doctor)", run_doctor)
    _step(results, "bootstrap: state bucket + KMS key", apply(Stack("bootstrap")))
    _step(results, "platform stack: VPC, EKS, Kubeflow AWS side, CI roles", apply(Stack("platform")))
    assert loaded is not None

    def onboard(name: str) -> Callable[[], str]:
        def action() -> str:
            from platform_kit import onboarding, team_spec

            request = team_spec.Request(name=name, env=ENV)
            candidate = onboarding.prepare(settings, request, from_file=None, write=True)
            options = onboarding.Options(env=ENV, yes=True)
            result = onboarding.onboard_team(settings, candidate, options, confirm=lambda _: True, cluster=None)
            stack = next(s for s in result.steps if s.name.startswith("team stack"))
            role = (result.role_arn or "").split("/")[-1]
            return f"{stack.outcome}; role {role}; {result.cluster.split(';')[0]}"

        return action

    for team in loaded.teams_in(ENV):
        _step(results, f"onboard-team {team.name}", onboard(team.name))

    def render() -> str:
        from platform_kit import manifests
        from platform_kit.infra import Infra
        from platform_kit.render.platform import PlatformOutputs

        assert loaded is not None
        state = Infra(settings, loaded, ENV).platform_outputs()
        outputs = PlatformOutputs.from_outputs(state, source="platform state", env=ENV)
        result = manifests.render(settings, loaded, ENV, outputs)
        renders.append(result)
        team_counts = ", ".join(f"{name} {sum(kinds.values())}" for name, kinds in result.teams.items())
        written = f"{len(result.written)} file(s) written" if result.written else "no changes"
        return (
            f"{sum((result.platform or {}).values())} platform objects, teams: {team_counts}; "
            f"{written} under build/{ENV}; schema-valid"
        )

    _step(results, "render Kubeflow (enterprise login, S3 via IRSA) and team objects", render)

    def runtime_image() -> str:
        from platform_kit.catalog import images
        from platform_kit.catalog import runtime_image as runtime
        from platform_kit.infra import Infra

        assert loaded is not None
        result = runtime.ensure_image(
            settings.project_dir / runtime.DEFAULT_OUT,
            base_image=images.base_image(loaded, ENV),
            registry=runtime.registry_for(Infra(settings, loaded, ENV)),
            dry_run=True,  # no container engine runs here; the context is ready for one that does
        )
        where = "already in the sandbox's ECR" if result.action == "unchanged" else "not built here (no engine)"
        return f"{result.reference}: {where}; context in {runtime.DEFAULT_OUT}/{result.tag}"

    _step(results, "the catalog's runtime image (content-tagged build context)", runtime_image)

    def catalog() -> str:
        from platform_kit.catalog import images
        from platform_kit.catalog.build import build_catalog

        assert loaded is not None
        index = build_catalog(settings.project_dir / "build" / "catalog", images.for_environment(loaded, ENV))
        kinds = [entry.kind for entry in index.entries]
        written = "no changes" if index.unchanged else f"{len(index.written)} file(s) written"
        return (
            f"{kinds.count('component')} components, {kinds.count('pipeline')} pipeline, version "
            f"{index.catalog_version}; {written} under build/catalog"
        )

    _step(results, "build the component catalog (KFP compiler)", catalog)

    def publish() -> str:
        from platform_kit.catalog.publish import publish_catalog
        from platform_kit.infra import Infra

        assert loaded is not None
        infra = Infra(settings, loaded, ENV)
        bucket = str(infra.platform_outputs()["artifact_bucket_name"])
        result = publish_catalog(infra.session(), bucket, settings.project_dir / "build" / "catalog")
        uploaded = result.as_dict()["uploaded"]
        moved = "no changes" if result.unchanged else f"{uploaded} object(s) uploaded"
        return f"{moved}; s3://{bucket}/{result.prefix}"

    _step(results, "publish the catalog to the sandbox's artifact bucket", publish)

    def smoke_run(name: str) -> Callable[[], str]:
        def action() -> str:
            from platform_kit import smoke
            from platform_kit.infra import Infra

            assert loaded is not None
            infra = Infra(settings, loaded, ENV)
            log_path = settings.project_dir / "build" / "smoke" / ENV / name / "kfp-local.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(log_path, "w", encoding="utf-8") as log:  # the steps' logs, kept out of the demo
                result = smoke.run_for_team(infra, name, log=log)
            ran = [check for check, outcome in result.checks.items() if outcome.startswith(("ran", "notified"))]
            notes = f"; {'; '.join(result.notes)}" if result.notes else ""
            return f"passed: {', '.join(ran)}{notes}; logs in build/smoke/{ENV}/{name}/kfp-local.log"

        return action

    # The smoke pipeline for the team that uses the most of the platform (SageMaker and Batch).
    showcase = next((t for t in loaded.teams_in(ENV) if t.aws.sagemaker and t.aws.batch_queues), None)
    if showcase is not None:
        _step(results, f"smoke run platform-health for {showcase.name} (kfp.local)", smoke_run(showcase.name))
    return results


def _quiet_progress(line: str) -> None:
    """Terraform's progress, shown dimmed; only resource-level lines, not every refresh."""
    if any(word in line for word in ("Creation complete", "Destruction complete", "Modifications complete")):
        console.err.print(f"   {line}", style="muted", markup=False, highlight=False)


def _summary(results: list[StepResult], total: float) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"platform-kit demo on the '{ENV}' environment", title_justify="left")
    table.add_column("step")
    table.add_column("result", overflow="fold")
    table.add_column("time", justify="right")
    for result in results:
        table.add_row(escape(result.name), escape(result.outcome), f"{result.seconds:.1f} s")
    console.out.print(table)
    console.success(f"demo finished in {total:.1f} s; running it again changes nothing")
    console.next_commands(
        "platform render --env sandbox --diff build/sandbox",
        "platform doctor --env sandbox",
        "platform sandbox stop",
    )


def main(argv: list[str] | None = None) -> int:
    config_dir = Path(argv[0]) if argv else Path(context.DEFAULT_CONFIG_DIR)
    start = time.perf_counter()
    try:
        renders: list = []
        results = run(config_dir, renders)
    except PlatformError as exc:
        from platform_kit.cli import report_error

        report_error(exc)
        return exc.exit_code
    if renders:
        from platform_kit.commands.render import print_table

        print_table(renders[-1])
    _summary(results, time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
