"""Tell a team's Slack channel how a pipeline run ended: the body of the catalog's exit handler.

A pipeline wraps its steps in ``dsl.ExitHandler``; the exit task receives KFP's
``PipelineTaskFinalStatus`` and posts one short message to the team's incoming webhook. Two
halves, so each can be tested alone:

* ``build_message`` / ``message_for_status`` are pure: they turn the final state into Slack's
  incoming-webhook JSON (a ``text`` fallback for notifications plus ``blocks`` for the channel).
* ``notify`` delivers it, retrying what is worth retrying (429 after ``Retry-After``, 5xx and
  network errors with exponential backoff) and giving up on what is not (other 4xx: the webhook is
  revoked, the channel archived, the payload malformed).

A notification is a courtesy: by default a Slack outage is reported in the returned ``Delivery``
and the log, and never fails the run it reports on. ``fail_on_error=True`` turns it into an
``OperationFailed`` for pipelines where the message is the point.

The webhook URL is a credential (anyone holding it can post to the channel), so it never appears
in a ``Delivery``, an exception, or a log line, not even urllib3's debug lines, which print the
request path where a webhook keeps its secret.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from platform_kit.errors import OperationFailed

log = logging.getLogger(__name__)

# Slack's documented limits for the blocks used here.
HEADER_LIMIT = 150
FIELD_LIMIT = 2000
ERROR_LIMIT = 500
# How much of a refusal's body goes into the reason: Slack answers with one short word.
BODY_LIMIT = 200
TIMEOUT = (5.0, 20.0)

# KFP reports states in more than one vocabulary: the SDK documents SUCCEEDED/FAILED/CANCELLED,
# the open-source backend passes its own task or execution state names (CANCELED, COMPLETE, ...).
_SUCCEEDED = frozenset({"SUCCEEDED", "COMPLETE", "CACHED", "SKIPPED"})
_FAILED = frozenset({"FAILED", "SYSTEM_ERROR"})
_CANCELED = frozenset({"CANCELED", "CANCELLED", "CANCELING", "CANCELLING"})


class FinalStatus(Protocol):
    """The fields of ``kfp.dsl.PipelineTaskFinalStatus`` the message uses (duck-typed, so tests and
    callers need not build KFP's class)."""

    state: str
    pipeline_job_resource_name: str
    pipeline_task_name: str
    error_code: int | None
    error_message: str | None


@dataclass(frozen=True)
class Delivery:
    """What became of one notification. ``reason`` is one line and never holds the webhook URL."""

    delivered: bool
    attempts: int
    status: int | None
    reason: str


def is_failure(state: str) -> bool:
    """Whether a final state means the run failed (as opposed to succeeded or was canceled)."""
    return state.strip().upper() in _FAILED


def _emoji(state: str) -> str:
    upper = state.strip().upper()
    if upper in _SUCCEEDED:
        return ":white_check_mark:"
    if upper in _FAILED:
        return ":x:"
    if upper in _CANCELED:
        return ":no_entry_sign:"
    return ":grey_question:"


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, label: str) -> str:
    return f"<{_mrkdwn(url).replace('|', '%7C')}|{_mrkdwn(label)}>"


def build_message(
    pipeline: str,
    state: str,
    *,
    run_url: str | None = None,
    run_name: str | None = None,
    failed_task: str | None = None,
    error_message: str | None = None,
    team: str | None = None,
    env: str | None = None,
    error_limit: int = ERROR_LIMIT,
) -> dict[str, Any]:
    """The webhook payload for one finished run.

    ``text`` is the one-line fallback Slack shows in notifications; ``blocks`` is what the channel
    shows: a header with the outcome, the facts as fields, and (for a failure) the failing task and
    its error, cut to ``error_limit`` characters so a stack trace does not flood the channel.
    """
    state = (state or "UNKNOWN").strip().upper()
    emoji = _emoji(state)
    failed = is_failure(state)
    where = "/".join(part for part in (team, env) if part)

    # The top-level text is mrkdwn too; the header below is plain text and needs no escaping.
    text = f"{emoji} {_mrkdwn(pipeline)} {state}"
    if where:
        text += f" ({_mrkdwn(where)})"
    if failed and failed_task:
        text += f": task {_mrkdwn(failed_task)}"

    fields = [f"*State*\n{_mrkdwn(state)}"]
    if team:
        fields.append(f"*Team*\n{_mrkdwn(team)}")
    if env:
        fields.append(f"*Environment*\n{_mrkdwn(env)}")
    if failed and failed_task:
        fields.append(f"*Failed task*\n`{_mrkdwn(failed_task)}`")
    if run_url:
        fields.append(f"*Run*\n{_link(run_url, run_name or 'open in Kubeflow')}")
    elif run_name:
        fields.append(f"*Run*\n{_mrkdwn(run_name)}")

    header = _truncate(f"{emoji} {pipeline} {state}", HEADER_LIMIT)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": _truncate(f, FIELD_LIMIT)} for f in fields]},
    ]
    if failed:
        detail = (error_message or "").strip() or "KFP reported no error message; see the run's logs."
        # A literal ``` would close the code block early.
        detail = _truncate(detail, error_limit).replace("```", "'''")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Error*\n```{_mrkdwn(detail)}```"}})
    return {"text": text, "blocks": blocks}


def message_for_status(
    status: FinalStatus,
    *,
    pipeline: str,
    run_url: str | None = None,
    team: str | None = None,
    env: str | None = None,
) -> dict[str, Any]:
    """``build_message`` fed from KFP's ``PipelineTaskFinalStatus`` as the exit task receives it.

    KFP names the task it reports on (for an exit handler, the group it wraps, such as
    ``exit-handler-1``) and the run's resource name, used as the link's label. ``error_code`` is
    left out: the open-source backend fills it with an internal state number, not a useful code.
    """
    return build_message(
        pipeline,
        status.state,
        run_url=run_url,
        run_name=status.pipeline_job_resource_name or None,
        failed_task=status.pipeline_task_name or None,
        error_message=status.error_message,
        team=team,
        env=env,
    )


