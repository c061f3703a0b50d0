"""The Terraform CLI configuration the kit runs Terraform with.

Two things make ``terraform init`` cheap and work offline:

- a *filesystem mirror* of providers, when one is found (``PLATFORM_TF_PLUGIN_MIRROR``, else
  Terraform's implied local mirror directories, else any ``/opt/*/`` folder holding
  ``registry.terraform.io/``). Its providers are installed from it and only from it; every other
  provider is downloaded as usual. Without a mirror there is no ``provider_installation`` block.
- a shared *plugin cache*, so each working directory links a provider instead of unpacking
  hundreds of MB again.

Measured with Terraform 1.11.4 and hashicorp/aws 5.100.0 (675 MiB), page cache warm: from an
*unpacked* mirror Terraform already symlinks the mirror's platform folder into ``.terraform/``
(the cache entry is itself a symlink to the mirror), so the cache changes nothing there: 0.44 s
per init either way. From a *packed* mirror (zip files) or the registry, each init without the
cache unpacks a full copy: 675 MiB of disk per working directory and 0.8-3 s depending on how
busy the disk is; with the cache it links (0.46 s without a lock file and with the flag below,
about 1.2 s with a lock file, whose checksums Terraform verifies by hashing the package).

Terraform 1.4+ uses a cache entry only if the working directory's ``.terraform.lock.hcl`` already
holds a checksum for it. ``plugin_cache_may_break_dependency_lock_file`` lifts that rule; the kit
sets it only where it helps and costs nothing: no lock file yet *and* a packed mirror (a mirror's
lock entries hold only local checksums anyway). It is never set for registry downloads, where it
would leave new lock files without the registry's checksums for other platforms.

The file replaces the user's own CLI config for the kit's Terraform runs (``TF_CLI_CONFIG_FILE``);
registry credentials in ``~/.terraform.d/credentials.tfrc.json`` are still read by Terraform.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from platform_kit.errors import BadInput
from platform_kit.files import exclusive_lock

MIRROR_ENV = "PLATFORM_TF_PLUGIN_MIRROR"
REGISTRY = "registry.terraform.io"
CONFIG_FILE = "terraform.tfrc"
LOCK_FILE = ".terraform.lock.hcl"

FIND: Literal["find"] = "find"  # write_cli_config's default: look for a mirror


def implied_mirror_dirs() -> list[Path]:
    """Where Terraform looks for providers by itself, then ``/opt/*/`` folders with a registry dir."""
    home = Path.home()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    data_dirs = [Path(d) for d in (os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":") if d]
    candidates = [home / ".terraform.d" / "plugins", data_home / "terraform" / "plugins"]
    candidates += [d / "terraform" / "plugins" for d in data_dirs]
    candidates += sorted(p.parent for p in Path("/opt").glob(f"*/{REGISTRY}"))
    return list(dict.fromkeys(candidates))


def mirror_providers(mirror: Path) -> list[str]:
    """The providers in a mirror, as ``registry.terraform.io/NAMESPACE/TYPE``, sorted."""
    registry = mirror / REGISTRY
    if not registry.is_dir():
        return []
    return sorted(
        f"{REGISTRY}/{namespace.name}/{provider.name}"
        for namespace in registry.iterdir()
        if namespace.is_dir()
        for provider in namespace.iterdir()
        if provider.is_dir()
    )


def is_mirror(path: Path) -> bool:
    """True if path holds at least one ``registry.terraform.io/NAMESPACE/TYPE`` directory."""
    try:
        return bool(mirror_providers(path))
    except OSError:
        return False


def find_plugin_mirror(candidates: Iterable[Path] | None = None) -> Path | None:
    """The provider mirror to install from, or None to download providers as usual.

    ``PLATFORM_TF_PLUGIN_MIRROR`` wins and must be a real mirror (BadInput otherwise); then the
    first of ``candidates`` (default: ``implied_mirror_dirs()``) that really holds providers.
    """
    override = os.environ.get(MIRROR_ENV)
    if override:
        path = Path(override).expanduser()
        if path.name == REGISTRY:  # pointing at the registry folder itself is a common slip
            path = path.parent
        hint = (
            f"set {MIRROR_ENV} to a folder made with `terraform providers mirror DIR` "
            f"(it holds {REGISTRY}/NAMESPACE/TYPE/...), or unset it to use the registry"
        )
        if not path.is_dir():
            raise BadInput(f"{MIRROR_ENV}={override}: no such directory", hint=hint)
        if not is_mirror(path):
            raise BadInput(
                f"{MIRROR_ENV}={override} is not a provider mirror: no {REGISTRY}/NAMESPACE/TYPE folders in it",
                hint=hint,
            )
        return path
    for candidate in implied_mirror_dirs() if candidates is None else candidates:
        if is_mirror(candidate):
            return candidate
    return None


