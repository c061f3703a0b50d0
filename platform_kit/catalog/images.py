"""The images catalog components run in, and the rule that every one of them is pinned.

Every component of the catalog runs in the kit's runtime image (``runtime_image.py``: Python, the
pinned libraries the runtime needs and the kit's catalog runtime), so a component body is one call
into ``platform_kit.catalog.runtime``. Its tag is a hash of its build context, and ECR repositories
of the platform are created with immutable tags, so a tag names one image for good:

- ``for_environment(loaded, env)``: where ``platform catalog image --env`` pushes it, the env's
  catalog repository (ECR unless ``catalog.registry`` names another registry);
- ``runtime_image()``: the local name a build without an environment gets.

A factory's ``image=`` argument overrides it (a team's own build, a registry mirror); whatever is
passed must be pinned: a digest, or a tag other than ``latest``.
"""

from __future__ import annotations

import re
from typing import Any

from platform_kit.errors import BadInput

# The local name of the runtime image, built without an environment (no registry in front).
RUNTIME_REPOSITORY = "platform-kit/catalog-runtime"
# A stand-in for "the runtime image" where a real tag would churn: the interface golden and the
# generated component reference.
REFERENCE_IMAGE = f"{RUNTIME_REPOSITORY}:reference"
RUNTIME_NAME = "catalog-runtime"  # the image's name under a custom catalog.registry


def runtime_image() -> str:
    """The runtime image of this kit under its local name (``platform catalog image`` without --env)."""
    from platform_kit.catalog import runtime_image as runtime

    return f"{RUNTIME_REPOSITORY}:{runtime.default_tag()}"


def base_image(loaded: Any, env: str) -> str:
    """The Python base the runtime image builds on: the env's catalog ``images.python`` when set."""
    from platform_kit.catalog import runtime_image as runtime

    return str(loaded.platform.catalog_for(env).images.get("python") or runtime.DEFAULT_BASE_IMAGE)


def repository_for(loaded: Any, env: str) -> tuple[str, str | None]:
    """(repository URL, ECR repository name or None) of the env's runtime image: the platform's ECR
    catalog repository, or ``<catalog.registry>/catalog-runtime`` when the env names another registry."""
    from platform_kit import naming
    from platform_kit.catalog import runtime_image as runtime

    platform = loaded.platform
    custom = platform.catalog_for(env).registry
    if custom:
        return f"{custom.rstrip('/')}/{RUNTIME_NAME}", None
    aws = platform.environments[env].aws
    name = naming.catalog_repository(platform.organisation.name)
    return runtime.repository_url(aws.account_id, aws.region, name), name


def for_environment(loaded: Any, env: str) -> str:
    """The runtime image reference for ``env`` (offline: from the config, no AWS call)."""
    from platform_kit.catalog import runtime_image as runtime

    url, _ = repository_for(loaded, env)
    return f"{url}:{runtime.default_tag(base_image(loaded, env))}"


# name[:tag][@sha256:digest]; the tag may not be "latest" and one of tag or digest must be there.
_IMAGE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


def pinned(image: str, *, what: str = "image") -> str:
    """``image`` when it names one image for good; BadInput (naming ``what``) otherwise."""
    match = _IMAGE.match(image or "")
    if match is None:
        raise BadInput(f"{what} {image!r} is not an image reference (registry/name:tag or name@sha256:...)")
    if match.group("digest"):
        return image
    tag = match.group("tag")
    if tag is None or tag == "latest":
        raise BadInput(
            f"{what} {image!r} is not pinned: use an explicit version tag or a digest (@sha256:...)",
            hint="an unpinned image changes under a pipeline without a new catalog version",
        )
    return image
