"""A test double for AWS services that speak JSON over HTTP, spoken to by real boto3 clients.

moto runs most of what the kit calls on AWS, but some answers it can never give: a SageMaker
training job in progress, Failed or Stopped with a FailureReason; a Batch container's reason and
exit code; throttling. For those, this double stands in for the service. It serves plain HTTP on
localhost through pytest-httpserver, and the test points a real boto3 client at it, so the
client's own serializer, signer and response parser run on every call.

It speaks the two JSON protocols, as botocore's service model for the service says:

* ``json`` (JSON 1.0/1.1, e.g. SageMaker): ``POST /`` with ``X-Amz-Target: <targetPrefix>.<Op>``
  and ``Content-Type: application/x-amz-json-<version>``;
* ``rest-json`` (e.g. AWS Batch): the operation's method and ``requestUri``
  (``POST /v1/describejobs``), members bound to URI labels, the query string or headers taken
  from there.

A test scripts the answers, per operation and in order, with ``add_response`` (checked against
the operation's output shape, as botocore's Stubber checks them) and ``add_error`` (HTTP 400 by
default, with ``{"__type": code, "message": ...}``, and ``x-amzn-ErrorType`` for rest-json, which
botocore turns into a ``ClientError`` with that code). Each answer is used once. Every request
is recorded in ``calls`` (operation, decoded parameters, the status answered), so a test asserts
what the client sent and in which order. A request the double cannot route, one that is not
signed for the service and region, or one for an operation with no answer left, is answered with
HTTP 400 ``UnexpectedRequestToDouble`` and fails the test in ``verify()`` (which also fails on
answers left unused) and in pytest-httpserver's own ``check_assertions()``.

``client()`` builds the real boto3 client: this double's URL, the region, the kit's fake
credentials, an isolated botocore session (no profile or credential files), and botocore's own
retries turned off: they would sleep for real, and the kit's code retries throttling itself, so
each scripted throttling answer should reach the code under test. ``client(**config)`` takes more
``botocore.config.Config`` options (``region_name`` to sign for another region, for instance).

A stateful double of one service (``tests/doubles/eks_api.py``) registers ``handle(operation,
handler)`` functions over its own state; scripted answers still come first, so a test can inject a
fault into a stateful double the same way.

What it does NOT emulate by itself: any state (nothing is created, stored or listed unless scripted),
signature verification beyond the credential scope, the query, EC2 and REST-XML protocols,
output members bound to headers or the status code, event streams, paging (a ``nextToken`` is
whatever the script answers), and the request validation the real services do (botocore's client
validates what it sends; tests assert the rest on ``calls``).
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
import re
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.session
from botocore.config import Config
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import validate_parameters
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from platform_kit.aws import FAKE_ACCESS_KEY, emulator_session

UNEXPECTED = "UnexpectedRequestToDouble"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")
_LABEL = re.compile(r"\{([^}+]+)(\+?)\}")


@dataclass(frozen=True)
class AwsCall:
    """One request the double received."""

    operation: str  # as the service model names it, e.g. "DescribeTrainingJob"
    params: dict[str, Any]  # the JSON body, plus members bound to the URI, query string or headers
    status: int  # the HTTP status answered


@dataclass(frozen=True)
class AwsError:
    """What a handler returns to answer with an AWS error."""

    code: str
    message: str
    status: int = 400


@dataclass(frozen=True)
class _Answer:
    status: int
    body: dict[str, Any]
    error_code: str | None = None


@cache
def _service_model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def _timestamp(value: Any, shape: Shape) -> Any:
    if not isinstance(value, dt.datetime):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    kind = shape.serialization.get("timestampFormat", "unixTimestamp")  # the JSON protocols' default
    if kind == "iso8601":
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if kind == "rfc822":
        return email.utils.format_datetime(value.astimezone(dt.UTC), usegmt=True)
    return value.timestamp()


def _to_wire(value: Any, shape: Shape) -> Any:
    """A validated output value as the service puts it in a JSON body (timestamps, blobs, member names)."""
    kind = shape.type_name
    if kind == "structure":
        return {
            shape.members[name].serialization.get("name", name): _to_wire(item, shape.members[name])
            for name, item in value.items()
        }
    if kind == "list":
        return [_to_wire(item, shape.member) for item in value]
    if kind == "map":
        return {key: _to_wire(item, shape.value) for key, item in value.items()}
    if kind == "timestamp":
        return _timestamp(value, shape)
    if kind == "blob" and isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return value


class AwsJsonApiDouble:
    """An AWS JSON-protocol service (``json`` or ``rest-json``) on a pytest-httpserver, with scripted answers.

    It answers every request the server gets: one double per server.
    """

    def __init__(self, server: HTTPServer, service: str, *, region: str = "us-east-1") -> None:
        self.server = server
        self.service = service
        self.region = region
        self.model = _service_model(service)
        if self.model.protocol not in {"json", "rest-json"}:
            raise ValueError(f"{service} speaks {self.model.protocol}, not json or rest-json")
        self.calls: list[AwsCall] = []
        self.problems: list[str] = []
        self._answers: dict[str, deque[_Answer]] = {}
        self._handlers: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._routes = self._rest_routes() if self.model.protocol == "rest-json" else []
        server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    @property
    def url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def client(self, **config: Any) -> Any:
        """A real boto3 client for this service, pointed at the double, with botocore's retries off."""
        options: dict[str, Any] = {"retries": {"mode": "standard", "total_max_attempts": 1}, **config}
        return emulator_session(self.region).client(self.service, endpoint_url=self.url, config=Config(**options))

    # --- scripting ---------------------------------------------------------------------------

    def add_response(self, operation: str, response: dict[str, Any]) -> None:
        """Answer the next ``operation`` request with ``response`` (checked against its output shape)."""
        model = self._operation(operation)
        output = model.output_shape
        if output is not None:
            validate_parameters(response, output)
            bound = [name for name in response if output.members[name].serialization.get("location")]
            if bound:
                raise ValueError(f"{operation}: output members bound to headers or the status code: {bound}")
            body = _to_wire(response, output)
        elif response:
            raise ValueError(f"{operation} has no output, but a response was given")
        else:
            body = {}
        self._queue(operation, _Answer(200, body))

    def handle(self, operation: str, handler: Any) -> None:
        """Answer every ``operation`` request that has no scripted answer left with ``handler(params)``:
        a response dict (checked against the output shape, as ``add_response``), or an ``AwsError``.
        A stateful double of a service is a set of handlers over its own state."""
        self._operation(operation)
        self._handlers[operation] = handler

    def _answer(self, operation: str, response: dict[str, Any]) -> _Answer:
        model = self._operation(operation)
        output = model.output_shape
        if output is None:
            return _Answer(200, {})
        validate_parameters(response, output)
        return _Answer(200, _to_wire(response, output))

    def add_error(self, operation: str, code: str, message: str, *, status: int = 400, times: int = 1) -> None:
        """Answer the next ``times`` ``operation`` requests with the error ``code`` (any code, modelled or not)."""
        self._operation(operation)
        for _ in range(times):
            self._queue(operation, _Answer(status, {"__type": code, "message": message}, code))

    def _operation(self, operation: str) -> OperationModel:
        if operation not in self.model.operation_names:
            raise ValueError(f"{self.service} has no operation {operation!r} (use the model's name, e.g. DescribeJobs)")
        return self.model.operation_model(operation)

    def _queue(self, operation: str, answer: _Answer) -> None:
        with self._lock:
            self._answers.setdefault(operation, deque()).append(answer)

    # --- what happened ---------------------------------------------------------------------------

    @property
    def operations(self) -> list[str]:
        """The operations called, in order."""
        return [call.operation for call in self.calls]

    def requests(self, operation: str) -> list[dict[str, Any]]:
        """The parameters of each ``operation`` request, in order."""
        return [call.params for call in self.calls if call.operation == operation]

    def pending(self) -> dict[str, int]:
        """Scripted answers not used yet, per operation."""
        with self._lock:
            return {operation: len(queue) for operation, queue in self._answers.items() if queue}

    def verify(self) -> None:
        """Fail if a request was unexpected or a scripted answer was not used."""
        problems = list(self.problems)
        pending = self.pending()
        if pending:
            problems.append(f"scripted answers not used: {pending}")
        assert not problems, f"{self.service} double: " + "; ".join(problems)

    # --- serving ---------------------------------------------------------------------------------

    def _rest_routes(self) -> list[tuple[str, re.Pattern[str], str]]:
        routes = []
        for name in self.model.operation_names:
            http = self.model.operation_model(name).http
            path = http["requestUri"].split("?", 1)[0]
            pattern, last = "", 0
            for label in _LABEL.finditer(path):
                pattern += re.escape(path[last : label.start()])
                pattern += f"(?P<{label.group(1)}>.+)" if label.group(2) else f"(?P<{label.group(1)}>[^/]+)"
                last = label.end()
            pattern += re.escape(path[last:])
            literal = len(_LABEL.sub("", path))
            routes.append((literal, http["method"], re.compile(f"^{pattern}$"), name))
        # The most specific template (the longest literal part) first.
        routes.sort(key=lambda route: -route[0])
        return [(method, pattern, name) for _, method, pattern, name in routes]

    def _route(self, request: Request) -> tuple[str, dict[str, str]] | str:
        """(operation, URI labels), or why the request does not fit the protocol."""
        if self.model.protocol == "json":
            target = request.headers.get("X-Amz-Target", "")
            prefix, _, operation = target.partition(".")
            if request.method != "POST" or request.path != "/":
                return f"{request.method} {request.path}: the JSON protocol only takes POST /"
            if prefix != self.model.metadata.get("targetPrefix") or operation not in self.model.operation_names:
                return f"X-Amz-Target {target!r} is not an operation of {self.service}"
            content_type = f"application/x-amz-json-{self.model.metadata.get('jsonVersion', '1.0')}"
            if request.headers.get("Content-Type") != content_type:
                return f"{operation}: Content-Type {request.headers.get('Content-Type')!r}, not {content_type}"
            return operation, {}
        # The path as sent: a label's value may hold an encoded "/" (an ARN).
        path = str(request.environ.get("RAW_URI") or request.path).split("?", 1)[0]
        for method, pattern, operation in self._routes:
            match = pattern.match(path)
            if method == request.method and match:
                return operation, {key: unquote(value) for key, value in match.groupdict().items()}
        return f"{request.method} {request.path} is not an operation of {self.service}"

    def _signed_for_us(self, request: Request) -> str | None:
        found = _CREDENTIAL.search(request.headers.get("Authorization", ""))
        if found is None:
            return "the request is not signed with SigV4"
        key, _, region, service = found.groups()
        expected = (FAKE_ACCESS_KEY, self.region, self.model.signing_name)
        if (key, region, service) != expected:
            return f"signed as {(key, region, service)}, expected {expected}"
        return None

    def _params(self, request: Request, operation: str, labels: dict[str, str]) -> dict[str, Any]:
        raw = request.get_data()
        params = json.loads(raw) if raw.strip() else {}
        if not isinstance(params, dict):
            raise ValueError("the body is not a JSON object")
        shape = self.model.operation_model(operation).input_shape
        if self.model.protocol == "rest-json" and shape is not None:
            query = parse_qs(request.query_string.decode(), keep_blank_values=True)
            for name, member in shape.members.items():
                location = member.serialization.get("location")
                wire = member.serialization.get("name", name)
                if location == "uri" and wire in labels:
                    params[name] = labels[wire]
                elif location == "querystring" and wire in query:
                    params[name] = query[wire] if member.type_name == "list" else query[wire][0]
                elif location == "header" and wire in request.headers:
                    params[name] = request.headers[wire]
        return params

    def _reply(self, answer: _Answer) -> Response:
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        if self.model.protocol == "json":
            headers["Content-Type"] = f"application/x-amz-json-{self.model.metadata.get('jsonVersion', '1.0')}"
        else:
            headers["Content-Type"] = "application/json"
            if answer.error_code is not None:
                headers["x-amzn-ErrorType"] = answer.error_code
        return Response(json.dumps(answer.body), status=answer.status, headers=headers)

    def _unexpected(self, operation: str, problem: str, params: dict[str, Any]) -> Response:
        with self._lock:
            self.problems.append(problem)
            self.calls.append(AwsCall(operation, params, 400))
        self.server.add_assertion(f"{self.service} double: {problem}")
        return self._reply(_Answer(400, {"__type": UNEXPECTED, "message": problem}, UNEXPECTED))

    def _handle(self, request: Request) -> Response:
        routed = self._route(request)
        if isinstance(routed, str):
            return self._unexpected("?", routed, {})
        operation, labels = routed
        try:
            params = self._params(request, operation, labels)
        except ValueError as exc:
            return self._unexpected(operation, f"{operation}: cannot decode the request: {exc}", {})
        unsigned = self._signed_for_us(request)
        if unsigned is not None:
            return self._unexpected(operation, f"{operation}: {unsigned}", params)
        with self._lock:
            queue = self._answers.get(operation)
            answer = queue.popleft() if queue else None
            handler = self._handlers.get(operation) if answer is None else None
            if handler is not None:
                result = handler(params)
                if isinstance(result, AwsError):
                    answer = _Answer(result.status, {"__type": result.code, "message": result.message}, result.code)
                else:
                    answer = self._answer(operation, result)
            if answer is not None:
                self.calls.append(AwsCall(operation, params, answer.status))
        if answer is None:
            return self._unexpected(operation, f"{operation} called with no answer scripted: {params}", params)
        return self._reply(answer)
