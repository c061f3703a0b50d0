"""Report a pipeline run on a GitHub pull request: one comment per pipeline and team, kept current.

A pipeline triggered for a PR (an evaluation, a training smoke run) posts its outcome and metrics
as a PR comment. Posting a new comment on every run would bury the conversation, so the comment
carries a hidden marker, ``<!-- platform-kit:<key> -->``, and later runs edit the comment that
has it in place. Two halves:

* ``render_comment`` is pure: marker line, title with a status emoji, summary, metrics table, link.
* ``upsert_comment`` talks to GitHub's REST API: it lists the PR's comments (every page), edits
  the marked one if its body changed, leaves it alone if not, or creates it.

Every failure is one ``OperationFailed`` line saying what GitHub refused and why (bad token,
missing permission, used-up rate limit with its reset time, unknown repository or PR, rejected
body). Server errors and secondary rate limits are retried a bounded number of times. The token
is sent only in the Authorization header, only to ``api_url``, and never appears in a message.
"""

from __future__ import annotations

import logging
import math
import numbers
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import requests

from platform_kit.errors import BadInput, OperationFailed

log = logging.getLogger(__name__)

API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
MARKER_PREFIX = "platform-kit:"
PER_PAGE = 100
# A PR with more than 10,000 comments is not one this component should be scanning.
MAX_PAGES = 100
TIMEOUT = (5.0, 30.0)
MESSAGE_LIMIT = 300

_REPO = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9._-]+")
# The key sits inside an HTML comment: no spaces, no "--", no ">".
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]*")

_EMOJI = {
    "SUCCEEDED": "✅",
    "FAILED": "❌",
    "CANCELED": "⏹️",
    "CANCELLED": "⏹️",
    "RUNNING": "⏳",
    "PENDING": "⏳",
}


@dataclass(frozen=True)
class Comment:
    """The PR comment after an upsert, and what the upsert did to it."""

    id: int
    url: str
    action: Literal["created", "updated", "unchanged"]


# ---------------------------------------------------------------------------------------------
# Rendering


def comment_key(pipeline: str, team: str | None = None) -> str:
    """The key that gives each (team, pipeline) its own comment on a PR."""
    key = f"{team}/{pipeline}" if team else pipeline
    _check_key(key)
    return key


def comment_marker(key: str) -> str:
    """The hidden first line that lets later runs find the comment again."""
    _check_key(key)
    return f"<!-- {MARKER_PREFIX}{key} -->"


def _check_key(key: str) -> None:
    if not _KEY.fullmatch(key) or "--" in key:
        raise BadInput(
            f"comment key {key!r} cannot go in an HTML comment marker",
            hint="Use letters, digits and . _ : / @ + - (no spaces, no '--').",
        )


