"""The KFP API double answers the real `kfp.Client` (and its generated `kfp_server_api` layer)."""

# No ``from __future__ import annotations``: KFP reads the test component's annotations as types.
import datetime as dt
import json
from pathlib import Path

import kfp
import pytest
from doubles.kfp_api import KfpApiDouble
from kfp import compiler, dsl
from kfp_server_api.exceptions import ApiException

pytestmark = pytest.mark.filterwarnings("ignore:This client only works with Kubeflow Pipeline:FutureWarning")

T0 = dt.datetime(2025, 3, 1, 6, 0, tzinfo=dt.UTC)


@pytest.fixture()
def kfp_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # The client reads (and may write) a context file under HOME: keep it in the test's folder.
    monkeypatch.setattr(kfp.Client, "_LOCAL_KFP_CONTEXT", str(tmp_path / "kfp-context.json"))
    with KfpApiDouble(prefix="/pipeline") as double:
        yield double
    assert not double.internal_errors, double.internal_errors[0]
    assert not double.unexpected, double.unexpected


def client(double: KfpApiDouble, token: str | None = None, namespace: str = "vision") -> kfp.Client:
    return kfp.Client(host=double.url, existing_token=token or double.token, namespace=namespace)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    @dsl.component(base_image="python:3.11-slim")
    def say(text: str) -> str:
        return text

    @dsl.pipeline(name="hello")
    def hello(text: str = "hi"):
        say(text=text)

    path = tmp_path_factory.mktemp("kfp-package") / "hello.yaml"
    compiler.Compiler().compile(hello, str(path))
    return path


def _filter(key: str, value: str, operation: str = "EQUALS") -> str:
    return json.dumps({"predicates": [{"operation": operation, "key": key, "string_value": value}]})


def test_a_client_without_a_namespace_asks_healthz_and_finds_multi_user_mode(kfp_api) -> None:
    plain = kfp.Client(host=kfp_api.url, existing_token=kfp_api.token)
    assert plain.get_kfp_healthz().multi_user is True
    assert kfp_api.operations() == ["GetHealthz", "GetHealthz"]


def test_pipelines_and_versions_upload_list_and_get(kfp_api, package: Path, capsys) -> None:
    kfp_client = client(kfp_api)
    assert kfp_client.get_pipeline_id("hello") is None
    pipeline = kfp_client.upload_pipeline(str(package), pipeline_name="hello", description="a test")
    assert kfp_client.get_pipeline_id("hello") == pipeline.pipeline_id
    assert kfp_client.get_pipeline(pipeline.pipeline_id).display_name == "hello"
    version = kfp_client.upload_pipeline_version(str(package), "abc123", pipeline_id=pipeline.pipeline_id)
    listed = kfp_client.list_pipeline_versions(pipeline.pipeline_id, filter=_filter("name", "abc123"))
    assert [v.pipeline_version_id for v in listed.pipeline_versions] == [version.pipeline_version_id]
    got = kfp_client.get_pipeline_version(pipeline.pipeline_id, version.pipeline_version_id)
    assert got.pipeline_spec["pipelineInfo"]["name"] == "hello"
    # The first version is named like the pipeline, as the real server names it on upload.
    names = [v.name for v in kfp_client.list_pipeline_versions(pipeline.pipeline_id).pipeline_versions]
    assert names == ["hello", "abc123"]
    with pytest.raises(ApiException) as taken:
        kfp_client.upload_pipeline_version(str(package), "abc123", pipeline_id=pipeline.pipeline_id)
    assert taken.value.status == 409
    uploads = [c for c in kfp_api.calls if c.operation == "UploadPipelineVersion"]
    assert uploads[0].body["file"] == "hello.yaml" and uploads[0].body["bytes"] == package.stat().st_size
    # An empty pipeline through the generated API, as `platform smoke deploy` creates it.
    empty = kfp_client.pipelines.pipeline_service_create_pipeline(
        pipeline=kfp_client.api_models.V2beta1Pipeline(display_name="empty")
    )
    assert kfp_client.list_pipeline_versions(empty.pipeline_id).pipeline_versions is None


