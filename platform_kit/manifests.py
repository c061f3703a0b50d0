"""``platform render``'s core: write the build directory, build it with kubectl, render the teams.

Layout of ``build/<env>/`` (or ``--out``)::

    kustomization.yaml, values/, secrets.yaml    inputs to kustomize (platform_kit.render.platform)
    rendered/platform.yaml                       ``kubectl kustomize`` of the above
    rendered/teams/<team>.yaml                   each team's objects (platform_kit.render.team)

Files are written only when their content changes, so a second render touches nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from platform_kit import kubectl
from platform_kit.config.models import PlatformConfig
from platform_kit.config.validate import LoadedConfig
from platform_kit.context import Settings
from platform_kit.errors import BadInput, OperationFailed
from platform_kit.files import write_if_changed
from platform_kit.render import kustomize
from platform_kit.render import platform as platform_render
from platform_kit.render.diff import Diff, diff_objects

RENDERED = "rendered"
PLATFORM_FILE = "platform.yaml"
TEAMS_DIR = "teams"
TEAM_LABEL = "platform-kit.io/team"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def default_out_dir(settings: Settings, env: str) -> Path:
    return settings.project_dir / "build" / env


def outputs_from_file(path: Path, env: str) -> platform_render.PlatformOutputs:
    """Platform outputs saved as JSON (``terraform output -json`` or a plain name -> value map)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"--platform-outputs: {path} not found") from None
    except (OSError, ValueError) as exc:
        raise BadInput(f"--platform-outputs: {path} is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadInput(f"--platform-outputs: {path} must hold a JSON object of output name -> value")
    return platform_render.PlatformOutputs.from_outputs(data, source=str(path), env=env, error=BadInput)


def parse_objects(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc]


def dump_objects(objects: list[dict[str, Any]]) -> str:
    return platform_render.dump_all(objects)


def read_render(directory: Path) -> list[dict[str, Any]]:
    """Every object of a previous render (``DIR/rendered`` or a folder laid out like it)."""
    directory = Path(directory)
    base = directory / RENDERED if (directory / RENDERED).is_dir() else directory
    if not base.is_dir():
        raise BadInput(f"--diff: {directory} is not a render directory (no {RENDERED}/ inside)")
    objects: list[dict[str, Any]] = []
    for path in sorted(base.rglob("*.yaml")):
        objects.extend(parse_objects(path.read_text(encoding="utf-8")))
    return objects


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def count_kinds(objects: list[dict[str, Any]]) -> dict[str, int]:
    return dict(sorted(Counter(str(o.get("kind")) for o in objects).items()))


@dataclass
class RenderResult:
    env: str
    out_dir: Path
    platform: dict[str, int] | None = None  # kind -> count, None when only teams were rendered
    teams: dict[str, dict[str, int]] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    diff: Diff | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "out_dir": str(self.out_dir),
            "platform": self.platform,
            "teams": self.teams,
            "written": self.written,
            "diff": self.diff.as_dict() if self.diff is not None else None,
        }


def _write(path: Path, text: str, written: list[str], root: Path) -> None:
    if write_if_changed(path, text):
        written.append(path.relative_to(root).as_posix())