def format_value(value: object) -> str:
    """A metric value as a table cell: counts with thousands separators, ratios to four decimals,
    very large or very small numbers in scientific notation, booleans as yes/no."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "∞" if number > 0 else "-∞"
        magnitude = abs(number)
        if number == 0:
            return "0"
        if magnitude >= 1e6 or magnitude < 1e-3:
            return f"{number:.3g}"
        if magnitude >= 1000:
            return f"{number:,.1f}"
        return f"{number:.4f}".rstrip("0").rstrip(".")
    return str(value)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|") or " "


def render_comment(
    *,
    key: str,
    pipeline: str,
    state: str,
    summary: str | None = None,
    metrics: Mapping[str, object] | None = None,
    run_url: str | None = None,
    team: str | None = None,
    env: str | None = None,
) -> str:
    """The Markdown body of the PR comment for one run.

    No timestamp or run-specific noise beyond the link: a re-run with the same outcome renders the
    same body, so ``upsert_comment`` leaves the comment (and the PR's notifications) alone.
    """
    state = (state or "UNKNOWN").strip().upper()
    lines = [comment_marker(key), f"### {_EMOJI.get(state, '❔')} {' '.join(pipeline.split())} {state}"]
    context = " · ".join(f"{label} `{value}`" for label, value in (("team", team), ("environment", env)) if value)
    if context:
        lines.append(context)
    if summary and summary.strip():
        lines += ["", summary.strip()]
    if metrics:
        lines += ["", "| Metric | Value |", "| --- | ---: |"]
        lines += [f"| {_cell(str(name))} | {_cell(format_value(value))} |" for name, value in metrics.items()]
    if run_url:
        lines += ["", f"[Open the run in Kubeflow Pipelines]({run_url})"]
    return "\n".join(lines) + "\n"


def failure_summary(task: str | None, error_message: str | None) -> str | None:
    """One line naming where a run failed and why, for a comment's summary; None when nothing failed
    (no error message). KFP names the group an exit handler wraps as the task."""
    if not (error_message or "").strip():
        return None
    where = f" in `{' '.join(task.split())}`" if task and task.strip() else ""
    return f"Failed{where}: {_oneline(error_message or '')}"


# ---------------------------------------------------------------------------------------------
# The REST API


def _oneline(text: str, limit: int = MESSAGE_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _same(a: str, b: str) -> bool:
    """Bodies equal up to line endings and trailing whitespace (GitHub may store either)."""

    def norm(text: str) -> str:
        return text.replace("\r\n", "\n").rstrip()

    return norm(a) == norm(b)


class _GitHub:
    """One upsert's worth of API calls: headers, retries, and failures turned into one line."""

    def __init__(
        self,
        *,
        api_url: str,
        token: str,
        repo: str,
        pr: int,
        session: requests.Session,
        attempts: int,
        sleep: Callable[[float], None],
        max_wait: float,
        backoff: float,
        now: Callable[[], float],
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.repo = repo
        self.pr = pr
        self.session = session
        self.attempts = attempts
        self.sleep = sleep
        self.max_wait = max_wait
        self.backoff = backoff
        self.now = now
        self._token = token
        self._headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "Authorization": f"Bearer {token}",
            "User-Agent": "platform-kit-catalog",
        }

    def __repr__(self) -> str:
        return f"_GitHub(api_url={self.api_url!r}, repo={self.repo!r}, pr={self.pr})"

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "<redacted>") if self._token else text

    def _fail(self, message: str, hint: str | None = None) -> OperationFailed:
        return OperationFailed(self._scrub(_oneline(message)), hint=self._scrub(hint) if hint else None)

    def call(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        """One API call, retried on 5xx, network errors and secondary rate limits."""
        if not url.startswith(self.api_url + "/"):
            # A Link header pointing elsewhere must not receive the token.
            raise self._fail(f"GitHub sent a link outside {self.api_url} while {what}")
        problem = ""
        for attempt in range(1, self.attempts + 1):
            wait = min(self.backoff * 2 ** (attempt - 1), self.max_wait)
            try:
                response = self.session.request(
                    method, url, headers=self._headers, timeout=TIMEOUT, allow_redirects=False, **kwargs
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = f"could not reach GitHub at {self.api_url} ({type(exc).__name__})"
            else:
                status = response.status_code
                if status < 300:
                    return response
                if status >= 500:
                    problem = f"GitHub answered {status}"
                else:
                    secondary_wait = self._secondary_limit_wait(response)
                    if secondary_wait is None:
                        raise self._refusal(response, what)
                    problem = f"GitHub's secondary rate limit ({status})"
                    wait = secondary_wait
            if attempt < self.attempts:
                log.warning("%s while %s; retrying in %.1f s (attempt %d)", problem, what, wait, attempt + 1)
                self.sleep(wait)
        raise self._fail(
            f"{problem} while {what}, after {self.attempts} attempts",
            hint="GitHub may be having an outage (see githubstatus.com), or the token is making too many requests.",
        )

    def _secondary_limit_wait(self, response: requests.Response) -> float | None:
        """How long to wait before retrying a secondary rate limit, or None if this is not one.

        GitHub's advice: honour Retry-After; if the primary limit is used up, wait for its reset
        (too long for a pipeline step: reported, not retried); otherwise wait at least a minute.
        """
        if response.status_code not in (403, 429):
            return None
        retry_after = response.headers.get("Retry-After", "").strip()
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), self.max_wait)
            except ValueError:
                return self.max_wait
        if response.headers.get("X-RateLimit-Remaining") == "0":
            return None
        if response.status_code == 429 or "secondary rate limit" in _message(response).lower():
            return min(60.0, self.max_wait)
        return None

    def _refusal(self, response: requests.Response, what: str) -> OperationFailed:
        status = response.status_code
        message = _message(response)
        target = f"{self.repo}#{self.pr}"
        if status == 401:
            return self._fail(
                f"GitHub rejected the token while {what} (401 {message})",
                hint="The token secret is wrong, expired or revoked: issue a new one and update the secret.",
            )
        if status in (403, 429) and response.headers.get("X-RateLimit-Remaining") == "0":
            return self._fail(
                f"GitHub's API rate limit for this token is used up while {what}; {self._reset(response)}",
                hint="Wait for the reset, or use a GitHub App installation token (its limit is higher).",
            )
        if status == 403:
            return self._fail(
                f"GitHub refused {what} (403 {message}): the token may not write comments on {self.repo}",
                hint="Grant the token 'pull_requests: write' (or 'issues: write') on the repository; "
                "a classic token needs the 'repo' scope.",
            )
        if status == 404:
            return self._fail(
                f"GitHub found no {target} while {what} (404): the repository or pull request does not exist, "
                "or the token cannot see the repository",
                hint="Check the repository and PR number, and that the token is granted this repository.",
            )
        if status == 422:
            return self._fail(f"GitHub rejected the request while {what} (422 {message})")
        return self._fail(f"GitHub answered {status} while {what} ({message})")

    def _reset(self, response: requests.Response) -> str:
        try:
            reset = int(response.headers.get("X-RateLimit-Reset", ""))
        except ValueError:
            return "GitHub did not say when it resets"
        at = datetime.fromtimestamp(reset, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        minutes = max(0, math.ceil((reset - self.now()) / 60))
        return f"it resets at {at} (in {minutes} min)"


def _message(response: requests.Response) -> str:
    """GitHub's own explanation: its ``message`` plus the ``errors`` of a validation failure."""
    try:
        payload = response.json()
    except ValueError:
        return _oneline(response.text, 120) or (response.reason or "no body")
    if not isinstance(payload, dict):
        return response.reason or "no message"
    message = str(payload.get("message") or response.reason or "no message")
    details = []
    for error in payload.get("errors") or []:
        if isinstance(error, dict):
            detail = error.get("message") or " ".join(str(error[k]) for k in ("field", "code") if error.get(k))
        else:
            detail = str(error)
        if detail:
            details.append(str(detail))
    return _oneline(f"{message}: {'; '.join(details)}" if details else message, 200)


def _json(response: requests.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise OperationFailed(f"GitHub answered {response.status_code} with no JSON while {what}") from None


def _comment_json(response: requests.Response, what: str) -> dict[str, Any]:
    payload = _json(response, what)
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), int):
        raise OperationFailed(f"GitHub answered {response.status_code} without a comment while {what}")
    return payload


