"""``platform teams list|show``: the desired state's teams, from platform/ alone."""

from __future__ import annotations

import json
from pathlib import Path


def test_list_all_and_per_env(cli, example_config: Path) -> None:
    code, out, _ = cli("teams", "list", "--config-dir", str(example_config), "-o", "json")
    assert code == 0
    assert [t["name"] for t in json.loads(out)] == ["perception", "planning"]
    code, out, _ = cli("teams", "list", "--config-dir", str(example_config), "--env", "prod", "-o", "json")
    teams = json.loads(out)
    assert [t["name"] for t in teams] == ["perception"]
    assert teams[0]["derived"]["role_arn"] == "arn:aws:iam::345678901234:role/acme-prod-team-perception"
    code, out, _ = cli("teams", "list", "--config-dir", str(example_config))
    assert code == 0 and "perception" in out and "maya.chen@corp.example" in out and "active" in out


def test_show_gives_the_derived_names(cli, example_config: Path) -> None:
    code, out, _ = cli("teams", "show", "planning", "--env", "dev", "--config-dir", str(example_config), "-o", "json")
    assert code == 0
    data = json.loads(out)
    assert data["owner"] == "jonas.weber@corp.example" and data["groups"] == [{"name": "ml-planning", "role": "edit"}]
    assert data["derived"] == {
        "env": "dev",
        "namespace": "planning",
        "role_arn": "arn:aws:iam::210987654321:role/acme-dev-team-planning",
        "artifact_prefixes": ["artifacts/planning/", "v2/artifacts/planning/"],
        "ecr_repository": "acme/teams/planning",
        "state_key": "teams/dev/planning.tfstate",
    }


def test_show_bad_input(cli, example_config: Path) -> None:
    code, _, err = cli("teams", "show", "ghost", "--config-dir", str(example_config))
    assert code == 2 and "no team 'ghost'" in err
    code, _, err = cli("teams", "show", "planning", "--env", "prod", "--config-dir", str(example_config))
    assert code == 2 and "not in environment 'prod'" in err
    code, _, err = cli("teams", "list", "--env", "nowhere", "--config-dir", str(example_config))
    assert code == 2 and "no such environment" in err
