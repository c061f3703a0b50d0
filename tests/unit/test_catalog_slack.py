"""The exit handler's Slack notification: the message it builds, and its delivery through real
``requests`` to a local stand-in for Slack's incoming webhook (retries, refusals, outages), with
the webhook URL, a credential, kept out of every reason, exception and log line."""

from __future__ import annotations

import json
import logging
import socket
import traceback

import pytest
from kfp import dsl
from pytest_httpserver import HTTPServer

from platform_kit.catalog.runtime import slack
from platform_kit.errors import OperationFailed

# Shaped like a real webhook: the path is the secret.
SECRET = "s3cr3tW3bh00kT0k3nXYZ"
WEBHOOK_PATH = f"/services/T0PLATFORM/B0CATALOG/{SECRET}"
RUN_URL = "https://kubeflow.example.com/pipeline/#/runs/details/4f1c"


@pytest.fixture()
def slack_double(httpserver: HTTPServer):
    """A local HTTP server standing in for Slack's webhook endpoint; every request must match."""
    yield httpserver
    httpserver.check_assertions()


@pytest.fixture()
def webhook(slack_double: HTTPServer) -> str:
    return slack_double.url_for(WEBHOOK_PATH)


def _assert_secret_absent(*texts: object) -> None:
    for text in texts:
        assert SECRET not in str(text), text


def _client_log(caplog: pytest.LogCaptureFixture) -> str:
    """What our side logged: the double's own access log (werkzeug) is Slack's side of the wire."""
    return "\n".join(record.getMessage() for record in caplog.records if not record.name.startswith("werkzeug"))


def _message() -> dict:
    return slack.build_message("train-model", "FAILED", failed_task="exit-handler-1", error_message="OOMKilled")


# --- the message ---------------------------------------------------------------------------------


def test_a_success_is_a_header_and_facts_without_an_error_section() -> None:
    message = slack.build_message("train-model", "SUCCEEDED", run_url=RUN_URL, team="perception", env="dev")

    assert message["text"] == ":white_check_mark: train-model SUCCEEDED (perception/dev)"
    assert [block["type"] for block in message["blocks"]] == ["header", "section"]
    assert message["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": ":white_check_mark: train-model SUCCEEDED",
        "emoji": True,
    }
    fields = [field["text"] for field in message["blocks"][1]["fields"]]
    assert fields == [
        "*State*\nSUCCEEDED",
        "*Team*\nperception",
        "*Environment*\ndev",
        f"*Run*\n<{RUN_URL}|open in Kubeflow>",
    ]
    assert "Error" not in json.dumps(message)


def test_a_failure_names_the_task_and_cuts_a_long_error() -> None:
    error = "Traceback (most recent call last):\n" + "x" * 5000
    message = slack.build_message("train-model", "failed", failed_task="exit-handler-1", error_message=error)

    assert message["text"] == ":x: train-model FAILED: task exit-handler-1"
    fields = [field["text"] for field in message["blocks"][1]["fields"]]
    assert "*Failed task*\n`exit-handler-1`" in fields
    error_text = message["blocks"][2]["text"]["text"]
    assert error_text.startswith("*Error*\n```Traceback (most recent call last):")
    assert error_text.endswith("…```")
    assert len(error_text) <= len("*Error*\n``````") + slack.ERROR_LIMIT


def test_the_message_reads_kfps_final_status() -> None:
    status = dsl.PipelineTaskFinalStatus(
        state="FAILED",
        pipeline_job_resource_name="train-model-run-42",
        pipeline_task_name="exit-handler-1",
        error_code=9,
        error_message="pod train-7f2 was OOMKilled",
    )
    message = slack.message_for_status(status, pipeline="train-model", run_url=RUN_URL, team="perception")

    fields = [field["text"] for field in message["blocks"][1]["fields"]]
    assert f"*Run*\n<{RUN_URL}|train-model-run-42>" in fields
    assert "*Failed task*\n`exit-handler-1`" in fields
    assert "pod train-7f2 was OOMKilled" in message["blocks"][2]["text"]["text"]


def test_a_failure_without_a_message_says_where_to_look() -> None:
    # The open-source backend can report FAILED with an empty error.
    message = slack.build_message("train-model", "FAILED", error_message="")
    assert "KFP reported no error message" in message["blocks"][2]["text"]["text"]


