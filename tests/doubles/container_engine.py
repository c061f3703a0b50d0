"""A test double for a container engine (the ``docker``/``podman`` command line) and its registry push.

No container engine can run where the kit's tests run. Tests put a ``docker`` (or ``podman``)
shim first on PATH that runs this script; the kit calls it exactly as it calls the real engine.
It keeps what a test needs to check and what the real engine would refuse:

* ``build --tag REF [--label=K=V]... CONTEXT``: CONTEXT must hold a Dockerfile whose first
  instruction is FROM; the tag is remembered as a local image (in ``ENGINE_DOUBLE_STATE``).
* ``login --username AWS --password-stdin HOST``: reads the password from standard input (an
  argument would show in ``ps``); an empty one is refused. Logged-in hosts are remembered.
* ``push REF``: refused unless REF was built and its registry host logged in to (for an ECR
  host). An ECR push then stands in for the registry protocol, which moto does not serve: it puts
  a small image manifest for REF's tag into the moto server's ECR (``AWS_ENDPOINT_URL``) with
  boto3, so the kit's check that the tag arrived sees it.

Every call is appended to ``ENGINE_DOUBLE_LOG`` as a JSON line (argv, and stdin for login).
``ENGINE_DOUBLE_FAIL=<verb>:<message>`` makes that verb print the message to stderr and exit 1.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

_ECR_HOST = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")


def _state() -> dict:
    path = Path(os.environ["ENGINE_DOUBLE_STATE"])
    return json.loads(path.read_text()) if path.is_file() else {"images": [], "logins": []}


def _save(state: dict) -> None:
    Path(os.environ["ENGINE_DOUBLE_STATE"]).write_text(json.dumps(state))


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


def _split(reference: str) -> tuple[str, str, str]:
    """(host, repository, tag) of host/repo/path:tag."""
    host, _, rest = reference.partition("/")
    repository, _, tag = rest.rpartition(":")
    return host, repository, tag


def _push_to_moto(host: str, repository: str, tag: str) -> None:
    import boto3

    region = _ECR_HOST.match(host).group("region")  # type: ignore[union-attr]
    ecr = boto3.client(
        "ecr",
        region_name=region,
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 2,
            "digest": "sha256:" + "0" * 64,
        },
        "layers": [],
    }
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)


def main(argv: list[str]) -> int:
    stdin = sys.stdin.read() if "--password-stdin" in argv else None
    with open(os.environ["ENGINE_DOUBLE_LOG"], "a") as log:
        log.write(json.dumps({"argv": argv, "stdin": stdin}) + "\n")
    verb = argv[0] if argv else ""
    failing = os.environ.get("ENGINE_DOUBLE_FAIL", "")
    if failing.partition(":")[0] == verb:
        return _fail(failing.partition(":")[2])
    state = _state()
    if verb == "build":
        reference = argv[argv.index("--tag") + 1]
        dockerfile = Path(argv[-1]) / "Dockerfile"
        if not dockerfile.is_file():
            return _fail(f"unable to prepare context: {dockerfile}: no such file or directory")
        lines = dockerfile.read_text().splitlines()
        instructions = [line for line in lines if line.strip() and not line.startswith("#")]
        if not instructions or not instructions[0].startswith("FROM "):
            return _fail("dockerfile parse error: the first instruction must be FROM")
        state["images"].append(reference)
    elif verb == "login":
        if not stdin or not stdin.strip():
            return _fail("Error: cannot perform an interactive login from a non TTY device")
        state["logins"].append(argv[-1])
    elif verb == "push":
        reference = argv[1]
        host, repository, tag = _split(reference)
        if reference not in state["images"]:
            return _fail(f"An image does not exist locally with the tag: {reference}")
        if _ECR_HOST.match(host):
            if host not in state["logins"]:
                return _fail("denied: Your authorization token has expired. Reauthenticate and try again.")
            _push_to_moto(host, repository, tag)
    else:
        return _fail(f"unknown command: {verb}")
    _save(state)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
