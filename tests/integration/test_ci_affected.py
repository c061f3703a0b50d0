"""Which stacks a pull request reaches: a real git repository holding the example config, the kit's
Terraform and its manifests, and one branch per kind of change."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import EXAMPLE_CONFIG, REPO_ROOT, UPSTREAM

from platform_kit import context
from platform_kit.ci import affected, plan
from platform_kit.errors import BadInput


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ci-repo")
    shutil.copytree(EXAMPLE_CONFIG, root / "platform")
    replace(root / "platform/platform.yaml", "path: ../../shared/upstream/", f"path: {UPSTREAM}/")
    shutil.copytree(
        REPO_ROOT / "terraform", root / "terraform", symlinks=True, ignore=shutil.ignore_patterns(".terraform")
    )
    shutil.copytree(REPO_ROOT / "manifests", root / "manifests")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "ci@example.invalid")
    git(root, "config", "user.name", "ci test")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def branch(repo: Path, name: str, edit) -> None:
    git(repo, "checkout", "-q", "-B", name, "main")
    edit(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", name)


def found(repo: Path, name: str) -> affected.Affected:
    git(repo, "checkout", "-q", name)
    settings = context.Settings(env=None, config_dir=repo / "platform")
    _, _, _, result = plan.find_affected(settings, "main", None, repo.parent / f"scratch-{name}")
    return result


def targets(result: affected.Affected) -> list[tuple[str, str]]:
    return [(t.env, t.stack) for t in result.ordered()]


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_a_team_file_plans_that_team_in_each_of_its_environments(repo: Path) -> None:
    branch(repo, "team-file", lambda r: replace(r / "platform/teams/perception.yaml", "cost_center:", "cost_center: "))
    result = found(repo, "team-file")
    stacks = targets(result)
    assert stacks and all(stack == "team:perception" for _, stack in stacks)
    from platform_kit.config import load_platform

    assert {env for env, _ in stacks} == set(load_platform(repo / "platform").teams["perception"].environments)
    # A cost-centre line rewritten to the same value reaches no input: the file is the only reason.
    assert all(why == ["team file changed (platform/teams/perception.yaml)"] for why in result.stacks.values())
    # Its objects on the cluster are compared too, that team's only, in each of its environments.
    requests = result.render_requests()
    assert {env for env, _, _ in requests} == {env for env, _ in stacks}
    assert all(teams == ["perception"] for _, _, teams in requests)


def test_one_environment_block_plans_that_platform_stack_and_no_team(repo: Path) -> None:
    def edit(r: Path) -> None:
        text = (r / "platform/platform.yaml").read_text()
        dev = text.index("  dev:")
        old = "desired_size: 2"
        size = text.index(old, dev)
        (r / "platform/platform.yaml").write_text(text[:size] + "desired_size: 3" + text[size + len(old) :])

    branch(repo, "dev-block", edit)
    result = found(repo, "dev-block")
    assert targets(result) == [("dev", "platform")]
    assert result.stacks[affected.Target("dev", "platform")] == ["inputs changed: cluster"]
    assert result.renders == {} and result.render_requests() == []


def test_an_input_teams_consume_plans_their_stacks_too(repo: Path) -> None:
    # The organisation's name reaches every stack's tags and names: every stack of every env.
    branch(repo, "org", lambda r: replace(r / "platform/platform.yaml", "name: acme", "name: acme2"))
    result = found(repo, "org")
    stacks = targets(result)
    assert ("dev", "team:perception") in stacks and ("prod", "platform") in stacks and ("dev", "bootstrap") in stacks


def test_a_module_plans_every_stack_that_uses_it_and_only_those(repo: Path) -> None:
    branch(repo, "module", lambda r: (r / "terraform/modules/team/main.tf").write_text(
        (r / "terraform/modules/team/main.tf").read_text() + "\n# a reviewed change\n"))  # fmt: skip
    result = found(repo, "module")
    stacks = targets(result)
    assert stacks and all(stack.startswith("team:") for _, stack in stacks)
    # Every team of every environment it is in.
    assert ("dev", "team:perception") in stacks and ("dev", "team:planning") in stacks
    branch(repo, "eks-module", lambda r: (r / "terraform/modules/eks/main.tf").write_text(
        (r / "terraform/modules/eks/main.tf").read_text() + "\n# a reviewed change\n"))  # fmt: skip
    assert {stack for _, stack in targets(found(repo, "eks-module"))} == {"platform"}


def test_the_shared_provider_file_reaches_every_kind_of_stack(repo: Path) -> None:
    branch(repo, "shared", lambda r: (r / "terraform/stacks/_shared/aws.tf").write_text(
        (r / "terraform/stacks/_shared/aws.tf").read_text() + "\n# note\n"))  # fmt: skip
    kinds = {stack.split(":")[0] for _, stack in targets(found(repo, "shared"))}
    assert kinds == {"bootstrap", "platform", "team"}


def test_a_manifest_change_asks_for_render_diffs_and_plans_nothing(repo: Path) -> None:
    first = sorted((repo / "manifests").rglob("*.yaml"))[0]
    branch(repo, "manifest", lambda r: first.write_text(first.read_text() + "\n# reviewed\n"))
    result = found(repo, "manifest")
    assert targets(result) == []
    assert set(result.renders) == {"sandbox", "dev", "prod"}


def test_kubeflow_settings_ask_for_that_environment_render_only(repo: Path) -> None:
    def edit(r: Path) -> None:
        text = (r / "platform/platform.yaml").read_text()
        prod = text.index("  prod:")
        old = "hostname: kubeflow.ml.corp.example"
        host = text.index(old, prod)
        (r / "platform/platform.yaml").write_text(
            text[:host] + "hostname: kf.ml.corp.example" + text[host + len(old) :]
        )

    branch(repo, "kubeflow-host", edit)
    result = found(repo, "kubeflow-host")
    assert set(result.renders) == {"prod"}


def test_refs_that_name_no_commit_or_not_the_checkout_are_refused(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    settings = context.Settings(env=None, config_dir=repo / "platform")
    with pytest.raises(BadInput, match="--base no-such-branch: not a commit"):
        plan.find_affected(settings, "no-such-branch", None, repo.parent / "scratch-bad")
    branch(repo, "other", lambda r: (r / "README-other.md").write_text("x\n"))
    git(repo, "checkout", "-q", "main")
    with pytest.raises(BadInput, match="but the checkout is at"):
        plan.find_affected(settings, "main", "other", repo.parent / "scratch-bad")
