"""Infra commands refuse bad input before any cloud or tool call; plan summaries and confirmation rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_kit.commands.infra import confirm
from platform_kit.errors import BadInput
from platform_kit.infra import Stack, summarise


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["infra", "plan", "--env", "sandbox", "--stack", "cluster"], "--stack 'cluster': unknown stack"),
        (["infra", "plan", "--env", "sandbox", "--stack", "team:nobody"], "no team 'nobody'"),
        (
            ["infra", "apply", "--env", "prod", "--stack", "team:planning"],
            "team 'planning' is not in environment 'prod'",
        ),
        (["infra", "plan", "--env", "staging"], "environments.staging: no such environment"),
        (["infra", "plan"], "no environment given"),
        (["bootstrap", "--env", "qa"], "environments.qa: no such environment"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(
    args: list[str], message: str, example_config: Path, cli, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(example_config.parent)
    monkeypatch.setenv("PLATFORM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PLATFORM_TERRAFORM", str(tmp_path / "no-terraform-here"))  # any tool call would fail
    code, stdout, stderr = cli(*args, "--config-dir", str(example_config))
    assert code == 2, stderr
    assert message in stderr
    assert stdout == ""
    assert not (example_config.parent / "build").exists()
    assert not (tmp_path / "state").exists(), "no sandbox lookup, no state written"


def _plan(*changes: tuple[str, str, list[str]]) -> dict:
    return {
        "resource_changes": [
            {"address": address, "type": kind, "mode": "managed", "change": {"actions": actions}}
            for address, kind, actions in changes
        ]
    }


def test_summary_counts_actions_and_names_destroyed_stateful_resources(tmp_path: Path) -> None:
    report = summarise(
        Stack("platform"),
        "dev",
        tmp_path / "p",
        _plan(
            ("aws_iam_role.a", "aws_iam_role", ["create"]),
            ("aws_s3_bucket.logs", "aws_s3_bucket", ["delete"]),
            ("aws_eks_cluster.this", "aws_eks_cluster", ["delete", "create"]),
            ("aws_iam_policy.p", "aws_iam_policy", ["update"]),
            ("aws_iam_role.b", "aws_iam_role", ["no-op"]),
            ("data.aws_region.x", "aws_region", ["read"]),
        ),
    )
    assert (report.add, report.change, report.destroy) == (2, 1, 2)
    assert report.replace == ["aws_eks_cluster.this"]
    assert report.destroyed_stateful == ["aws_s3_bucket.logs", "aws_eks_cluster.this"]
    assert report.has_changes


def test_an_empty_plan_has_no_changes(tmp_path: Path) -> None:
    report = summarise(Stack("team", "x"), "dev", tmp_path / "p", _plan(("aws_iam_role.a", "aws_iam_role", ["no-op"])))
    assert not report.has_changes and report.stack.id == "team:x"


def test_confirmation_rules(tmp_path: Path, monkeypatch) -> None:
    stateful = summarise(Stack("platform"), "dev", tmp_path / "p", _plan(("b", "aws_s3_bucket", ["delete"])))
    with pytest.raises(BadInput, match="destroys stateful resources: b"):
        confirm(stateful, yes=True, allow_destroy=False)
    assert confirm(stateful, yes=True, allow_destroy=True)

    plain = summarise(Stack("platform"), "dev", tmp_path / "p", _plan(("r", "aws_iam_role", ["create"])))
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(BadInput, match="refusing to apply without confirmation"):
        confirm(plain, yes=False, allow_destroy=False)
    assert confirm(plain, yes=True, allow_destroy=False)


@pytest.mark.parametrize("text", ["bootstrap", "platform", "team:vision"])
def test_stack_names_round_trip(text: str) -> None:
    assert Stack.parse(text).id == text


def test_a_protected_environment_needs_allow_destroy_for_any_destroy(tmp_path: Path) -> None:
    report = summarise(Stack("team", "x"), "prod", tmp_path / "p", _plan(("r", "aws_iam_role", ["delete"])))
    assert confirm(report, yes=True, allow_destroy=False, protected=False)
    with pytest.raises(BadInput, match="'prod' is protected and the plan destroys 1 resource"):
        confirm(report, yes=True, allow_destroy=False, protected=True)
    assert confirm(report, yes=True, allow_destroy=True, protected=True)


def test_the_init_fingerprint_follows_configuration_not_tests(tmp_path: Path) -> None:
    from platform_kit.infra import _init_fingerprint

    stack = tmp_path / "terraform" / "stacks" / "team"
    module = tmp_path / "terraform" / "modules" / "team"
    for folder in (stack, module / "tests"):
        folder.mkdir(parents=True)
    (stack / "main.tf").write_text('module "team" { source = "../../modules/team" }\n')
    (module / "main.tf").write_text("# nothing yet\n")
    (module / "tests" / "a.tftest.hcl").write_text("run {}\n")
    binary = tmp_path / "terraform-bin"
    binary.write_text("")
    backend = {"bucket": "b", "key": "teams/sandbox/x.tfstate"}
    first = _init_fingerprint(stack, binary, backend)
    assert _init_fingerprint(stack, binary, backend) == first
    (module / "tests" / "a.tftest.hcl").write_text("run { command = plan }\n")
    assert _init_fingerprint(stack, binary, backend) == first  # tests do not need init
    assert _init_fingerprint(stack, binary, {**backend, "key": "teams/sandbox/y.tfstate"}) != first
    (module / "main.tf").write_text('module "nested" { source = "./nested" }\n')
    assert _init_fingerprint(stack, binary, backend) != first  # a new module call needs init
