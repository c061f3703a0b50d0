"""Terraform's human plan output, read for what a PR comment needs, without a second Terraform run.

``terraform plan -out=F`` (without ``-json``) prints the same plan that ``terraform show F`` prints
later, after the refresh progress lines and before the "Saved the plan to" footer. ``platform ci
plan`` keeps that text for the comment, so a plan costs one Terraform run, not a plan and a show
(each loading the AWS provider's schema, about 3 s on 2 cores). From the text it takes:

- the plan itself (``body``): from "Note: Objects have changed outside of Terraform", "Terraform
  used the selected providers" or "No changes." to the end, footer dropped;
- the counts of the ``Plan: N to add, N to change, N to destroy.`` line (0 when there is none);
- each resource's action from its heading, ``# ADDRESS will be destroyed`` (or created, updated
  in-place, replaced, read), which is how the red warning names destroyed stateful resources.

The headings and the ``Plan:`` line have kept their wording since Terraform 0.15. The authoritative
reading stays ``terraform show -json``: the policy gate needs it anyway, and ``platform ci apply``
checks destroys against it before applying.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_STARTS = (
    "Note: Objects have changed outside of Terraform",
    "Terraform used the selected providers",
    "No changes.",
    "Changes to Outputs:",
)
_FOOTER = re.compile(r"^─+$")
_HEADING = re.compile(
    r"^\s*# (?P<address>.+?)(?: \(deposed object \w+\))? "
    r"(?P<what>will be created|will be destroyed|must be replaced|will be replaced|will be updated in-place"
    r"|will be read during apply)"
)
_ACTIONS = {
    "will be created": "create",
    "will be destroyed": "delete",
    "must be replaced": "replace",
    "will be replaced": "replace",  # -replace=ADDR, or replace_triggered_by
    "will be updated in-place": "update",
    "will be read during apply": "read",
}
_COUNT = re.compile(r"(\d+) to (add|change|destroy)")


@dataclass
class PlanText:
    body: str
    add: int = 0
    change: int = 0
    destroy: int = 0
    actions: list[tuple[str, str]] = field(default_factory=list)  # (create|delete|replace|update, address)


def resource_type(address: str) -> str:
    """``module.a["x"].aws_s3_bucket.this[0]`` -> ``aws_s3_bucket``."""
    parts: list[str] = []
    depth, current = 0, ""
    for char in address:  # split on dots outside of index brackets (keys may hold dots)
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return re.sub(r"\[.*\]$", "", parts[-2]) if len(parts) >= 2 else ""


def parse(output: str) -> PlanText:
    """The plan part of ``terraform plan``'s output (no colour), with its counts and actions."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(_STARTS)), 0)
    end = len(lines)
    for i in range(len(lines) - 1, start, -1):
        if _FOOTER.match(lines[i].strip()) and any("Saved the plan to:" in line for line in lines[i:]):
            end = i
            break
    body = "\n".join(lines[start:end]).strip("\n")
    result = PlanText(body=body)
    in_drift_note = False
    for line in lines[start:end]:
        if line.startswith("Note: Objects have changed outside of Terraform"):
            in_drift_note = True  # its headings say what changed outside, not what this plan does
        elif line.startswith("Terraform used the selected providers"):
            in_drift_note = False
        if in_drift_note:
            continue
        heading = _HEADING.match(line)
        if heading and _ACTIONS[heading["what"]] != "read":
            result.actions.append((_ACTIONS[heading["what"]], heading["address"]))
        if line.startswith("Plan: "):
            for number, kind in _COUNT.findall(line):
                setattr(result, kind, int(number))
    return result
