"""A test double for the Kubeflow gateway's sign-in path, spoken to by e2e/kind/login_check.py.

No Istio, oauth2-proxy or Dex can run where the kit's tests run, so this double plays the part of
the gateway as a browser meets it, with the redirects and forms of the real pieces:

* oauth2-proxy: a browser path without a session redirects to ``/oauth2/start?rd=<path>``, which
  redirects to Dex's ``/dex/auth`` with the client, the callback and a state; ``/oauth2/callback``
  sets the session cookie and redirects to ``rd``; an API path (``/pipeline/apis/``) without a
  session answers 401, as the kit's ``api_routes`` make it;
* Dex with one LDAP connector: ``/dex/auth`` redirects to the connector's password form (Dex skips
  the chooser when there is one connector); the form posts ``login`` and ``password`` to
  ``/dex/auth/<id>/login``; wrong credentials show the form again, right ones redirect through
  ``/dex/approval`` (approval screen skipped) to the callback with a code;
* the Pipelines API behind the gateway: listing experiments in a namespace answers 200 when one of
  the user's directory groups is bound to it and 403 otherwise.

What it does NOT emulate: tokens (the session cookie is an opaque key), TLS, PKCE, logout, Dex's
connector chooser, expiry, and anything of Kubeflow beyond that one API call.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

from werkzeug import Request, Response

COOKIE = "oauth2_proxy_kubeflow"


@dataclass
class LoginGatewayDouble:
    """users: login -> (password, groups); namespaces: namespace -> groups bound to it."""

    users: dict[str, tuple[str, list[str]]]
    namespaces: dict[str, list[str]]
    connector: str = "e2e-ldap"
    sessions: dict[str, str] = field(default_factory=dict)  # cookie -> login
    _requests: dict[str, str] = field(default_factory=dict)  # Dex auth request -> oauth2-proxy state
    _codes: dict[str, str] = field(default_factory=dict)  # code -> login
    _approved: dict[str, str] = field(default_factory=dict)  # Dex auth request -> code
    _states: dict[str, str] = field(default_factory=dict)  # oauth2-proxy state -> rd
    calls: list[tuple[str, str, int]] = field(default_factory=list)

    def install(self, httpserver) -> str:
        httpserver.expect_request(re.compile(".*")).respond_with_handler(self._handle)
        return httpserver.url_for("").rstrip("/")

    def _handle(self, request: Request) -> Response:
        response = self._route(request)
        self.calls.append((request.method, request.path, response.status_code))
        return response

    def _route(self, request: Request) -> Response:
        path = request.path
        user = self.sessions.get(request.cookies.get(COOKIE, ""))
        if path == "/oauth2/start":
            state = secrets.token_hex(8)
            self._states[state] = request.args.get("rd", "/")
            query = {"client_id": "kubeflow-oidc-authservice", "redirect_uri": "/oauth2/callback", "state": state}
            return _redirect("/dex/auth?" + urlencode(query))
        if path == "/oauth2/callback":
            login = self._codes.pop(request.args.get("code", ""), None)
            rd = self._states.pop(request.args.get("state", ""), None)
            if login is None or rd is None:
                return Response("invalid code or state", status=403)
            cookie = secrets.token_hex(16)
            self.sessions[cookie] = login
            response = _redirect(rd)
            response.set_cookie(COOKIE, cookie, httponly=True)
            return response
        if path == "/dex/auth":
            req = secrets.token_hex(8)
            self._requests[req] = request.args.get("state", "")
            return _redirect(f"/dex/auth/{self.connector}?req={req}")
        if path == f"/dex/auth/{self.connector}":
            return self._form(request.args.get("req", ""))
        if path == f"/dex/auth/{self.connector}/login" and request.method == "POST":
            req = request.args.get("state", "")
            login, password = request.form.get("login", ""), request.form.get("password", "")
            known = self.users.get(login)
            if req not in self._requests or known is None or known[0] != password:
                return self._form(req, error="Invalid Email Address and password.")
            code = secrets.token_hex(8)
            self._codes[code] = login
            self._approved[req] = code
            return _redirect(f"/dex/approval?req={req}&hmac=x", status=303)
        if path == "/dex/approval":
            req = request.args.get("req", "")
            state, code = self._requests.pop(req, None), self._approved.pop(req, None)
            if state is None or code is None:
                return Response("unknown request", status=400)
            return _redirect("/oauth2/callback?" + urlencode({"code": code, "state": state}), status=303)
        if path.startswith("/pipeline/apis/"):
            if user is None:
                return Response("Unauthorized", status=401)
            namespace = request.args.get("namespace", "")
            groups = set(self.users[user][1])
            if groups & set(self.namespaces.get(namespace, [])):
                return _json({})
            message = f"PermissionDenied: User '{user}' is not authorized (namespace {namespace})"
            return _json({"code": 7, "message": message, "details": []}, status=403)
        if user is None:
            return _redirect("/oauth2/start?" + urlencode({"rd": path}))
        return Response("<html><title>Kubeflow Central Dashboard</title></html>", content_type="text/html")

    def _form(self, req: str, error: str = "") -> Response:
        action = html.escape(f"/dex/auth/{self.connector}/login?back=&state={req}")
        body = (
            "<html><body>"
            + (f'<div id="login-error" class="dex-error-box">{error}</div>' if error else "")
            + f'<form method="post" action="{action}">'
            + '<input id="login" name="login" type="text" placeholder="Email or username">'
            + '<input id="password" name="password" type="password">'
            + '<button type="submit" id="submit-login">Login</button></form></body></html>'
        )
        return Response(body, content_type="text/html")


def _redirect(location: str, status: int = 302) -> Response:
    return Response("", status=status, headers={"Location": location})


def _json(data: dict, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")
