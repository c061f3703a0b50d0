"""``platform catalog publish``: a built catalog copied into an artifact bucket, on a moto server.

The core (``publish_catalog``) runs against the session's moto server with a fresh, versioned,
SSE-KMS bucket per test; the command runs against the applied sandbox world's real artifact bucket.
Writes are counted twice: client-side (every PutObject the kit sends, through a botocore event
hook) and server-side (the bucket's object versions, which only a PutObject adds).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from platform_kit import aws
from platform_kit.catalog import build
from platform_kit.catalog.publish import POINTER_KEY, load_build, publish_catalog
from platform_kit.errors import BadInput, OperationFailed

IMAGE = "registry.example/ml/catalog-runtime:1.2.3"
OTHER_IMAGE = "registry.example/ml/catalog-runtime:1.2.4"
NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
ENV = "sandbox"


class Interrupted(Exception):
    """Stands in for a publish that stops half-way (a killed CI job, a lost connection)."""


class Recording:
    """The environment's AWS target, with every PutObject's key recorded; ``stop_after`` makes the
    next PutObject after that many raise before it is sent."""

    def __init__(self, target: aws.AwsTarget, stop_after: int | None = None) -> None:
        self.target = target
        self.stop_after = stop_after
        self.puts: list[str] = []

    def client(self, name: str, **kwargs):
        client = self.target.client(name, **kwargs)
        client.meta.events.register("provide-client-params.s3.PutObject", self._on_put)
        return client

    def _on_put(self, params, **_):
        if self.stop_after is not None and len(self.puts) >= self.stop_after:
            raise Interrupted(f"stopped before {params['Key']}")
        self.puts.append(params["Key"])


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two catalog builds (two images, so two catalog versions), each in its own folder; read only."""
    root = tmp_path_factory.mktemp("catalog-builds")
    build.build_catalog(root / "first", IMAGE)
    build.build_catalog(root / "second", OTHER_IMAGE)
    return {"first": root / "first", "second": root / "second"}


@pytest.fixture()
def target(moto_endpoint: str) -> aws.AwsTarget:
    return aws.AwsTarget(
        session=aws.emulator_session("us-east-1"),
        region="us-east-1",
        endpoint_url=moto_endpoint,
        account_id=None,
        ca_bundle=Path(os.environ["AWS_CA_BUNDLE"]),
    )


@pytest.fixture()
def bucket(target: aws.AwsTarget) -> str:
    """A fresh bucket set up like the artifact bucket: versioned, SSE-KMS by default with its own key."""
    name = f"artifacts-{uuid.uuid4().hex[:12]}"
    s3 = target.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    key = target.client("kms").create_key(Description=name)["KeyMetadata"]["Arn"]
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    return name


def _versions(s3, bucket: str, prefix: str = "catalog/") -> list[tuple[str, str]]:
    """Every stored version under prefix, (key, version id), sorted: only a PutObject adds one."""
    found = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        found += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
    return sorted(found)


def _pointer(s3, bucket: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=POINTER_KEY)["Body"].read())


def _expected_keys(root: Path) -> dict[str, bytes]:
    version = (root / "latest").read_text().strip()
    index = json.loads((root / version / "index.json").read_text())
    files = [e["file"] for e in index["entries"]] + ["index.json"]
    return {f"catalog/{version}/{name}": (root / version / name).read_bytes() for name in files}


# The core, on a bucket of its own ----------------------------------------------------------------


def test_a_first_publish_uploads_every_file_then_the_pointer(target, bucket, builds) -> None:
    session = Recording(target)
    result = publish_catalog(session, bucket, builds["first"], now=NOW)
    s3 = target.client("s3")

    expected = _expected_keys(builds["first"])
    version = result.catalog_version
    assert version == (builds["first"] / "latest").read_text().strip()
    # The files in index order, index.json after them, the pointer last, each sent once.
    assert session.puts == [*expected, POINTER_KEY]
    assert session.puts[-2] == f"catalog/{version}/index.json"
    assert [key for key, _ in _versions(s3, bucket)] == sorted([*expected, POINTER_KEY])

    for key, data in expected.items():
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["Metadata"] == {"sha256": hashlib.sha256(data).hexdigest()}, key
        assert head["ContentType"] == ("application/json" if key.endswith(".json") else "application/yaml"), key
        assert head["ServerSideEncryption"] == "aws:kms", "the bucket's default encryption applies"
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data, key

    index = json.loads(expected[f"catalog/{version}/index.json"])
    assert _pointer(s3, bucket) == {
        "catalog_version": version,
        "published_at": "2025-03-04T05:06:07Z",
        "kit_version": index["kit_version"],
    }
    assert s3.head_object(Bucket=bucket, Key=POINTER_KEY)["CacheControl"] == "no-cache"

    assert [(o.name, o.kind, o.action) for o in result.objects] == [
        *((e["name"], e["kind"], "uploaded") for e in index["entries"]),
        ("index.json", "index", "uploaded"),
    ]
    assert all(o.version == e["version"] for o, e in zip(result.objects, index["entries"], strict=False))
    assert result.pointer.action == "uploaded" and result.previous_version is None and not result.unchanged
    data = result.as_dict()
    assert data["uploaded"] == len(expected) and data["pointer"]["action"] == "uploaded"
    assert data["prefix"] == f"catalog/{version}/"
    assert json.loads(json.dumps(data)) == data


