"""The PR comment component: the body it renders, and how it keeps one comment per pipeline and
team current through real ``requests`` calls to a local stand-in for GitHub's REST API, including
GitHub's refusals, each reported in one line that never holds the token."""

from __future__ import annotations

import logging

import pytest
from pytest_httpserver import HTTPServer

from platform_kit.catalog.runtime import github
from platform_kit.errors import BadInput, OperationFailed

REPO = "acme/models"
PR = 7
TOKEN = "ghs_T0kenForTheDoubleOnly0123456789abcd"
# A GitHub Enterprise-style base, so the tests also show api_url is honoured as a prefix.
API_PREFIX = "/api/v3"
COMMENTS = f"{API_PREFIX}/repos/{REPO}/issues/{PR}/comments"
KEY = "perception/train-model"
MARKER = github.comment_marker(KEY)
HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
    "Authorization": f"Bearer {TOKEN}",
}
RESET = 1_893_456_000  # 2030-01-01 00:00:00 UTC


@pytest.fixture()
def github_double(httpserver: HTTPServer):
    """A local HTTP server standing in for GitHub's REST API; every request must match."""
    yield httpserver
    httpserver.check_assertions()


def _body(accuracy: float = 0.9123) -> str:
    return github.render_comment(
        key=KEY,
        pipeline="train-model",
        state="SUCCEEDED",
        summary="Evaluation on the holdout set.",
        metrics={"accuracy": accuracy, "examples": 120_000},
        run_url="https://kubeflow.example.com/pipeline/#/runs/details/4f1c",
        team="perception",
        env="dev",
    )


def _upsert(double: HTTPServer, body: str, *, waits: list[float] | None = None, **kwargs) -> github.Comment:
    sleep = waits.append if waits is not None else pytest.fail
    return github.upsert_comment(
        REPO, PR, body, TOKEN, marker=MARKER, api_url=double.url_for(API_PREFIX), sleep=sleep, **kwargs
    )


def _comment(comment_id: int, body: str) -> dict:
    return {"id": comment_id, "body": body, "html_url": f"https://github.example/{REPO}/pull/{PR}#c{comment_id}"}


def _methods(double: HTTPServer) -> list[str]:
    return [request.method for request, _ in double.log]


def _assert_one_line_without_token(error: OperationFailed) -> None:
    assert "\n" not in str(error)
    for text in (str(error), error.hint or "", repr(error)):
        assert TOKEN not in text


# --- rendering ----------------------------------------------------------------------------------


def test_the_body_opens_with_the_marker_then_title_summary_table_and_link() -> None:
    assert _body().splitlines() == [
        "<!-- platform-kit:perception/train-model -->",
        "### ✅ train-model SUCCEEDED",
        "team `perception` · environment `dev`",
        "",
        "Evaluation on the holdout set.",
        "",
        "| Metric | Value |",
        "| --- | ---: |",
        "| accuracy | 0.9123 |",
        "| examples | 120,000 |",
        "",
        "[Open the run in Kubeflow Pipelines](https://kubeflow.example.com/pipeline/#/runs/details/4f1c)",
    ]


def test_a_failure_gets_its_emoji_and_no_table_without_metrics() -> None:
    body = github.render_comment(key="train-model", pipeline="train-model", state="failed")
    assert body.splitlines() == ["<!-- platform-kit:train-model -->", "### ❌ train-model FAILED"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.912345, "0.9123"),
        (12.5, "12.5"),
        (3.0, "3"),
        (1234.5678, "1,234.6"),
        (2.5e7, "2.5e+07"),
        (0.0000123, "1.23e-05"),
        (0.0, "0"),
        (1_234_567, "1,234,567"),
        (True, "yes"),
        (None, "—"),
        (float("nan"), "NaN"),
        (float("-inf"), "-∞"),
        ("resnet-50", "resnet-50"),
    ],
)
def test_metric_values_are_formatted_for_reading(value: object, shown: str) -> None:
    assert github.format_value(value) == shown


