"""Security policy checks with checkov, run from its own virtual environment.

checkov pins versions that clash with current boto3 and kubernetes, so it lives in
``.venv-checkov`` (``make test`` creates it) or wherever ``PLATFORM_CHECKOV`` points. Used by the
test suite as a gate (zero failed checks; every skip carries a written reason) and to write
``docs/security.md``: ``python -m platform_kit.policy --write docs/security.md --render-dir DIR``.

Two scans: ``scan`` over the Terraform (skips are inline ``#checkov:skip`` comments), and
``scan_kubernetes`` over a rendered platform (the output of ``kubectl kustomize``). Upstream
Kubeflow fails many of checkov's Kubernetes checks and is never edited, so those failures are
skipped with a reason from ``data/checkov-kubernetes-skips.yaml``, and only on upstream objects:
an object the kit renders (label ``app.kubernetes.io/managed-by: platform-kit``) gets no skip.

How the scoping works: checkov scans a private copy of the render, one object per file, with no
skip options at all; each failure is then matched to its object through the file it came from and
counted as skipped only when the skip table covers that check for that object. So a skip only
ever hides a failure (a check that passes stays passed), and a skip entry that hid nothing is
reported as unused. checkov's own per-object skip annotations (``checkov.io/skipN``) in the render
still work and are listed with their reasons like any other skip.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from platform_kit.errors import BadInput, OperationFailed
from platform_kit.render import checks

ROOT = Path(__file__).resolve().parent.parent
KUBERNETES_SKIPS = "data/checkov-kubernetes-skips.yaml"
UPSTREAM_SCOPE = "upstream"
_CHECK_ID = re.compile(r"CKV2?_K8S_\d+")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass
class PolicyReport:
    passed: int
    failed: int
    skipped: int
    resources: int
    version: str
    failures: list[str] = field(default_factory=list)  # "CHECK_ID resource (file)"
    skips: list[tuple[str, str, str]] = field(default_factory=list)  # (check, resource, reason)
    # Kubernetes scans only: objects in the render, objects checkov could not read (with why), skip
    # entries that hid no failure, and the wall time of the scan.
    objects: int = 0
    not_scanned: list[str] = field(default_factory=list)
    unused_skips: list[str] = field(default_factory=list)
    seconds: float = 0.0


def checkov_path() -> Path:
    override = os.environ.get("PLATFORM_CHECKOV")
    candidates = [override] if override else [str(ROOT / ".venv-checkov" / "bin" / "checkov"), "checkov"]
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return Path(found)
    raise BadInput(
        "checkov not found" + (f" at PLATFORM_CHECKOV={override}" if override else ""),
        hint="run: make install-checkov (checkov in its own venv, .venv-checkov)",
    )


def _run_checkov(
    directory: Path, framework: str, cwd: Path | None = None, extra: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """checkov's JSON reports for ``directory`` (offline: no guideline download, no platform calls).
    ``extra`` replaces ``-d DIR`` when given (``-f plan.json ...``).

    Not ``--quiet``: that drops the skipped checks (and so their reasons) from the JSON, too.
    ``--compact`` leaves out the code blocks, which would otherwise make up most of the output.
    """
    target = list(extra) if extra else ["-d", str(directory)]
    result = subprocess.run(
        [
            str(checkov_path()),
            *target,
            "--framework",
            framework,
            "--skip-download",
            "--compact",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )
    try:
        document = json.loads(result.stdout)
    except ValueError:
        raise OperationFailed(
            f"checkov gave no JSON (exit {result.returncode}): {(result.stderr.strip().splitlines() or ['?'])[-1]}"
        ) from None
    return document if isinstance(document, list) else [document]


def scan_plan(plan_json: Path, source_dir: Path) -> PolicyReport:
    """checkov over a plan's JSON (``terraform show -json``), with the stack's source folder for
    enrichment, so the ``#checkov:skip`` comments in the modules apply to the plan too."""
    extra = ("-f", str(plan_json), "--repo-root-for-plan-enrichment", str(source_dir))
    return _report(_run_checkov(plan_json.parent, "terraform_plan", extra=extra))


def scan(directory: Path, framework: str = "terraform") -> PolicyReport:
    """checkov over the Terraform (or, with ``framework="dockerfile"``, the Dockerfiles) in ``directory``
    (offline: no guideline download)."""
    return _report(_run_checkov(directory, framework))


