"""Running the ``platform-health`` smoke pipeline for one team.

``target_for`` gathers a team's values from the desired state and the stacks' state objects (no
Terraform run): the artifact bucket, the team's SageMaker role, its first Batch queue, the
dashboard URL. ``run_local`` runs the compiled pipeline with ``kfp.local`` in subprocesses of this
Python, against the environment's AWS endpoints with the operator's credentials (a cluster run,
scheduled by ``platform smoke deploy``, uses the team role). The Tensorboard step needs a cluster
and is left out locally.

On the sandbox, Batch queues are something a real account brings and moto does not have: the
kit creates the team's queue (with an unmanaged compute environment) and the smoke job definition
there, and says so. It never does that in a real environment, where a missing queue is a finding.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from platform_kit.errors import BadInput, OperationFailed

BATCH_DEFINITION = "platform-health"
SANDBOX_TRAINING_IMAGE = "platform-health-training:sandbox"  # moto runs no container


_PULL_REQUEST = re.compile(r"^(?P<repo>[A-Za-z0-9-]+/[A-Za-z0-9._-]+)#(?P<number>[1-9][0-9]{0,9})$")


@dataclass(frozen=True)
class PullRequest:
    """Where CI mode comments: ``owner/name`` and the PR number, through ``api_url`` (GitHub or Enterprise)."""

    repo: str
    number: int
    api_url: str
    run_url: str = ""

    @classmethod
    def parse(cls, text: str, *, api_url: str, run_url: str = "") -> PullRequest:
        match = _PULL_REQUEST.match(text.strip())
        if match is None:
            raise BadInput(f"--pr {text!r}: not a pull request; give OWNER/REPO#NUMBER (for example acme/infra#42)")
        return cls(match.group("repo"), int(match.group("number")), api_url.rstrip("/"), run_url)


def ci_run_url(environ: dict[str, str]) -> str:
    """The CI run's own page when GitHub Actions runs us (its standard variables), else empty."""
    parts = [environ.get(name, "") for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return f"{parts[0].rstrip('/')}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else ""


@dataclass
class SmokeTarget:
    team: str
    env: str
    artifact_bucket: str
    sagemaker_role_arn: str = ""
    training_image: str = ""
    batch_queue: str = ""
    batch_definition: str = ""
    dashboard_url: str = ""
    pull_request: PullRequest | None = None  # CI mode: the run's outcome goes to this PR as a comment
    notes: list[str] = field(default_factory=list)

    def arguments(self, *, with_tensorboard: bool) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "team": self.team,
            "env": self.env,
            "artifact_bucket": self.artifact_bucket,
            "sagemaker_role_arn": self.sagemaker_role_arn,
            "training_image": self.training_image,
            "batch_queue": self.batch_queue,
            "batch_definition": self.batch_definition,
            "with_tensorboard": with_tensorboard,
            "dashboard_url": self.dashboard_url,
        }
        if self.pull_request is not None:
            arguments.update(
                pr_repo=self.pull_request.repo,
                pr_number=self.pull_request.number,
                github_api_url=self.pull_request.api_url,
                run_url=self.pull_request.run_url,
            )
        return arguments


@dataclass
class SmokeResult:
    team: str
    env: str
    ok: bool
    checks: dict[str, str]
    pipeline_root: str
    notes: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def checked_team(loaded: Any, env_name: str, team_name: str) -> Any:
    """The team ``--team team_name`` names, when it exists, is in ``env_name`` and is active there;
    a one-line BadInput otherwise."""
    team = loaded.teams.get(team_name)
    if team is None:
        raise BadInput(f"--team {team_name}: no such team in {loaded.config_dir}/teams/")
    if env_name not in team.environments:
        raise BadInput(
            f"--team {team_name}: the team is not in environment '{env_name}' "
            f"(its environments: {', '.join(team.environments)})"
        )
    if not team.active_in(env_name):
        raise BadInput(f"--team {team_name}: the team is not active in environment '{env_name}' (offboarded or stale)")
    return team


def target_for(infra: Any, team_name: str, *, training_image: str | None = None) -> SmokeTarget:
    """The smoke run's arguments for ``team_name`` in ``infra``'s environment; BadInput if it is not there."""
    from platform_kit.infra import Stack

    loaded, env_name = infra.loaded, infra.env_name
    team = checked_team(loaded, env_name, team_name)
    platform = infra.platform_outputs()
    outputs = infra.stack_outputs(Stack("team", team.name))
    env = loaded.env(env_name)
    target = SmokeTarget(
        team=team.name,
        env=env_name,
        artifact_bucket=str(platform["artifact_bucket_name"]),
        sagemaker_role_arn=str(outputs.get("sagemaker_role_arn") or ""),
        dashboard_url=f"https://{env.kubeflow.hostname}",
    )
    if target.sagemaker_role_arn:
        repository = platform.get("catalog_repository_url")
        target.training_image = training_image or (
            SANDBOX_TRAINING_IMAGE if infra.endpoint else f"{repository}:platform-health-training"
        )
    if team.aws.batch_queues:
        target.batch_queue = team.aws.batch_queues[0]
        target.batch_definition = BATCH_DEFINITION
    return target


