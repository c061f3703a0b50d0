"""Inputs and outputs tables for module READMEs, generated from ``variables.tf`` and ``outputs.tf``.

Each module README keeps a block between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->``;
``python -m platform_kit.terraform.docs`` rewrites it, ``--check`` exits 1 when one is stale (CI).
The HCL is parsed with python-hcl2, so the tables cannot drift from the code.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
_BLOCK = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)


def _unquote(text: Any) -> Any:
    if isinstance(text, str):
        if len(text) >= 2 and text[0] == text[-1] == '"':
            return text[1:-1].replace('\\"', '"')
        if text.startswith("${") and text.endswith("}"):
            return text[2:-1]
    return text


def _blocks(path: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    import hcl2

    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as handle:
        document = hcl2.load(handle)
    found = []
    for entry in document.get(kind, []):
        for name, body in entry.items():
            found.append((_unquote(name), body))
    return found


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _default(body: dict[str, Any]) -> str:
    if "default" not in body:
        return "required"
    value = body["default"]
    value = _unquote(value) if isinstance(value, str) else value
    return f"`{json.dumps(value)}`" if not isinstance(value, str) else f'`"{value}"`'


def render(module: Path) -> str:
    """The generated block for one module folder."""
    rows = [BEGIN, "## Inputs", "", "| name | type | default | description |", "|---|---|---|---|"]
    for name, body in sorted(_blocks(module / "variables.tf", "variable")):
        kind = _cell(_unquote(body.get("type", "any")))
        rows.append(f"| `{name}` | `{kind}` | {_default(body)} | {_cell(_unquote(body.get('description', '')))} |")
    rows += ["", "## Outputs", "", "| name | description |", "|---|---|"]
    for name, body in sorted(_blocks(module / "outputs.tf", "output")):
        rows.append(f"| `{name}` | {_cell(_unquote(body.get('description', '')))} |")
    rows.append(END)
    return "\n".join(rows)


def update(module: Path, *, check: bool = False) -> bool:
    """Rewrite the README block; return True when it was (or, with check, would be) changed."""
    readme = module / "README.md"
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme}: no {BEGIN} ... {END} block")
    new = _BLOCK.sub(lambda _m: render(module), text, count=1)
    if new == text:
        return False
    if not check:
        readme.write_text(new, encoding="utf-8")
    return True


def modules(root: Path) -> list[Path]:
    return sorted(p.parent for p in (root / "modules").glob("*/variables.tf"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("terraform"))
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a README is stale")
    args = parser.parse_args(argv)
    stale = [m for m in modules(args.root) if update(m, check=args.check)]
    for module in stale:
        print(f"{module / 'README.md'}: {'stale' if args.check else 'updated'}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