def _report(documents: list[dict[str, Any]]) -> PolicyReport:
    report = PolicyReport(0, 0, 0, 0, "")
    for doc in documents:
        summary = doc.get("summary", {})
        report.passed += summary.get("passed", 0)
        report.failed += summary.get("failed", 0)
        report.skipped += summary.get("skipped", 0)
        report.resources += summary.get("resource_count", 0)
        report.version = summary.get("checkov_version", report.version)
        results = doc.get("results", {})
        for check in results.get("failed_checks", []):
            report.failures.append(f"{check['check_id']} {check['resource']} ({check['file_path']})")
        for check in results.get("skipped_checks", []):
            reason = (check.get("check_result") or {}).get("suppress_comment", "")
            report.skips.append((check["check_id"], check["resource"], reason))
    return report


# --- Kubernetes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KubernetesSkip:
    """One checkov Kubernetes check skipped on upstream objects, and why."""

    check: str
    reason: str
    scope: str | tuple[str, ...]  # "upstream", or object refs ("Kind namespace/name", "Kind name")

    def covers(self, obj: Mapping[str, Any]) -> bool:
        if checks.is_kit_object(obj):
            return False  # the kit's own objects get no skips: a failure there is real
        return self.scope == UPSTREAM_SCOPE or checks.object_ref(obj) in self.scope

    @property
    def scope_text(self) -> str:
        return "upstream" if self.scope == UPSTREAM_SCOPE else "named objects"


def load_kubernetes_skips(path: Path | None = None) -> dict[str, KubernetesSkip]:
    """The skip table: ``data/checkov-kubernetes-skips.yaml`` unless ``path`` names another file."""
    where = str(path) if path else f"platform_kit/{KUBERNETES_SKIPS}"
    if path:
        text = Path(path).read_text(encoding="utf-8")
    else:
        text = resources.files("platform_kit").joinpath(KUBERNETES_SKIPS).read_text(encoding="utf-8")
    document = yaml.safe_load(text) or {}
    table: dict[str, KubernetesSkip] = {}
    for check, entry in (document.get("skips") or {}).items():
        entry = entry if isinstance(entry, dict) else {}
        reason = str(entry.get("reason") or "").strip()
        scope = entry.get("scope")
        if not _CHECK_ID.fullmatch(str(check)):
            raise BadInput(f"{where}: '{check}' is not a checkov Kubernetes check ID (CKV_K8S_n or CKV2_K8S_n)")
        if not reason:
            raise BadInput(f"{where}: skips.{check} has no reason", hint="every skip says why, in one sentence")
        if scope != UPSTREAM_SCOPE and not (isinstance(scope, list) and scope and all(map(_is_ref, scope))):
            raise BadInput(
                f"{where}: skips.{check}.scope must be 'upstream' or a list of 'Kind namespace/name' "
                "(or 'Kind name' for cluster-scoped objects)"
            )
        table[str(check)] = KubernetesSkip(str(check), reason, scope if isinstance(scope, str) else tuple(scope))
    return table


def _is_ref(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9]* [^\s/]+(/[^\s/]+)?", value) is not None


