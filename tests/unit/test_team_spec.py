"""Building a team's spec from onboard-team flags, a spec file or its current file (pure)."""

from __future__ import annotations

import pytest
import yaml

from platform_kit import team_spec as ts
from platform_kit.errors import BadInput


def _request(**kw) -> ts.Request:
    base = {"name": "vision", "owner": "lena@corp.example", "cost_center": "CC-1", "env": "sandbox"}
    return ts.Request(**{**base, **kw})


@pytest.mark.parametrize(
    ("text", "subject", "role"),
    [
        ("ml-vision", "ml-vision", "edit"),
        ("ml-vision:view", "ml-vision", "view"),
        ("a@corp.example:edit", "a@corp.example", "edit"),
    ],
)
def test_grants_default_to_edit(text: str, subject: str, role: str) -> None:
    assert ts.parse_grant(text, "--group") == ts.Grant(subject, role)


@pytest.mark.parametrize(("text", "message"), [("g:admin", "role 'admin'"), (":view", "name is empty")])
def test_bad_grants(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        ts.parse_grant(text, "--group")


def test_a_new_team_gets_defaults_and_the_same_request_gives_the_same_bytes() -> None:
    request = _request(groups=[ts.Grant("ml-vision", "edit")], cpu="32")
    spec = ts.build(request, None, existing=False)
    assert spec["quotas"] == {**ts.DEFAULT_QUOTAS, "cpu": "32"}
    assert spec["display_name"] == "Vision" and spec["state"] == "active" and spec["environments"] == ["sandbox"]
    text = ts.to_yaml(spec)
    assert text.startswith(ts.MODELINE)
    assert ts.to_yaml(ts.build(request, yaml.safe_load(text), existing=True)) == text


def test_an_existing_team_keeps_what_it_says_and_takes_only_the_changes() -> None:
    current = {
        "name": "vision",
        "owner": "lena@corp.example",
        "cost_center": "CC-1",
        "quotas": {"memory": "1Gi", "cpu": "1"},
        "environments": ["dev"],
        "members": [{"email": "a@corp.example", "role": "edit"}],
    }
    request = ts.Request(
        name="vision", members=[ts.Grant("a@corp.example", "view"), ts.Grant("b@corp.example", "edit")], env="sandbox"
    )
    spec = ts.build(request, current, existing=True)
    assert spec["members"] == [{"email": "a@corp.example", "role": "view"}, {"email": "b@corp.example", "role": "edit"}]
    assert list(spec["quotas"]) == ["memory", "cpu"]  # the file's own order
    assert "state" not in spec and "display_name" not in spec  # no defaults added to an existing file
    assert spec["environments"] == ["dev", "sandbox"]
    assert current["members"] == [{"email": "a@corp.example", "role": "edit"}]  # the input is not modified


def test_owner_change_is_transfer_owners_job() -> None:
    with pytest.raises(BadInput, match=r"is owned by lena@corp\.example") as caught:
        ts.build(_request(owner="new@corp.example"), {"name": "vision", "owner": "lena@corp.example"}, existing=True)
    assert caught.value.hint == "to hand it over run: platform transfer-owner vision --to new@corp.example"


def test_a_spec_for_another_team_is_refused() -> None:
    with pytest.raises(BadInput, match="names team 'lidar'"):
        ts.build(_request(), {"name": "lidar"}, existing=False)


def test_offboarding_is_per_environment_and_onboarding_brings_one_back() -> None:
    base = {"name": "vision", "owner": "lena@corp.example", "cost_center": "CC-1", "environments": ["sandbox", "dev"]}

    def run(spec, state, env):
        return ts.build(ts.Request(name="vision", env=env, state=state), spec, existing=True)

    dev_off = run(base, "stale", "dev")
    assert dev_off["offboarded_in"] == ["dev"] and "state" not in dev_off  # still active in sandbox
    both_off = run(dev_off, "stale", "sandbox")
    assert both_off["state"] == "stale" and "offboarded_in" not in both_off
    back = run(both_off, "active", "sandbox")
    assert back["state"] == "active" and back["offboarded_in"] == ["dev"]
    assert run(back, "active", "sandbox") == back  # nothing to change: the same spec
    assert run(base, "active", "sandbox") == base  # onboarding an active team adds no keys


def test_the_team_model_knows_where_it_is_active() -> None:
    from platform_kit.config.models import Team

    data = {
        "name": "vision",
        "display_name": "Vision",
        "owner": "lena@corp.example",
        "cost_center": "CC-1",
        "environments": ["sandbox", "dev"],
        "quotas": {"cpu": "8", "memory": "32Gi", "storage": "1Ti"},
    }
    team = Team.model_validate({**data, "offboarded_in": ["dev"]})
    assert team.active_in("sandbox") and not team.active_in("dev")
    assert not Team.model_validate({**data, "state": "stale"}).active_in("sandbox")
    with pytest.raises(ValueError, match="not among the team's environments: prod"):
        Team.model_validate({**data, "offboarded_in": ["prod"]})


def test_transfer_with_previous_owner_none_drops_their_member_entry() -> None:
    current = {
        "name": "vision",
        "owner": "lena@corp.example",
        "cost_center": "CC-1",
        "members": [{"email": "lena@corp.example", "role": "edit"}, {"email": "b@corp.example", "role": "view"}],
    }
    request = ts.Request(name="vision", owner="new@corp.example", drop_members=["lena@corp.example"])
    spec = ts.build(request, current, existing=True, owner_change=True)
    assert spec["owner"] == "new@corp.example"
    assert spec["members"] == [{"email": "b@corp.example", "role": "view"}]
