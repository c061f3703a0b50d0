"""The generated component reference in ``docs/catalog.md`` (compiled with the real KFP compiler).

When ``test_the_committed_reference_is_current`` fails, regenerate and commit it::

    .venv/bin/python -m platform_kit.catalog.docs            # rewrite the block in docs/catalog.md
    .venv/bin/python -m platform_kit.catalog.docs --check    # exit 1 when it is stale
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from platform_kit.catalog import docs, images
from platform_kit.catalog.registry import COMPONENTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "catalog.md"


@pytest.fixture(scope="module")
def block() -> str:
    return docs.render(docs.gather())


def _generated(text: str) -> str:
    return text[text.index(docs.BEGIN) : text.index(docs.END) + len(docs.END)]


def test_the_committed_reference_is_current(block: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert docs.DOC == DOC
    assert _generated(DOC.read_text()) == block, (
        "docs/catalog.md's component reference is stale: run .venv/bin/python -m platform_kit.catalog.docs "
        "and commit the diff"
    )
    assert docs.main(["--check"]) == 0 and "current" in capsys.readouterr().out


def test_every_component_is_there_with_its_interface_needs_and_image(block: str) -> None:
    interface = json.loads((DOC.parents[1] / "tests" / "golden" / "catalog" / "interface.json").read_text())
    sections = block.split("\n### ")[1:]
    assert [s.split("`")[1] for s in sections] == sorted(COMPONENTS)
    for section in sections:
        name = section.split("`")[1]
        for input_name, definition in interface[name]["inputs"].items():
            default = f"`{json.dumps(definition['default'])}`" if "default" in definition else "required"
            if definition["type"] == "TASK_FINAL_STATUS":
                default = "set by KFP"
            assert f"| `{input_name}` | `{definition['type']}` | {default}" in section, (name, input_name)
        for output_name, kind in interface[name]["outputs"].items():
            assert f"| `{output_name}` | `{kind}` |" in section, (name, output_name)
        assert "**Needs, at run time**" in section and "\n- " in section, name
        assert f"in `platform_kit/catalog/components/{name}.py`" in section, name
        assert "the kit's runtime image" in section, name
    # Facts from the component modules, so the reader is checked against what they say.
    sagemaker = next(s for s in sections if s.startswith("`sagemaker_training`"))
    assert "`iam:PassRole`" in sagemaker and "(the team role, through IRSA on `default-editor`)" in sagemaker
    assert "make_sagemaker_training(image=, instance_count=, volume_gb=," in sagemaker
    tensorboard = next(s for s in sections if s.startswith("`tensorboard`"))
    assert "`tensorboards.tensorboard.kubeflow.org`" in tensorboard
    # No release makes the reference stale: the kit's version is not in it.
    assert images.REFERENCE_IMAGE not in block and images.runtime_image() not in block
    assert "the kit's runtime image (`platform catalog image`" in block
    assert "&lt;team&gt;" in block, "an angle bracket outside code is escaped"


def test_the_same_text_twice(block: str) -> None:
    assert docs.render(docs.gather()) == block


def test_check_fails_on_a_stale_copy_and_regeneration_keeps_the_hand_written_parts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "catalog.md"
    shutil.copy(DOC, doc)
    assert docs.main(["--doc", str(doc), "--check"]) == 0
    committed = doc.read_text()

    # A stale reference: one default changed by hand inside the block.
    stale = committed.replace("| `poll_s` | `NUMBER_DOUBLE` | `10.0` |", "| `poll_s` | `NUMBER_DOUBLE` | `5.0` |")
    assert stale != committed
    doc.write_text(stale)
    capsys.readouterr()
    assert docs.main(["--doc", str(doc), "--check"]) == 1
    assert "stale" in capsys.readouterr().out and doc.read_text() == stale, "--check writes nothing"

    # Regeneration rewrites only the block: hand-written text before and after it stays.
    edited = stale.replace("# The component catalog", "# The component catalog (edited by hand)", 1)
    edited += "\nA hand-written line after the block.\n"
    doc.write_text(edited)
    assert docs.main(["--doc", str(doc)]) == 0 and "written" in capsys.readouterr().out
    text = doc.read_text()
    assert text.startswith("# The component catalog (edited by hand)")
    assert text.endswith("A hand-written line after the block.\n")
    assert _generated(text) == _generated(committed)
    assert docs.main(["--doc", str(doc)]) == 0 and "unchanged" in capsys.readouterr().out


def test_a_document_without_markers_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "catalog.md"
    doc.write_text("# no markers\n")
    assert docs.main(["--doc", str(doc), "--check"]) == 2
    assert "no <!-- BEGIN GENERATED: components -->" in capsys.readouterr().err


def test_a_component_module_must_say_what_it_needs() -> None:
    described = """``probe``: check something.

    Needs, at run time (the team role):
    - AWS: ``s3:GetObject`` under the
      team's prefix.
    - Network: none.
    """
    description, intro, needs = docs.parse_module_doc("probe", described, where="probe.py")
    assert description == ("Check something.",)
    assert intro == "**Needs, at run time** (the team role):"
    assert needs == ("AWS: `s3:GetObject` under the team's prefix.", "Network: none.")
    with pytest.raises(ValueError, match=r"probe\.py: the module docstring has no 'Needs, at run time:' list"):
        docs.parse_module_doc("probe", "``probe``: check something.\n", where="probe.py")
