"""The EKS bearer token the kit makes without the AWS CLI, and the read-before-write comparison."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import boto3

from platform_kit import kube


def _sts():
    session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="us-west-2")
    return session.client("sts", region_name="us-west-2", endpoint_url="https://sts.us-west-2.amazonaws.com")


def _decode(token: str) -> str:
    assert token.startswith("k8s-aws-v1.")
    body = token.removeprefix("k8s-aws-v1.")
    assert "=" not in body  # padding stripped, as aws eks get-token does
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


def test_token_is_a_presigned_get_caller_identity_with_the_cluster_in_a_signed_header() -> None:
    url = urlsplit(_decode(kube.eks_token(_sts(), "acme-dev")))
    query = parse_qs(url.query)
    assert url.scheme == "https" and url.netloc == "sts.us-west-2.amazonaws.com"
    assert query["Action"] == ["GetCallerIdentity"] and query["Version"] == ["2011-06-15"]
    assert query["X-Amz-Expires"] == ["60"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0].split(";")
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")
    assert "acme-dev" not in url.query  # the cluster name travels in the signed header, not the URL


def test_tokens_differ_per_cluster_and_the_client_is_left_clean() -> None:
    sts = _sts()
    first, second = kube.eks_token(sts, "acme-dev"), kube.eks_token(sts, "acme-prod")
    assert (
        parse_qs(urlsplit(_decode(first)).query)["X-Amz-Signature"]
        != parse_qs(urlsplit(_decode(second)).query)["X-Amz-Signature"]
    )
    # The handlers are unregistered: a plain presign afterwards has no x-k8s-aws-id.
    plain = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60)
    assert "x-k8s-aws-id" not in parse_qs(urlsplit(plain).query)["X-Amz-SignedHeaders"][0]


def test_contains_is_a_subset_match_for_maps_and_exact_for_lists() -> None:
    live = {"metadata": {"name": "a", "labels": {"x": "1", "y": "2"}, "uid": "u"}, "spec": {"l": [{"a": 1, "b": 2}]}}
    assert kube.contains(live, {"metadata": {"name": "a", "labels": {"x": "1"}}})
    assert kube.contains(live, {"spec": {"l": [{"a": 1}]}})
    assert not kube.contains(live, {"metadata": {"labels": {"x": "2"}}})
    assert not kube.contains(live, {"spec": {"l": [{"a": 1}, {"a": 2}]}})
    assert not kube.contains(live, {"spec": {"missing": "x"}})
    # A null asks for nothing: controller-gen CRDs carry `creationTimestamp: null`, which the server drops.
    assert kube.contains(live, {"metadata": {"name": "a", "creationTimestamp": None}, "spec": {"missing": None}})


def test_quantities_are_compared_by_value_only_where_the_server_normalises_them() -> None:
    live = {
        "spec": {
            "resourceQuotaSpec": {"hard": {"cpu": "500m", "memory": "1Gi", "requests.nvidia.com/gpu": "2"}},
            "limits": [{"type": "Container", "default": {"cpu": "1", "memory": "512Mi"}}],
        },
        "metadata": {"labels": {"size": "1k"}},
    }
    # The API server hands back canonical forms; the kit's spelling must still count as applied.
    assert kube.contains(live, {"spec": {"resourceQuotaSpec": {"hard": {"cpu": "0.5", "memory": "1024Mi"}}}})
    assert kube.contains(live, {"spec": {"resourceQuotaSpec": {"hard": {"requests.nvidia.com/gpu": 2}}}})
    assert kube.contains(live, {"spec": {"limits": [{"type": "Container", "default": {"cpu": 1, "memory": "0.5Gi"}}]}})
    # A different amount is a change, and labels are plain strings, never quantities.
    assert not kube.contains(live, {"spec": {"resourceQuotaSpec": {"hard": {"cpu": "600m"}}}})
    assert not kube.contains(live, {"spec": {"limits": [{"type": "Pod", "default": {"cpu": "1"}}]}})
    assert not kube.contains(live, {"metadata": {"labels": {"size": "1000"}}})
