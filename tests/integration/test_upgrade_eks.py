"""Kubernetes upgrades, applied step by step against an EKS double and the moto server's EC2.

EKS version updates are the one thing here that cannot be real: moto keeps clusters and node
groups but cannot update their versions and has no add-ons. tests/doubles/eks_api.py keeps that
state behind the real boto3 EKS client (updates in progress, then successful or failed); the
cluster's subnets are moto's, so the free-IP pre-check reads real EC2 answers, and the version is
recorded in a real copy of platform.yaml.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import moto_client
from doubles.aws_json_api import AwsJsonApiDouble
from doubles.eks_api import EksDouble

from platform_kit import versions
from platform_kit.config import load_platform
from platform_kit.errors import BadInput, OperationFailed
from platform_kit.upgrade import eks as eks_upgrade
from platform_kit.upgrade.steps import execute

CLUSTER = "acme-sandbox"
GROUPS = ("cpu", "system")


def _offered() -> dict[tuple[str, str], list[str]]:
    offered: dict[tuple[str, str], list[str]] = {}
    for version in versions.kubernetes_versions():
        for name, pin in (versions.eks_addons(version) or {}).items():
            offered[(name, version)] = [pin, "v0.0.1-eksbuild.1"]
    return offered


@pytest.fixture()
def subnets(moto_endpoint: str) -> dict[str, str]:
    """Two subnets in moto: a roomy /24 and a /28 with 11 free addresses."""
    ec2 = moto_client("ec2", moto_endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.61.0.0/16")["Vpc"]["VpcId"]
    roomy = ec2.create_subnet(VpcId=vpc, CidrBlock="10.61.1.0/24")["Subnet"]["SubnetId"]
    small = ec2.create_subnet(VpcId=vpc, CidrBlock="10.61.2.0/28")["Subnet"]["SubnetId"]
    return {"roomy": roomy, "small": small}


@pytest.fixture()
def world(httpserver, moto_endpoint: str, subnets: dict[str, str], example_config: Path):
    """An EKS double at 1.31 (node groups and add-ons too), moto's EC2, a platform.yaml at 1.31 and a
    render beside it; the steps come from the kit's planner, as `platform upgrade` gets them."""
    from platform_kit import context
    from platform_kit.infra import Infra

    api = AwsJsonApiDouble(httpserver, "eks")
    double = EksDouble(
        api,
        name=CLUSTER,
        version="1.31",
        subnets=list(subnets.values()),
        nodegroups={name: "1.31" for name in GROUPS},
        addons=versions.eks_addons("1.31") or {},
        offered=_offered(),
    )
    config = example_config
    rendered = config.parent / "build" / "sandbox" / "rendered"
    rendered.mkdir(parents=True)
    (rendered / "platform.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: kubeflow}\n")
    ec2 = moto_client("ec2", moto_endpoint)
    sleeps: list[float] = []
    eks = eks_upgrade.Eks(api.client(), ec2, CLUSTER, sleep=sleeps.append, poll_s=5.0)
    infra = Infra(context.Settings(env="sandbox", config_dir=config), load_platform(config), "sandbox")

    class World:
        pass

    w = World()
    w.api, w.double, w.eks, w.infra, w.config, w.rendered, w.sleeps, w.ec2 = (
        api,
        double,
        eks,
        infra,
        config,
        rendered,
        sleeps,
        ec2,
    )
    w.plan_check = None
    return w


def steps_to(world, target: str) -> list:
    """The planner's steps from the double's state now (as a new `platform upgrade apply` run gets them)."""
    from platform_kit.upgrade.planner import plan_upgrade

    plan = plan_upgrade(world.infra, kubernetes=target, eks=world.eks, plan_check=False)
    if world.plan_check is not None:  # stands in for the Terraform plan (run for real in test_upgrade_world.py)
        for step in plan.steps:
            if step.id.endswith("/control-plane"):
                original = step.check

                def check(original=original) -> None:
                    original()
                    problem = world.plan_check()
                    if problem:
                        from platform_kit.upgrade.steps import StepFailed

                        raise StepFailed(f"platform stack plan: {problem}")

                step.check = check
    return plan.steps


