"""Shared fixtures: a moto server on 127.0.0.1 standing in for AWS, and a CLI runner."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# pytest-xdist workers start with COLUMNS=80 in their environment; rich would fix the consoles'
# width from it when platform_kit.console is imported. The cli fixture sets the width per test.
os.environ.pop("COLUMNS", None)

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = REPO_ROOT / "platform"
# The offline Kubeflow snapshots live in ../shared beside the clone (on CI too).
UPSTREAM = REPO_ROOT.parent / "shared" / "upstream"


# The suite runs on pytest-xdist workers with --dist loadscope (pyproject's addopts): each test module
# is one unit of work, so module-scoped fixtures (a checkov run, an upstream render) run once. The
# suite is CPU-bound on CI's two cores, so work that is done once per worker costs real time: the
# applied sandbox_world (session-scoped, about two minutes of Terraform on moto) is built by every
# worker that runs a module needing it. `pytest_xdist_make_scheduler` below therefore joins those
# modules into two units (WORLD_UNITS, about equal in time), so two workers build it and the third
# never does, and it starts the longest units first (UNIT_ORDER) so that none of them is left for
# the end, with the module tests split (SPLIT_MODULES). tests/unit/test_test_scheduling.py checks
# that every module using the world is listed.
# (--dist loadgroup with xdist_group markers would do the joining, but xdist 3.8 tags a node ID in a
# way pytest 9.2 no longer reads, so every test was scheduled alone.)
WORLD_UNITS = {
    "tests/integration/test_onboard.py": "sandbox-world-1",
    "tests/integration/test_ci_plan.py": "sandbox-world-1",
    "tests/integration/test_smoke.py": "sandbox-world-1",
    "tests/integration/test_offboard.py": "sandbox-world-2",
    "tests/integration/test_stacks.py": "sandbox-world-2",
    "tests/integration/test_upgrade_world.py": "sandbox-world-2",
    "tests/integration/test_catalog_publish.py": "sandbox-world-2",
    "tests/integration/test_smoke_deploy.py": "sandbox-world-2",
}
# Each `terraform test` of a module (a minute or more, no shared fixture worth keeping) is a unit
# of its own, so they spread over the workers instead of queueing on one.
SPLIT_MODULES = ("tests/terraform/test_modules.py",)
# The first units handed out, in this order; xdist gives a worker with two tests or fewer pending a
# second unit at once, so the quick unit tests come before the long `terraform test` units.
UNIT_ORDER = (
    "sandbox-world-1",
    "sandbox-world-2",
    "tests/integration/test_demo.py",
    "tests/unit/",
    "tests/terraform/test_modules.py",
)


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class WorldScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if module in SPLIT_MODULES:
                return nodeid
            return WORLD_UNITS.get(module) or super()._split_scope(nodeid)

        def _assign_work_unit(self, node) -> None:
            # The queue holds units in the order of the collection (--no-loadscope-reorder); put the
            # long ones first before the first is handed out. (Only the queue is reordered: each
            # worker runs tests by their index in its own collection, which must stay as it is.)
            if not getattr(self, "_ordered", False):
                self._ordered = True
                for scope in sorted(self.workqueue, key=self._rank):
                    self.workqueue.move_to_end(scope)
            super()._assign_work_unit(node)

        def _rank(self, scope: str) -> int:
            for rank, prefix in enumerate(UNIT_ORDER):
                if scope.startswith(prefix):
                    return rank
            return len(UNIT_ORDER)

    return WorldScheduling(config, log)


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One moto server for the whole session, started through the kit's own sandbox code."""
    from platform_kit import sandbox

    state_dir = tmp_path_factory.mktemp("moto-state")
    info = sandbox.start(state_dir)
    # The sandbox speaks HTTPS with its own CA: boto3 and Terraform in tests trust it through the
    # standard variable, as the kit's own clients do explicitly.
    previous = os.environ.get("AWS_CA_BUNDLE")
    os.environ["AWS_CA_BUNDLE"] = str(info.ca_bundle)
    yield info.endpoint
    if previous is None:
        os.environ.pop("AWS_CA_BUNDLE", None)
    else:
        os.environ["AWS_CA_BUNDLE"] = previous
    sandbox.stop(state_dir)


@pytest.fixture()
def example_config(tmp_path: Path) -> Path:
    """A private copy of the example platform config, safe to edit in a test."""
    target = tmp_path / "platform"
    shutil.copytree(EXAMPLE_CONFIG, target)
    platform_yaml = target / "platform.yaml"
    text = platform_yaml.read_text()
    platform_yaml.write_text(text.replace("path: ../../shared/upstream/", f"path: {UPSTREAM}/"))
    return target


@pytest.fixture()
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run the real CLI entry point in-process; returns (exit_code, stdout, stderr)."""
    from platform_kit import cli as cli_module

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    for var in ("PLATFORM_ENV", "PLATFORM_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)

    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            cli_module.main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


SANDBOX_ADMIN_ROLE = "arn:aws:iam::123456789012:role/ml-platform-admin"
SANDBOX_SSO_ROLE = "arn:aws:iam::123456789012:role/sso-ml-perception"
_GPU_GROUP = """        gpu:
          instance_types: [g5.xlarge]
          min_size: 0
          max_size: 2
          desired_size: 0
          gpu: true