def test_table_cells_cannot_break_the_table() -> None:
    body = github.render_comment(key="k", pipeline="p", state="SUCCEEDED", metrics={"a|b\nc": "x|y"})
    assert "| a\\|b c | x\\|y |" in body.splitlines()


def test_each_key_has_its_own_marker() -> None:
    assert github.comment_key("train-model", team="perception") == KEY
    # A key that is a prefix of another does not find the other's comment.
    assert github.comment_marker("perception/train") not in _body()


@pytest.mark.parametrize("key", ["two words", "a--b", "x>y", ""])
def test_a_key_that_would_break_the_html_comment_is_refused(key: str) -> None:
    with pytest.raises(BadInput, match="cannot go in an HTML comment"):
        github.comment_marker(key)


# --- create, update, leave alone ------------------------------------------------------------------


def test_with_no_marked_comment_one_is_created(github_double: HTTPServer) -> None:
    body = _body()
    github_double.expect_ordered_request(
        COMMENTS, method="GET", query_string={"per_page": "100"}, headers=HEADERS
    ).respond_with_json([_comment(1, "LGTM"), _comment(2, "<!-- platform-kit:perception/other -->\nold")])
    github_double.expect_ordered_request(
        COMMENTS, method="POST", json={"body": body}, headers=HEADERS
    ).respond_with_json(_comment(99, body), status=201)

    comment = _upsert(github_double, body)

    assert comment == github.Comment(99, f"https://github.example/{REPO}/pull/{PR}#c99", "created")
    assert _methods(github_double) == ["GET", "POST"]


def test_the_marked_comment_on_page_two_is_updated_not_duplicated(github_double: HTTPServer) -> None:
    page_two = github_double.url_for(COMMENTS) + "?per_page=100&page=2"
    first_page = [_comment(n, f"comment {n}") for n in range(1, 101)]
    github_double.expect_request(COMMENTS, method="GET", query_string={"per_page": "100"}).respond_with_json(
        first_page, headers={"Link": f'<{page_two}>; rel="next", <{page_two}>; rel="last"'}
    )
    github_double.expect_request(
        COMMENTS, method="GET", query_string={"per_page": "100", "page": "2"}, headers=HEADERS
    ).respond_with_json([_comment(101, "later"), _comment(555, _body(accuracy=0.8)), _comment(556, _body())])
    body = _body()
    github_double.expect_request(
        f"{API_PREFIX}/repos/{REPO}/issues/comments/555", method="PATCH", json={"body": body}, headers=HEADERS
    ).respond_with_json(_comment(555, body))

    comment = _upsert(github_double, body)

    assert comment.id == 555 and comment.action == "updated"
    assert _methods(github_double) == ["GET", "GET", "PATCH"]


def test_an_unchanged_body_sends_nothing(github_double: HTTPServer) -> None:
    stored = _body().replace("\n", "\r\n")  # as GitHub may hand it back
    github_double.expect_request(COMMENTS, method="GET").respond_with_json([_comment(555, stored)])

    comment = _upsert(github_double, _body())

    assert comment.action == "unchanged" and comment.id == 555
    assert _methods(github_double) == ["GET"]


def test_listing_stops_at_the_page_with_the_marker(github_double: HTTPServer) -> None:
    page_two = github_double.url_for(COMMENTS) + "?per_page=100&page=2"
    github_double.expect_request(COMMENTS, method="GET").respond_with_json(
        [_comment(555, _body())], headers={"Link": f'<{page_two}>; rel="next"'}
    )

    assert _upsert(github_double, _body()).action == "unchanged"
    assert len(github_double.log) == 1


def test_a_next_link_to_another_host_is_not_followed(github_double: HTTPServer) -> None:
    github_double.expect_request(COMMENTS, method="GET").respond_with_json(
        [], headers={"Link": '<https://collector.example/steal?page=2>; rel="next"'}
    )

    with pytest.raises(OperationFailed, match="GitHub sent a link outside"):
        _upsert(github_double, _body())
    assert len(github_double.log) == 1


