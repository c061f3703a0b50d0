"""Write and read back one object under a team's artifact prefix: the proof that a pipeline's
credentials (the team role, through IRSA) reach the team's own storage and nothing is in the way
(bucket policy, KMS key policy, the role's policy).

The object is deleted again afterwards, so a scheduled smoke run leaves nothing behind; a failed
write, read or comparison names the step and the S3 error code.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from platform_kit.errors import BadInput, OperationFailed


@dataclass(frozen=True)
class ProbeResult:
    uri: str
    size: int
    seconds: float


def roundtrip(s3: Any, *, bucket: str, prefix: str, run_id: str) -> ProbeResult:
    """Put a random payload at ``s3://bucket/prefix/<run_id>/probe``, read it back, compare, delete."""
    if not bucket or "/" in bucket:
        raise BadInput(f"bucket {bucket!r} is not a bucket name")
    if not prefix or prefix.startswith("/"):
        raise BadInput(f"prefix {prefix!r} must be a key prefix such as v2/artifacts/<team>/")
    key = f"{prefix.rstrip('/')}/{run_id or 'local'}/probe"
    uri = f"s3://{bucket}/{key}"
    payload = secrets.token_bytes(64)
    start = time.perf_counter()
    step = "write"
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=payload)
        step = "read"
        read = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        step = "delete"
        s3.delete_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise OperationFailed(
            f"could not {step} {uri}: {code}",
            hint="check the team role's policy, the bucket policy and the KMS key policy for this prefix",
        ) from None
    if read != payload:
        raise OperationFailed(f"{uri} read back {len(read)} bytes that differ from the {len(payload)} written")
    return ProbeResult(uri=uri, size=len(payload), seconds=time.perf_counter() - start)
