"""A stateful test double of the Amazon EKS API's version updates, spoken to by a real boto3 client.

moto keeps EKS clusters and node groups but cannot update their versions, and has no add-ons. The
upgrade steps call exactly those APIs, so this double (handlers on ``AwsJsonApiDouble``, which
gives the real rest-json wire format and boto3's own parsing) keeps one cluster's state:

* the cluster's version and status, its subnets (moto's, so EC2 answers stay real);
* managed node groups with their versions, and add-ons with their versions;
* updates (cluster version, node group version, add-on): each starts ``InProgress`` and turns
  ``Successful`` after ``polls`` DescribeUpdate calls, when its change takes effect; a test can
  make the next one end ``Failed`` instead (``fail_next``), or leave one in progress at the start
  (``start_update``) as if an earlier run had been stopped.

The rules EKS enforces that the kit relies on: a version update must be one minor up
(``InvalidParameterException`` otherwise); a node group cannot go past the control plane; a second
update of the same thing while one is in progress is ``ResourceInUseException``. Scripted answers
(``add_error``) still come first, for faults.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from doubles.aws_json_api import AwsError, AwsJsonApiDouble

_NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@dataclass
class _Update:
    id: str
    kind: str  # VersionUpdate, AddonUpdate
    target: str  # "cluster", "nodegroup:<name>", "addon:<name>"
    value: str
    polls_left: int
    status: str = "InProgress"
    fail: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


class EksDouble:
    """One EKS cluster's versions, node groups, add-ons and updates."""

    def __init__(
        self,
        api: AwsJsonApiDouble,
        *,
        name: str,
        version: str,
        subnets: list[str],
        nodegroups: dict[str, str],
        addons: dict[str, str],
        polls: int = 2,
        offered: dict[tuple[str, str], list[str]] | None = None,
    ) -> None:
        self.api, self.name, self.version, self.subnets = api, name, version, subnets
        self.nodegroups, self.addons, self.polls = dict(nodegroups), dict(addons), polls
        self.updates: dict[str, _Update] = {}
        self.offered = offered or {}  # (add-on, Kubernetes version) -> versions DescribeAddonVersions lists
        self._fail_next: str | None = None
        for operation, handler in {
            "DescribeCluster": self._describe_cluster,
            "UpdateClusterVersion": self._update_cluster,
            "ListNodegroups": self._list_nodegroups,
            "DescribeNodegroup": self._describe_nodegroup,
            "UpdateNodegroupVersion": self._update_nodegroup,
            "ListAddons": self._list_addons,
            "DescribeAddon": self._describe_addon,
            "UpdateAddon": self._update_addon,
            "ListUpdates": self._list_updates,
            "DescribeUpdate": self._describe_update,
            "DescribeAddonVersions": self._describe_addon_versions,
        }.items():
            api.handle(operation, handler)

    # --- test controls ---------------------------------------------------------------------------

    def fail_next(self, target: str = "") -> None:
        """The next update started whose target begins with ``target`` ("cluster", "nodegroup:",
        "addon:coredns"; "" for any) ends Failed, after its polls, with an EKS-like error."""
        self._fail_next = target

    def start_update(self, target: str, value: str) -> str:
        """An update already in progress, as a stopped earlier run would leave it."""
        kind = "AddonUpdate" if target.startswith("addon:") else "VersionUpdate"
        return self._start(kind, target, value).id

    def mutations(self) -> list[str]:
        """The update calls the client made, in order."""
        wanted = {"UpdateClusterVersion", "UpdateNodegroupVersion", "UpdateAddon"}
        return [call.operation for call in self.api.calls if call.operation in wanted and call.status == 200]

    # --- state -----------------------------------------------------------------------------------

    def _start(self, kind: str, target: str, value: str) -> _Update:
        fail = self._fail_next is not None and target.startswith(self._fail_next)
        update = _Update(str(uuid.uuid4()), kind, target, value, self.polls, fail=fail)
        if fail:
            self._fail_next = None
        self.updates[update.id] = update
        return update

    def _busy(self, target: str) -> bool:
        return any(u.target == target and u.status == "InProgress" for u in self.updates.values())

    def _advance(self, update: _Update) -> None:
        if update.status != "InProgress":
            return
        update.polls_left -= 1
        if update.polls_left > 0:
            return
        if update.fail:
            update.status = "Failed"
            update.errors = [{"errorCode": "NodeCreationFailure", "errorMessage": "Instances failed to join"}]
            return
        update.status = "Successful"
        if update.target == "cluster":
            self.version = update.value
        elif update.target.startswith("nodegroup:"):
            self.nodegroups[update.target.split(":", 1)[1]] = update.value
        else:
            self.addons[update.target.split(":", 1)[1]] = update.value

    def _update_json(self, update: _Update) -> dict[str, Any]:
        params = (
            [{"type": "AddonVersion", "value": update.value}]
            if update.kind == "AddonUpdate"
            else [{"type": "Version", "value": update.value}]
        )
        return {
            "id": update.id,
            "status": update.status,
            "type": update.kind,
            "params": params,
            "createdAt": _NOW,
            "errors": update.errors,
        }

    # --- handlers --------------------------------------------------------------------------------

    def _check_cluster(self, name: str) -> AwsError | None:
        if name != self.name:
            return AwsError("ResourceNotFoundException", f"No cluster found for name: {name}.", 404)
        return None

    def _describe_cluster(self, params: dict[str, Any]) -> Any:
        missing = self._check_cluster(params["name"])
        if missing:
            return missing
        busy = self._busy("cluster")
        return {
            "cluster": {
                "name": self.name,
                "arn": f"arn:aws:eks:us-east-1:123456789012:cluster/{self.name}",
                "version": self.version,
                "status": "UPDATING" if busy else "ACTIVE",
                "resourcesVpcConfig": {"subnetIds": list(self.subnets)},
            }
        }

    def _update_cluster(self, params: dict[str, Any]) -> Any:
        missing = self._check_cluster(params["name"])
        if missing:
            return missing
        if self._busy("cluster"):
            return AwsError("ResourceInUseException", "Cluster already has an update in progress", 409)
        current, wanted = _minor(self.version), _minor(params["version"])
        if wanted != (current[0], current[1] + 1):
            return AwsError(
                "InvalidParameterException",
                f"Unsupported Kubernetes minor version update from {self.version} to {params['version']}",
            )
        return {"update": self._update_json(self._start("VersionUpdate", "cluster", params["version"]))}

    def _list_nodegroups(self, params: dict[str, Any]) -> Any:
        return self._check_cluster(params["clusterName"]) or {"nodegroups": sorted(self.nodegroups)}

    def _nodegroup_missing(self, params: dict[str, Any]) -> AwsError | None:
        missing = self._check_cluster(params["clusterName"])
        if missing is None and params["nodegroupName"] not in self.nodegroups:
            return AwsError(
                "ResourceNotFoundException", f"No node group found for name: {params['nodegroupName']}.", 404
            )
        return missing

    def _describe_nodegroup(self, params: dict[str, Any]) -> Any:
        missing = self._nodegroup_missing(params)
        if missing:
            return missing
        name = params["nodegroupName"]
        return {
            "nodegroup": {
                "nodegroupName": name,
                "clusterName": self.name,
                "version": self.nodegroups[name],
                "status": "UPDATING" if self._busy(f"nodegroup:{name}") else "ACTIVE",
                "updateConfig": {"maxUnavailablePercentage": 33},
            }
        }

    def _update_nodegroup(self, params: dict[str, Any]) -> Any:
        missing = self._nodegroup_missing(params)
        if missing:
            return missing
        name, version = params["nodegroupName"], params.get("version") or self.version
        if self._busy(f"nodegroup:{name}"):
            return AwsError("ResourceInUseException", f"Nodegroup {name} already has an update in progress", 409)
        if _minor(version) > _minor(self.version):
            return AwsError(
                "InvalidParameterException",
                f"Requested Nodegroup version {version} is newer than the cluster version {self.version}",
            )
        return {"update": self._update_json(self._start("VersionUpdate", f"nodegroup:{name}", version))}

    def _list_addons(self, params: dict[str, Any]) -> Any:
        return self._check_cluster(params["clusterName"]) or {"addons": sorted(self.addons)}

    def _describe_addon(self, params: dict[str, Any]) -> Any:
        missing = self._check_cluster(params["clusterName"])
        if missing:
            return missing
        name = params["addonName"]
        if name not in self.addons:
            return AwsError("ResourceNotFoundException", f"No addon: {name} found in cluster: {self.name}", 404)
        status = "UPDATING" if self._busy(f"addon:{name}") else "ACTIVE"
        return {
            "addon": {"addonName": name, "clusterName": self.name, "addonVersion": self.addons[name], "status": status}
        }

    def _update_addon(self, params: dict[str, Any]) -> Any:
        missing = self._check_cluster(params["clusterName"])
        if missing:
            return missing
        name = params["addonName"]
        if self._busy(f"addon:{name}"):
            return AwsError("ResourceInUseException", f"Addon {name} already has an update in progress", 409)
        return {"update": self._update_json(self._start("AddonUpdate", f"addon:{name}", params["addonVersion"]))}

    def _scope(self, params: dict[str, Any]) -> str:
        if params.get("nodegroupName"):
            return f"nodegroup:{params['nodegroupName']}"
        if params.get("addonName"):
            return f"addon:{params['addonName']}"
        return "cluster"

    def _list_updates(self, params: dict[str, Any]) -> Any:
        missing = self._check_cluster(params["name"])
        if missing:
            return missing
        scope = self._scope(params)
        return {"updateIds": [u.id for u in self.updates.values() if u.target == scope]}

    def _describe_update(self, params: dict[str, Any]) -> Any:
        update = self.updates.get(params["updateId"])
        if update is None or update.target != self._scope(params):
            return AwsError("ResourceNotFoundException", f"No update found for ID: {params['updateId']}", 404)
        self._advance(update)
        return {"update": self._update_json(update)}

    def _describe_addon_versions(self, params: dict[str, Any]) -> Any:
        name, version = params.get("addonName", ""), params.get("kubernetesVersion", "")
        versions = self.offered.get((name, version), [])
        compatibility = [{"clusterVersion": version, "defaultVersion": False}]
        listed = [{"addonVersion": v, "compatibilities": compatibility} for v in versions]
        return {"addons": [{"addonName": name, "addonVersions": listed}] if versions else []}
