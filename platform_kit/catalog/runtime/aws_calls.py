"""AWS calls the catalog's components make: throttling retried a bounded number of times.

boto3 retries throttling itself a few times; a training or batch step waiting for hours calls
Describe* often enough to outlast that under a busy account, so these calls add their own bounded
retries (1, 2, 4, ... seconds, capped) before giving up with one line naming the call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from platform_kit.errors import OperationFailed

log = logging.getLogger(__name__)
T = TypeVar("T")

THROTTLE_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
THROTTLE_RETRIES = 6  # after the client's own retries; waits 1, 2, 4... seconds, capped at max_wait


def code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def message(exc: ClientError) -> str:
    text = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
    return " ".join(text.split())


def call(
    operation: Callable[..., T],
    what: str,
    *,
    service: str,
    sleep: Callable[[float], None],
    max_wait: float,
    wrap_errors: bool = True,
    **kwargs: Any,
) -> T:
    """``operation(**kwargs)`` with throttling retried. Other errors become OperationFailed naming
    ``what``, or propagate as they are with ``wrap_errors=False`` (for a caller that tells a
    "not found" or "in use" answer apart)."""
    delay = 1.0
    for attempt in range(THROTTLE_RETRIES + 1):
        try:
            return operation(**kwargs)
        except ClientError as exc:
            if code(exc) not in THROTTLE_CODES:
                if not wrap_errors:
                    raise
                raise OperationFailed(f"{what} failed: {code(exc)}: {message(exc)}") from exc
            if attempt == THROTTLE_RETRIES:
                raise OperationFailed(
                    f"{what}: AWS kept throttling the request ({THROTTLE_RETRIES} retries)",
                    hint=f"too many {service} calls in this account and region; retry the step later",
                ) from exc
            wait = min(delay, max_wait)
            log.warning("%s: throttled (%s); retrying in %.0f s", what, code(exc), wait)
            sleep(wait)
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover
