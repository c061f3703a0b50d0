"""The tensorboard component, run with ``kfp.local`` against the Kubernetes API double."""

# No `from __future__ import annotations`: KFP reads component annotations as types.
from pathlib import Path

import pytest
from doubles.kube_api import KubeApiDouble
from kfp import local

from platform_kit import kube
from platform_kit.catalog.components.tensorboard import make_tensorboard
from platform_kit.catalog.runtime import tensorboard
from platform_kit.errors import BadInput

# The runtime image carries this same package, so running the body in this Python is the same code.
pytestmark = pytest.mark.filterwarnings("ignore:You may be attemping to run a task:RuntimeWarning")
LOGS = "s3://acme-artifacts/v2/artifacts/vision/runs/42/logs"


@pytest.fixture()
def cluster_double(tmp_path: Path, monkeypatch):
    with KubeApiDouble() as double:
        double.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vision"}})
        monkeypatch.setenv("KUBECONFIG", str(double.kubeconfig(tmp_path / "kubeconfig")))
        local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
        double.clear_calls()
        yield double


def test_the_component_creates_the_tensorboard_and_a_rerun_writes_nothing(cluster_double: KubeApiDouble) -> None:
    board = make_tensorboard(namespace="vision", dashboard_url="https://kubeflow.sandbox.corp.example")
    task = board(name="run-42", logs_path=LOGS)
    assert task.output == "https://kubeflow.sandbox.corp.example/tensorboard/vision/run-42/"
    obj = cluster_double.get_object(tensorboard.API_VERSION, "Tensorboard", "vision", "run-42")
    assert obj["spec"] == {"logspath": LOGS}
    applies = [c for c in cluster_double.mutations() if c.verb == "apply"]
    assert len(applies) == 1 and applies[0].field_manager == "platform-kit-catalog"

    cluster_double.clear_calls()
    board(name="run-42", logs_path=LOGS)
    assert cluster_double.mutations() == []  # already says the same: read, not written

    board(name="run-42", logs_path=LOGS + "-retry")
    assert cluster_double.get_object(tensorboard.API_VERSION, "Tensorboard", "vision", "run-42")["spec"] == {
        "logspath": LOGS + "-retry"
    }


@pytest.mark.parametrize(
    ("name", "logs", "message"),
    [
        ("Run_42", LOGS, "not a DNS-1123 label"),
        ("run-42", "/local/logs", "is not s3://bucket/prefix"),
        ("run-42", "s3://", "is not s3://bucket/prefix"),
    ],
)
def test_bad_names_and_paths_are_refused_before_any_call(
    cluster_double: KubeApiDouble, name: str, logs: str, message: str
) -> None:
    cluster = kube.Cluster(kube.client_for_context(None))
    with pytest.raises(BadInput, match=message):
        tensorboard.ensure_tensorboard(cluster, namespace="vision", name=name, logs_path=logs)
    assert cluster_double.calls == []
