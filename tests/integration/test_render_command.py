"""``platform render`` end to end (real kubectl kustomize): output, idempotence, --team, --diff, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO_ROOT

OUTPUTS = REPO_ROOT / "tests" / "golden" / "sandbox" / "platform-outputs.json"


@pytest.fixture()
def render(cli, example_config: Path, tmp_path: Path):
    out = tmp_path / "build"

    def run(*args: str, outputs: Path = OUTPUTS, out_dir: Path = out):
        return cli(
            "render",
            "--config-dir",
            str(example_config),
            "--out",
            str(out_dir),
            *(["--platform-outputs", str(outputs)] if outputs else []),
            *args,
        )

    run.out = out
    return run


def _mtimes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_render_writes_the_build_and_counts_per_kind_and_a_second_run_changes_nothing(render) -> None:
    code, out, err = render("--env", "sandbox")
    assert code == 0, err
    for kind in ("Deployment", "Profile", "AuthorizationPolicy", "NetworkPolicy"):
        assert kind in out
    assert (render.out / "rendered" / "platform.yaml").is_file()
    assert {p.name for p in (render.out / "rendered" / "teams").iterdir()} == {"perception.yaml", "planning.yaml"}
    assert (render.out / "secrets.yaml").is_file() and (render.out / "kustomization.yaml").is_file()
    before = _mtimes(render.out)
    code, _, err = render("--env", "sandbox")
    assert code == 0 and "no changes" in err
    assert _mtimes(render.out) == before


def test_json_output_and_one_team(render) -> None:
    code, out, err = render("--env", "sandbox", "--team", "planning", "--output", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["platform"] is None and list(data["teams"]) == ["planning"]
    assert data["teams"]["planning"]["Profile"] == 1
    assert not (render.out / "rendered" / "platform.yaml").exists()


def test_diff_names_added_removed_and_changed_objects_with_field_paths(render, example_config: Path) -> None:
    assert render("--env", "sandbox")[0] == 0
    previous = render.out.parent / "previous"
    shutil.copytree(render.out, previous)
    team = example_config / "teams" / "planning.yaml"
    team.write_text(
        team.read_text()
        .replace('cpu: "128"', 'cpu: "96"')
        .replace("  - {name: ml-planning, role: edit}\n", "  - {name: ml-planning-leads, role: edit}\n")
    )
    code, out, err = render("--env", "sandbox", "--diff", str(previous), "--output", "json")
    assert code == 0, err
    diff = json.loads(out)["diff"]
    assert "RoleBinding.rbac.authorization.k8s.io planning/group-ml-planning-leads-clusterrole-edit" in diff["added"]
    assert "RoleBinding.rbac.authorization.k8s.io planning/group-ml-planning-clusterrole-edit" in diff["removed"]
    assert diff["changed"]["Profile.kubeflow.org planning"] == ["spec.resourceQuotaSpec.hard.requests.cpu"]
    assert not any("oauth2-proxy" in key for key in diff["added"] + diff["removed"])  # the platform is untouched


BAD = [
    (["--env", "nowhere"], "nowhere"),
    (["--env", "sandbox", "--team", "ghost"], "no team 'ghost'"),
    (["--env", "prod", "--team", "planning"], "not in environment 'prod'"),
    (["--env", "sandbox", "--diff", "/nonexistent/render"], "not a render directory"),
    (["--env", "sandbox", "--apply"], "is emulated and has no Kubernetes API server"),
    (["--env", "sandbox", "--kube-context", "kind-x"], "--kube-context: only with --apply"),
    (["--env", "sandbox", "--apply", "--kube-context", "kind-x", "--team", "planning"], "drop --team"),
]


@pytest.mark.parametrize(
    ("args", "message"),
    BAD,
    ids=["env", "team", "team-not-in-env", "diff", "apply-emulated", "context-alone", "apply-team"],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(render, args: list[str], message: str) -> None:
    code, out, err = render(*args)
    assert code == 2, (out, err)
    assert message in err
    assert not render.out.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        ("{not json", "is not JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"region": "us-east-1"}), "has no output 'cluster_name'"),
    ],
    ids=["missing", "not-json", "not-object", "missing-output"],
)
def test_bad_platform_outputs_file(render, tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "outputs.json"
    if content is not None:
        path.write_text(content)
    code, _, err = render("--env", "sandbox", outputs=path)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) <= 2  # the error, and at most a hint
    assert not render.out.exists()


def test_missing_upstream_snapshot_is_bad_input(render, example_config: Path) -> None:
    platform_yaml = example_config / "platform.yaml"
    text = platform_yaml.read_text()
    platform_yaml.write_text(text.replace("kubeflow-manifests/v1.10.2", "kubeflow-manifests/v0.0.0", 1))
    code, _, err = render("--env", "sandbox")
    assert code == 2 and "source.path" in err
    assert not render.out.exists()
