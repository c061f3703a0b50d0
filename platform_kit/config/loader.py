"""Safe YAML reading that remembers where every value came from.

Plain ``yaml.safe_load`` loses line numbers, silently keeps the last of two duplicate keys,
turns ``no``/``on`` into booleans (YAML 1.1), and expands alias bombs. This loader:

- decodes strictly as UTF-8 and reports the line of the first bad byte;
- refuses empty files, several documents in one file, and duplicate keys;
- resolves booleans the YAML 1.2 way (only ``true``/``false``), so ``no`` stays a string;
- measures the expanded size of the node graph before building anything, so a few lines of
  nested aliases cannot blow up into billions of values;
- records the line of every mapping key and sequence item by its path, so a validation error on
  ``teams[0].role`` can be reported at the line where it was written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Far above any real platform config (200 teams is a few thousand nodes); far below what an alias
# bomb expands to.
MAX_EXPANDED_NODES = 100_000
MAX_FILE_BYTES = 2 * 1024 * 1024

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file, reported as ``file:line: path: message``."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message}


class YamlProblem(Exception):
    """A file that is not readable as the YAML the kit expects."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass
class Document:
    """A parsed YAML file: its data and the line of every path in it."""

    file: str
    data: Any
    lines: dict[PathKey, int]

    def line_of(self, path: PathKey) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and refusal of duplicate keys."""


# Copy the resolver table so the change stays on this class, then keep only true/false as booleans.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

# libyaml's parser (PyYAML's C extension), with the same resolver table: about ten times faster on
# a config with hundreds of team files. It reads valid files; a file it rejects is parsed again by
# the pure-Python loader above, whose messages the error lines are written for.
_FastLoader: type | None = None
if hasattr(yaml, "CSafeLoader"):

    class _FastLoader(yaml.CSafeLoader):  # type: ignore[no-redef]
        """CSafeLoader with _StrictLoader's resolvers."""

    _FastLoader.yaml_implicit_resolvers = _StrictLoader.yaml_implicit_resolvers


def _check_duplicates(node: yaml.MappingNode, file: str) -> None:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = key_node.value
        line = key_node.start_mark.line + 1
        if key in seen:
            raise YamlProblem(
                Problem(file, line, "", f"duplicate key '{key}' (first given on line {seen[key]}; give each key once)")
            )
        seen[key] = line


_IN_PROGRESS = -1


def _expanded_size(node: yaml.Node, memo: dict[int, int], file: str) -> int:
    """Count nodes as if every alias were copied out; memoised, so it is linear in the file size."""
    known = memo.get(id(node))
    if known == _IN_PROGRESS:
        raise YamlProblem(
            Problem(file, node.start_mark.line + 1, "", "an alias refers to the value that contains it (a cycle)")
        )
    if known is not None:
        return known
    memo[id(node)] = _IN_PROGRESS
    size = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            size += _expanded_size(child, memo, file)
    elif isinstance(node, yaml.MappingNode):
        _check_duplicates(node, file)
        for key, value in node.value:
            size += _expanded_size(key, memo, file) + _expanded_size(value, memo, file)
    memo[id(node)] = size
    if size > MAX_EXPANDED_NODES:
        raise YamlProblem(
            Problem(
                file,
                node.start_mark.line + 1,
                "",
                f"aliases expand to more than {MAX_EXPANDED_NODES:,} values (an alias bomb?); "
                "write the values out or use fewer nested aliases",
            )
        )
    return size


def _record_lines(node: yaml.Node, path: PathKey, lines: dict[PathKey, int], depth: int = 0) -> None:
    if depth > 64:
        return
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for m in merged:
                    _record_lines(m, path, lines, depth + 1)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            child = (*path, key_node.value)
            # Construction flattens merge keys in place (merged pairs first), so a later, explicit
            # key overrides the merged one, as it does in the data.
            lines[child] = key_node.start_mark.line + 1
            _record_lines(value_node, child, lines, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines.setdefault(child, item.start_mark.line + 1)
            _record_lines(item, child, lines, depth + 1)


def _mark_line(exc: yaml.MarkedYAMLError) -> int | None:
    mark = exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark else None


def _compose(loader_class: Any, text: str, file: str) -> tuple[yaml.Node, Any]:
    """The document's node tree and its data, with ``loader_class``; YamlProblem for what is refused."""
    loader = loader_class(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.composer.ComposerError as exc:
            if "expected a single document" in str(exc):
                raise YamlProblem(
                    Problem(file, _mark_line(exc), "", "several YAML documents in one file (keep one; remove '---')")
                ) from None
            raise
        if node is None:
            raise YamlProblem(Problem(file, None, "", "file is empty (expected a YAML mapping)"))
        if not isinstance(node, yaml.MappingNode):
            kind = {"tag:yaml.org,2002:seq": "a list"}.get(node.tag, "a single value")
            raise YamlProblem(
                Problem(file, node.start_mark.line + 1, "", f"top level is {kind}; expected a mapping of keys")
            )
        _expanded_size(node, {}, file)
        data = loader.construct_document(node)
    except YamlProblem:
        raise
    except yaml.constructor.ConstructorError as exc:
        what = (exc.problem or "unsupported YAML").strip()
        if "unhashable" in what:
            what = "a mapping key must be a plain value, not a list or mapping"
        elif "constructor for the tag" in what:
            what = f"{what} (plain YAML only: no language-specific tags)"
        raise YamlProblem(Problem(file, _mark_line(exc), "", what)) from None
    except yaml.MarkedYAMLError as exc:
        what = (exc.problem or exc.context or "invalid YAML").strip()
        raise YamlProblem(Problem(file, _mark_line(exc), "", f"YAML syntax error: {what}")) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(Problem(file, None, "", f"YAML error: {str(exc).splitlines()[0]}")) from None
    except RecursionError:
        raise YamlProblem(Problem(file, None, "", "YAML is nested too deeply or refers to itself")) from None
    finally:
        loader.dispose()
    return node, data


def parse(text: str, file: str) -> Document:
    """Parse YAML text into a Document; raises YamlProblem with a one-line message."""
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") or line.strip() == "---" for line in text.splitlines()
    ):
        raise YamlProblem(Problem(file, None, "", "file is empty (expected a YAML mapping)"))
    if _FastLoader is not None:
        try:
            node, data = _compose(_FastLoader, text, file)
        except Exception:
            node, data = _compose(_StrictLoader, text, file)
    else:
        node, data = _compose(_StrictLoader, text, file)
    lines: dict[PathKey, int] = {(): node.start_mark.line + 1}
    _record_lines(node, (), lines)
    return Document(file, data, lines)


def read(path: Path, display: str | None = None) -> Document:
    """Read and parse one file; ``display`` is the name used in messages (defaults to the path)."""
    file = display or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise YamlProblem(Problem(file, None, "", "file not found")) from None
    except IsADirectoryError:
        raise YamlProblem(Problem(file, None, "", "is a directory, expected a YAML file")) from None
    except OSError as exc:
        raise YamlProblem(Problem(file, None, "", f"cannot read: {exc.strerror}")) from None
    if len(raw) > MAX_FILE_BYTES:
        raise YamlProblem(Problem(file, None, "", f"file is {len(raw):,} bytes; at most {MAX_FILE_BYTES:,} allowed"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlProblem(
            Problem(
                file, line, "", f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save as UTF-8"
            )
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise YamlProblem(Problem(file, line, "", "contains a NUL byte; this is not a text file"))
    return parse(text, file)
