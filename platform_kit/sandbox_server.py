"""The sandbox's server process: moto's application behind a guard that answers each AWS call once.

``python -m platform_kit.sandbox_server -H HOST -p PORT -c CERT -k KEY`` serves moto exactly as
``python -m moto.server`` does (moto's dispatcher and request handler on werkzeug's threaded
server), with one layer in front.

Why the layer. Every AWS SDK marks each attempt of one call with the same ``amz-sdk-invocation-id``
and counts attempts in ``amz-sdk-request: attempt=N; max=M``. When an answer is lost on the way
back (a reset connection, a client time-out on a loaded machine) the SDK sends the call again, and
moto, which keeps no idempotency tokens, runs it twice: a role is "created" twice
(``EntityAlreadyExists``), an internet gateway attached twice (``Resource.AlreadyAssociated``).
Real AWS APIs guard most creates with client tokens; moto does not. So the guard remembers the
answer of each recent mutating call by invocation id and gives a retried attempt that same answer
instead of running the call again. Retries of a call whose first answer was a server error (5xx)
run again, as they would on AWS. Every retried attempt and every 5xx is written to the sandbox
log, so a failure under load can be explained afterwards.

Only the standard library, werkzeug and moto are imported.
"""

from __future__ import annotations

import argparse
import io
import re
import signal
import sys
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# How many answers are kept for replay, and the largest one kept. Terraform's default parallelism
# is 10, so a few hundred covers every call that can still be retried; a larger body (an S3 object
# read) is never a mutating call's answer worth replaying.
REMEMBERED_CALLS = 512
LARGEST_REMEMBERED_BODY = 1 << 20
# How long a retried attempt waits for its first attempt, still running, to finish.
FIRST_ATTEMPT_WAIT = 120.0

_READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})
_ATTEMPT = re.compile(r"attempt=(\d+)")

StartResponse = Callable[..., Any]


@dataclass
class _Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class _Call:
    done: threading.Event = field(default_factory=threading.Event)
    answer: _Answer | None = None


class RetryGuard:
    """WSGI middleware: a retried attempt of an answered mutating call gets the recorded answer."""

    def __init__(self, app: Callable[..., Iterable[bytes]], log: Callable[[str], None]) -> None:
        self.app = app
        self.log = log
        self._lock = threading.Lock()
        self._calls: OrderedDict[str, _Call] = OrderedDict()
        self.replayed = 0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID", "")
        if not invocation or environ.get("REQUEST_METHOD", "GET") in _READ_ONLY:
            return self.app(environ, start_response)
        attempt = _attempt(environ.get("HTTP_AMZ_SDK_REQUEST", ""))
        what = _describe(environ)
        with self._lock:
            call = self._calls.get(invocation)
            first = call is None
            if first:
                call = self._calls[invocation] = _Call()
                while len(self._calls) > REMEMBERED_CALLS:
                    self._calls.popitem(last=False)
        if not first:
            call.done.wait(FIRST_ATTEMPT_WAIT)
            answer = call.answer
            if answer is not None and not answer.status.startswith("5"):
                self.replayed += 1
                self.log(f"retry guard: attempt {attempt} of {what} replays the first answer ({answer.status})")
                start_response(answer.status, answer.headers)
                return [answer.body]
            self.log(f"retry guard: attempt {attempt} of {what} runs again (earlier answer: {_status(answer)})")
            call = _Call()
            with self._lock:
                self._calls[invocation] = call
        elif attempt > 1:
            self.log(f"retry guard: attempt {attempt} of {what} is the first this server saw")
        try:
            answer = self._run(environ)
            # Recorded before the waiters wake, so a resend waiting on this call finds the answer.
            call.answer = answer if len(answer.body) <= LARGEST_REMEMBERED_BODY else None
        finally:
            call.done.set()
        if answer.status.startswith("5"):
            self.log(f"retry guard: {what} answered {answer.status}")
        start_response(answer.status, answer.headers)
        return [answer.body]

    def _run(self, environ: dict[str, Any]) -> _Answer:
        recorded: dict[str, Any] = {}
        written: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            recorded["status"], recorded["headers"] = status, list(headers)
            return written.append

        result = self.app(environ, capture)
        try:
            written.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status = recorded.get("status", "500 INTERNAL SERVER ERROR")
        return _Answer(status, recorded.get("headers", []), b"".join(written))


def _attempt(header: str) -> int:
    match = _ATTEMPT.search(header)
    return int(match.group(1)) if match else 1


def _status(answer: _Answer | None) -> str:
    return answer.status if answer is not None else "none recorded"


def _describe(environ: dict[str, Any]) -> str:
    """The call in a few words: method, path and, where the body or a header names it, the action."""
    method = environ.get("REQUEST_METHOD", "?")
    path = environ.get("PATH_INFO", "/")
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return f"{method} {path} {target}"
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        body = _peek_body(environ)
        action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        if action:
            return f"{method} {path} {action}"
    return f"{method} {path}"


def _peek_body(environ: dict[str, Any], limit: int = 1 << 16) -> bytes:
    """The request body, read and put back so the application reads it too (small bodies only)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return b""
    if not 0 < length <= limit:
        return b""
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m platform_kit.sandbox_server")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("-c", "--ssl-cert", required=True)
    parser.add_argument("-k", "--ssl-key", required=True)
    args = parser.parse_args(argv)

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def stop(signum: int, frame: Any) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    moto_app = DomainDispatcherApplication(create_backend_app)
    moto_app.debug = True  # as moto.server sets it
    run_simple(
        args.host,
        args.port,
        RetryGuard(moto_app, log),
        threaded=True,
        ssl_context=(args.ssl_cert, args.ssl_key),
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
