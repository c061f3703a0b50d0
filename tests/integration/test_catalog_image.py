"""The catalog's runtime image: its build context and tag, and building and pushing it.

ECR is the moto server (real boto3). The container engine is a double (tests/doubles/
container_engine.py) put first on PATH as ``docker``: no engine can run here. Its push stands in
for the registry protocol by putting the tag into moto's ECR, so the kit's checks read real state.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import uuid
from importlib import metadata
from pathlib import Path

import pytest
from conftest import REPO_ROOT, moto_client

from platform_kit.catalog import images
from platform_kit.catalog import runtime_image as runtime
from platform_kit.errors import BadInput, OperationFailed

DOUBLE = REPO_ROOT / "tests" / "doubles" / "container_engine.py"


@pytest.fixture()
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``docker`` on PATH is the engine double; returns a reader of its call log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "docker"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{DOUBLE}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bin_dir))  # only the double: a real engine here must not be used
    monkeypatch.setenv("ENGINE_DOUBLE_LOG", str(tmp_path / "engine.log"))
    monkeypatch.setenv("ENGINE_DOUBLE_STATE", str(tmp_path / "engine.json"))

    def calls() -> list[dict]:
        path = tmp_path / "engine.log"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []

    return calls


@pytest.fixture()
def registry(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> runtime.Registry:
    """A fresh ECR repository in moto, as the platform stack creates it (immutable tags)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)  # for the engine double's push
    ecr = moto_client("ecr", moto_endpoint)
    name = f"acme-{uuid.uuid4().hex[:8]}/catalog"
    url = ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")["repository"]["repositoryUri"]
    return runtime.Registry(url, ecr, name)


def test_the_context_pins_the_runtime_libraries_and_holds_only_the_catalog_runtime() -> None:
    context = runtime.context_files()
    dockerfile = context["Dockerfile"].decode()
    assert f"FROM {runtime.DEFAULT_BASE_IMAGE}\n" in dockerfile and "USER 10001" in dockerfile
    pins = dict(line.split("==") for line in context["requirements.txt"].decode().split())
    for name in ("kfp", "boto3", "botocore", "kubernetes", "requests", "urllib3"):
        assert pins[name] == metadata.version(name), name
    assert not {"moto", "pytest", "typer", "platform-kit"} & set(pins), "only what the components need"
    kit = sorted(name for name in context if name.startswith("platform_kit/"))
    assert "platform_kit/catalog/runtime/sagemaker.py" in kit and "platform_kit/errors.py" in kit
    assert not [name for name in kit if "/commands/" in name or name.endswith("cli.py")]


def test_the_tag_is_a_hash_of_the_context() -> None:
    context = runtime.context_files()
    tag = runtime.tag_for(context)
    assert tag == runtime.tag_for(dict(context)) == runtime.default_tag()
    assert tag.startswith("runtime-") and images.pinned(f"{images.RUNTIME_REPOSITORY}:{tag}")
    assert runtime.tag_for(runtime.context_files("python:3.12.7-slim-bookworm")) != tag
    changed = dict(context, **{"platform_kit/errors.py": context["platform_kit/errors.py"] + b"\n"})
    assert runtime.tag_for(changed) != tag
    with pytest.raises(BadInput, match="not pinned"):
        runtime.context_files("python:latest")


