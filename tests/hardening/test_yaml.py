"""YAML in frontmatter: never a value the author did not write; every hazard a
finding decided from the event stream; every schema error at a line and column."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.hardening.conftest import LAB, infralens, line_of, snapshot
from validators import yamlload

ROLE = b"    role: routing\n"


def insert_after(path: Path, anchor: bytes, text: bytes) -> bytes:
    data = path.read_bytes()
    index = data.index(anchor) + len(anchor)
    updated = data[:index] + text + data[index:]
    path.write_bytes(updated)
    return updated


def replace_in(path: Path, old: bytes, new: bytes) -> bytes:
    data = path.read_bytes()
    assert old in data
    updated = data.replace(old, new, 1)
    path.write_bytes(updated)
    return updated


# -- plain scalars keep the author's text ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("languages: [en, no]", {"languages": ["en", "no"]}),
        ("draft: off", {"draft": "off"}),
        (
            "flags: [yes, on, y, n, No, OFF]",
            {"flags": ["yes", "on", "y", "n", "No", "OFF"]},
        ),
        ("at: 1:30", {"at": "1:30"}),
        ("hex: 0x1F", {"hex": "0x1F"}),
        ("date: 2026-12-03", {"date": "2026-12-03"}),
        ("nothing: ~", {"nothing": None}),
        ("yes: true", {"yes": True}),
        ("tagged: ! 12", {"tagged": "12"}),
        ("version: '1.10'", {"version": "1.10"}),
    ],
)
def test_plain_scalars_follow_yaml_1_2_core(text: str, value: object) -> None:
    document = yamlload.load(text + "\n")
    assert document.problems == []
    assert document.value == value


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("version: 1.10", "1.1"),
        ("number: 0600", "600"),
        ("n: +5", "5"),
        ("x: .inf", "inf"),
    ],
)
def test_a_number_that_would_change_keeps_the_text_and_is_reported(
    text: str, number: str
) -> None:
    document = yamlload.load(text + "\n")
    [problem] = document.problems
    assert problem.code == "IL005"
    assert number in problem.message
    assert "quote it" in problem.hint
    key, _, written = text.partition(": ")
    assert document.value == {key: written}


def test_title_off_is_kept_as_text(repo: Path) -> None:
    replace_in(repo / LAB, b"title: Expert Parallel Routing", b"title: off")
    result = infralens(repo)
    assert result.returncode == 0, result.stdout


def test_draft_off_and_languages_are_shown_as_written(repo: Path) -> None:
    data = insert_after(
        repo / LAB, b"number: 6\n", b"draft: off\nlanguages: [en, no]\n"
    )
    result = infralens(repo)
    assert result.returncode == 1
    found = {f.line: f.message for f in result.findings if f.code == "IL006"}
    assert "(got `off`)" in found[line_of(data, b"draft:")]
    assert "(got `['en', 'no']`)" in found[line_of(data, b"languages:")]


def test_version_1_10_is_one_finding_saying_what_yaml_made_of_it(repo: Path) -> None:
    data = insert_after(repo / LAB, b"number: 6\n", b"version: 1.10\n")
    result = infralens(repo)
    assert result.returncode == 1
    [finding] = [f for f in result.findings if f.path == LAB]
    assert (finding.line, finding.column, finding.code) == (
        line_of(data, b"version:"),
        10,
        "IL005",
    )
    assert "`1.10` as the number 1.1" in finding.message


def test_lab_number_0600_is_not_600(repo: Path) -> None:
    data = replace_in(repo / LAB, b"number: 6\n", b"number: 0600\n")
    result = infralens(repo)
    assert result.returncode == 1
    assert [(f.line, f.code) for f in result.findings if f.path == LAB] == [
        (line_of(data, b"number:"), "IL005")
    ]
    assert "write `600`" in result.stdout


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        # Lax validation would make each of these a value the author did not write.
        (b"number: 6\n", b'number: "6"\n', b"number:"),
        (b"number: 6\n", b"number: 6.0\n", b"number:"),
        (
            b"version_sensitive: false\n",
            b"version_sensitive: off\n",
            b"version_sensitive",
        ),
        (
            b"version_sensitive: false\n",
            b'version_sensitive: "false"\n',
            b"version_sensitive",
        ),
        (
            b"version_sensitive: false\n",
            b"version_sensitive: 0\n",
            b"version_sensitive",
        ),
        (b"checked: 2026-12-03\n", b"checked: 0\n", b"checked:"),
        (ROLE, ROLE + b"    timeout_s: true\n", b"timeout_s"),
        (ROLE, ROLE + b'    timeout_s: "90"\n', b"timeout_s"),
        (ROLE, ROLE + b'    launch:\n      processes: ["2"]\n', b"launch"),
        (b"title: Expert Parallel Routing", b"title: 1.5", b"title:"),
        (b"id: lab-06-expert-parallel-routing", b"id: 6", b"id:"),
    ],
)
def test_schema_is_never_satisfied_by_coercion(
    repo: Path, old: bytes, new: bytes, key: bytes
) -> None:
    data = replace_in(repo / LAB, old, new)
    result = infralens(repo)
    assert result.returncode == 1, result.stdout
    lines = [line for line, _ in result.at(LAB, "IL006")]
    assert lines, result.stdout
    assert lines[0] in range(line_of(data, key), line_of(data, key) + 2)


def test_unquoted_number_for_text_gets_a_quote_hint(repo: Path) -> None:
    replace_in(repo / LAB, b"title: Expert Parallel Routing", b"title: 1.5")
    result = infralens(repo)
    assert (
        "YAML read this as the number `1.5`; quote it to keep it text" in result.stdout
    )


def test_a_date_written_as_text_is_still_a_date(repo: Path) -> None:
    assert infralens(repo).returncode == 0  # every `checked: 2026-12-03` validates


# -- hazards decided from the event stream ---------------------------------------------


def test_duplicate_key_in_a_nested_mapping(repo: Path) -> None:
    data = insert_after(repo / LAB, ROLE, b"    role: support\n")
    result = infralens(repo)
    assert result.returncode == 1
    second = line_of(data, b"    role: support")
    assert result.at(LAB, "IL003") == [(second, 5)]
    assert f"first defined on line {second - 1}" in result.stdout


def test_duplicate_key_deep_in_a_list(repo: Path) -> None:
    data = replace_in(
        repo / LAB,
        b"      - id: capacity-bound\n",
        b"      - id: capacity-bound\n        id: again\n",
    )
    result = infralens(repo)
    assert result.at(LAB, "IL003") == [(line_of(data, b"        id: again"), 9)]


def test_anchor_and_alias_are_refused_at_the_anchor(repo: Path) -> None:
    data = replace_in(
        repo / LAB,
        b"title: Expert Parallel Routing\n",
        b"title: &t Expert Parallel Routing\nsummary2: *t\n",
    )
    result = infralens(repo)
    assert result.returncode == 1
    assert result.at(LAB, "IL004") == [(line_of(data, b"title: &t"), 8)]


def test_alias_bomb_is_refused_fast_and_small(repo: Path) -> None:
    bomb = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    bomb += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 12)]
    data = replace_in(
        repo / LAB, b"number: 6\n", b"number: 6\n" + "\n".join(bomb).encode() + b"\n"
    )
    started = time.monotonic()
    result = infralens(repo)
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    assert result.at(LAB, "IL004") == [(line_of(data, b"a0: &a0"), 5)]


def test_alias_bomb_in_the_loader_stops_at_the_first_anchor() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    started = time.monotonic()
    document = yamlload.load("\n".join(lines) + "\n")
    assert time.monotonic() - started < 1
    assert [p.code for p in document.problems] == ["IL004"]
    assert document.value is None


@pytest.mark.parametrize(
    "tagged",
    [
        b"!!python/object/apply:os.system [touch pwned]",
        b"!custom value",
        b"!!str 6",
        b"!!binary aGVsbG8=",
    ],
)
def test_tags_are_refused(repo: Path, tagged: bytes) -> None:
    data = replace_in(
        repo / LAB, b"title: Expert Parallel Routing", b"title: " + tagged
    )
    result = infralens(repo)
    assert result.returncode == 1
    assert result.at(LAB, "IL004") == [(line_of(data, b"title: !"), 8)]
    assert not (repo / "pwned").exists()


def test_oversized_frontmatter(repo: Path) -> None:
    filler = b"".join(b"# " + b"x" * 98 + b"\n" for _ in range(700))
    insert_after(repo / LAB, b"number: 6\n", filler)
    result = infralens(repo)
    assert result.returncode == 1
    [(line, _)] = result.at(LAB, "IL004")
    assert line == 2
    assert "larger than" in result.stdout


def test_too_deep_nesting(repo: Path) -> None:
    nested = b"deep: " + b"[" * 40 + b"]" * 40 + b"\n"
    data = insert_after(repo / LAB, b"number: 6\n", nested)
    result = infralens(repo)
    assert result.returncode == 1
    [(line, _)] = result.at(LAB, "IL004")
    assert line == line_of(data, b"deep:")
    assert "nested deeper" in result.stdout


def test_several_documents(repo: Path) -> None:
    data = insert_after(repo / LAB, b"number: 6\n", b"--- # another document\nx: 1\n")
    result = infralens(repo)
    assert result.at(LAB, "IL004") == [(line_of(data, b"--- # another"), 1)]


def test_control_character_is_a_syntax_error_at_its_place(repo: Path) -> None:
    data = replace_in(
        repo / LAB, b"title: Expert Parallel Routing", b"title: Expert\x01"
    )
    result = infralens(repo)
    assert result.at(LAB, "IL002") == [(line_of(data, b"title: Expert"), 14)]


# -- frontmatter fences and schema positions -------------------------------------------


def test_opening_never_closed_is_reported_at_line_1(repo: Path) -> None:
    page = repo / LAB
    lines = page.read_bytes().split(b"\n")
    closing = lines.index(b"---", 1)
    page.write_bytes(b"\n".join(lines[:closing] + lines[closing + 1 :]))
    # No later `---` line may close it by accident.
    assert b"\n---\n" not in page.read_bytes()
    result = infralens(repo)
    assert result.returncode == 1
    [finding] = [f for f in result.findings if f.code == "IL001"]
    assert (finding.path, finding.line, finding.column) == (LAB, 1, 1)
    assert "never closed" in finding.message


def test_frontmatter_closed_by_dots(repo: Path) -> None:
    page = repo / LAB
    lines = page.read_bytes().split(b"\n")
    closing = lines.index(b"---", 1)
    lines[closing] = b"..."
    page.write_bytes(b"\n".join(lines))
    assert infralens(repo).returncode == 0


def test_empty_frontmatter_is_reported_at_line_1(repo: Path) -> None:
    page = repo / LAB
    data = page.read_bytes()
    body = data[data.index(b"\n---\n") + 5 :]
    page.write_bytes(b"---\n---\n" + body)
    result = infralens(repo)
    assert result.at(LAB, "IL006") == [(1, 1)]


def test_frontmatter_that_is_a_list(repo: Path) -> None:
    page = repo / LAB
    data = page.read_bytes()
    body = data[data.index(b"\n---\n") + 5 :]
    page.write_bytes(b"---\n\n  - a\n  - b\n---\n" + body)
    result = infralens(repo)
    [finding] = [f for f in result.findings if f.code == "IL006"]
    assert (finding.line, finding.column) == (3, 3)
    assert "not a list" in finding.message


def test_missing_key_points_at_the_mapping(repo: Path) -> None:
    replace_in(repo / LAB, b"number: 6\n", b"")
    result = infralens(repo)
    assert result.returncode == 1
    [finding] = [f for f in result.findings if f.code == "IL006"]
    assert (finding.line, finding.column) == (2, 1)
    assert "`number`: Field required" in finding.message


def test_missing_key_in_a_list_item_points_at_the_item(repo: Path) -> None:
    data = replace_in(repo / LAB, ROLE, b"")
    result = infralens(repo)
    line = line_of(data, b"  - path: code/lab-06")
    assert result.at(LAB, "IL006") == [(line, 5)]


def test_every_schema_error_maps_to_a_line(repo: Path) -> None:
    """Many errors at once, nested and top level: each at a line inside the
    frontmatter, none at 0, and the page untouched."""
    page = repo / LAB
    replace_in(page, b"number: 6\n", b"number: x\nunknown: 1\n")
    replace_in(page, ROLE, b"    role: chief\n    launch: {processes: [0, 99]}\n")
    replace_in(page, b"kind: paper", b"kind: blog")
    before = snapshot(repo)
    result = infralens(repo)
    closing = page.read_bytes().split(b"\n").index(b"---", 1) + 1
    lines = [f.line for f in result.findings if f.code == "IL006"]
    assert len(lines) >= 6
    assert all(2 <= line < closing for line in lines)
    assert snapshot(repo) == before
