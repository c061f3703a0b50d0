"""JSON Schemas for editors: generated from the models, committed, and checked for staleness."""

from __future__ import annotations

import json
from pathlib import Path

from platform_kit.config.schema import render, write_schemas

REPO = Path(__file__).resolve().parents[2]


def test_committed_schemas_are_current() -> None:
    for name, text in render().items():
        assert (REPO / "docs" / "schema" / name).read_text() == text, f"run: platform schema ({name} is stale)"


def test_schema_describes_the_fields(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    team = json.loads((tmp_path / "team.schema.json").read_text())
    assert set(team["required"]) >= {"name", "owner", "quotas", "cost_center", "environments"}
    assert team["additionalProperties"] is False
    platform = json.loads((tmp_path / "platform.schema.json").read_text())
    assert "environments" in platform["properties"]


def test_write_is_idempotent_and_check_reports_stale(tmp_path: Path, cli) -> None:
    assert len(write_schemas(tmp_path)) == 2
    assert write_schemas(tmp_path) == []
    (tmp_path / "team.schema.json").write_text("{}")
    code, _, err = cli("schema", "--out", str(tmp_path), "--check")
    assert code == 1 and "stale JSON Schema" in err
    assert (tmp_path / "team.schema.json").read_text() == "{}"  # --check writes nothing
    assert cli("schema", "--out", str(tmp_path))[0] == 0
    assert cli("schema", "--out", str(tmp_path), "--check")[0] == 0
