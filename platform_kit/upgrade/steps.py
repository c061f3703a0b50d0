"""Upgrade steps: what each one checks, changes and verifies, and the runner that applies them in order.

A step is described for people (``prechecks``, ``changes``, ``verify``: the plan prints them) and
acts through four functions:

- ``is_done()`` reads real state (AWS, the cluster, the config) and says whether the step's change
  is already there, so a second ``upgrade apply`` skips it, whoever made the change;
- ``check()`` runs the pre-checks and raises ``StepFailed`` saying what to do first;
- ``run()`` makes the change; it waits for a change of the same kind already in progress instead
  of starting another;
- ``confirm_after()`` reads real state again and raises ``StepFailed`` when the change is not there.

``execute`` runs the steps in order and stops at the first failure, with the step named and the
command that resumes. Nothing is recorded locally: re-running finds finished steps from real state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from platform_kit.errors import OperationFailed


class StepFailed(OperationFailed):
    """A pre-check or verification that failed, with what to do next in the hint."""


def _nothing() -> None:
    return None


@dataclass
class Step:
    id: str
    title: str
    prechecks: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    verify: list[str] = field(default_factory=list)
    manual: str | None = None  # a release's manual step: shown in the plan, confirmed before apply
    is_done: Callable[[], bool] = field(default=lambda: False, repr=False)
    check: Callable[[], None] = field(default=_nothing, repr=False)
    run: Callable[[], None] = field(default=_nothing, repr=False)
    confirm_after: Callable[[], None] = field(default=_nothing, repr=False)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "prechecks": self.prechecks,
            "changes": self.changes,
            "verify": self.verify,
            "manual": self.manual,
        }


@dataclass
class Outcome:
    id: str
    status: str  # "already done", "applied", "failed", "not reached"
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "status": self.status, "detail": self.detail}


def status(steps: list[Step]) -> dict[str, bool]:
    """Each step's ``is_done()``, read from real state: what the plan shows as done or to do."""
    return {step.id: step.is_done() for step in steps}


def execute(
    steps: list[Step],
    *,
    resume_command: str,
    confirm: Callable[[str], bool] = lambda _: False,
    on_outcome: Callable[[Outcome], None] = lambda _: None,
) -> list[Outcome]:
    """Apply ``steps`` in order, skipping those already done; stop at the first failure.

    A failure is re-raised as OperationFailed naming the step, with a hint that says how to resume
    (``resume_command``); the outcomes so far reach ``on_outcome`` as they happen."""
    outcomes: list[Outcome] = []

    def record(outcome: Outcome) -> None:
        outcomes.append(outcome)
        on_outcome(outcome)

    for position, step in enumerate(steps):
        try:
            if step.is_done():
                record(Outcome(step.id, "already done"))
                continue
            step.check()
            if step.manual is not None and not confirm(step.manual):
                raise StepFailed(
                    f"the manual step was not confirmed: {step.manual}",
                    hint="do it, then run again and confirm (or pass --yes once it is done)",
                )
            step.run()
            step.confirm_after()
        except OperationFailed as exc:
            record(Outcome(step.id, "failed", exc.message))
            for later in steps[position + 1 :]:
                record(Outcome(later.id, "not reached"))
            hint = f"{exc.hint}; then resume with: {resume_command}" if exc.hint else f"resume with: {resume_command}"
            raise OperationFailed(f"step {step.id} ({step.title}) failed: {exc.message}", hint=hint) from None
        record(Outcome(step.id, "applied"))
    return outcomes