def test_two_hops_move_control_plane_add_ons_and_node_groups_in_order_and_a_rerun_changes_nothing(world) -> None:
    outcomes = execute(steps_to(world, "1.33"), resume_command="again")
    assert [o.status for o in outcomes] == ["applied"] * 8
    assert world.double.version == "1.33"
    assert world.double.nodegroups == {name: "1.33" for name in GROUPS}
    assert world.double.addons == versions.eks_addons("1.33")
    assert 'kubernetes_version: "1.33"' in (world.config / "platform.yaml").read_text()
    # Per hop: control plane first, then the add-ons whose pin changed, then each node group.
    hop = ["UpdateClusterVersion", *(["UpdateAddon"] * 1), "UpdateNodegroupVersion", "UpdateNodegroupVersion"]
    assert world.double.mutations() == [*hop, "UpdateClusterVersion", "UpdateAddon", "UpdateAddon", *hop[2:]]
    assert world.sleeps and set(world.sleeps) == {5.0}

    again = execute(steps_to(world, "1.33"), resume_command="again")
    assert again == [], "at 1.33 with everything done: no step left"
    assert len(world.double.mutations()) == 9, "and no update started"


def test_planning_goes_one_minor_at_a_time_and_refuses_skips_and_downgrades(world) -> None:
    supported = versions.kubernetes_versions()
    assert eks_upgrade.hops("1.30", "1.32", supported) == ["1.31", "1.32"]
    assert eks_upgrade.hops("1.32", "1.32", supported) == []
    with pytest.raises(BadInput, match=r"skips a minor version"):
        eks_upgrade.check_one_minor("1.31", "1.33")
    with pytest.raises(BadInput, match=r"cannot downgrade"):
        eks_upgrade.hops("1.32", "1.31", supported)
    with pytest.raises(BadInput, match=r"not a version the kit supports"):
        eks_upgrade.hops("1.31", "1.40", supported)
    with pytest.raises(BadInput, match=r"not MAJOR.MINOR"):
        eks_upgrade.minor("1.3x")
    # And EKS itself refuses a skip: the double keeps that rule, so the kit never relies on it.
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match=r"Unsupported Kubernetes minor version update from 1.31 to 1.33"):
        world.api.client().update_cluster_version(name=CLUSTER, version="1.33")


@pytest.mark.parametrize(
    ("target", "step"),
    [
        ("cluster", "k8s-1.32/control-plane"),
        ("addon:", "k8s-1.32/addons"),
        ("nodegroup:system", "k8s-1.32/node-groups"),
    ],
)
def test_a_failed_update_stops_with_the_step_named_and_a_rerun_resumes_there(world, target: str, step: str) -> None:
    world.double.fail_next(target)
    with pytest.raises(OperationFailed) as caught:
        execute(steps_to(world, "1.32"), resume_command="platform upgrade apply --env sandbox --kubernetes 1.32")
    assert caught.value.message.startswith(f"step {step} (")
    assert "ended Failed: NodeCreationFailure: Instances failed to join" in caught.value.message
    assert "resume with: platform upgrade apply --env sandbox --kubernetes 1.32" in (caught.value.hint or "")
    done_before = world.double.mutations()

    # Re-planned from real state, as the CLI does: finished steps are skipped, the failed one runs again.
    outcomes = execute(steps_to(world, "1.32"), resume_command="again")
    assert [o.status for o in outcomes if o.status == "failed"] == []
    assert world.double.version == "1.32" and set(world.double.nodegroups.values()) == {"1.32"}
    assert world.double.addons == versions.eks_addons("1.32")
    assert 'kubernetes_version: "1.32"' in (world.config / "platform.yaml").read_text()
    retried = world.double.mutations()[len(done_before) :]
    assert len(done_before) + len(retried) == 4 + 1, "each update started once, the failed one twice"


