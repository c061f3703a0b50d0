"""Every module and stack: formatted, valid, and (modules) its own `terraform test` suite green."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest

from platform_kit.terraform import cliconfig, docs
from platform_kit.terraform.adapter import terraform_path

ROOT = Path(__file__).resolve().parents[2] / "terraform"
MODULES = sorted(p.parent for p in (ROOT / "modules").glob("*/versions.tf"))
STACKS = sorted(p.parent for p in (ROOT / "stacks").glob("*/versions.tf"))

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="module")
def tf_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    config = cliconfig.write_cli_config(tmp_path_factory.mktemp("tfrc"))
    return {**os.environ, "TF_CLI_CONFIG_FILE": str(config), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}


def _tf(args: list[str], cwd: Path, env: dict[str, str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    # init fills the shared plugin cache, which other workers' inits use too: one at a time.
    lock = cliconfig.plugin_cache_lock() if args[0] == "init" else contextlib.nullcontext()
    with lock:
        return subprocess.run(
            [str(terraform_path()), *args, "-no-color"],
            cwd=cwd,
            env={**env, "TF_DATA_DIR": str(data_dir)},
            capture_output=True,
            text=True,
            timeout=900,
        )


def test_everything_is_formatted(tf_env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(terraform_path()), "fmt", "-check", "-recursive", "-diff", str(ROOT)],
        env=tf_env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"run: terraform fmt -recursive terraform\n{result.stdout}"


def test_every_module_has_the_standard_files() -> None:
    assert {m.name for m in MODULES} >= {"state-backend", "network", "eks", "kubeflow-aws", "team", "ci-oidc"}
    for module in MODULES:
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
            assert (module / name).is_file(), f"{module.name}: missing {name}"
        assert list((module / "tests").glob("*.tftest.hcl")), f"{module.name}: no terraform tests"
        assert (module / "examples" / "basic" / "main.tf").is_file(), f"{module.name}: no example"


@pytest.mark.parametrize("module", MODULES, ids=[m.name for m in MODULES])
def test_module_validates_and_its_terraform_tests_pass(module: Path, tf_env: dict[str, str], tmp_path: Path) -> None:
    init = _tf(["init", "-backend=false", "-input=false"], module, tf_env, tmp_path / "tf")
    assert init.returncode == 0, init.stdout + init.stderr
    validate = _tf(["validate"], module, tf_env, tmp_path / "tf")
    assert validate.returncode == 0, validate.stdout + validate.stderr
    test = _tf(["test"], module, tf_env, tmp_path / "tf")
    assert test.returncode == 0, test.stdout[-4000:] + test.stderr[-2000:]
    assert " 0 failed" in test.stdout and "passed" in test.stdout


@pytest.mark.parametrize("stack", STACKS, ids=[s.name for s in STACKS])
def test_stack_validates(stack: Path, tf_env: dict[str, str], tmp_path: Path) -> None:
    init = _tf(["init", "-backend=false", "-input=false", "-lockfile=readonly"], stack, tf_env, tmp_path / "tf")
    assert init.returncode == 0, init.stdout + init.stderr
    validate = _tf(["validate"], stack, tf_env, tmp_path / "tf")
    assert validate.returncode == 0, validate.stdout + validate.stderr


def test_stacks_commit_their_lock_files() -> None:
    for stack in STACKS:
        lock = stack / ".terraform.lock.hcl"
        assert lock.is_file(), f"{stack.name}: commit .terraform.lock.hcl"
        assert 'provider "registry.terraform.io/hashicorp/aws"' in lock.read_text()


def test_module_readmes_list_current_inputs_and_outputs() -> None:
    stale = [m.name for m in docs.modules(ROOT) if docs.update(m, check=True)]
    assert not stale, f"stale README inputs/outputs in {stale}: run python -m platform_kit.terraform.docs"


def test_readme_generator_reflects_variables(tmp_path: Path) -> None:
    module = tmp_path / "m"
    module.mkdir()
    (module / "variables.tf").write_text(
        'variable "size" {\n  description = "How big."\n  type = number\n  default = 3\n}\n'
        'variable "name" {\n  description = "Name | id."\n  type = string\n}\n'
    )
    (module / "outputs.tf").write_text('output "id" {\n  description = "The id."\n  value = 1\n}\n')
    (module / "README.md").write_text(f"# m\n\n{docs.BEGIN}\n{docs.END}\n")
    assert docs.update(module) is True
    text = (module / "README.md").read_text()
    assert "| `name` | `string` | required | Name \\| id. |" in text
    assert "| `size` | `number` | `3` | How big. |" in text
    assert "| `id` | The id. |" in text
    assert docs.update(module) is False
