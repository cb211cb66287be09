"""Text and line endings: CRLF, CR, mixed endings, a byte-order mark, bytes that are
not UTF-8, and line numbers that mean the same thing in every finding."""

from __future__ import annotations

import re
from pathlib import Path

from tests.hardening.conftest import (
    HANDBOOK,
    LAB,
    STARTER,
    infralens,
    line_of,
    snapshot,
)

DRIFT_OLD = b'return np.argsort(-probs, axis=1, kind="stable")[:, :k]'
DRIFT_NEW = b'return np.argsort(-probs, axis=1, kind="stable")[:, :k]  # edited'
ENDINGS = re.compile(rb"\r\n|\r|\n")


def endings(data: bytes) -> list[bytes]:
    return ENDINGS.findall(data)


def with_endings(data: bytes, ending: bytes) -> bytes:
    return ENDINGS.sub(ending, data)


def edit_bytes(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, 1))


def test_crlf_page_and_starter_pass_without_drift(repo: Path) -> None:
    for relative in (LAB, STARTER):
        path = repo / relative
        path.write_bytes(with_endings(path.read_bytes(), b"\r\n"))
    before = snapshot(repo)
    result = infralens(repo)
    assert result.returncode == 0, result.stdout
    assert result.findings == []
    assert snapshot(repo) == before


def test_cr_only_page_passes(repo: Path) -> None:
    page = repo / LAB
    page.write_bytes(with_endings(page.read_bytes(), b"\r"))
    result = infralens(repo)
    assert result.returncode == 0, result.stdout