def post_status(
    status: FinalStatus,
    *,
    pipeline: str,
    webhook_url: str,
    run_url: str | None = None,
    team: str | None = None,
    env: str | None = None,
    fail_on_error: bool = False,
) -> bool:
    """What an exit task does with Slack: the run's final state to ``webhook_url``; True when delivered.
    No webhook (the Secret not mounted) is a warning, or an error with ``fail_on_error``."""
    if not webhook_url:
        if fail_on_error:
            raise RuntimeError("SLACK_WEBHOOK_URL is not set: mount the slack-webhook Secret")
        log.warning("SLACK_WEBHOOK_URL is not set; no Slack message sent")
        return False
    message = message_for_status(status, pipeline=pipeline, run_url=run_url, team=team, env=env)
    return notify(webhook_url, message, fail_on_error=fail_on_error).delivered


class _Redact(logging.Filter):
    """Replace secrets in log records before any handler sees them."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            for secret in self._secrets:
                message = message.replace(secret, "<redacted>")
            record.msg, record.args = message, None
        return True


# urllib3 logs request paths (debug) and retried URLs (warning) on these loggers.
_URLLIB3_LOGGERS = ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry")


@contextlib.contextmanager
def redacted_in_logs(url: str) -> Iterator[None]:
    """While inside, urllib3's log lines show ``<redacted>`` in place of ``url`` and its path.

    For any client whose URL is itself the credential (webhooks, presigned URLs).
    """
    redact = _Redact(_secrets_of(url))
    loggers = [logging.getLogger(name) for name in _URLLIB3_LOGGERS]
    for logger in loggers:
        logger.addFilter(redact)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(redact)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _body(response: requests.Response) -> str:
    text = " ".join(response.text.split())
    return _truncate(text, BODY_LIMIT) if text else (response.reason or "no body")


def _hint(status: int | None) -> str:
    if status in (403, 404, 410):
        return "The webhook was revoked or its channel archived: create a new incoming webhook and update the secret."
    if status == 400:
        return "Slack could not read the message: check the blocks against Slack's limits."
    return "Slack or the network may be down; the notification is not retried later."


def notify(
    webhook_url: str,
    message: dict[str, Any],
    *,
    session: requests.Session | None = None,
    attempts: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    max_wait: float = 60.0,
    backoff: float = 1.0,
    fail_on_error: bool = False,
) -> Delivery:
    """Post ``message`` to a Slack incoming webhook; say what happened without ever naming the URL.

    Retries up to ``attempts`` requests in all: a 429 waits ``Retry-After`` seconds, a 5xx or a
    network error waits ``backoff`` doubling each time, every wait capped at ``max_wait``. Any other
    4xx is final (Slack's one-word answer, such as ``no_service``, goes into the reason). Unless
    ``fail_on_error``, a failed delivery is returned and logged, not raised.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    parts = urlsplit(webhook_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return _give_up(Delivery(False, 0, None, "the webhook URL is not an http(s) URL"), fail_on_error)

    own_session = session is None
    http = session or requests.Session()
    status: int | None = None
    reason = ""
    made = 0
    try:
        with redacted_in_logs(webhook_url):
            for made in range(1, attempts + 1):
                wait = min(backoff * 2 ** (made - 1), max_wait)
                try:
                    response = http.post(webhook_url, json=message, timeout=TIMEOUT, allow_redirects=False)
                except (requests.ConnectionError, requests.Timeout) as exc:
                    # The exception's text names the URL: keep only its type.
                    status, reason = None, f"could not reach Slack ({type(exc).__name__})"
                except requests.RequestException as exc:
                    status, reason = None, f"the request to Slack failed ({type(exc).__name__})"
                    break
                else:
                    status = response.status_code
                    if 200 <= status < 300:
                        after = f" after {made} attempts" if made > 1 else ""
                        log.info("Slack notification delivered%s", after)
                        return Delivery(True, made, status, f"delivered{after}")
                    if status == 429:
                        reason = "Slack is rate-limiting the webhook (429)"
                        retry_after = _retry_after(response)
                        if retry_after is not None:
                            wait = min(retry_after, max_wait)
                    elif status >= 500:
                        reason = f"Slack answered {status} ({_body(response)})"
                    else:
                        reason = f"Slack refused the message ({status} {_body(response)})"
                        break
                if made < attempts:
                    shown = _scrub(reason, webhook_url)
                    log.warning("%s; retrying in %.1f s (attempt %d of %d)", shown, wait, made + 1, attempts)
                    sleep(wait)
            else:
                reason = f"{reason}; gave up after {made} attempts"
    finally:
        if own_session:
            http.close()
    return _give_up(Delivery(False, made, status, _scrub(reason, webhook_url)), fail_on_error)


def _secrets_of(url: str) -> list[str]:
    """The URL and its path with query, longest first: for a webhook, the path alone is the secret."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return sorted({s for s in (url, path) if len(s) > 1}, key=len, reverse=True)


def _scrub(text: str, url: str) -> str:
    for secret in _secrets_of(url):
        text = text.replace(secret, "<redacted>")
    return text


def _give_up(delivery: Delivery, fail_on_error: bool) -> Delivery:
    # Raised outside any ``except`` block, so no chained exception carries the URL along.
    if fail_on_error:
        raise OperationFailed(f"Slack notification not delivered: {delivery.reason}", hint=_hint(delivery.status))
    log.warning("Slack notification not delivered: %s", delivery.reason)
    return delivery
