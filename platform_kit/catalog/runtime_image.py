"""The catalog's runtime image: its build context, its content-addressed tag, and building and pushing it.

Every catalog component runs in this image. It holds what a component body imports and nothing
more: the libraries of ``RUNTIME_DISTRIBUTIONS`` with everything they need, pinned to the versions
installed beside the kit (the versions the tests ran), and the kit's catalog runtime
(``RUNTIME_FILES``). The build context is made from those files only, so its tag is a hash of the
context: the same kit gives the same tag on every machine with the same libraries, and ECR's
immutable tags mean a tag never changes its image.

Acting is thin: whether the tag is already in the environment's ECR repository (the boto3 ECR
API), and, when it is not, ``docker`` or ``podman`` to build and push. The registry password is
passed to the engine on standard input, never in its arguments or in a log.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from importlib.resources import files
from pathlib import Path
from typing import Any

from platform_kit.errors import BadInput, OperationFailed

# What a component body imports (the KFP executor included); their dependencies come with them.
RUNTIME_DISTRIBUTIONS = ("kfp", "boto3", "kubernetes", "requests")
# The kit's own part of the image: the runtime modules and the few modules they import.
RUNTIME_FILES = ("platform_kit/__init__.py", "platform_kit/errors.py", "platform_kit/catalog/__init__.py")
RUNTIME_PACKAGE = "platform_kit/catalog/runtime"
DEFAULT_BASE_IMAGE = "python:3.11.10-slim-bookworm"
ENGINES = ("docker", "podman")
TAG_PREFIX = "runtime-"
DEFAULT_OUT = Path("build") / "catalog-image"  # beside platform/; one folder per tag
ENGINE_TIMEOUT_S = 3600
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(roots: Iterable[str] = RUNTIME_DISTRIBUTIONS) -> list[str]:
    """``name==version`` for ``roots`` and everything they need, as installed here, sorted.

    Markers are evaluated for this interpreter (the image uses the same Python minor version);
    extras are not followed. A root that is not installed is an error: the image would lack it."""
    from packaging.requirements import Requirement

    pinned: dict[str, str] = {}
    queue = [(root, True) for root in roots]
    while queue:
        name, required = queue.pop()
        key = _canonical(name)
        if key in pinned:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if required:
                raise OperationFailed(
                    f"the runtime image needs {name}, which is not installed beside the kit"
                ) from None
            continue
        pinned[key] = dist.version
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                queue.append((requirement.name, False))
    return [f"{name}=={version}" for name, version in sorted(pinned.items())]


def _kit_files() -> dict[str, bytes]:
    root = _PACKAGE_ROOT
    found = {name: (root / name).read_bytes() for name in RUNTIME_FILES}
    for path in sorted((root / RUNTIME_PACKAGE).glob("*.py")):
        found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def dockerfile(base_image: str) -> str:
    template = files("platform_kit").joinpath("data/catalog-runtime.Dockerfile").read_text(encoding="utf-8")
    return template.replace("{base_image}", base_image)


def context_files(base_image: str = DEFAULT_BASE_IMAGE) -> dict[str, bytes]:
    """The build context, path -> contents: Dockerfile, requirements.txt, and the kit's runtime files."""
    from platform_kit.catalog import images

    images.pinned(base_image, what="base image")
    context = {
        "Dockerfile": dockerfile(base_image).encode(),
        "requirements.txt": ("\n".join(requirements()) + "\n").encode(),
    }
    context.update(_kit_files())
    return dict(sorted(context.items()))


def _kit_version() -> str:
    try:
        return metadata.version("platform-kit")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0"


def tag_for(context: Mapping[str, bytes]) -> str:
    """``runtime-<kit version>-<12 hex of the context's sha256>``: the same context, the same tag."""
    digest = hashlib.sha256()
    for name, data in sorted(context.items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return f"{TAG_PREFIX}{_kit_version()}-{digest.hexdigest()[:12]}"


@functools.cache
def default_tag(base_image: str = DEFAULT_BASE_IMAGE) -> str:
    return tag_for(context_files(base_image))


def repository_url(account_id: str, region: str, repository: str) -> str:
    """The ECR repository URL (what Terraform's ``repository_url`` gives) from its parts, offline:
    the platform stack's ``catalog_repository_url`` output says the same once it is applied."""
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account_id}.dkr.ecr.{region}.{domain}/{repository}"