def test_the_runtime_imports_nothing_the_image_lacks(tmp_path: Path) -> None:
    """Import every runtime module with only the context's kit files and the pinned libraries'
    site-packages: no kit module may come from outside the context, no library from outside the pins."""
    context = runtime.context_files()
    runtime.write_context(tmp_path / "ctx", context)
    modules = sorted(
        name[: -len(".py")].replace("/", ".").removesuffix(".__init__")
        for name in context
        if name.startswith(runtime.RUNTIME_PACKAGE)
    )
    pins = {line.split("==")[0] for line in context["requirements.txt"].decode().split()}
    site = [p for p in sys.path if p.endswith("site-packages")]
    probe = f"""
import importlib, json, sys
sys.path[:] = [{str(tmp_path / "ctx")!r}] + {site!r} + [p for p in sys.path if "site-packages" not in p]
for name in {modules!r}:
    importlib.import_module(name)
kit = {{n: getattr(m, "__file__", "") for n, m in sys.modules.items() if n.split(".")[0] == "platform_kit"}}
names = {{n.split(".")[0] for n in sys.modules}} - set(sys.stdlib_module_names) - {{"platform_kit"}}
# Modules with no file are made at run time (cython_runtime and the like), not installed.
tops = sorted(n for n in names if getattr(sys.modules.get(n), "__file__", None))
print(json.dumps({{"kit": kit, "tops": tops}}))
"""
    found = json.loads(
        subprocess.run(
            [sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
        ).stdout
    )
    assert len(modules) >= 7
    outside = {n: f for n, f in found["kit"].items() if not f.startswith(str(tmp_path / "ctx"))}
    assert not outside, f"kit modules from outside the image's context: {outside}"
    providers = metadata.packages_distributions()
    for top in found["tops"]:
        if top.startswith("_"):
            continue  # interpreter internals (_cffi_backend and the like) come with a pinned library
        dists = {runtime._canonical(d) for d in providers.get(top, [])}
        assert dists & pins, f"{top} (from {dists or 'nowhere'}) is imported by the runtime but not pinned"


def test_writing_the_context_twice_changes_nothing(tmp_path: Path) -> None:
    context = runtime.context_files()
    target = tmp_path / "ctx"
    assert runtime.write_context(target, context) is True
    assert runtime.write_context(target, context) is False
    (target / "stray.txt").write_text("left over")
    assert runtime.write_context(target, context) is True
    assert not (target / "stray.txt").exists() and (target / "Dockerfile").read_bytes() == context["Dockerfile"]


def test_a_push_logs_in_with_the_ecr_password_on_stdin_and_a_second_run_builds_nothing(
    engine, registry: runtime.Registry, tmp_path: Path
) -> None:
    result = runtime.ensure_image(tmp_path / "out", registry=registry)
    assert result.action == "pushed" and result.digest and result.digest.startswith("sha256:")
    assert result.reference == f"{registry.url}:{runtime.default_tag()}"
    build, login, push = engine()
    assert build["argv"][:3] == ["build", "--tag", result.reference] and build["argv"][-1] == result.context_dir
    token = registry.ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    password = base64.b64decode(token).decode().partition(":")[2]
    assert login["argv"] == ["login", "--username", "AWS", "--password-stdin", registry.url.split("/")[0]]
    assert login["stdin"] == password and all(password not in arg for call in engine() for arg in call["argv"])
    assert password not in json.dumps(result.as_dict())
    assert push["argv"] == ["push", result.reference]

    again = runtime.ensure_image(tmp_path / "out", registry=registry)
    assert again.action == "unchanged" and again.digest == result.digest
    assert len(engine()) == 3, "a tag already in ECR is neither built nor pushed again"


def test_a_dry_run_writes_the_context_and_calls_no_engine(engine, registry: runtime.Registry, tmp_path: Path) -> None:
    result = runtime.ensure_image(tmp_path / "out", registry=registry, dry_run=True)
    assert result.action == "would push" and (Path(result.context_dir) / "Dockerfile").is_file()
    assert engine() == []
    assert registry.ecr.list_images(repositoryName=registry.repository)["imageIds"] == []


def test_without_an_engine_it_says_where_the_context_is_and_what_to_run(
    registry: runtime.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(OperationFailed) as caught:
        runtime.ensure_image(tmp_path / "out", registry=registry)
    context_dir = tmp_path / "out" / runtime.default_tag()
    assert "no container engine (docker or podman) on PATH" in caught.value.message
    assert str(context_dir) in caught.value.message and (context_dir / "requirements.txt").is_file()
    assert f"docker push {registry.url}:" in (caught.value.hint or "")


def test_an_engine_failure_is_one_line_and_the_password_never_shows(
    engine, registry: runtime.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGINE_DOUBLE_FAIL", "build:ERROR: failed to solve: python:3.11.10-slim-bookworm: not found")
    with pytest.raises(OperationFailed, match=r"^docker build failed: ERROR: failed to solve: python"):
        runtime.ensure_image(tmp_path / "out", registry=registry)
    token = registry.ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    password = base64.b64decode(token).decode().partition(":")[2]
    monkeypatch.setenv("ENGINE_DOUBLE_FAIL", f"login:Error response from daemon: bad password {password}")
    with pytest.raises(OperationFailed) as caught:
        runtime.ensure_image(tmp_path / "out", registry=registry)
    assert caught.value.message == "docker login failed: Error response from daemon: bad password ***"


def test_a_missing_repository_names_the_stack_that_creates_it(moto_endpoint: str, tmp_path: Path) -> None:
    ecr = moto_client("ecr", moto_endpoint)
    missing = runtime.Registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/nobody/catalog", ecr, "nobody/catalog")
    with pytest.raises(OperationFailed, match="ECR repository nobody/catalog does not exist") as caught:
        runtime.ensure_image(tmp_path / "out", registry=missing, dry_run=True)
    assert "--stack platform" in (caught.value.hint or "")


def test_the_cli_builds_a_local_image_and_refuses_an_unknown_engine(cli, engine, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("catalog", "image", "--engine", "nerdctl")
    assert code == 2 and err.count("\n") == 1 and "not a container engine the kit drives" in err
    assert not (tmp_path / "build").exists() and engine() == []

    code, out, err = cli("catalog", "image", "-o", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["action"] == "built" and result["reference"] == images.runtime_image()
    assert [call["argv"][0] for call in engine()] == ["build"]
    assert Path(result["context"]).parent == tmp_path / "build" / "catalog-image"


def test_catalog_build_for_an_environment_uses_its_repository_without_any_aws_call(
    cli, example_config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # any AWS call would fail
    code, out, err = cli("catalog", "build", "--env", "dev", "--config-dir", str(example_config), "-o", "json")
    assert code == 0, err
    image = json.loads(out)["image"]
    assert image == f"210987654321.dkr.ecr.us-west-2.amazonaws.com/acme/catalog:{runtime.default_tag()}"