def upsert_comment(
    repo: str,
    pr: int,
    body: str,
    token: str,
    *,
    marker: str,
    api_url: str = API_URL,
    session: requests.Session | None = None,
    attempts: int = 4,
    sleep: Callable[[float], None] = time.sleep,
    max_wait: float = 60.0,
    backoff: float = 1.0,
    now: Callable[[], float] = time.time,
) -> Comment:
    """Make PR ``pr`` of ``repo`` ("owner/name") carry exactly one comment with ``marker``, saying ``body``.

    Lists the PR's comments page by page (Link header, 100 a page) and takes the first whose body
    contains ``marker``: if its body already equals ``body`` nothing is sent; otherwise it is
    edited in place. With no such comment, a new one is created. ``body`` must itself contain
    ``marker`` (``render_comment`` puts it first), or the next run could not find the comment.
    """
    if not _REPO.fullmatch(repo):
        raise BadInput(f"repository {repo!r} is not of the form owner/name")
    if pr < 1:
        raise BadInput(f"pull request number {pr} is not a positive number")
    if not token:
        raise BadInput("no GitHub token given", hint="Mount the token secret into the component.")
    if not marker or marker not in body:
        raise BadInput(
            "the comment body does not contain its marker, so the next run could not find it",
            hint="Render the body with render_comment, which puts the marker on the first line.",
        )
    if attempts < 1:
        raise ValueError("attempts must be at least 1")

    own_session = session is None
    github = _GitHub(
        api_url=api_url,
        token=token,
        repo=repo,
        pr=pr,
        session=session or requests.Session(),
        attempts=attempts,
        sleep=sleep,
        max_wait=max_wait,
        backoff=backoff,
        now=now,
    )
    try:
        return _upsert(github, body, marker)
    finally:
        if own_session:
            github.session.close()


