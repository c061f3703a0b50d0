"""A test double for GitHub's issue-comments REST API on one pull request (pytest-httpserver)."""

from __future__ import annotations

import json
import re


class GitHubIssueComments:
    """A stand-in for GitHub's issue-comments API on one pull request, keeping its comments between
    calls (list, create, update), so a second run can be seen to edit instead of adding."""

    def __init__(self, httpserver, repo: str, number: int, token: str) -> None:
        from werkzeug import Response

        self.comments: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.token = token
        base = f"/repos/{repo}/issues"
        self._response = Response
        httpserver.expect_request(f"{base}/{number}/comments", method="GET").respond_with_handler(self._list)
        httpserver.expect_request(f"{base}/{number}/comments", method="POST").respond_with_handler(self._create)
        httpserver.expect_request(re.compile(rf"{base}/comments/\d+"), method="PATCH").respond_with_handler(
            self._update
        )

    def _json(self, data, status: int = 200):
        return self._response(json.dumps(data), status=status, content_type="application/json")

    def _authorised(self, request) -> bool:
        self.requests.append((request.method, request.path))
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def _list(self, request):
        if not self._authorised(request):
            return self._json({"message": "Bad credentials"}, 401)
        return self._json(self.comments)

    def _create(self, request):
        if not self._authorised(request):
            return self._json({"message": "Bad credentials"}, 401)
        number = len(self.comments) + 1
        comment = {"id": number, "body": request.get_json()["body"], "html_url": f"https://github.test/c/{number}"}
        self.comments.append(comment)
        return self._json(comment, 201)

    def _update(self, request):
        if not self._authorised(request):
            return self._json({"message": "Bad credentials"}, 401)
        comment = next(c for c in self.comments if c["id"] == int(request.path.rsplit("/", 1)[1]))
        comment["body"] = request.get_json()["body"]
        return self._json(comment)