def write_context(directory: Path, context: Mapping[str, bytes]) -> bool:
    """Write the context into ``directory`` (made afresh when it differs); False when it was already there."""
    directory = Path(directory)
    if directory.is_dir():
        present = {p.relative_to(directory).as_posix(): p for p in directory.rglob("*") if p.is_file()}
        if set(present) == set(context) and all(present[n].read_bytes() == d for n, d in context.items()):
            return False
        shutil.rmtree(directory)
    partial = directory.with_name(directory.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    for name, data in context.items():
        target = partial / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    partial.rename(directory)  # a stopped write leaves only the .partial folder, redone next time
    return True


# Acting ---------------------------------------------------------------------------------------------


def find_engine(name: str | None = None) -> str | None:
    """The container engine's path: ``name`` when given (BadInput if it is not one the kit drives or is
    not on PATH), else the first of docker, podman found on PATH, else None."""
    if name is not None:
        if name not in ENGINES:
            raise BadInput(f"--engine {name!r}: not a container engine the kit drives (one of: {', '.join(ENGINES)})")
        found = shutil.which(name)
        if found is None:
            raise BadInput(f"--engine {name}: {name} is not on PATH")
        return found
    return next((path for path in map(shutil.which, ENGINES) if path), None)


def tag_in_repository(ecr: Any, repository: str, tag: str) -> str | None:
    """The image digest of ``repository:tag`` in ECR, or None when the tag is not there.

    A missing repository is OperationFailed naming the stack that creates it."""
    from botocore.exceptions import ClientError

    try:
        found = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ImageNotFoundException":
            return None
        if code == "RepositoryNotFoundException":
            raise OperationFailed(
                f"ECR repository {repository} does not exist",
                hint="the platform stack creates it: platform infra apply --env ENV --stack platform",
            ) from None
        raise OperationFailed(f"ECR describe-images on {repository} failed: {code or exc}") from None
    return str(found[0].get("imageDigest", "")) if found else None


@dataclass(frozen=True)
class Registry:
    """Where an environment's runtime image goes: its URL and, for ECR, the client and repository name
    (None for another registry, which the engine must already be logged in to)."""

    url: str
    ecr: Any = None
    repository: str | None = None


@dataclass
class ImageResult:
    reference: str
    tag: str
    context_dir: str
    action: str  # "unchanged" (already in the registry), "built" (local), "pushed", "would build", "would push"
    digest: str | None = None
    engine: str | None = None
    steps: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "tag": self.tag,
            "context": self.context_dir,
            "action": self.action,
            "digest": self.digest,
            "engine": self.engine,
            "steps": self.steps,
        }


