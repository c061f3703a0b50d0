"""Rolling the pinned compute images (``catalog.images`` in platform.yaml) forward, canary first.

Three steps, in order:

1. canary: every new image that lives in the environment's ECR must be there (DescribeImages; a
   registry elsewhere is not reachable from the kit and is said so), and the ``platform-health``
   smoke pipeline must pass for one canary team with the new training image. A red canary stops the
   rollout here, with platform.yaml untouched;
2. pins: ``catalog.images.<name>`` in platform.yaml (the environment's own ``catalog`` block when
   it has one, else the platform-wide one) becomes the new reference, one line each;
3. catalog: the component catalog is rebuilt for the environment's runtime image (its tag follows
   the ``python`` base), so the next ``platform catalog publish`` and ``smoke deploy`` carry it to
   every team.

Done steps are found from platform.yaml and the catalog build, so a second run after a green one
does nothing, and a run stopped after the canary resumes at the pins.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from platform_kit.errors import BadInput, OperationFailed
from platform_kit.upgrade.steps import Step, StepFailed

TRAINING_IMAGES = ("pytorch", "cuda-runtime")  # the pins a training job runs on, in order of preference
_ECR = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repo>[^:@]+):(?P<tag>.+)$"
)


def parse(values: list[str], loaded: Any, env: str) -> dict[str, str]:
    """``NAME=IMAGE`` flags as a mapping; BadInput for a malformed flag, a name platform.yaml does not
    pin for ``env``, or an image that is not pinned (a tag other than latest, or a digest)."""
    from platform_kit.catalog import images

    known = loaded.platform.catalog_for(env).images
    wanted: dict[str, str] = {}
    for value in values:
        name, sep, image = value.partition("=")
        if not sep or not name or not image:
            raise BadInput(
                f"--image {value!r}: give NAME=IMAGE, for example pytorch=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"
            )
        if name not in known:
            pinned_names = ", ".join(known) or "none"
            raise BadInput(f"--image {name}: platform.yaml pins no image called {name!r} for '{env}' ({pinned_names})")
        wanted[name] = images.pinned(image, what=f"--image {name}")
    return wanted


def _config_path(loaded: Any, env: str, name: str) -> tuple[str, ...]:
    if loaded.platform.environments[env].catalog is not None:
        return ("environments", env, "catalog", "images", name)
    return ("catalog", "images", name)


def image_steps(
    infra: Any,
    wanted: dict[str, str],
    canary_team: str,
    *,
    smoke: Callable[[str, str | None], Any] | None = None,
) -> list[Step]:
    """The rollout's steps; ``smoke(team, training_image)`` runs platform-health (default: locally
    with kfp.local against the environment's AWS, as ``platform smoke run --local``)."""
    from platform_kit.config import edit, load_platform
    from platform_kit.config.validate import PLATFORM_FILE

    env = infra.env_name
    config_dir = Path(infra.settings.config_dir)

    def current() -> dict[str, str]:
        pins = load_platform(config_dir).platform.catalog_for(env).images
        return {name: str(pins.get(name)) for name in wanted}

    def pinned() -> bool:
        return current() == wanted

    training = next((wanted[n] for n in TRAINING_IMAGES if n in wanted), None)

    def canary_run() -> None:
        session = infra.session()
        for name, image in wanted.items():
            match = _ECR.match(image)
            if match is None:
                continue
            ecr = session.client("ecr", region_name=match.group("region"))
            from platform_kit.catalog.runtime_image import tag_in_repository

            if tag_in_repository(ecr, match.group("repo"), match.group("tag")) is None:
                raise StepFailed(
                    f"canary: {name} {image} is not in ECR (repository {match.group('repo')})",
                    hint="push the image (or fix the tag); nothing was rolled out",
                )
        run = smoke or (lambda team, image: _smoke_local(infra, team, image))
        try:
            run(canary_team, training)
        except StepFailed:
            raise
        except OperationFailed as exc:  # a red canary: the smoke run says which step failed
            raise StepFailed(
                f"canary {canary_team} is red with the new images: {exc.message}",
                hint="nothing was rolled out; fix the image and run again",
            ) from None

    def pin() -> None:
        for name, image in wanted.items():
            edit.set_scalar(config_dir / PLATFORM_FILE, _config_path(infra.loaded, env, name), image)

    def pin_verify() -> None:
        if not pinned():
            raise StepFailed(f"platform.yaml does not say the new images after writing them: {current()}")

    def catalog_dir() -> Path:
        return infra.settings.project_dir / "build" / "catalog"

    def catalog_image() -> str:
        from platform_kit.catalog import images

        return images.for_environment(load_platform(config_dir), env)

    def catalog_done() -> bool:
        import json

        from platform_kit.catalog.build import LATEST

        latest = catalog_dir() / LATEST
        if not latest.is_file():
            return False
        index = catalog_dir() / latest.read_text().strip() / "index.json"
        return index.is_file() and json.loads(index.read_text()).get("image") == catalog_image()

    def catalog_build() -> None:
        from platform_kit.catalog.build import build_catalog

        build_catalog(catalog_dir(), catalog_image())

    def catalog_verify() -> None:
        if not catalog_done():
            raise StepFailed("the catalog build does not name the environment's runtime image")

    listed = ", ".join(f"{name} -> {image}" for name, image in wanted.items())
    return [
        Step(
            id="images/canary",
            title=f"canary {canary_team} with {listed}",
            prechecks=["each new image in the environment's ECR is there (DescribeImages)"],
            changes=[
                f"platform-health for {canary_team} with training image {training or 'the default'}; "
                "a red canary stops the rollout with nothing changed"
            ],
            verify=["the smoke pipeline passed"],
            is_done=pinned,
            run=canary_run,
        ),
        Step(
            id="images/pins",
            title=f"platform.yaml: catalog.images {listed}",
            prechecks=["the canary is green (the step before)"],
            changes=[f"one line of platform.yaml per image ({len(wanted)})"],
            verify=["platform.yaml, read back, pins the new images"],
            is_done=pinned,
            run=pin,
            confirm_after=pin_verify,
        ),
        Step(
            id="images/catalog",
            title="component catalog rebuilt for the environment's runtime image",
            prechecks=["the pins are in platform.yaml"],
            changes=[
                "platform catalog build for the environment (build/catalog); publish and smoke deploy carry it on",
                "a new python base moves the runtime image's tag: push it with platform catalog image --env first",
            ],
            verify=["build/catalog/latest names a build for the environment's runtime image"],
            is_done=catalog_done,
            run=catalog_build,
            confirm_after=catalog_verify,
        ),
    ]


def _smoke_local(infra: Any, team: str, training_image: str | None) -> Any:
    from platform_kit import smoke

    log_path = infra.settings.project_dir / "build" / "smoke" / infra.env_name / team / "canary.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        return smoke.run_for_team(infra, team, training_image=training_image, log=log)


def default_canary(loaded: Any, env: str) -> str:
    """The first active team of ``env`` with a SageMaker role (its smoke run trains), else the first."""
    teams = [t for t in loaded.teams_in(env) if t.active_in(env)]
    if not teams:
        raise BadInput(f"no active team in '{env}' to be the canary", hint="onboard one, or pass --canary TEAM")
    with_training = [t for t in teams if t.aws.sagemaker]
    return (with_training or teams)[0].name
