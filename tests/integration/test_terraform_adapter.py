"""The Terraform adapter driving the real terraform binary and hashicorp/aws provider against moto.

One stack (an S3 bucket, state in an S3 backend with ``use_lockfile``) is planned, applied and
re-planned once per module; the tests then check each step. The provider comes from the
machine's filesystem mirror through the kit's CLI config. Terraform needs a few seconds per
plan or apply (the 675 MiB provider loads its schema each time), so the module takes ~20 s.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from platform_kit.terraform import ApplyResult, PlanResult, Terraform, TerraformError

pytestmark = pytest.mark.terraform

REGION = "us-east-1"
PROVIDER_DIR = ".terraform/providers/registry.terraform.io/hashicorp/aws"

MAIN_TF = """\
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
  backend "s3" {}
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  endpoints {
    s3  = "%(endpoint)s"
    sts = "%(endpoint)s"
    iam = "%(endpoint)s"
  }
}

variable "marker" {
  type = string
}

resource "aws_s3_bucket" "this" {
  bucket = "%(bucket)s"
}

output "bucket" {
  value = aws_s3_bucket.this.bucket
}

output "marker" {
  value = var.marker
}
"""

# No provider at all: init and plan need only the backend, so they take a fraction of a second.
BACKEND_ONLY_TF = """\
terraform {
  backend "s3" {}
}

