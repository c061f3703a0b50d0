"""``platform catalog publish``: copy a built catalog into an environment's artifact bucket.

The catalog lives beside the pipelines' artifacts, in the bucket the platform stack outputs as
``artifact_bucket_name``, under its own prefix that no team role may write to::

    catalog/<catalog version>/<name>.yaml   one compiled component or pipeline each
    catalog/<catalog version>/index.json    the build's index, unchanged
    catalog/latest.json                     {"catalog_version", "published_at", "kit_version"}

Before anything is sent, the build is checked: every file's content hash must equal its version in
``index.json``, and the catalog version must be the hash over the entries, so a file changed after
the build (by hand, or by a broken copy) is refused by name.

Every object carries the sha256 of its bytes as metadata (``x-amz-meta-sha256``). A publish reads
that with HeadObject first and uploads only what is missing or different, so publishing the same
build again uploads nothing. The version's files go first, its ``index.json`` after them and the
pointer last: a publish stopped half-way leaves the pointer on the previous version (readers never
see a version with files missing), and running it again uploads the rest and then moves the
pointer. Nothing is ever deleted; publishing an older build again moves the pointer back to it.

Encryption is the bucket's default (SSE-KMS with the platform's artifact key, bucket keys on), set
by ``terraform/modules/kubeflow-aws``; no request here overrides it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from platform_kit.catalog.build import INDEX, KINDS, LATEST, catalog_version, short_hash
from platform_kit.errors import BadInput, OperationFailed

PREFIX = "catalog"
POINTER_KEY = f"{PREFIX}/latest.json"
HASH_METADATA = "sha256"  # sent and read back as x-amz-meta-sha256

UPLOADED = "uploaded"
UNCHANGED = "unchanged"
WOULD_UPLOAD = "would upload"

_VERSION = re.compile(r"^[0-9a-f]{12}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_CONTENT_TYPES = {".yaml": "application/yaml", ".json": "application/json"}
_REBUILD = "rebuild it: platform catalog build (then publish again)"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class BuiltFile:
    """One file of a verified build: a catalog entry, or the index (kind ``index``)."""

    name: str
    kind: str
    version: str
    file: str
    data: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        return sha256(self.data)


@dataclass(frozen=True)
class CatalogBuild:
    """A build folder's newest catalog version, read and verified: what a publish sends."""

    root: Path
    catalog_version: str
    kit_version: str
    files: tuple[BuiltFile, ...]  # the entries in index order, then index.json

    @property
    def directory(self) -> Path:
        return self.root / self.catalog_version


@dataclass(frozen=True)
class PublishedObject:
    name: str
    kind: str
    version: str
    key: str
    sha256: str
    action: str  # uploaded, unchanged, or (dry run) would upload

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "version": self.version,
            "key": self.key,
            "sha256": self.sha256,
            "action": self.action,
        }


@dataclass(frozen=True)
class PublishResult:
    """What a publish found and did; ``pointer`` is ``catalog/latest.json``."""

    bucket: str
    catalog_version: str
    kit_version: str
    objects: tuple[PublishedObject, ...]
    pointer: PublishedObject
    previous_version: str | None  # what the pointer named before (None: no catalog published yet)
    published_at: str | None  # the pointer's time (None: a dry run that would move it)
    dry_run: bool = False
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> tuple[PublishedObject, ...]:
        """The objects (and pointer) that were uploaded, or would be in a dry run."""
        return tuple(o for o in (*self.objects, self.pointer) if o.action != UNCHANGED)

    @property
    def unchanged(self) -> bool:
        return not self.changed

    @property
    def prefix(self) -> str:
        return f"{PREFIX}/{self.catalog_version}/"

    def as_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "catalog_version": self.catalog_version,
            "kit_version": self.kit_version,
            "dry_run": self.dry_run,
            "unchanged": self.unchanged,
            "uploaded": sum(1 for o in self.objects if o.action != UNCHANGED),  # the pointer not counted
            "previous_version": self.previous_version,
            "published_at": self.published_at,
            "objects": [o.as_dict() for o in self.objects],
            "pointer": self.pointer.as_dict(),
            "notes": list(self.notes),
        }


# Reading and verifying a build --------------------------------------------------------------------


