"""The images catalog components run in, and the rule that every one of them is pinned.

Every component of the catalog runs in the kit's runtime image: Python with this package
installed, so a component body is one call into ``platform_kit.catalog.runtime``. Its tag is the
kit's version, and ECR repositories of the platform are created with immutable tags, so a tag
names one image for good. A factory's ``image=`` argument overrides it (a team's own build, a
registry mirror); whatever is passed must be pinned: a digest, or a tag other than ``latest``.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version

from platform_kit.errors import BadInput

RUNTIME_REPOSITORY = "ghcr.io/platform-kit/catalog-runtime"


def _kit_version() -> str:
    try:
        return version("platform-kit")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


RUNTIME_IMAGE = f"{RUNTIME_REPOSITORY}:{_kit_version()}"

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
