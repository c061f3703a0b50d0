"""Terraform diagnostics, the CLI config writer and the version check.

The sample outputs below were captured from Terraform 1.11.4 with hashicorp/aws 5.100.0.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from platform_kit.errors import BadInput, OperationFailed
from platform_kit.terraform import adapter, cliconfig
from platform_kit.terraform.diagnostics import (
    Diagnostic,
    TerraformError,
    failure,
    first_sentence,
    from_json,
    from_ui_message,
    lock_info,
    parse_human,
)

LOCK_ID = "11111111-2222-3333-4444-555555555555"
SP = " "  # Terraform leaves trailing spaces on some lines; spelled out so editors keep them

# `terraform plan -json` while another run holds the S3 lock file (one line of the UI stream).
LOCK_UI_LINE = json.dumps(
    {
        "@level": "error",
        "@message": "Error: Error acquiring the state lock",
        "@module": "terraform.ui",
        "type": "diagnostic",
        "diagnostic": {
            "severity": "error",
            "summary": "Error acquiring the state lock",
            "detail": (
                "Error message: operation error S3: PutObject, https response error StatusCode: 412, "
                "RequestID: nGOf, HostID: 9Gjj, api error PreconditionFailed: At least one of the "
                "pre-conditions you specified did not hold\n"
                "Lock Info:\n"
                f"  ID:        {LOCK_ID}\n"
                "  Path:      tfstate/stacks/demo.tfstate\n"
                "  Operation: OperationTypeApply\n"
                "  Who:       ci@runner-7\n"
                "  Version:   1.11.4\n"
                "  Created:   2026-11-25 04:00:00 +0000 UTC\n"
                "  Info:      \n\n\n"
                "Terraform acquires a state lock to protect the state from being written\n"
                "by multiple users at the same time."
            ),
        },
    }
)

# `terraform validate -json` on `output "x" { value = var.nope }`.
VALIDATE_JSON = {
    "format_version": "1.0",
    "valid": False,
    "error_count": 1,
    "warning_count": 0,
    "diagnostics": [
        {
            "severity": "error",
            "summary": "Reference to undeclared input variable",
            "detail": (
                'An input variable with the name "nope" has not been declared. This variable can be '
                'declared with a variable "nope" {} block.'
            ),
            "range": {
                "filename": "main.tf",
                "start": {"line": 2, "column": 11, "byte": 23},
                "end": {"line": 2, "column": 19, "byte": 31},
            },
            "snippet": {
                "context": 'output "x"',
                "code": "  value = var.nope",
                "start_line": 2,
                "highlight_start_offset": 10,
                "highlight_end_offset": 18,
                "values": [],
            },
        }
    ],
}

# stderr of `terraform init -no-color` with an unterminated block at the end of main.tf.
INIT_SYNTAX_ERROR = f"""
Error: Terraform encountered problems during initialisation, including problems
with the configuration, described below.

The Terraform configuration must be valid before initialization so that
Terraform can determine which modules and providers need to be installed.


Error: Missing expression

  on main.tf line 26, in resource "aws_s3_bucket" "broken":
  26:{SP}

