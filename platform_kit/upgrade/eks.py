"""Kubernetes upgrades of an EKS platform: one minor version at a time, control plane, add-ons, nodes.

Planning is pure: ``hops`` turns "1.30 to 1.32" into two hops and refuses anything else (a
downgrade, a version the kit does not know); ``addon_pins`` reads the add-on versions matrix and
``removed_in_use`` the API removal table, both data in ``platform_kit/data/``.

Each hop is four steps (``hop_steps``), in this order:

1. control plane: pre-checks (the cluster is at the hop's source version, every node group is at
   that version too, the cluster's subnets have free IP addresses, no rendered object uses an API
   the target removes, and the platform stack's plan updates the cluster in place); then
   ``UpdateClusterVersion``, or waiting for one already in progress;
2. add-ons: each EKS add-on to the matrix's pin for the target (``UpdateAddon``, one at a time);
3. node groups: each managed node group to the target (``UpdateNodegroupVersion``: EKS replaces
   nodes, at most the group's ``maxUnavailable`` at a time; the kit sets 33%);
4. desired state: ``cluster.kubernetes_version`` in ``platform.yaml`` becomes the target. Last, so
   that a platform stack apply in the middle of a hop cannot roll every node group at once (its
   plan would try to take the cluster back, which EKS refuses, and nothing else changes).

After each change, the step reads EKS again and fails unless it reports the target.

Every step finds out from EKS (or the config file) whether it is already done, and waits for an
update of its kind that is already in progress instead of starting a second one. The EKS calls are
made directly with boto3, because Terraform would make them all at once; the platform stack's
state catches up on its next refresh (its configuration then says the same).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from platform_kit import versions
from platform_kit.errors import BadInput, OperationFailed
from platform_kit.upgrade.steps import Step, StepFailed

MIN_FREE_IPS = 5  # EKS needs up to five free addresses in the cluster's subnets for a version update
POLL_S = 30.0
TIMEOUT_S = 3 * 3600.0  # a large node group rolls for a long time; a stuck update is still reported
CLUSTER_ADDRESS = "module.eks.aws_eks_cluster.this"
_DONE = {"Successful"}
_FAILED = {"Failed", "Cancelled"}


# --- data ---------------------------------------------------------------------------------------


def addon_pins(version: str) -> dict[str, str]:
    """The add-on versions the kit runs with Kubernetes ``version`` (``data/eks-addons.yaml``)."""
    pins = versions.eks_addons(version)
    if pins is None:
        raise BadInput(f"no EKS add-on versions known for Kubernetes {version} (data/eks-addons.yaml)")
    return pins


@dataclass(frozen=True)
class Removal:
    api_version: str
    kind: str
    removed_in: str
    replacement: str


def removals() -> list[Removal]:
    return [
        Removal(str(r["api_version"]), str(r["kind"]), str(r["removed_in"]), str(r["replacement"]))
        for r in versions.data("kubernetes-removed-apis.yaml")["removed"]
    ]


def minor(version: str) -> tuple[int, int]:
    try:
        major, minor_ = version.split(".")
        return int(major), int(minor_)
    except ValueError:
        raise BadInput(f"Kubernetes version {version!r} is not MAJOR.MINOR (for example 1.32)") from None


def hops(current: str, target: str, supported: Iterable[str]) -> list[str]:
    """The versions to go through, one minor at a time, from ``current`` to ``target`` (empty when equal)."""
    known = list(supported)
    if target not in known:
        raise BadInput(f"--kubernetes {target}: not a version the kit supports ({', '.join(known)})")
    if minor(target) < minor(current):
        raise BadInput(f"--kubernetes {target}: the cluster is at {current}; EKS cannot downgrade a cluster")
    if current not in known:
        raise BadInput(f"the cluster is at {current}, which the kit does not know ({', '.join(known)})")
    return known[known.index(current) + 1 : known.index(target) + 1]


def check_request(target: str, desired: str, supported: Iterable[str]) -> None:
    """What is wrong with ``--kubernetes target`` that the config alone shows (no AWS call): not X.Y,
    a version the kit does not know, or below what platform.yaml already says."""
    known = list(supported)
    minor(target)
    if target not in known:
        raise BadInput(f"--kubernetes {target}: not a version the kit supports ({', '.join(known)})")
    if minor(target) < minor(desired):
        raise BadInput(f"--kubernetes {target}: platform.yaml already says {desired}; EKS cannot downgrade")


def check_one_minor(source: str, target: str) -> None:
    """Refuse a hop of more than one minor version: EKS cannot skip, and neither does the kit."""
    (a_major, a_minor), (b_major, b_minor) = minor(source), minor(target)
    if a_major != b_major or b_minor != a_minor + 1:
        raise BadInput(f"{source} -> {target} skips a minor version; EKS upgrades one minor at a time")


def removed_in_use(objects: Iterable[tuple[str, dict[str, Any]]], source: str, target: str) -> list[str]:
    """'where: apiVersion kind (removed in X; use Y)' for each object whose API is gone after ``source``
    and by ``target``."""
    gone = {(r.api_version, r.kind): r for r in removals() if minor(source) < minor(r.removed_in) <= minor(target)}
    found = []
    for where, obj in objects:
        removal = gone.get((str(obj.get("apiVersion", "")), str(obj.get("kind", ""))))
        if removal is not None:
            name = (obj.get("metadata") or {}).get("name", "?")
            found.append(
                f"{where}: {removal.api_version} {removal.kind} {name} "
                f"(removed in {removal.removed_in}; use {removal.replacement})"
            )
    return found


def in_place_update(plan_json: dict[str, Any], address: str = CLUSTER_ADDRESS) -> str | None:
    """None when the plan updates ``address`` in place and destroys nothing; else what is wrong."""
    changes = {rc["address"]: rc.get("change", {}).get("actions", []) for rc in plan_json.get("resource_changes", [])}
    actions = changes.get(address)
    if actions is None:
        return f"the plan does not touch {address}"
    if actions != ["update"]:
        return f"the plan would {'replace' if 'delete' in actions else '/'.join(actions)} {address}, not update it"
    destroyed = sorted(a for a, acts in changes.items() if "delete" in acts)
    if destroyed:
        return f"the plan also destroys {', '.join(destroyed)}"
    return None


# --- EKS, read and changed through boto3 ----------------------------------------------------------


class Eks:
    """The cluster as EKS reports it, and its updates."""

    def __init__(
        self,
        eks: Any,
        ec2: Any,
        cluster: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        poll_s: float = POLL_S,
        timeout_s: float = TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        emulated: bool = False,
    ) -> None:
        self.eks, self.ec2, self.name, self.emulated = eks, ec2, cluster, emulated
        self.sleep, self.poll_s, self.timeout_s, self.clock = sleep, poll_s, timeout_s, clock

    def _call(self, what: str, method: Callable[..., Any], *, service: str = "EKS", **params: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise OperationFailed(
                f"{service} {what} for {self.name}: {error.get('Code')}: {error.get('Message')}"
            ) from None
        except BotoCoreError as exc:
            raise OperationFailed(f"{service} {what} for {self.name}: {exc}") from None

    def cluster(self) -> dict[str, Any]:
        return self._call("DescribeCluster", self.eks.describe_cluster, name=self.name)["cluster"]

    def version(self) -> str:
        return str(self.cluster()["version"])

    def nodegroups(self) -> dict[str, str]:
        names: list[str] = []
        params: dict[str, Any] = {"clusterName": self.name}
        while True:
            page = self._call("ListNodegroups", self.eks.list_nodegroups, **params)
            names += page.get("nodegroups", [])
            if not page.get("nextToken"):
                break
            params["nextToken"] = page["nextToken"]
        found = {}
        for name in sorted(names):
            group = self._call(
                "DescribeNodegroup", self.eks.describe_nodegroup, clusterName=self.name, nodegroupName=name
            )["nodegroup"]
            found[name] = str(group.get("version", ""))
        return found

    def nodegroup(self, name: str) -> dict[str, Any]:
        return self._call("DescribeNodegroup", self.eks.describe_nodegroup, clusterName=self.name, nodegroupName=name)[
            "nodegroup"
        ]

    def addons(self) -> dict[str, str]:
        if self.emulated:
            return {}  # the sandbox runs no add-ons (moto has no add-on API)
        names = self._call("ListAddons", self.eks.list_addons, clusterName=self.name).get("addons", [])
        return {
            name: str(
                self._call("DescribeAddon", self.eks.describe_addon, clusterName=self.name, addonName=name)["addon"][
                    "addonVersion"
                ]
            )
            for name in sorted(names)
        }

    def offered(self, addon: str, kubernetes: str) -> list[str]:
        """The versions of ``addon`` EKS offers for Kubernetes ``kubernetes`` (DescribeAddonVersions)."""
        found: list[str] = []
        params: dict[str, Any] = {"addonName": addon, "kubernetesVersion": kubernetes}
        while True:
            page = self._call("DescribeAddonVersions", self.eks.describe_addon_versions, **params)
            for entry in page.get("addons", []):
                found += [str(v["addonVersion"]) for v in entry.get("addonVersions", [])]
            if not page.get("nextToken"):
                return found
            params["nextToken"] = page["nextToken"]

    def free_ips(self) -> dict[str, int]:
        subnets = self.cluster().get("resourcesVpcConfig", {}).get("subnetIds", [])
        if not subnets:
            return {}
        answer = self._call("DescribeSubnets", self.ec2.describe_subnets, service="EC2", SubnetIds=list(subnets))[
            "Subnets"
        ]
        return {s["SubnetId"]: int(s.get("AvailableIpAddressCount", 0)) for s in answer}

    def _scope(self, nodegroup: str | None = None, addon: str | None = None) -> dict[str, str]:
        scope = {"name": self.name}
        if nodegroup:
            scope["nodegroupName"] = nodegroup
        if addon:
            scope["addonName"] = addon
        return scope

    def _status(self, nodegroup: str | None, addon: str | None) -> str:
        if nodegroup:
            return str(self.nodegroup(nodegroup).get("status", ""))
        if addon:
            answer = self._call("DescribeAddon", self.eks.describe_addon, clusterName=self.name, addonName=addon)
            return str(answer["addon"].get("status", ""))
        return str(self.cluster().get("status", ""))

    def in_progress(self, *, nodegroup: str | None = None, addon: str | None = None) -> list[str]:
        """IDs of this cluster's (or node group's, or add-on's) updates that are still in progress.

        Only a resource EKS reports as UPDATING has one, so the update history (which grows with
        every change) is read only then, every page of it."""
        if self.emulated:
            return []  # moto has no update history: nothing is ever in progress there
        if self._status(nodegroup, addon) != "UPDATING":
            return []
        scope = self._scope(nodegroup, addon)
        ids: list[str] = []
        params: dict[str, Any] = dict(scope)
        while True:
            page = self._call("ListUpdates", self.eks.list_updates, **params)
            ids += page.get("updateIds", [])
            if not page.get("nextToken"):
                break
            params["nextToken"] = page["nextToken"]
        return [
            update_id
            for update_id in ids
            if self._call("DescribeUpdate", self.eks.describe_update, updateId=update_id, **scope)["update"]["status"]
            == "InProgress"
        ]

    def start(
        self,
        what: str,
        operation: str,
        method: Callable[..., Any],
        *,
        nodegroup: str | None = None,
        addon: str | None = None,
        **params: Any,
    ) -> None:
        """Start an update and wait for it. When EKS answers that one is already running (another
        run, or a person, got there first), wait for that one instead of failing."""
        from botocore.exceptions import ClientError

        try:
            update = method(**params)["update"]
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") != "ResourceInUseException":
                raise OperationFailed(
                    f"EKS {operation} for {self.name}: {error.get('Code')}: {error.get('Message')}"
                ) from None
            self.finish_running(what, nodegroup=nodegroup, addon=addon)
            return
        self.wait(update["id"], what, nodegroup=nodegroup, addon=addon)

    def wait(self, update_id: str, what: str, *, nodegroup: str | None = None, addon: str | None = None) -> None:
        """Poll an update until it ends; StepFailed when it fails, is cancelled or outlasts the timeout."""
        scope = self._scope(nodegroup, addon)
        deadline = self.clock() + self.timeout_s
        while True:
            update = self._call("DescribeUpdate", self.eks.describe_update, updateId=update_id, **scope)["update"]
            state = update["status"]
            if state in _DONE:
                return
            if state in _FAILED:
                errors = (
                    "; ".join(f"{e.get('errorCode')}: {e.get('errorMessage')}" for e in update.get("errors", []))
                    or "EKS gave no error detail"
                )
                raise StepFailed(
                    f"{what}: EKS update {update_id} ended {state}: {errors}",
                    hint=f"read it with: aws eks describe-update --name {self.name} --update-id {update_id}",
                )
            if self.clock() >= deadline:
                raise StepFailed(
                    f"{what}: EKS update {update_id} still in progress after {self.timeout_s:.0f} s",
                    hint="it goes on in AWS; running again waits for it instead of starting another",
                )
            self.sleep(self.poll_s)

    def finish_running(self, what: str, *, nodegroup: str | None = None, addon: str | None = None) -> None:
        for update_id in self.in_progress(nodegroup=nodegroup, addon=addon):
            self.wait(update_id, f"{what} (already in progress)", nodegroup=nodegroup, addon=addon)


# --- the steps of one hop -------------------------------------------------------------------------


@dataclass
class HopContext:
    """What the steps of a hop need besides EKS: how to read and record the desired version, the
    objects to scan for removed APIs, and the platform stack's plan check (None: not run, said so)."""

    env: str
    desired_version: Callable[[], str]
    record_version: Callable[[str], None]
    rendered: Callable[[], list[tuple[str, dict[str, Any]]]]
    plan_check: Callable[[str], str | None] | None = None  # target -> problem or None
    with_addons: bool = True
    notes: list[str] | None = None