def test_an_update_already_in_progress_is_waited_for_not_started_again(world) -> None:
    world.double.start_update("cluster", "1.32")  # as a stopped earlier run left it
    world.double.start_update("nodegroup:cpu", "1.31")
    steps = steps_to(world, "1.32")
    # The node group update in progress leaves the hop to 1.31 unfinished: its steps come first.
    assert [step.id for step in steps][:4] == [
        f"k8s-1.31/{s}" for s in ("control-plane", "addons", "node-groups", "desired-state")
    ]
    outcomes = execute(steps, resume_command="again")
    # Waiting on the way finishes the control plane's update too (EKS does not need the kit for that).
    assert {o.status for o in outcomes} <= {"applied", "already done"}
    assert [o.id for o in outcomes][4:] == [
        f"k8s-1.32/{s}" for s in ("control-plane", "addons", "node-groups", "desired-state")
    ]
    mutations = world.double.mutations()
    assert "UpdateClusterVersion" not in mutations, "the update in progress to 1.32 was waited for"
    assert mutations.count("UpdateNodegroupVersion") == 2
    assert world.double.version == "1.32"


def test_the_control_plane_pre_checks_stop_before_any_change(world, subnets, moto_endpoint: str) -> None:
    # A node group behind the control plane: a hop's own check refuses to move the control plane ...
    world.double.nodegroups["cpu"] = "1.30"
    ctx = eks_upgrade.HopContext(
        env="sandbox", desired_version=lambda: "1.31", record_version=lambda _: None, rendered=lambda: []
    )
    with pytest.raises(OperationFailed, match=r"node groups not at the control plane's 1.31: cpu at 1.30"):
        execute(eks_upgrade.hop_steps(world.eks, "1.31", "1.32", ctx), resume_command="again")
    assert world.double.mutations() == []
    # ... and the planner sees the hop to 1.31 unfinished, so it brings the group up first.
    steps = steps_to(world, "1.32")
    assert steps[0].id == "k8s-1.31/control-plane" and steps[4].id == "k8s-1.32/control-plane"
    world.double.nodegroups["cpu"] = "1.31"

    for _ in range(7):  # 11 free addresses in the /28; leave 4
        world.ec2.create_network_interface(SubnetId=subnets["small"])
    with pytest.raises(OperationFailed, match=rf"fewer than 5 free IP addresses: {subnets['small']} has 4"):
        execute(steps_to(world, "1.32"), resume_command="again")
    world.double.subnets = [subnets["roomy"]]

    old_api = world.rendered / "flow.yaml"
    old_api.write_text("apiVersion: flowcontrol.apiserver.k8s.io/v1beta3\nkind: FlowSchema\nmetadata: {name: x}\n")
    with pytest.raises(OperationFailed, match=r"use APIs that Kubernetes 1.32 removes: flow.yaml: .* FlowSchema x"):
        execute(steps_to(world, "1.32"), resume_command="again")
    old_api.unlink()

    world.plan_check = lambda: f"the plan would replace {eks_upgrade.CLUSTER_ADDRESS}, not update it"
    with pytest.raises(OperationFailed, match=r"platform stack plan: the plan would replace"):
        execute(steps_to(world, "1.32"), resume_command="again")
    assert world.double.mutations() == [] and world.double.version == "1.31"


def test_an_add_on_pin_eks_does_not_offer_stops_the_add_on_step(world) -> None:
    pin = versions.eks_addons("1.32")["kube-proxy"]
    world.double.offered[("kube-proxy", "1.32")] = ["v1.32.0-eksbuild.1"]
    with pytest.raises(OperationFailed, match=f"EKS does not offer kube-proxy {pin} for Kubernetes 1.32"):
        execute(steps_to(world, "1.32"), resume_command="again")
    assert world.double.version == "1.32" and "UpdateAddon" not in world.double.mutations()


def test_a_cluster_without_node_groups_and_a_race_for_the_update_are_handled(world) -> None:
    world.double.nodegroups.clear()
    # Another run (or a person) starts the control plane update between the pre-checks and ours:
    # EKS answers ResourceInUseException, and the step waits for that update instead of failing.
    steps = steps_to(world, "1.32")
    control_plane = steps[0]
    original = control_plane.check

    def check_then_race() -> None:
        original()
        world.double.start_update("cluster", "1.32")

    control_plane.check = check_then_race
    outcomes = execute(steps, resume_command="again")
    assert [o.status for o in outcomes] == ["applied", "applied", "already done", "applied"]
    assert world.double.version == "1.32" and world.double.mutations().count("UpdateClusterVersion") == 0
