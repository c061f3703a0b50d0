"""``slack_notify``: the exit handler that tells the team's channel how a run ended.

Use it as ``dsl.ExitHandler(make_slack_notify()(pipeline_name=..., run_url=...))`` around a
pipeline's steps; KFP hands it the run's ``PipelineTaskFinalStatus``.

Needs, at run time:
- Kubernetes: the Secret ``slack-webhook`` (key ``url``) in the team namespace, mounted as the
  environment variable ``SLACK_WEBHOOK_URL`` (``kfp.kubernetes.use_secret_as_env``; the smoke
  pipeline does this). No AWS permission.
- Network: HTTPS to hooks.slack.com (or the proxy the webhook URL names).
"""

# No ``from __future__ import annotations`` in component modules: KFP reads the annotations as types.
from typing import Any

from kfp import dsl

from platform_kit.catalog import components

WEBHOOK_ENV = "SLACK_WEBHOOK_URL"
SECRET_NAME = "slack-webhook"
SECRET_KEY = "url"
SETTINGS = {"run_url": "", "team": "", "env": "", "fail_on_error": False}


def make_slack_notify(image: str | None = None, **settings: Any) -> Any:
    """The component; ``settings`` change its defaults (run_url, team, env, fail_on_error)."""

    def slack_notify(
        status: dsl.PipelineTaskFinalStatus,
        pipeline_name: str,
        *,
        run_url: str,
        team: str,
        env: str,
        fail_on_error: bool,
    ) -> bool:
        """Post the run's final state (and the failed step's error) to Slack; True when delivered.
        A Slack outage is logged and never fails the run unless fail_on_error is set."""
        import logging
        import os

        from platform_kit.catalog.runtime import slack

        logging.basicConfig(level=logging.INFO)
        return slack.post_status(
            status,
            pipeline=pipeline_name,
            webhook_url=os.environ.get("SLACK_WEBHOOK_URL", ""),
            run_url=run_url or None,
            team=team or None,
            env=env or None,
            fail_on_error=fail_on_error,
        )

    return components.build(slack_notify, image, SETTINGS, settings)
