"""``s3_probe``: write, read back and delete one object under the team's artifact prefix.

Needs, at run time (the team role, through IRSA on ``default-editor``):
- AWS: ``s3:PutObject``, ``s3:GetObject``, ``s3:DeleteObject`` under the team's prefixes of the
  artifact bucket, and the artifact KMS key (the team module grants these).
"""

# No ``from __future__ import annotations`` in component modules: KFP reads the annotations as types.
from typing import Any

from platform_kit.catalog import components

SETTINGS = {"region": ""}


def make_s3_probe(image: str | None = None, **settings: Any) -> Any:
    """The component; ``settings`` change its defaults (region)."""

    def s3_probe(bucket: str, team: str, run_id: str, *, region: str) -> str:
        """Round-trip one object under v2/artifacts/<team>/platform-health/; returns its S3 URI."""
        import boto3

        from platform_kit.catalog.runtime import s3_probe as runtime

        result = runtime.roundtrip(
            boto3.client("s3", region_name=region or None),
            bucket=bucket,
            prefix=f"v2/artifacts/{team}/platform-health",
            run_id=run_id,
        )
        print(f"wrote, read back and deleted {result.uri} ({result.size} bytes, {result.seconds:.2f} s)", flush=True)
        return result.uri

    return components.build(s3_probe, image, SETTINGS, settings)