# --- GitHub's refusals: one line each, never retried -------------------------------------------


def test_a_bad_token_is_named_as_such(github_double: HTTPServer) -> None:
    github_double.expect_request(COMMENTS).respond_with_json({"message": "Bad credentials"}, status=401)

    with pytest.raises(OperationFailed) as raised:
        _upsert(github_double, _body())

    assert str(raised.value) == f"GitHub rejected the token while listing comments on {REPO}#{PR} (401 Bad credentials)"
    assert "expired or revoked" in (raised.value.hint or "")
    _assert_one_line_without_token(raised.value)
    assert len(github_double.log) == 1


def test_a_token_without_write_permission_says_which_permission(github_double: HTTPServer) -> None:
    github_double.expect_request(COMMENTS, method="GET").respond_with_json([])
    github_double.expect_request(COMMENTS, method="POST").respond_with_json(
        {"message": "Resource not accessible by integration"}, status=403, headers={"X-RateLimit-Remaining": "4999"}
    )

    with pytest.raises(OperationFailed) as raised:
        _upsert(github_double, _body())

    assert str(raised.value) == (
        f"GitHub refused commenting on {REPO}#{PR} (403 Resource not accessible by integration): "
        f"the token may not write comments on {REPO}"
    )
    assert "pull_requests: write" in (raised.value.hint or "")
    _assert_one_line_without_token(raised.value)


def test_a_used_up_rate_limit_says_when_it_resets(github_double: HTTPServer) -> None:
    github_double.expect_request(COMMENTS).respond_with_json(
        {"message": "API rate limit exceeded for installation ID 1."},
        status=403,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(RESET)},
    )

    with pytest.raises(OperationFailed) as raised:
        _upsert(github_double, _body(), now=lambda: RESET - 600)

    assert str(raised.value) == (
        f"GitHub's API rate limit for this token is used up while listing comments on {REPO}#{PR}; "
        "it resets at 2030-01-01 00:00:00 UTC (in 10 min)"
    )
    _assert_one_line_without_token(raised.value)
    assert len(github_double.log) == 1  # an hour's wait is not retried


def test_an_unknown_repository_or_pr_or_an_invisible_one(github_double: HTTPServer) -> None:
    github_double.expect_request(COMMENTS).respond_with_json({"message": "Not Found"}, status=404)

    with pytest.raises(OperationFailed) as raised:
        _upsert(github_double, _body())

    assert str(raised.value) == (
        f"GitHub found no {REPO}#{PR} while listing comments on {REPO}#{PR} (404): the repository or pull "
        "request does not exist, or the token cannot see the repository"
    )
    _assert_one_line_without_token(raised.value)


def test_a_rejected_body_quotes_githubs_validation_message(github_double: HTTPServer) -> None:
    github_double.expect_request(COMMENTS, method="GET").respond_with_json([])
    github_double.expect_request(COMMENTS, method="POST").respond_with_json(
        {
            "message": "Validation Failed",
            "errors": [
                {
                    "resource": "IssueComment",
                    "code": "custom",
                    "field": "body",
                    "message": "body is too long (maximum is 65536 characters)",
                }
            ],
            "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
        },
        status=422,
    )

    with pytest.raises(OperationFailed) as raised:
        _upsert(github_double, _body())

    assert str(raised.value) == (
        f"GitHub rejected the request while commenting on {REPO}#{PR} "
        "(422 Validation Failed: body is too long (maximum is 65536 characters))"
    )
    _assert_one_line_without_token(raised.value)


# --- retries -------------------------------------------------------------------------------------


def test_server_errors_are_retried_with_backoff(github_double: HTTPServer) -> None:
    github_double.expect_ordered_request(COMMENTS).respond_with_data("", status=502)
    github_double.expect_ordered_request(COMMENTS).respond_with_data("", status=503)
    github_double.expect_ordered_request(COMMENTS).respond_with_json([_comment(555, _body())])
    waits: list[float] = []

    assert _upsert(github_double, _body(), waits=waits).action == "unchanged"
    assert waits == [1.0, 2.0]