def post_status(
    repo: str,
    pr: int,
    token: str,
    *,
    pipeline: str,
    state: str,
    summary: str | None = None,
    metrics: Mapping[str, object] | None = None,
    run_url: str | None = None,
    team: str | None = None,
    env: str | None = None,
    api_url: str = API_URL,
) -> Comment:
    """What a component does with a PR: render this pipeline's (and team's) comment and create or
    update it. No token (the Secret not mounted) is an error naming the Secret."""
    if not token:
        raise RuntimeError("GITHUB_TOKEN is not set: mount the github-token Secret")
    key = comment_key(pipeline, team)
    body = render_comment(
        key=key, pipeline=pipeline, state=state, summary=summary, metrics=metrics, run_url=run_url, team=team, env=env
    )
    return upsert_comment(repo, pr, body, token, marker=comment_marker(key), api_url=api_url)


def _upsert(github: _GitHub, body: str, marker: str) -> Comment:
    base = f"{github.api_url}/repos/{github.repo}"
    target = f"{github.repo}#{github.pr}"
    existing = _find(github, f"{base}/issues/{github.pr}/comments", marker, target)
    if existing is None:
        what = f"commenting on {target}"
        created = _comment_json(
            github.call("POST", f"{base}/issues/{github.pr}/comments", what, json={"body": body}), what
        )
        log.info("Created comment %s on %s", created["id"], target)
        return Comment(int(created["id"]), str(created.get("html_url", "")), "created")
    comment_id = int(existing["id"])
    if _same(str(existing.get("body") or ""), body):
        log.info("Comment %s on %s is already current", comment_id, target)
        return Comment(comment_id, str(existing.get("html_url", "")), "unchanged")
    what = f"updating comment {comment_id} on {target}"
    updated = _comment_json(
        github.call("PATCH", f"{base}/issues/comments/{comment_id}", what, json={"body": body}), what
    )
    log.info("Updated comment %s on %s", comment_id, target)
    return Comment(comment_id, str(updated.get("html_url", existing.get("html_url", ""))), "updated")


def _find(github: _GitHub, url: str, marker: str, target: str) -> dict[str, Any] | None:
    """The first (oldest) comment whose body contains ``marker``, reading pages until one does."""
    return next((c for c in _comments(github, url, target) if marker in str(c.get("body") or "")), None)


def _comments(
    github: _GitHub, url: str, target: str, params: dict[str, Any] | None = None, what: str = ""
) -> Iterator[dict[str, Any]]:
    """The PR's comments (or the items of another list), oldest first, a page at a time (Link header)."""
    what = what or f"listing comments on {target}"
    next_url = url
    params = {"per_page": PER_PAGE, **(params or {})}
    for _ in range(MAX_PAGES):
        response = github.call("GET", next_url, what, params=params)
        page = _json(response, what)
        if not isinstance(page, list):
            raise OperationFailed(f"GitHub answered with something other than a list of comments while {what}")
        for comment in page:
            if isinstance(comment, dict) and isinstance(comment.get("id"), int):
                yield comment
        link = response.links.get("next", {}).get("url")
        if not link:
            return
        next_url, params = link, None  # the next link carries per_page and page itself
    raise OperationFailed(f"{target} has more than {MAX_PAGES * PER_PAGE} comments; stopped looking for the marker")