"""


@pytest.fixture(scope="session")
def sandbox_world(tmp_path_factory: pytest.TempPathFactory):
    """The example config (plus a GPU node group and an SSO role) applied once on its own sandbox:
    bootstrap, platform and both example teams, with real Terraform. Shared by the modules that
    need applied stacks (about 90 s to build, one minute of it the provider's lifecycle wait).

    Its state folder is ``<root>/.platform``, the default for a config at ``<root>/platform``, so
    Settings built from that config dir find the same sandbox without any environment variable.
    Yields (infra, outputs by stack id).
    """
    from platform_kit import context, sandbox
    from platform_kit.config import load_platform
    from platform_kit.infra import Infra, Stack

    root = tmp_path_factory.mktemp("sandbox-world")
    config = root / "platform"
    shutil.copytree(EXAMPLE_CONFIG, config)
    text = (config / "platform.yaml").read_text().replace("path: ../../shared/upstream/", f"path: {UPSTREAM}/")
    text = text.replace(
        "    network:\n      vpc_cidr: 10.30.0.0/16", _GPU_GROUP + "    network:\n      vpc_cidr: 10.30.0.0/16", 1
    )
    text = text.replace(
        "      node_groups:\n        system:\n          instance_types: [m6i.large]\n          min_size: 1",
        f"      admin_role_arns: [{SANDBOX_ADMIN_ROLE}]\n      node_groups:\n        system:\n"
        "          instance_types: [m6i.large]\n          min_size: 1",
        1,
    )
    assert SANDBOX_ADMIN_ROLE in text
    (config / "platform.yaml").write_text(text)
    team = config / "teams" / "perception.yaml"
    team.write_text(team.read_text().replace("  sso_roles:\n", f"  sso_roles:\n    sandbox: {SANDBOX_SSO_ROLE}\n"))
    assert SANDBOX_SSO_ROLE in team.read_text()
    settings = context.Settings(env="sandbox", config_dir=config)
    assert settings.state_dir == root / ".platform" or os.environ.get("PLATFORM_STATE_DIR")
    state = root / ".platform"
    sandbox.start(state)
    try:
        context.set_current(settings)
        infra = Infra(settings, load_platform(config), "sandbox")
        outputs = {}
        stacks = (Stack("bootstrap"), Stack("platform"), Stack("team", "perception"), Stack("team", "planning"))
        try:
            for stack in stacks:
                outputs[stack.id] = infra.apply(infra.plan(stack))
        except Exception as exc:
            # What the sandbox saw of retries and server errors explains a failure under load.
            log = (state / sandbox.LOG_FILE).read_text(errors="replace").splitlines()
            guard = "\n".join(line for line in log if "retry guard" in line) or "(no retries or server errors)"
            raise RuntimeError(f"building the sandbox world failed: {exc}\nsandbox log, retry guard:\n{guard}") from exc
        yield infra, outputs
    finally:
        sandbox.stop(state)


# --- the onboarding and offboarding tests (test_onboard.py, test_offboard.py) ------------------


@pytest.fixture()
def onboard(cli, sandbox_world, monkeypatch):
    infra, _ = sandbox_world
    config = infra.loaded.config_dir
    monkeypatch.chdir(config.parent)

    def run(*args: str):
        return cli("onboard-team", *args, "--config-dir", str(config))

    run.config = config
    run.infra = infra
    return run


@pytest.fixture()
def kube(tmp_path: Path, monkeypatch):
    from doubles.kube_api import KubeApiDouble

    with KubeApiDouble() as double:
        double.profile_controller(delay_reads=2)
        monkeypatch.setenv("KUBECONFIG", str(double.kubeconfig(tmp_path / "kubeconfig")))
        yield double


def moto_client(service: str, endpoint: str, ca_bundle: Path | str | None = None):
    """A real boto3 client aimed at a moto server, with the fake keys and none of the user's AWS files.
    The server's CA comes from AWS_CA_BUNDLE (set by ``moto_endpoint``) unless ``ca_bundle`` is given."""
    from platform_kit import aws

    verify = {"verify": str(ca_bundle)} if ca_bundle is not None else {}
    return aws.emulator_session("us-east-1").client(service, endpoint_url=endpoint, **verify)


def make_batch_queue(iam, batch, suffix: str, *, definition: str = "features") -> dict[str, str]:
    """An unmanaged compute environment, a job queue and a container job definition in moto (which
    wants the compute environment's service role to exist). Returns the queue's and definition's names."""
    import json as _json

    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role(RoleName=f"batch-service-{suffix}", AssumeRolePolicyDocument=_json.dumps(trust))["Role"][
        "Arn"
    ]
    environment = batch.create_compute_environment(
        computeEnvironmentName=f"ce-{suffix}", type="UNMANAGED", state="ENABLED", serviceRole=role
    )["computeEnvironmentName"]
    queue = batch.create_job_queue(
        jobQueueName=f"queue-{suffix}",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )["jobQueueName"]
    registered = batch.register_job_definition(
        jobDefinitionName=f"{definition}-{suffix}",
        type="container",
        containerProperties={
            "image": "public.ecr.aws/docker/library/busybox:1.36",
            "command": ["echo", "default"],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "512"}],
        },
    )["jobDefinitionName"]
    return {"queue": queue, "definition": registered}


@pytest.fixture()
def http_double():
    """A factory of local HTTP servers standing in for a web API (Slack, GitHub); stopped after the test."""
    from pytest_httpserver import HTTPServer

    servers = []

    def start():
        server = HTTPServer(host="127.0.0.1", port=0)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.clear()
        server.stop()