Expected the start of an expression, but found the end of the file.
"""

# stderr of `terraform plan` with colour: a failed variable validation, boxed.
BOXED_VALIDATION_ERROR = (
    "\x1b[31m╷\x1b[0m\x1b[0m\n"
    "\x1b[31m│\x1b[0m \x1b[0m\x1b[1m\x1b[31mError: \x1b[0m\x1b[0m\x1b[1mInvalid value for variable\x1b[0m\n"
    "\x1b[31m│\x1b[0m \x1b[0m\n"
    "\x1b[31m│\x1b[0m \x1b[0m\x1b[0m  on vars.tf line 1:\n"
    '\x1b[31m│\x1b[0m \x1b[0m   1: \x1b[4mvariable "v"\x1b[0m {\x1b[0m\n'
    "\x1b[31m│\x1b[0m \x1b[0m    \x1b[90m├────────────────\x1b[0m\n"
    "\x1b[31m│\x1b[0m \x1b[0m\x1b[0m    \x1b[90m│\x1b[0m \x1b[1mvar.v\x1b[0m is 3\n"
    "\x1b[31m│\x1b[0m \x1b[0m\x1b[0m\n"
    "\x1b[31m│\x1b[0m \x1b[0mv must be > 5. It was too small.\n"
    "\x1b[31m│\x1b[0m \x1b[0m\n"
    "\x1b[31m│\x1b[0m \x1b[0mThis was checked by the validation rule at vars.tf:4,3-13.\n"
    "\x1b[31m╵\x1b[0m\x1b[0m\n"
    "\x1b[31m╷\x1b[0m\x1b[0m\n"
    "\x1b[31m│\x1b[0m \x1b[0m\x1b[1m\x1b[33mWarning: \x1b[0m\x1b[0m\x1b[1mArgument is deprecated\x1b[0m\n"
    "\x1b[31m│\x1b[0m \x1b[0m\n"
    "\x1b[31m│\x1b[0m \x1b[0m\x1b[0m  with aws_s3_bucket.this,\n"
    '\x1b[31m│\x1b[0m \x1b[0m\x1b[0m  on main.tf line 21, in resource "aws_s3_bucket" "this":\n'
    '\x1b[31m│\x1b[0m \x1b[0m  21:   acl = "private"\n'
    "\x1b[31m│\x1b[0m \x1b[0m\n"
    "\x1b[31m│\x1b[0m \x1b[0macl is deprecated. Use the aws_s3_bucket_acl resource instead.\n"
    "\x1b[31m╵\x1b[0m\x1b[0m\n"
)

# The same lock error as human text (`terraform plan -no-color`), wrapped at 78 columns.
HUMAN_LOCK_ERROR = f"""
Error: Error acquiring the state lock

Error message: operation error S3: PutObject, https response error
StatusCode: 412, RequestID:
fDjh2tWd4oKPZi8QVGSGdIvr3OweZk8PhPLPBy8XHmAoIpqLEtDQ, HostID:
9Gjjt1m+cjU4OPvX9O9/8RuvnG41MRb/18Oux2o5H5MY7ISNTlXN+Dz9IG62/ILVxhAGI0qyPfg=,
api error PreconditionFailed: At least one of the pre-conditions you
specified did not hold
Lock Info:
  ID:        {LOCK_ID}
  Path:      tfstate/stacks/demo.tfstate
  Operation: OperationTypePlan
  Who:       alice@laptop
  Version:   1.11.4
  Created:   2026-11-25 04:00:00 +0000 UTC
  Info:     {SP}


