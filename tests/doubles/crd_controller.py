"""A simulated apiextensions controller, running inside the Kubernetes API server double.

On a real cluster a CustomResourceDefinition is only a request: the API server's establishing
controller accepts its names, starts serving its versions, and sets the `NamesAccepted` and
`Established` conditions. Until then a request for one of its kinds answers 404, which is why an
installer applies CRDs first and waits for `Established` before anything that uses them.

This simulation does the same for the double:

* a CRD written by a client is established after `delay_reads` later GETs of that CRD (0: at
  once): its served versions are registered as resource types (its plural, scope and status
  subresource), its status gets `acceptedNames`, `storedVersions` and both conditions `True`;
* versions the CRD no longer serves stop being served; objects already stored stay (the double
  keeps one copy per object whatever version it was written in, and converts nothing);
* deleting a CRD stops serving its kinds and deletes their objects, as the real server does.

Its writes are controller writes (`KubeApiDouble.controller_writes`), never client calls.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .kube_api import KubeApiDouble

MANAGER = "apiextensions-controller"
CRD_API_VERSION = "apiextensions.k8s.io/v1"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class CrdControllerSim:
    """Establishes CRDs for the double; configure with `KubeApiDouble.crd_controller()`."""

    cluster: KubeApiDouble = field(repr=False)
    delay_reads: int = 0
    established: list[str] = field(default_factory=list)  # names, in the order they were established
    _pending: dict[str, int] = field(default_factory=dict, init=False)

    @property
    def pending(self) -> dict[str, int]:
        return dict(self._pending)

    def on_changes(self, objects: list[dict[str, Any]]) -> None:
        for obj in objects:
            if obj.get("kind") != "CustomResourceDefinition":
                continue
            name = obj["metadata"]["name"]
            if self.cluster._read(CRD_API_VERSION, "CustomResourceDefinition", None, name) is None:
                self.withdraw(obj)
            elif self.delay_reads:
                self._pending[name] = self.delay_reads
            else:
                self.establish(name)

    def observe_read(self, path: str) -> None:
        for name in list(self._pending):
            if path != CRD_PATH + name:
                continue
            if self._pending[name] > 0:
                self._pending[name] -= 1
            else:
                del self._pending[name]
                self.establish(name)

    def flush(self) -> None:
        for name in list(self._pending):
            del self._pending[name]
            self.establish(name)

    def establish(self, name: str) -> None:
        crd = self.cluster._read(CRD_API_VERSION, "CustomResourceDefinition", None, name)
        if crd is None:
            return
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        group, kind, plural = spec.get("group", ""), names.get("kind", ""), names.get("plural", "")
        namespaced = spec.get("scope", "Namespaced") == "Namespaced"
        served = []
        for version in spec.get("versions") or []:
            if not version.get("served", True):
                continue
            served.append(version["name"])
            has_status = "status" in (version.get("subresources") or {})
            self.cluster.register(
                group, version["name"], kind, plural, namespaced, status_subresource=has_status, custom=True
            )
        self.cluster._unregister(group, kind, keep=set(served))
        status = copy.deepcopy(crd.get("status") or {})
        stored = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
        status["acceptedNames"] = {k: v for k, v in names.items() if k in ("kind", "listKind", "plural", "singular")}
        status["storedVersions"] = sorted(set(status.get("storedVersions") or []) | set(stored))
        status["conditions"] = [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "lastTransitionTime": _now()},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "lastTransitionTime": _now()},
        ]
        if crd.get("status") != status:
            crd["status"] = status
            self.cluster._controller_write(crd, MANAGER)
        if name not in self.established:
            self.established.append(name)

    def withdraw(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
        self._pending.pop(crd["metadata"]["name"], None)
        self.cluster._unregister(group, kind, keep=set(), delete_objects=True)
