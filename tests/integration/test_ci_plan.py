"""``platform ci plan`` on the applied sandbox: a pull request that changes one team's file plans that
team's stack and nothing else, with real Terraform against moto, the checkov gate on the plan, and
one PR comment per stack on a GitHub double (created once, then edited in place)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from doubles.github_comments import GitHubIssueComments

from platform_kit.ci import plan as ci_plan

REPO = "acme-autonomy/ml-platform-infra"
TOKEN = "ghp_test-token-for-the-double"  # a test credential for the GitHub double only
PREFIX = "prefix: camera/}"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture()
def pr(sandbox_world, tmp_path: Path, httpserver, monkeypatch):
    """The sandbox world's folder as a git repository with a base commit; yields a function that
    commits a change to perception's bucket prefix. The team file is put back afterwards."""
    infra, _ = sandbox_world
    config = infra.loaded.config_dir
    root = config.parent
    team_file = config / "teams" / "perception.yaml"
    original = team_file.read_text()
    assert PREFIX in original
    if not (root / ".git").is_dir():
        git(root, "init", "-q", "-b", "main")
        git(root, "config", "user.email", "ci@example.invalid")
        git(root, "config", "user.name", "ci test")
        (root / ".gitignore").write_text(".platform/\nbuild/\nout*/\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", "base")
    base = git(root, "rev-parse", "HEAD")
    github = GitHubIssueComments(httpserver, REPO, 42, TOKEN)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", httpserver.url_for("").rstrip("/"))
    monkeypatch.chdir(root)

    def change(prefix: str) -> None:
        team_file.write_text(original.replace(PREFIX, f"prefix: {prefix}}}"))
        git(root, "commit", "-q", "-am", f"perception reads {prefix}")

    change.base = base
    change.config = config
    change.github = github
    yield change
    team_file.write_text(original)
    git(root, "commit", "-q", "--allow-empty", "-am", "restore")


def test_a_team_change_plans_one_stack_comments_once_and_edits_it(pr, cli, tmp_path: Path) -> None:
    out = tmp_path / "plans"
    pr("camera-front/")
    args = ["ci", "plan", "--base", pr.base, "--env", "sandbox", "--config-dir", str(pr.config), "--out", str(out),
            "--pr", f"{REPO}#42"]  # fmt: skip
    code, stdout, err = cli(*args)
    assert code == 0, err + stdout
    result = json.loads((out / ci_plan.RESULTS_FILE).read_text())
    assert [(r["env"], r["stack"]) for r in result["results"]] == [("sandbox", "team:perception")]
    [stack] = result["results"]
    assert stack["change"] >= 1 and stack["destroy"] == 0 and stack["error"] is None
    assert stack["policy_failures"] == [], stack["policy_failures"]
    folder = out / "sandbox" / "team-perception"
    meta = json.loads((folder / ci_plan.META_FILE).read_text())
    assert meta["commit"] == git(pr.config.parent, "rev-parse", "HEAD")
    assert isinstance(meta["state"]["serial"], int) and meta["state"]["lineage"]
    assert len(meta["lock_file_sha256"]) == 64 and meta["terraform_version"].startswith("1.")
    assert (folder / ci_plan.PLAN_FILE).stat().st_size > 0
    assert "camera-front/" in (folder / "plan.txt").read_text()
    summary = (out / "summary.md").read_text()
    assert "| sandbox | team:perception | 0 |" in summary and "changes" in summary
    assert "--env sandbox: stacks of dev, prod are left to their own jobs" in summary
    [comment] = pr.github.comments
    assert comment["body"].startswith("<!-- platform-kit:plan:sandbox/team:perception -->")
    assert "to change" in comment["body"] and TOKEN not in comment["body"] + stdout + err

    # The same PR, pushed again with another change: the comment is edited, never duplicated.
    pr("camera-rear/")
    code, _, err = cli(*args)
    assert code == 0, err
    assert len(pr.github.comments) == 1 and "camera-rear/" in pr.github.comments[0]["body"]
    methods = [method for method, _ in pr.github.requests]
    assert methods.count("POST") == 1 and methods.count("PATCH") == 1

    # Pushed once more, the team file put back: nothing is planned, and the stack's comment says its
    # plan is out of date instead of still showing it.
    pr("camera/")
    code, stdout, err = cli(*args)
    assert code == 0, err + stdout
    assert json.loads((out / ci_plan.RESULTS_FILE).read_text())["results"] == []
    [comment] = pr.github.comments
    assert "no longer changed by this pull request" in comment["body"] and "camera-rear/" not in comment["body"]


