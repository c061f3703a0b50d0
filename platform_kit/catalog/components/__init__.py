"""Component factories: each ``make_<name>(image=..., **defaults)`` returns a KFP v2 component.

Why factories: a lightweight component's body is compiled from its source, so values fixed when a
pipeline is built (the image, a channel, whether a failed notification fails the run) cannot be
closed over. A factory sets them as the component's input defaults instead (keyword-only
parameters with ``__kwdefaults__``), so they show in the compiled spec and a pipeline may still
override each per task. Bodies import ``platform_kit.catalog.runtime`` inside the function: the
runtime image carries the kit, and nothing heavier than KFP is imported when a pipeline compiles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kfp import dsl

from platform_kit.catalog import images
from platform_kit.errors import BadInput


def build(function: Callable[..., Any], image: str | None, base: dict[str, Any], overrides: dict[str, Any]) -> Any:
    """``function`` as a component in the pinned ``image`` (None: the kit's runtime image). Its
    keyword-only inputs carry no default in the source (it would be stale in the compiled spec);
    ``base`` holds them, ``overrides`` replaces some of them, and an unknown name is an error, not a
    silently ignored setting."""
    unknown = sorted(set(overrides) - set(base))
    if unknown:
        raise BadInput(f"{function.__name__} has no setting {unknown[0]!r} (settings: {', '.join(sorted(base))})")
    function.__kwdefaults__ = {**base, **overrides}
    # The runtime image already has KFP (a dependency of the kit): no pip install at start-up,
    # which would need a package index inside the cluster.
    image = images.runtime_image() if image is None else image
    return dsl.component(base_image=images.pinned(image, what=f"{function.__name__} image"), install_kfp_package=False)(
        function
    )