def hop_steps(eks: Eks, source: str, target: str, ctx: HopContext) -> list[Step]:
    """The steps of one hop, ``source`` -> ``target`` (one minor apart)."""
    check_one_minor(source, target)
    pins = addon_pins(target)
    tag = f"k8s-{target}"

    def control_plane_done() -> bool:
        return minor(eks.version()) >= minor(target) and not eks.in_progress()

    def control_plane_check() -> None:
        current = eks.version()
        if current == target:
            return  # an update to the target finished or is finishing: run() waits for it
        if current != source:
            raise StepFailed(
                f"the control plane is at {current}, not {source} as planned",
                hint=f"plan again: platform upgrade plan --env {ctx.env} --kubernetes {target}",
            )
        behind = {name: v for name, v in eks.nodegroups().items() if v != source}
        if behind:
            listed = ", ".join(f"{name} at {v}" for name, v in behind.items())
            raise StepFailed(
                f"node groups not at the control plane's {source}: {listed}",
                hint="finish the previous hop first: its node group step brings them to the control plane's version",
            )
        short = {subnet: count for subnet, count in eks.free_ips().items() if count < MIN_FREE_IPS}
        if short:
            listed = ", ".join(f"{subnet} has {count}" for subnet, count in sorted(short.items()))
            raise StepFailed(
                f"cluster subnets with fewer than {MIN_FREE_IPS} free IP addresses: {listed}",
                hint="free addresses in those subnets (or add subnets to the cluster) before the update",
            )
        removed = removed_in_use(ctx.rendered(), source, target)
        if removed:
            raise StepFailed(
                f"{len(removed)} rendered object(s) use APIs that Kubernetes {target} removes: {removed[0]}",
                hint="move them to the replacement API and render again",
            )
        if ctx.plan_check is not None:
            problem = ctx.plan_check(target)
            if problem:
                raise StepFailed(
                    f"platform stack plan for {target}: {problem}",
                    hint="a version change must update the cluster in place; look at the plan for what forces more",
                )

    def control_plane_run() -> None:
        eks.finish_running(f"control plane update of {eks.name}")
        if eks.version() == target:
            return
        eks.start(
            f"control plane {source} -> {target}",
            "UpdateClusterVersion",
            eks.eks.update_cluster_version,
            name=eks.name,
            version=target,
        )

    def control_plane_verify() -> None:
        if eks.version() != target:
            raise StepFailed(f"EKS reports the control plane at {eks.version()}, not {target}")

    def nodegroups_done() -> bool:
        groups = eks.nodegroups()
        return all(v == target for v in groups.values()) and not any(eks.in_progress(nodegroup=n) for n in groups)

    def nodegroups_check() -> None:
        if eks.version() != target:
            raise StepFailed(f"the control plane is at {eks.version()}; node groups follow it to {target} only after")

    def nodegroups_run() -> None:
        for name, version in eks.nodegroups().items():  # one group at a time: capacity is lost group by group
            eks.finish_running(f"node group {name}", nodegroup=name)
            if str(eks.nodegroup(name).get("version")) == target:
                continue
            eks.start(
                f"node group {name} {version} -> {target}",
                "UpdateNodegroupVersion",
                eks.eks.update_nodegroup_version,
                nodegroup=name,
                clusterName=eks.name,
                nodegroupName=name,
                version=target,
            )

    def nodegroups_verify() -> None:
        behind = {n: v for n, v in eks.nodegroups().items() if v != target}
        if behind:
            raise StepFailed(f"node groups not at {target} after the update: {behind}")

    def addons_differ() -> dict[str, str]:
        present = eks.addons()
        return {name: version for name, version in present.items() if name in pins and pins[name] != version}

    def addons_done() -> bool:
        if not ctx.with_addons:
            return True
        return not addons_differ()

    def addons_check() -> None:
        for name in addons_differ():
            if pins[name] not in eks.offered(name, target):
                raise StepFailed(
                    f"EKS does not offer {name} {pins[name]} for Kubernetes {target}",
                    hint="update the pin in platform_kit/data/eks-addons.yaml from: aws eks describe-addon-versions "
                    f"--kubernetes-version {target} --addon-name {name}",
                )

    def addons_run() -> None:
        for name in addons_differ():
            eks.finish_running(f"add-on {name}", addon=name)
            if eks.addons().get(name) == pins[name]:
                continue
            eks.start(
                f"add-on {name} -> {pins[name]}",
                "UpdateAddon",
                eks.eks.update_addon,
                addon=name,
                clusterName=eks.name,
                addonName=name,
                addonVersion=pins[name],
                resolveConflicts="OVERWRITE",
            )

    def addons_verify() -> None:
        left = addons_differ()
        if left:
            raise StepFailed(f"add-ons not at the {target} pins after the update: {left}")

    def recorded() -> bool:
        return ctx.desired_version() == target

    def record() -> None:
        ctx.record_version(target)

    def record_verify() -> None:
        if ctx.desired_version() != target:
            raise StepFailed(f"platform.yaml still says {ctx.desired_version()} for {ctx.env}")

    pin_list = ", ".join(f"{name} {version}" for name, version in pins.items())
    return [
        Step(
            id=f"{tag}/control-plane",
            title=f"EKS control plane {source} -> {target}",
            prechecks=[
                f"EKS reports the control plane at {source} and no update in progress (one in progress is waited for)",
                f"every managed node group is at {source} (node/control-plane skew)",
                f"each cluster subnet has at least {MIN_FREE_IPS} free IP addresses",
                f"no rendered object uses an API removed by {target} (data/kubernetes-removed-apis.yaml)",
                f"the platform stack's plan at {target} updates {CLUSTER_ADDRESS} in place and destroys nothing",
            ],
            changes=[f"UpdateClusterVersion to {target}; EKS keeps the API server available while it updates"],
            verify=[f"DescribeCluster reports {target}"],
            is_done=control_plane_done,
            check=control_plane_check,
            run=control_plane_run,
            confirm_after=control_plane_verify,
        ),
        Step(
            id=f"{tag}/addons",
            title=f"EKS add-ons to the {target} pins",
            prechecks=[
                f"EKS offers each pin for {target} (DescribeAddonVersions)",
                "no add-on update in progress (one in progress is waited for)",
            ],
            changes=[f"UpdateAddon, one add-on at a time: {pin_list}"]
            + ([] if ctx.with_addons else ["(none here: this environment runs no EKS add-ons)"]),
            verify=["DescribeAddon reports each pin"],
            is_done=addons_done,
            check=addons_check,
            run=addons_run,
            confirm_after=addons_verify,
        ),
        Step(
            id=f"{tag}/node-groups",
            title=f"managed node groups -> {target}",
            prechecks=[f"the control plane is at {target}", "no node group update in progress (waited for)"],
            changes=[
                f"UpdateNodegroupVersion to {target}, one group at a time; EKS replaces nodes at most "
                "maxUnavailable (33%) at a time, draining each"
            ],
            verify=[f"DescribeNodegroup reports {target} for every group"],
            is_done=nodegroups_done,
            check=nodegroups_check,
            run=nodegroups_run,
            confirm_after=nodegroups_verify,
        ),
        Step(
            id=f"{tag}/desired-state",
            title=f"platform.yaml: environments.{ctx.env}.cluster.kubernetes_version = {target}",
            prechecks=["the control plane, add-ons and node groups are at the target (the steps before)"],
            changes=[
                f"one line of platform.yaml, so the platform stack plans {target} from now on; until then a "
                "platform stack apply stops at the cluster (EKS refuses the downgrade) and changes nothing"
            ],
            verify=["platform.yaml, read back, says the target"],
            is_done=recorded,
            run=record,
            confirm_after=record_verify,
        ),
    ]
