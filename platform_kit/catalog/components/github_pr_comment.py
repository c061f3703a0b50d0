"""``github_pr_comment``: one comment per pipeline and team on a pull request, updated in place.

The comment starts with a hidden marker (``<!-- platform-kit:<pipeline>/<team> -->``); a re-run
finds it and edits it instead of adding another, and leaves it alone when nothing changed.

Needs, at run time:
- Kubernetes: the Secret ``github-token`` (key ``token``) in the team namespace, mounted as the
  environment variable ``GITHUB_TOKEN``; the token needs ``pull_requests: write`` (or
  ``issues: write``) on the repository. No AWS permission.
- Network: HTTPS to the GitHub API (``api_url``; GitHub Enterprise has its own).
"""

# No ``from __future__ import annotations`` in component modules: KFP reads the annotations as types.
from typing import Any

from platform_kit.catalog import components

TOKEN_ENV = "GITHUB_TOKEN"
SECRET_NAME = "github-token"
SECRET_KEY = "token"
SETTINGS = {"api_url": "https://api.github.com", "team": "", "env": "", "run_url": "", "summary": ""}


def make_github_pr_comment(image: str | None = None, **settings: Any) -> Any:
    """The component; ``settings`` change its defaults (api_url, team, env, run_url, summary)."""

    def github_pr_comment(
        repo: str,
        pr: int,
        pipeline_name: str,
        state: str,
        metrics: dict,
        *,
        api_url: str,
        team: str,
        env: str,
        run_url: str,
        summary: str,
    ) -> str:
        """Create or update this pipeline's comment on the pull request; returns the comment's URL."""
        import os

        from platform_kit.catalog.runtime import github

        comment = github.post_status(
            repo,
            pr,
            os.environ.get("GITHUB_TOKEN", ""),
            pipeline=pipeline_name,
            state=state,
            summary=summary or None,
            metrics=metrics,
            run_url=run_url or None,
            team=team or None,
            env=env or None,
            api_url=api_url,
        )
        print(f"comment {comment.action}: {comment.url}")
        return comment.url

    return components.build(github_pr_comment, image, SETTINGS, settings)
