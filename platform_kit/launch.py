"""``platform launch``: start a catalog pipeline in a team's namespace, from the shell or a PR comment.

A pull request comment ``/kubeflow run PIPELINE --team T [--param k=v]...`` reaches this through
the shipped comment workflow (``.github/workflows/platform-commands.yml``). The comment is text
from anyone who can comment, so it is parsed here against an allow-list (the command, a pipeline
name, ``--team`` and ``--param`` only): nothing in it can point the KFP token or the GitHub token
elsewhere. The workflow supplies the environment, the pull request and the commenter's login.

Only an ``edit`` member of the team whose ``github`` login is the commenter may launch in the
team's namespace; anyone else gets a polite refusal on the pull request and nothing is submitted.

The pipeline is compiled from the checked-out code (the PR's) through its factory in the catalog
registry, with the environment's catalog image; the run goes to the team's namespace with
``kfp.Client`` in the experiment ``launched-from-prs``; the reply on the PR carries the run link.
"""

from __future__ import annotations

import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_kit.errors import BadInput, OperationFailed

COMMAND = ("/kubeflow", "run")
EXPERIMENT = "launched-from-prs"


@dataclass
class LaunchRequest:
    pipeline: str
    team: str
    params: dict[str, str] = field(default_factory=dict)


def parse_params(items: list[str], where: str = "--param") -> dict[str, str]:
    params: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"{where} {item!r}: expected NAME=VALUE")
        params[name.strip()] = value
    return params


def parse_comment(text: str) -> LaunchRequest:
    """The request in a ``/kubeflow run ...`` comment (its first line); BadInput for anything else."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise BadInput(f"comment: cannot read {line!r} ({exc})") from None
    if tuple(words[:2]) != COMMAND or len(words) < 3 or words[2].startswith("-"):
        raise BadInput("comment: expected /kubeflow run PIPELINE --team TEAM [--param NAME=VALUE]...")
    pipeline, rest = words[2], words[3:]
    team = None
    params: list[str] = []
    index = 0
    while index < len(rest):
        word = rest[index]
        flag, eq, inline = word.partition("=")
        if flag not in ("--team", "--param"):
            raise BadInput(f"comment: {word!r} is not allowed here (only --team and --param)")
        if eq:
            value = inline
        elif index + 1 < len(rest):
            index += 1
            value = rest[index]
        else:
            raise BadInput(f"comment: {flag} needs a value")
        if flag == "--team":
            team = value
        else:
            params.append(value)
        index += 1
    if not team:
        raise BadInput("comment: --team TEAM is required")
    return LaunchRequest(pipeline, team, parse_params(params, where="comment --param"))


def may_launch(team: Any, login: str) -> bool:
    return any(m.github and m.github.lower() == login.lower() and m.role == "edit" for m in team.members)


@dataclass
class LaunchResult:
    pipeline: str
    team: str
    namespace: str
    run_id: str = ""
    run_url: str = ""
    refused: str = ""
    comment_url: str = ""

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


def _compile(pipeline: str, image: str, folder: Path) -> tuple[Path, set[str]]:
    """The compiled package of ``pipeline`` and the names of its parameters; BadInput for an unknown name."""
    import yaml

    from platform_kit.catalog import registry
    from platform_kit.catalog.build import compile_catalog

    factories = registry.pipelines()
    if pipeline not in factories:
        raise BadInput(f"pipeline {pipeline!r} is not in the catalog (pipelines: {', '.join(sorted(factories))})")
    entries, texts = compile_catalog(image, components={}, pipelines={pipeline: factories[pipeline]})
    package = folder / f"{pipeline}.yaml"
    package.write_text(texts[entries[0].file], encoding="utf-8")
    spec = next(yaml.safe_load_all(texts[entries[0].file]))  # the pipeline spec; the platform spec follows
    names = set(((spec.get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {})
    return package, names


def launch(
    infra: Any,
    request: LaunchRequest,
    *,
    kfp_url: str,
    token: str,
    ca_bundle: Path | None = None,
    requested_by: str | None = None,
    reply: Any = None,
) -> LaunchResult:
    """Check, compile, submit, reply. ``reply(body, key)`` posts to the PR (None: no PR)."""
    from platform_kit import kfp_api, naming
    from platform_kit.catalog import images
    from platform_kit.smoke import checked_team

    team = checked_team(infra.loaded, infra.env_name, request.team)
    namespace = naming.team_namespace(request.team)
    result = LaunchResult(request.pipeline, request.team, namespace)
    if requested_by is not None and not may_launch(team, requested_by):
        result.refused = (
            f"@{requested_by}, only edit members of team `{request.team}` with their GitHub login in its team "
            "file may launch pipelines in its namespace, so nothing was started. A team owner can add you "
            f"(`github:` on your entry in the team file), or run it for you."
        )
        if reply is not None:
            result.comment_url = reply(result.refused, f"launch-refused:{request.team}:{requested_by}")
        return result
    image = images.for_environment(infra.loaded, infra.env_name)
    with tempfile.TemporaryDirectory(prefix="platform-launch-") as tmp:
        package, allowed = _compile(request.pipeline, image, Path(tmp))
        unknown = sorted(set(request.params) - allowed)
        if unknown:
            raise BadInput(
                f"--param {unknown[0]}: {request.pipeline} has no such parameter (its parameters: "
                f"{', '.join(sorted(allowed))})"
            )
        client = kfp_api.connect(kfp_url, token, namespace=namespace, ca_bundle=ca_bundle)
        call = kfp_api.Caller(kfp_url)
        try:
            run = call(
                "create the run",
                lambda: client.create_run_from_pipeline_package(
                    str(package),
                    arguments=dict(request.params),
                    run_name=f"{request.pipeline} by {requested_by or 'platform launch'}",
                    experiment_name=EXPERIMENT,
                    namespace=namespace,
                ),
                namespace=namespace,
                replayable=False,  # the server does not deduplicate runs: never start two
            )
        except kfp_api.KfpCallFailed as exc:
            what = f"launching {request.pipeline} in {namespace}"
            raise OperationFailed(f"{what}: {exc.message}", hint=exc.hint) from None
    result.run_id = str(run.run_id)
    result.run_url = f"{kfp_url.removesuffix('/pipeline')}/_/pipeline/#/runs/details/{result.run_id}"
    if reply is not None:
        body = (
            f"Started `{request.pipeline}` in `{namespace}` for @{requested_by}: "
            f"[run {result.run_id[:8]}]({result.run_url})"
        )
        result.comment_url = reply(body, f"launch:{result.run_id}")
    return result
