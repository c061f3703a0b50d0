"""Change one scalar in a desired-state file in place, keeping every comment and the rest of the text.

The kit's own writes to ``platform/`` (an upgrade recording the cluster's new version, a bumped
image pin) change one value a reviewer should see as a one-line diff. A YAML dump would reflow
the file and drop its comments, so this edits the line the loader found the key on, and reloads
the file to prove the new value is what a reader now gets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from platform_kit.config import loader
from platform_kit.errors import OperationFailed
from platform_kit.files import write_if_changed

# key: value  # comment     (value plain, or in single or double quotes)
_LINE = re.compile(
    r"""^(?P<head>\s*(?:-\s+)?[A-Za-z0-9_.-]+:\s*)(?P<value>"[^"]*"|'[^']*'|[^\s#]+)(?P<tail>\s*(?:#.*)?)$"""
)
_FLOW_VALUE = r""""[^"]*"|'[^']*'|[^\s,}#]+"""


def _lookup(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def set_scalar(file: Path, path: tuple[str, ...], value: str) -> bool:
    """Make the string at ``path`` in ``file`` equal ``value``; False when it already was.

    The value is written double-quoted (so ``1.30`` stays a string). OperationFailed when the key is
    missing or not a one-line scalar; the file is then unchanged."""
    return set_scalars(file, {path: value})


def set_scalars(file: Path, changes: dict[tuple[str, ...], str]) -> bool:
    """``set_scalar`` for several keys in one write: the file has all the new values or none of them."""
    file = Path(file)
    document = loader.read(file)
    lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
    edited = False
    for path, value in changes.items():
        where = f"{file}: {'.'.join(path)}"
        current = _lookup(document.data, path)
        if current is None or isinstance(current, dict | list):
            raise OperationFailed(f"{where}: not a value the kit can change in place (missing, or not a scalar)")
        if str(current) == value:
            continue
        line_number = document.lines.get(path)
        if line_number is None or not 0 < line_number <= len(lines):
            raise OperationFailed(f"{where}: the loader gave no line for it")
        lines[line_number - 1] = _edit_line(lines[line_number - 1], path[-1], value, f"{where}: line {line_number}")
        edited = True
    if not edited:
        return False
    text = "".join(lines)
    data = loader.parse(text, str(file)).data
    for path, value in changes.items():
        if str(_lookup(data, path)) != value:
            raise OperationFailed(
                f"{file}: {'.'.join(path)}: editing its line did not give the new value; file left unchanged"
            )
    write_if_changed(file, text)
    return True


def _edit_line(line: str, key: str, value: str, where: str) -> str:
    ending = line[len(line.rstrip("\r\n")) :]
    body = line.rstrip("\r\n")
    match = _LINE.match(body)
    if match is not None and match.group("head").strip().rstrip(":").endswith(key):
        return f'{match.group("head")}"{value}"{match.group("tail")}{ending}'
    # A key inside a flow mapping on its line: {url: https://..., ref: v1.10.2}
    inline = list(re.finditer(rf"(?P<head>[{{,]\s*{re.escape(key)}:\s*)(?P<value>{_FLOW_VALUE})", body))
    if len(inline) != 1:
        raise OperationFailed(f"{where} is not a one-line 'key: value' the kit can edit")
    found = inline[0]
    return f'{body[: found.start("value")]}"{value}"{body[found.end("value") :]}{ending}'
