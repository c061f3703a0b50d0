"""``platform upgrade`` on the applied sandbox: the plan from real state, the platform stack's plan-level
in-place check with real Terraform, and bad input refused before any AWS call.

moto keeps the cluster (1.31) and its node groups but cannot update versions: the steps themselves
are applied against an EKS double in test_upgrade_eks.py.
"""

from __future__ import annotations

import json

import pytest

from platform_kit.upgrade import eks as eks_upgrade
from platform_kit.upgrade.planner import platform_plan_check


@pytest.fixture(scope="module")
def world(sandbox_world):
    return sandbox_world


@pytest.fixture()
def upgrade(cli, world):
    infra, _ = world

    def run(*args: str) -> tuple[int, str, str]:
        return cli("upgrade", *args, "--env", "sandbox", "--config-dir", str(infra.settings.config_dir))

    return run


def test_the_plan_reads_the_cluster_and_lists_one_hop_with_its_checks(upgrade, world) -> None:
    infra, _ = world
    before = (infra.settings.config_dir / "platform.yaml").read_text()
    code, out, err = upgrade("plan", "--kubernetes", "1.32", "-o", "json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["current"] == {"kubernetes": "1.31"} and plan["target"] == {"kubernetes": "1.32"}
    steps = {step["id"]: step for step in plan["steps"]}
    assert list(steps) == [
        "k8s-1.32/control-plane",
        "k8s-1.32/addons",
        "k8s-1.32/node-groups",
        "k8s-1.32/desired-state",
    ]
    assert not steps["k8s-1.32/control-plane"]["done"] and not steps["k8s-1.32/node-groups"]["done"]
    assert steps["k8s-1.32/addons"]["done"], "the sandbox runs no EKS add-ons"
    assert any("free IP addresses" in check for check in steps["k8s-1.32/control-plane"]["prechecks"])
    assert any("moto" in note for note in plan["notes"])
    assert (infra.settings.config_dir / "platform.yaml").read_text() == before

    code, out, err = upgrade("plan", "--kubernetes", "1.33")
    assert code == 0, err
    assert "EKS control plane 1.31 -> 1.32" in out and "EKS control plane 1.32 -> 1.33" in out
    assert "8 step(s), 6 to do" in out + err  # the add-on steps are done: the sandbox runs none


def test_the_platform_stack_plans_the_version_change_as_an_in_place_update(world) -> None:
    infra, _ = world
    inputs = infra.workdir(infra_stack()) / "inputs.auto.tfvars.json"
    before = inputs.read_text() if inputs.is_file() else None
    assert platform_plan_check(infra)("1.32") is None
    assert (inputs.read_text() if inputs.is_file() else None) == before, "the stack's own folder is untouched"
    shadow = infra.settings.project_dir / "build" / "upgrade" / "sandbox" / "terraform" / infra_stack().slug
    plan = json.loads((shadow / "plan.json").read_text())
    cluster = next(rc for rc in plan["resource_changes"] if rc["address"] == eks_upgrade.CLUSTER_ADDRESS)
    assert cluster["change"]["actions"] == ["update"]
    assert cluster["change"]["before"]["version"] == "1.31" and cluster["change"]["after"]["version"] == "1.32"


def infra_stack():
    from platform_kit.infra import Stack

    return Stack("platform")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kubernetes", "1.3x"], "is not MAJOR.MINOR"),
        (["--kubernetes", "1.40"], "not a version the kit supports"),
        (["--kubernetes", "1.30"], "platform.yaml already says 1.31; EKS cannot downgrade"),
        ([], "nothing to upgrade"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_any_aws_call(upgrade, monkeypatch, args, message) -> None:
    from platform_kit import aws

    def no_aws(*_args, **_kwargs):
        raise AssertionError("an AWS session was made for bad input")

    monkeypatch.setattr(aws, "session_for", no_aws)
    for verb in ("plan", "apply"):
        code, out, err = upgrade(verb, *args, *(["--yes"] if verb == "apply" else []))
        assert code == 2, (verb, out, err)
        assert message in err and err.strip().count("\n") <= 1, err


def test_a_failed_pre_check_stops_the_apply_with_what_to_do_and_changes_nothing(cli, world, tmp_path, monkeypatch):
    """A copy of the world's config with no render beside it (the world's own may have one): the
    control plane's removed-API check cannot run, so the apply stops there."""
    import shutil

    infra, _ = world
    config = tmp_path / "platform"
    shutil.copytree(infra.settings.config_dir, config)
    monkeypatch.setenv("PLATFORM_STATE_DIR", str(infra.settings.state_dir))  # the world's sandbox
    before = (config / "platform.yaml").read_text()
    code, out, err = cli(
        "upgrade",
        "apply",
        "--env",
        "sandbox",
        "--config-dir",
        str(config),
        "--kubernetes",
        "1.32",
        "--yes",
        "--no-plan-check",
    )
    assert code == 1, out + err
    assert "step k8s-1.32/control-plane (EKS control plane 1.31 -> 1.32) failed: no render of 'sandbox'" in err
    assert "platform render --env sandbox" in err and "resume with: platform upgrade apply" in err
    assert (config / "platform.yaml").read_text() == before


# --- compute images: canary first ---------------------------------------------------------------


@pytest.fixture()
def config_copy(world, tmp_path, monkeypatch):
    """A copy of the world's config (this test's pins stay its own) on the world's sandbox."""
    import shutil

    infra, _ = world
    config = tmp_path / "platform"
    shutil.copytree(infra.settings.config_dir, config)
    monkeypatch.setenv("PLATFORM_STATE_DIR", str(infra.settings.state_dir))
    return config


def _ecr_image(tag: str) -> str:
    return f"123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/catalog:{tag}"


def test_a_broken_image_pin_stops_the_rollout_at_the_canary(cli, config_copy) -> None:
    before = (config_copy / "platform.yaml").read_text()
    code, out, err = cli(
        "upgrade", "apply", "--env", "sandbox", "--config-dir", str(config_copy), "--yes",
        "--image", f"pytorch={_ecr_image('pytorch-2.9-does-not-exist')}",
    )  # fmt: skip
    assert code == 1, out + err
    assert "step images/canary" in err and "is not in ECR (repository acme/catalog)" in err
    assert "nothing was rolled out" in err
    assert (config_copy / "platform.yaml").read_text() == before
    assert not (config_copy.parent / "build" / "catalog").exists()


def test_a_green_canary_pins_the_image_and_rebuilds_the_catalog_then_a_rerun_does_nothing(cli, world, config_copy):
    infra, _ = world
    image = _ecr_image("pytorch-2.5.1-cuda12.4")
    ecr = infra.session().client("ecr")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "layers": []}
    ecr.put_image(repositoryName="acme/catalog", imageManifest=json.dumps(manifest), imageTag="pytorch-2.5.1-cuda12.4")

    args = ["upgrade", "apply", "--env", "sandbox", "--config-dir", str(config_copy), "--image", f"pytorch={image}"]
    code, out, err = cli(*args, "--yes", "-o", "json")
    assert code == 0, err
    outcomes = {o["id"]: o["status"] for o in json.loads(out)["outcomes"]}
    assert outcomes == {"images/canary": "applied", "images/pins": "applied", "images/catalog": "applied"}
    assert f'    pytorch: "{image}"' in (config_copy / "platform.yaml").read_text()
    log = config_copy.parent / "build" / "smoke" / "sandbox" / "perception" / "canary.log"
    assert "Executing task" in log.read_text(), "the canary ran platform-health for a team that trains"
    assert (config_copy.parent / "build" / "catalog" / "latest").is_file()

    code, out, err = cli(*args, "--yes", "-o", "json")
    assert code == 0, err
    assert {o["status"] for o in json.loads(out)["outcomes"]} == {"already done"}


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("pytorch", "give NAME=IMAGE"),
        ("nosuch=registry.example/x:1", "pins no image called 'nosuch'"),
        ("pytorch=pytorch/pytorch:latest", "is not pinned"),
    ],
)
def test_bad_image_flags_are_exit_2_before_any_aws_call(cli, config_copy, monkeypatch, image, message) -> None:
    from platform_kit import aws

    def no_aws(*_args, **_kwargs):
        raise AssertionError("an AWS session was made for bad input")

    monkeypatch.setattr(aws, "session_for", no_aws)
    code, _, err = cli("upgrade", "plan", "--env", "sandbox", "--config-dir", str(config_copy), "--image", image)
    assert code == 2 and message in err, err
