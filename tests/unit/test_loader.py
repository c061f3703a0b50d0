"""The YAML loader: line numbers by path, YAML 1.2 booleans, and the refusals."""

from __future__ import annotations

import pytest

from platform_kit.config.loader import MAX_EXPANDED_NODES, YamlProblem, parse


def test_lines_are_recorded_for_every_key_and_item() -> None:
    doc = parse("a: 1\nb:\n  - x: 1\n    y: 2\n  - z\n", "f.yaml")
    assert doc.line_of(("a",)) == 1
    assert doc.line_of(("b", 0, "y")) == 4
    assert doc.line_of(("b", 1)) == 5
    # a path that is missing falls back to its nearest ancestor
    assert doc.line_of(("b", 0, "missing")) == 3


def test_yaml_12_booleans_keep_norway_a_string() -> None:
    doc = parse("country: no\nflag: on\nreal: true\nother: False\n", "f.yaml")
    assert doc.data == {"country": "no", "flag": "on", "real": True, "other": False}


def test_anchors_and_merge_keys_still_work() -> None:
    doc = parse("base: &b {cpu: 1, mem: 2}\nteam:\n  <<: *b\n  cpu: 4\n", "f.yaml")
    assert doc.data["team"] == {"cpu": 4, "mem": 2}
    assert doc.line_of(("team", "cpu")) == 4


def test_duplicate_key_names_both_lines() -> None:
    with pytest.raises(YamlProblem) as info:
        parse("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert str(info.value) == "f.yaml:3: duplicate key 'a' (first given on line 1; give each key once)"


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(YamlProblem, match="refers to the value that contains it"):
        parse("a: &a [1, *a]\n", "f.yaml")


def test_alias_budget_counts_expanded_size() -> None:
    # 10 * 10 * 10 * 10 * 11 > 100,000 once expanded, yet only a few lines of text
    text = "a: &a [1,1,1,1,1,1,1,1,1,1]\n"
    for prev, name in zip("abcd", "bcde", strict=True):
        text += f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]\n"
    text += "f: [*e, *e]\n"
    with pytest.raises(YamlProblem, match=f"more than {MAX_EXPANDED_NODES:,} values"):
        parse(text, "f.yaml")
    # the same shape one level shallower is fine
    parse("a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a, *a, *a]\nc: [*b, *b]\n", "f.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "file is empty"),
        ("---\n", "file is empty"),
        ("just a string\n", "top level is a single value"),
        ("a: !!python/name:os.system x\n", "plain YAML only"),
        ("? [1, 2]\n: x\n", "a mapping key must be a plain value"),
        ("a: b: c\n", "YAML syntax error"),
    ],
)
def test_refusals(text: str, message: str) -> None:
    with pytest.raises(YamlProblem, match=message):
        parse(text, "f.yaml")