def test_the_same_build_again_uploads_nothing(target, bucket, builds) -> None:
    publish_catalog(target, bucket, builds["first"], now=NOW)
    s3 = target.client("s3")
    before = _versions(s3, bucket)
    pointer = _pointer(s3, bucket)

    again = Recording(target)
    result = publish_catalog(again, bucket, builds["first"], now=datetime(2030, 1, 1, tzinfo=UTC))
    assert again.puts == [], "no PutObject was sent"
    assert _versions(s3, bucket) == before, "no object version was added"
    assert _pointer(s3, bucket) == pointer, "published_at is the first publish's"
    assert result.unchanged and result.as_dict()["uploaded"] == 0
    assert {o.action for o in (*result.objects, result.pointer)} == {"unchanged"}
    assert result.previous_version == result.catalog_version and result.published_at == "2025-03-04T05:06:07Z"


def test_a_new_version_adds_its_files_and_moves_only_the_pointer(target, bucket, builds) -> None:
    first = publish_catalog(target, bucket, builds["first"], now=NOW)
    s3 = target.client("s3")
    first_versions = _versions(s3, bucket, f"catalog/{first.catalog_version}/")

    session = Recording(target)
    second = publish_catalog(session, bucket, builds["second"], now=NOW)
    assert second.catalog_version != first.catalog_version
    assert session.puts == [*_expected_keys(builds["second"]), POINTER_KEY]
    assert second.previous_version == first.catalog_version
    assert _pointer(s3, bucket)["catalog_version"] == second.catalog_version
    assert _versions(s3, bucket, f"catalog/{first.catalog_version}/") == first_versions, "the older version stays"

    # Publishing the older build again is a rollback: only the pointer is written.
    back = Recording(target)
    result = publish_catalog(back, bucket, builds["first"], now=NOW)
    assert back.puts == [POINTER_KEY]
    assert result.previous_version == second.catalog_version and result.pointer.action == "uploaded"
    assert {o.action for o in result.objects} == {"unchanged"}
    assert _pointer(s3, bucket)["catalog_version"] == first.catalog_version
    assert len(_versions(s3, bucket, f"catalog/{second.catalog_version}/")) == len(second.objects)


def test_an_interrupted_publish_keeps_the_old_pointer_and_a_rerun_finishes_it(target, bucket, builds) -> None:
    first = publish_catalog(target, bucket, builds["first"], now=NOW)
    s3 = target.client("s3")
    expected = list(_expected_keys(builds["second"]))

    stopped = Recording(target, stop_after=3)
    with pytest.raises(Interrupted):
        publish_catalog(stopped, bucket, builds["second"], now=NOW)
    assert stopped.puts == expected[:3]
    assert _pointer(s3, bucket)["catalog_version"] == first.catalog_version, "readers still see the old version"

    rerun = Recording(target)
    result = publish_catalog(rerun, bucket, builds["second"], now=NOW)
    assert rerun.puts == [*expected[3:], POINTER_KEY], "only what was missing, then the pointer"
    assert [o.action for o in result.objects] == ["unchanged"] * 3 + ["uploaded"] * (len(expected) - 3)
    assert _pointer(s3, bucket)["catalog_version"] == result.catalog_version
    assert [key for key, _ in _versions(s3, bucket, f"catalog/{result.catalog_version}/")] == sorted(expected)