def load_objects(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every object in a rendered platform: (file relative to ``path``, object), in file order.

    ``path`` is a YAML file or a directory of them (``.yaml``, ``.yml``, ``.json``; ``List`` kinds
    are unpacked). A kustomize build directory is refused: pass what ``kubectl kustomize`` printed.
    """
    path = Path(path)
    if path.is_file():
        files, base = [path], path.parent
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".json"))
        base = path
    else:
        raise BadInput(f"render directory '{path}' not found", hint="render first: kubectl kustomize BUILD_DIR > FILE")
    found: list[tuple[str, dict[str, Any]]] = []
    for file in files:
        rel = file.relative_to(base).as_posix()
        try:
            docs = [d for d in yaml.load_all(file.read_text(encoding="utf-8"), Loader=_Loader) if d is not None]
        except yaml.YAMLError as exc:
            raise BadInput(f"{file}: not YAML ({str(exc).splitlines()[0]})") from None
        for doc in docs:
            items = doc.get("items") if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") else [doc]
            for obj in items or []:
                if not (isinstance(obj, dict) and obj.get("apiVersion") and obj.get("kind")):
                    raise BadInput(f"{file}: a document that is not a Kubernetes object (no apiVersion and kind)")
                if str(obj["apiVersion"]).startswith("kustomize.config.k8s.io/"):
                    raise BadInput(
                        f"{file}: a {obj['kind']}; this is a kustomize build directory, not a rendered platform",
                        hint=f"scan the build's output: kubectl kustomize {file.parent} > rendered/platform.yaml",
                    )
                found.append((rel, obj))
    return found


# checkov silently ignores a whole file that looks like a Helm template (checkov/kubernetes/parser/
# k8_yaml.py) and an object with a `name` that is not a plain string (parser/validatior.py). Objects
# it would ignore are listed as not scanned instead of vanishing from the counts.
_CHECKOV_HELM = re.compile(r"\{\{-?\s*\.Release\.|\{\{-?\s*\.Values\.")
_CHECKOV_BAD_NAME = re.compile(r"[#{}]+")


def _checkov_ignores(obj: Any, text: str) -> str | None:
    if _CHECKOV_HELM.search(text):
        return "its text looks like a Helm template ({{ .Values. or {{ .Release.)"

    def bad_name(node: Any) -> bool:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, dict | list):
                    if bad_name(value):
                        return True
                elif key == "name" and (
                    not isinstance(value, str) or len(value) > 253 or _CHECKOV_BAD_NAME.search(value)
                ):
                    return True
        elif isinstance(node, list):
            return any(bad_name(item) for item in node if isinstance(item, dict))
        return False

    return "a 'name' field is not a plain name (not a string, or has #, { or })" if bad_name(obj) else None


def scan_kubernetes(directory: Path, skips: Mapping[str, KubernetesSkip] | None = None) -> PolicyReport:
    """checkov's Kubernetes checks over a rendered platform, with the scoped skips applied.

    ``directory`` is the render (a directory of YAML or one file); it is only read. ``skips``
    defaults to ``load_kubernetes_skips()``. In the report, ``failed`` counts failures no skip
    covers, ``skipped`` the covered ones (plus any ``checkov.io/skipN`` annotations in the render).
    """
    start = time.monotonic()
    skips = load_kubernetes_skips() if skips is None else skips
    objects = load_objects(directory)
    report = PolicyReport(0, 0, 0, 0, "", objects=len(objects))
    by_file: dict[str, tuple[str, dict[str, Any]]] = {}
    used: dict[str, set[str]] = {}
    with tempfile.TemporaryDirectory(prefix="platform-kit-checkov-") as tmp:
        for index, (source, obj) in enumerate(objects):
            name = f"{index:05d}.yaml"
            text = yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=1000)
            ignored = _checkov_ignores(obj, text)
            if ignored:
                report.not_scanned.append(f"{checks.object_ref(obj)} ({source}): {ignored}")
            (Path(tmp) / name).write_text(text, encoding="utf-8")
            by_file[name] = (source, obj)
        documents = _run_checkov(Path(tmp), "kubernetes", cwd=Path(tmp))
    for doc in documents:
        summary = doc.get("summary", {})
        report.resources += summary.get("resource_count", 0)
        report.version = summary.get("checkov_version", report.version)
        results = doc.get("results", {})
        report.passed += len(results.get("passed_checks", []))
        for check in results.get("failed_checks", []):
            check_id = check["check_id"]
            source, obj = by_file[Path(check["file_path"]).name]
            ref = checks.object_ref(obj)
            skip = skips.get(check_id)
            if skip is not None and skip.covers(obj):
                report.skips.append((check_id, ref, skip.reason))
                used.setdefault(check_id, set()).add(ref)
            else:
                kit = ", kit object" if checks.is_kit_object(obj) else ""
                report.failures.append(f"{check_id} {ref} ({source}{kit}): {check.get('check_name', '')}")
        for check in results.get("skipped_checks", []):  # checkov.io/skipN annotations in the render
            source, obj = by_file[Path(check["file_path"]).name]
            reason = str((check.get("check_result") or {}).get("suppress_comment") or "").strip()
            if reason in ("", "No comment provided"):  # checkov's text for an annotation without "=reason"
                report.failures.append(
                    f"{check['check_id']} {checks.object_ref(obj)} ({source}): skipped without a reason"
                )
            else:
                report.skips.append((check["check_id"], checks.object_ref(obj), reason))
    report.failed, report.skipped = len(report.failures), len(report.skips)
    for check_id, skip in sorted(skips.items()):
        if check_id not in used:
            report.unused_skips.append(f"{check_id}: no failure to skip in this render")
        elif skip.scope != UPSTREAM_SCOPE:
            idle = [ref for ref in skip.scope if ref not in used[check_id]]
            if idle:
                report.unused_skips.append(f"{check_id}: no failure to skip on {', '.join(idle)}")
    report.seconds = time.monotonic() - start
    return report


def _terraform_markdown(report: PolicyReport) -> list[str]:
    lines = [
        "# Security",
        "",
        "## Policy checks on the Terraform (checkov)",
        "",
        f"checkov {report.version} over `terraform/` (every module, example and stack), offline, written by "
        "`python -m platform_kit.policy --write docs/security.md`; `make test` fails on any failed check.",
        "",
        "| passed | failed | skipped | resources scanned |",
        "|---|---|---|---|",
        f"| {report.passed} | {report.failed} | {report.skipped} | {report.resources} |",
        "",
        "Every skip is an inline `#checkov:skip=ID:reason` next to the resource; the reasons:",
        "",
        "| check | resource | reason |",
        "|---|---|---|",
    ]
    for check, resource, reason in sorted(set(report.skips)):
        lines.append(f"| {check} | `{resource}` | {reason.replace('|', '/')} |")
    lines += [
        "",
        "## The kit's own rules",
        "",
        "- No IAM policy has a `*` action; a `*` resource only where AWS requires it, with the reason in a comment "
        "(module tests decode every policy and assert this; the sandbox integration test re-reads the applied team "
        "policies with boto3).",
        "- Team roles trust only `system:serviceaccount:<team>:default-editor` with an exact `StringEquals` on "
        "`sub` and `aud`; each team reaches only `artifacts/<team>/` and `v2/artifacts/<team>/`.",
        "- Secrets are references in config (`platform validate` refuses literals and never echoes them); "
        "generated secrets live in Secrets Manager, and no output carries a secret value.",
        "- Buckets: SSE-KMS, versioning, public access blocked, TLS-only policy (left out only on the sandbox, "
        "whose emulator ignores policy conditions: see `emulator_compat` in `terraform/stacks/_shared/aws.tf`).",
        "",
    ]
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def _kubernetes_markdown(
    report: PolicyReport, skips: Mapping[str, KubernetesSkip], findings: list[str] | None
) -> list[str]:
    lines = [
        "## Policy checks on the rendered Kubernetes objects (checkov)",
        "",
        f"checkov {report.version} with `--framework kubernetes` over the rendered platform ({report.objects} objects, "
        f"{report.resources} checkov resources), offline, written by "
        "`python -m platform_kit.policy --write docs/security.md --render-dir DIR`.",
        "",
        "| passed | failed | skipped | resources scanned |",
        "|---|---|---|---|",
        f"| {report.passed} | {report.failed} | {report.skipped} | {report.resources} |",
        "",
        "Skips come from `platform_kit/data/checkov-kubernetes-skips.yaml`. A skip only turns a failed check into a "
        "skipped one, and never on an object the kit renders (label `app.kubernetes.io/managed-by: platform-kit`): "
        "a failure there is a failure. Skipped results per check:",
        "",
        "| check | skipped | scope | reason |",
        "|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[str]] = {}
    for check, resource, reason in report.skips:
        groups.setdefault((check, reason), []).append(resource)

    def order(key: tuple[str, str]) -> tuple[int, int, str]:
        prefix, _, number = key[0].rpartition("_")
        return (prefix.startswith("CKV2"), int(number) if number.isdigit() else 0, key[1])

    for check, reason in sorted(groups, key=order):
        skip = skips.get(check)
        scope = skip.scope_text if skip and skip.reason == reason else "annotation"
        lines.append(f"| {check} | {len(groups[check, reason])} | {_cell(scope)} | {_cell(reason)} |")
    lines += ["", "The objects behind each skip:", ""]
    for check, reason in sorted(groups, key=order):
        objects = ", ".join(f"`{ref}`" for ref in sorted(set(groups[check, reason])))
        lines.append(f"- {check}: {objects}")
    if report.not_scanned:
        lines += ["", "checkov ignores these objects entirely (the kit's own checks below still read them):", ""]
        lines += [f"- {_cell(item)}" for item in report.not_scanned]
    if report.unused_skips:
        lines += ["", "Skip entries this render did not need (kept for other releases and optional components):", ""]
        lines += [f"- {_cell(item)}" for item in report.unused_skips]
    if report.failures:
        lines += ["", "Failed:", ""]
        lines += [f"- {_cell(item)}" for item in report.failures]
    lines += [
        "",
        "## The kit's own checks on the rendered objects",
        "",
        "`platform_kit.render.checks`, for rules checkov has no check for; the gate is zero findings:",
        "",
        "- `authorization_policy_principals`: an Istio ALLOW rule that admits on `request.headers[kubeflow-userid]` "
        "names its `from.source.principals` (no `*`), since any workload in the mesh can set that header.",
        "- `pod_security_labels`: every namespace the kit renders enforces Pod Security `baseline` or `restricted` "
        "and sets `audit` and `warn`.",
        "- `wildcard_rbac`: no Role or ClusterRole rule has `*` in verbs, apiGroups or resources.",
        "- `default_secrets`: no upstream default credential (Dex's static user and hash, the oauth2-proxy client "
        "and cookie secrets, MinIO's keys, also base64-encoded), no unreplaced `AWS_REGION`, `CLUSTER_ID` or "
        "`PATCH_ME`, and no Secret carrying values (they are applied from AWS Secrets Manager).",
        "",
    ]
    if findings is not None:
        lines += [f"Findings on this render: {len(findings)}.", ""]
        lines += [f"- {_cell(item)}" for item in findings]
        lines += [""] if findings else []
    allowed = {**checks.AUTHZ_HEADER_ALLOW, **checks.RBAC_WILDCARD_ALLOW}
    if allowed:
        lines += [
            "Upstream objects allowed an exception (never applies to the kit's own objects):",
            "",
            "| object | reason |",
            "|---|---|",
        ]
        lines += [f"| `{ref}` | {_cell(reason)} |" for ref, reason in sorted(allowed.items())]
        lines.append("")
    return lines


def markdown(
    report: PolicyReport,
    kubernetes: PolicyReport | None = None,
    skips: Mapping[str, KubernetesSkip] | None = None,
    findings: list[str] | None = None,
) -> str:
    """``docs/security.md``: the Terraform section, then (with a Kubernetes report) the Kubernetes one.

    ``skips`` is the table the Kubernetes scan used (default: the data file); ``findings`` are the
    kit's own checks (``platform_kit.render.checks.run_all``) over the same render.
    """
    lines = _terraform_markdown(report)
    if kubernetes is not None:
        lines += _kubernetes_markdown(kubernetes, load_kubernetes_skips() if skips is None else skips, findings)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "terraform")
    parser.add_argument(
        "--render-dir", type=Path, help="a rendered platform (the output of kubectl kustomize): scan it too"
    )
    parser.add_argument("--write", type=Path, help="write the Markdown report here")
    args = parser.parse_args(argv)
    report = scan(args.dir)
    kubernetes: PolicyReport | None = None
    findings: list[str] | None = None
    if args.render_dir:
        kubernetes = scan_kubernetes(args.render_dir)
        findings = checks.run_all([obj for _, obj in load_objects(args.render_dir)])
    if args.write:
        args.write.write_text(markdown(report, kubernetes, findings=findings), encoding="utf-8")
    print(f"checkov: {report.passed} passed, {report.failed} failed, {report.skipped} skipped")
    for failure in report.failures:
        print(f"FAILED {failure}")
    failed = report.failed
    if kubernetes is not None and findings is not None:
        print(
            f"checkov kubernetes: {kubernetes.objects} objects, {kubernetes.passed} passed, {kubernetes.failed} "
            f"failed, {kubernetes.skipped} skipped ({kubernetes.seconds:.1f} s)"
        )
        for failure in kubernetes.failures:
            print(f"FAILED {failure}")
        for item in kubernetes.not_scanned:
            print(f"NOT SCANNED {item}")
        for item in kubernetes.unused_skips:
            print(f"UNUSED SKIP {item}")
        print(f"kit checks: {len(findings)} findings")
        for finding in findings:
            print(f"FINDING {finding}")
        failed += kubernetes.failed + len(findings)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