def test_a_lasting_outage_gives_up_after_the_attempts(github_double: HTTPServer) -> None:
    github_double.expect_request(COMMENTS).respond_with_data("", status=503)
    waits: list[float] = []

    with pytest.raises(OperationFailed) as raised:
        _upsert(github_double, _body(), waits=waits, attempts=3)

    assert str(raised.value) == f"GitHub answered 503 while listing comments on {REPO}#{PR}, after 3 attempts"
    assert waits == [1.0, 2.0]
    assert len(github_double.log) == 3


@pytest.mark.parametrize(("status", "retry_after", "waited"), [(403, "30", 30.0), (429, "120", 60.0)])
def test_a_secondary_rate_limit_waits_for_retry_after(
    github_double: HTTPServer, status: int, retry_after: str, waited: float
) -> None:
    github_double.expect_ordered_request(COMMENTS, method="GET").respond_with_json([])
    github_double.expect_ordered_request(COMMENTS, method="POST").respond_with_json(
        {"message": "You have exceeded a secondary rate limit."},
        status=status,
        headers={"Retry-After": retry_after, "X-RateLimit-Remaining": "4000"},
    )
    github_double.expect_ordered_request(COMMENTS, method="POST").respond_with_json(_comment(99, _body()), status=201)
    waits: list[float] = []

    assert _upsert(github_double, _body(), waits=waits).action == "created"
    assert waits == [waited]


def test_a_secondary_rate_limit_without_retry_after_waits_the_longest_allowed(github_double: HTTPServer) -> None:
    github_double.expect_ordered_request(COMMENTS).respond_with_json(
        {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."},
        status=403,
    )
    github_double.expect_ordered_request(COMMENTS).respond_with_json([])
    github_double.expect_ordered_request(COMMENTS, method="POST").respond_with_json(_comment(99, _body()), status=201)
    waits: list[float] = []

    _upsert(github_double, _body(), waits=waits, max_wait=5.0)
    assert waits == [5.0]


def test_the_token_stays_out_of_the_log(github_double: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    github_double.expect_ordered_request(COMMENTS, method="GET").respond_with_data("", status=500)
    github_double.expect_ordered_request(COMMENTS, method="GET").respond_with_json([])
    github_double.expect_ordered_request(COMMENTS, method="POST").respond_with_json(_comment(9, _body()), status=201)
    github_double.expect_ordered_request(COMMENTS, method="GET").respond_with_json([_comment(9, _body())])
    github_double.expect_ordered_request(
        f"{API_PREFIX}/repos/{REPO}/issues/comments/9", method="PATCH"
    ).respond_with_json(_comment(9, _body(0.95)))

    assert _upsert(github_double, _body(), waits=[]).action == "created"
    assert _upsert(github_double, _body(0.95)).action == "updated"

    assert "retrying" in caplog.text and "Created comment 9" in caplog.text and "Updated comment 9" in caplog.text
    assert TOKEN not in caplog.text


# --- inputs refused before any call ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("repo", "pr", "body", "token", "message"),
    [
        ("acme", PR, MARKER, TOKEN, "not of the form owner/name"),
        (REPO, 0, MARKER, TOKEN, "not a positive number"),
        (REPO, PR, MARKER, "", "no GitHub token"),
        (REPO, PR, "no marker here", TOKEN, "does not contain its marker"),
    ],
)
def test_bad_arguments_are_refused_before_any_call(repo: str, pr: int, body: str, token: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        github.upsert_comment(repo, pr, body, token, marker=MARKER, api_url="http://127.0.0.1:9")


def test_the_failure_summary_names_the_failed_group_on_one_line() -> None:
    assert github.failure_summary("checks", "step s3-probe failed:\n  NoSuchBucket") == (
        "Failed in `checks`: step s3-probe failed: NoSuchBucket"
    )
    assert github.failure_summary(None, "boom") == "Failed: boom"
    assert github.failure_summary("checks", "  ") is None
    assert len(github.failure_summary("checks", "x" * 5000) or "") < 400