def test_every_file_uploaded_but_no_pointer_yet_uploads_only_the_pointer(target, bucket, builds) -> None:
    stopped = Recording(target, stop_after=len(_expected_keys(builds["first"])))
    with pytest.raises(Interrupted, match=r"latest\.json"):
        publish_catalog(stopped, bucket, builds["first"], now=NOW)
    s3 = target.client("s3")
    assert POINTER_KEY not in {key for key, _ in _versions(s3, bucket)}

    rerun = Recording(target)
    result = publish_catalog(rerun, bucket, builds["first"], now=NOW)
    assert rerun.puts == [POINTER_KEY] and result.previous_version is None
    assert _pointer(s3, bucket)["catalog_version"] == result.catalog_version


def test_an_object_with_other_content_is_replaced_and_said(target, bucket, builds) -> None:
    version = (builds["first"] / "latest").read_text().strip()
    key = f"catalog/{version}/s3_probe.yaml"
    s3 = target.client("s3")
    s3.put_object(Bucket=bucket, Key=key, Body=b"uploaded by hand\n")  # no sha256 recorded
    result = publish_catalog(target, bucket, builds["first"], now=NOW)
    assert (
        s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        == (builds["first"] / version / "s3_probe.yaml").read_bytes()
    )
    assert len(result.notes) == 1 and key in result.notes[0] and "replaced" in result.notes[0]


def test_a_dry_run_reads_and_writes_nothing(target, bucket, builds) -> None:
    session = Recording(target)
    result = publish_catalog(session, bucket, builds["first"], dry_run=True)
    assert session.puts == [] and _versions(target.client("s3"), bucket) == []
    assert {o.action for o in (*result.objects, result.pointer)} == {"would upload"}
    assert result.published_at is None and result.dry_run and not result.unchanged

    publish_catalog(target, bucket, builds["first"], now=NOW)
    again = publish_catalog(Recording(target), bucket, builds["first"], dry_run=True)
    assert again.unchanged


