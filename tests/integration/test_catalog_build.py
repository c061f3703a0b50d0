"""``platform catalog build``: the whole catalog compiled with the real KFP compiler, versioned by content.

The interface golden ``tests/golden/catalog/interface.json`` holds each entry's kind, inputs and
outputs (not the whole YAML), so a pull request that changes a component's or pipeline's interface
shows it as a diff. When ``test_interface_golden_is_current`` fails, regenerate it and commit it::

    .venv/bin/python -m platform_kit.catalog.build            # rewrite tests/golden/catalog/interface.json
    .venv/bin/python -m platform_kit.catalog.build --check    # exit 1 when it is stale
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from platform_kit.catalog import build, images
from platform_kit.catalog.registry import COMPONENTS
from platform_kit.errors import BadInput

IMAGE = "registry.example/ml/catalog-runtime:1.2.3"
OTHER_IMAGE = "registry.example/ml/catalog-runtime@sha256:" + "ab" * 32
PIPELINES = {"platform-health"}
HEX12 = re.compile(r"^[0-9a-f]{12}$")


def _files(root: Path) -> dict[str, int]:
    """Every file under root, relative path -> mtime in ns."""
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in sorted(root.rglob("*")) if p.is_file()}


def _spec_interface(path: Path) -> tuple[dict, dict, set[str]]:
    """Read inputs, outputs and images straight from a compiled file, independently of the kit's reader."""
    spec = next(yaml.safe_load_all(path.read_text()))
    root = spec["root"]
    inputs, outputs = {}, {}
    for group in ("parameters", "artifacts"):
        for name, d in root.get("inputDefinitions", {}).get(group, {}).items():
            inputs[name] = (d.get("parameterType") or d["artifactType"]["schemaTitle"], d.get("defaultValue"))
        for name, d in root.get("outputDefinitions", {}).get(group, {}).items():
            outputs[name] = d.get("parameterType") or d["artifactType"]["schemaTitle"]
    used = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values() if "container" in e}
    return inputs, outputs, used


def test_builds_every_component_and_the_pipeline(tmp_path: Path) -> None:
    out = tmp_path / "catalog"
    index = build.build_catalog(out, IMAGE)

    names = [e.name for e in index.entries]
    assert set(names) == set(COMPONENTS) | PIPELINES and len(names) == len(set(names))
    assert [(e.kind, e.name) for e in index.entries] == sorted((e.kind, e.name) for e in index.entries), (
        "sorted by kind (component < pipeline), then name"
    )
    assert {e.name: e.kind for e in index.entries}["platform-health"] == "pipeline"
    assert all(index.entry(n).kind == "component" for n in COMPONENTS)

    directory = out / index.catalog_version
    assert HEX12.match(index.catalog_version) and index.directory == directory
    assert (out / "latest").read_text() == index.catalog_version + "\n"
    pairs = "".join(f"{e.name} {e.version}\n" for e in sorted(index.entries, key=lambda e: e.name))
    assert index.catalog_version == hashlib.sha256(pairs.encode()).hexdigest()[:12]

    for entry in index.entries:
        path = directory / entry.file
        assert entry.file == f"{entry.name}.yaml" and path.is_file()
        assert HEX12.match(entry.version)
        assert entry.version == hashlib.sha256(path.read_bytes()).hexdigest()[:12], entry.name
        inputs, outputs, used = _spec_interface(path)
        assert set(entry.inputs) == set(inputs) and inputs, entry.name
        for name, (kind, default) in inputs.items():
            assert entry.inputs[name]["type"] == kind, (entry.name, name)
            assert entry.inputs[name].get("default") == default, (entry.name, name)
            assert ("default" in entry.inputs[name]) == (default is not None), (entry.name, name)
        assert entry.outputs == outputs, entry.name
        assert entry.images == [IMAGE] and used == {IMAGE}, entry.name

    # A few facts known from the factories, so the reader is checked against intent, not only itself.
    slack = index.entry("slack_notify")
    assert slack.inputs["pipeline_name"] == {"type": "STRING"}
    assert slack.inputs["fail_on_error"] == {"type": "BOOLEAN", "default": False}
    assert slack.outputs == {"Output": "BOOLEAN"}
    assert index.entry("batch_job").inputs["array_size"] == {"type": "NUMBER_INTEGER", "default": 0}
    assert set(index.entry("sagemaker_training").outputs) == {"model_artifacts", "status"}

    on_disk = json.loads(index.index_path.read_text())
    assert index.index_path.read_text() == json.dumps(on_disk, indent=2, sort_keys=True) + "\n"
    assert on_disk == index.as_dict()
    assert on_disk["catalog_version"] == index.catalog_version and on_disk["image"] == IMAGE
    assert on_disk["kit_version"] == version("platform-kit")
    assert [e["name"] for e in on_disk["entries"]] == names
    assert set(_files(out)) == {"latest", f"{index.catalog_version}/index.json"} | {
        f"{index.catalog_version}/{n}.yaml" for n in names
    }
    assert not any(p.name.endswith(".tmp") for p in out.rglob("*"))


