"""Excerpts, region markers and `--fix`: backtick lines inside excerpted text, the
marker grammar reported where the markers are, all-or-nothing atomic idempotent
writes, and the awkward shapes a page or a source can take."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hardening.conftest import LAB, STARTER, Run, infralens, line_of, snapshot
from validators import fix
from validators.markdown import structure_of
from validators.text import decode

EXTRA = "code/lab-06-expert-parallel-routing/extra.py"
ANCHOR = b"## Line-by-line explanation"
DRIFT_OLD = b'return np.argsort(-probs, axis=1, kind="stable")[:, :k]'
DRIFT_NEW = DRIFT_OLD + b"  # edited"


def add_block(repo: Path, block: bytes) -> bytes:
    """Put a block just before the Line-by-line section; return the new page."""
    page = repo / LAB
    data = page.read_bytes()
    updated = data.replace(ANCHOR, block + b"\n" + ANCHOR, 1)
    page.write_bytes(updated)
    return updated


def excerpt(
    region: str | None = None, body: bytes = b"", fence: bytes = b"```"
) -> bytes:
    info = b"python source=" + EXTRA.encode()
    if region is not None:
        info += b" region=" + region.encode()
    return fence + info + b"\n" + body + fence + b"\n"


def write_extra(repo: Path, data: bytes) -> None:
    (repo / EXTRA).write_bytes(data)


def fix_cleanly(repo: Path) -> bytes:
    """`--fix` succeeds, the page is then clean, and a second `--fix` changes no byte."""
    fixed = infralens(repo, "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    after = snapshot(repo)
    again = infralens(repo, "--fix")
    assert again.returncode == 0
    assert "fixed" not in again.stderr
    assert snapshot(repo) == after
    return (repo / LAB).read_bytes()


def fences_of(data: bytes) -> list[tuple[str, str, bool]]:
    decoded = decode(data)
    lines = decoded.lines
    closing = lines.index("---", 1) + 1
    return [
        (f.info, f.content, f.closed) for f in structure_of(decoded, closing).fences
    ]


# -- a line of backticks inside the excerpted text -------------------------------------


def test_backtick_line_in_source_needs_a_longer_fence(repo: Path) -> None:
    starter = repo / STARTER
    data = starter.read_bytes()
    starter.write_bytes(
        data.replace(
            b"# endregion: select",
            b'EXAMPLE = """\n```\n````\n"""\n# endregion: select',
            1,
        )
    )
    page = repo / LAB
    before = page.read_bytes()
    result = infralens(repo)
    assert result.returncode == 1
    opening = line_of(
        before, b"```python source=" + STARTER.encode() + b" region=select"
    )
    assert result.at(LAB, "IL205") == [(opening, 1)]
    assert "5 backticks" in result.stdout or "`````" in result.stdout

    fixed = fix_cleanly(repo)
    blocks_before, blocks_after = fences_of(before), fences_of(fixed)
    assert [(i, c) for i, _, c in blocks_after] == [(i, c) for i, _, c in blocks_before]
    select = next(
        content for info, content, _ in blocks_after if "region=select" in info
    )
    assert '```\n````\n"""' in select
    assert b"`````python source=" in fixed


def test_tilde_fence_needs_only_to_outrun_tildes(repo: Path) -> None:
    write_extra(repo, b"# region: a\ntext = '''\n```\n~~~~\n'''\n# endregion: a\n")
    page = add_block(repo, excerpt("a", b"old\n", fence=b"~~~"))
    result = infralens(repo)
    opening = line_of(page, b"~~~python source=")
    assert result.at(LAB, "IL205") == [(opening, 1)]
    assert "4 tildes" in result.stdout
    fixed = fix_cleanly(repo)
    assert b"~~~~~python source=" + EXTRA.encode() in fixed
    assert b"\n~~~~~\n" in fixed


def test_backticks_inside_a_tilde_fence_are_fine(repo: Path) -> None:
    write_extra(repo, b"# region: a\n```\n# endregion: a\n")
    add_block(repo, excerpt("a", b"```\n", fence=b"~~~"))
    assert infralens(repo).returncode == 0


# -- region markers: the grammar, reported where the markers are ------------------------

MARKER_CASES = {
    "start repeated": (b"# region: a\nx = 1\n# region: a\n# endregion: a\n", 3),
    "end without start": (b"x = 1\n# endregion: a\n", 2),
    "unclosed": (b"y = 0\n# region: a\nx = 1\n", 2),
    "duplicate name": (
        b"# region: a\nx = 1\n# endregion: a\n# region: a\ny = 2\n# endregion: a\n",
        4,
    ),
    "prefix of another name": (
        b"# region: dispatch-rows\nx = 1\n# endregion: dispatch\n",
        1,
    ),
    "end repeated": (b"# region: a\nx = 1\n# endregion: a\n# endregion: a\n", 4),
    "malformed": (b"# region: a\n  # Region: b\n# endregion: a\n", 2),
}