def test_experiments_are_per_namespace_and_unique_by_name(kfp_api) -> None:
    kfp_client = client(kfp_api)
    first = kfp_client.create_experiment("smoke", namespace="vision")
    again = kfp_client.create_experiment("smoke", namespace="vision")  # the client looks it up first
    other = kfp_client.create_experiment("smoke", namespace="planning")
    assert again.experiment_id == first.experiment_id != other.experiment_id
    assert [c.operation for c in kfp_api.mutations()] == ["CreateExperiment", "CreateExperiment"]
    assert [c.namespace for c in kfp_api.mutations()] == ["vision", "planning"]
    listed = kfp_client.list_experiments(namespace="vision")
    assert [e.display_name for e in listed.experiments] == ["smoke"]
    with pytest.raises(ApiException) as taken:
        kfp_client._experiment_api.experiment_service_create_experiment(
            experiment=kfp_client.api_models.V2beta1Experiment(display_name="smoke", namespace="vision")
        )
    assert taken.value.status == 409


def test_recurring_runs_create_list_toggle_and_delete(kfp_api, package: Path) -> None:
    kfp_client = client(kfp_api)
    pipeline = kfp_client.upload_pipeline(str(package), pipeline_name="hello")
    version = kfp_client.list_pipeline_versions(pipeline.pipeline_id).pipeline_versions[0]
    experiment = kfp_client.create_experiment("smoke", namespace="vision")
    created = kfp_client.create_recurring_run(
        experiment.experiment_id,
        "nightly",
        cron_expression="0 0 6 * * *",
        params={"text": "hello", "flag": True, "empty": ""},
        pipeline_id=pipeline.pipeline_id,
        version_id=version.pipeline_version_id,
        no_catchup=True,
    )
    assert created.namespace == "vision" and created.status == "ENABLED"
    assert kfp_api.mutations()[-1].namespace == "vision"
    by_namespace = kfp_client.list_recurring_runs(namespace="vision", filter=_filter("display_name", "nightly"))
    by_experiment = kfp_client.list_recurring_runs(experiment_id=experiment.experiment_id)
    assert [r.recurring_run_id for r in by_namespace.recurring_runs] == [created.recurring_run_id]
    assert [r.recurring_run_id for r in by_experiment.recurring_runs] == [created.recurring_run_id]
    got = kfp_client.get_recurring_run(created.recurring_run_id)
    assert got.trigger.cron_schedule.cron == "0 0 6 * * *"
    assert got.runtime_config.parameters == {"text": "hello", "flag": True, "empty": ""}  # user data: kept whole
    assert got.pipeline_version_reference.pipeline_version_id == version.pipeline_version_id
    kfp_client.disable_recurring_run(created.recurring_run_id)
    assert kfp_client.get_recurring_run(created.recurring_run_id).mode == "DISABLE"
    kfp_client.enable_recurring_run(created.recurring_run_id)
    assert kfp_client.get_recurring_run(created.recurring_run_id).status == "ENABLED"
    kfp_client.delete_recurring_run(created.recurring_run_id)
    assert kfp_client.list_recurring_runs(namespace="vision").recurring_runs is None
    assert kfp_api.recurring_runs() == []