def test_a_second_build_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "catalog"
    first = build.build_catalog(out, IMAGE)
    assert not first.unchanged and len(first.written) == len(first.entries) + 2  # entries, index.json, latest
    before = _files(out)
    again = build.build_catalog(out, IMAGE)
    assert again.unchanged and again.written == ()
    assert again.catalog_version == first.catalog_version and again.as_dict() == first.as_dict()
    assert _files(out) == before

    # A lost file is written again, and only that one.
    (first.directory / "tensorboard.yaml").unlink()
    repaired = build.build_catalog(out, IMAGE)
    assert repaired.written == (first.directory / "tensorboard.yaml",) and not repaired.unchanged


def test_another_image_changes_every_version(tmp_path: Path) -> None:
    out = tmp_path / "catalog"
    first = build.build_catalog(out, IMAGE)
    other = build.build_catalog(out, OTHER_IMAGE)
    assert other.catalog_version != first.catalog_version
    assert all(other.entry(e.name).version != e.version for e in first.entries)
    assert all(e.images == [OTHER_IMAGE] for e in other.entries)
    assert (out / "latest").read_text() == other.catalog_version + "\n"
    assert first.index_path.is_file() and other.index_path.is_file(), "older catalog versions stay"
    # Back to the first image: its folder is already there, only latest moves.
    back = build.build_catalog(out, IMAGE)
    assert back.catalog_version == first.catalog_version and back.written == (out / "latest",)


