"""Sign in through the Kubeflow gateway as one directory user and check which team namespaces they reach.

The e2e workflow (.github/workflows/e2e-kind.yml) runs it against the kind cluster: the browser's
path through oauth2-proxy, Dex and Dex's LDAP password form, then the Pipelines API through the
gateway with the session cookie. Each namespace in --allowed must answer 200 and each in --denied
403; without a session the API must answer 401. One line per check; exit 0 when all hold, 1 when
one does not, 2 for bad arguments.

    python e2e/kind/login_check.py --url https://kubeflow.kind.test --user alice@corp.example \\
        --password-env E2E_ALICE_PASSWORD --allowed alpha --denied beta --ca-bundle gateway-ca.crt
"""

from __future__ import annotations

import argparse
import os
import sys
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import requests

COOKIE = "oauth2_proxy_kubeflow"  # oauth2-proxy's cookie_name in the kit's render
API = "/pipeline/apis/v2beta1/experiments"
TIMEOUT = 30


class LoginFailed(Exception):
    """The sign-in did not end with a session."""


class _Form(HTMLParser):
    """The first form with a password field: its action and method."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "get"
        self._current: tuple[str, str] | None = None
        self.found = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.found:
            self._current = (values.get("action", ""), values.get("method", "get").lower())
        elif tag == "input" and values.get("type") == "password" and self._current and not self.found:
            self.action, self.method = self._current
            self.found = True


def sign_in(session: requests.Session, url: str, user: str, password: str) -> None:
    """Open the dashboard, follow the redirects to Dex's password form, post it, end with a session."""
    page = session.get(url + "/", timeout=TIMEOUT)
    form = _Form()
    form.feed(page.text)
    if not form.found:
        raise LoginFailed(f"{page.url} (HTTP {page.status_code}) is not a password form; expected Dex's LDAP login")
    if form.method != "post":
        raise LoginFailed(f"{page.url}: the password form uses {form.method.upper()}, expected POST")
    credentials = {"login": user, "password": password}
    done = session.post(urljoin(page.url, form.action or page.url), data=credentials, timeout=TIMEOUT)
    again = _Form()
    again.feed(done.text)
    if again.found:
        raise LoginFailed(f"Dex showed the password form again for {user}: wrong username or password?")
    if COOKIE not in session.cookies:
        raise LoginFailed(f"no {COOKIE} cookie after signing in (ended at {done.url}, HTTP {done.status_code})")
    if urlsplit(done.url).netloc != urlsplit(url).netloc:
        raise LoginFailed(f"signing in ended at {done.url}, not on {url}")


def api_status(session: requests.Session, url: str, namespace: str) -> int:
    response = session.get(f"{url}{API}", params={"namespace": namespace}, allow_redirects=False, timeout=TIMEOUT)
    return response.status_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the gateway, https://<kubeflow hostname>")
    parser.add_argument("--user", required=True, help="the directory user (what they type on Dex's form)")
    parser.add_argument("--password-env", required=True, help="environment variable holding the password")
    parser.add_argument("--allowed", action="append", default=[], help="namespace that must answer 200")
    parser.add_argument("--denied", action="append", default=[], help="namespace that must answer 403")
    parser.add_argument("--ca-bundle", help="PEM to verify the gateway with (default: the system's)")
    args = parser.parse_args(argv)
    password = os.environ.get(args.password_env)
    if not password:
        print(f"error: --password-env: {args.password_env} is not set", file=sys.stderr)
        return 2
    if not args.allowed and not args.denied:
        print("error: give at least one --allowed or --denied namespace", file=sys.stderr)
        return 2
    url = args.url.rstrip("/")
    verify: str | bool = args.ca_bundle or True

    failures = 0
    anonymous = requests.Session()
    anonymous.verify = verify
    status = api_status(anonymous, url, (args.allowed or args.denied)[0])
    ok = status == 401
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} no session: the Pipelines API answers {status} (expected 401)")

    session = requests.Session()
    session.verify = verify
    try:
        sign_in(session, url, args.user, password)
    except LoginFailed as exc:
        print(f"FAIL sign-in as {args.user}: {exc}")
        return 1
    print(f"ok   sign-in as {args.user} through Dex's LDAP form")
    for namespace, expected in [*((n, 200) for n in args.allowed), *((n, 403) for n in args.denied)]:
        status = api_status(session, url, namespace)
        ok = status == expected
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {args.user} on namespace {namespace}: {status} (expected {expected})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
