"""Choosing the team a smoke run is for: refused by name before any stack state is read."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from platform_kit import smoke
from platform_kit.config import load_platform
from platform_kit.errors import BadInput


def test_a_team_outside_the_environment_is_bad_input(example_config: Path) -> None:
    # planning is in sandbox and dev only; this infra has no state, so reading any would fail differently.
    infra = SimpleNamespace(loaded=load_platform(example_config), env_name="prod")
    with pytest.raises(BadInput) as refused:
        smoke.target_for(infra, "planning")
    assert refused.value.message == (
        "--team planning: the team is not in environment 'prod' (its environments: sandbox, dev)"
    )


def test_an_unknown_team_is_bad_input(example_config: Path) -> None:
    infra = SimpleNamespace(loaded=load_platform(example_config), env_name="dev")
    with pytest.raises(BadInput, match=r"^--team nobody: no such team in "):
        smoke.target_for(infra, "nobody")