def prepare_sandbox_batch(session: Any, target: SmokeTarget) -> None:
    """Sandbox only: create the team's Batch queue and the smoke job definition if moto lacks them."""
    if not target.batch_queue:
        return
    batch, iam = session.client("batch"), session.client("iam")
    if batch.describe_job_queues(jobQueues=[target.batch_queue])["jobQueues"]:
        return
    role_name = "platform-health-batch-service"
    try:
        role = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    environment = f"{target.batch_queue}-ce"
    if not batch.describe_compute_environments(computeEnvironments=[environment])["computeEnvironments"]:
        batch.create_compute_environment(
            computeEnvironmentName=environment, type="UNMANAGED", state="ENABLED", serviceRole=role
        )
    batch.create_job_queue(
        jobQueueName=target.batch_queue,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )
    batch.register_job_definition(
        jobDefinitionName=target.batch_definition,
        type="container",
        containerProperties={
            "image": "public.ecr.aws/docker/library/busybox:1.36",
            "command": ["echo", "platform-health"],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "512"}],
        },
    )
    target.notes.append(
        f"sandbox: created Batch queue {target.batch_queue} and job definition {target.batch_definition}"
    )


@contextmanager
def _environment(values: dict[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) variables for the pipeline's subprocesses, and restore them."""
    before = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def aws_environment(infra: Any) -> dict[str, str | None]:
    """What boto3 in the pipeline's steps needs to reach this environment's AWS (the sandbox's endpoint)."""
    region = str(infra.env.aws.region)
    if not infra.endpoint:
        return {"AWS_DEFAULT_REGION": region}
    from platform_kit import aws

    ca = aws.ca_bundle_for(infra.env, state_dir=infra.settings.state_dir)
    return {
        "AWS_ENDPOINT_URL": infra.endpoint,
        "AWS_CA_BUNDLE": str(ca) if ca else None,
        "AWS_ACCESS_KEY_ID": aws.FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": aws.FAKE_SECRET_KEY,
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_DEFAULT_REGION": region,
    }


def run_local(
    target: SmokeTarget, environment: dict[str, str | None], pipeline_root: Path, *, log: TextIO | None = None
) -> SmokeResult:
    """Run ``platform-health`` for ``target`` with ``kfp.local``; a failed step is OperationFailed.

    kfp.local's step logs go to ``log`` (default: stderr; the demo keeps them in a file)."""
    import warnings

    from kfp import local

    from platform_kit.pipelines.platform_health import make_platform_health

    checks = {"storage round trip": "ran"}
    checks["SageMaker training"] = "ran" if target.sagemaker_role_arn else "skipped (team has no SageMaker role)"
    checks["Batch job"] = f"ran on {target.batch_queue}" if target.batch_queue else "skipped (team has no queue)"
    checks["TensorBoard"] = "skipped (needs a cluster)"
    pr = target.pull_request
    checks["PR comment"] = f"on {pr.repo}#{pr.number}" if pr else "not in CI mode (no --pr)"
    checks["Slack"] = (
        "notified" if environment.get("SLACK_WEBHOOK_URL") or os.environ.get("SLACK_WEBHOOK_URL") else "no webhook set"
    )
    pipeline_root.mkdir(parents=True, exist_ok=True)
    # kfp.local logs every step to stdout; a CLI keeps stdout for its result (--output json).
    with _environment(environment), warnings.catch_warnings(), contextlib.redirect_stdout(log or sys.stderr):
        # The runtime image carries this package: running the steps in this Python is the same code.
        warnings.filterwarnings("ignore", message="You may be attemping to run a task")
        local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(pipeline_root))
        try:
            make_platform_health()(**target.arguments(with_tensorboard=False))
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise OperationFailed(
                f"platform-health failed for team {target.team} in {target.env}: {first}",
                hint=f"the steps' logs are {'in ' + log.name if log is not None else 'above'}; "
                f"their outputs are under {pipeline_root}",
            ) from None
    return SmokeResult(
        team=target.team, env=target.env, ok=True, checks=checks, pipeline_root=str(pipeline_root), notes=target.notes
    )


def run_for_team(
    infra: Any,
    team_name: str,
    *,
    training_image: str | None = None,
    log: TextIO | None = None,
    pull_request: str | None = None,
    environ: dict[str, str] | None = None,
) -> SmokeResult:
    """The whole local smoke run for one team: its values, the sandbox's Batch queue when it is
    one, and the pipeline; outputs under ``build/smoke/<env>/<team>/`` of the project.

    ``pull_request`` (``owner/name#N``) turns on CI mode: the run comments on that PR through the
    GitHub API of ``GITHUB_API_URL`` (set by GitHub Actions) or of ``github.api_url`` in
    platform.yaml, with the token that ``github.token`` refers to."""
    environ = dict(os.environ) if environ is None else environ
    pr = _pull_request(infra, pull_request, environ) if pull_request else None
    checked_team(infra.loaded, infra.env_name, team_name)
    environment = aws_environment(infra)
    if pr is not None:  # the token first: an unset variable is bad input, found before any AWS call
        from platform_kit import secret_values

        environment["GITHUB_TOKEN"] = secret_values.read_reference(
            infra.loaded.platform.github.token,
            lambda: infra.session().client("secretsmanager"),
            where="platform.yaml github.token",
            environ=environ,
        )
    target = target_for(infra, team_name, training_image=training_image)
    target.pull_request = pr
    if infra.endpoint:
        prepare_sandbox_batch(infra.session(), target)
    root = infra.settings.project_dir / "build" / "smoke" / infra.env_name / team_name
    return run_local(target, environment, root, log=log)


def _pull_request(infra: Any, text: str, environ: dict[str, str]) -> PullRequest:
    """``--pr``'s pull request; CI mode needs platform.yaml's ``github`` block for the token
    (BadInput when it is absent). The PR may be in any repository the token can comment on."""
    github = infra.loaded.platform.github
    if github is None:
        raise BadInput(
            "--pr: platform.yaml has no github block (repository, token); CI mode needs it to comment",
            hint="add github: {repository: OWNER/REPO, token: {env: GITHUB_TOKEN}} to platform.yaml",
        )
    api_url = environ.get("GITHUB_API_URL") or str(github.api_url)
    return PullRequest.parse(text, api_url=api_url, run_url=ci_run_url(environ))
