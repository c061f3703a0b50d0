"""The component reference in ``docs/catalog.md``, generated from the components themselves.

``docs/catalog.md`` is written by hand except for one block, between ``<!-- BEGIN GENERATED:
components -->`` and ``<!-- END GENERATED -->``, which this module writes from:

- each component module's docstring: its description and its ``Needs, at run time:`` list (the
  AWS, Kubernetes and network permissions a task needs); a module without that list is refused,
  so a new component cannot reach the catalog without saying what it needs;
- the component body's docstring (what one task does);
- the interface compiled by the real KFP compiler (``build.compile_catalog``): inputs with their
  types and defaults, outputs, and the image.

The runtime image is shown without the kit's version (as the interface golden leaves images out),
so a release does not make the reference stale. Output is deterministic: components by name,
inputs in the order the body declares them.

``python -m platform_kit.catalog.docs`` rewrites the block; ``--check`` writes nothing and exits 1
when it is stale (``make test`` runs it).
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platform_kit.catalog.build import ROOT, CatalogEntry
from platform_kit.files import write_if_changed

DOC = ROOT / "docs" / "catalog.md"
BEGIN = "<!-- BEGIN GENERATED: components -->"
END = "<!-- END GENERATED -->"
NEEDS = "Needs, at run time"
FINAL_STATUS = "TASK_FINAL_STATUS"


@dataclass(frozen=True)
class ComponentDoc:
    """What the reference says about one component."""

    entry: CatalogEntry
    factory: str
    source: str  # the module's path in the repository
    description: tuple[str, ...]  # paragraphs, Markdown
    task: str  # what one task does (the body's docstring), Markdown
    needs_intro: str  # "Needs, at run time (...):" as Markdown
    needs: tuple[str, ...]  # one Markdown bullet each
    order: tuple[str, ...]  # the body's parameters, in declaration order


def _markdown(text: str) -> str:
    """One docstring paragraph as one line of Markdown: ``code`` becomes `code`, and an angle bracket
    outside code is escaped (a bare ``<team>`` would vanish as an HTML tag)."""
    parts = re.split(r"``(.+?)``", " ".join(text.split()))
    # re.split with one group: the even items are prose, the odd ones were inside ``...``.
    return "".join(
        f"`{part}`" if n % 2 else part.replace("<", "&lt;").replace(">", "&gt;") for n, part in enumerate(parts)
    )


def _paragraphs(doc: str) -> list[list[str]]:
    found: list[list[str]] = []
    current: list[str] = []
    for line in inspect.cleandoc(doc).splitlines():
        if line.strip():
            current.append(line.rstrip())
        elif current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return found


def parse_module_doc(name: str, doc: str | None, *, where: str) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """(description paragraphs, the needs list's lead-in, its bullets) of a component module's docstring.

    ValueError (naming ``where``) when there is no ``Needs, at run time:`` list with bullets."""
    description: list[str] = []
    intro, bullets = "", []
    for lines in _paragraphs(doc or ""):
        if lines[0].startswith(NEEDS) and lines[0].endswith(":"):
            intro = _markdown(f"**{NEEDS}**{lines[0][len(NEEDS) :]}")
            for line in lines[1:]:
                if line.startswith("- "):
                    bullets.append(line[2:])
                elif bullets and line.startswith(" "):
                    bullets[-1] += " " + line.strip()
                else:
                    raise ValueError(f"{where}: {NEEDS}: every line is a '- ' bullet or its indented continuation")
            continue
        description.append(_markdown(" ".join(lines)))
    if not bullets:
        raise ValueError(f"{where}: the module docstring has no '{NEEDS}:' list of what a task needs")
    if description:
        # "``name``: what it does" -> "What it does"
        first = re.sub(rf"^`{re.escape(name)}`:\s*", "", description[0])
        description[0] = first[:1].upper() + first[1:]
    return tuple(description), intro, tuple(_markdown(b) for b in bullets)


def gather(components: Mapping[str, Callable[..., Any]] | None = None, image: str | None = None) -> list[ComponentDoc]:
    """Every component's reference, by name; ``components`` defaults to the registry's."""
    from platform_kit.catalog import build, images, registry

    components = registry.COMPONENTS if components is None else components
    image = image or images.REFERENCE_IMAGE
    entries, _ = build.compile_catalog(image, components=components, pipelines={})
    docs = []
    for entry in entries:
        factory = components[entry.name]
        module = sys.modules[factory.__module__]
        path = Path(inspect.getfile(module)).resolve()
        source = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else factory.__module__
        description, intro, needs = parse_module_doc(entry.name, module.__doc__, where=source)
        component = factory(image=image)
        function = component.python_func
        docs.append(
            ComponentDoc(
                entry=entry,
                factory=factory.__name__,
                source=source,
                description=description,
                task=_markdown(inspect.getdoc(function) or ""),
                needs_intro=intro,
                needs=needs,
                order=tuple(inspect.signature(function).parameters),
            )
        )
    return docs


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _image(image: str) -> str:
    from platform_kit.catalog import images

    if image == images.REFERENCE_IMAGE:
        return "the kit's runtime image (`platform catalog image`; tagged by its content)"
    return f"`{image}`"


def _settings(doc: ComponentDoc) -> list[str]:
    """The inputs the factory gives a default (its settings), in declaration order."""
    return [name for name in _inputs(doc) if "default" in doc.entry.inputs[name]]


def _inputs(doc: ComponentDoc) -> list[str]:
    position = {name: n for n, name in enumerate(doc.order)}
    return sorted(doc.entry.inputs, key=lambda name: (position.get(name, len(position)), name))


def _default(definition: dict[str, Any]) -> str:
    if definition["type"] == FINAL_STATUS:
        return "set by KFP (the run's final status)"
    if "default" not in definition:
        return "required"
    return f"`{_cell(json.dumps(definition['default']))}`"


def render(docs: list[ComponentDoc]) -> str:
    """The generated block, markers included."""
    lines = [
        BEGIN,
        "<!-- Written by `python -m platform_kit.catalog.docs` from the component modules and their compiled",
        "     specs: edit those and regenerate (`make docs`); `make test` fails when this block is stale. -->",
        "",
        "| component | per-task inputs | settings (factory defaults) | outputs |",
        "| --- | --- | --- | --- |",
    ]
    for doc in docs:
        settings = _settings(doc)
        per_task = [n for n in _inputs(doc) if n not in settings and doc.entry.inputs[n]["type"] != FINAL_STATUS]
        lines.append(
            f"| [`{doc.entry.name}`](#{doc.entry.name}) | {', '.join(f'`{n}`' for n in per_task)} "
            f"| {', '.join(f'`{n}`' for n in settings)} | {', '.join(f'`{n}`' for n in doc.entry.outputs)} |"
        )
    for doc in docs:
        settings = _settings(doc)
        signature = ", ".join(["image=", *(f"{name}=" for name in settings)])
        lines += ["", f"### `{doc.entry.name}`", ""]
        for paragraph in doc.description:
            lines += [paragraph, ""]
        if doc.task:
            lines += [f"**A task**: {doc.task}", ""]
        lines += [f"Factory: `{doc.factory}({signature})` in `{doc.source}`.", ""]
        lines += [doc.needs_intro, ""]
        lines += [f"- {need}" for need in doc.needs]
        lines += ["", "| input | type | default |", "| --- | --- | --- |"]
        for name in _inputs(doc):
            definition = doc.entry.inputs[name]
            lines.append(f"| `{name}` | `{definition['type']}` | {_default(definition)} |")
        lines += ["", "| output | type |", "| --- | --- |"]
        lines += [f"| `{name}` | `{kind}` |" for name, kind in doc.entry.outputs.items()]
        lines += ["", "Image: " + ", ".join(_image(i) for i in doc.entry.images) + "."]
    lines.append(END)
    return "\n".join(lines)


def replace_block(text: str, block: str, *, where: str) -> str:
    """``text`` with its generated block replaced by ``block``; ValueError when the markers are missing."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{where}: no {BEGIN} ... {END} block")
    return text[:start] + block + text[end + len(END) :]


def current_text(path: Path = DOC) -> tuple[str, str]:
    """(the document as it is, the document as it should be)."""
    text = Path(path).read_text(encoding="utf-8")
    return text, replace_block(text, render(gather()), where=str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m platform_kit.catalog.docs",
        description="Rewrite (or --check) the generated component reference in docs/catalog.md.",
    )
    parser.add_argument("--doc", type=Path, default=DOC, help=f"the document (default: {DOC})")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when the reference is stale")
    args = parser.parse_args(argv)
    try:
        text, wanted = current_text(args.doc)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if text == wanted:
            print(f"{args.doc}: current")
            return 0
        print(f"{args.doc}: stale; run: python -m platform_kit.catalog.docs --doc {args.doc}")
        return 1
    print(f"{args.doc}: {'written' if write_if_changed(args.doc, wanted) else 'unchanged'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
