"""``platform launch``: start a catalog pipeline in a team's namespace (also from PR comments)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from platform_kit import console, context
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption
from platform_kit.errors import BadInput, OperationFailed


def command(
    pipeline: Annotated[str | None, typer.Argument(help="A pipeline of the catalog (e.g. platform-health).")] = None,
    team: Annotated[str | None, typer.Option("--team", help="The team whose namespace runs it.")] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="A pipeline parameter, NAME=VALUE (repeatable).")
    ] = None,
    from_comment: Annotated[
        str | None,
        typer.Option(
            "--from-comment",
            help="A PR comment '/kubeflow run PIPELINE --team T [--param k=v]...' instead of the above (CI).",
        ),
    ] = None,
    requested_by: Annotated[
        str | None,
        typer.Option("--requested-by", help="GitHub login of who asked; must be an edit member of the team."),
    ] = None,
    pr: Annotated[
        str | None, typer.Option("--pr", help="Reply on this pull request, OWNER/REPO#NUMBER (github.token).")
    ] = None,
    kfp_url: Annotated[str | None, typer.Option("--kfp-url", help="Pipelines API URL.")] = None,
    ca_bundle: Annotated[Path | None, typer.Option("--ca-bundle", help="CA to verify the gateway with.")] = None,
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """Compile a catalog pipeline from the checked-out code and start one run of it in a team's namespace
    (KFP_TOKEN). With --requested-by, only an edit member of the team with that GitHub login may; with
    --pr the answer (the run link, or a polite refusal) is a comment on the pull request."""
    from platform_kit import kfp_api, launch
    from platform_kit.config import load_platform
    from platform_kit.infra import Infra

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    if from_comment is not None:
        if pipeline or team or param:
            raise BadInput("--from-comment takes the pipeline, team and parameters from the comment; give no others")
        request = launch.parse_comment(from_comment)
    else:
        if not pipeline or not team:
            raise BadInput("give PIPELINE and --team TEAM (or --from-comment)")
        request = launch.LaunchRequest(pipeline, team, launch.parse_params(param or []))
    if settings.env is None:
        raise BadInput("--env is required")
    loaded = load_platform(settings.config_dir)
    env_cfg = loaded.env(settings.env)
    environ = dict(os.environ)
    url, token = kfp_api.endpoint(env_cfg, kfp_url, ca_bundle, environ)
    infra = Infra(settings, loaded, settings.env)
    reply = _replier(infra, pr, environ) if pr is not None else None
    result = launch.launch(
        infra, request, kfp_url=url, token=token, ca_bundle=ca_bundle, requested_by=requested_by, reply=reply
    )
    if settings.json:
        console.emit_json(result.as_dict())
    if result.refused:
        raise OperationFailed(f"not launched: {requested_by} may not launch in {result.namespace}")
    if not settings.json:
        console.success(f"started {result.pipeline} in {result.namespace}: {result.run_url}")


def _replier(infra, pr: str, environ: dict[str, str]):
    """A function posting one comment on ``pr`` (BadInput now, before any work, when the token is unset)."""
    from platform_kit import secret_values
    from platform_kit.catalog.runtime.github import comment_marker, upsert_comment
    from platform_kit.smoke import _pull_request

    target = _pull_request(infra, pr, environ)
    token = secret_values.read_reference(
        infra.loaded.platform.github.token,
        lambda: infra.session().client("secretsmanager"),
        where="platform.yaml github.token",
        environ=environ,
    )

    def reply(body: str, key: str) -> str:
        marker = comment_marker(key)
        posted = upsert_comment(target.repo, target.number, f"{marker}\n{body}", token, marker=marker,
                                api_url=target.api_url)  # fmt: skip
        return posted.url

    return reply