def test_seeded_runs_list_by_namespace_with_pages_filter_and_sort(kfp_api) -> None:
    kfp_client = client(kfp_api)
    states = ["SUCCEEDED", "FAILED", "RUNNING"]
    ids = [
        kfp_api.seed_run(
            "vision",
            "platform-health",
            states[i % 3],
            T0 + dt.timedelta(days=i),
            None if states[i % 3] == "RUNNING" else T0 + dt.timedelta(days=i, minutes=7),
            tasks=("s3-probe", "batch-job"),
        )
        for i in range(23)
    ]
    kfp_api.seed_run("planning", "platform-health", "SUCCEEDED", T0)  # another namespace: not listed
    seen, token, pages = [], "", 0
    while True:
        page = kfp_client.list_runs(namespace="vision", page_size=10, page_token=token)
        assert page.total_size == 23
        seen += [run.run_id for run in page.runs]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == 3 and seen == ids  # oldest first by default, none repeated or skipped
    failed = kfp_client.list_runs(namespace="vision", filter=_filter("state", "FAILED"), page_size=100)
    assert {run.state for run in failed.runs} == {"FAILED"} and len(failed.runs) == 8
    newest = kfp_client.list_runs(namespace="vision", sort_by="created_at desc", page_size=1).runs[0]
    assert newest.run_id == ids[-1] and newest.created_at == T0 + dt.timedelta(days=22)
    after = json.dumps(
        {
            "predicates": [
                {"operation": "GREATER_THAN_EQUALS", "key": "created_at", "timestamp_value": "2025-03-20T00:00:00Z"}
            ]
        }
    )
    assert kfp_client.list_runs(namespace="vision", filter=after).total_size == 4
    run = kfp_client.get_run(ids[0])
    assert run.state == "SUCCEEDED" and run.finished_at == T0 + dt.timedelta(minutes=7)
    assert [t.display_name for t in run.run_details.task_details] == ["s3-probe", "batch-job"]
    pipeline_id = run.pipeline_version_reference.pipeline_id
    assert kfp_client.get_pipeline(pipeline_id).display_name == "platform-health"
    running = kfp_client.get_run(ids[2])
    assert running.state == "RUNNING" and running.finished_at == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    # An item added between pages neither repeats nor shifts the next page.
    first = kfp_client.list_runs(namespace="vision", page_size=20)
    kfp_api.seed_run("vision", "platform-health", "SUCCEEDED", T0 - dt.timedelta(days=1))
    rest = kfp_client.list_runs(namespace="vision", page_size=20, page_token=first.next_page_token)
    assert [r.run_id for r in first.runs + rest.runs] == ids
    assert kfp_api.mutations() == []


def test_seeded_runs_of_a_recurring_run_share_its_experiment(kfp_api, package: Path) -> None:
    kfp_client = client(kfp_api)
    pipeline = kfp_client.upload_pipeline(str(package), pipeline_name="platform-health")
    version = kfp_client.list_pipeline_versions(pipeline.pipeline_id).pipeline_versions[0]
    experiment = kfp_client.create_experiment("platform-health", namespace="vision")
    recurring = kfp_client.create_recurring_run(
        experiment.experiment_id,
        "platform-health",
        cron_expression="0 0 6 * * *",
        pipeline_id=pipeline.pipeline_id,
        version_id=version.pipeline_version_id,
    )
    run_id = kfp_api.seed_run("vision", "platform-health", "SUCCEEDED", T0, recurring_run_id=recurring.recurring_run_id)
    run = kfp_client.get_run(run_id)
    assert run.recurring_run_id == recurring.recurring_run_id and run.experiment_id == experiment.experiment_id
    assert run.pipeline_version_reference.pipeline_id == pipeline.pipeline_id
    listed = kfp_client.list_runs(experiment_id=experiment.experiment_id)
    assert [r.run_id for r in listed.runs] == [run_id]


def test_a_wrong_token_is_401_and_logged(kfp_api) -> None:
    with pytest.raises(ApiException) as refused:
        client(kfp_api, token="not-the-token").list_pipelines()
    assert refused.value.status == 401
    assert [(c.operation, c.status) for c in kfp_api.calls] == [("ListPipelines", 401)]


def test_faults_hit_the_matching_calls_only(kfp_api) -> None:
    kfp_client = client(kfp_api)
    kfp_api.seed_run("vision", "platform-health", "SUCCEEDED", T0)
    kfp_api.fail(503, operation="ListRuns", namespace="vision")
    assert kfp_client.list_runs(namespace="planning").runs is None  # other namespace: not hit
    with pytest.raises(ApiException) as unavailable:
        kfp_client.list_runs(namespace="vision")
    assert unavailable.value.status == 503
    assert len(kfp_client.list_runs(namespace="vision").runs) == 1  # "once": the next call passes
    assert [c.status for c in kfp_api.calls] == [200, 503, 200]


def test_multi_user_mode_wants_a_namespace_to_list_runs(kfp_api) -> None:
    kfp_client = kfp.Client(host=kfp_api.url, existing_token=kfp_api.token)  # no namespace set
    with pytest.raises(ApiException) as refused:
        kfp_client.list_runs()
    assert refused.value.status == 400