def test_an_unset_token_is_refused_before_anything_is_planned(pr, cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    out = tmp_path / "plans"
    code, _, err = cli("ci", "plan", "--base", pr.base, "--env", "sandbox", "--config-dir", str(pr.config),
                       "--out", str(out), "--pr", f"{REPO}#42")  # fmt: skip
    assert code == 2 and "GITHUB_TOKEN" in err and len(err.strip().splitlines()) <= 2
    assert not out.exists() and pr.github.requests == []


def test_the_policy_gate_scans_the_plan_with_the_modules_skips_and_the_env_exceptions(
    sandbox_world, pr, cli, tmp_path: Path
) -> None:
    from platform_kit.infra import Infra

    platform_yaml = pr.config / "platform.yaml"
    original = platform_yaml.read_text()
    assert "policy_exceptions:" in original, "the example's sandbox accepts two reviewed findings"
    gpu = original.index("        gpu:")
    size = original.index("max_size: 2", gpu)
    platform_yaml.write_text(original[:size] + "max_size: 3" + original[size + len("max_size: 2") :])
    try:
        git(pr.config.parent, "commit", "-q", "-am", "a bigger GPU group")
        out = tmp_path / "plans"
        code, stdout, err = cli("ci", "plan", "--base", pr.base, "--env", "sandbox", "--config-dir", str(pr.config),
                                "--out", str(out), "-o", "json")  # fmt: skip
        assert code == 0, err
        [stack] = json.loads(stdout)["results"]
        assert (stack["stack"], stack["change"], stack["destroy"]) == ("platform", 1, 0), stack
        assert stack["policy_failures"] == []
        # The modules' own #checkov:skip comments apply to the plan (enrichment from the stack's
        # sources); what is left is exactly what the environment accepts, each with its reason.
        waived = sorted(line.split(":")[0] for line in stack["policy_waived"])
        assert waived == [
            "CKV_AWS_274 module.ci_oidc[0].aws_iam_role.apply",
            "CKV_AWS_274 module.ci_oidc[0].aws_iam_role_policy_attachment.apply[0]",
            "CKV_AWS_39 module.eks.aws_eks_cluster.this",
        ]
        assert "Accepted policy findings" in (out / "sandbox" / "platform" / "comment.md").read_text()
        # Without the exceptions the same plan is blocked on those two checks.
        infra, _ = sandbox_world
        failed, accepted = ci_plan.checkov_gate(out / "sandbox" / "platform", Infra.stacks_dir(infra.settings)
                                                / "platform", [])  # fmt: skip
        assert [line.split(" (")[0] for line in failed] == waived and accepted == []
    finally:
        platform_yaml.write_text(original)
        git(pr.config.parent, "commit", "-q", "--allow-empty", "-am", "restore the GPU group")


def test_apply_after_merge_takes_only_fresh_reviewed_plans(sandbox_world, pr, cli, tmp_path: Path) -> None:
    from platform_kit.infra import Stack

    infra, _ = sandbox_world
    root = pr.config.parent
    out = tmp_path / "plans"
    common = ["--env", "sandbox", "--config-dir", str(pr.config)]
    pr("camera-side/")
    code, _, err = cli("ci", "plan", "--base", pr.base, *common, "--out", str(out), "--no-policy")
    assert code == 0, err
    serial = json.loads((out / "sandbox" / "team-perception" / ci_plan.META_FILE).read_text())["state"]["serial"]
    try:
        # Merged with an unrelated commit on top: the plan is still fresh and is applied.
        (root / "NOTES.md").write_text("unrelated\n")
        git(root, "add", "NOTES.md")
        git(root, "commit", "-q", "-m", "unrelated")
        code, stdout, err = cli("ci", "apply", "--plans", str(out), *common, "-o", "json")
        assert code == 0, err
        assert json.loads(stdout)["applied"] == ["sandbox/team:perception"]
        assert infra.state_meta(Stack("team", "perception"))["serial"] > serial

        # The same plans again: the state moved, so nothing is applied.
        code, _, err = cli("ci", "apply", "--plans", str(out), *common)
        assert code == 2 and "sandbox/team:perception: its state moved since the plan" in err, err

        # A plan of this head, doctored to destroy a bucket: refused without --allow-destroy.
        fresh = tmp_path / "fresh"
        code, _, err = cli("ci", "plan", "--base", pr.base, *common, "--out", str(fresh), "--no-policy")
        assert code == 0, err
        meta_file = fresh / "sandbox" / "team-perception" / ci_plan.META_FILE
        meta = json.loads(meta_file.read_text())
        meta_file.write_text(json.dumps(dict(meta, destroyed_stateful=["module.team.aws_s3_bucket.this"])))
        code, _, err = cli("ci", "apply", "--plans", str(fresh), *common)
        assert code == 2 and "destroys stateful resources (module.team.aws_s3_bucket.this)" in err
        assert "--allow-destroy" in err

        # The team changed again after the plan's commit: the plan is stale.
        pr("camera-top/")
        code, _, err = cli("ci", "apply", "--plans", str(fresh), *common, "--allow-destroy")
        assert code == 2 and "changed again after" in err, err
    finally:
        # Put perception's stack back as the shared world had it, for the modules after this one.
        (root / "NOTES.md").unlink(missing_ok=True)
        team_file = pr.config / "teams" / "perception.yaml"
        team_file.write_text(team_file.read_text().replace("prefix: camera-top/}", PREFIX)
                             .replace("prefix: camera-side/}", PREFIX))  # fmt: skip
        from platform_kit.config import load_platform
        from platform_kit.infra import Infra

        restored = Infra(infra.settings, load_platform(pr.config), "sandbox")
        report = restored.plan(Stack("team", "perception"))
        restored.apply(report)
        assert not restored.plan(Stack("team", "perception")).has_changes


def test_the_human_plan_says_what_the_plan_json_says(sandbox_world) -> None:
    """``ci plan`` reads counts and destroys from Terraform's human plan (one Terraform run, no
    ``show``); a real destroy plan of a team stack must read the same as its ``show -json``."""
    from platform_kit.infra import Stack, summarise_text
    from platform_kit.terraform import plan_text

    infra, _ = sandbox_world
    report = infra.plan(Stack("team", "perception"), destroy=True, text=True, plan_json=True)
    assert report.has_changes and report.text and report.destroyed_stateful
    read = summarise_text(report.stack, report.env, report.plan_file, plan_text.parse(report.text))
    assert (read.add, read.change, read.destroy) == (report.add, report.change, report.destroy)
    assert sorted(read.destroyed_stateful) == sorted(report.destroyed_stateful)
    assert sorted(read.changes) == sorted(report.changes)
    assert report.text.startswith("Terraform used the selected providers") and "Saved the plan" not in report.text


def test_a_member_change_diffs_the_team_render_and_apply_puts_it_on_the_cluster(pr, cli, kube, tmp_path: Path) -> None:
    """A team file change asks for a render diff of that team's objects; ``ci apply`` applies the merged
    render to the cluster (the Kubernetes API double, with its profile controller) after the stacks."""
    root = pr.config.parent
    team_file = pr.config / "teams" / "perception.yaml"
    original = team_file.read_text()
    line = "  - {email: ops-analyst@corp.example, role: view}\n"
    team_file.write_text(original.replace(line, line + "  - {email: new.hire@corp.example, role: edit}\n"))
    git(root, "commit", "-q", "-am", "a new member")
    common = ["--env", "sandbox", "--config-dir", str(pr.config)]
    out = tmp_path / "plans"
    try:
        code, stdout, err = cli(
            "ci", "plan", "--base", pr.base, *common, "--out", str(out), "--no-policy", "-o", "json"
        )
        assert code == 0, err
        result = json.loads(stdout)
        assert [(r["stack"], r["has_changes"]) for r in result["results"]] == [("team:perception", False)]
        [render] = result["renders"]
        assert (render["env"], render["teams"], render["error"], render["skipped"]) == (
            "sandbox",
            ["perception"],
            None,
            None,
        )
        added = [
            name for name in render["added"] if name.startswith("RoleBinding.rbac.authorization.k8s.io perception/")
        ]
        assert added and render["removed"] == [], render
        comment = (out / "sandbox" / "render" / "comment.md").read_text()
        assert comment.startswith("<!-- platform-kit:render:sandbox -->") and added[0] in comment
        assert "render: sandbox / render:" in (out / "summary.md").read_text()

        code, stdout, err = cli("ci", "apply", "--plans", str(out), *common, "--kube-context", "kube-api-double",
                                "-o", "json")  # fmt: skip
        assert code == 0, err
        [applied] = json.loads(stdout)["renders"]
        assert applied["env"] == "sandbox" and "created" in applied["outcome"], applied
        bindings = kube.objects("RoleBinding", "perception")
        subjects = [s.get("name") for b in bindings for s in b.get("subjects") or []]
        assert "new.hire@corp.example" in subjects
        # The same plans again: the render is applied again and changes nothing on the cluster.
        mutations = len(kube.mutations())
        code, stdout, err = cli("ci", "apply", "--plans", str(out), *common, "--kube-context", "kube-api-double",
                                "-o", "json")  # fmt: skip
        assert code == 0, err
        assert "0 created, 0 changed" in json.loads(stdout)["renders"][0]["outcome"]
        assert len(kube.mutations()) == mutations
    finally:
        team_file.write_text(original)
        git(root, "commit", "-q", "--allow-empty", "-am", "restore perception")


def test_drift_after_a_change_made_in_aws_directly_opens_one_issue_closed_when_it_is_gone(
    sandbox_world, pr, cli, httpserver, tmp_path
) -> None:
    from conftest import moto_client
    from doubles.github_comments import GitHubIssues

    from platform_kit import sandbox
    from platform_kit.infra import Stack

    infra, _ = sandbox_world
    issues = GitHubIssues(httpserver, REPO, TOKEN)
    role = infra.stack_outputs(Stack("team", "perception"))["role_arn"].rsplit("/", 1)[1]
    iam = moto_client("iam", infra.endpoint, sandbox.ca_bundle(infra.settings.state_dir))
    out = tmp_path / "drift"
    args = ["ci", "drift", "--env", "sandbox", "--config-dir", str(pr.config), "--out", str(out),
            "--issue", "-o", "json"]  # fmt: skip
    iam.tag_role(RoleName=role, Tags=[{"Key": "changed-by", "Value": "console"}])
    try:
        code, stdout, err = cli(*args)
        assert code == 2, err
        report = json.loads(stdout)
        assert "sandbox/team:perception" in report["drifted"]
        assert "sandbox/platform" not in report["drifted"], "nothing changed the platform stack"
        assert all(r["stack"] != "bootstrap" for r in report["results"])
        assert "changed-by" in (out / "sandbox" / "team-perception" / "plan.txt").read_text()
        assert "## platform ci drift:" in (out / "summary.md").read_text()
        assert report["issue"]["action"] == "created"
        [issue] = issues.issues
        assert issue["state"] == "open" and issue["labels"] == [{"name": "platform-drift"}]
        assert issue["body"].startswith("<!-- platform-kit:drift:sandbox -->") and "team:perception" in issue["body"]
        assert TOKEN not in issue["body"] + stdout + err
    finally:
        iam.untag_role(RoleName=role, TagKeys=["changed-by"])
    code, stdout, err = cli(*args)
    assert code == 0, err
    assert json.loads(stdout)["issue"]["action"] == "closed"
    assert [i["state"] for i in issues.issues] == ["closed"]


def test_a_manifests_change_diffs_the_environment_render(pr, cli, tmp_path: Path) -> None:
    """The repository's own ``manifests/`` (the kit's copied in) changed: the environment is rendered at
    the base and at the head, with the platform stack's real outputs, and the objects compared."""
    import shutil

    root = pr.config.parent
    kit_manifests = Path(ci_plan.__file__).resolve().parents[2] / "manifests"
    shutil.copytree(kit_manifests, root / "manifests")
    git(root, "add", "manifests")
    git(root, "commit", "-q", "-m", "manifests in the repository")
    base = git(root, "rev-parse", "HEAD")
    deployment = root / "manifests" / "components" / "enterprise-login" / "oauth2-proxy-deployment.yaml"
    anchor = "              value: kubeflow-oidc-authservice\n              valueFrom: null\n"
    text = deployment.read_text()
    assert anchor in text
    extra = "            - name: OAUTH2_PROXY_COOKIE_EXPIRE\n              value: 12h\n"
    deployment.write_text(text.replace(anchor, anchor + extra, 1))
    git(root, "commit", "-q", "-am", "shorter login cookies")
    try:
        out = tmp_path / "plans"
        code, stdout, err = cli("ci", "plan", "--base", base, "--env", "sandbox", "--config-dir", str(pr.config),
                                "--out", str(out), "--no-policy", "-o", "json")  # fmt: skip
        assert code == 0, err
        result = json.loads(stdout)
        assert result["results"] == [], "a manifests change plans no stack"
        [render] = result["renders"]
        assert (render["teams"], render["error"], render["skipped"]) == (None, None, None), render
        assert render["changed"] == {
            "Deployment.apps oauth2-proxy/oauth2-proxy": ["spec.template.spec.containers[0].env"]
        }, render["changed"]
        assert render["added"] == render["removed"] == []
        assert "1 to change" in (out / "sandbox" / "render" / "comment.md").read_text()
    finally:
        shutil.rmtree(root / "manifests")
        git(root, "commit", "-q", "-am", "manifests back to the kit's")


def test_render_apply_puts_the_platform_on_a_cluster_and_a_second_run_writes_nothing(
    sandbox_world, cli, kube, tmp_path: Path, monkeypatch
) -> None:
    """``platform render --apply`` (what rotating a secret or a new environment's first install uses):
    CRDs until Established, Profiles and their namespaces, the rest with Secrets from their references."""
    import base64

    infra, _ = sandbox_world
    value = "sandbox-connector-secret-value"  # the SANDBOX_OIDC_CLIENT_SECRET the render refers to
    monkeypatch.setenv("SANDBOX_OIDC_CLIENT_SECRET", value)
    kube.crd_controller(delay_reads=1)
    args = ["render", "--env", "sandbox", "--config-dir", str(infra.loaded.config_dir), "--out", str(tmp_path / "b"),
            "--apply", "--kube-context", "kube-api-double", "-o", "json"]  # fmt: skip
    code, stdout, err = cli(*args)
    assert code == 0, err
    applied = json.loads(stdout)["applied"]
    assert int(applied.split(" created")[0]) > 100 and "(3 Secrets from their references)" in applied, applied
    from platform_kit.config import load_platform

    # The teams in the config now (other modules on this worker may have onboarded more).
    teams = load_platform(infra.loaded.config_dir).teams_in("sandbox")
    profiles = sorted(p["metadata"]["name"] for p in kube.objects("Profile"))
    assert profiles == sorted(t.name for t in teams) and "perception" in profiles
    assert all(kube.objects("Namespace") and kube.get_object("v1", "Namespace", None, name) for name in profiles)
    [dex] = [s for s in kube.objects("Secret", "auth") if s["metadata"]["name"] == "dex-secrets"]
    assert base64.b64decode(dex["data"]["DEX_CORP_SSO_CLIENT_SECRET"]).decode() == value
    assert value not in stdout + err
    mutations = len(kube.mutations())
    code, stdout, err = cli(*args)
    assert code == 0, err
    assert json.loads(stdout)["applied"].startswith("0 created, 0 changed")
    assert len(kube.mutations()) == mutations
