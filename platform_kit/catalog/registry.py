"""Every component and pipeline of the catalog, by name: what ``platform catalog build`` compiles.

A factory takes the image (and nothing else is required), so the whole catalog is built for one
runtime image at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from platform_kit.catalog.components.batch_job import make_batch_job
from platform_kit.catalog.components.github_pr_comment import make_github_pr_comment
from platform_kit.catalog.components.run_report import make_run_report
from platform_kit.catalog.components.s3_probe import make_s3_probe
from platform_kit.catalog.components.sagemaker_training import make_sagemaker_training
from platform_kit.catalog.components.slack_notify import make_slack_notify
from platform_kit.catalog.components.tensorboard import make_tensorboard

COMPONENTS: dict[str, Callable[..., Any]] = {
    "slack_notify": make_slack_notify,
    "github_pr_comment": make_github_pr_comment,
    "run_report": make_run_report,
    "sagemaker_training": make_sagemaker_training,
    "batch_job": make_batch_job,
    "tensorboard": make_tensorboard,
    "s3_probe": make_s3_probe,
}


def pipelines() -> dict[str, Callable[..., Any]]:
    """Pipeline factories by name (imported on use: a pipeline module imports every component)."""
    from platform_kit.pipelines.platform_health import make_platform_health

    return {"platform-health": make_platform_health}