output "answer" {
  value = 42
}
"""


def _s3(endpoint: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def _backend(endpoint: str, bucket: str, key: str) -> dict[str, object]:
    """S3 backend settings for moto, in the form Terraform >= 1.6 takes (``endpoints`` map)."""
    return {
        "bucket": bucket,
        "key": key,
        "region": REGION,
        "endpoints": {"s3": endpoint},
        "use_path_style": True,
        "use_lockfile": True,
        "skip_credentials_validation": True,
        "skip_requesting_account_id": True,
        "skip_metadata_api_check": True,
        "skip_region_validation": True,
        "access_key": "testing",
        "secret_key": "testing",
    }


@dataclass
class Stack:
    workdir: Path
    tf: Terraform
    endpoint: str
    state_bucket: str
    state_key: str
    bucket: str
    marker: str
    lines: list[tuple[float, str]] = field(default_factory=list)  # (time seen, progress line)

    def texts(self) -> list[str]:
        return [text for _, text in self.lines]


@pytest.fixture(scope="module")
def state_bucket(moto_endpoint: str) -> str:
    name = f"tfstate-{uuid.uuid4().hex[:12]}"
    _s3(moto_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def stack(moto_endpoint: str, state_bucket: str, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """An initialised working directory (S3 backend on moto, provider from the mirror)."""
    workdir = tmp_path_factory.mktemp("stack")
    bucket = f"demo-{uuid.uuid4().hex[:12]}"
    marker = f"marker-{uuid.uuid4().hex}"
    (workdir / "main.tf").write_text(MAIN_TF % {"endpoint": moto_endpoint, "bucket": bucket})
    key = f"stacks/{workdir.name}/terraform.tfstate"
    lines: list[tuple[float, str]] = []
    tf = Terraform(
        workdir,
        env={"TF_VAR_marker": marker},
        state_dir=workdir.parent / f"{workdir.name}-state",
        on_line=lambda text: lines.append((time.monotonic(), text)),
    )
    tf.init(backend_config=_backend(moto_endpoint, state_bucket, key))
    return Stack(
        workdir=workdir,
        tf=tf,
        endpoint=moto_endpoint,
        state_bucket=state_bucket,
        state_key=key,
        bucket=bucket,
        marker=marker,
        lines=lines,
    )


@pytest.fixture(scope="module")
def first_plan(stack: Stack) -> PlanResult:
    return stack.tf.plan(stack.workdir / "first.tfplan")


@dataclass
class Applied:
    result: ApplyResult
    started: float
    returned: float
    lines: list[tuple[float, str]]


@pytest.fixture(scope="module")
def applied(stack: Stack, first_plan: PlanResult) -> Applied:
    before = len(stack.lines)
    started = time.monotonic()
    result = stack.tf.apply(first_plan.plan_file)
    return Applied(result, started, time.monotonic(), stack.lines[before:])


# --- the happy path -------------------------------------------------------------------------


def test_init_links_the_provider_instead_of_copying_it(stack: Stack) -> None:
    (platform_dir,) = (stack.workdir / PROVIDER_DIR).glob("*/*")

    assert platform_dir.is_symlink()
    assert "Terraform has been successfully initialized!" in stack.texts()
    config = (stack.tf.state_dir / "terraform.tfrc").read_text()
    assert "filesystem_mirror" in config and "plugin_cache_dir" in config


def test_plan_counts_one_bucket_to_add(stack: Stack, first_plan: PlanResult) -> None:
    assert first_plan.has_changes
    assert (first_plan.add, first_plan.change, first_plan.destroy, first_plan.imports) == (1, 0, 0, 0)
    assert first_plan.plan_file.is_file()
    assert "aws_s3_bucket.this: Plan to create" in stack.texts()
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in stack.texts()


def test_show_json_lists_the_planned_bucket(stack: Stack, first_plan: PlanResult) -> None:
    plan = stack.tf.show_json(first_plan.plan_file)

    changes = {c["address"]: c["change"] for c in plan["resource_changes"]}
    assert changes["aws_s3_bucket.this"]["actions"] == ["create"]
    assert changes["aws_s3_bucket.this"]["after"]["bucket"] == stack.bucket


def test_apply_streams_progress_while_terraform_runs(applied: Applied) -> None:
    texts = [text for _, text in applied.lines]

    assert applied.result == ApplyResult(add=1, change=0, destroy=0, imports=0)
    assert "aws_s3_bucket.this: Creating..." in texts
    assert any(t.startswith("aws_s3_bucket.this: Creation complete after") for t in texts)
    # Streamed, not buffered: the first line arrived well before Terraform finished.
    first_seen = applied.lines[0][0]
    assert applied.returned - first_seen > 0.5, "progress was only shown after Terraform exited"
    assert all(not t.startswith("{") for t in texts), "raw JSON UI lines reached on_line"


def test_apply_writes_state_to_the_backend_bucket_and_releases_the_lock(stack: Stack, applied: Applied) -> None:
    s3 = _s3(stack.endpoint)

    state = json.loads(s3.get_object(Bucket=stack.state_bucket, Key=stack.state_key)["Body"].read())

    assert [r["type"] + "." + r["name"] for r in state["resources"]] == ["aws_s3_bucket.this"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=stack.state_bucket).get("Contents", [])]
    assert f"{stack.state_key}.tflock" not in keys
    assert stack.bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_output_returns_plain_values_that_progress_never_showed(stack: Stack, applied: Applied) -> None:
    outputs = stack.tf.output()

    assert outputs == {"bucket": stack.bucket, "marker": stack.marker}
    # The marker was in the raw JSON of plan and apply ("outputs" messages), never in a progress line.
    assert not any(stack.marker in text for text in stack.texts())


def test_second_plan_finds_nothing_to_do(stack: Stack, applied: Applied) -> None:
    again = stack.tf.plan(stack.workdir / "second.tfplan")

    assert not again.has_changes
    assert (again.add, again.change, again.destroy) == (0, 0, 0)


# --- failures -------------------------------------------------------------------------------


def test_output_can_leave_out_what_terraform_marks_sensitive(tmp_path: Path) -> None:
    workdir = tmp_path / "outputs"
    workdir.mkdir()
    (workdir / "main.tf").write_text(
        'output "public" {\n  value = "arn:aws:iam::123456789012:role/x"\n}\n\n'
        'output "token" {\n  value     = "s3cr3t-token"\n  sensitive = true\n}\n'
    )
    tf = Terraform(workdir, state_dir=tmp_path / "state")
    tf.init()
    tf.apply(tf.plan(tmp_path / "o.tfplan").plan_file)

    assert tf.output() == {"public": "arn:aws:iam::123456789012:role/x", "token": "s3cr3t-token"}
    assert tf.output(include_sensitive=False) == {"public": "arn:aws:iam::123456789012:role/x"}


def test_syntax_error_is_reported_as_file_and_line(tmp_path: Path) -> None:
    workdir = tmp_path / "broken"
    workdir.mkdir()
    lines = ['output "ok" {', "  value = 1", "}", "", 'output "broken" {', "  value = = 2", "}"]
    (workdir / "main.tf").write_text("\n".join(lines) + "\n")
    broken = lines.index("  value = = 2") + 1
    tf = Terraform(workdir, state_dir=tmp_path / "state")

    with pytest.raises(TerraformError) as caught:
        tf.init()

    error = caught.value
    assert error.message.startswith(f"main.tf:{broken}: ")
    assert "(+" not in error.message  # init's content-free preamble is not counted
    assert error.log_path is not None and str(error.log_path) in error.hint
    assert f"main.tf:{broken}:" in error.log_path.read_text()
    assert any(d.filename == "main.tf" and d.line == broken for d in error.diagnostics)


def test_validate_reports_an_undeclared_variable(tmp_path: Path) -> None:
    workdir = tmp_path / "invalid"
    workdir.mkdir()
    (workdir / "main.tf").write_text('output "x" {\n  value = var.nope\n}\n')
    tf = Terraform(workdir, state_dir=tmp_path / "state")
    tf.init()

    with pytest.raises(TerraformError) as caught:
        tf.validate()

    assert caught.value.message == (
        'main.tf:2: Reference to undeclared input variable: An input variable with the name "nope" '
        "has not been declared."
    )


def test_held_lock_names_its_holder_and_is_left_alone(moto_endpoint: str, state_bucket: str, tmp_path: Path) -> None:
    workdir = tmp_path / "locked"
    workdir.mkdir()
    (workdir / "main.tf").write_text(BACKEND_ONLY_TF)
    key = "stacks/locked/terraform.tfstate"
    tf = Terraform(workdir, state_dir=tmp_path / "state")
    tf.init(backend_config=_backend(moto_endpoint, state_bucket, key))
    lock_id = str(uuid.uuid4())
    holder = "ci@runner-7"
    # What use_lockfile writes: <key>.tflock holding Terraform's lock info as JSON.
    lock_body = json.dumps(
        {
            "ID": lock_id,
            "Operation": "OperationTypeApply",
            "Info": "",
            "Who": holder,
            "Version": "1.11.4",
            "Created": "2026-01-01T00:00:00Z",
            "Path": f"{state_bucket}/{key}",
        }
    )
    s3 = _s3(moto_endpoint)
    s3.put_object(Bucket=state_bucket, Key=f"{key}.tflock", Body=lock_body)

    with pytest.raises(TerraformError) as caught:
        tf.plan(workdir / "blocked.tfplan")

    error = caught.value
    assert holder in error.message and lock_id in error.message
    assert f"{state_bucket}/{key}" in error.message
    assert f"terraform force-unlock {lock_id}" in error.hint
    assert str(workdir) in error.hint
    assert error.lock is not None and error.lock.id == lock_id
    # The adapter never unlocks by itself.
    assert s3.get_object(Bucket=state_bucket, Key=f"{key}.tflock")["Body"].read().decode() == lock_body


def test_first_inits_at_once_share_an_empty_plugin_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Terraform's plugin cache breaks when several inits fill it at once ("failed to create
    directory", "provider binary not found" were seen here with three); the adapter queues them."""
    from concurrent.futures import ThreadPoolExecutor

    from platform_kit.terraform import cliconfig

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    providers_only = 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
    stacks = []
    for number in range(3):
        workdir = tmp_path / f"stack-{number}"
        workdir.mkdir()
        (workdir / "main.tf").write_text(providers_only)
        stacks.append(Terraform(workdir, state_dir=tmp_path / f"state-{number}"))

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda tf: tf.init(), stacks))

    cache = cliconfig.default_plugin_cache_dir()
    assert cache.is_relative_to(tmp_path) and list(cache.glob("registry.terraform.io/hashicorp/aws/*/*"))
    for tf in stacks:
        assert list((tf.workdir / PROVIDER_DIR).glob("*/*")), f"{tf.workdir}: no provider installed"


def test_init_holds_the_plugin_cache_lock_while_terraform_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    from platform_kit.terraform import cliconfig

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "main.tf").write_text(BACKEND_ONLY_TF.replace('  backend "s3" {}\n', ""))
    tf = Terraform(tmp_path / "stack", state_dir=tmp_path / "state")
    held: list[bool] = []
    real_run = Terraform._run

    def run_and_probe(self, command, *args, **options):
        with open(cliconfig.default_plugin_cache_dir() / ".platform-kit-init.lock", "a+b") as other:
            try:
                fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held.append(True)
            else:
                held.append(False)
                fcntl.flock(other.fileno(), fcntl.LOCK_UN)
        return real_run(self, command, *args, **options)

    monkeypatch.setattr(Terraform, "_run", run_and_probe)
    tf.init()
    assert held == [True], "terraform init ran without holding the plugin cache lock"