@pytest.mark.parametrize("case", sorted(MARKER_CASES))
def test_marker_grammar_is_reported_in_the_source(repo: Path, case: str) -> None:
    source, line = MARKER_CASES[case]
    write_extra(repo, source)
    page = add_block(repo, excerpt("a", b"x = 1\n"))
    before = snapshot(repo)
    result = infralens(repo)
    assert result.returncode == 1
    positions = result.at(EXTRA, "IL204")
    assert line in [found for found, _ in positions], result.stdout
    # The page says its excerpt cannot be checked, at the fence.
    assert result.at(LAB, "IL204") == [
        (line_of(page, b"```python source=" + EXTRA.encode()), 1)
    ]
    assert f"{EXTRA}:" in result.stdout
    fixed = infralens(repo, "--fix")
    assert "not fixed" in fixed.stderr
    assert snapshot(repo) == before


def test_marker_column_is_the_indented_comment(repo: Path) -> None:
    write_extra(repo, b"def f():\n    # region: a\n    return 1\n")
    add_block(repo, excerpt("a", b"return 1\n"))
    assert infralens(repo).at(EXTRA, "IL204") == [(2, 5)]


def test_prefix_mismatch_names_both(repo: Path) -> None:
    write_extra(repo, MARKER_CASES["prefix of another name"][0])
    add_block(repo, excerpt("dispatch", b"x = 1\n"))
    result = infralens(repo)
    assert "names must match exactly" in result.stdout
    assert "`dispatch-rows`" in result.stdout


def test_broken_markers_in_a_starter_no_excerpt_shows(repo: Path) -> None:
    starter = repo / STARTER
    data = starter.read_bytes()
    starter.write_bytes(data + b"\n# region: tail\n")
    result = infralens(repo)
    assert result.returncode == 1
    assert (len(data.split(b"\n")) + 1, 1) in result.at(STARTER, "IL204")


def test_a_prose_comment_about_regions_is_not_a_marker(repo: Path) -> None:
    write_extra(
        repo, b"# region boundaries are set below\n# region: a\nx = 1\n# endregion: a\n"
    )
    add_block(repo, excerpt("a", b"x = 1\n"))
    assert infralens(repo).returncode == 0


def test_names_sharing_a_prefix_are_distinct_regions(repo: Path) -> None:
    write_extra(
        repo,
        b"# region: a\nx = 1\n# endregion: a\n# region: a-b\ny = 2\n# endregion: a-b\n",
    )
    add_block(repo, excerpt("a", b"x = 1\n") + b"\n" + excerpt("a-b", b"y = 2\n"))
    assert infralens(repo).returncode == 0


def test_marker_lines_never_appear_in_an_excerpt(repo: Path) -> None:
    write_extra(
        repo,
        b"# region: outer\nx = 1\n    // region: inner\ny = 2\n    // endregion: inner\n"
        b"/* region: c */\n/* endregion: c */\n# endregion: outer\n<!-- region: h -->\n<!-- endregion: h -->\n",
    )
    add_block(repo, excerpt("outer") + b"\n" + excerpt(None))
    fixed = fix_cleanly(repo)
    shown = [content for info, content, _ in fences_of(fixed) if EXTRA in info]
    assert shown == ["x = 1\ny = 2\n", "x = 1\ny = 2\n"]


# -- --fix: all or nothing, atomic, idempotent ------------------------------------------


def test_fix_is_all_or_nothing_per_page(repo: Path) -> None:
    (repo / STARTER).write_bytes(
        (repo / STARTER).read_bytes().replace(DRIFT_OLD, DRIFT_NEW)
    )
    page = add_block(repo, excerpt("no-such-region", b"x\n"))
    write_extra(repo, b"# region: a\nx\n# endregion: a\n")
    before = snapshot(repo)
    fixed = infralens(repo, "--fix")
    assert fixed.returncode == 1
    assert f"{LAB}: not fixed" in fixed.stderr
    assert f"line {line_of(page, b'region=no-such-region')}" in fixed.stderr
    assert snapshot(repo) == before
    # The drift the fix could have repaired is still reported, and so is the cause.
    assert {"IL201", "IL203"} <= fixed.codes()


def test_fix_writes_atomically_and_keeps_the_mode(repo: Path) -> None:
    page, starter = repo / LAB, repo / STARTER
    starter.write_bytes(starter.read_bytes().replace(DRIFT_OLD, DRIFT_NEW))
    page.chmod(0o640)
    listing = sorted(page.parent.iterdir())
    fix_cleanly(repo)
    assert page.stat().st_mode & 0o7777 == 0o640
    assert sorted(page.parent.iterdir()) == listing  # no temporary file left


