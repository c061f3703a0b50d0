"""``platform bootstrap``: create the environment's Terraform state bucket (idempotent)."""

from __future__ import annotations

from platform_kit import console, context
from platform_kit.context import ConfigDirOption, DebugOption, EnvOption, OutputOption, YesOption


def command(
    env: EnvOption = None,
    config_dir: ConfigDirOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
    yes: YesOption = False,
) -> None:
    """Create (or confirm) the state bucket and its KMS key that every other stack's state lives in."""
    from platform_kit.commands.infra import open_infra, plan_and_apply
    from platform_kit.infra import Stack

    settings = context.resolve(env=env, config_dir=config_dir, output=output, debug=debug, yes=yes)
    infra = open_infra(settings.env)
    result = plan_and_apply(infra, Stack("bootstrap"), yes=settings.yes, allow_destroy=False)
    if settings.json:
        console.emit_json(result)
        return
    console.success(f"state bucket {infra.state_bucket} ready (state lock: S3 lockfile)")
    console.next_commands(f"platform infra plan --env {infra.env_name}", f"platform infra apply --env {infra.env_name}")
