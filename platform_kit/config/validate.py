"""Load ``platform/`` and check every rule, collecting all problems before reporting any.

Per-file shape comes from the pydantic models; rules that span files (file name equals team
name, unique and unreserved names, environments that exist, derived AWS and Kubernetes names
within their real limits) are checked here with the same naming functions the rest of the kit
uses.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from platform_kit import naming, versions
from platform_kit.config.loader import Document, Problem, YamlProblem, parse, read
from platform_kit.config.models import PlatformConfig, Team
from platform_kit.errors import BadInput, ConfigErrors

PLATFORM_FILE = "platform.yaml"
TEAMS_DIR = "teams"


@dataclass
class LoadedConfig:
    """The validated desired state, with where each piece came from."""

    config_dir: Path
    platform: PlatformConfig
    teams: dict[str, Team]
    team_files: dict[str, Path] = field(default_factory=dict)

    def env(self, name: str | None):
        """The environment called ``name``; a one-line BadInput when it is missing or unknown."""
        known = ", ".join(self.platform.environments)
        if not name:
            raise BadInput("no environment given", hint=f"pass --env with one of: {known}")
        if name not in self.platform.environments:
            raise BadInput(
                f"{self.config_dir / PLATFORM_FILE}: environments.{name}: no such environment (defined: {known})"
            )
        return self.platform.environments[name]

    def teams_in(self, env: str) -> list[Team]:
        return [t for t in self.teams.values() if env in t.environments]


# --- turning pydantic errors into one-line problems ------------------------------------------


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _step(tp: Any, key: Any, data: Any) -> Any:
    """The type found at ``key`` inside a value of type ``tp`` (with its data, for unions)."""
    tp = _unwrap(tp)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        members = [_unwrap(a) for a in typing.get_args(tp) if a is not type(None)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if isinstance(data, dict) and "type" in data:
            for m in models:
                allowed = (
                    typing.get_args(_unwrap(m.model_fields["type"].annotation)) if "type" in m.model_fields else ()
                )
                if data["type"] in allowed:
                    return _step(m, key, data)
        candidates = models or [m for m in members if typing.get_origin(m) in (list, dict)]
        return _step(candidates[0], key, data) if candidates else None
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        info = tp.model_fields.get(key) if isinstance(key, str) else None
        return info.annotation if info else None
    if origin is list and isinstance(key, int):
        return typing.get_args(tp)[0]
    if origin is dict:
        return typing.get_args(tp)[1]
    return None


def _model_at(root: type[BaseModel], loc: tuple, data: Any) -> tuple[Any, Any]:
    tp: Any = root
    for key in loc:
        tp = _step(tp, key, data)
        data = (
            data.get(key)
            if isinstance(data, dict)
            else (data[key] if isinstance(data, list) and isinstance(key, int) and key < len(data) else None)
        )
        if tp is None:
            break
    return _unwrap(tp), data


def _clean_loc(loc: tuple, data: Any) -> tuple:
    """Drop pydantic's union tags and ``[key]`` markers so the path matches the YAML."""
    out: list = []
    current = data
    for index, key in enumerate(loc):
        if key == "[key]":
            continue
        if isinstance(current, dict) and key not in current and current.get("type") == key and index < len(loc) - 1:
            continue  # discriminated-union tag
        out.append(key)
        if isinstance(current, dict):
            current = current.get(key)
        elif isinstance(current, list) and isinstance(key, int) and key < len(current):
            current = current[key]
        else:
            current = None
    return tuple(out)


