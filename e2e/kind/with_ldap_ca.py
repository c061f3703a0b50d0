"""Copy the e2e desired state and give its LDAP connector the CA of the in-cluster directory.

The e2e workflow (.github/workflows/e2e-kind.yml) generates a CA for the directory it starts in the
kind cluster; Dex must trust it. This writes CONFIG (platform.yaml and teams/) to OUT with
``ca_pem`` set on every LDAP connector of the environment, and with ``--upstream-path`` points the
Kubeflow source at a local copy of kubeflow/manifests instead of the pinned git URL (the kit's
tests use that to render offline).

    python e2e/kind/with_ldap_ca.py e2e/kind/platform build/e2e/platform --ca build/e2e/ldap/ca.crt
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import yaml


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="the e2e config folder (e2e/kind/platform)")
    parser.add_argument("out", type=Path, help="where to write the copy")
    parser.add_argument("--ca", type=Path, required=True, help="PEM file of the directory's CA")
    parser.add_argument("--env", default="kind", help="environment whose LDAP connectors get the CA")
    parser.add_argument("--upstream-path", type=Path, help="a local kubeflow/manifests folder to render from")
    args = parser.parse_args(argv)

    pem = args.ca.read_text()
    if "-----BEGIN CERTIFICATE-----" not in pem:
        print(f"error: {args.ca}: not a PEM certificate", file=sys.stderr)
        return 2
    doc = yaml.safe_load((args.config / "platform.yaml").read_text())
    env = doc["environments"][args.env]
    ldap = [c for c in env["identity"]["connectors"] if c["type"] == "ldap"]
    if not ldap:
        print(f"error: {args.config}/platform.yaml: environments.{args.env} has no LDAP connector", file=sys.stderr)
        return 2
    for connector in ldap:
        connector["ca_pem"] = pem
    if args.upstream_path:
        env["kubeflow"]["source"] = {"path": str(args.upstream_path.resolve())}

    # A second run keeps the team files onboarding wrote into OUT.
    shutil.copytree(args.config, args.out, dirs_exist_ok=True)
    (args.out / "platform.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    print(f"wrote {args.out}/platform.yaml ({len(ldap)} LDAP connector(s) trust {args.ca})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