def load_build(root: Path) -> CatalogBuild:
    """The build that ``root/latest`` names, with every file's bytes checked against ``index.json``.

    Anything missing, malformed or changed since the build is BadInput naming the file; no AWS."""
    root = Path(root)
    latest = root / LATEST
    if not latest.is_file():
        raise BadInput(
            f"no catalog build in {root} ({latest} is missing)",
            hint="run: platform catalog build (or pass --from with the folder it built into)",
        )
    version = latest.read_text(encoding="utf-8").strip()
    if not _VERSION.match(version):
        raise BadInput(f"{latest}: {version!r} is not a catalog version (12 hex digits)", hint=_REBUILD)
    index_path = root / version / INDEX
    if not index_path.is_file():
        raise BadInput(f"{index_path}: missing, though {latest} names version {version}", hint=_REBUILD)
    index_bytes = index_path.read_bytes()
    try:
        index = json.loads(index_bytes)
    except ValueError as exc:
        raise BadInput(f"{index_path}: not valid JSON ({exc})", hint=_REBUILD) from None
    if not isinstance(index, dict) or not isinstance(index.get("entries"), list) or not index["entries"]:
        raise BadInput(f"{index_path}: no 'entries' list; this is not a catalog index", hint=_REBUILD)
    if index.get("catalog_version") != version:
        raise BadInput(
            f"{index_path}: catalog_version is {index.get('catalog_version')!r}, but {latest} names {version}",
            hint=_REBUILD,
        )
    files = [_entry_file(root / version, index_path, n, entry) for n, entry in enumerate(index["entries"])]
    names = [f.name for f in files]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise BadInput(f"{index_path}: entry {duplicate!r} is listed twice", hint=_REBUILD)
    expected = catalog_version({f.name: f.version for f in files})
    if expected != version:
        raise BadInput(
            f"{index_path}: catalog_version {version} is not the hash of its entries' versions ({expected})",
            hint=_REBUILD,
        )
    kit = str(index.get("kit_version") or "")
    files.append(BuiltFile(name=INDEX, kind="index", version=version, file=INDEX, data=index_bytes))
    return CatalogBuild(root=root, catalog_version=version, kit_version=kit, files=tuple(files))


def _entry_file(directory: Path, index_path: Path, position: int, entry: Any) -> BuiltFile:
    where = f"{index_path}: entries[{position}]"
    if not isinstance(entry, dict):
        raise BadInput(f"{where}: not an object", hint=_REBUILD)
    name, kind, version, file = (entry.get(k) for k in ("name", "kind", "version", "file"))
    if not isinstance(name, str) or not _NAME.match(name):
        raise BadInput(f"{where}: name {name!r} is not a catalog name", hint=_REBUILD)
    if kind not in KINDS:
        raise BadInput(f"{where} ({name}): kind {kind!r} is not one of {', '.join(KINDS)}", hint=_REBUILD)
    if not isinstance(version, str) or not _VERSION.match(version):
        raise BadInput(f"{where} ({name}): version {version!r} is not 12 hex digits", hint=_REBUILD)
    if file != f"{name}.yaml":  # also keeps every key under catalog/<version>/
        raise BadInput(f"{where} ({name}): file {file!r} should be {name}.yaml", hint=_REBUILD)
    path = directory / file
    if not path.is_file():
        raise BadInput(f"{path}: missing (listed in {index_path.name})", hint=_REBUILD)
    data = path.read_bytes()
    if short_hash(data) != version:
        raise BadInput(
            f"{path}: content does not match its version in {index_path.name} "
            f"(hash {short_hash(data)}, listed {version}); the file changed after the build",
            hint=_REBUILD,
        )
    return BuiltFile(name=name, kind=kind, version=version, file=file, data=data)


# Publishing ---------------------------------------------------------------------------------------


