"""``platform catalog build``: compile every component and pipeline of the catalog into a versioned folder.

Each entry is compiled with the real KFP compiler; its version is a content hash of the compiled
YAML (sha256, 12 hex), and the catalog's version is a hash over every (name, version) pair, so the
same catalog and image always give the same folder, byte for byte::

    <out>/latest                      the newest catalog version, as text
    <out>/<catalog version>/<name>.yaml
    <out>/<catalog version>/index.json  every entry's kind, version, file, inputs, outputs and images

Files are written only when their content changed, so a second build with nothing changed writes
nothing. Older catalog versions are left in place.

The interface golden: ``tests/golden/catalog/interface.json`` keeps each entry's inputs and
outputs (not the whole YAML), so a change to a component's interface shows in the pull request.
``python -m platform_kit.catalog.build`` rewrites it; ``--check`` exits 1 when it is stale.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from platform_kit.errors import OperationFailed
from platform_kit.files import write_if_changed

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "catalog" / "interface.json"
INDEX = "index.json"
LATEST = "latest"
KINDS = ("component", "pipeline")  # the index's order: components first, then pipelines


@dataclass(frozen=True)
class CatalogEntry:
    """One compiled component or pipeline."""

    name: str
    kind: str
    version: str
    file: str
    inputs: dict[str, dict[str, Any]]
    outputs: dict[str, str]
    images: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "version": self.version,
            "file": self.file,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "images": self.images,
        }


@dataclass(frozen=True)
class CatalogIndex:
    """What a build produced: the index's content, where it lives and which files were written."""

    catalog_version: str
    kit_version: str
    image: str
    entries: tuple[CatalogEntry, ...]
    directory: Path
    written: tuple[Path, ...] = field(default=())

    @property
    def index_path(self) -> Path:
        return self.directory / INDEX

    @property
    def unchanged(self) -> bool:
        return not self.written

    def entry(self, name: str) -> CatalogEntry:
        return next(e for e in self.entries if e.name == name)

    def as_dict(self) -> dict[str, Any]:
        """The content of index.json."""
        return {
            "catalog_version": self.catalog_version,
            "kit_version": self.kit_version,
            "image": self.image,
            "entries": [e.as_dict() for e in self.entries],
        }


def short_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def catalog_version(versions: Mapping[str, str]) -> str:
    """The hash over the sorted (name, version) pairs."""
    return short_hash("".join(f"{name} {versions[name]}\n" for name in sorted(versions)).encode())


def kit_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("platform-kit")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0"


def _type(definition: dict[str, Any]) -> str:
    """A parameter's type (STRING, NUMBER_INTEGER, ...) or an artifact's schema (system.Model, ...)."""
    if "parameterType" in definition:
        return definition["parameterType"]
    schema = definition.get("artifactType", {}).get("schemaTitle", "system.Artifact")
    return f"List[{schema}]" if definition.get("isArtifactList") else schema


def _default(kind: str, value: Any) -> Any:
    """A default as the component declares it: the spec stores every number as a double (an int 3 as 3.0)."""
    if kind == "NUMBER_INTEGER" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def interface(spec: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, str], list[str]]:
    """Inputs (name -> {type, default?}), outputs (name -> type) and container images of a compiled spec."""
    root = spec.get("root", {})
    inputs: dict[str, dict[str, Any]] = {}
    for group in ("parameters", "artifacts"):
        for name, definition in root.get("inputDefinitions", {}).get(group, {}).items():
            inputs[name] = {"type": _type(definition)}
            if "defaultValue" in definition:
                inputs[name]["default"] = _default(inputs[name]["type"], definition["defaultValue"])
    outputs = {
        name: _type(definition)
        for group in ("parameters", "artifacts")
        for name, definition in root.get("outputDefinitions", {}).get(group, {}).items()
    }
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    found = {e["container"]["image"] for e in executors.values() if "image" in e.get("container", {})}
    return dict(sorted(inputs.items())), dict(sorted(outputs.items())), sorted(found)