@pytest.mark.parametrize(
    ("state", "emoji"),
    [
        ("CANCELED", ":no_entry_sign:"),
        ("CANCELLED", ":no_entry_sign:"),
        ("COMPLETE", ":white_check_mark:"),
        ("PAUSED", ":grey_question:"),
    ],
)
def test_other_states_get_their_emoji_and_no_error_section(state: str, emoji: str) -> None:
    message = slack.build_message("train-model", state, error_message="ignored unless failed")
    assert message["text"].startswith(f"{emoji} train-model {state}")
    assert len(message["blocks"]) == 2


def test_user_text_is_escaped_for_mrkdwn_and_cannot_close_the_code_block() -> None:
    message = slack.build_message(
        "train-model", "FAILED", team="r&d", error_message="expected <3 rows & got ```sql``` > 5"
    )
    assert message["text"] == ":x: train-model FAILED (r&amp;d)"
    fields = [field["text"] for field in message["blocks"][1]["fields"]]
    assert "*Team*\nr&amp;d" in fields
    error_text = message["blocks"][2]["text"]["text"]
    assert error_text == "*Error*\n```expected &lt;3 rows &amp; got '''sql''' &gt; 5```"


def test_the_header_fits_slacks_limit() -> None:
    message = slack.build_message("p" * 400, "SUCCEEDED")
    header = message["blocks"][0]["text"]["text"]
    assert len(header) == slack.HEADER_LIMIT and header.endswith("…")


# --- delivery ------------------------------------------------------------------------------------


def test_the_payload_is_posted_as_json(slack_double: HTTPServer, webhook: str) -> None:
    message = _message()
    slack_double.expect_request(
        WEBHOOK_PATH, method="POST", json=message, headers={"Content-Type": "application/json"}
    ).respond_with_data("ok")

    delivery = slack.notify(webhook, message, sleep=pytest.fail)

    assert delivery == slack.Delivery(delivered=True, attempts=1, status=200, reason="delivered")
    assert len(slack_double.log) == 1


def test_the_given_session_is_the_one_used(slack_double: HTTPServer, webhook: str) -> None:
    import requests

    session = requests.Session()
    session.headers["X-Run"] = "train-model-run-42"
    slack_double.expect_request(WEBHOOK_PATH, headers={"X-Run": "train-model-run-42"}).respond_with_data("ok")

    assert slack.notify(webhook, _message(), session=session).delivered


def test_a_429_waits_as_long_as_retry_after_says(slack_double: HTTPServer, webhook: str) -> None:
    slack_double.expect_ordered_request(WEBHOOK_PATH).respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "7"}
    )
    slack_double.expect_ordered_request(WEBHOOK_PATH).respond_with_data("ok")
    waits: list[float] = []

    delivery = slack.notify(webhook, _message(), sleep=waits.append)

    assert waits == [7.0]
    assert delivery.delivered and delivery.attempts == 2 and delivery.reason == "delivered after 2 attempts"


def test_a_long_retry_after_is_capped(slack_double: HTTPServer, webhook: str) -> None:
    slack_double.expect_ordered_request(WEBHOOK_PATH).respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "3600"}
    )
    slack_double.expect_ordered_request(WEBHOOK_PATH).respond_with_data("ok")
    waits: list[float] = []

    assert slack.notify(webhook, _message(), sleep=waits.append, max_wait=30.0).delivered
    assert waits == [30.0]


def test_server_errors_back_off_exponentially(slack_double: HTTPServer, webhook: str) -> None:
    slack_double.expect_ordered_request(WEBHOOK_PATH).respond_with_data("", status=500)
    slack_double.expect_ordered_request(WEBHOOK_PATH).respond_with_data("", status=503)
    slack_double.expect_ordered_request(WEBHOOK_PATH).respond_with_data("ok")
    waits: list[float] = []

    delivery = slack.notify(webhook, _message(), sleep=waits.append)

    assert waits == [1.0, 2.0]
    assert delivery.delivered and delivery.attempts == 3