def test_same_inputs_same_bytes_in_another_process(tmp_path: Path) -> None:
    here = build.build_catalog(tmp_path / "here", IMAGE)
    script = "import sys; from pathlib import Path; from platform_kit.catalog.build import build_catalog; "
    script += "build_catalog(Path(sys.argv[1]), sys.argv[2])"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "there"), IMAGE], check=True, env=env, timeout=120)
    there = tmp_path / "there" / here.catalog_version
    assert there.is_dir(), "the other process built a different catalog version"
    for path in sorted(here.directory.iterdir()):
        assert (there / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize("image", ["python:latest", "python", "not an image"])
def test_an_unpinned_image_is_bad_input_and_writes_nothing(tmp_path: Path, image: str) -> None:
    with pytest.raises(BadInput, match="--image"):
        build.build_catalog(tmp_path / "catalog", image)
    assert not (tmp_path / "catalog").exists()


def test_interface_golden_is_current() -> None:
    golden = build.GOLDEN
    assert golden == Path(__file__).resolve().parents[1] / "golden" / "catalog" / "interface.json"
    current = build.current_interface()
    assert golden.is_file() and golden.read_text() == current, (
        "tests/golden/catalog/interface.json is stale: run .venv/bin/python -m platform_kit.catalog.build "
        "and commit the diff (it shows the interface change)"
    )
    data = json.loads(current)
    assert set(data) == set(COMPONENTS) | PIPELINES
    assert all(set(entry) == {"kind", "inputs", "outputs"} for entry in data.values())
    assert IMAGE not in current and images.runtime_image() not in current, "the golden does not depend on the image"


def test_golden_regeneration_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    golden = tmp_path / "interface.json"
    assert build.main(["--golden", str(golden), "--check"]) == 1
    assert not golden.exists()
    assert build.main(["--golden", str(golden)]) == 0 and golden.read_text() == build.current_interface()
    assert build.main(["--golden", str(golden), "--check"]) == 0
    assert build.main(["--golden", str(golden)]) == 0 and "unchanged" in capsys.readouterr().out
    # An interface change (here: an input removed from the committed golden) is caught.
    data = json.loads(golden.read_text())
    del data["slack_notify"]["inputs"]["fail_on_error"]
    golden.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    assert build.main(["--golden", str(golden), "--check"]) == 1
    assert "stale" in capsys.readouterr().out


def test_cli_table_then_unchanged(cli, tmp_path: Path) -> None:
    out = tmp_path / "catalog"
    code, stdout, stderr = cli("catalog", "build", "--out", str(out), "--image", IMAGE)
    assert code == 0, stderr
    index = json.loads((out / (out / "latest").read_text().strip() / "index.json").read_text())
    assert f"Catalog {index['catalog_version']}" in stdout
    for entry in index["entries"]:
        assert re.search(rf"{re.escape(entry['name'])}\s+│\s+{entry['kind']}\s+│\s+{entry['version']}\s+│\s+", stdout)
    assert IMAGE in stdout
    assert f"{out / index['catalog_version'] / 'index.json'}: wrote {len(index['entries']) + 2} file(s)" in stderr
    assert ": unchanged" not in stderr and "Next:" in stderr and "pipeline create -p platform-health" in stderr

    before = _files(out)
    code, _, stderr = cli("catalog", "build", "--out", str(out), "--image", IMAGE)
    assert code == 0 and f"{out / index['catalog_version'] / 'index.json'}: unchanged" in stderr
    assert ": wrote" not in stderr
    assert _files(out) == before


def test_cli_json_is_the_index(cli, tmp_path: Path) -> None:
    out = tmp_path / "catalog"
    code, stdout, stderr = cli("catalog", "build", "--out", str(out), "--image", IMAGE, "-o", "json")
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data == json.loads((out / data["catalog_version"] / "index.json").read_text())
    assert {e["name"] for e in data["entries"]} == set(COMPONENTS) | PIPELINES and data["image"] == IMAGE


def test_cli_defaults_need_no_environment(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default --out is build/catalog beside platform/, default --image the runtime image; no --env, no AWS."""
    for var in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    code, stdout, stderr = cli("catalog", "build", "-o", "json")
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["image"] == images.runtime_image()
    assert (tmp_path / "build" / "catalog" / data["catalog_version"] / "index.json").is_file()
    code, stdout, stderr = cli("catalog", "build", "--config-dir", str(tmp_path / "elsewhere" / "platform"))
    assert code == 0, stderr
    assert (tmp_path / "elsewhere" / "build" / "catalog" / "latest").read_text().strip() == data["catalog_version"]


def test_cli_unpinned_image_exits_2_and_creates_nothing(cli, tmp_path: Path) -> None:
    out = tmp_path / "catalog"
    code, stdout, stderr = cli("catalog", "build", "--out", str(out), "--image", "python:latest")
    assert code == 2
    assert "Error: --image 'python:latest' is not pinned" in stderr and "digest" in stderr
    assert stdout == "" and not out.exists()
    code, stdout, _ = cli("catalog", "build", "--out", str(out), "--image", "python:latest", "-o", "json")
    assert code == 2 and json.loads(stdout)["ok"] is False and not out.exists()
