"""JSON Schemas for the config files, generated from the pydantic models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from platform_kit.config.models import PlatformConfig, Team

SCHEMAS = {"platform.schema.json": PlatformConfig, "team.schema.json": Team}


def schema_for(model: type) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render() -> dict[str, str]:
    return {name: json.dumps(schema_for(model), indent=2, sort_keys=True) + "\n" for name, model in SCHEMAS.items()}


def write_schemas(out: Path, *, dry_run: bool = False) -> list[Path]:
    """Write each schema whose content differs; return the paths that changed (or would)."""
    changed = []
    for name, text in render().items():
        path = out / name
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        changed.append(path)
        if not dry_run:
            out.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
    return changed
