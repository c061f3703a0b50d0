"""The suite's own scheduling (tests/conftest.py): the modules that use the applied sandbox world run
as two units, so only two workers build it, and the long units are handed out first."""

from __future__ import annotations

import re
from types import SimpleNamespace

import conftest
from conftest import REPO_ROOT


class _Worker:
    """What xdist's scheduler needs of a worker: it is sent indexes of tests to run."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.sent: list[int] = []

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent.extend(indexes)

    def shutdown(self) -> None:
        self.shutting_down = True


def test_every_module_using_the_sandbox_world_is_in_one_of_the_two_world_units() -> None:
    users = {
        path.relative_to(REPO_ROOT).as_posix()
        for path in (REPO_ROOT / "tests").rglob("test_*.py")
        if re.search(r"\bsandbox_world\b", path.read_text())
    }
    assert users == set(conftest.WORLD_UNITS)
    assert set(conftest.WORLD_UNITS.values()) == {"sandbox-world-1", "sandbox-world-2"}


def test_two_workers_start_with_a_world_unit_each_and_the_third_with_the_demo(pytestconfig, monkeypatch) -> None:
    collection = [
        "tests/integration/test_catalog_aws.py::test_a",
        "tests/integration/test_ci_plan.py::test_plan",
        "tests/integration/test_demo.py::test_demo",
        "tests/integration/test_offboard.py::test_offboard",
        "tests/integration/test_offboard.py::test_offboard_again",
        "tests/integration/test_onboard.py::test_onboard",
        "tests/integration/test_onboard.py::test_onboard_again",
        "tests/integration/test_stacks.py::test_stacks",
        "tests/integration/test_stacks.py::test_stacks_again",
        "tests/terraform/test_modules.py::test_module[team]",
        "tests/terraform/test_modules.py::test_module[eks]",
        "tests/unit/test_naming.py::test_names",
        "tests/unit/test_loader.py::test_load",
    ]
    # Three workers, whatever -n this test runs under.
    monkeypatch.setattr("xdist.scheduler.loadscope.parse_tx_spec_config", lambda config: ["popen"] * 3)
    scheduler = conftest.pytest_xdist_make_scheduler(pytestconfig, None)
    workers = [_Worker(f"gw{i}") for i in range(3)]
    for worker in workers:
        scheduler.add_node(worker)
        scheduler.add_node_collection(worker, list(collection))
    scheduler.schedule()
    ordered = collection  # each worker's own order, which its indexes point into
    first = {w.name: ordered[w.sent[0]].split("::")[0] for w in workers}
    assert conftest.WORLD_UNITS[first["gw0"]] == "sandbox-world-1"
    assert conftest.WORLD_UNITS[first["gw1"]] == "sandbox-world-2"
    assert first["gw2"] == "tests/integration/test_demo.py"
    # Each unit goes to exactly one worker: a world unit's modules all run where it was built.
    given = {w.name: {ordered[i].split("::")[0] for i in w.sent} for w in workers}
    modules = {nodeid.split("::")[0] for nodeid in collection}
    world_1 = {m for m, unit in conftest.WORLD_UNITS.items() if unit == "sandbox-world-1"} & modules
    assert world_1 <= given["gw0"] and not world_1 & (given["gw1"] | given["gw2"])
    # Only the demo's worker is given a second unit at once (a world unit has more than two tests
    # pending), and it is a quick one, not the module tests.
    assert given["gw0"] == world_1 and len(given["gw2"]) == 2
    assert all("tests/terraform/" not in m for w in workers for m in given[w.name])
    # The module tests are units of their own, queued after the unit tests and before the rest.
    assert list(scheduler.workqueue) == [
        "tests/unit/test_loader.py",
        "tests/terraform/test_modules.py::test_module[team]",
        "tests/terraform/test_modules.py::test_module[eks]",
        "tests/integration/test_catalog_aws.py",
    ]