def check_objects(kubernetes_version: str, objects: list[dict[str, Any]], out_dir: Path) -> None:
    """Every rendered object valid for the cluster's Kubernetes version (custom resources against the
    CRDs of the platform render) and free of what the kit's own checks forbid (default credentials,
    unreplaced placeholders, Secrets with values, unrestricted identity headers, wildcard RBAC).
    The first problems go into one error."""
    from platform_kit.render import schemas
    from platform_kit.render import team as team_render

    crds = [o for o in objects if o.get("kind") == "CustomResourceDefinition"]
    platform_file = out_dir / RENDERED / PLATFORM_FILE
    if not crds and platform_file.is_file():  # a teams-only render: the CRDs of the last platform render
        crds = [
            o
            for o in parse_objects(platform_file.read_text(encoding="utf-8"))
            if o.get("kind") == "CustomResourceDefinition"
        ]
    allow = () if crds else team_render.CUSTOM_KINDS
    problems = schemas.validate(objects, kubernetes_version, crds, allow_without_schema=allow)
    from platform_kit.render import checks

    problems = [*map(str, problems), *checks.run_all(objects)]
    if problems:
        shown = "; ".join(problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise OperationFailed(f"the render has {len(problems)} problem(s): {shown}{more}")


def select_teams(loaded: LoadedConfig, env: str, names: list[str] | None) -> list[Any]:
    teams = loaded.teams_in(env)
    if not names:
        return teams
    by_name = {t.name: t for t in teams}
    chosen = []
    for name in names:
        if name not in by_name:
            if name in loaded.teams:
                raise BadInput(
                    f"--team {name}: team '{name}' is not in environment '{env}' "
                    f"(its environments: {', '.join(loaded.teams[name].environments)})"
                )
            raise BadInput(f"--team {name}: no team '{name}' in {loaded.config_dir}/teams/")
        chosen.append(by_name[name])
    return chosen


def build_platform(
    cfg: PlatformConfig,
    env: str,
    outputs: platform_render.PlatformOutputs,
    config_dir: Path,
    out_dir: Path,
    project_dir: Path,
) -> tuple[list[dict[str, Any]], list[Path]]:
    """Write the build directory of ``env`` into ``out_dir`` and build it; return the objects and changed files."""
    upstream = kustomize.upstream_ref(cfg, env, config_dir, out_dir)
    components = platform_render.relative(platform_render.components_dir(project_dir), out_dir)
    files = platform_render.build_files(cfg, env, outputs, upstream, components)
    changed = platform_render.write_files(out_dir, files)
    return parse_objects(kubectl.kustomize_build(out_dir)), changed


def render(
    settings: Settings,
    loaded: LoadedConfig,
    env: str,
    outputs: platform_render.PlatformOutputs,
    *,
    out_dir: Path | None = None,
    team_names: list[str] | None = None,
    previous: Path | None = None,
) -> RenderResult:
    """Render the platform (unless teams are named) and the teams of ``env``; diff against ``previous``."""
    from platform_kit.render import team as team_render

    out_dir = Path(out_dir or default_out_dir(settings, env))
    before = read_render(previous) if previous is not None else None
    teams = select_teams(loaded, env, team_names)
    result = RenderResult(env, out_dir)
    rendered: list[dict[str, Any]] = []
    platform_objects: list[dict[str, Any]] | None = None
    if not team_names:
        platform_objects, changed = build_platform(
            loaded.platform, env, outputs, loaded.config_dir, out_dir, settings.project_dir
        )
        result.written.extend(p.relative_to(out_dir).as_posix() for p in changed)
        rendered.extend(platform_objects)
    team_objects = {team.name: team_render.render_team(loaded.platform, env, team) for team in teams}
    for objects in team_objects.values():
        rendered.extend(objects)
    # Checked before anything lands under rendered/: a failing render leaves the last good one.
    check_objects(loaded.platform.environments[env].cluster.kubernetes_version, rendered, out_dir)
    if platform_objects is not None:
        _write(out_dir / RENDERED / PLATFORM_FILE, dump_objects(platform_objects), result.written, out_dir)
        result.platform = count_kinds(platform_objects)
        # Teams no longer in the environment leave no stale file behind.
        keep = {f"{name}.yaml" for name in team_objects}
        for stale in sorted((out_dir / RENDERED / TEAMS_DIR).glob("*.yaml")):
            if stale.name not in keep:
                stale.unlink()
                result.written.append(stale.relative_to(out_dir).as_posix())
    for name, objects in team_objects.items():
        _write(out_dir / RENDERED / TEAMS_DIR / f"{name}.yaml", dump_objects(objects), result.written, out_dir)
        result.teams[name] = count_kinds(objects)
    if before is not None:
        if team_names:  # compare like with like: only the named teams' objects
            wanted = {t.name for t in teams}
            before = [o for o in before if _labels(o).get(TEAM_LABEL) in wanted]
        result.diff = diff_objects(before, rendered)
    return result
