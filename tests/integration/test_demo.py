"""The newcomer's demo runs end to end on the sandbox, and a second run changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_kit import demo, sandbox


@pytest.mark.sandbox
def test_demo_runs_twice_and_the_second_run_changes_nothing(
    example_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("PLATFORM_STATE_DIR", str(state))
    monkeypatch.setenv("COLUMNS", "200")
    try:
        assert demo.main([str(example_config)]) == 0
        first = capsys.readouterr()
        info = sandbox.status(state)
        assert info is not None, "the demo leaves the sandbox running for the next commands"
        assert "started at " + info.endpoint in first.out
        assert "platform objects" in first.out and "Profile" in first.out  # the render step and its table
        assert (example_config.parent / "build" / "sandbox" / "rendered" / "teams" / "perception.yaml").is_file()
        # The catalog is built and the smoke pipeline runs for the team using SageMaker and Batch; the
        # pipeline's step logs go to a file, not into the summary a newcomer reads.
        assert "7 components, 1 pipeline" in first.out
        assert "9 object(s) uploaded; s3://acme-sandbox-kfp-artifacts-123456789012/catalog/" in first.out
        assert "passed: storage round trip, SageMaker training, Batch job" in first.out
        # The runtime image: a content-tagged build context, checked against the sandbox's ECR.
        assert "acme/catalog:runtime-" in first.out and "not built here (no engine)" in first.out
        log = example_config.parent / "build" / "smoke" / "sandbox" / "perception" / "kfp-local.log"
        assert "Executing task" in log.read_text() and "Executing task" not in first.out + first.err

        assert demo.main([str(example_config)]) == 0
        second = capsys.readouterr()
        assert "already running at " + info.endpoint in second.out
        assert sandbox.status(state).pid == info.pid
        assert "none failed" in second.out
        assert "no changes under build/sandbox" in second.out
        # Teams go through onboard-team; the sandbox has no API server, so objects are rendered and validated.
        assert "onboard-team perception" in second.out and "rendered and validated" in second.out
        assert second.out.count("no changes; role acme-sandbox-team-") == 2
        assert "no changes under build/catalog" in second.out
        assert "no changes; s3://acme-sandbox-kfp-artifacts-123456789012/catalog/" in second.out
    finally:
        sandbox.stop(state)


def test_demo_refuses_bad_config_before_starting_anything(
    example_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("PLATFORM_STATE_DIR", str(state))
    team = example_config / "teams" / "planning.yaml"
    team.write_text(team.read_text().replace("pods: 200", "pods: zero"))
    assert demo.main([str(example_config)]) == 2
    assert "quotas.pods: must be a whole number" in capsys.readouterr().err
    assert not state.exists(), "nothing may be started or written for bad input"
