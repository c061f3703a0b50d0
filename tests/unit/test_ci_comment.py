"""The Markdown of ``platform ci plan``: one section per stack, and the summary."""

from __future__ import annotations

import os
from pathlib import Path

from platform_kit.ci import comment


def _result(**kwargs) -> comment.StackResult:
    base = {"env": "dev", "stack": "platform", "reasons": ["inputs changed: cluster"]}
    return comment.StackResult(**(base | kwargs))


def test_a_section_opens_with_its_marker_counts_and_why() -> None:
    text = comment.section(_result(add=2, change=1, destroy=0, has_changes=True, plan_text="  + resource x\n"))
    lines = text.splitlines()
    assert lines[0] == "<!-- platform-kit:plan:dev/platform -->"
    assert lines[1] == "### dev / platform: 2 to add, 1 to change, 0 to destroy"
    assert "Planned because: inputs changed: cluster" in text
    assert "<details><summary>Plan of dev / platform</summary>" in text and "  + resource x" in text
    assert "CAUTION" not in text


def test_destroyed_stateful_resources_get_a_red_warning_naming_each() -> None:
    text = comment.section(
        _result(destroy=2, has_changes=True, destroyed_stateful=["module.k.aws_s3_bucket.this", "aws_kms_key.a"])
    )
    assert "> [!CAUTION]" in text
    assert "> - `module.k.aws_s3_bucket.this`" in text and "> - `aws_kms_key.a`" in text
    assert "--allow-destroy" in text


def test_a_long_plan_keeps_head_and_tail_under_the_limit_with_a_notice() -> None:
    plan = "".join(f"  # resource {i} will be updated in-place\n" for i in range(20_000))
    text = comment.section(_result(has_changes=True, change=20_000, plan_text=plan, full_plan="dev/platform/plan.txt"))
    assert len(text) <= comment.LIMIT
    assert "  # resource 0 will be updated" in text and "  # resource 19999 will be updated" in text
    notice = next(line for line in text.splitlines() if line.startswith("... "))
    left_out = int(notice.split()[1])
    shown = sum(1 for line in text.splitlines() if line.startswith("  # resource "))
    assert shown + left_out == 20_000, "the notice counts exactly the lines left out"
    assert "the whole plan is dev/platform/plan.txt" in notice
    assert text.rstrip().endswith("</details>")


def test_a_plan_containing_backticks_cannot_close_the_fence_early() -> None:
    text = comment.section(_result(has_changes=True, plan_text="before\n```\nafter\n"))
    assert "````hcl" in text


def test_errors_and_policy_findings_block_and_are_listed() -> None:
    failed = _result(error="Error acquiring the state lock")
    gated = _result(stack="team:vision", has_changes=True, policy_failures=["CKV_AWS_18 aws_s3_bucket.b (x.tf)"],
                    policy_waived=["CKV_AWS_39 module.eks.aws_eks_cluster.this: reviewed"])  # fmt: skip
    assert failed.blocked and gated.blocked and not _result().blocked
    assert "The plan failed: Error acquiring the state lock" in comment.section(failed)
    gated_text = comment.section(gated)
    assert "**Policy gate failed**" in gated_text and "CKV_AWS_18 aws_s3_bucket.b" in gated_text
    assert "Accepted policy findings" in gated_text and "reviewed" in gated_text
    summary = comment.summary([failed, gated, _result(env="prod")], ["render diff wanted for dev: x"], ["a note"])
    assert summary.splitlines()[0] == "## platform ci plan: 3 stack(s), 1 with changes, **2 blocked**"
    assert "| dev | platform | 0 | 0 | 0 | plan failed |" in summary
    assert "| dev | team:vision | 0 | 0 | 0 | policy: 1 failed |" in summary
    assert "| prod | platform | 0 | 0 | 0 | no changes |" in summary
    assert "- render diff wanted for dev: x" in summary and "- a note" in summary


def test_no_affected_stack_says_so() -> None:
    assert comment.summary([], [], []).startswith("## platform ci plan: no stack affected")