def test_crlf_page_drift_is_at_its_line_and_fixed_in_crlf(repo: Path) -> None:
    page, starter = repo / LAB, repo / STARTER
    page.write_bytes(with_endings(page.read_bytes(), b"\r\n"))
    edit_bytes(starter, DRIFT_OLD, DRIFT_NEW)
    result = infralens(repo)
    assert result.returncode == 1
    assert result.at(LAB, "IL201") == [(line_of(page.read_bytes(), DRIFT_OLD), 1)]

    fixed = infralens(repo, "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    data = page.read_bytes()
    assert DRIFT_NEW in data
    assert set(endings(data)) == {b"\r\n"}
    again = infralens(repo, "--fix")
    assert again.returncode == 0
    assert page.read_bytes() == data


def test_mixed_endings_name_the_counts(repo: Path) -> None:
    page = repo / LAB
    lines = page.read_bytes().split(b"\n")
    page.write_bytes(b"\r\n".join(lines[:10]) + b"\r\n" + b"\n".join(lines[10:]))
    total = len(endings(page.read_bytes()))
    result = infralens(repo)
    assert result.returncode == 0  # a warning
    [finding] = [f for f in result.findings if f.code == "IL009"]
    assert (finding.path, finding.line, finding.column) == (LAB, 1, 1)
    assert f"{total - 10} LF, 10 CRLF" in finding.message
    assert infralens(repo, "--strict").returncode == 1


def test_fix_on_mixed_page_writes_the_majority_ending_and_keeps_the_rest(
    repo: Path,
) -> None:
    page = repo / LAB
    lines = page.read_bytes().split(b"\n")
    # CRLF in the first 300 lines (the majority), LF after: the excerpts sit in both.
    page.write_bytes(b"\r\n".join(lines[:300]) + b"\r\n" + b"\n".join(lines[300:]))
    edit_bytes(repo / STARTER, DRIFT_OLD, DRIFT_NEW)
    original = page.read_bytes()

    fixed = infralens(repo, "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    data = page.read_bytes()
    pieces_before = re.findall(rb"[^\r\n]*(?:\r\n|\r|\n)", original)
    pieces_after = re.findall(rb"[^\r\n]*(?:\r\n|\r|\n)", data)
    changed = line_of(original, DRIFT_OLD) - 1
    # Every line but the rewritten one is byte for byte what it was.
    assert pieces_after[:changed] == pieces_before[:changed]
    assert pieces_after[changed + 1 :] == pieces_before[changed + 1 :]
    assert pieces_after[changed].endswith(b"\r\n")
    assert DRIFT_NEW in pieces_after[changed]


def test_bom_page_is_read_validated_and_kept(repo: Path) -> None:
    page = repo / LAB
    page.write_bytes(b"\xef\xbb\xbf" + page.read_bytes())
    assert infralens(repo).returncode == 0

    data = page.read_bytes()
    page.write_bytes(data.replace(b"number: 6\n", b"number: six\n", 1))
    result = infralens(repo)
    assert result.returncode == 1
    assert result.at(LAB, "IL006") == [(line_of(data, b"number: 6"), 1)]
    assert "IL001" not in result.codes()

    page.write_bytes(data)
    edit_bytes(repo / STARTER, DRIFT_OLD, DRIFT_NEW)
    assert infralens(repo, "--fix").returncode == 0
    fixed = page.read_bytes()
    assert fixed.startswith(b"\xef\xbb\xbf---\n")
    assert fixed.count(b"\xef\xbb\xbf") == 1
    assert DRIFT_NEW in fixed


def test_not_utf8_page_is_reported_at_the_first_bad_byte(repo: Path) -> None:
    page = repo / LAB
    data = with_endings(page.read_bytes(), b"\r\n")
    index = data.index(b"title: Expert Parallel Routing")
    # Two-byte characters before the bad byte: the column counts characters.
    bad = data[:index] + "title: Él ".encode() + b"\xff" + data[index + 7 :]
    page.write_bytes(bad)
    result = infralens(repo)
    assert result.returncode == 1
    assert result.at(LAB, "IL008") == [(line_of(bad, b"title: "), 11)]
    assert page.read_bytes() == bad
    assert infralens(repo, "--fix").returncode == 1
    assert page.read_bytes() == bad


def test_not_utf8_on_the_first_line_after_a_bom(repo: Path) -> None:
    page = repo / LAB
    data = page.read_bytes()
    page.write_bytes(b"\xef\xbb\xbf-\xfe--" + data[3:])
    result = infralens(repo)
    assert result.at(LAB, "IL008") == [(1, 2)]


def test_not_utf8_excerpt_source_is_reported_in_the_source(repo: Path) -> None:
    starter, page = repo / STARTER, repo / LAB
    data = starter.read_bytes()
    index = data.index(b"def select_top_k")
    starter.write_bytes(data[:index] + b"d\xe9f" + data[index + 3 :])
    edit_bytes(starter, DRIFT_OLD, DRIFT_NEW)
    before = page.read_bytes()
    result = infralens(repo)
    assert result.returncode == 1
    assert result.at(STARTER, "IL008") == [(line_of(data, b"def select_top_k"), 2)]
    fences = [
        n
        for n, line in enumerate(before.split(b"\n"), 1)
        if line.startswith(b"```python source=")
    ]
    assert [line for line, _ in result.at(LAB, "IL008")] == fences
    fixed = infralens(repo, "--fix")
    assert "not fixed" in fixed.stderr
    assert page.read_bytes() == before


def _positions(result: object) -> set[tuple[str, int, int, str]]:
    return {(f.path, f.line, f.column, f.code) for f in result.findings}  # type: ignore[attr-defined]


def test_bom_and_crlf_do_not_shift_any_line(repo: Path) -> None:
    """The same faults, LF without BOM and CRLF with one: the same lines and columns
    for text (drift), YAML marks (retyped value, a nested key) and markdown-it tokens
    (a citation in a paragraph, a link)."""
    page, handbook = repo / LAB, repo / HANDBOOK
    lab = page.read_bytes().replace(b"[^mixtral]", b"[^no-such-ref]")
    lab = lab.replace(
        b"(../handbook/expert-parallel-routing.md)", b"(../handbook/nowhere.md)", 1
    )
    book = handbook.read_bytes().replace(b"summary:", b"version: 1.10\nsummary:", 1)
    edit_bytes(repo / STARTER, DRIFT_OLD, DRIFT_NEW)
    page.write_bytes(lab)
    handbook.write_bytes(book)
    plain = _positions(infralens(repo))
    assert {"IL005", "IL201", "IL302", "IL304", "IL401"} <= {c for *_, c in plain}

    page.write_bytes(b"\xef\xbb\xbf" + with_endings(lab, b"\r\n"))
    handbook.write_bytes(b"\xef\xbb\xbf" + with_endings(book, b"\r\n"))
    assert _positions(infralens(repo)) == plain


def test_yaml_line_separators_do_not_shift_lines(repo: Path) -> None:
    """YAML breaks lines at U+2028 and U+0085; the file, editors and markdown-it do
    not. A later key's finding stays on its file line."""
    page = repo / LAB
    data = page.read_bytes()
    data = data.replace(
        b"title: Expert Parallel Routing",
        'title: "Expert\u2028Parallel\u0085Routing"'.encode(),
        1,
    ).replace(
        b"handbook_section: expert-parallel-routing", b"handbook_section: nowhere"
    )
    page.write_bytes(data)
    result = infralens(repo)
    assert result.at(LAB, "IL010") == [(line_of(data, b"handbook_section"), 1)]


def test_utf16_page_is_named_as_such(repo: Path) -> None:
    page = repo / LAB
    page.write_bytes(page.read_text("utf-8").encode("utf-16"))
    result = infralens(repo)
    assert result.returncode == 1
    assert result.at(LAB, "IL008") == [(1, 1)]
    assert "UTF-16" in result.stdout