def default_plugin_cache_dir() -> Path:
    """``${XDG_CACHE_HOME:-~/.cache}/platform-kit/terraform/plugin-cache``."""
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache_home / "platform-kit" / "terraform" / "plugin-cache"


@contextlib.contextmanager
def plugin_cache_lock(cache: Path | None = None) -> Iterator[None]:
    """Hold the plugin cache for one ``terraform init`` at a time.

    Terraform's plugin cache is not safe for installs running at once: three first-time inits
    started together here failed with "failed to create directory" and "provider binary not
    found" while one of them was filling the cache. Inits on one machine (two teams onboarded at
    once, parallel CI plans, test workers) therefore queue on an exclusive lock file in the cache.
    """
    cache = cache or default_plugin_cache_dir()
    with exclusive_lock(cache / ".platform-kit-init.lock"):
        yield


def is_packed(mirror: Path) -> bool:
    """True if the mirror holds zip archives (packed layout) rather than unpacked directories."""
    return any((mirror / REGISTRY).glob("*/*/*.zip"))


def cache_may_break_lock_file_needed(workdir: Path, mirror: Path | None) -> bool:
    """Whether ``plugin_cache_may_break_dependency_lock_file`` saves work and costs nothing.

    True only for a working directory with no lock file yet whose providers come from a packed
    mirror: Terraform would otherwise unpack the provider again instead of linking the cache.
    """
    if (Path(workdir) / LOCK_FILE).exists() or mirror is None:
        return False
    return is_packed(mirror)


def render_cli_config(
    *,
    mirror: Path | None,
    plugin_cache_dir: Path,
    cache_may_break_lock_file: bool = False,
) -> str:
    """The CLI config file's HCL text."""
    lines = [
        "# Terraform CLI configuration written by platform-kit (platform_kit.terraform.cliconfig).",
        "# Rewritten before Terraform runs: edits here are lost.",
        "",
        f"plugin_cache_dir = {_hcl_string(str(plugin_cache_dir))}",
    ]
    if cache_may_break_lock_file:
        lines.append("plugin_cache_may_break_dependency_lock_file = true")
    if mirror is not None:
        providers = ", ".join(_hcl_string(p) for p in mirror_providers(mirror))
        lines += [
            "",
            "provider_installation {",
            "  filesystem_mirror {",
            f"    path    = {_hcl_string(str(mirror))}",
            f"    include = [{providers}]",
            "  }",
            "  direct {",
            f"    exclude = [{providers}]",
            "  }",
            "}",
        ]
    return "\n".join(lines) + "\n"


def write_cli_config(
    directory: Path,
    *,
    mirror: Path | Literal["find"] | None = FIND,
    plugin_cache_dir: Path | None = None,
    cache_may_break_lock_file: bool = False,
) -> Path:
    """Write ``terraform.tfrc`` into directory and return its path (for ``TF_CLI_CONFIG_FILE``).

    ``mirror`` defaults to ``find_plugin_mirror()``; pass None for no mirror. The plugin cache
    directory is created. An unchanged file is left alone (same bytes, same mtime); a changed one
    is replaced atomically, so a Terraform process never reads half a file.
    """
    if isinstance(mirror, str):  # FIND
        mirror = find_plugin_mirror()
    cache = plugin_cache_dir or default_plugin_cache_dir()
    if "$" in str(cache):
        raise BadInput(
            f"plugin cache folder {cache} contains '$', which Terraform expands as a variable",
            hint="set XDG_CACHE_HOME to a folder whose path has no '$'",
        )
    cache.mkdir(parents=True, exist_ok=True)
    text = render_cli_config(mirror=mirror, plugin_cache_dir=cache, cache_may_break_lock_file=cache_may_break_lock_file)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CONFIG_FILE
    try:
        if path.read_text(encoding="utf-8") == text:
            return path
    except OSError:
        pass
    tmp = path.with_name(f".{CONFIG_FILE}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _hcl_string(value: str) -> str:
    """A quoted string literal. The CLI config is read as HCL 1, which has no template
    escapes: ``$${`` would stay doubled, so ``${`` and ``%{`` are left as they are."""
    return json.dumps(value, ensure_ascii=False)