def _path_text(path: tuple) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def _message(error: dict, root: type[BaseModel], loc: tuple, data: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        parent, _ = _model_at(root, loc[:-1], data)
        if isinstance(parent, type) and issubclass(parent, BaseModel):
            return f"unknown field (allowed: {', '.join(parent.model_fields)})"
        return "unknown field"
    if kind in ("string_type",):
        return f"must be text, got {_kind_of(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number, got {_kind_of(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, got {_kind_of(value)}"
    if kind == "list_type":
        return f"must be a list, got {_kind_of(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys, got {_kind_of(value)}"
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        shown = f"'{value}'" if isinstance(value, str) and len(value) <= 60 else _kind_of(value)
        return f"{shown} is not allowed (allowed: {expected.replace(' or ', ', ')})"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        expected = str(ctx.get("expected_tags", "")).replace("'", "")
        if kind == "union_tag_not_found":
            return f"missing 'type' (allowed: {expected})"
        return f"type '{ctx.get('tag')}' is not supported (allowed: {expected})"
    if kind == "string_pattern_mismatch":
        return f"does not match the allowed form (pattern {ctx.get('pattern')})"
    if kind == "string_too_short":
        return (
            "must not be empty"
            if ctx.get("min_length") == 1
            else f"must be at least {ctx.get('min_length')} characters"
        )
    if kind == "string_too_long" or (kind == "too_long" and isinstance(value, str)):
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        n = ctx.get("min_length")
        return f"needs at least {n} item{'s' if n != 1 else ''}"
    if kind == "too_long":
        return f"allows at most {ctx.get('max_length')} items"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    message = error.get("msg", kind)
    return message.removeprefix("Value error, ")


def _problems_from(exc: ValidationError, root: type[BaseModel], doc: Document) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = _clean_loc(tuple(error["loc"]), doc.data)
        field = (error.get("ctx") or {}).get("field")
        if field:
            loc = (*loc, *field.split("."))
        problems.append(
            Problem(doc.file, doc.line_of(loc), _path_text(loc) or "(top level)", _message(error, root, loc, doc.data))
        )
    return problems


# --- loading ---------------------------------------------------------------------------------


def _display(path: Path, config_dir: Path) -> str:
    """File names in messages: relative to the working directory when under it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _load(path: Path, model: type[BaseModel], config_dir: Path, problems: list[Problem], text: str | None = None):
    try:
        doc = read(path, _display(path, config_dir)) if text is None else parse(text, _display(path, config_dir))
    except YamlProblem as exc:
        problems.append(exc.problem)
        return None, None
    try:
        return model.model_validate(doc.data), doc
    except ValidationError as exc:
        problems.extend(_problems_from(exc, model, doc))
        return None, doc


def _check_platform(cfg: PlatformConfig, doc: Document, config_dir: Path, problems: list[Problem]) -> None:
    org = cfg.organisation.name
    k8s = versions.kubernetes_versions()
    kubeflow = versions.kubeflow_versions()
    clusters: dict[tuple[str, str, str], str] = {}
    for env_name, env in cfg.environments.items():
        base = ("environments", env_name)

        def add(path: tuple, message: str, base: tuple = base) -> None:
            full = (*base, *path)
            problems.append(Problem(doc.file, doc.line_of(full), _path_text(full), message))

        if env.cluster.kubernetes_version not in k8s:
            add(
                ("cluster", "kubernetes_version"),
                f"'{env.cluster.kubernetes_version}' is not supported (allowed: {', '.join(k8s)})",
            )
        if env.kubeflow.version not in kubeflow:
            add(("kubeflow", "version"), f"'{env.kubeflow.version}' is not supported (allowed: {', '.join(kubeflow)})")
        if env.kubeflow.source.path is not None:
            source = (config_dir / env.kubeflow.source.path).resolve()
            if not (source / "example" / "kustomization.yaml").is_file() and not (source / "common").is_dir():
                add(
                    ("kubeflow", "source", "path"),
                    f"'{env.kubeflow.source.path}' is not a Kubeflow manifests checkout (no common/ or "
                    f"example/kustomization.yaml under {source}); path is relative to {PLATFORM_FILE}",
                )
        cluster = cfg.cluster_name(env_name)
        names = [(("cluster", "name"), naming.EKS_CLUSTER, cluster)]
        names += [
            (("cluster", "node_groups", group), naming.NODE_GROUP, naming.node_group_name(cluster, group))
            for group in env.cluster.node_groups
        ]
        bucket = env.storage.artifact_bucket or naming.artifact_bucket(org, env_name, env.aws.account_id)
        names.append((("storage", "artifact_bucket"), naming.S3_BUCKET, bucket))
        names.append(
            (("aws", "region"), naming.S3_BUCKET, naming.state_bucket(org, env.aws.account_id, env.aws.region))
        )
        for path, rule, value in names:
            problem = naming.check(rule, value)
            if problem:
                add(path, problem)
        if env.ci is not None and cfg.github is None:
            add(("ci",), "ci needs the top-level github block (repository and token)")
        key = (env.aws.account_id, env.aws.region, cluster)
        if key in clusters:
            add(
                ("cluster", "name"),
                f"cluster '{cluster}' is also used by environment '{clusters[key]}' in the "
                "same account and region (give each environment its own cluster.name)",
            )
        clusters[key] = env_name


def _check_team(team: Team, doc: Document, path: Path, cfg: PlatformConfig | None, problems: list[Problem]) -> None:
    def add(field_path: tuple, message: str) -> None:
        problems.append(Problem(doc.file, doc.line_of(field_path), _path_text(field_path), message))

    if team.name != path.stem:
        add(("name",), f"'{team.name}' does not match the file name (rename the file to {team.name}.yaml or fix name)")
    label = naming.DNS_LABEL.check(team.name)
    if label:
        add(("name",), f"'{team.name}' {label}")
        return
    reserved = naming.reserved_reason(team.name)
    if reserved:
        add(("name",), f"{reserved}; choose another team name")
    if cfg is None:
        return
    domains = cfg.organisation.email_domains
    if domains:
        people = [(("owner",), team.owner)] + [(("members", i, "email"), m.email) for i, m in enumerate(team.members)]
        for where, email in people:
            if email.split("@", 1)[1] not in domains:
                add(where, f"'{email}' is outside the organisation's email domains (allowed: {', '.join(domains)})")
    for env_name in team.aws.sso_roles:
        if env_name not in team.environments:
            add(
                ("aws", "sso_roles", env_name),
                f"'{env_name}' is not one of this team's environments ({', '.join(team.environments)})",
            )
    for index, env_name in enumerate(team.environments):
        if env_name not in cfg.environments:
            add(
                ("environments", index),
                f"'{env_name}' is not an environment in {PLATFORM_FILE} (defined: {', '.join(cfg.environments)})",
            )
            continue
        for rule, value in naming.team_names(cfg.organisation.name, env_name, team.name):
            problem = naming.check(rule, value)
            if problem:
                add(("name",), f"{problem} in environment '{env_name}'; use a shorter team name")


def load_platform(config_dir: Path | str, team_texts: dict[Path, str] | None = None) -> LoadedConfig:
    """Read and validate everything under ``config_dir``; raise ConfigErrors listing every problem.

    ``team_texts`` are candidate team files (path under ``teams/`` -> YAML text) checked as if they
    were on disk, replacing a file of the same path: how a team is validated before it is written.
    """
    config_dir = Path(config_dir)
    team_texts = {Path(p): t for p, t in (team_texts or {}).items()}
    problems: list[Problem] = []
    if not config_dir.is_dir():
        raise BadInput(
            f"{config_dir}: config folder not found",
            hint="run from the repository root, or pass --config-dir / set PLATFORM_CONFIG_DIR",
        )
    platform_path = config_dir / PLATFORM_FILE
    cfg, doc = _load(platform_path, PlatformConfig, config_dir, problems)
    if cfg is not None and doc is not None:
        _check_platform(cfg, doc, config_dir, problems)

    teams: dict[str, Team] = {}
    team_files: dict[str, Path] = {}
    team_docs: dict[str, Document] = {}
    teams_dir = config_dir / TEAMS_DIR
    paths = sorted([*teams_dir.glob("*.yaml"), *teams_dir.glob("*.yml")]) if teams_dir.is_dir() else []
    paths = sorted(set(paths) | set(team_texts))
    for path in paths:
        team, team_doc = _load(path, Team, config_dir, problems, team_texts.get(path))
        if team is None or team_doc is None:
            continue
        _check_team(team, team_doc, path, cfg, problems)
        if team.name in teams:
            problems.append(
                Problem(
                    team_doc.file,
                    team_doc.line_of(("name",)),
                    "name",
                    f"team '{team.name}' is already defined in {_display(team_files[team.name], config_dir)}",
                )
            )
            continue
        teams[team.name] = team
        team_files[team.name] = path
        team_docs[team.name] = team_doc

    # AWS resources scoped by "<team>-*" (training jobs, job definitions, log streams) would let
    # team "a" reach team "a-b"'s: refuse a team name that another extends with '-'.
    for name in sorted(teams):
        for other in sorted(teams):
            if other != name and other.startswith(name + "-"):
                doc = team_docs[other]
                problems.append(
                    Problem(
                        doc.file,
                        doc.line_of(("name",)),
                        "name",
                        f"'{other}' starts with team '{name}-'; IAM scopes by '<team>-*' would let "
                        f"'{name}' reach '{other}' (rename one of them)",
                    )
                )
    if problems:
        raise ConfigErrors(problems, hint="fix the lines above, then run: platform validate")
    assert cfg is not None
    return LoadedConfig(config_dir=config_dir, platform=cfg, teams=teams, team_files=team_files)
