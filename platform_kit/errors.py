"""The kit's one error family.

Every failure the kit expects is a ``PlatformError``: a one-line message saying what is wrong and
where, and an optional hint naming the next thing to do. The CLI catches it once, at the entry
point, and maps it to an exit code: 2 for bad input (nothing was changed), 1 for an operation
that failed while acting.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class PlatformError(Exception):
    """An expected failure, reported as one line plus an optional hint."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class BadInput(PlatformError):
    """The user's input (a file, a flag, an environment variable) is wrong; nothing was changed."""

    exit_code = EXIT_BAD_INPUT


class ConfigErrors(BadInput):
    """Several problems found at once in the platform's desired state."""

    def __init__(self, problems: list, hint: str | None = None) -> None:
        self.problems = problems
        first = problems[0] if problems else "configuration is invalid"
        count = len(problems)
        message = str(first) if count == 1 else f"{count} problems in the platform configuration"
        super().__init__(message, hint)


class OperationFailed(PlatformError):
    """A tool or cloud call failed while acting."""

    exit_code = EXIT_FAILED
