"""The Markdown a pull request gets for its plans: one section per stack, and a summary.

After tfcmt and Atlantis: each section starts with a hidden marker (so the comment of that stack is
found again and edited in place), then one line with the add, change and destroy counts, a red
warning naming destroyed stateful resources (buckets, clusters, databases, keys), why the stack was
planned, the policy gate's findings, and the plan itself inside ``<details>``.

GitHub refuses comments over 65,536 characters, and a plan can be far longer; a failed comment
must not fail the job. A section over ``LIMIT`` keeps the head and the tail of the plan text with a
visible notice saying how much was left out and where the whole plan is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from platform_kit.catalog.runtime.github import comment_marker

LIMIT = 60_000
NOTICE = "... {lines} lines ({chars} characters) of the plan left out here; the whole plan is {where} ..."


def marker_key(env: str, stack: str) -> str:
    return f"plan:{env}/{stack}"


@dataclass
class StackResult:
    """What the section of one stack says; ``error`` when its plan failed."""

    env: str
    stack: str
    reasons: list[str]
    add: int = 0
    change: int = 0
    destroy: int = 0
    has_changes: bool = False
    destroyed_stateful: list[str] = field(default_factory=list)
    plan_text: str = ""
    policy_failures: list[str] = field(default_factory=list)
    policy_waived: list[str] = field(default_factory=list)  # failures the env's ci.policy_exceptions accept
    error: str | None = None
    full_plan: str = ""  # where the whole plan text is (an artifact path)

    @property
    def blocked(self) -> bool:
        return self.error is not None or bool(self.policy_failures)

    def headline(self) -> str:
        if self.error is not None:
            return f"{self.env} / {self.stack}: plan failed"
        if not self.has_changes:
            return f"{self.env} / {self.stack}: no changes"
        return f"{self.env} / {self.stack}: {self.add} to add, {self.change} to change, {self.destroy} to destroy"

    def as_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "stack": self.stack,
            "reasons": self.reasons,
            "add": self.add,
            "change": self.change,
            "destroy": self.destroy,
            "has_changes": self.has_changes,
            "destroyed_stateful": self.destroyed_stateful,
            "policy_failures": self.policy_failures,
            "policy_waived": self.policy_waived,
            "error": self.error,
            "full_plan": self.full_plan,
        }


def truncate(text: str, budget: int, where: str) -> str:
    """``text`` if it fits in ``budget`` characters, else its head and tail around a notice."""
    if len(text) <= budget:
        return text
    notice_room = len(NOTICE) + 40 + len(where)
    keep = max(budget - notice_room, 0)
    head, tail = text[: keep * 2 // 3], text[len(text) - keep // 3 :] if keep else ""
    head = head[: head.rfind("\n") + 1] if "\n" in head else head
    tail = tail[tail.find("\n") + 1 :] if "\n" in tail else tail
    left = text[len(head) : len(text) - len(tail)]
    lines = left.count("\n") + (0 if left.endswith("\n") else 1)
    notice = NOTICE.format(lines=lines, chars=len(left), where=where)
    return f"{head}{notice}\n{tail}"


def _fence(text: str) -> str:
    longest = max((len(run) for run in text.split("\n") if set(run) == {"`"}), default=0)
    return "`" * max(3, longest + 1)


def section(result: StackResult, *, limit: int = LIMIT) -> str:
    """The Markdown of one stack, at most ``limit`` characters."""
    lines = [comment_marker(marker_key(result.env, result.stack)), f"### {result.headline()}", ""]
    if result.destroyed_stateful:
        lines += [
            "> [!CAUTION]",
            "> This plan **destroys stateful resources**; data in them is lost:",
            *(f"> - `{address}`" for address in result.destroyed_stateful),
            "> Applying it needs `--allow-destroy`.",
            "",
        ]
    if result.reasons:
        lines += [f"Planned because: {'; '.join(result.reasons)}", ""]
    if result.error is not None:
        lines += ["> [!WARNING]", f"> The plan failed: {result.error}", ""]
    if result.policy_failures:
        lines += ["**Policy gate failed** (checkov on the plan):", *(f"- {f}" for f in result.policy_failures), ""]
    if result.policy_waived:
        lines += ["Accepted policy findings (`ci.policy_exceptions`):", *(f"- {w}" for w in result.policy_waived), ""]
    body = "\n".join(lines)
    if not result.plan_text:
        return body.rstrip() + "\n"
    fence_text = result.plan_text.rstrip("\n")
    fence = _fence(fence_text)
    opening = f"<details><summary>Plan of {result.env} / {result.stack}</summary>\n\n{fence}hcl\n"
    closing = f"\n{fence}\n\n</details>\n"
    budget = limit - len(body) - len(opening) - len(closing) - 1
    return body + "\n" + opening + truncate(fence_text, budget, result.full_plan or "in the job's artifacts") + closing


def stale_section(key: str, head: str) -> str:
    """The body that replaces the comment of a stack (or render) the latest push no longer touches."""
    what = key.split(":", 1)[1].replace("/", " / ")
    return (
        f"{comment_marker(key)}\n### {what}: no longer changed by this pull request\n\n"
        f"The latest push ({head[:12]}) does not touch it; the plan that was here was for an earlier "
        "commit and is out of date.\n"
    )


def summary(
    results: list[StackResult], renders: list[str], notes: list[str], *, title: str = "platform ci plan"
) -> str:
    """The overall summary: one table row per stack, then render diffs and notes."""
    if not results:
        head = [f"## {title}: no stack affected", ""]
    else:
        changed = sum(1 for r in results if r.has_changes)
        blocked = sum(1 for r in results if r.blocked)
        head = [
            f"## {title}: {len(results)} stack(s), {changed} with changes"
            + (f", **{blocked} blocked**" if blocked else ""),
            "",
            "| env | stack | add | change | destroy | status |",
            "| --- | --- | ---: | ---: | ---: | --- |",
        ]
        for r in results:
            if r.error is not None:
                status = "plan failed"
            elif r.policy_failures:
                status = f"policy: {len(r.policy_failures)} failed"
            elif r.destroyed_stateful:
                status = "destroys stateful resources"
            else:
                status = "changes" if r.has_changes else "no changes"
            head.append(f"| {r.env} | {r.stack} | {r.add} | {r.change} | {r.destroy} | {status} |")
        head.append("")
    head += [f"- {line}" for line in renders]
    head += [f"- {line}" for line in notes]
    return "\n".join(head).rstrip() + "\n"