def test_an_outage_gives_up_after_n_attempts_without_failing_the_run(
    slack_double: HTTPServer, webhook: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    slack_double.expect_request(WEBHOOK_PATH).respond_with_data("upstream_error", status=503)
    waits: list[float] = []

    delivery = slack.notify(webhook, _message(), attempts=4, sleep=waits.append)

    assert not delivery.delivered
    assert (delivery.attempts, delivery.status) == (4, 503)
    assert delivery.reason == "Slack answered 503 (upstream_error); gave up after 4 attempts"
    assert waits == [1.0, 2.0, 4.0]
    assert len(slack_double.log) == 4
    assert "Slack notification not delivered" in caplog.text
    _assert_secret_absent(delivery, repr(delivery), _client_log(caplog))


@pytest.mark.parametrize(
    ("status", "body"),
    [(400, "invalid_payload"), (403, "action_prohibited"), (404, "no_service"), (410, "channel_is_archived")],
)
def test_a_refusal_is_not_retried_and_keeps_slacks_word(
    slack_double: HTTPServer, webhook: str, status: int, body: str
) -> None:
    slack_double.expect_request(WEBHOOK_PATH).respond_with_data(body, status=status)

    delivery = slack.notify(webhook, _message(), sleep=pytest.fail)

    assert delivery == slack.Delivery(False, 1, status, f"Slack refused the message ({status} {body})")
    assert len(slack_double.log) == 1


def test_fail_on_error_raises_one_line_without_the_url(slack_double: HTTPServer, webhook: str) -> None:
    slack_double.expect_request(WEBHOOK_PATH).respond_with_data("no_service", status=404)

    with pytest.raises(OperationFailed) as raised:
        slack.notify(webhook, _message(), fail_on_error=True)

    error = raised.value
    assert str(error) == "Slack notification not delivered: Slack refused the message (404 no_service)"
    assert error.hint is not None and "create a new incoming webhook" in error.hint
    assert error.__cause__ is None and error.__context__ is None
    _assert_secret_absent(str(error), error.hint, repr(error), "".join(traceback.format_exception(error)))


def test_fail_on_error_also_covers_an_outage(slack_double: HTTPServer, webhook: str) -> None:
    slack_double.expect_request(WEBHOOK_PATH).respond_with_data("", status=502)

    with pytest.raises(OperationFailed, match=r"Slack answered 502 .*gave up after 2 attempts"):
        slack.notify(webhook, _message(), attempts=2, sleep=lambda _: None, fail_on_error=True)
    assert len(slack_double.log) == 2


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_slack_is_retried_and_never_named(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{_closed_port()}{WEBHOOK_PATH}"
    waits: list[float] = []

    delivery = slack.notify(url, _message(), attempts=3, sleep=waits.append)

    assert delivery == slack.Delivery(
        False, 3, None, "could not reach Slack (ConnectionError); gave up after 3 attempts"
    )
    assert waits == [1.0, 2.0]
    with pytest.raises(OperationFailed) as raised:
        slack.notify(url, _message(), attempts=2, sleep=waits.append, fail_on_error=True)
    assert raised.value.__context__ is None
    assert "could not reach Slack" in caplog.text
    _assert_secret_absent(_client_log(caplog), "".join(traceback.format_exception(raised.value)))


def test_urllib3s_debug_lines_show_the_path_redacted(
    slack_double: HTTPServer, webhook: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The kubernetes client pins the "urllib3" logger at WARNING when it configures itself (another
    # test in this process may have done so); open it again for this test.
    caplog.set_level(logging.DEBUG, logger="urllib3")
    slack_double.expect_request(WEBHOOK_PATH).respond_with_data("ok")
    pool_logger = logging.getLogger("urllib3.connectionpool")
    filters_before = list(pool_logger.filters)

    assert slack.notify(webhook, _message()).delivered

    client_log = _client_log(caplog)
    assert '"POST <redacted> HTTP/1.1" 200' in client_log  # urllib3 did log the request line
    _assert_secret_absent(client_log)
    assert pool_logger.filters == filters_before


def test_a_url_that_is_not_http_is_reported_without_echoing_it() -> None:
    delivery = slack.notify(f"hooks.slack.example{WEBHOOK_PATH}", _message(), sleep=pytest.fail)
    assert delivery == slack.Delivery(False, 0, None, "the webhook URL is not an http(s) URL")
