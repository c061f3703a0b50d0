"""``run_report``: the exit handler that reports how a run ended, to Slack and (in CI mode) to the PR.

KFP allows one exit handler around a group of steps, and only its exit task receives the run's
``PipelineTaskFinalStatus``. A pull request comment posted by an ordinary step could only say
what was true when that step ran; this exit task knows the final state and the failed step, so it
posts both: the Slack message (as ``slack_notify``) and, when ``pr_number`` > 0, the PR comment
(as ``github_pr_comment``, found again by its marker and edited in place).

A Slack outage never fails the run unless ``fail_on_error`` is set. A PR comment that cannot be
written fails this task: CI asked for it, and a silent miss would look like a run nobody reported.

Needs, at run time:
- Kubernetes: the Secret ``slack-webhook`` (key ``url``) as ``SLACK_WEBHOOK_URL``; in CI mode the
  Secret ``github-token`` (key ``token``) as ``GITHUB_TOKEN`` (``pull_requests: write`` on the
  repository). Both are mounted as optional by the smoke pipeline. No AWS permission.
- Network: HTTPS to the Slack webhook and, in CI mode, to the GitHub API (``api_url``).
"""

# No ``from __future__ import annotations`` in component modules: KFP reads the annotations as types.
from typing import Any

from kfp import dsl

from platform_kit.catalog import components

SETTINGS = {
    "run_url": "",
    "team": "",
    "env": "",
    "fail_on_error": False,
    "pr_repo": "",
    "pr_number": 0,
    "api_url": "https://api.github.com",
}


def make_run_report(image: str | None = None, **settings: Any) -> Any:
    """The component; ``settings`` change its defaults (run_url, team, env, fail_on_error, pr_repo,
    pr_number, api_url)."""

    def run_report(
        status: dsl.PipelineTaskFinalStatus,
        pipeline_name: str,
        *,
        run_url: str,
        team: str,
        env: str,
        fail_on_error: bool,
        pr_repo: str,
        pr_number: int,
        api_url: str,
    ) -> str:
        """Post the run's final state to the pull request's comment (when pr_number > 0) and to Slack;
        returns the final state."""
        import logging
        import os

        from platform_kit.catalog.runtime import github, slack

        logging.basicConfig(level=logging.INFO)
        # The PR comment first: a Slack failure with fail_on_error must not cost CI its report.
        if pr_number > 0:
            comment = github.post_status(
                pr_repo,
                pr_number,
                os.environ.get("GITHUB_TOKEN", ""),
                pipeline=pipeline_name,
                state=status.state,
                summary=github.failure_summary(status.pipeline_task_name, status.error_message),
                run_url=run_url or None,
                team=team or None,
                env=env or None,
                api_url=api_url,
            )
            print(f"comment {comment.action}: {comment.url}")
        slack.post_status(
            status,
            pipeline=pipeline_name,
            webhook_url=os.environ.get("SLACK_WEBHOOK_URL", ""),
            run_url=run_url or None,
            team=team or None,
            env=env or None,
            fail_on_error=fail_on_error,
        )
        return status.state

    return components.build(run_report, image, SETTINGS, settings)
