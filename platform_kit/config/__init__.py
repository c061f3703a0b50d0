"""The platform's desired state: YAML in ``platform/`` loaded into validated models.

``load_platform(config_dir)`` is the one entry point: it reads ``platform.yaml`` and every
``teams/*.yaml``, checks each file against its schema and all the cross-file rules, and raises
``ConfigErrors`` listing every problem at once, each as ``file:line: field.path: what is wrong``.
"""

from platform_kit.config.loader import Problem
from platform_kit.config.validate import LoadedConfig, load_platform

__all__ = ["LoadedConfig", "Problem", "load_platform"]
