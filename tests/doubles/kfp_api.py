"""A test double for the Kubeflow Pipelines API server (REST, v2beta1), spoken to by the real `kfp.Client`.

No Kubeflow can run where the kit's tests run, so this double stands in for the `ml-pipeline`
API server behind the Istio gateway. It serves plain HTTP on 127.0.0.1 from a background thread
(werkzeug), under an optional path prefix (`/pipeline`, as the gateway exposes it), and speaks
enough of `/apis/v2beta1` for `kfp.Client` and its generated `kfp_server_api` layer:

* healthz (multi-user mode);
* pipelines: create (an empty pipeline), upload (multipart `uploadfile`, a first version named
  like the pipeline, as the real server does), list (namespace, filter, sort, paging), get, get
  by name;
* pipeline versions: upload (multipart), list, get;
* experiments: create (display names unique per namespace: 409), list, get;
* recurring runs: create (the namespace comes from the experiment), list (by namespace or
  experiment), get, enable, disable, delete;
* runs: create (a pipeline spec or version; the namespace comes from the experiment; the run
  stays PENDING), list (by namespace or experiment, with filter, sort and paging) and get, over
  those and the runs the test seeds with `seed_run`.

Multi-user rules it keeps: experiments, runs and recurring runs live in a namespace (a run's is
its experiment's); listing them needs a namespace or an experiment (400 otherwise, as the real
server answers); pipelines with no namespace are shared. Names: a pipeline's display name is
unique per namespace, a version's name per pipeline, an experiment's display name per namespace
(409 AlreadyExists); recurring runs may share a display name.

Responses are JSON as grpc-gateway writes them: empty lists and strings are left out (so an empty
listing is `{}`), int64 values are strings, timestamps are RFC 3339 in whole seconds, and a run
that has not finished has `finished_at` 1970-01-01T00:00:00Z. Errors are
`{"code": <grpc code>, "message": ..., "details": []}` with the matching HTTP status.

Filters are the JSON `Filter` the client sends (`predicates` with `operation` as a name or a
number, and `string_value`/`int_value`/`long_value`/`timestamp_value` or the `*_values` lists);
keys are the resource's fields (`display_name`, `name`, `created_at`, `state`, ...). Paging is by
key (the last item's sort value and insertion order), so an item added between pages neither
repeats nor shifts the next page; a page token carries the listing's filter and sort, as the real
server's does. Default page size 20, largest 200.

Every request must carry `Authorization: Bearer <token>` with the token the double was built
with (401 otherwise). Every request is logged in `calls` (operation, method, path, namespace, a
summary of the body, status); `mutations()` is the creates, uploads, enables, disables and
deletes among them. `fail()` answers the next matching requests with an injected error.
`seed_run()` and the other `seed_*` methods put objects in place without a request (not logged).

What it does NOT emulate: authorisation per namespace (any valid token may act anywhere; inject
403 with `fail()`), running anything (no run is ever created by a recurring run, nothing changes
state by itself), archiving, run creation, retries or termination, pipeline and version deletion
and updates, the `pipeline_store: kubernetes` mode, artifacts, visualisations and reports.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import itertools
import json
import re
import threading
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import yaml
from werkzeug import Request, Response
from werkzeug.serving import WSGIRequestHandler, make_server

from .serving import BackgroundServer

DEFAULT_TOKEN = "kfp-api-double-token"  # a fixed test credential
API = "/apis/v2beta1"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
RUNTIME_STATES = frozenset(
    {
        "RUNTIME_STATE_UNSPECIFIED",
        "PENDING",
        "RUNNING",
        "SUCCEEDED",
        "SKIPPED",
        "FAILED",
        "CANCELING",
        "CANCELED",
        "PAUSED",
    }
)
MUTATING_OPERATIONS = frozenset(
    {
        "CreatePipeline",
        "UploadPipeline",
        "UploadPipelineVersion",
        "CreateExperiment",
        "CreateRecurringRun",
        "CreateRun",
        "EnableRecurringRun",
        "DisableRecurringRun",
        "DeleteRecurringRun",
    }
)
_GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 500: 13, 501: 12, 502: 14, 503: 14, 504: 4}
_OPERATIONS = {  # the Filter proto's operation enum
    1: "EQUALS",
    2: "NOT_EQUALS",
    3: "GREATER_THAN",
    5: "GREATER_THAN_EQUALS",
    6: "LESS_THAN",
    7: "LESS_THAN_EQUALS",
    8: "IN",
    9: "IS_SUBSTRING",
}
_TIME_FIELDS = frozenset({"created_at", "finished_at", "scheduled_at", "updated_at", "last_run_created_at"})


@dataclass(frozen=True)
class KfpCall:
    """One HTTP request a client made, as the double understood it."""

    operation: str  # the v2beta1 RPC, e.g. "ListRuns", "UploadPipelineVersion"; "Unknown" if not routed
    method: str
    path: str  # without the prefix, e.g. /apis/v2beta1/recurringruns/<id>
    query: dict[str, str]
    namespace: str | None  # the namespace the call acts in (from the query, the body or the object)
    body: Any  # the JSON body, or for an upload {"file", "bytes", "sha256"}
    status: int = 0

    @property
    def mutating(self) -> bool:
        return self.operation in MUTATING_OPERATIONS


@dataclass
class _Fault:
    status: int
    operation: str | None
    method: str | None
    pattern: re.Pattern[str] | None
    namespace: str | None
    remaining: int | None
    message: str


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without its access log (a test's output stays the test's)."""

    def log(self, type: str, message: str, *args: Any) -> None:
        pass