def test_fix_writes_through_a_symlinked_page(repo: Path) -> None:
    page, starter = repo / LAB, repo / STARTER
    real = repo / "content/lab-06-real.md"
    page.rename(real)
    page.symlink_to(real)
    starter.write_bytes(starter.read_bytes().replace(DRIFT_OLD, DRIFT_NEW))
    fix_cleanly(repo)
    assert page.is_symlink()
    assert DRIFT_NEW in real.read_bytes()


def test_a_clean_page_is_not_rewritten(repo: Path) -> None:
    page = repo / LAB
    # A closing fence with trailing spaces is still a closing fence: nothing to fix.
    data = page.read_bytes().replace(b"\n```\n", b"\n```  \n", 1)
    page.write_bytes(data)
    before = page.stat().st_mtime_ns
    result = infralens(repo, "--fix")
    assert result.returncode == 0
    assert "fixed" not in result.stderr
    assert page.read_bytes() == data
    assert page.stat().st_mtime_ns == before


# -- shapes fix.py and excerpts.py must handle ------------------------------------------


def test_empty_source_file(repo: Path) -> None:
    write_extra(repo, b"")
    page = add_block(repo, excerpt(None, b"stale\n"))
    result = infralens(repo)
    assert result.at(LAB, "IL201") == [(line_of(page, b"stale"), 1)]
    fixed = fix_cleanly(repo)
    assert b"```python source=" + EXTRA.encode() + b"\n```\n" in fixed


def test_empty_region(repo: Path) -> None:
    write_extra(repo, b"x = 1\n# region: a\n\n   \n# endregion: a\n")
    add_block(repo, excerpt("a", b"x = 1\n"))
    fixed = fix_cleanly(repo)
    assert b"region=a\n```\n" in fixed


def test_source_without_trailing_newline(repo: Path) -> None:
    write_extra(repo, b"# region: a\n    y = 2\n# endregion: a\nlast = 1")
    add_block(
        repo, excerpt("a", b"y = 2\n") + b"\n" + excerpt(None, b"    y = 2\nlast = 1\n")
    )
    result = infralens(repo)
    assert result.returncode == 0, result.stdout


def test_page_without_trailing_newline(repo: Path) -> None:
    page, starter = repo / LAB, repo / STARTER
    data = page.read_bytes().rstrip(b"\n")
    page.write_bytes(data)
    starter.write_bytes(starter.read_bytes().replace(DRIFT_OLD, DRIFT_NEW))
    fixed = fix_cleanly(repo)
    assert not fixed.endswith(b"\n")
    assert fixed.replace(DRIFT_NEW, DRIFT_OLD) == data


def test_page_ending_in_an_excerpt_without_trailing_newline(repo: Path) -> None:
    write_extra(repo, b"a = 1\n")
    page = repo / LAB
    page.write_bytes(
        page.read_bytes() + b"\n" + excerpt(None, b"a = 0\n").rstrip(b"\n")
    )
    fixed = fix_cleanly(repo)
    assert fixed.endswith(b"a = 1\n```")


def test_tilde_fence_drift(repo: Path) -> None:
    write_extra(repo, b"a = 1\n")
    add_block(repo, excerpt(None, b"a = 0\n", fence=b"~~~~"))
    fixed = fix_cleanly(repo)
    assert b"~~~~python source=" + EXTRA.encode() + b"\na = 1\n~~~~\n" in fixed


def test_indented_fence_in_a_list_item(repo: Path) -> None:
    write_extra(repo, b"def f():\n    return 1\n")
    info = b"```python source=" + EXTRA.encode()
    block = b"- the function:\n\n  " + info + b"\n  def f():\n      return 0\n  ```\n"
    page = add_block(repo, block)
    result = infralens(repo)
    assert result.at(LAB, "IL201") == [(line_of(page, b"      return 0"), 1)]
    fixed = fix_cleanly(repo)
    assert b"\n  " + info + b"\n  def f():\n      return 1\n  ```\n" in fixed


def test_fence_opening_a_list_item(repo: Path) -> None:
    write_extra(repo, b"a = 1\n\nb = 2\n")
    info = b"```python source=" + EXTRA.encode()
    add_block(repo, b"- " + info + b"\n  a = 0\n  ```\n")
    fixed = fix_cleanly(repo)
    assert b"- " + info + b"\n  a = 1\n\n  b = 2\n  ```\n" in fixed


def test_fence_in_a_block_quote(repo: Path) -> None:
    write_extra(repo, b"a = 1\n\nb = 2\n")
    info = b"```python source=" + EXTRA.encode()
    page = add_block(repo, b"> " + info + b"\n> a = 0\n> ```\n")
    result = infralens(repo)
    assert "never closed" not in result.stdout
    assert result.at(LAB, "IL201") == [(line_of(page, b"> a = 0"), 1)]
    fixed = fix_cleanly(repo)
    assert b"> " + info + b"\n> a = 1\n>\n> b = 2\n> ```\n" in fixed


