"""Planning and applying the Terraform stacks of one environment.

Three stacks, one state each (see docs/terraform-conventions.md):

- ``bootstrap``: the state bucket and its KMS key; local state under ``.platform/``, backed up
  into the bucket after every apply and restored from there on a machine that lacks it;
- ``platform``: network, EKS, the AWS side of Kubeflow, CI roles; state ``platform/<env>.tfstate``;
- ``team:<name>``: one team's AWS resources; state ``teams/<env>/<team>.tfstate``. Its platform
  inputs are read from the platform state's outputs, never by planning the platform.

Each run renders its inputs to ``build/terraform/<env>/<stack>/inputs.auto.tfvars.json``, runs
Terraform in the stack's source folder with a private ``TF_DATA_DIR`` there, and plans to a file
that is the only thing ``apply`` will apply.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from platform_kit import naming
from platform_kit.config import LoadedConfig
from platform_kit.context import Settings
from platform_kit.errors import BadInput, OperationFailed
from platform_kit.files import write_if_changed
from platform_kit.render import tfvars
from platform_kit.terraform.plan_text import resource_type

# Resource types whose destruction loses data or breaks everything that depends on them.
STATEFUL_TYPES = frozenset(
    {
        "aws_s3_bucket",
        "aws_db_instance",
        "aws_rds_cluster",
        "aws_eks_cluster",
        "aws_kms_key",
        "aws_ecr_repository",
        "aws_secretsmanager_secret",
        "aws_efs_file_system",
        "aws_dynamodb_table",
        "aws_cloudwatch_log_group",
        "aws_vpc",
    }
)
KIT_ROOT = Path(__file__).resolve().parent.parent
# Beside a stack's data directory: what its last ``terraform init`` was run for (see prepare).
INIT_STAMP = "init.fingerprint"
# Errors that mean the data directory needs ``terraform init`` again (a re-init fixes them).
_NEEDS_INIT = (
    "Backend initialization required",
    "Module not installed",
    "Required plugins are not installed",
    "Inconsistent dependency lock file",
    "Missing required provider",
    "Backend configuration changed",
)


@dataclass(frozen=True)
class Stack:
    """One stack instance: ``bootstrap``, ``platform`` or ``team:<name>``."""

    kind: str
    team: str | None = None

    @classmethod
    def parse(cls, text: str) -> Stack:
        if text in ("bootstrap", "platform"):
            return cls(text)
        if text.startswith("team:") and len(text) > 5:
            return cls("team", text[5:])
        raise BadInput(f"--stack {text!r}: unknown stack (allowed: bootstrap, platform, team:NAME)")

    @property
    def id(self) -> str:
        return f"team:{self.team}" if self.team else self.kind

    @property
    def slug(self) -> str:
        return f"team-{self.team}" if self.team else self.kind


@dataclass
class PlanReport:
    """A saved plan and what it would do."""

    stack: Stack
    env: str
    plan_file: Path
    has_changes: bool
    add: int
    change: int
    destroy: int
    replace: list[str] = field(default_factory=list)
    destroyed_stateful: list[str] = field(default_factory=list)
    changes: list[tuple[str, str]] = field(default_factory=list)  # (action, address)
    text: str | None = None  # Terraform's human plan, when planned with text=True

    def as_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack.id,
            "env": self.env,
            "plan_file": str(self.plan_file),
            "has_changes": self.has_changes,
            "add": self.add,
            "change": self.change,
            "destroy": self.destroy,
            "replace": self.replace,
            "destroyed_stateful": self.destroyed_stateful,
            "changes": [{"action": a, "address": addr} for a, addr in self.changes],
        }


def summarise(stack: Stack, env: str, plan_file: Path, plan_json: dict[str, Any]) -> PlanReport:
    """Count a plan's actions from ``terraform show -json`` and name the stateful resources it destroys."""
    add = change = destroy = 0
    replace: list[str] = []
    stateful: list[str] = []
    changes: list[tuple[str, str]] = []
    for rc in plan_json.get("resource_changes") or []:
        if rc.get("mode") == "data":
            continue
        actions = rc.get("change", {}).get("actions") or []
        address = rc.get("address", "?")
        if actions in (["no-op"], ["read"]):
            continue
        if "delete" in actions and "create" in actions:
            add, destroy = add + 1, destroy + 1
            replace.append(address)
            label = "replace"
        elif "create" in actions:
            add, label = add + 1, "create"
        elif "delete" in actions:
            destroy, label = destroy + 1, "delete"
        elif "update" in actions:
            change, label = change + 1, "update"
        else:
            continue
        changes.append((label, address))
        if "delete" in actions and rc.get("type") in STATEFUL_TYPES:
            stateful.append(address)
    output_changes = any(
        (o.get("actions") or ["no-op"]) != ["no-op"] for o in (plan_json.get("output_changes") or {}).values()
    )
    return PlanReport(
        stack=stack,
        env=env,
        plan_file=plan_file,
        has_changes=bool(changes) or output_changes,
        add=add,
        change=change,
        destroy=destroy,
        replace=replace,
        destroyed_stateful=stateful,
        changes=changes,
    )