class KfpError(Exception):
    """Raised inside the double; becomes a grpc-gateway error response."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "code": _GRPC_CODES.get(self.status, 2), "message": self.message, "details": []}


def _stamp(value: dt.datetime | None) -> str:
    value = value or EPOCH
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


# Fields holding user data (a map of Values, a Struct): kept as given, empty strings and all.
_VERBATIM = frozenset({"parameters", "pipeline_spec", "platform_spec"})


def _pruned(value: Any) -> Any:
    """A message as protobuf JSON writes it: empty strings, lists and maps left out (recursively,
    except inside user data such as a run's parameters)."""
    if isinstance(value, dict):
        kept = {k: v if k in _VERBATIM else _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ("", None, [], {})}
    if isinstance(value, list):
        return [_pruned(item) for item in value]
    return value


class KfpApiDouble(BackgroundServer):
    """Test double for the Kubeflow Pipelines v2beta1 REST API (see the module docstring).

    Use as a context manager, or call `start()` / `stop()`:

        with KfpApiDouble() as kfp_api:
            client = kfp.Client(host=kfp_api.url, existing_token=kfp_api.token, namespace="team")
            ...
            assert kfp_api.mutations() == []
    """

    def __init__(self, *, token: str = DEFAULT_TOKEN, prefix: str = "", multi_user: bool = True) -> None:
        self.token = token
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.multi_user = multi_user
        self.calls: list[KfpCall] = []
        self.unexpected: list[str] = []  # requests the double could not route
        self.internal_errors: list[str] = []  # tracebacks of bugs in the double (answered with 500)
        self._lock = threading.RLock()
        self._seq = itertools.count(1)
        self._faults: list[_Fault] = []
        self._pipelines: dict[str, dict[str, Any]] = {}
        self._versions: dict[str, dict[str, Any]] = {}
        self._experiments: dict[str, dict[str, Any]] = {}
        self._recurring: dict[str, dict[str, Any]] = {}
        self._runs: dict[str, dict[str, Any]] = {}
        self._order: dict[str, int] = {}  # id -> insertion order, the tie-break for sorting and paging

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> KfpApiDouble:
        if self._server is not None:
            return self
        server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        return self._serve(server, "kfp-api-double")

    @property
    def url(self) -> str:
        """The base URL a client takes as its host (with the prefix, when there is one)."""
        return self.base_url + self.prefix

    # -- seeding (no request, not logged) ----------------------------------------------------------

    def seed_pipeline(self, name: str, namespace: str = "") -> str:
        """A pipeline made outside the kit (no version), even one whose name is taken; returns its id."""
        with self._lock:
            return self._new_pipeline(name, namespace, "", dt.datetime.now(dt.UTC))["pipeline_id"]

    def seed_run(
        self,
        namespace: str,
        pipeline: str,
        state: str,
        created_at: dt.datetime,
        finished_at: dt.datetime | None = None,
        tasks: Sequence[str] = (),
        recurring_run_id: str | None = None,
    ) -> str:
        """Put a run in place and return its id.

        The run belongs to the recurring run's experiment when ``recurring_run_id`` names one here,
        else to the namespace's ``Default`` experiment (created if missing, as the real server
        does on a namespace's first run). Its ``pipeline_version_reference`` points at the latest
        version of the pipeline whose display name is ``pipeline`` (a shared one is seeded if
        there is none), and its display name is ``<pipeline>-<created_at as %Y%m%d%H%M%S>``. Each
        of ``tasks`` becomes an entry of ``run_details.task_details`` with that display name and
        the run's state. ``finished_at`` None answers as 1970-01-01T00:00:00Z, as the real server
        does for a run that has not finished.
        """
        if state not in RUNTIME_STATES:
            raise ValueError(f"state {state!r} is not a v2beta1 RuntimeState: {sorted(RUNTIME_STATES)}")
        with self._lock:
            experiment = None
            if recurring_run_id is not None and recurring_run_id in self._recurring:
                experiment = self._experiments.get(self._recurring[recurring_run_id]["experiment_id"])
            if experiment is None:
                experiment = self._find_experiment(namespace, "Default") or self._new_experiment(
                    namespace, "Default", "The namespace's default experiment", created_at
                )
            found = self._find_pipeline(pipeline, namespace) or self._find_pipeline(pipeline, "")
            if found is None:
                found = self._new_pipeline(pipeline, "", "", created_at)
                self._new_version(found["pipeline_id"], pipeline, "", {"pipelineInfo": {"name": pipeline}}, created_at)
            version = self._latest_version(found["pipeline_id"])
            run_id = str(uuid.uuid4())
            finished = finished_at if finished_at is not None else None
            history = [{"update_time": _stamp(created_at), "state": "PENDING"}]
            if state != "PENDING":
                history.append({"update_time": _stamp(finished or created_at), "state": state})
            task_details = [
                {
                    "run_id": run_id,
                    "task_id": str(uuid.uuid4()),
                    "display_name": name,
                    "create_time": _stamp(created_at),
                    "start_time": _stamp(created_at),
                    "end_time": _stamp(finished),
                    "state": state,
                }
                for name in tasks
            ]
            self._runs[run_id] = {
                "run_id": run_id,
                "experiment_id": experiment["experiment_id"],
                "display_name": f"{pipeline}-{created_at.strftime('%Y%m%d%H%M%S')}",
                "storage_state": "AVAILABLE",
                "pipeline_version_reference": {
                    "pipeline_id": found["pipeline_id"],
                    "pipeline_version_id": version["pipeline_version_id"] if version else "",
                },
                "runtime_config": {},
                "service_account": "default-editor",
                "created_at": _stamp(created_at),
                "scheduled_at": _stamp(created_at),
                "finished_at": _stamp(finished),
                "state": state,
                "run_details": {"task_details": task_details},
                "recurring_run_id": recurring_run_id or "",
                "state_history": history,
                "_namespace": namespace,
            }
            self._order[run_id] = next(self._seq)
            experiment["last_run_created_at"] = max(experiment.get("last_run_created_at") or "", _stamp(created_at))
            return run_id

    def seed_experiment(self, namespace: str, name: str, description: str = "") -> str:
        """An experiment in ``namespace`` (returns its id; an existing one with that name is reused)."""
        with self._lock:
            found = self._find_experiment(namespace, name)
            return (found or self._new_experiment(namespace, name, description, _now()))["experiment_id"]

    # -- what is stored --------------------------------------------------------------------------

    def pipelines(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._public(p) for p in self._sorted(self._pipelines.values(), "pipeline_id")]

    def pipeline_versions(self, pipeline_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [v for v in self._versions.values() if pipeline_id in (None, v["pipeline_id"])]
            return [self._public(v) for v in self._sorted(found, "pipeline_version_id")]

    def experiments(self, namespace: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [e for e in self._experiments.values() if namespace in (None, e["namespace"])]
            return [self._public(e) for e in self._sorted(found, "experiment_id")]

    def recurring_runs(self, namespace: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [r for r in self._recurring.values() if namespace in (None, r["namespace"])]
            return [self._public(r) for r in self._sorted(found, "recurring_run_id")]

    def runs(self, namespace: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [r for r in self._runs.values() if namespace in (None, r["_namespace"])]
            return [self._public(r) for r in self._sorted(found, "run_id")]

    # -- fault injection and the call log --------------------------------------------------------

    def fail(
        self,
        status: int,
        *,
        operation: str | None = None,
        method: str | None = None,
        path_regex: str | None = None,
        namespace: str | None = None,
        times: int | None = 1,
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (None: until `clear_faults()`).

        A request matches when every given criterion does: ``operation`` (e.g. "CreateRecurringRun"),
        ``method``, ``path_regex`` (re.search on the path without the prefix) and ``namespace``
        (the namespace the call acts in). The request is logged with that status and changes nothing.
        """
        with self._lock:
            self._faults.append(
                _Fault(
                    status=status,
                    operation=operation,
                    method=method.upper() if method else None,
                    pattern=re.compile(path_regex) if path_regex else None,
                    namespace=namespace,
                    remaining=times,
                    message=message or f"injected by KfpApiDouble.fail(): {status}",
                )
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def mutations(self) -> list[KfpCall]:
        """Client calls that create, upload, enable, disable or delete (whatever their outcome)."""
        with self._lock:
            return [call for call in self.calls if call.mutating]

    def operations(self, *, namespace: str | None = None) -> list[str]:
        """The operations called, in order (only those acting in ``namespace``, when given)."""
        with self._lock:
            return [c.operation for c in self.calls if namespace is None or c.namespace == namespace]

    def clear_calls(self) -> None:
        """Forget the call log (stored objects stay)."""
        with self._lock:
            self.calls.clear()

    # -- HTTP entry point ------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        try:
            status, body = self._handle(request)
        except Exception as exc:  # a bug in the double: answer 500 and keep the traceback for the test
            self.internal_errors.append(traceback.format_exc())
            status, body = 500, KfpError(500, f"KfpApiDouble bug: {exc!r}").body()
        response = Response(json.dumps(body), status=status, content_type="application/json")
        return response(environ, start_response)

    def _handle(self, request: Request) -> tuple[int, Any]:
        raw = request.environ.get("RAW_URI") or request.path
        path = "/" + "/".join(unquote(part) for part in raw.split("?", 1)[0].split("/") if part)
        query = {key: request.args.getlist(key)[-1] for key in request.args}
        with self._lock:
            route = self._route(request.method, path)
            operation, handler, params = route if route else ("Unknown", None, {})
            body, summary = self._body(request, operation)
            namespace = self._namespace_of(operation, params, query, body)
            try:
                if request.headers.get("Authorization") != f"Bearer {self.token}":
                    raise KfpError(401, "Unauthenticated: the request has no valid bearer token")
                if handler is None:
                    self.unexpected.append(f"{request.method} {path}")
                    raise KfpError(404, f"KfpApiDouble does not serve {request.method} {path}")
                self._inject_fault(operation, request.method, path, namespace)
                status, answer = 200, handler(params, query, body)
            except KfpError as error:
                status, answer = error.status, error.body()
            self.calls.append(KfpCall(operation, request.method, path, query, namespace, summary, status))
            return status, answer

    def _body(self, request: Request, operation: str) -> tuple[Any, Any]:
        """(what the handler gets, what the log keeps) for the request's body."""
        if operation in ("UploadPipeline", "UploadPipelineVersion"):
            upload = request.files.get("uploadfile")
            if upload is None:
                return None, None
            data = upload.read()
            return (upload.filename, data), {
                "file": upload.filename,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        raw = request.get_data()
        if not raw.strip():
            return None, None
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            return raw, {"unparsed": raw[:200].decode("utf-8", "replace")}
        return parsed, parsed

    def _inject_fault(self, operation: str, method: str, path: str, namespace: str | None) -> None:
        for fault in self._faults:
            if fault.operation not in (None, operation) or fault.method not in (None, method):
                continue
            if fault.pattern is not None and not fault.pattern.search(path):
                continue
            if fault.namespace is not None and fault.namespace != namespace:
                continue
            if fault.remaining is not None:
                if fault.remaining <= 0:
                    continue
                fault.remaining -= 1
            raise KfpError(fault.status, fault.message)

    # -- routing ---------------------------------------------------------------------------------

    def _routes(self) -> list[tuple[str, re.Pattern[str], str, Callable[..., Any]]]:
        table = [
            ("GET", "/healthz", "GetHealthz", self._healthz),
            ("POST", "/pipelines/upload", "UploadPipeline", self._upload_pipeline),
            ("POST", "/pipelines/upload_version", "UploadPipelineVersion", self._upload_version),
            ("POST", "/pipelines", "CreatePipeline", self._create_pipeline),
            ("GET", "/pipelines", "ListPipelines", self._list_pipelines),
            ("GET", "/pipelines/names/(?P<name>[^/]+)", "GetPipelineByName", self._get_pipeline_by_name),
            ("GET", "/pipelines/(?P<pipeline_id>[^/]+)/versions", "ListPipelineVersions", self._list_versions),
            (
                "GET",
                "/pipelines/(?P<pipeline_id>[^/]+)/versions/(?P<version_id>[^/]+)",
                "GetPipelineVersion",
                self._get_version,
            ),
            ("GET", "/pipelines/(?P<pipeline_id>[^/:]+)", "GetPipeline", self._get_pipeline),
            ("POST", "/experiments", "CreateExperiment", self._create_experiment),
            ("GET", "/experiments", "ListExperiments", self._list_experiments),
            ("GET", "/experiments/(?P<experiment_id>[^/:]+)", "GetExperiment", self._get_experiment),
            ("POST", "/recurringruns", "CreateRecurringRun", self._create_recurring),
            ("GET", "/recurringruns", "ListRecurringRuns", self._list_recurring),
            ("GET", "/recurringruns/(?P<recurring_run_id>[^/:]+)", "GetRecurringRun", self._get_recurring),
            ("DELETE", "/recurringruns/(?P<recurring_run_id>[^/:]+)", "DeleteRecurringRun", self._delete_recurring),
            ("POST", "/recurringruns/(?P<recurring_run_id>[^/:]+):enable", "EnableRecurringRun", self._enable),
            ("POST", "/recurringruns/(?P<recurring_run_id>[^/:]+):disable", "DisableRecurringRun", self._disable),
            ("POST", "/runs", "CreateRun", self._create_run),
            ("GET", "/runs", "ListRuns", self._list_runs),
            ("GET", "/runs/(?P<run_id>[^/:]+)", "GetRun", self._get_run),
        ]
        return [(m, re.compile(f"^{re.escape(self.prefix + API)}{p}$"), op, h) for m, p, op, h in table]

    def _route(self, method: str, path: str) -> tuple[str, Callable[..., Any], dict[str, str]] | None:
        for route_method, pattern, operation, handler in self._routes():
            match = pattern.match(path)
            if match and route_method == method:
                return operation, handler, match.groupdict()
        return None

    def _namespace_of(self, operation: str, params: dict[str, str], query: dict[str, str], body: Any) -> str | None:
        """The namespace a call acts in: named in the query or body, or the object's or experiment's."""
        if query.get("namespace"):
            return query["namespace"]
        if isinstance(body, dict) and body.get("namespace"):
            return str(body["namespace"])
        experiment_id = query.get("experiment_id") or (body.get("experiment_id") if isinstance(body, dict) else None)
        if experiment_id and experiment_id in self._experiments:
            return self._experiments[experiment_id]["namespace"]
        for key, store, field in (
            ("experiment_id", self._experiments, "namespace"),
            ("recurring_run_id", self._recurring, "namespace"),
            ("run_id", self._runs, "_namespace"),
        ):
            if params.get(key) in store:
                return store[params[key]][field] or None
        return None

    # -- storage helpers ---------------------------------------------------------------------------

    def _public(self, obj: dict[str, Any]) -> dict[str, Any]:
        return _pruned({k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")})

    def _sorted(self, items: Any, id_key: str) -> list[dict[str, Any]]:
        return sorted(items, key=lambda item: self._order[item[id_key]])

    def _find_pipeline(self, name: str, namespace: str) -> dict[str, Any] | None:
        return next(
            (p for p in self._pipelines.values() if p["display_name"] == name and p["namespace"] == namespace), None
        )

    def _find_experiment(self, namespace: str, name: str) -> dict[str, Any] | None:
        return next(
            (e for e in self._experiments.values() if e["display_name"] == name and e["namespace"] == namespace), None
        )

    def _latest_version(self, pipeline_id: str) -> dict[str, Any] | None:
        found = [v for v in self._versions.values() if v["pipeline_id"] == pipeline_id]
        return max(found, key=lambda v: self._order[v["pipeline_version_id"]]) if found else None

    def _new_pipeline(self, name: str, namespace: str, description: str, at: dt.datetime) -> dict[str, Any]:
        pipeline_id = str(uuid.uuid4())
        pipeline = {
            "pipeline_id": pipeline_id,
            "display_name": name,
            "name": name,
            "description": description,
            "created_at": _stamp(at),
            "namespace": namespace,
        }
        self._pipelines[pipeline_id] = pipeline
        self._order[pipeline_id] = next(self._seq)
        return pipeline

    def _new_version(
        self, pipeline_id: str, name: str, description: str, spec: dict[str, Any], at: dt.datetime
    ) -> dict[str, Any]:
        version_id = str(uuid.uuid4())
        version = {
            "pipeline_id": pipeline_id,
            "pipeline_version_id": version_id,
            "display_name": name,
            "name": name,
            "description": description,
            "created_at": _stamp(at),
            "pipeline_spec": spec,
        }
        self._versions[version_id] = version
        self._order[version_id] = next(self._seq)
        return version

    def _new_experiment(self, namespace: str, name: str, description: str, at: dt.datetime) -> dict[str, Any]:
        experiment_id = str(uuid.uuid4())
        experiment = {
            "experiment_id": experiment_id,
            "display_name": name,
            "description": description,
            "created_at": _stamp(at),
            "namespace": namespace,
            "storage_state": "AVAILABLE",
            "last_run_created_at": "",
        }
        self._experiments[experiment_id] = experiment
        self._order[experiment_id] = next(self._seq)
        return experiment

    def _get(self, store: dict[str, dict[str, Any]], key: str, what: str) -> dict[str, Any]:
        if key not in store:
            raise KfpError(404, f"{what} {key} not found")
        return store[key]

    # -- listing: filter, sort, pages ------------------------------------------------------------

    def _listing(
        self,
        items: list[dict[str, Any]],
        id_key: str,
        query: dict[str, str],
        field: str,
        scope: dict[str, Any],
    ) -> dict[str, Any]:
        """One page of ``items`` as ``{field: [...], total_size, next_page_token}``."""
        token = query.get("page_token")
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()))
            except ValueError:
                raise KfpError(400, "Invalid input error: the page token is not one this server gave") from None
            if state.get("scope") != scope:
                raise KfpError(400, "Invalid input error: the page token belongs to another listing")
            sort_by, raw_filter, after = state["sort_by"], state["filter"], tuple(state["after"])
        else:
            sort_by, raw_filter, after = query.get("sort_by", ""), query.get("filter", ""), None
        try:
            size = int(query.get("page_size") or 0) or DEFAULT_PAGE_SIZE
        except ValueError:
            raise KfpError(400, f"Invalid input error: page_size {query.get('page_size')!r}") from None
        if size < 0:
            raise KfpError(400, "Invalid input error: page_size must not be negative")
        size = min(size, MAX_PAGE_SIZE)
        predicates = _predicates(raw_filter)
        matching = [item for item in items if all(_matches(item, p) for p in predicates)]
        key_field, descending = _sort_key(sort_by)

        def key(item: dict[str, Any]) -> tuple[Any, int]:
            return (_sortable(item.get(key_field, ""), key_field), self._order[item[id_key]])

        matching.sort(key=key, reverse=descending)
        total = len(matching)  # the whole listing's size, on every page
        if after is not None:
            last = (_sortable(after[0], key_field), after[1])
            matching = [i for i in matching if (key(i) < last if descending else key(i) > last)]
        page, rest = matching[:size], matching[size:]
        result: dict[str, Any] = {field: [self._public(i) for i in page], "total_size": total}
        if page and rest:
            last_item = page[-1]
            state = {
                "scope": scope,
                "sort_by": sort_by,
                "filter": raw_filter,
                "after": [last_item.get(key_field, ""), self._order[last_item[id_key]]],
            }
            result["next_page_token"] = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
        return _pruned(result)

    # -- handlers ----------------------------------------------------------------------------------

    def _healthz(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        return {"multi_user": self.multi_user, "pipeline_store": "database"}

    def _spec_from_upload(self, body: Any) -> tuple[str, dict[str, Any]]:
        if not body:
            raise KfpError(400, "Invalid input error: the request has no uploadfile")
        filename, data = body
        try:
            documents = [d for d in yaml.safe_load_all(data) if d is not None]
        except yaml.YAMLError as exc:
            raise KfpError(400, f"Invalid input error: {filename} is not YAML: {exc}") from None
        if not documents or not isinstance(documents[0], dict) or "pipelineInfo" not in documents[0]:
            raise KfpError(400, f"Invalid input error: {filename} is not a compiled pipeline (no pipelineInfo)")
        if len(documents) == 1:
            return filename, documents[0]
        platform: dict[str, Any] = {}
        for extra in documents[1:]:
            platform.update(extra)
        return filename, {"pipeline_spec": documents[0], "platform_spec": platform}

    def _upload_pipeline(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        filename, spec = self._spec_from_upload(body)
        name = query.get("name") or query.get("display_name") or filename.rsplit(".", 1)[0]
        namespace = query.get("namespace", "")
        if self._find_pipeline(name, namespace) is not None:
            raise KfpError(409, f"Already exist error: a pipeline named {name!r} exists in namespace {namespace!r}")
        pipeline = self._new_pipeline(name, namespace, query.get("description", ""), _now())
        pipeline["display_name"] = query.get("display_name") or name
        self._new_version(pipeline["pipeline_id"], name, query.get("description", ""), spec, _now())
        return self._public(pipeline)

    def _upload_version(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        pipeline_id = query.get("pipelineid", "")
        if not pipeline_id:
            raise KfpError(400, "Invalid input error: pipelineid is required")
        self._get(self._pipelines, pipeline_id, "pipeline")
        filename, spec = self._spec_from_upload(body)
        name = query.get("name") or query.get("display_name") or filename.rsplit(".", 1)[0]
        taken = any(v["name"] == name and v["pipeline_id"] == pipeline_id for v in self._versions.values())
        if taken:
            raise KfpError(409, f"Already exist error: pipeline {pipeline_id} already has a version named {name!r}")
        version = self._new_version(pipeline_id, name, query.get("description", ""), spec, _now())
        version["display_name"] = query.get("display_name") or name
        return self._public(version)

    def _create_pipeline(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not (body.get("display_name") or body.get("name")):
            raise KfpError(400, "Invalid input error: a pipeline needs a display_name")
        name = body.get("name") or body["display_name"]
        namespace = body.get("namespace") or ""
        if self._find_pipeline(body["display_name"] if body.get("display_name") else name, namespace) is not None:
            raise KfpError(409, f"Already exist error: a pipeline named {name!r} exists in namespace {namespace!r}")
        pipeline = self._new_pipeline(name, namespace, body.get("description") or "", _now())
        pipeline["display_name"] = body.get("display_name") or name
        return self._public(pipeline)

    def _list_pipelines(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        namespace = query.get("namespace", "")
        found = [p for p in self._pipelines.values() if p["namespace"] == namespace]
        return self._listing(found, "pipeline_id", query, "pipelines", {"list": "pipelines", "namespace": namespace})

    def _get_pipeline(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        return self._public(self._get(self._pipelines, params["pipeline_id"], "pipeline"))

    def _get_pipeline_by_name(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        found = self._find_pipeline(params["name"], query.get("namespace", ""))
        if found is None:
            raise KfpError(404, f"pipeline named {params['name']} not found")
        return self._public(found)

    def _list_versions(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        pipeline_id = params["pipeline_id"]
        self._get(self._pipelines, pipeline_id, "pipeline")
        found = [v for v in self._versions.values() if v["pipeline_id"] == pipeline_id]
        scope = {"list": "versions", "pipeline_id": pipeline_id}
        return self._listing(found, "pipeline_version_id", query, "pipeline_versions", scope)

    def _get_version(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        version = self._get(self._versions, params["version_id"], "pipeline version")
        if version["pipeline_id"] != params["pipeline_id"]:
            raise KfpError(404, f"pipeline version {params['version_id']} not found in {params['pipeline_id']}")
        return self._public(version)

    def _create_experiment(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not body.get("display_name"):
            raise KfpError(400, "Invalid input error: an experiment needs a display_name")
        namespace = body.get("namespace") or ""
        if self.multi_user and not namespace:
            raise KfpError(400, "Invalid input error: in multi-user mode an experiment needs a namespace")
        if self._find_experiment(namespace, body["display_name"]) is not None:
            raise KfpError(
                409, f"Already exist error: experiment {body['display_name']!r} exists in namespace {namespace!r}"
            )
        experiment = self._new_experiment(namespace, body["display_name"], body.get("description") or "", _now())
        return self._public(experiment)

    def _needs_scope(self, what: str, query: dict[str, str]) -> None:
        if self.multi_user and not query.get("namespace") and not query.get("experiment_id"):
            raise KfpError(400, f"Invalid input error: in multi-user mode, listing {what} needs a namespace")

    def _list_experiments(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        self._needs_scope("experiments", query)
        namespace = query.get("namespace", "")
        found = [e for e in self._experiments.values() if e["namespace"] == namespace]
        scope = {"list": "experiments", "namespace": namespace}
        return self._listing(found, "experiment_id", query, "experiments", scope)

    def _get_experiment(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        return self._public(self._get(self._experiments, params["experiment_id"], "experiment"))

    def _create_run(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not body.get("display_name"):
            raise KfpError(400, "Invalid input error: a run needs a display_name")
        experiment_id = body.get("experiment_id") or ""
        if self.multi_user and not experiment_id:
            raise KfpError(400, "Invalid input error: in multi-user mode a run needs an experiment_id")
        experiment = self._get(self._experiments, experiment_id, "experiment") if experiment_id else None
        reference = body.get("pipeline_version_reference") or {}
        if reference:
            self._get(self._versions, reference.get("pipeline_version_id", ""), "pipeline version")
        elif not body.get("pipeline_spec"):
            raise KfpError(400, "Invalid input error: a run needs a pipeline version or a pipeline spec")
        run_id = str(uuid.uuid4())
        now = _stamp(_now())
        run = {
            "run_id": run_id,
            "experiment_id": experiment_id,
            "display_name": body["display_name"],
            "storage_state": "AVAILABLE",
            "pipeline_spec": body.get("pipeline_spec") or {},
            "pipeline_version_reference": reference,
            "runtime_config": body.get("runtime_config") or {},
            "service_account": body.get("service_account") or "default-editor",
            "created_at": now,
            "scheduled_at": now,
            "finished_at": _stamp(None),
            "state": "PENDING",
            "_namespace": experiment["namespace"] if experiment else "",
        }
        self._runs[run_id] = run
        self._order[run_id] = next(self._seq)
        if experiment is not None:
            experiment["last_run_created_at"] = now
        return self._public(run)

    def _create_recurring(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not body.get("display_name"):
            raise KfpError(400, "Invalid input error: a recurring run needs a display_name")
        experiment_id = body.get("experiment_id") or ""
        if self.multi_user and not experiment_id:
            raise KfpError(400, "Invalid input error: in multi-user mode a recurring run needs an experiment_id")
        experiment = self._get(self._experiments, experiment_id, "experiment") if experiment_id else None
        reference = body.get("pipeline_version_reference") or {}
        if reference:
            version = self._get(self._versions, reference.get("pipeline_version_id", ""), "pipeline version")
            if version["pipeline_id"] != reference.get("pipeline_id"):
                raise KfpError(400, "Invalid input error: the pipeline version is not one of that pipeline's")
        elif not body.get("pipeline_spec"):
            raise KfpError(400, "Invalid input error: a recurring run needs a pipeline version or a pipeline spec")
        trigger = body.get("trigger") or {}
        if not (trigger.get("cron_schedule") or trigger.get("periodic_schedule")):
            raise KfpError(400, "Invalid input error: a recurring run needs a cron or periodic trigger")
        cron = (trigger.get("cron_schedule") or {}).get("cron")
        if cron is not None and len(cron.split()) != 6 and not cron.startswith("@"):
            raise KfpError(400, f"Invalid input error: cron {cron!r} does not have six fields")
        recurring_id = str(uuid.uuid4())
        mode = body.get("mode") or "ENABLE"
        now = _stamp(_now())
        recurring = {
            "recurring_run_id": recurring_id,
            "display_name": body["display_name"],
            "description": body.get("description") or "",
            "pipeline_version_id": reference.get("pipeline_version_id", ""),
            "pipeline_spec": body.get("pipeline_spec") or {},
            "pipeline_version_reference": reference,
            "runtime_config": body.get("runtime_config") or {},
            "service_account": body.get("service_account") or "default-editor",
            "max_concurrency": str(body.get("max_concurrency") or 1),
            "trigger": trigger,
            "mode": mode,
            "created_at": now,
            "updated_at": now,
            "status": "ENABLED" if mode == "ENABLE" else "DISABLED",
            "no_catchup": bool(body.get("no_catchup")),
            "namespace": experiment["namespace"] if experiment else "",
            "experiment_id": experiment_id,
        }
        self._recurring[recurring_id] = recurring
        self._order[recurring_id] = next(self._seq)
        return self._public(recurring)

    def _list_recurring(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        self._needs_scope("recurring runs", query)
        experiment_id = query.get("experiment_id")
        if experiment_id:
            found = [r for r in self._recurring.values() if r["experiment_id"] == experiment_id]
            scope = {"list": "recurringruns", "experiment_id": experiment_id}
        else:
            namespace = query.get("namespace", "")
            found = [r for r in self._recurring.values() if r["namespace"] == namespace]
            scope = {"list": "recurringruns", "namespace": namespace}
        return self._listing(found, "recurring_run_id", query, "recurringRuns", scope)

    def _get_recurring(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        return self._public(self._get(self._recurring, params["recurring_run_id"], "recurring run"))

    def _delete_recurring(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        self._get(self._recurring, params["recurring_run_id"], "recurring run")
        del self._recurring[params["recurring_run_id"]]
        return {}

    def _set_mode(self, recurring_run_id: str, mode: str) -> dict[str, Any]:
        recurring = self._get(self._recurring, recurring_run_id, "recurring run")
        recurring["mode"] = mode
        recurring["status"] = "ENABLED" if mode == "ENABLE" else "DISABLED"
        recurring["updated_at"] = _stamp(_now())
        return {}

    def _enable(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        return self._set_mode(params["recurring_run_id"], "ENABLE")

    def _disable(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        return self._set_mode(params["recurring_run_id"], "DISABLE")

    def _list_runs(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        self._needs_scope("runs", query)
        experiment_id = query.get("experiment_id")
        if experiment_id:
            found = [r for r in self._runs.values() if r["experiment_id"] == experiment_id]
            scope = {"list": "runs", "experiment_id": experiment_id}
        else:
            namespace = query.get("namespace", "")
            found = [r for r in self._runs.values() if r["_namespace"] == namespace]
            scope = {"list": "runs", "namespace": namespace}
        return self._listing(found, "run_id", query, "runs", scope)

    def _get_run(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        return self._public(self._get(self._runs, params["run_id"], "run"))


# -- filters and sorting ---------------------------------------------------------------------------


def _predicates(raw: str) -> list[dict[str, Any]]:
    if not raw:
        return []
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        raise KfpError(400, f"Invalid input error: the filter is not JSON: {raw[:100]}") from None
    predicates = parsed.get("predicates") or [] if isinstance(parsed, dict) else None
    if not isinstance(predicates, list):
        raise KfpError(400, "Invalid input error: the filter has no predicates list")
    return predicates


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _predicate_value(predicate: dict[str, Any]) -> tuple[Any, bool]:
    """(the value, whether it is a list) of a predicate, in either JSON spelling of the fields."""
    for field in ("string_value", "int_value", "long_value", "timestamp_value"):
        for spelling in (field, _camel(field)):
            if spelling in predicate:
                return predicate[spelling], False
    for field in ("string_values", "int_values", "long_values"):
        for spelling in (field, _camel(field)):
            if spelling in predicate:
                return list((predicate[spelling] or {}).get("values") or []), True
    raise KfpError(400, f"Invalid input error: predicate {predicate} has no value")


def _sortable(value: Any, field: str) -> Any:
    if field in _TIME_FIELDS:
        return _parse_time(value) if value else EPOCH
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def _matches(item: dict[str, Any], predicate: dict[str, Any]) -> bool:
    operation = predicate.get("operation")
    operation = _OPERATIONS.get(operation, operation) if isinstance(operation, int) else operation
    key = predicate.get("key", "")
    if key == "name" and "name" not in item:
        key = "display_name"
    actual = item.get(key, "")
    value, many = _predicate_value(predicate)
    if key in _TIME_FIELDS:
        actual = _sortable(actual, key)
        value = [_parse_time(v) for v in value] if many else _parse_time(str(value))
    elif isinstance(actual, str) and not isinstance(value, list):
        value = str(value)
    if operation == "EQUALS":
        return actual == value
    if operation == "NOT_EQUALS":
        return actual != value
    if operation == "IN":
        return actual in (value if many else [value])
    if operation == "IS_SUBSTRING":
        return str(value) in str(actual)
    comparisons = {
        "GREATER_THAN": lambda a, b: a > b,
        "GREATER_THAN_EQUALS": lambda a, b: a >= b,
        "LESS_THAN": lambda a, b: a < b,
        "LESS_THAN_EQUALS": lambda a, b: a <= b,
    }
    if operation in comparisons:
        try:
            return comparisons[operation](actual, value)
        except TypeError:
            return False
    raise KfpError(400, f"Invalid input error: unknown filter operation {predicate.get('operation')!r}")


def _sort_key(sort_by: str) -> tuple[str, bool]:
    """(field, descending) from ``"created_at desc"``; the default is creation time, oldest first."""
    words = sort_by.split()
    if not words:
        return "created_at", False
    if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
        raise KfpError(400, f"Invalid input error: sort_by {sort_by!r} is not '<field> [asc|desc]'")
    field = "display_name" if words[0] == "name" else words[0]
    return field, len(words) == 2 and words[1].lower() == "desc"
