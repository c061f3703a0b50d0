"""A team's spec from ``onboard-team`` flags, a spec file or the team's current file: built, merged, written.

Pure except ``write``. The spec is a plain mapping in the shape of ``platform/teams/<team>.yaml``;
``to_yaml`` gives the file's text (stable key order, the schema modeline), so the same command
run twice produces the same bytes and writes nothing the second time. Validation is the config
loader's, with the candidate file checked in place before it exists.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from platform_kit.errors import BadInput
from platform_kit.files import write_if_changed

ROLES = ("edit", "view")
MODELINE = "# yaml-language-server: $schema=../../docs/schema/team.schema.json\n"
# Where a new team starts when no quota flag is given: a modest share to grow from by pull request.
DEFAULT_QUOTAS = {"cpu": "16", "memory": "64Gi", "gpu": 0, "storage": "1Ti", "pods": 100}
KEY_ORDER = (
    "name",
    "display_name",
    "description",
    "owner",
    "members",
    "groups",
    "quotas",
    "container_defaults",
    "aws",
    "slack_channel",
    "cost_center",
    "environments",
    "state",
    "offboarded_in",
)


@dataclass
class Grant:
    subject: str
    role: str


def parse_grant(text: str, flag: str) -> Grant:
    """``NAME`` or ``NAME:edit|view`` (edit when no role is given)."""
    subject, _, role = text.rpartition(":") if ":" in text else (text, "", "edit")
    if not subject:
        raise BadInput(f"{flag} '{text}': the name is empty (expected NAME or NAME:edit|view)")
    if role not in ROLES:
        raise BadInput(f"{flag} '{text}': role '{role}' is not one of {', '.join(ROLES)}")
    return Grant(subject, role)


@dataclass
class Request:
    """What the operator asked for on the command line."""

    name: str
    owner: str | None = None
    groups: list[Grant] = field(default_factory=list)
    members: list[Grant] = field(default_factory=list)
    cpu: str | None = None
    memory: str | None = None
    gpu: int | None = None
    storage: str | None = None
    cost_center: str | None = None
    display_name: str | None = None
    env: str | None = None
    state: str | None = None  # "active" (onboard-team) or "stale" (offboard-team)
    drop_members: list[str] = field(default_factory=list)  # transfer-owner --previous-owner none

    @property
    def changes_anything(self) -> bool:
        return bool(
            self.owner
            or self.groups
            or self.members
            or self.display_name
            or self.cost_center
            or any(v is not None for v in (self.cpu, self.memory, self.gpu, self.storage))
        )


def read_spec_file(path: Path, flag: str = "--from-file") -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{flag}: {path} not found") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f"{path}:{line + 1}" if line is not None else str(path)
        raise BadInput(f"{flag}: {where}: not valid YAML") from None
    if not isinstance(data, dict):
        raise BadInput(f"{flag}: {path} must hold one team as a mapping (see docs/schema/team.schema.json)")
    return data


def _upsert(entries: list[dict[str, Any]], key: str, grant: Grant) -> None:
    for entry in entries:
        if entry.get(key) == grant.subject:
            entry["role"] = grant.role
            return
    entries.append({key: grant.subject, "role": grant.role})


def build(
    request: Request, base: dict[str, Any] | None, *, existing: bool, owner_change: bool = False
) -> dict[str, Any]:
    """The team's spec: ``base`` (its current file or a spec file) with the request applied on top.

    ``owner_change`` is transfer-owner's: everywhere else a different owner is refused."""
    spec: dict[str, Any] = copy.deepcopy(base) if base else {}
    if spec.get("name", request.name) != request.name:
        raise BadInput(f"the spec names team '{spec.get('name')}', not '{request.name}'")
    spec["name"] = request.name
    if request.owner:
        current = spec.get("owner")
        if existing and current and current != request.owner and not owner_change:
            raise BadInput(
                f"--owner {request.owner}: team '{request.name}' is owned by {current}",
                hint=f"to hand it over run: platform transfer-owner {request.name} --to {request.owner}",
            )
        spec["owner"] = request.owner
    if not spec.get("owner"):
        raise BadInput(f"--owner is required to onboard a new team ('{request.name}' has no team file yet)")
    if request.state is not None and request.env is not None:
        _set_state(spec, request.state, request.env)
    if not existing:  # defaults only for a new team: an existing file keeps what it says
        spec.setdefault("display_name", request.name.replace("-", " ").title())
        spec.setdefault("state", "active")
    if request.display_name:
        spec["display_name"] = request.display_name
    had = {key for key in ("members", "groups") if key in spec}
    members = spec.setdefault("members", [])
    members[:] = [m for m in members if m.get("email") not in request.drop_members]
    for grant in request.members:
        _upsert(members, "email", grant)
    groups = spec.setdefault("groups", [])
    for grant in request.groups:
        _upsert(groups, "name", grant)
    asked = {
        key: value
        for key, value in (
            ("cpu", request.cpu),
            ("memory", request.memory),
            ("gpu", request.gpu),
            ("storage", request.storage),
        )
        if value is not None
    }
    if asked or not existing:
        spec.setdefault("quotas", {} if existing else dict(DEFAULT_QUOTAS)).update(asked)
    if request.cost_center:
        spec["cost_center"] = request.cost_center
    if not spec.get("cost_center"):
        raise BadInput(f"--cost-center is required to onboard a new team (the cost-allocation tag of '{request.name}')")
    environments = spec.setdefault("environments", [])
    if request.env and request.env not in environments:
        environments.append(request.env)
    for key, entries in (("members", members), ("groups", groups)):
        if not entries and key not in had:
            spec.pop(key)
    return spec


def _set_state(spec: dict[str, Any], state: str, env: str) -> None:
    """Offboard (stale) or bring back (active) the team in one environment, leaving the others as they are.

    Offboarded in every environment is ``state: stale``; in some, ``offboarded_in``. Only keys whose
    meaning changes are touched, so a run that changes nothing leaves the file's bytes alone."""
    environments = list(spec.get("environments") or [])
    off = set(environments) if spec.get("state", "active") == "stale" else set(spec.get("offboarded_in") or [])
    if state == "stale":
        off.add(env)
    else:
        off.discard(env)
    everywhere = bool(environments) and off >= set(environments)
    wanted_state = "stale" if everywhere else "active"
    wanted_off = [] if everywhere else [e for e in environments if e in off]
    if spec.get("state", "active") != wanted_state:
        spec["state"] = wanted_state
    if (spec.get("offboarded_in") or []) != wanted_off:
        if wanted_off:
            spec["offboarded_in"] = wanted_off
        else:
            spec.pop("offboarded_in", None)


def to_yaml(spec: dict[str, Any]) -> str:
    ordered = {k: spec[k] for k in KEY_ORDER if k in spec}
    ordered.update({k: v for k, v in spec.items() if k not in ordered})
    return MODELINE + yaml.safe_dump(ordered, sort_keys=False, default_flow_style=None, width=120, allow_unicode=True)


def write(path: Path, text: str) -> bool:
    """Write the team file if its content changed; True when written."""
    return write_if_changed(path, text)
