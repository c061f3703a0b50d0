"""``platform validate``: check the desired state in ``platform/`` and report every problem at once."""

from __future__ import annotations

from platform_kit import context
from platform_kit.context import ConfigDirOption, EnvOption, OutputOption


def command(env: EnvOption = None, config_dir: ConfigDirOption = None, output: OutputOption = None) -> None:
    """Validate platform.yaml and every team file; exit 2 listing each problem as file:line: field: problem."""
    from platform_kit import console
    from platform_kit.config import load_platform

    settings = context.resolve(env=env, config_dir=config_dir, output=output)
    loaded = load_platform(settings.config_dir)
    envs = [settings.env] if settings.env else list(loaded.platform.environments)
    if settings.env:
        loaded.env(settings.env)
    summary = {
        "ok": True,
        "config_dir": str(settings.config_dir),
        "organisation": loaded.platform.organisation.name,
        "environments": {
            name: {"teams": [t.name for t in loaded.teams_in(name)], "cluster": loaded.platform.cluster_name(name)}
            for name in envs
        },
        "teams": sorted(loaded.teams),
    }
    if settings.json:
        console.emit_json(summary)
        return
    for name, info in summary["environments"].items():
        teams = ", ".join(info["teams"]) or "no teams"
        console.info(f"{name}: cluster {info['cluster']}, {len(info['teams'])} team(s): {teams}")
    console.success(
        f"{settings.config_dir}: valid ({len(loaded.platform.environments)} environments, {len(loaded.teams)} teams)"
    )