def _run_engine(engine: str, args: list[str], what: str, *, stdin: str | None = None, secret: str = "") -> None:
    try:
        result = subprocess.run(
            [engine, *args], input=stdin, capture_output=True, text=True, timeout=ENGINE_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise OperationFailed(f"{Path(engine).name} {what} did not finish in {ENGINE_TIMEOUT_S} s") from None
    if result.returncode != 0:
        lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
        last = lines[-1].strip() if lines else f"exit {result.returncode}"
        if secret:
            last = last.replace(secret, "***")
        raise OperationFailed(f"{Path(engine).name} {what} failed: {last}")


def registry_login(ecr: Any) -> tuple[str, str]:
    """(registry host, password) from ECR's authorization token; the user name is always AWS."""
    data = ecr.get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    if user != "AWS" or not password:
        raise OperationFailed("ECR returned an authorization token that is not AWS:<password>")
    host = re.sub(r"^https?://", "", data.get("proxyEndpoint", "")).rstrip("/")
    return host, password


def build_and_push(
    *,
    context_dir: Path,
    reference: str,
    engine: str,
    tag: str,
    registry: Registry | None = None,
) -> ImageResult:
    """Build ``context_dir`` as ``reference`` with ``engine``; with a ``registry``, push it (logging in
    to ECR first, and checking afterwards that the tag arrived). Each engine failure is one line."""
    name = Path(engine).name
    result = ImageResult(reference, tag, str(context_dir), "built", engine=name)
    labels = [f"org.opencontainers.image.version={tag}", "org.opencontainers.image.title=catalog-runtime"]
    _run_engine(
        engine, ["build", "--tag", reference, *(f"--label={label}" for label in labels), str(context_dir)], "build"
    )
    result.steps.append(f"{name} build --tag {reference}")
    if registry is None:
        return result
    if registry.ecr is not None:
        host, password = registry_login(registry.ecr)
        _run_engine(
            engine, ["login", "--username", "AWS", "--password-stdin", host], "login", stdin=password, secret=password
        )
        result.steps.append(f"{name} login {host}")
    _run_engine(engine, ["push", reference], "push")
    result.steps.append(f"{name} push {reference}")
    result.action = "pushed"
    if registry.ecr is not None and registry.repository:
        digest = tag_in_repository(registry.ecr, registry.repository, tag)
        if digest is None:
            raise OperationFailed(f"{name} push reported success but ECR has no {registry.repository}:{tag}")
        result.digest = digest
    return result


def manual_commands(engine: str, reference: str, context_dir: Path, host: str | None) -> list[str]:
    """What to run on a machine with a container engine when this one has none."""
    commands = [f"{engine} build --tag {reference} {context_dir}"]
    if host:
        commands.insert(0, f"aws ecr get-login-password | {engine} login --username AWS --password-stdin {host}")
        commands.append(f"{engine} push {reference}")
    return commands


def registry_for(infra: Any) -> Registry:
    """The registry of ``infra``'s environment: its ECR catalog repository through the environment's
    AWS session, or the ``catalog.registry`` it names instead."""
    from platform_kit.catalog import images

    url, repository = images.repository_for(infra.loaded, infra.env_name)
    if repository is None:
        return Registry(url)
    return Registry(url, infra.session().client("ecr"), repository)


def ensure_image(
    out_dir: Path,
    *,
    base_image: str = DEFAULT_BASE_IMAGE,
    registry: Registry | None = None,
    engine_name: str | None = None,
    dry_run: bool = False,
) -> ImageResult:
    """Make the runtime image exist: in ``registry`` when given (nothing built when its tag is there
    already), else as a local image. The context is written to ``out_dir/<tag>/`` either way.

    Without a container engine on PATH this is OperationFailed with the commands to run elsewhere;
    ``dry_run`` says what would happen and builds nothing."""
    from platform_kit.catalog import images

    context = context_files(base_image)
    tag = tag_for(context)
    reference = f"{registry.url if registry else images.RUNTIME_REPOSITORY}:{tag}"
    context_dir = Path(out_dir) / tag
    write_context(context_dir, context)
    if registry is not None and registry.ecr is not None and registry.repository:
        digest = tag_in_repository(registry.ecr, registry.repository, tag)
        if digest is not None:
            return ImageResult(reference, tag, str(context_dir), "unchanged", digest=digest)
    if dry_run:
        return ImageResult(reference, tag, str(context_dir), "would push" if registry else "would build")
    engine = find_engine(engine_name)
    if engine is None:
        host = registry.url.split("/", 1)[0] if registry and registry.ecr is not None else None
        raise OperationFailed(
            f"no container engine ({' or '.join(ENGINES)}) on PATH to build {reference}; "
            f"the build context is ready in {context_dir}",
            hint="on a machine with one, run: " + " && ".join(manual_commands("docker", reference, context_dir, host)),
        )
    return build_and_push(context_dir=context_dir, reference=reference, engine=engine, tag=tag, registry=registry)