def _factories(
    components: Mapping[str, Callable[..., Any]] | None, pipelines: Mapping[str, Callable[..., Any]] | None
) -> list[tuple[str, str, Callable[..., Any]]]:
    from platform_kit.catalog import registry

    components = registry.COMPONENTS if components is None else components
    pipelines = registry.pipelines() if pipelines is None else pipelines
    both = sorted(set(components) & set(pipelines))
    if both:
        raise OperationFailed(f"catalog name {both[0]!r} is both a component and a pipeline (one file per name)")
    found = [("component", n, f) for n, f in components.items()] + [("pipeline", n, f) for n, f in pipelines.items()]
    return sorted(found, key=lambda item: (KINDS.index(item[0]), item[1]))


def compile_catalog(
    image: str,
    *,
    components: Mapping[str, Callable[..., Any]] | None = None,
    pipelines: Mapping[str, Callable[..., Any]] | None = None,
) -> tuple[list[CatalogEntry], dict[str, str]]:
    """Compile every entry for ``image``: the entries (sorted by kind, then name) and each file's YAML text.

    ``components`` and ``pipelines`` default to the registry's."""
    import yaml
    from kfp import compiler

    from platform_kit.catalog import images

    images.pinned(image, what="--image")
    entries: list[CatalogEntry] = []
    texts: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="platform-catalog-") as tmp:
        for kind, name, factory in _factories(components, pipelines):
            path = Path(tmp) / f"{name}.yaml"
            compiler.Compiler().compile(factory(image=image), str(path))
            data = path.read_bytes()
            # A pipeline with Kubernetes settings (secrets as env) has a second document: the platform spec.
            spec = next(yaml.safe_load_all(data))
            inputs, outputs, used = interface(spec)
            entries.append(CatalogEntry(name, kind, short_hash(data), path.name, inputs, outputs, used))
            texts[path.name] = data.decode("utf-8")
    return entries, texts


def build_catalog(
    out_dir: Path,
    image: str,
    *,
    components: Mapping[str, Callable[..., Any]] | None = None,
    pipelines: Mapping[str, Callable[..., Any]] | None = None,
) -> CatalogIndex:
    """Compile the catalog for ``image`` into ``out_dir/<catalog version>/`` and point ``out_dir/latest`` at it.

    An unpinned image is BadInput, raised before anything is written. Only changed files are written."""
    entries, texts = compile_catalog(image, components=components, pipelines=pipelines)
    version = catalog_version({e.name: e.version for e in entries})
    out_dir = Path(out_dir)
    index = CatalogIndex(version, kit_version(), image, tuple(entries), out_dir / version)
    written = [index.directory / name for name, text in texts.items() if write_if_changed(index.directory / name, text)]
    if write_if_changed(index.index_path, index_text(index)):
        written.append(index.index_path)
    if write_if_changed(out_dir / LATEST, version + "\n"):
        written.append(out_dir / LATEST)
    return replace(index, written=tuple(written))


def index_text(index: CatalogIndex) -> str:
    return json.dumps(index.as_dict(), indent=2, sort_keys=True) + "\n"


# The interface golden ------------------------------------------------------------------------------


def interface_text(entries: list[CatalogEntry]) -> str:
    """Each entry's kind, inputs and outputs (no version, file or image), as the golden file's text."""
    data = {e.name: {"kind": e.kind, "inputs": e.inputs, "outputs": e.outputs} for e in entries}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def current_interface() -> str:
    """The golden text for the catalog as it is now (built for the stand-in runtime image: it holds no image)."""
    from platform_kit.catalog import images

    entries, _ = compile_catalog(images.REFERENCE_IMAGE)
    return interface_text(entries)


def golden_is_current(path: Path = GOLDEN) -> bool:
    path = Path(path)
    return path.is_file() and path.read_text(encoding="utf-8") == current_interface()


def write_golden(path: Path = GOLDEN) -> bool:
    """Rewrite the interface golden; False when it was already current."""
    return write_if_changed(Path(path), current_interface())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m platform_kit.catalog.build", description="Rewrite (or --check) the catalog's interface golden."
    )
    parser.add_argument("--golden", type=Path, default=GOLDEN, help=f"the golden file (default: {GOLDEN})")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when the golden is stale")
    args = parser.parse_args(argv)
    if args.check:
        if golden_is_current(args.golden):
            print(f"{args.golden}: current")
            return 0
        print(f"{args.golden}: stale; run: python -m platform_kit.catalog.build --golden {args.golden}")
        return 1
    print(f"{args.golden}: {'written' if write_golden(args.golden) else 'unchanged'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