def _copy(builds: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the first build: (its root, its version folder)."""
    root = tmp_path / "catalog"
    shutil.copytree(builds["first"], root)
    return root, root / (root / "latest").read_text().strip()


def _tamper_file(root: Path, directory: Path) -> str:
    path = directory / "batch_job.yaml"
    path.write_text(path.read_text().replace("batch", "batch\u200b", 1))  # one invisible character
    return str(path)


def _tamper_index_version(root: Path, directory: Path) -> str:
    index = json.loads((directory / "index.json").read_text())
    index["entries"][0]["version"] = "0" * 12
    (directory / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return "batch_job.yaml: content does not match"


def _drop_file(root: Path, directory: Path) -> str:
    (directory / "tensorboard.yaml").unlink()
    return f"{directory / 'tensorboard.yaml'}: missing"


def _other_latest(root: Path, directory: Path) -> str:
    (root / "latest").write_text("abcdefabcdef\n")
    return "index.json: missing"


def _escape_the_prefix(root: Path, directory: Path) -> str:
    index = json.loads((directory / "index.json").read_text())
    index["entries"][0]["file"] = "../../elsewhere.yaml"
    (directory / "index.json").write_text(json.dumps(index))
    return "should be batch_job.yaml"


def _catalog_version_forged(root: Path, directory: Path) -> str:
    index = json.loads((directory / "index.json").read_text())
    index["entries"] = index["entries"][1:]  # an entry dropped from the index, its version kept
    (directory / "index.json").write_text(json.dumps(index))
    return "is not the hash of its entries"


@pytest.mark.parametrize(
    "tamper",
    [_tamper_file, _tamper_index_version, _drop_file, _other_latest, _escape_the_prefix, _catalog_version_forged],
)
def test_an_altered_build_is_refused_by_name_before_any_upload(target, bucket, builds, tmp_path, tamper) -> None:
    root, directory = _copy(builds, tmp_path)
    message = tamper(root, directory)
    with pytest.raises(BadInput) as caught:
        load_build(root)
    assert message in caught.value.message, caught.value.message
    assert "platform catalog build" in (caught.value.hint or "")
    session = Recording(target)
    with pytest.raises(BadInput):
        publish_catalog(session, bucket, root)
    assert session.puts == [] and _versions(target.client("s3"), bucket) == []


def test_no_build_names_the_command_to_run(target, bucket, tmp_path) -> None:
    with pytest.raises(BadInput, match="no catalog build in") as caught:
        publish_catalog(target, bucket, tmp_path / "nothing")
    assert "platform catalog build" in (caught.value.hint or "")
    assert _versions(target.client("s3"), bucket) == []


def test_a_missing_bucket_is_a_failed_operation(target, builds) -> None:
    with pytest.raises(OperationFailed, match="does not exist"):
        publish_catalog(target, "no-such-artifact-bucket", builds["first"])


# The command, on the applied sandbox world ------------------------------------------------------


@pytest.fixture(scope="module")
def world(sandbox_world):
    return sandbox_world


@pytest.fixture()
def catalog(cli, world, monkeypatch):
    """Run ``platform catalog ...`` against the world's config (its build folder is <world>/build/catalog)."""
    infra, outputs = world
    config = infra.loaded.config_dir
    monkeypatch.chdir(config.parent)

    def run(*args: str):
        return cli("catalog", *args, "--config-dir", str(config))

    run.infra = infra
    run.bucket = outputs["platform"]["artifact_bucket_name"]
    run.kms_key = outputs["platform"]["artifact_kms_key_arn"]
    run.s3 = infra.session().client("s3")
    return run


def test_cli_publishes_to_the_artifact_bucket_then_says_unchanged(catalog) -> None:
    # A tag of its own gives this test a catalog version no other run has published.
    image = f"registry.example/ml/catalog-runtime:cli-{uuid.uuid4().hex[:8]}"
    code, _, err = catalog("build", "--image", image)
    assert code == 0, err
    root = catalog.infra.loaded.config_dir.parent / "build" / "catalog"
    version = (root / "latest").read_text().strip()
    expected = _expected_keys(root)

    code, out, err = catalog("publish", "--env", ENV, "--dry-run", "-o", "json")
    assert code == 0, err
    dry = json.loads(out)
    assert dry["dry_run"] and {o["action"] for o in dry["objects"]} == {"would upload"}
    assert _versions(catalog.s3, catalog.bucket, f"catalog/{version}/") == []

    code, out, err = catalog("publish", "--env", ENV)
    assert code == 0, err
    assert f"Catalog {version} -> s3://{catalog.bucket}/catalog/{version}/" in out
    index = json.loads(expected[f"catalog/{version}/index.json"])
    for entry in index["entries"]:
        assert any(
            entry["name"] in line and entry["version"] in line and "uploaded" in line for line in out.splitlines()
        )
    assert f"catalog/{version}/: uploaded {len(expected)} of {len(expected)} objects" in err
    assert f"s3://{catalog.bucket}/catalog/latest.json moved: " in err and f"-> {version}" in err
    # A build names one environment's image: the next commands deploy here and build for another env.
    assert "Next:" in err and "platform smoke deploy --env sandbox --all" in err
    assert "platform catalog build --env dev" in err and "platform catalog publish --env dev" not in err

    for key, data in expected.items():
        head = catalog.s3.head_object(Bucket=catalog.bucket, Key=key)
        assert head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest(), key
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == catalog.kms_key, key
    assert _pointer(catalog.s3, catalog.bucket)["catalog_version"] == version
    before = _versions(catalog.s3, catalog.bucket)

    code, out, err = catalog("publish", "--env", ENV, "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["unchanged"] and data["uploaded"] == 0 and data["catalog_version"] == version
    assert data["bucket"] == catalog.bucket and data["pointer"]["action"] == "unchanged"
    code, out, err = catalog("publish", "--env", ENV)
    assert code == 0 and f"s3://{catalog.bucket}/catalog/{version}/: unchanged" in err, err
    assert all("unchanged" in line for line in out.splitlines() if any(e["name"] in line for e in index["entries"]))
    assert _versions(catalog.s3, catalog.bucket) == before, "a second and third publish wrote nothing"


@pytest.mark.parametrize("case", ["no build", "altered build", "unknown env", "no env"])
def test_cli_bad_input_is_exit_2_and_uploads_nothing(catalog, builds, tmp_path, case) -> None:
    before = _versions(catalog.s3, catalog.bucket)
    args = ["publish", "--env", ENV]
    if case == "no build":
        args += ["--from", str(tmp_path / "empty")]
        expected = f"no catalog build in {tmp_path / 'empty'}"
    elif case == "altered build":
        root, directory = _copy(builds, tmp_path)
        expected = _tamper_file(root, directory)
        args += ["--from", str(root)]
    elif case == "unknown env":
        args = ["publish", "--env", "nowhere", "--from", str(builds["first"])]
        expected = "environments.nowhere: no such environment"
    else:
        args = ["publish", "--from", str(builds["first"])]
        expected = "no environment given"
    code, out, err = catalog(*args)
    assert code == 2, err
    assert expected in err and out == ""
    assert len([line for line in err.splitlines() if line.startswith("Error:")]) == 1
    if case in ("no build", "altered build"):
        assert "platform catalog build" in err
    assert _versions(catalog.s3, catalog.bucket) == before