def test_a_render_section_lists_objects_and_stays_under_the_limit() -> None:
    from platform_kit.ci import renders

    diff = renders.RenderDiff(
        "dev",
        ["cluster configuration changed (manifests/components/x.yaml)"],
        added=[f"ConfigMap kubeflow/c-{i:05d}" for i in range(5000)],
        changed={"Deployment kubeflow/ml-pipeline": ["spec.replicas"]},
    )
    text = renders.section(diff, where="dev/render/diff.txt", limit=20_000)
    assert text.startswith("<!-- platform-kit:render:dev -->\n### dev / render: 5000 to add, 1 to change, 0 to remove")
    assert len(text) <= 20_000 and "dev/render/diff.txt" in text and "left out here" in text
    assert "+ ConfigMap kubeflow/c-00000" in text and "~ Deployment kubeflow/ml-pipeline: spec.replicas" in text
    quiet = renders.section(renders.RenderDiff("dev", ["team file changed"], teams=["vision"]), where="x")
    assert "no changes" in quiet and "team(s) vision" in quiet and "<details>" not in quiet


def test_a_stale_section_keeps_the_marker_and_says_why() -> None:
    text = comment.stale_section("plan:dev/team:vision", "0123456789abcdef")
    assert text.startswith("<!-- platform-kit:plan:dev/team:vision -->\n### dev / team:vision: no longer changed")
    assert "0123456789ab" in text and "0123456789abc" not in text


def test_one_issue_is_opened_edited_in_place_and_closed(httpserver) -> None:
    from doubles.github_comments import GitHubIssues

    from platform_kit.catalog.runtime.github import sync_issue

    issues = GitHubIssues(httpserver, "acme/infra", "t0ken")
    api = httpserver.url_for("").rstrip("/")
    marker = "<!-- platform-kit:drift:dev -->"

    def sync(body):
        return sync_issue("acme/infra", "t0ken", marker=marker, title="Drift", body=body, label="platform-drift",
                          api_url=api)  # fmt: skip

    assert sync(None) is None and issues.issues == []
    assert sync(f"{marker}\none").action == "created"
    assert sync(f"{marker}\none").action == "unchanged"
    assert sync(f"{marker}\ntwo").action == "updated"
    assert [(i["state"], i["body"]) for i in issues.issues] == [("open", f"{marker}\ntwo")]
    assert sync(None).action == "closed" and issues.issues[0]["state"] == "closed"
    assert sync(None) is None
    assert sync(f"{marker}\nthree").action == "created" and len(issues.issues) == 2


SNAPSHOTS = Path(__file__).resolve().parent.parent / "golden" / "ci"


def _snapshot(name: str, text: str) -> None:
    """``text`` equals the reviewed snapshot ``tests/golden/ci/<name>``; PLATFORM_UPDATE_SNAPSHOTS=1
    rewrites it (review the diff, commit it)."""
    path = SNAPSHOTS / name
    if os.environ.get("PLATFORM_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"no snapshot {path}: run with PLATFORM_UPDATE_SNAPSHOTS=1 and review it"
    assert text == path.read_text(), f"{name} differs from its snapshot (PLATFORM_UPDATE_SNAPSHOTS=1 to update)"


def test_markdown_snapshots_of_a_stack_a_render_and_the_summary() -> None:
    from platform_kit.ci import renders

    plan = "\n".join(
        ["Terraform will perform the following actions:", "", "  # module.team.aws_s3_bucket.this will be destroyed"]
        + [f"  - line {i}" for i in range(40)]
        + ["", "Plan: 1 to add, 1 to change, 1 to destroy."]
    )
    stack = _result(
        env="prod",
        stack="team:vision",
        reasons=["team file changed (platform/teams/vision.yaml)"],
        add=1,
        change=1,
        destroy=1,
        has_changes=True,
        destroyed_stateful=["module.team.aws_s3_bucket.this"],
        plan_text=plan,
        policy_waived=["CKV_AWS_39 module.eks.aws_eks_cluster.this: the API is private in prod"],
        full_plan="prod/team-vision/plan.txt",
    )
    _snapshot("stack.md", comment.section(stack, limit=1100))
    diff = renders.RenderDiff(
        "prod",
        ["cluster configuration changed (manifests/components/enterprise-login/dex-deployment.yaml)"],
        added=["ConfigMap.v1 auth/dex-extra"],
        removed=["Secret auth/old"],
        changed={"Deployment.apps auth/dex": ["spec.template.spec.containers[0].env"]},
    )
    _snapshot("render.md", renders.section(diff, where="prod/render/diff.txt"))
    failed = _result(env="prod", stack="platform", reasons=["inputs changed: cluster"], error="Error: quota")
    _snapshot("summary.md", comment.summary([stack, failed], ["render: prod / render: 1 to add"], ["a note"]))
