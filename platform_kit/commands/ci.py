"""``platform ci plan``: what CI runs on every infrastructure pull request."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from platform_kit import console, context
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption
from platform_kit.errors import BadInput

app = typer.Typer(
    help="Plan infrastructure changes on pull requests: only the stacks a change reaches, one PR comment each.",
    no_args_is_help=True,
)

DEFAULT_OUT = Path("build") / "ci" / "plans"


def _comment(settings: Any, loaded: Any, plan: Any, pull_request: str, environ: dict[str, str]) -> int:
    """Create or edit one comment per stack and per render diff on the PR, and mark the comments of
    stacks an earlier push touched and this one does not as out of date; returns how many were written."""
    from platform_kit import secret_values
    from platform_kit.catalog.runtime.github import comment_marker, marked_comments, upsert_comment
    from platform_kit.ci import comment as ci_comment
    from platform_kit.ci import renders
    from platform_kit.infra import Infra
    from platform_kit.smoke import _pull_request

    env_name = settings.env or next(iter(loaded.platform.environments))
    infra = Infra(settings, loaded, env_name)
    pr = _pull_request(infra, pull_request, environ)
    token = secret_values.read_reference(
        loaded.platform.github.token,
        lambda: infra.session().client("secretsmanager"),
        where="platform.yaml github.token",
        environ=environ,
    )
    bodies = {ci_comment.marker_key(r.env, r.stack): ci_comment.section(r) for r in plan.results}
    for diff in plan.renders:
        if not (diff.error or diff.skipped or diff.lines()):
            continue  # a render the PR leaves as it was gets no comment (an earlier one is marked stale)
        where = f"{diff.env}/{renders.RENDER_DIR}/diff.txt in the job's artifacts"
        bodies[renders.marker_key(diff.env)] = renders.section(diff, where=where)
    # This job's environment only (one job per environment): another job's comments are its own.
    envs = [settings.env] if settings.env else list(loaded.platform.environments)
    for kind in ("plan", "render"):
        for env in envs:
            prefix = f"{kind}:{env}/" if kind == "plan" else f"{kind}:{env}"
            for key in marked_comments(pr.repo, pr.number, token, key_prefix=prefix, api_url=pr.api_url):
                if key not in bodies and (kind == "plan" or key == prefix):
                    bodies[key] = ci_comment.stale_section(key, plan.head)
    written = 0
    for key, body in bodies.items():
        outcome = upsert_comment(
            pr.repo, pr.number, body.replace(token, "***"), token, marker=comment_marker(key), api_url=pr.api_url
        )
        written += 1 if outcome.action != "unchanged" else 0
    return written


def _drift_issue(
    settings: Any, loaded: Any, out_dir: Path, drifted: list[str], failed: list[str], environ: dict[str, str]
) -> dict[str, Any] | None:
    """Open, update or close the one drift issue of this scope (the env, or all); None if none is open."""
    from platform_kit import secret_values
    from platform_kit.catalog.runtime.github import comment_marker, sync_issue
    from platform_kit.infra import Infra

    github = loaded.platform.github
    scope = settings.env or "all"
    env_name = settings.env or next(iter(loaded.platform.environments))
    infra = Infra(settings, loaded, env_name)
    token = secret_values.read_reference(
        github.token,
        lambda: infra.session().client("secretsmanager"),
        where="platform.yaml github.token",
        environ=environ,
    )
    marker = comment_marker(f"drift:{scope}")
    body = None
    if drifted or failed:
        from platform_kit.ci.comment import LIMIT, truncate

        report = truncate((out_dir / "summary.md").read_text(encoding="utf-8"), LIMIT - 1000, "in the job's artifacts")
        body = (
            f"{marker}\nThe scheduled `platform ci drift` found stacks whose AWS resources differ from the "
            "config (or could not plan them). Bring AWS back with a PR that re-applies the config, or change "
            "the config to match; runbooks/ci.md says how.\n\n" + report
        ).replace(token, "***")
    api_url = environ.get("GITHUB_API_URL") or str(github.api_url)
    found = sync_issue(
        github.repository,
        token,
        marker=marker,
        title=f"Infrastructure drift ({scope}): {len(drifted)} stack(s)",
        body=body,
        label="platform-drift",
        api_url=api_url,
    )
    return None if found is None else {"number": found.number, "url": found.url, "action": found.action}


@app.command("plan")
def plan_command(
    base: Annotated[str, typer.Option("--base", help="The branch or commit the pull request merges into.")],
    head: Annotated[
        str | None, typer.Option("--head", help="The pull request's commit (default: the checked-out HEAD).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help=f"Where plans, comments and the summary go (default: {DEFAULT_OUT}).")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", min=1, help="Stacks planned at once (default: the number of cores).")
    ] = None,
    no_policy: Annotated[
        bool, typer.Option("--no-policy", help="Skip the checkov gate on the plans (not for protected branches).")
    ] = False,
    pr: Annotated[
        str | None,
        typer.Option("--pr", help="Comment each stack's plan on this pull request, OWNER/REPO#NUMBER (github.token)."),
    ] = None,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """Plan every stack the pull request's changes reach (and only those), save each plan for `ci apply`,
    run the policy gate, and write one Markdown section per stack plus a summary. Exit 1 when a plan
    failed or the policy gate blocked."""
    from platform_kit.ci import plan as ci_plan

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    environ = dict(os.environ)
    from platform_kit.config import load_platform

    loaded = load_platform(settings.config_dir)
    if settings.env is not None:
        loaded.env(settings.env)  # an unknown --env is bad input
    if pr is not None:
        from platform_kit.smoke import PullRequest

        PullRequest.parse(pr, api_url="https://api.github.com")  # its shape, before any work
        github = loaded.platform.github
        if github is None:
            raise BadInput("--pr: platform.yaml has no github block (repository, token); CI needs it to comment")
        if github.token.env is not None and not environ.get(github.token.env):
            raise BadInput(f"--pr: environment variable {github.token.env} (platform.yaml github.token) is not set")
    out_dir = out or settings.project_dir / DEFAULT_OUT
    result = ci_plan.run(
        settings,
        base=base,
        head=head,
        out_dir=out_dir,
        jobs=jobs,
        policy=None if no_policy else ci_plan.checkov_gate,
        loaded=loaded,
    )
    commented = _comment(settings, loaded, result, pr, environ) if pr is not None else 0
    if settings.json:
        console.emit_json(dict(result.as_dict(), out=str(out_dir), comments_written=commented))
    else:
        console.out.print((out_dir / "summary.md").read_text(encoding="utf-8"), markup=False, highlight=False)
        where = f"{out_dir}/summary.md and one comment.md per stack"
        console.info(f"wrote {where}" + (f"; {commented} PR comment(s) written" if pr else ""))
    if result.blocked:
        failed = [f"{r.env}/{r.stack}" for r in result.results if r.blocked]
        console.error(f"blocked: {', '.join(failed)} (a failed plan or policy check; see the summary)")
        raise typer.Exit(1)


@app.command("apply")
def apply_command(
    plans: Annotated[Path, typer.Option("--plans", help="The --out folder of platform ci plan (the reviewed plans).")],
    allow_destroy: Annotated[
        bool, typer.Option("--allow-destroy", help="Let plans destroy stateful resources (set from a PR label).")
    ] = False,
    kube_context: Annotated[
        str | None,
        typer.Option("--kube-context", help="Apply renders with this kubeconfig context (default: the env's EKS)."),
    ] = None,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """After merge: check every saved plan is fresh (planned at this commit or with no change to its
    stack since, state unmoved, same Terraform and lock file) and destroys nothing stateful without
    --allow-destroy; then apply them in order (bootstrap, platform, teams). One bad plan: nothing applied."""
    from platform_kit.ci import apply as ci_apply

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    on_line = None if settings.json else console.info
    result = ci_apply.run(settings, plans, allow_destroy=allow_destroy, kube_context=kube_context, on_line=on_line)
    if settings.json:
        console.emit_json(result.as_dict())
        return
    for name in result.applied:
        console.success(f"{name}: applied")
    for name in result.unchanged:
        console.info(f"{name}: no changes, nothing to apply")
    for applied in result.renders:
        console.info(f"{applied.env}/render: {applied.outcome}")
    console.success(f"{len(result.applied)} plan(s) applied")


@app.command("drift")
def drift_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="Where plans and the report go (default: build/ci/drift).")
    ] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", min=1, help="Stacks planned at once (default: cores).")] = None,
    issue: Annotated[
        bool,
        typer.Option(
            "--issue",
            help="Keep one GitHub issue (label platform-drift) on platform.yaml's github.repository: "
            "opened or updated on drift, closed when it is gone.",
        ),
    ] = False,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """Plan every platform and team stack (of --env, or of all environments) against what is in AWS.
    Exit 0 when nothing drifted, 2 when a stack would change (the report names each), 1 when a plan failed."""
    from platform_kit.ci import plan as ci_plan

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    from platform_kit.config import load_platform

    loaded = load_platform(settings.config_dir)
    if settings.env is not None:
        loaded.env(settings.env)
    environ = dict(os.environ)
    if issue:
        github = loaded.platform.github
        if github is None:
            raise BadInput("--issue: platform.yaml has no github block (repository, token) to open the issue on")
        if github.token.env is not None and not environ.get(github.token.env):
            raise BadInput(f"--issue: environment variable {github.token.env} (platform.yaml github.token) is not set")
    out_dir = out or settings.project_dir / "build" / "ci" / "drift"
    result = ci_plan.drift(settings, out_dir=out_dir, jobs=jobs)
    drifted = [f"{r.env}/{r.stack}" for r in result.results if r.has_changes]
    failed = [f"{r.env}/{r.stack}" for r in result.results if r.error is not None]
    tracked = _drift_issue(settings, loaded, out_dir, drifted, failed, environ) if issue else None
    if settings.json:
        console.emit_json(dict(result.as_dict(), drifted=drifted, out=str(out_dir), issue=tracked))
    else:
        console.out.print((out_dir / "summary.md").read_text(encoding="utf-8"), markup=False, highlight=False)
        if tracked:
            console.info(f"GitHub issue #{tracked['number']} {tracked['action']}: {tracked['url']}")
    if failed:
        console.error(f"could not plan: {', '.join(failed)} (see {out_dir}/summary.md)")
        raise typer.Exit(1)
    if drifted:
        console.warning(f"drift in {', '.join(drifted)}: AWS differs from the config (plans in {out_dir})")
        raise typer.Exit(2)
    console.success(f"no drift in {len(result.results)} stack(s)")
