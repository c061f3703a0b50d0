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
