"""`platform ci drift --issue` refuses a config it cannot open an issue from, before planning anything."""

from __future__ import annotations

from pathlib import Path

import yaml


def test_drift_issue_without_a_github_block_is_bad_input(cli, example_config: Path, tmp_path: Path) -> None:
    # Without a github block no environment may have a ci block either (validate says so).
    doc = yaml.safe_load((example_config / "platform.yaml").read_text())
    del doc["github"]
    for env in doc["environments"].values():
        env.pop("ci", None)
    (example_config / "platform.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "drift"
    code, _, err = cli(
        "ci", "drift", "--issue", "--env", "sandbox", "--config-dir", str(example_config), "--out", str(out)
    )
    assert code == 2
    assert "--issue: platform.yaml has no github block (repository, token) to open the issue on" in err
    assert not out.exists()


def test_drift_issue_with_the_token_variable_unset_is_bad_input(
    cli, example_config: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    out = tmp_path / "drift"
    code, _, err = cli(
        "ci", "drift", "--issue", "--env", "sandbox", "--config-dir", str(example_config), "--out", str(out)
    )
    assert code == 2
    assert "--issue: environment variable GITHUB_TOKEN (platform.yaml github.token) is not set" in err
    assert not out.exists()
