"""Inline suppression through the CLI: `<!-- infralens-ignore IL301: reason -->` on the
line right before a finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers_cli import MINI_LAB, infralens, set_config, write_handbook

UNCITED = "- Top-1: the k = 1 case of top-k routing."
CITED = "- Only the best expert runs.[^shazeer2017-moe]"
REASON = "a definition, not a claim"


def check(root: Path, *flags: str) -> tuple[int, list[tuple[int, str, str]]]:
    done = infralens(root, "check", "--no-exec", "--output-format", "json", *flags)
    assert done.returncode in {0, 1}, done.stderr
    return done.returncode, [
        (f["line"], f["code"], f["message"])
        for f in json.loads(done.stdout)["findings"]
        if f["path"] == MINI_LAB
    ]


def handbook(tmp_path: Path, *lines: str) -> tuple[Path, int]:
    """The mini handbook with ``lines`` in the lab's Mental model; the line number of
    the first of them."""
    root = write_handbook(tmp_path, mental_model="\n" + "\n".join(lines) + "\n")
    first = (root / MINI_LAB).read_text("utf-8").split("\n").index(lines[0]) + 1
    return root, first


def test_the_mini_handbook_is_clean(tmp_path: Path) -> None:
    assert check(write_handbook(tmp_path)) == (0, [])


def test_uncited_claim_is_found_without_suppression(tmp_path: Path) -> None:
    root, line = handbook(tmp_path, UNCITED)
    code, found = check(root)
    assert code == 1
    assert [(at, rule) for at, rule, _ in found] == [(line, "IL301")]


def test_suppression_with_reason_silences_the_next_line(tmp_path: Path) -> None:
    root, _ = handbook(tmp_path, f"<!-- infralens-ignore IL301: {REASON} -->", UNCITED)
    assert check(root) == (0, [])
    text = infralens(root, "check", "--no-exec")
    assert text.returncode == 0
    assert text.stdout.startswith("All checks passed")


def test_suppression_spanning_lines(tmp_path: Path) -> None:
    root, _ = handbook(
        tmp_path, "<!-- infralens-ignore IL301:", f"     {REASON} -->", UNCITED
    )
    assert check(root) == (0, [])


def test_reason_is_required(tmp_path: Path) -> None:
    root, line = handbook(tmp_path, "<!-- infralens-ignore IL301 -->", UNCITED)
    code, found = check(root)
    assert code == 1
    assert found == [
        (line, "IL602", "suppression of IL301 gives no reason"),
        (line + 1, "IL301", found[1][2]),
    ]
    root, line = handbook(
        tmp_path / "colon", "<!-- infralens-ignore IL301:  -->", UNCITED
    )
    assert check(root)[1][0] == (line, "IL602", "suppression of IL301 gives no reason")


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        ("<!-- infralens-ignore: no codes here -->", "suppression names no rule code"),
        (
            "<!-- infralens-ignore IL999: no such rule -->",
            "suppression names `IL999`, which is not a rule",
        ),
        (
            "<!-- infralens-ignore E501: not ours -->",
            "suppression names `E501`, which is not a rule code",
        ),
        (
            "<!-- infralens-ignore IL301: reason --> trailing",
            "suppression comment is malformed",
        ),
    ],
)
def test_invalid_suppressions(tmp_path: Path, comment: str, message: str) -> None:
    root, line = handbook(tmp_path, comment, UNCITED)
    code, found = check(root)
    assert code == 1
    assert (line, "IL602", message) in found
    assert any(rule == "IL301" for _, rule, _ in found)


def test_unused_suppression_is_reported(tmp_path: Path) -> None:
    root, line = handbook(tmp_path, f"<!-- infralens-ignore IL301: {REASON} -->", CITED)
    code, found = check(root)
    assert code == 0  # IL601 is a warning ...
    assert found == [
        (line, "IL601", f"suppression of IL301 matches no finding on line {line + 1}")
    ]
    assert check(root, "--strict")[0] == 1  # ... that --strict makes fail
    set_config(root, '[tool.infralens]\nignore = ["IL601"]')
    assert check(root, "--strict") == (0, [])


def test_suppression_applies_to_the_next_line_only(tmp_path: Path) -> None:
    root, line = handbook(
        tmp_path, f"<!-- infralens-ignore IL301: {REASON} -->", "", UNCITED
    )
    _, found = check(root)
    assert [(at, rule) for at, rule, _ in found] == [
        (line, "IL601"),
        (line + 2, "IL301"),
    ]


def test_each_listed_code_must_be_used(tmp_path: Path) -> None:
    root, line = handbook(
        tmp_path, f"<!-- infralens-ignore IL301, IL303: {REASON} -->", UNCITED
    )
    _, found = check(root)
    assert found == [
        (line, "IL601", f"suppression of IL303 matches no finding on line {line + 1}")
    ]


def test_suppressing_another_code_does_not_silence(tmp_path: Path) -> None:
    root, line = handbook(
        tmp_path, f"<!-- infralens-ignore IL302: {REASON} -->", UNCITED
    )
    _, found = check(root)
    assert [(at, rule) for at, rule, _ in found] == [
        (line, "IL601"),
        (line + 1, "IL301"),
    ]


def test_comment_inside_a_code_block_is_not_a_suppression(tmp_path: Path) -> None:
    root, _ = handbook(tmp_path, "```text", "<!-- infralens-ignore IL301 -->", "```")
    assert check(root) == (0, [])