def _default_client(api_url: str, token: str, repo: str, pr: int, session: requests.Session | None) -> _GitHub:
    """A ``_GitHub`` with the retry settings ``upsert_comment`` defaults to."""
    return _GitHub(
        api_url=api_url,
        token=token,
        repo=repo,
        pr=pr,
        session=session or requests.Session(),
        attempts=4,
        sleep=time.sleep,
        max_wait=60.0,
        backoff=1.0,
        now=time.time,
    )


_MARKER = re.compile(r"<!-- " + re.escape(MARKER_PREFIX) + r"(" + _KEY.pattern + r") -->")


def marked_comments(
    repo: str,
    pr: int,
    token: str,
    *,
    key_prefix: str,
    api_url: str = API_URL,
    session: requests.Session | None = None,
) -> dict[str, dict[str, Any]]:
    """The comments of PR ``pr`` whose marker key starts with ``key_prefix``: key -> comment (the
    oldest one per key). ``platform ci plan`` reads it to find the comments of stacks a later push
    no longer touches."""
    if not _REPO.fullmatch(repo):
        raise BadInput(f"repository {repo!r} is not of the form owner/name")
    own_session = session is None
    github = _default_client(api_url, token, repo, pr, session)
    found: dict[str, dict[str, Any]] = {}
    try:
        url = f"{github.api_url}/repos/{repo}/issues/{pr}/comments"
        for comment in _comments(github, url, f"{repo}#{pr}"):
            marker = _MARKER.search(str(comment.get("body") or ""))
            if marker and marker.group(1).startswith(key_prefix):
                found.setdefault(marker.group(1), comment)
    finally:
        if own_session:
            github.session.close()
    return found


@dataclass(frozen=True)
class Issue:
    """The repository issue after ``sync_issue``, and what was done to it."""

    number: int
    url: str
    action: Literal["created", "updated", "unchanged", "closed"]


def sync_issue(
    repo: str,
    token: str,
    *,
    marker: str,
    title: str,
    body: str | None,
    label: str,
    api_url: str = API_URL,
    session: requests.Session | None = None,
) -> Issue | None:
    """Keep at most one open issue of ``repo`` carrying ``marker`` (and ``label``): with a ``body``, the
    issue says it (created, or edited in place); with ``body`` None, an open one is closed. None when
    there was nothing to close. ``platform ci drift`` reports drift this way, one issue per scope."""
    if not _REPO.fullmatch(repo):
        raise BadInput(f"repository {repo!r} is not of the form owner/name")
    if not token:
        raise BadInput("no GitHub token given")
    if body is not None and marker not in body:
        raise BadInput("the issue body does not contain its marker, so the next run could not find it")
    own_session = session is None
    github = _default_client(api_url, token, repo, 0, session)
    base = f"{github.api_url}/repos/{repo}/issues"
    try:
        listing = _comments(github, base, repo, {"state": "open", "labels": label}, what=f"listing issues of {repo}")
        existing = next((i for i in listing if marker in str(i.get("body") or "")), None)
        if existing is None:
            if body is None:
                return None
            what = f"opening an issue on {repo}"
            made = _comment_json(
                github.call("POST", base, what, json={"title": title, "body": body, "labels": [label]}), what
            )
            return Issue(int(made["number"]), str(made.get("html_url", "")), "created")
        number = int(existing["number"])
        url = str(existing.get("html_url", ""))
        if body is None:
            what = f"closing issue {number} of {repo}"
            github.call("PATCH", f"{base}/{number}", what, json={"state": "closed", "state_reason": "completed"})
            return Issue(number, url, "closed")
        if _same(str(existing.get("body") or ""), body) and existing.get("title") == title:
            return Issue(number, url, "unchanged")
        what = f"updating issue {number} of {repo}"
        github.call("PATCH", f"{base}/{number}", what, json={"title": title, "body": body})
        return Issue(number, url, "updated")
    finally:
        if own_session:
            github.session.close()
