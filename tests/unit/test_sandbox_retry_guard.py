"""The sandbox server's retry guard: a retried attempt of an answered mutating call is answered once."""

from __future__ import annotations

import io
import threading
from typing import Any

from platform_kit.sandbox_server import REMEMBERED_CALLS, RetryGuard


class CountingApp:
    """A WSGI app that counts the calls it runs and answers with the count (or a chosen status)."""

    def __init__(self, status: str = "200 OK", hold: threading.Event | None = None) -> None:
        self.calls = 0
        self.status = status
        self.hold = hold  # when set, each call waits for it (a first attempt still running)
        self.running = threading.Event()
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response):
        with self._lock:
            self.calls += 1
            number = self.calls
        self.bodies.append(environ["wsgi.input"].read())
        self.running.set()
        if self.hold is not None:
            assert self.hold.wait(10), "the test never released the call"
        start_response(self.status, [("Content-Type", "text/plain")])
        return [f"call {number}".encode()]


def _environ(invocation: str | None, attempt: int = 1, method: str = "POST", body: bytes = b"Action=CreateRole"):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": "/",
        "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_AMZ_SDK_REQUEST": f"attempt={attempt}; max=5",
    }
    if invocation is not None:
        environ["HTTP_AMZ_SDK_INVOCATION_ID"] = invocation
    return environ


def _call(guard: RetryGuard, environ: dict[str, Any]) -> tuple[str, bytes]:
    seen: dict[str, str] = {}

    def start_response(status, headers, exc_info=None):
        seen["status"] = status

    body = b"".join(guard(environ, start_response))
    return seen["status"], body


def test_a_retried_attempt_gets_the_first_answer_and_the_call_runs_once() -> None:
    app, lines = CountingApp(), []
    guard = RetryGuard(app, lines.append)
    assert _call(guard, _environ("inv-1")) == ("200 OK", b"call 1")
    assert _call(guard, _environ("inv-1", attempt=2)) == ("200 OK", b"call 1")
    assert app.calls == 1 and guard.replayed == 1
    assert lines == ["retry guard: attempt 2 of POST / CreateRole replays the first answer (200 OK)"]
    # The application still reads the body the guard peeked at to name the action.
    assert app.bodies == [b"Action=CreateRole"]


def test_another_invocation_runs_again() -> None:
    app = CountingApp()
    guard = RetryGuard(app, lambda line: None)
    _call(guard, _environ("inv-1"))
    assert _call(guard, _environ("inv-2")) == ("200 OK", b"call 2")
    assert app.calls == 2 and guard.replayed == 0


def test_a_retry_after_a_server_error_runs_again_and_is_logged() -> None:
    app, lines = CountingApp(status="500 INTERNAL SERVER ERROR"), []
    guard = RetryGuard(app, lines.append)
    _call(guard, _environ("inv-1"))
    status, body = _call(guard, _environ("inv-1", attempt=2))
    assert status.startswith("500") and body == b"call 2" and app.calls == 2
    assert "retry guard: POST / CreateRole answered 500 INTERNAL SERVER ERROR" in lines
    assert "retry guard: attempt 2 of POST / CreateRole runs again (earlier answer: 500 INTERNAL SERVER ERROR)" in lines


def test_reads_and_calls_without_an_invocation_id_pass_straight_through() -> None:
    app = CountingApp()
    guard = RetryGuard(app, lambda line: None)
    _call(guard, _environ("inv-1", method="GET"))
    _call(guard, _environ("inv-1", attempt=2, method="GET"))
    _call(guard, _environ(None))
    _call(guard, _environ(None, attempt=2))
    assert app.calls == 4 and guard.replayed == 0


def test_a_retry_that_arrives_while_the_first_attempt_runs_waits_for_its_answer() -> None:
    release = threading.Event()
    app = CountingApp(hold=release)
    guard = RetryGuard(app, lambda line: None)
    results: list[tuple[str, bytes]] = []
    first = threading.Thread(target=lambda: results.append(_call(guard, _environ("inv-1"))))
    first.start()
    assert app.running.wait(10)  # the first attempt is inside the application now
    retried: list[tuple[str, bytes]] = []
    second = threading.Thread(target=lambda: retried.append(_call(guard, _environ("inv-1", attempt=2))))
    second.start()
    release.set()
    first.join(10)
    second.join(10)
    assert app.calls == 1
    assert retried == results == [("200 OK", b"call 1")]


def test_only_the_most_recent_calls_are_remembered() -> None:
    app = CountingApp()
    guard = RetryGuard(app, lambda line: None)
    for number in range(REMEMBERED_CALLS + 1):
        _call(guard, _environ(f"inv-{number}"))
    assert len(guard._calls) == REMEMBERED_CALLS
    _call(guard, _environ("inv-0", attempt=2))  # forgotten: runs again
    _call(guard, _environ(f"inv-{REMEMBERED_CALLS}", attempt=2))  # remembered: replayed
    assert app.calls == REMEMBERED_CALLS + 2 and guard.replayed == 1
