"""Every kind of bad desired state is refused with one line per problem, exit 2, nothing written."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

TEAM = "teams/perception.yaml"
PLATFORM = "platform.yaml"


@dataclass
class Case:
    id: str
    file: str
    old: str | None  # text to replace; None writes `new` as the whole file
    new: str | bytes
    expect: str  # "path: message" fragment that must follow "file:line: "
    line_of: str | None = None  # text whose line the error must point at (default: first line of `new`)


CASES = [
    Case(
        "syntax-error",
        TEAM,
        "owner: maya.chen@corp.example",
        "owner: [maya.chen@corp.example",
        "YAML syntax error: expected ',' or ']'",
        line_of="members:",
    ),
    Case(
        "duplicate-key",
        TEAM,
        "cost_center: CC-4120",
        "cost_center: CC-4120\nowner: x@corp.example",
        "duplicate key 'owner' (first given on line",
        line_of="owner: x@corp.example",
    ),
    Case("wrong-type-int", TEAM, "pods: 400", "pods: many", "quotas.pods: must be a whole number, got text"),
    Case(
        "wrong-type-list",
        TEAM,
        "environments: [sandbox, dev, prod]",
        "environments: sandbox",
        "environments: must be a list, got text",
    ),
    Case(
        "unknown-field",
        TEAM,
        'slack_channel: "#ml-perception"',
        'slack_chanel: "#ml-perception"',
        "slack_chanel: unknown field (allowed: name, display_name,",
    ),
    Case(
        "missing-field",
        TEAM,
        "cost_center: CC-4120\n",
        "",
        "cost_center: required field is missing",
        line_of="name: perception",
    ),
    Case(
        "bad-role",
        TEAM,
        "{email: ops-analyst@corp.example, role: view}",
        "{email: ops-analyst@corp.example, role: admin}",
        "members[2].role: 'admin' is not allowed (allowed: 'edit', 'view')",
    ),
    Case(
        "bad-email",
        TEAM,
        "owner: maya.chen@corp.example",
        "owner: maya.chen",
        "owner: 'maya.chen' is not an email address",
    ),
    Case(
        "email-outside-domain",
        TEAM,
        "owner: maya.chen@corp.example",
        "owner: maya@gmail.example",
        "owner: 'maya@gmail.example' is outside the organisation's email domains (allowed: corp.example)",
    ),
    Case(
        "name-mismatch",
        TEAM,
        "name: perception",
        "name: perceptionx",
        "name: 'perceptionx' does not match the file name",
    ),
    Case(
        "unknown-environment",
        TEAM,
        "environments: [sandbox, dev, prod]",
        "environments: [sandbox, staging]",
        "environments[1]: 'staging' is not an environment in platform.yaml (defined: sandbox, dev, prod)",
    ),
    Case(
        "repeated-member",
        TEAM,
        "  - {email: ravi.patel@corp.example, role: edit}",
        "  - {email: ravi.patel@corp.example, role: edit}\n  - {email: ravi.patel@corp.example, role: view}",
        "members: members listed more than once: ravi.patel@corp.example",
        line_of="members:",
    ),
    Case(
        "limit-above-quota",
        TEAM,
        "memory_limit: 16Gi",
        "memory_limit: 2Ti",
        "container_defaults.memory_limit: memory_limit 2Ti is above the team's memory quota 1Ti",
    ),
    Case(
        "request-above-limit",
        TEAM,
        "cpu_request: 500m",
        "cpu_request: 8",
        "container_defaults.cpu_request: cpu_request 8 is above cpu_limit 4",
    ),
    Case(
        "bad-quantity",
        TEAM,
        "storage: 10Ti",
        "storage: ten terabytes",
        "quotas.storage: 'ten terabytes' is not a Kubernetes quantity",
    ),
    Case(
        "bucket-prefix-without-slash",
        TEAM,
        "prefix: camera/}",
        "prefix: camera}",
        "aws.s3_buckets[0].prefix: does not match the allowed form",
    ),
    Case("empty-file", TEAM, None, "", "file is empty (expected a YAML mapping)"),
    Case("comments-only", TEAM, None, "# nothing here\n", "file is empty (expected a YAML mapping)"),
    Case(
        "top-level-list",
        TEAM,
        None,
        "- name: perception\n",
        "top level is a list; expected a mapping of keys",
        line_of="- name",
    ),
    Case(
        "two-documents",
        TEAM,
        "state: active",
        "state: active\n---\nname: other",
        "several YAML documents in one file",
        line_of="---",
    ),
    Case(
        "non-utf8",
        TEAM,
        None,
        "name: perception\ndisplay_name: Caf\xe9\n".encode("latin-1"),
        "not valid UTF-8 (byte 0xe9",
        line_of="display_name",
    ),
    Case(
        "python-tag",
        TEAM,
        "description: Camera",
        "description: !!python/object/apply:os.system [id]\n#",
        "could not determine a constructor for the tag",
        line_of="description:",
    ),
    Case(
        "alias-bomb",
        TEAM,
        None,
        "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
        "aliases expand to more than 100,000 values",
        line_of="e: &e",
    ),
    Case(
        "literal-secret",
        PLATFORM,
        "client_secret: {env: SANDBOX_OIDC_CLIENT_SECRET}",
        "client_secret: hunter2-very-secret",
        "environments.sandbox.identity.connectors[0].client_secret: secret values may not be written in config",
    ),
    Case(
        "unknown-connector",
        PLATFORM,
        "- type: microsoft",
        "- type: okta",
        "environments.prod.identity.connectors[1]: type 'okta' is not supported "
        "(allowed: oidc, ldap, saml, github, microsoft)",
    ),
    Case(
        "connector-missing-field",
        PLATFORM,
        "          issuer: https://sso.corp.example/oauth2/default\n",
        "",
        "environments.sandbox.identity.connectors[0].issuer: required field is missing",
        line_of="- type: oidc",
    ),
    Case(
        "account-id-number",
        PLATFORM,
        'account_id: "123456789012"',
        "account_id: 123456789012",
        "environments.sandbox.aws.account_id: write the account ID in quotes",
    ),
    Case(
        "bad-region",
        PLATFORM,
        "region: us-east-1",
        "region: useast1",
        "environments.sandbox.aws.region: 'useast1' is not an AWS region",
    ),
    Case(
        "open-endpoint",
        PLATFORM,
        'public_cidrs: ["203.0.113.0/24"]',
        'public_cidrs: ["0.0.0.0/0"]',
        "environments.sandbox.cluster.endpoint.public_cidrs: public_cidrs may not contain 0.0.0.0/0",
    ),
    Case(
        "bad-cidr",
        PLATFORM,
        "vpc_cidr: 10.30.0.0/16",
        "vpc_cidr: 10.30.0.0/33",
        "environments.sandbox.network.vpc_cidr: '10.30.0.0/33' is not an IPv4 CIDR block",
    ),
    Case(
        "ldap-ca-not-pem",
        PLATFORM,
        '          group_search: {base_dn: "ou=groups,dc=corp,dc=example"}\n',
        '          group_search: {base_dn: "ou=groups,dc=corp,dc=example"}\n          ca_pem: corp-root-ca.crt\n',
        "environments.dev.identity.connectors[1].ca_pem: ",
        line_of="ca_pem: corp-root-ca.crt",
    ),
    Case(
        "artifact-store-unknown",
        PLATFORM,
        "        cert_manager_issuer: kubeflow-self-signing-issuer  # upstream's self-signed ClusterIssuer\n",
        "        cert_manager_issuer: kubeflow-self-signing-issuer\n      artifact_store: minio\n",
        "environments.sandbox.kubeflow.artifact_store: 'minio' is not allowed (allowed: 's3', 'in-cluster')",
        line_of="artifact_store: minio",
    ),
    Case(
        "network-both",
        PLATFORM,
        "      vpc_cidr: 10.30.0.0/16",
        "      vpc_cidr: 10.30.0.0/16\n      existing: {vpc_id: vpc-0123456789abcdef0, "
        "private_subnet_ids: [subnet-0123456789abcdef0, subnet-0123456789abcdef1]}",
        "environments.sandbox.network: give exactly one of vpc_cidr (new VPC) or existing",
        line_of="    network:",
    ),
    Case(
        "node-group-sizes",
        PLATFORM,
        "          min_size: 1\n          max_size: 2\n          desired_size: 1",
        "          min_size: 2\n          max_size: 2\n          desired_size: 1",
        "environments.sandbox.cluster.node_groups.system.desired_size: sizes must satisfy "
        "min_size <= desired_size <= max_size (got 2, 1, 2)",
        line_of="          desired_size: 1",
    ),
    Case(
        "gpu-on-cpu-instance",
        PLATFORM,
        "          instance_types: [g5.2xlarge]",
        "          instance_types: [m6i.12xlarge]",
        "environments.dev.cluster.node_groups.gpu.instance_types: gpu is true but m6i.12xlarge has no GPU",
    ),
    Case(
        "unsupported-kubernetes",
        PLATFORM,
        'kubernetes_version: "1.31"',
        'kubernetes_version: "1.20"',
        "environments.sandbox.cluster.kubernetes_version: '1.20' is not supported (allowed: 1.29,",
    ),
    Case(
        "unsupported-kubeflow",
        PLATFORM,
        "      version: v1.10.2\n      source:\n        path",
        "      version: v1.9.0\n      source:\n        path",
        "environments.sandbox.kubeflow.version: 'v1.9.0' is not supported (allowed: v1.10.2, v1.11.0, 26.03)",
    ),
    Case(
        "missing-upstream-path",
        PLATFORM,
        "/upstream/kubeflow-manifests/v1.10.2\n",
        "/upstream/kubeflow-manifests/v0.0.0\n",
        "v0.0.0' is not a Kubeflow manifests checkout (no common/",
        line_of="kubeflow-manifests/v0.0.0",
    ),
    Case(
        "unpinned-image",
        PLATFORM,
        "pytorch: pytorch/pytorch:2.4.1-cuda12.4-cudnn9-runtime",
        "pytorch: pytorch/pytorch:latest",
        "catalog.images.pytorch: 'pytorch/pytorch:latest' is not pinned",
    ),
    Case(
        "bad-env-name",
        PLATFORM,
        "  dev:\n    aws:",
        "  Dev_1:\n    aws:",
        "environments.Dev_1: does not match the allowed form",
        line_of="  Dev_1:",
    ),
    Case(
        "org-too-long",
        PLATFORM,
        "  name: acme\n",
        "  name: acme-autonomy-vehicles\n",
        "organisation.name: must be at most 16 characters",
    ),
]


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _apply(config: Path, case: Case) -> int:
    """Apply the case's edit; return the 1-based line the error must name (0 when none)."""
    path = config / case.file
    if case.old is None:
        data = case.new if isinstance(case.new, bytes) else case.new.encode()
        path.write_bytes(data)
    else:
        text = path.read_text()
        assert case.old in text, f"case {case.id}: {case.old!r} not in {case.file}"
        path.write_text(text.replace(case.old, case.new, 1))
    needle = case.line_of
    if needle is None and case.old is not None and case.new:
        needle = case.new.splitlines()[0] if isinstance(case.new, str) else None
    if needle is None:
        return 0
    lines = path.read_bytes().decode("utf-8", "replace").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_with_one_line(case: Case, example_config: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(example_config.parent)
    line = _apply(example_config, case)
    before = _snapshot(example_config.parent)

    code, stdout, stderr = cli("validate", "--config-dir", str(example_config))

    assert code == 2, stderr
    file = f"platform/{case.file}"
    where = f"{file}:{line}: " if line else f"{file}: "
    matching = [row for row in stderr.splitlines() if row.removeprefix("Error: ").startswith(where)]
    assert matching, f"no line starting {where!r} in:\n{stderr}"
    assert any(case.expect in row for row in matching), f"{case.expect!r} not in:\n{stderr}"
    assert _snapshot(example_config.parent) == before, "validate changed files"
    assert not (example_config.parent / ".platform").exists()
    assert stdout == ""


def test_literal_secret_value_is_never_echoed(example_config: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(example_config.parent)
    path = example_config / PLATFORM
    path.write_text(
        path.read_text().replace("client_secret: {env: SANDBOX_OIDC_CLIENT_SECRET}", "client_secret: s3cr3t-Value-42")
    )
    code, stdout, stderr = cli("validate", "--config-dir", str(example_config), "--output", "json")
    assert code == 2
    assert "s3cr3t-Value-42" not in stdout + stderr
    assert "secret values may not be written in config" in stdout


def test_every_problem_is_reported_at_once(example_config: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(example_config.parent)
    team = example_config / TEAM
    team.write_text(team.read_text().replace("pods: 400", "pods: lots").replace("role: admin", "role: edit"))
    (example_config / "teams" / "kube-tools.yaml").write_text(
        (example_config / "teams" / "planning.yaml").read_text().replace("name: planning", "name: kube-tools")
    )
    platform = example_config / PLATFORM
    platform.write_text(platform.read_text().replace("region: us-east-1", "region: nowhere"))

    code, _, stderr = cli("validate", "--config-dir", str(example_config))

    assert code == 2
    assert "platform/teams/perception.yaml:" in stderr and "quotas.pods" in stderr
    assert "names starting with 'kube-' are reserved for the platform" in stderr
    assert "environments.sandbox.aws.region" in stderr
    assert "Error: 3 problems in the platform configuration" in stderr


def test_json_output_lists_problems_as_data(example_config: Path, cli, monkeypatch) -> None:
    import json

    monkeypatch.chdir(example_config.parent)
    team = example_config / TEAM
    team.write_text(team.read_text().replace("gpu: 16", "gpu: -1"))
    code, stdout, _ = cli("validate", "--config-dir", str(example_config), "--output", "json")
    assert code == 2
    payload = json.loads(stdout)
    assert payload["ok"] is False
    [problem] = payload["problems"]
    assert problem["file"] == "platform/teams/perception.yaml"
    assert problem["path"] == "quotas.gpu"
    assert problem["message"] == "must be at least 0"
    assert problem["line"] == team.read_text().splitlines().index("  gpu: -1") + 1


@pytest.mark.parametrize(
    ("team_name", "message"),
    [
        ("kubeflow", "'kubeflow' is reserved for the platform"),
        ("istio-system", "'istio-system' is reserved for the platform"),
        ("knative-serving", "names starting with 'knative-' are reserved"),
        ("default", "'default' is reserved for the platform"),
        ("Vision", "must be a DNS-1123 label"),
        (
            "a" * 50,
            "derived IAM role name 'acme-sandbox-team-" + "a" * 50 + "' is 68 characters (IAM allows at most 64)",
        ),
    ],
)
def test_team_names_are_checked(team_name: str, message: str, example_config: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(example_config.parent)
    source = (example_config / "teams" / "planning.yaml").read_text()
    (example_config / "teams" / f"{team_name}.yaml").write_text(source.replace("name: planning", f"name: {team_name}"))
    code, _, stderr = cli("validate", "--config-dir", str(example_config))
    assert code == 2
    assert f"platform/teams/{team_name}.yaml:2: name: " in stderr
    assert message in stderr


def test_duplicate_team_across_yaml_and_yml(example_config: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(example_config.parent)
    (example_config / "teams" / "planning.yml").write_text((example_config / "teams" / "planning.yaml").read_text())
    code, _, stderr = cli("validate", "--config-dir", str(example_config))
    assert code == 2
    assert (
        "platform/teams/planning.yml:2: name: team 'planning' is already defined in platform/teams/planning.yaml"
        in stderr
    )


def test_missing_platform_file_and_folder(tmp_path: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, stderr = cli("validate", "--config-dir", str(tmp_path / "nope"))
    assert code == 2 and "nope: config folder not found" in stderr
    (tmp_path / "platform").mkdir()
    code, _, stderr = cli("validate", "--config-dir", "platform")
    assert code == 2 and "platform/platform.yaml: file not found" in stderr


def test_unknown_env_flag_is_bad_input(example_config: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(example_config.parent)
    code, _, stderr = cli("validate", "--config-dir", str(example_config), "--env", "staging")
    assert code == 2
    assert "environments.staging: no such environment (defined: sandbox, dev, prod)" in stderr


def test_team_name_that_extends_another_is_refused(example_config: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(example_config.parent)
    source = (example_config / "teams" / "planning.yaml").read_text()
    (example_config / "teams" / "planning-sim.yaml").write_text(source.replace("name: planning", "name: planning-sim"))
    code, _, stderr = cli("validate", "--config-dir", str(example_config))
    assert code == 2
    assert "platform/teams/planning-sim.yaml:2: name: 'planning-sim' starts with team 'planning-'" in stderr