Terraform acquires a state lock to protect the state from being written
by multiple users at the same time. Please resolve the issue above and try
again. For most commands, you can disable locking with the "-lock=false"
flag, but this is not recommended.
"""


# --- JSON -----------------------------------------------------------------------------------


def test_validate_json_diagnostic_becomes_file_line_summary_and_first_sentence() -> None:
    diagnostic = from_json(VALIDATE_JSON["diagnostics"][0])

    assert diagnostic.one_line() == (
        'main.tf:2: Reference to undeclared input variable: An input variable with the name "nope" '
        "has not been declared."
    )
    assert diagnostic.is_error


def test_ui_lines_other_than_diagnostics_are_ignored() -> None:
    summary = {"type": "change_summary", "@message": "Plan: 1 to add", "changes": {"add": 1}}

    assert from_ui_message(summary) is None


def test_diagnostic_without_range_has_no_location() -> None:
    flag_error = {
        "severity": "error",
        "summary": "Failed to parse command-line flags",
        "detail": "flag provided but not defined: -bogus",
    }

    assert from_json(flag_error).one_line() == (
        "Failed to parse command-line flags: flag provided but not defined: -bogus"
    )


def test_lock_error_from_json_names_holder_and_hints_force_unlock(tmp_path: Path) -> None:
    diagnostic = from_ui_message(json.loads(LOCK_UI_LINE))
    assert diagnostic is not None

    error = failure("plan", [diagnostic], workdir=tmp_path / "stack dir", returncode=1)

    assert isinstance(error, OperationFailed)
    assert "ci@runner-7" in error.message
    assert LOCK_ID in error.message
    assert "tfstate/stacks/demo.tfstate" in error.message
    assert "held for apply" in error.message
    assert f"terraform force-unlock {LOCK_ID}" in error.hint
    assert f"cd '{tmp_path / 'stack dir'}' &&" in error.hint  # quoted: the path has a space
    assert error.lock is not None and error.lock.who == "ci@runner-7"
    assert error.diagnostics == [diagnostic]


# --- human text -----------------------------------------------------------------------------


def test_init_syntax_error_drops_the_preamble_and_keeps_file_and_line() -> None:
    found = parse_human(INIT_SYNTAX_ERROR)

    assert [d.summary for d in found] == [
        "Terraform encountered problems during initialisation, including problems with the "
        "configuration, described below.",
        "Missing expression",
    ]
    error = failure("init", found, returncode=1)
    assert error.message == (
        "main.tf:26: Missing expression: Expected the start of an expression, but found the end of the file."
    )
    assert "more" not in error.message  # the preamble is not counted as another error


def test_boxed_coloured_blocks_are_parsed_with_snippets_skipped() -> None:
    error, warning = parse_human(BOXED_VALIDATION_ERROR)

    assert error == Diagnostic(
        severity="error",
        summary="Invalid value for variable",
        detail="v must be > 5. It was too small.\n\nThis was checked by the validation rule at vars.tf:4,3-13.",
        filename="vars.tf",
        line=1,
    )
    assert error.one_line() == "vars.tf:1: Invalid value for variable: v must be > 5."
    assert warning.severity == "warning"
    assert warning.address == "aws_s3_bucket.this"
    assert warning.one_line() == ("main.tf:21: Argument is deprecated: acl is deprecated.")


def test_lock_error_from_human_text() -> None:
    (diagnostic,) = parse_human(HUMAN_LOCK_ERROR)

    info = lock_info(diagnostic)

    assert info is not None
    assert (info.id, info.who, info.path, info.operation) == (
        LOCK_ID,
        "alice@laptop",
        "tfstate/stacks/demo.tfstate",
        "OperationTypePlan",
    )
    assert info.info is None
    error = failure("plan", [diagnostic])
    assert error.message.startswith("tfstate/stacks/demo.tfstate is locked by alice@laptop")
    assert error.hint.endswith(f"terraform force-unlock {LOCK_ID}")


def test_several_errors_report_the_first_and_count_the_rest(tmp_path: Path) -> None:
    found = [
        Diagnostic("warning", "Deprecated attribute", "Use x instead.", "main.tf", 3),
        Diagnostic("error", "Unsupported argument", 'An argument named "tagz" is not expected here.', "main.tf", 7),
        Diagnostic("error", "Missing required argument", 'The argument "bucket" is required.', "b.tf", 1),
        Diagnostic("error", "Missing required argument", 'The argument "bucket" is required.', "b.tf", 1),
    ]
    log = tmp_path / "plan.log"

    error = failure("plan", found, log_path=log)

    assert isinstance(error, TerraformError)
    assert error.message == (
        'main.tf:7: Unsupported argument: An argument named "tagz" is not expected here. (+1 more)'
    )
    assert str(log) in error.hint and "all 2 errors" in error.hint
    assert len(error.diagnostics) == 3  # the repeat is dropped, the warning kept


def test_failure_without_diagnostics_quotes_the_last_stderr_line() -> None:
    error = failure("plan", [], returncode=1, stderr="some noise\npanic: runtime error\n\n")

    assert error.message == "terraform plan failed (exit code 1): panic: runtime error"
    assert "--debug" in error.hint


def test_first_sentence_joins_wrapped_lines_and_caps_length() -> None:
    assert first_sentence("The bucket name is\ninvalid. It must be lowercase.\n\nMore.") == (
        "The bucket name is invalid."
    )
    assert first_sentence("Version 1.11.4 is fine. Next.") == "Version 1.11.4 is fine."
    assert len(first_sentence("x" * 1000)) == 240


# --- CLI config -----------------------------------------------------------------------------


def _make_mirror(root: Path, *, packed: bool = False) -> Path:
    provider = root / "registry.terraform.io" / "hashicorp" / "aws"
    if packed:
        provider.mkdir(parents=True)
        (provider / "terraform-provider-aws_5.100.0_linux_amd64.zip").write_bytes(b"PK")
    else:
        (provider / "5.100.0" / "linux_amd64").mkdir(parents=True)
    return root


@pytest.fixture()
def no_mirror_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv(cliconfig.MIRROR_ENV, raising=False)
    return monkeypatch


def test_mirror_from_env_var_is_written_with_its_providers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = _make_mirror(tmp_path / "mirror")
    monkeypatch.setenv(cliconfig.MIRROR_ENV, str(mirror))
    cache = tmp_path / "cache" / "plugins"

    path = cliconfig.write_cli_config(tmp_path / "state", plugin_cache_dir=cache)

    text = path.read_text()
    assert path == tmp_path / "state" / "terraform.tfrc"
    assert f'plugin_cache_dir = "{cache}"' in text
    assert cache.is_dir()
    assert f'path    = "{mirror}"' in text
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in text
    assert "plugin_cache_may_break_dependency_lock_file" not in text


def test_env_var_may_point_at_the_registry_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = _make_mirror(tmp_path / "mirror")
    monkeypatch.setenv(cliconfig.MIRROR_ENV, str(mirror / "registry.terraform.io"))

    assert cliconfig.find_plugin_mirror() == mirror


def test_no_mirror_means_no_provider_installation_block(tmp_path: Path) -> None:
    path = cliconfig.write_cli_config(tmp_path, mirror=None, plugin_cache_dir=tmp_path / "cache")

    text = path.read_text()
    assert "provider_installation" not in text
    assert "plugin_cache_dir" in text


@pytest.mark.parametrize("make", [lambda p: p / "missing", lambda p: p])
def test_bad_mirror_env_var_is_bad_input_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make
) -> None:
    monkeypatch.setenv(cliconfig.MIRROR_ENV, str(make(tmp_path)))  # missing dir, or not a mirror

    with pytest.raises(BadInput) as caught:
        cliconfig.write_cli_config(tmp_path / "state")

    assert caught.value.message.startswith(f"{cliconfig.MIRROR_ENV}=")
    assert cliconfig.MIRROR_ENV in caught.value.hint
    assert not (tmp_path / "state" / "terraform.tfrc").exists()


def test_only_dirs_with_registry_namespace_type_count_as_mirrors(
    tmp_path: Path, no_mirror_env: pytest.MonkeyPatch
) -> None:
    empty_registry = tmp_path / "a"
    (empty_registry / "registry.terraform.io" / "hashicorp").mkdir(parents=True)  # no TYPE folder
    real = _make_mirror(tmp_path / "b")

    assert cliconfig.find_plugin_mirror([tmp_path / "missing", empty_registry, real]) == real
    assert cliconfig.find_plugin_mirror([empty_registry]) is None


def test_default_cache_dir_follows_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))

    assert cliconfig.default_plugin_cache_dir() == tmp_path / "xdg" / "platform-kit" / "terraform" / "plugin-cache"


def test_rewriting_the_same_config_leaves_the_file_untouched(tmp_path: Path) -> None:
    mirror = _make_mirror(tmp_path / "mirror")
    path = cliconfig.write_cli_config(tmp_path, mirror=mirror, plugin_cache_dir=tmp_path / "cache")
    os.utime(path, (1_000_000, 1_000_000))

    again = cliconfig.write_cli_config(tmp_path, mirror=mirror, plugin_cache_dir=tmp_path / "cache")
    assert again == path and path.stat().st_mtime == 1_000_000

    cliconfig.write_cli_config(tmp_path, mirror=None, plugin_cache_dir=tmp_path / "cache")
    assert path.stat().st_mtime != 1_000_000
    assert "provider_installation" not in path.read_text()


def test_lock_breaking_cache_only_for_packed_mirror_without_lock_file(tmp_path: Path) -> None:
    packed = _make_mirror(tmp_path / "packed", packed=True)
    unpacked = _make_mirror(tmp_path / "unpacked")
    workdir = tmp_path / "stack"
    workdir.mkdir()

    assert cliconfig.cache_may_break_lock_file_needed(workdir, packed)
    assert not cliconfig.cache_may_break_lock_file_needed(workdir, unpacked)  # Terraform links it
    assert not cliconfig.cache_may_break_lock_file_needed(workdir, None)  # keep registry checksums
    (workdir / ".terraform.lock.hcl").write_text("")
    assert not cliconfig.cache_may_break_lock_file_needed(workdir, packed)

    text = cliconfig.render_cli_config(mirror=packed, plugin_cache_dir=tmp_path, cache_may_break_lock_file=True)
    assert "plugin_cache_may_break_dependency_lock_file = true" in text


@pytest.mark.terraform
def test_terraform_installs_from_a_mirror_at_an_awkward_path(tmp_path: Path, no_mirror_env: pytest.MonkeyPatch) -> None:
    real = cliconfig.find_plugin_mirror()
    assert real is not None, "this machine should have the hashicorp/aws mirror (see README)"
    versions = sorted((real / "registry.terraform.io" / "hashicorp" / "aws").iterdir())
    odd = tmp_path / 'odd "dir" ${x} %{y}'
    platform = next(p for p in versions[-1].iterdir() if p.is_dir())  # e.g. .../5.100.0/linux_amd64
    version = odd / "registry.terraform.io" / "hashicorp" / "aws" / versions[-1].name
    version.mkdir(parents=True)
    # Terraform follows a symlinked platform folder, but not a symlinked version folder.
    (version / platform.name).symlink_to(platform)
    cache = tmp_path / 'cache "dir"'
    config = cliconfig.write_cli_config(tmp_path / "state", mirror=odd, plugin_cache_dir=cache)
    workdir = tmp_path / "stack"
    workdir.mkdir()
    (workdir / "main.tf").write_text(
        'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
    )

    result = subprocess.run(
        [str(adapter.find_terraform()), "init", "-no-color", "-input=false"],
        cwd=workdir,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CLI_CONFIG_FILE": str(config), "CHECKPOINT_DISABLE": "1"},
    )

    assert result.returncode == 0, result.stderr
    assert "problems with the CLI configuration" not in result.stdout + result.stderr
    assert f"Installed hashicorp/aws v{versions[-1].name}" in result.stdout
    installed = workdir / ".terraform/providers/registry.terraform.io/hashicorp/aws" / version.name / platform.name
    assert installed.is_symlink() and installed.resolve() == platform.resolve()  # linked, not copied
    assert any(cache.iterdir())  # and the cache at the odd path was used


def test_a_dollar_in_the_cache_path_is_refused(tmp_path: Path) -> None:
    # Terraform expands $VARS in plugin_cache_dir, and there is no escape for a literal '$'.
    with pytest.raises(BadInput, match="contains '\\$'"):
        cliconfig.write_cli_config(tmp_path, mirror=None, plugin_cache_dir=tmp_path / "cache${HOME}")


# --- finding Terraform ----------------------------------------------------------------------


def _fake_terraform(tmp_path: Path, stdout: str) -> Path:
    script = tmp_path / "terraform"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{stdout}\nEOF\n")
    script.chmod(0o755)
    return script


def test_old_terraform_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_terraform(tmp_path, json.dumps({"terraform_version": "1.5.7", "platform": "linux_amd64"}))
    monkeypatch.setenv("PLATFORM_TERRAFORM", str(fake))

    assert adapter.terraform_version(adapter.terraform_path()) == (1, 5, 7)
    with pytest.raises(BadInput) as caught:
        adapter.find_terraform()

    assert caught.value.message == f"terraform 1.5.7 at {fake} is older than 1.6"
    assert "PLATFORM_TERRAFORM" in caught.value.hint


def test_pre_json_terraform_version_text_is_understood(tmp_path: Path) -> None:
    fake = _fake_terraform(tmp_path, "Terraform v0.12.31\n\nYour version of Terraform is out of date!")

    assert adapter.terraform_version(fake) == (0, 12, 31)


def test_missing_platform_terraform_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_TERRAFORM", str(tmp_path / "nope"))

    with pytest.raises(BadInput, match=r"^PLATFORM_TERRAFORM=.*/nope: no such executable$"):
        adapter.find_terraform()


def test_terraform_that_prints_no_version_is_an_operation_failure(tmp_path: Path) -> None:
    fake = _fake_terraform(tmp_path, "hello")

    with pytest.raises(OperationFailed, match="could not read a version"):
        adapter.terraform_version(fake)


@pytest.mark.terraform
def test_the_real_terraform_is_new_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLATFORM_TERRAFORM", raising=False)

    assert adapter.terraform_version(adapter.find_terraform())[:2] >= adapter.MIN_TERRAFORM
