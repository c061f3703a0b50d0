"""The CLI shell: listed commands, global options in either position, one error family."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from platform_kit.errors import BadInput, OperationFailed


def test_help_lists_only_working_commands(cli) -> None:
    code, out, _ = cli("--help")
    assert code == 0
    for name in ("validate", "schema", "doctor", "sandbox", "bootstrap", "infra", "render", "onboard-team"):
        assert name in out
    for name in ("offboard-team", "transfer-owner", "teams", "catalog", "smoke", "usage", "upgrade"):
        assert name in out
    assert " ci " in out and "launch" in out


def test_global_option_before_or_after_the_command(example_config: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(example_config.parent)
    code_before, out_before, _ = cli("--output", "json", "--env", "dev", "validate")
    code_after, out_after, _ = cli("validate", "--output", "json", "--env", "dev")
    assert code_before == code_after == 0
    assert json.loads(out_before) == json.loads(out_after)
    assert list(json.loads(out_after)["environments"]) == ["dev"]


def test_config_dir_from_environment_variable(example_config: Path, cli, monkeypatch, tmp_path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("PLATFORM_CONFIG_DIR", str(example_config))
    code, out, _ = cli("validate", "-o", "json")
    assert code == 0
    assert json.loads(out)["config_dir"] == str(example_config)


def test_unknown_command_and_bad_option_are_usage_errors(cli) -> None:
    assert cli("no-such-command")[0] == 2
    assert cli("validate", "--output", "yaml")[0] == 2


def test_platform_errors_map_to_exit_codes_without_traceback(cli, monkeypatch) -> None:
    from platform_kit.commands import validate

    def boom(*_a, **_k):
        raise OperationFailed("terraform apply failed in stack teams/dev/vision", hint="run it again")

    monkeypatch.setattr("platform_kit.config.load_platform", boom)
    code, _, err = cli("validate")
    assert code == 1
    assert "Error: terraform apply failed in stack teams/dev/vision" in err
    assert "Hint: run it again" in err
    assert "Traceback" not in err

    def bad(*_a, **_k):
        raise BadInput("--cpu: 'lots' is not a quantity")

    monkeypatch.setattr("platform_kit.config.load_platform", bad)
    code, _, err = cli("--debug", "validate")
    assert code == 2
    assert "Traceback" in err  # only with --debug
    assert validate.command.__doc__


def test_console_script_runs_and_reports_version() -> None:
    exe = Path(sys.executable).parent / "platform"
    result = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.startswith("platform-kit ")


def test_importing_the_cli_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, platform_kit.cli; "
        "heavy = [m for m in ('boto3', 'kubernetes', 'kfp', 'pydantic', 'botocore') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_unexpected_aws_errors_are_one_line(cli, monkeypatch) -> None:
    from botocore.exceptions import ClientError

    def denied(*_a, **_k):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "GetObject")

    monkeypatch.setattr("platform_kit.config.load_platform", denied)
    code, _, err = cli("validate")
    assert code == 1
    assert "Error: AWS call failed: An error occurred (AccessDenied) when calling the GetObject operation" in err
    assert "Traceback" not in err