def summarise_text(stack: Stack, env: str, plan_file: Path, plan: Any) -> PlanReport:
    """``summarise`` from Terraform's human plan (``terraform.plan_text.PlanText``) of a plan with
    changes: the counts of its ``Plan:`` line, the actions of its resource headings."""
    changes = [(action, address) for action, address in plan.actions]
    return PlanReport(
        stack=stack,
        env=env,
        plan_file=plan_file,
        has_changes=True,
        add=plan.add,
        change=plan.change,
        destroy=plan.destroy,
        replace=[address for action, address in changes if action == "replace"],
        destroyed_stateful=[
            address
            for action, address in changes
            if action in ("delete", "replace") and resource_type(address) in STATEFUL_TYPES
        ],
        changes=changes,
    )


class Infra:
    """The stacks of one environment: render inputs, init, plan to a file, apply that file."""

    def __init__(
        self,
        settings: Settings,
        loaded: LoadedConfig,
        env: str,
        on_line: Callable[[str], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        from platform_kit import aws

        self.settings = settings
        self.loaded = loaded
        self.cfg = loaded.platform
        self.env_name = env
        self.env = loaded.env(env)
        self.on_line = on_line
        self.on_notice = on_notice
        self._aws = aws
        self.build_dir = settings.project_dir / "build" / "terraform" / env

    @cached_property
    def endpoint(self) -> str | None:
        """The emulator endpoint (sandbox) or None; looked up only when a stack runs, after input checks."""
        return self._aws.resolve_endpoint(self.env, state_dir=self.settings.state_dir)

    # --- where things are -------------------------------------------------------------------

    @staticmethod
    def stacks_dir(settings: Settings) -> Path:
        """The stack sources: PLATFORM_TERRAFORM_DIR, else terraform/ beside platform/, else the kit's own."""
        override = os.environ.get("PLATFORM_TERRAFORM_DIR")
        for candidate in ([Path(override)] if override else []) + [
            settings.project_dir / "terraform",
            KIT_ROOT / "terraform",
        ]:
            if (candidate / "stacks").is_dir():
                return candidate / "stacks"
        raise BadInput(
            "no terraform/stacks folder found beside the config folder",
            hint="run from the platform repository root or set PLATFORM_TERRAFORM_DIR",
        )

    @property
    def state_bucket(self) -> str:
        return tfvars.state_bucket(self.cfg, self.env_name)

    def state_key(self, stack: Stack) -> str:
        if stack.kind == "platform":
            return naming.platform_state_key(self.env_name)
        if stack.kind == "team":
            return naming.team_state_key(self.env_name, stack.team or "")
        return f"bootstrap/{self.env_name}.tfstate"

    def workdir(self, stack: Stack) -> Path:
        return self.build_dir / stack.slug

    def bootstrap_state(self) -> Path:
        return self.settings.state_dir / "terraform" / self.env_name / "bootstrap.tfstate"

    # --- inputs -----------------------------------------------------------------------------

    def check_stack(self, stack: Stack) -> None:
        """Refuse a team stack for a team that is not in this environment (bad input, nothing run)."""
        if stack.kind == "team":
            team = self.loaded.teams.get(stack.team or "")
            if team is None:
                raise BadInput(f"--stack {stack.id}: no team '{stack.team}' in {self.loaded.config_dir}/teams/")
            if self.env_name not in team.environments:
                raise BadInput(
                    f"--stack {stack.id}: team '{stack.team}' is not in environment '{self.env_name}' "
                    f"(its environments: {', '.join(team.environments)})"
                )

    def inputs(self, stack: Stack) -> dict[str, Any]:
        if stack.kind == "bootstrap":
            return tfvars.bootstrap_inputs(self.cfg, self.env_name, self.endpoint)
        if stack.kind == "platform":
            return tfvars.platform_inputs(self.cfg, self.env_name, self.endpoint)
        team = self.loaded.teams[stack.team or ""]
        outputs = self.platform_outputs()
        try:
            return tfvars.team_inputs(self.cfg, self.env_name, team, outputs, self.endpoint)
        except KeyError as exc:
            raise OperationFailed(
                f"the platform stack of '{self.env_name}' has no output {exc.args[0]}",
                hint=f"run: platform infra apply --env {self.env_name} --stack platform",
            ) from None

    def platform_outputs(self) -> dict[str, Any]:
        """The platform stack's outputs, read from its state object (no Terraform run)."""
        return self.stack_outputs(Stack("platform"))

    def stack_outputs(self, stack: Stack) -> dict[str, Any]:
        """A platform or team stack's outputs, read from its state object in the bucket (no Terraform run)."""
        from botocore.exceptions import ClientError

        key = self.state_key(stack)
        try:
            body = self._s3().get_object(Bucket=self.state_bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _error_code(exc) == "NoSuchBucket":
                raise OperationFailed(
                    f"state bucket {self.state_bucket} does not exist",
                    hint=f"run: platform bootstrap --env {self.env_name}",
                ) from None
            if _error_code(exc) == "NoSuchKey":
                fix = (
                    f"platform onboard-team {stack.team} --env {self.env_name}"
                    if stack.kind == "team"
                    else f"platform infra apply --env {self.env_name} --stack platform"
                )
                raise OperationFailed(
                    f"no {stack.kind} state at s3://{self.state_bucket}/{key}", hint=f"run: {fix}"
                ) from None
            raise
        state = json.loads(body)
        return {name: entry.get("value") for name, entry in (state.get("outputs") or {}).items()}

    def state_meta(self, stack: Stack) -> dict[str, Any] | None:
        """The stack's state ``serial`` and ``lineage`` now (None before its first apply): a saved plan
        applies only to the state it was made from."""
        from botocore.exceptions import ClientError

        if stack.kind == "bootstrap":
            path = self.bootstrap_state()
            body = path.read_bytes() if path.is_file() else None
        else:
            try:
                body = self._s3().get_object(Bucket=self.state_bucket, Key=self.state_key(stack))["Body"].read()
            except ClientError as exc:
                if _error_code(exc) in ("NoSuchKey", "NoSuchBucket"):
                    return None
                raise
        if body is None:
            return None
        state = json.loads(body)
        return {"serial": state.get("serial"), "lineage": state.get("lineage")}

    def backend_config(self, stack: Stack) -> dict[str, Any]:
        if stack.kind == "bootstrap":
            return {"path": str(self.bootstrap_state())}
        settings = self._aws.terraform_provider_settings(self.env, state_dir=self.settings.state_dir)["backend"]
        return {
            **settings,
            "bucket": self.state_bucket,
            "key": self.state_key(stack),
            "encrypt": True,
            "kms_key_id": self.state_kms_alias_arn,
            "use_lockfile": True,
        }

    @property
    def state_kms_alias_arn(self) -> str:
        alias = naming.state_kms_alias(self.cfg.organisation.name, self.env.aws.account_id, self.env.aws.region)
        return f"arn:aws:kms:{self.env.aws.region}:{self.env.aws.account_id}:{alias}"

    def process_env(self, stack: Stack) -> dict[str, str]:
        env = {"TF_DATA_DIR": str(self.workdir(stack) / ".terraform")}
        if self.endpoint:
            # An emulator gets fixed fake keys; empty values switch off a user's profile and token.
            env.update(
                {
                    "AWS_ACCESS_KEY_ID": self._aws.FAKE_ACCESS_KEY,
                    "AWS_SECRET_ACCESS_KEY": self._aws.FAKE_SECRET_KEY,
                    "AWS_SESSION_TOKEN": "",
                    "AWS_PROFILE": "",
                }
            )
            ca = self._aws.ca_bundle_for(self.env, state_dir=self.settings.state_dir)
            if ca is not None:
                env["AWS_CA_BUNDLE"] = str(ca)  # the provider and the S3 backend both read it
        return env

    # --- acting -----------------------------------------------------------------------------

    def terraform(self, stack: Stack):
        from platform_kit.terraform import Terraform

        return Terraform(
            self.stacks_dir(self.settings) / stack.kind,
            env=self.process_env(stack),
            state_dir=self.settings.state_dir,
            on_line=self.on_line,
            on_notice=self.on_notice,
        )

    def plan(self, stack: Stack, *, destroy: bool = False, text: bool = False, plan_json: bool = True) -> PlanReport:
        """Render inputs, init, and save a plan; nothing in AWS changes. With ``text`` the report
        keeps Terraform's human plan (``ci plan`` comments it). ``plan_json=False`` skips ``terraform
        show -json`` (a provider start): counts and destroys are then read from the human plan,
        which needs ``text``."""
        from platform_kit.terraform import TerraformError

        tf, inputs = self.prepare(stack)
        workdir = self.workdir(stack)
        try:
            result = tf.plan(workdir / "plan.tfplan", var_files=[inputs], destroy=destroy, text=text)
        except TerraformError as exc:
            if not any(marker in str(exc) for marker in _NEEDS_INIT):
                raise
            tf, inputs = self.prepare(stack, force_init=True)
            result = tf.plan(workdir / "plan.tfplan", var_files=[inputs], destroy=destroy, text=text)
        human = result.text.body if result.text is not None else None
        if not result.has_changes:
            # Exit code 0: nothing to add, change, destroy or output. `terraform show -json` would
            # cost a provider start for an empty answer; a plan.json left by an earlier plan goes.
            (workdir / "plan.json").unlink(missing_ok=True)
            report = summarise(stack, self.env_name, result.plan_file, {})
        elif plan_json or result.text is None:
            document = tf.show_json(result.plan_file)
            write_if_changed(workdir / "plan.json", json.dumps(document, indent=1, sort_keys=True))
            report = summarise(stack, self.env_name, result.plan_file, document)
            report.has_changes = True
        else:
            (workdir / "plan.json").unlink(missing_ok=True)
            report = summarise_text(stack, self.env_name, result.plan_file, result.text)
        report.text = human
        return report

    def import_resources(self, stack: Stack, pairs: list[tuple[str, str]]) -> None:
        """Record existing AWS objects (address, import ID) in the stack's state; AWS is unchanged."""
        tf, inputs = self.prepare(stack)
        for address, resource_id in pairs:
            tf.import_resource(address, resource_id, var_files=[inputs])

    def prepare(self, stack: Stack, *, force_init: bool = False):
        """Write the stack's inputs and make sure its data directory is initialised for its backend.

        ``terraform init -reconfigure`` costs seconds per run; it is skipped when the data directory
        was initialised for the same backend settings, Terraform binary and configuration files
        (every ``*.tf`` and lock file of the stacks and modules). A plan that still finds the
        directory wanting init re-runs it once (``plan``)."""
        self.check_stack(stack)
        workdir = self.workdir(stack)
        workdir.mkdir(parents=True, exist_ok=True)
        if stack.kind == "bootstrap":
            self._restore_bootstrap_state()
        inputs = workdir / "inputs.auto.tfvars.json"
        write_if_changed(inputs, json.dumps(self.inputs(stack), indent=2, sort_keys=True) + "\n")
        tf = self.terraform(stack)
        backend = self.backend_config(stack)
        stamp = workdir / INIT_STAMP
        fingerprint = _init_fingerprint(tf.workdir, tf.binary, backend)
        current = stamp.is_file() and stamp.read_text() == fingerprint and (workdir / ".terraform").is_dir()
        if force_init or not current:
            tf.init(backend_config=backend, reconfigure=True)
            write_if_changed(stamp, fingerprint)
        return tf, inputs

    def apply(self, report: PlanReport) -> dict[str, Any]:
        """Apply exactly the saved plan of ``report``; return the stack's outputs, sensitive ones left out."""
        tf = self.terraform(report.stack)
        if report.has_changes:
            tf.apply(report.plan_file)
        if report.stack.kind == "bootstrap":
            self._backup_bootstrap_state()
        return tf.output(include_sensitive=False)

    def session(self):
        """The boto3 session for this environment (the sandbox's endpoints and CA when it is one)."""
        return self._aws.session_for(self.env, state_dir=self.settings.state_dir)

    def _s3(self):
        return self.session().client("s3")

    def _backup_bootstrap_state(self) -> None:
        """Keep a copy of bootstrap's local state in the bucket it created, encrypted with its key."""
        path = self.bootstrap_state()
        if not path.is_file():
            return
        self._s3().put_object(
            Bucket=self.state_bucket,
            Key=self.state_key(Stack("bootstrap")),
            Body=path.read_bytes(),
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=self.state_kms_alias_arn,
        )

    def _restore_bootstrap_state(self) -> None:
        """On a machine without bootstrap's local state, fetch the copy kept in the bucket."""
        path = self.bootstrap_state()
        if path.is_file():
            return
        from botocore.exceptions import ClientError

        try:
            body = (
                self._s3().get_object(Bucket=self.state_bucket, Key=self.state_key(Stack("bootstrap")))["Body"].read()
            )
        except ClientError as exc:
            if _error_code(exc) in ("NoSuchBucket", "NoSuchKey"):
                return  # a first bootstrap
            raise
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


def _init_fingerprint(stack_source: Path, binary: Path, backend: dict[str, Any]) -> str:
    """A digest of everything ``terraform init`` depends on for a stack (see ``Infra.prepare``)."""
    import hashlib

    digest = hashlib.sha256()
    digest.update(f"{binary}:{binary.stat().st_mtime_ns}\n".encode())
    digest.update(json.dumps(backend, sort_keys=True, default=str).encode())
    tree = stack_source.parent.parent  # terraform/: stacks/ and modules/
    for path in sorted(tree.rglob("*")):
        if path.suffix not in (".tf", ".hcl") or path.name.endswith(".tftest.hcl"):
            continue
        if ".terraform" in path.parts or "tests" in path.relative_to(tree).parts:
            continue
        digest.update(f"\n{path.relative_to(tree)}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
