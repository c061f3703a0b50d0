"""The Kubeflow Pipelines API as the kit reaches it: where, with which token, and how calls fail.

Shared by ``platform smoke deploy`` (``smoke_deploy``) and ``platform usage`` (``usage``):

* where: ``--kfp-url``, else ``https://<the env's Kubeflow hostname>/pipeline``, the path the
  gateway serves the API under;
* with what: the bearer token in ``KFP_TOKEN`` (a ServiceAccount token of the cluster, which the
  gateway's machine-to-machine RequestAuthentication accepts) and, for a private CA, a PEM bundle;
* how calls fail: ``Caller`` runs one client call, retries 429 and 5xx a bounded number of times
  with growing pauses, and turns any other failure into one ``KfpCallFailed`` line that names the
  call, with a hint for 401, 403 and 404 and for a gateway that does not answer.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from platform_kit.errors import BadInput, OperationFailed

TOKEN_ENV = "KFP_TOKEN"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 5
MAX_DELAY = 8.0

T = TypeVar("T")


def default_url(env_cfg: Any) -> str:
    """Where the environment's gateway serves the Pipelines API."""
    return f"https://{env_cfg.kubeflow.hostname}/pipeline"


def check_url(url: str) -> str:
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", url or ""):
        raise BadInput(
            f"--kfp-url {url!r}: not an http(s) URL", hint="for example https://kubeflow.corp.example/pipeline"
        )
    return url.rstrip("/")


def token_from(environ: dict[str, str]) -> str:
    token = (environ.get(TOKEN_ENV) or "").strip()
    if not token:
        raise BadInput(
            f"{TOKEN_ENV} is not set: set it to a bearer token the Kubeflow gateway accepts "
            "(a ServiceAccount token of this cluster, e.g. from `kubectl create token`)",
            hint="see runbooks/smoke-deploy.md for how to get one",
        )
    return token


def endpoint(env_cfg: Any, kfp_url: str | None, ca_bundle: Path | None, environ: dict[str, str]) -> tuple[str, str]:
    """The API URL and token for a command's ``--kfp-url``, ``--ca-bundle`` and environment;
    BadInput (before any call) for a bad URL, a missing CA file or no ``KFP_TOKEN``."""
    url = check_url(kfp_url) if kfp_url else default_url(env_cfg)
    if ca_bundle is not None and not ca_bundle.is_file():
        raise BadInput(f"--ca-bundle {ca_bundle}: no such file")
    return url, token_from(environ)


def connect(url: str, token: str, *, namespace: str, ca_bundle: Path | None = None) -> Any:
    """A ``kfp.Client`` for ``url`` with ``token``; ``ca_bundle`` verifies the gateway's certificate.

    ``namespace`` is set so the client skips its healthz probe at construction, which a refused
    token turns into five attempts five seconds apart; every call here names its namespace anyway."""
    import warnings

    import kfp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "only works with KFP v2.0.0-beta.2 and later"
        return kfp.Client(
            host=url, existing_token=token, namespace=namespace, ssl_ca_cert=str(ca_bundle) if ca_bundle else None
        )


class KfpCallFailed(OperationFailed):
    """A KFP API call that failed for good; ``status`` is its HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


def reason(exc: Any) -> str:
    try:
        body = json.loads(exc.body or "{}")
        message = body.get("message") or body.get("error") or exc.reason
    except (TypeError, ValueError, AttributeError):
        message = exc.reason
    return f"{exc.status} {str(message or '').strip()}".strip()


def hint_for(status: int, url: str, namespace: str | None) -> str | None:
    if status == 401:
        return (
            f"the gateway refused {TOKEN_ENV}: it must be a current token from this cluster's OIDC issuer "
            "(see runbooks/smoke-deploy.md)"
        )
    if status == 403:
        where = f"namespace {namespace}" if namespace else "the shared pipelines"
        return f"the token's identity may not act in {where}: it needs edit rights on Kubeflow Pipelines there"
    if status == 404:
        return f"check --kfp-url ({url}): the gateway serves the Pipelines API under /pipeline"
    return None


def pause(seconds: float) -> None:
    """The wait between attempts (a test makes it instant)."""
    time.sleep(seconds)


@dataclass
class Caller:
    """Runs one client call with bounded retries and turns its failure into a one-line error."""

    url: str
    sleep: Callable[[float], None] = pause
    attempts: int = MAX_ATTEMPTS

    def __call__(
        self, what: str, action: Callable[[], T], namespace: str | None = None, *, replayable: bool = True
    ) -> T:
        """``replayable=False`` for a call the server does not deduplicate (creating a recurring
        run): a 5xx may come after the server did it, so only 429 (refused before any work) is
        tried again."""
        from kfp_server_api.exceptions import ApiException
        from urllib3.exceptions import HTTPError as TransportError

        delay = 0.5
        for attempt in range(1, self.attempts + 1):
            try:
                # kfp.Client prints links ("Pipeline details: ...") on stdout, which is the command's.
                with contextlib.redirect_stdout(io.StringIO()):
                    return action()
            except ApiException as exc:
                status = exc.status or 0
                retryable = RETRYABLE_STATUS if replayable else frozenset({429})
                if status in retryable and attempt < self.attempts:
                    self.sleep(delay)
                    delay = min(MAX_DELAY, delay * 2)
                    continue
                tries = f" (after {attempt} attempts)" if attempt > 1 else ""
                raise KfpCallFailed(
                    f"{what}: {reason(exc)}{tries}", status, hint_for(status, self.url, namespace)
                ) from None
            except (TransportError, OSError) as exc:
                raise KfpCallFailed(
                    f"{what}: cannot reach {self.url} ({type(exc).__name__})",
                    0,
                    "check --kfp-url, the network path to the gateway (VPN) and the CA bundle",
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover


def all_pages(call: Callable[[str], Any], field_name: str) -> list[Any]:
    items: list[Any] = []
    token = ""
    while True:
        page = call(token)
        items += getattr(page, field_name) or []
        token = page.next_page_token or ""
        if not token:
            return items