def test_unclosed_excerpt_is_reported_and_not_fixed(repo: Path) -> None:
    write_extra(repo, b"a = 1\n")
    page = repo / LAB
    page.write_bytes(
        page.read_bytes() + b"\n```python source=" + EXTRA.encode() + b"\na = 0\n"
    )
    data = page.read_bytes()
    result = infralens(repo, "--fix")
    assert result.at(LAB, "IL201") == [
        (line_of(data, b"```python source=" + EXTRA.encode()), 1)
    ]
    assert "never closed" in result.stdout
    assert page.read_bytes() == data


def test_further_reading_with_foreign_text_is_not_overwritten(repo: Path) -> None:
    page = repo / LAB
    data = page.read_bytes()
    data = data.replace(
        b"[^gshard]: [GShard", b"A note of my own.\n\n[^gshard]: [Old GShard", 1
    )
    page.write_bytes(data)
    result = infralens(repo, "--fix")
    assert result.returncode == 1
    assert "not fixed" in result.stderr
    assert f"line {line_of(data, b'A note of my own')}" in result.stderr
    assert page.read_bytes() == data


def test_further_reading_continuation_is_not_overwritten(repo: Path) -> None:
    page = repo / LAB
    data = page.read_bytes()
    data = data.replace(b"(paper)\n[^gshard]", b"(paper)\nmy own words\n[^gshard]", 1)
    page.write_bytes(data)
    result = infralens(repo, "--fix")
    assert f"line {line_of(data, b'my own words')}" in result.stderr
    assert page.read_bytes() == data


def test_further_reading_followed_by_text_keeps_it(repo: Path) -> None:
    page = repo / LAB
    data = page.read_bytes().replace(
        b"(paper)\n[^tutel]", b"(paper) stale\n[^tutel]", 1
    )
    page.write_bytes(data.rstrip(b"\n") + b"\n\nA closing paragraph.\n")
    fixed = fix_cleanly(repo)
    assert fixed.endswith(b"(official)\n\nA closing paragraph.\n")


def test_fix_reports_what_it_did(repo: Path) -> None:
    starter = repo / STARTER
    starter.write_bytes(starter.read_bytes().replace(DRIFT_OLD, DRIFT_NEW))
    result: Run = infralens(repo, "--fix")
    assert f"fixed {LAB}" in result.stderr


def test_fix_never_writes_outside_the_repository(repo: Path) -> None:
    page, starter = repo / LAB, repo / STARTER
    outside = repo.parent / "elsewhere.md"
    page.rename(outside)
    page.symlink_to(outside)
    starter.write_bytes(starter.read_bytes().replace(DRIFT_OLD, DRIFT_NEW))
    before = outside.read_bytes()
    result = infralens(repo, "--fix")
    assert result.returncode == 1
    assert "outside the repository" in result.stderr
    assert outside.read_bytes() == before
    assert page.is_symlink()


def test_further_reading_generated_under_a_last_heading_without_newline(
    repo: Path,
) -> None:
    page = repo / LAB
    data = page.read_bytes()
    heading = data.index(b"## Further reading")
    page.write_bytes(data[: heading + len(b"## Further reading")])
    fixed = fix_cleanly(repo)
    assert fixed == data


def test_further_reading_generated_above_text_keeps_it_apart(repo: Path) -> None:
    page = repo / LAB
    data = page.read_bytes()
    heading = data.index(b"## Further reading")
    page.write_bytes(data[:heading] + b"## Further reading\nSee also the handbook.\n")
    fixed = fix_cleanly(repo)
    assert fixed.endswith(b"(official)\n\nSee also the handbook.\n")
    assert fixed[:heading] == data[:heading]


def test_write_atomic_uses_a_temporary_file_beside_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "page.md"
    target.write_bytes(b"old\n")
    target.chmod(0o604)
    made: list[str] = []
    real_mkstemp = fix.tempfile.mkstemp

    def recording_mkstemp(**kwargs: str) -> tuple[int, str]:
        handle, name = real_mkstemp(**kwargs)
        made.append(name)
        return handle, name

    monkeypatch.setattr(fix.tempfile, "mkstemp", recording_mkstemp)
    fix.write_atomic(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert target.stat().st_mode & 0o7777 == 0o604
    [temporary] = made
    assert Path(temporary).parent == tmp_path
    assert not Path(temporary).exists()


def test_write_atomic_leaves_the_old_file_whole_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "page.md"
    target.write_bytes(b"old\n")

    def failing_fsync(_fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(fix.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        fix.write_atomic(target, b"new\n")
    assert target.read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.md"]
