"""Golden renders: the sandbox platform and its teams as committed files, so a PR shows what changes in the cluster.

``python -m platform_kit.render.golden`` (``make golden``) rewrites ``tests/golden/<env>/`` from
the example config; ``--check`` fails when they are stale. CRDs are large and come unchanged from
upstream, so they are summarised one per line (name, versions, storage version, content hash);
every other object is kept whole. The platform outputs are the committed
``platform-outputs.json``, so the render needs no AWS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

from platform_kit.config.validate import load_platform
from platform_kit.render import team as team_render

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
OUTPUTS = "platform-outputs.json"


def crd_line(crd: dict) -> str:
    versions = crd["spec"]["versions"]
    served = ",".join(v["name"] for v in versions if v.get("served"))
    storage = ",".join(v["name"] for v in versions if v.get("storage"))
    digest = hashlib.sha256(json.dumps(crd, sort_keys=True).encode()).hexdigest()[:16]
    return f"{crd['metadata']['name']} served={served} storage={storage} sha256={digest}"


def render_files(env: str = "sandbox", config_dir: Path = ROOT / "platform") -> dict[str, str]:
    """Relative path -> text of every golden file of ``env``."""
    from platform_kit import manifests

    loaded = load_platform(config_dir)
    outputs = manifests.outputs_from_file(GOLDEN / env / OUTPUTS, env)
    with tempfile.TemporaryDirectory(prefix="platform-golden-") as tmp:
        out_dir = Path(tmp) / env
        objects, _ = manifests.build_platform(loaded.platform, env, outputs, loaded.config_dir, out_dir, ROOT)
        secrets = (out_dir / "secrets.yaml").read_text(encoding="utf-8")
    crds = sorted(crd_line(o) for o in objects if o["kind"] == "CustomResourceDefinition")
    files = {
        "platform.yaml": manifests.dump_objects([o for o in objects if o["kind"] != "CustomResourceDefinition"]),
        "crds.txt": "\n".join(crds) + "\n",
        "secrets.yaml": secrets,
    }
    for team in loaded.teams_in(env):
        files[f"teams/{team.name}.yaml"] = manifests.dump_objects(team_render.render_team(loaded.platform, env, team))
    return files


def stale(env: str = "sandbox") -> list[str]:
    base = GOLDEN / env
    files = render_files(env)
    problems = [rel for rel, text in files.items() if not (base / rel).is_file() or (base / rel).read_text() != text]
    keep = set(files) | {OUTPUTS}
    problems += [
        p.relative_to(base).as_posix()
        for p in base.rglob("*")
        if p.is_file() and p.relative_to(base).as_posix() not in keep
    ]
    return sorted(problems)


def write(env: str = "sandbox") -> list[str]:
    base = GOLDEN / env
    files = render_files(env)
    changed = []
    for rel, text in files.items():
        path = base / rel
        if not path.is_file() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(rel)
    keep = set(files) | {OUTPUTS}
    for path in sorted(base.rglob("*")):
        if path.is_file() and path.relative_to(base).as_posix() not in keep:
            path.unlink()
            changed.append(path.relative_to(base).as_posix())
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the golden files are stale")
    parser.add_argument("--env", default="sandbox")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale(args.env)
        if problems:
            print(f"golden renders are stale: {', '.join(problems)}; run: make golden", file=sys.stderr)
            return 1
        print(f"golden renders of {args.env} are current")
        return 0
    changed = write(args.env)
    print(f"{len(changed)} golden file(s) written under {GOLDEN / args.env}" if changed else "golden renders unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
