"""A test double for GitHub's issue-comments REST API on one pull request (pytest-httpserver)."""

from __future__ import annotations

import json
import re


class _GitHubDouble:
    """What both doubles share: JSON answers and the token check, recording every request."""

    token: str
    requests: list[tuple[str, str]]

    def _json(self, data, status: int = 200):
        from werkzeug import Response

        return Response(json.dumps(data), status=status, content_type="application/json")

    def _authorised(self, request) -> bool:
        self.requests.append((request.method, request.path))
        return request.headers.get("Authorization") == f"Bearer {self.token}"


class GitHubIssueComments(_GitHubDouble):
    """A stand-in for GitHub's issue-comments API on one pull request, keeping its comments between
    calls (list, create, update), so a second run can be seen to edit instead of adding."""

    def __init__(self, httpserver, repo: str, number: int, token: str) -> None:
        self.comments: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.token = token
        base = f"/repos/{repo}/issues"
        httpserver.expect_request(f"{base}/{number}/comments", method="GET").respond_with_handler(self._list)
        httpserver.expect_request(f"{base}/{number}/comments", method="POST").respond_with_handler(self._create)
        httpserver.expect_request(re.compile(rf"{base}/comments/\d+"), method="PATCH").respond_with_handler(
            self._update
        )

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


class GitHubIssues(_GitHubDouble):
    """A stand-in for GitHub's issues API on one repository: list (state and label filters), create,
    and edit (body, title, state), keeping the issues between calls."""

    def __init__(self, httpserver, repo: str, token: str) -> None:
        self.issues: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.token = token
        base = f"/repos/{repo}/issues"
        httpserver.expect_request(base, method="GET").respond_with_handler(self._list)
        httpserver.expect_request(base, method="POST").respond_with_handler(self._create)
        httpserver.expect_request(re.compile(rf"{base}/\d+"), method="PATCH").respond_with_handler(self._update)

    def _list(self, request):
        if not self._authorised(request):
            return self._json({"message": "Bad credentials"}, 401)
        state = request.args.get("state", "open")
        label = request.args.get("labels")
        found = [
            i
            for i in self.issues
            if (state == "all" or i["state"] == state) and (label is None or label in [x["name"] for x in i["labels"]])
        ]
        return self._json(found)

    def _create(self, request):
        if not self._authorised(request):
            return self._json({"message": "Bad credentials"}, 401)
        payload = request.get_json()
        number = len(self.issues) + 1
        issue = {
            "id": 1000 + number,
            "number": number,
            "title": payload["title"],
            "body": payload.get("body") or "",
            "labels": [{"name": name} for name in payload.get("labels") or []],
            "state": "open",
            "html_url": f"https://github.test/issues/{number}",
        }
        self.issues.append(issue)
        return self._json(issue, 201)

    def _update(self, request):
        if not self._authorised(request):
            return self._json({"message": "Bad credentials"}, 401)
        issue = next(i for i in self.issues if i["number"] == int(request.path.rsplit("/", 1)[1]))
        payload = request.get_json()
        for key in ("title", "body", "state"):
            if key in payload:
                issue[key] = payload[key]
        return self._json(issue)