def publish_catalog(
    session: Any, bucket: str, build_dir: Path, *, dry_run: bool = False, now: datetime | None = None
) -> PublishResult:
    """Publish the build that ``build_dir/latest`` names to ``bucket`` (see the module docstring).

    ``session`` is the environment's AWS target (``Infra.session()``; anything with ``client(name)``).
    A bad build is BadInput before any AWS call; ``dry_run`` reads the bucket and writes nothing."""
    build = load_build(build_dir)
    s3 = session.client("s3")
    _check_bucket(s3, bucket)
    notes: list[str] = []
    objects: list[PublishedObject] = []
    for built in build.files:
        key = f"{PREFIX}/{build.catalog_version}/{built.file}"
        found = _stored_hash(s3, bucket, key)
        if found == built.sha256:
            action = UNCHANGED
        else:
            if found is not None:
                done = "a publish would replace it" if dry_run else "replaced it (bucket versioning keeps the old copy)"
                notes.append(f"s3://{bucket}/{key} held other content (sha256 {found[:12] or 'not recorded'}); {done}")
            action = WOULD_UPLOAD if dry_run else UPLOADED
            if not dry_run:
                _put(s3, bucket, key, built.data, suffix=Path(built.file).suffix)
        objects.append(PublishedObject(built.name, built.kind, built.version, key, built.sha256, action))

    # The pointer last, and only once every object of the version is in place.
    previous = _read_pointer(s3, bucket)
    previous_version = str(previous["catalog_version"]) if previous and previous.get("catalog_version") else None
    if previous_version == build.catalog_version:
        assert previous is not None
        published_at = str(previous.get("published_at") or "") or None
        data = _pointer_bytes(previous)
        action = UNCHANGED
    else:
        published_at = None if dry_run else (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        data = _pointer_bytes(
            {"catalog_version": build.catalog_version, "published_at": published_at, "kit_version": build.kit_version}
        )
        action = WOULD_UPLOAD if dry_run else UPLOADED
        if not dry_run:
            _put(s3, bucket, POINTER_KEY, data, suffix=".json", cache_control="no-cache")
    pointer = PublishedObject("latest.json", "pointer", build.catalog_version, POINTER_KEY, sha256(data), action)
    return PublishResult(
        bucket=bucket,
        catalog_version=build.catalog_version,
        kit_version=build.kit_version,
        objects=tuple(objects),
        pointer=pointer,
        previous_version=previous_version,
        published_at=published_at,
        dry_run=dry_run,
        notes=tuple(notes),
    )


def _pointer_bytes(pointer: dict[str, Any]) -> bytes:
    return (json.dumps(pointer, indent=2, sort_keys=True) + "\n").encode()


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _failed(exc: Exception, what: str) -> OperationFailed:
    code = _code(exc)
    if code in ("403", "AccessDenied", "Forbidden"):
        return OperationFailed(
            f"{what}: access denied",
            hint="publishing needs the platform's operator or CI credentials; "
            "team roles may write only artifacts/<team>/ and v2/artifacts/<team>/",
        )
    return OperationFailed(f"{what}: {exc}")


def _check_bucket(s3: Any, bucket: str) -> None:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if _code(exc) in ("404", "NoSuchBucket", "NotFound"):
            raise OperationFailed(
                f"artifact bucket {bucket} does not exist",
                hint="apply the platform stack first: platform infra apply --env ENV --stack platform",
            ) from None
        raise _failed(exc, f"s3://{bucket}") from None


def _stored_hash(s3: Any, bucket: str, key: str) -> str | None:
    """The sha256 recorded on the object; None when there is no object, "" when it has no record."""
    from botocore.exceptions import ClientError

    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise _failed(exc, f"s3://{bucket}/{key}") from None
    return str((head.get("Metadata") or {}).get(HASH_METADATA, ""))


def _read_pointer(s3: Any, bucket: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        body = s3.get_object(Bucket=bucket, Key=POINTER_KEY)["Body"].read()
    except ClientError as exc:
        if _code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise _failed(exc, f"s3://{bucket}/{POINTER_KEY}") from None
    try:
        pointer = json.loads(body)
    except ValueError:
        return None  # unreadable: written again below
    return pointer if isinstance(pointer, dict) else None


def _put(s3: Any, bucket: str, key: str, data: bytes, *, suffix: str, cache_control: str | None = None) -> None:
    from botocore.exceptions import ClientError

    extra = {"CacheControl": cache_control} if cache_control else {}
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=data,
            ContentType=_CONTENT_TYPES.get(suffix, "application/octet-stream"),
            Metadata={HASH_METADATA: sha256(data)},
            **extra,
        )
    except ClientError as exc:
        raise _failed(exc, f"s3://{bucket}/{key}") from None
