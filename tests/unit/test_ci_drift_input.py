"""`platform ci drift --issue` refuses a config it cannot open an issue from, before planning anything."""

from __future__ import annotations

from pathlib import Path

import yaml


def _drift_issue(cli, config: Path, out: Path) -> tuple[int, str]:
    code, _, err = cli("ci", "drift", "--issue", "--env", "sandbox", "--config-dir", str(config), "--out", str(out))
    assert not out.exists(), "nothing may be planned or written for bad input"
    return code, err


def test_drift_issue_without_a_github_block_is_bad_input(cli, example_config: Path, tmp_path: Path) -> None:
    # Without a github block no environment may have a ci block either (validate says so).
    doc = yaml.safe_load((example_config / "platform.yaml").read_text())
    del doc["github"]
    for env in doc["environments"].values():
        env.pop("ci", None)
    (example_config / "platform.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    code, err = _drift_issue(cli, example_config, tmp_path / "drift")
    assert code == 2
    assert "--issue: platform.yaml has no github block (repository, token) to open the issue on" in err


def test_drift_issue_with_the_token_variable_unset_is_bad_input(
    cli, example_config: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    code, err = _drift_issue(cli, example_config, tmp_path / "drift")
    assert code == 2
    assert "--issue: environment variable GITHUB_TOKEN (platform.yaml github.token) is not set" in err
