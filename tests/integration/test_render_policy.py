"""checkov's Kubernetes checks and the kit's own checks over a real upstream render.

One render: the upstream Kubeflow subset the platform uses (v1.10.2, optional components off,
built with the real ``kubectl kustomize`` from the offline snapshot) plus one deliberately bad
Deployment labelled as the kit's own. One checkov run (about 5 s) serves every test here: the
upstream objects must end with zero failures after the justified skips, while the kit's object
must keep its failures, including for checks that are skipped on upstream objects.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from conftest import UPSTREAM

from platform_kit import kubectl, policy
from platform_kit.errors import BadInput
from platform_kit.render import checks, kustomize

VERSION = "v1.10.2"
KIT_FILE = "kit/bad-deployment.yaml"
KIT_DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "kit-bad",
        "namespace": "kubeflow",
        "labels": {"app.kubernetes.io/managed-by": "platform-kit"},
    },
    "spec": {
        "selector": {"matchLabels": {"app": "kit-bad"}},
        "template": {
            "metadata": {"labels": {"app": "kit-bad"}},
            "spec": {"containers": [{"name": "app", "image": "nginx:latest", "securityContext": {"privileged": True}}]},
        },
    },
}


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rendered directory: upstream's platform subset in one file, the kit's bad object in another."""
    snapshot = UPSTREAM / "kubeflow-manifests" / VERSION
    build = tmp_path_factory.mktemp("upstream-subset")
    paths = [p for c in kustomize.components(VERSION) if not c.optional for p in c.paths]
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "sortOptions": kustomize.sort_options(),
        "resources": [os.path.relpath(snapshot / p, build) for p in paths],  # kustomize wants relative paths
    }
    (build / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    built = kubectl.kustomize_build(build, timeout=120)
    out = tmp_path_factory.mktemp("rendered")
    (out / "upstream.yaml").write_text(built)
    (out / KIT_FILE).parent.mkdir()
    (out / KIT_FILE).write_text(yaml.safe_dump(KIT_DEPLOYMENT))
    return out


@pytest.fixture(scope="module")
def report(render: Path) -> policy.PolicyReport:
    return policy.scan_kubernetes(render)


@pytest.fixture(scope="module")
def upstream_objects(render: Path) -> list[dict]:
    return [obj for source, obj in policy.load_objects(render) if source != KIT_FILE]


def test_upstream_subset_has_no_failure_left_after_the_justified_skips(
    report: policy.PolicyReport, upstream_objects: list[dict]
) -> None:
    upstream_failures = [f for f in report.failures if f"({KIT_FILE}" not in f]
    assert upstream_failures == []
    assert report.objects == len(upstream_objects) + 1 > 300
    assert report.passed > 2000 and report.skipped > 100
    assert all(reason.strip() for _, _, reason in report.skips)
    # checkov cannot read Istio's sidecar template (it looks like Helm); the report says so.
    assert any(item.startswith("ConfigMap istio-system/istio-sidecar-injector") for item in report.not_scanned)


def test_the_kits_own_object_gets_no_skip(report: policy.PolicyReport) -> None:
    kit_failures = {f.split(" ")[0] for f in report.failures if f"({KIT_FILE}, kit object)" in f}
    # Skipped on upstream objects (CKV_K8S_43 for all of them, CKV_K8S_20 for named ones), failed here.
    assert {"CKV_K8S_43", "CKV_K8S_20", "CKV_K8S_16"} <= kit_failures
    assert not any(resource == "Deployment kubeflow/kit-bad" for _, resource, _ in report.skips)


def test_named_skips_never_cover_a_kit_object_of_the_same_name() -> None:
    skip = policy.load_kubernetes_skips()["CKV_K8S_20"]
    upstream = {"kind": "Deployment", "metadata": {"name": "centraldashboard", "namespace": "kubeflow"}}
    kit = {**upstream, "metadata": {**upstream["metadata"], "labels": {"app.kubernetes.io/managed-by": "platform-kit"}}}
    assert skip.covers(upstream) and not skip.covers(kit)


def test_kit_checks_find_upstreams_default_credentials(upstream_objects: list[dict]) -> None:
    findings = checks.run_all(upstream_objects)
    for credential in checks.DEFAULT_CREDENTIALS:
        assert any(credential.what in f for f in findings), credential.what
    assert any("placeholder AWS_REGION" in f for f in findings)
    assert any("placeholder CLUSTER_ID" in f for f in findings)
    assert any(f.startswith("Secret oauth2-proxy/oauth2-proxy-") and "carries values" in f for f in findings)
    # Names and prose that merely contain a placeholder word (ISTIO_META_CLUSTER_ID, cert-manager's
    # CRD descriptions of AWS_REGION) are not findings.
    assert not any(f.startswith(("CustomResourceDefinition", "Deployment istio-system/istiod")) for f in findings)


def test_security_doc_gets_a_kubernetes_section_after_the_terraform_one(report: policy.PolicyReport) -> None:
    terraform = policy.PolicyReport(1, 0, 0, 1, "3.x")
    doc = policy.markdown(terraform, report, findings=["Role a/b: rule 0 has '*' in verbs"])
    assert doc.startswith(policy.markdown(terraform))
    section = doc[len(policy.markdown(terraform)) :]
    assert section.startswith("\n## Policy checks on the rendered Kubernetes objects (checkov)\n")
    assert f"| {report.passed} | {report.failed} | {report.skipped} | {report.resources} |" in section
    for check, _, reason in report.skips:
        assert f"| {check} |" in section and reason in section
    assert "Findings on this render: 1." in section and "- Role a/b: rule 0 has '*' in verbs" in section


def test_a_build_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
    with pytest.raises(BadInput, match="kustomize build directory"):
        policy.load_objects(tmp_path)


def test_skip_table_entries_must_have_a_reason_and_a_scope(tmp_path: Path) -> None:
    table = policy.load_kubernetes_skips()
    assert table and all(skip.reason for skip in table.values())
    bad = tmp_path / "skips.yaml"
    bad.write_text("skips:\n  CKV_K8S_43:\n    scope: upstream\n")
    with pytest.raises(BadInput, match="no reason"):
        policy.load_kubernetes_skips(bad)
    bad.write_text("skips:\n  CKV_K8S_43:\n    reason: r\n    scope: everything\n")
    with pytest.raises(BadInput, match="scope"):
        policy.load_kubernetes_skips(bad)
