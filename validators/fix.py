"""`--fix`: rewrite excerpts and Further reading from their sources of truth.

A page is fixed all or nothing: if any excerpt on it cannot be resolved, the page is
not written. New text is spliced into the original by line ranges, so every other byte
(line endings, BOM, the author's formatting) stays as it was; the lines written take
the page's own line ending (the most common one where endings are mixed). The result
is re-parsed to prove it has the same blocks and is now clean, and only then written,
atomically.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from validators.checks import excerpts
from validators.markdown import Fence, Structure, structure_of
from validators.page import Page
from validators.project import Project
from validators.text import SourceText

_LINE_WITH_ENDING = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
# What a container puts before a fence on its opening line: block-quote markers
# stay on every line, list markers become the indentation of the item's content.
_QUOTE = ">"
_FIXED_CODES = {"IL201", "IL205", "IL206"}


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace 1-based lines ``first..last`` (inclusive; ``last = first - 1`` inserts)."""

    first: int
    last: int
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FixResult:
    path: str
    changed: bool
    problem: str = ""


def plan(page: Page, project: Project) -> list[Edit] | str:
    """The edits that make the page true to its sources, or why none can be made."""
    edits: list[Edit] = []
    for fence in excerpts.excerpt_fences(page):
        expected = excerpts.resolve_excerpt(project, fence)
        if isinstance(expected, excerpts.Problem):
            return f"line {expected.line}: {expected.message}"
        if not fence.closed:
            return f"line {fence.line}: excerpt block is never closed"
        if excerpts.needs_rewrite(fence, expected):
            edits.append(_fence_edit(page, fence, expected))
    reading = _reading_edit(page)
    if isinstance(reading, str):
        return reading
    if reading is not None:
        edits.append(reading)
    return [edit for edit in edits if _changes(page, edit)]


def _fence_edit(page: Page, fence: Fence, expected: excerpts.ExcerptText) -> Edit:
    opening = page.source.lines[fence.line - 1]
    at = opening.find(fence.markup)
    if at < 0:  # not on this line after all: keep the line's own indentation
        at = len(opening) - len(opening.lstrip())
    prefix, info = opening[:at], opening[at + len(fence.markup) :]
    body_prefix = "".join(c if c.isspace() or c == _QUOTE else " " for c in prefix)
    markup = excerpts.required_fence(fence, expected)
    body = tuple(
        body_prefix + line if line else body_prefix.rstrip() for line in expected.lines
    )
    return Edit(
        fence.line,
        fence.body_last + 1,
        (prefix + markup + info, *body, body_prefix + markup),
    )


def _reading_edit(page: Page) -> Edit | str | None:
    expected = excerpts.further_reading_lines(page)
    if expected and excerpts.further_reading_span(page) is None:
        # No Further reading at all: it is the last section, so it goes at the end.
        end = len(page.source.lines)
        return Edit(end + 1, end, ("", "## Further reading", "", *expected))
    if not excerpts.further_reading_drifts(page):
        return None
    expected = excerpts.further_reading_lines(page)
    span = excerpts.further_reading_span(page)
    if expected is None or span is None:
        return None
    foreign = excerpts.foreign_reading_line(page)
    if foreign is not None:
        return (
            f"line {foreign}: Further reading holds text that is not a reference "
            "footnote; move it below the footnotes so `--fix` cannot overwrite it"
        )
    first, last = span
    if last < first:
        # Inserted under the heading: blank lines keep it apart from what follows,
        # which would otherwise continue the last definition.
        lines = page.source.lines
        after = ("",) if first <= len(lines) and lines[first - 1].strip() else ()
        return Edit(first, first - 1, ("", *expected, *after))
    return Edit(first, last, tuple(expected))


def _changes(page: Page, edit: Edit) -> bool:
    return list(page.source.lines[edit.first - 1 : edit.last]) != list(edit.lines)


def splice(source: SourceText, edits: list[Edit]) -> str:
    """Apply edits bottom-up to the original text, new lines taking the page's ending."""
    pieces = _LINE_WITH_ENDING.findall(source.text)
    newline = source.newline
    for edit in sorted(edits, key=lambda e: e.first, reverse=True):
        if edit.first - 1 >= len(pieces) and pieces and not _ending(pieces[-1]):
            # Lines added after a last line that has no ending: end that line first.
            pieces[-1] += newline
        replaced = pieces[edit.first - 1 : edit.last]
        trailing = _ending(replaced[-1]) if replaced else newline
        new = [line + newline for line in edit.lines]
        if new and edit.last >= edit.first:
            new[-1] = edit.lines[-1] + trailing
        pieces[edit.first - 1 : edit.last] = new
    return "".join(pieces)


def _ending(piece: str) -> str:
    return piece[len(piece.rstrip("\r\n")) :]


def fix_page(page: Page, project: Project) -> FixResult:
    if page.source is None:
        reason = page.findings[0].message if page.findings else "page could not be read"
        return FixResult(page.path, changed=False, problem=f"not fixed: {reason}")
    edits = plan(page, project)
    if isinstance(edits, str):
        return FixResult(
            page.path, changed=False, problem=f"not fixed, page left as it was: {edits}"
        )
    if not edits:
        return FixResult(page.path, changed=False)
    updated = SourceText(splice(page.source, edits), page.source.has_bom)
    problem = _verify(page, updated, project)
    if problem:
        return FixResult(
            page.path,
            changed=False,
            problem=f"not fixed, page left as it was: {problem}",
        )
    target = project.root / page.path
    if target.is_symlink() and not target.resolve().is_relative_to(
        project.root.resolve()
    ):
        return FixResult(
            page.path,
            changed=False,
            problem="not fixed: the page is a link to a file outside the repository",
        )
    write_atomic(target.resolve(), updated.encode())
    return FixResult(page.path, changed=True)


def _verify(page: Page, updated: SourceText, project: Project) -> str:
    """The fixed page must parse into the same blocks it had, and be clean of
    everything `--fix` repairs."""
    after = structure_of(updated, page.frontmatter_end)
    if _blocks(after) != _expected_blocks(page):
        return "the rewritten page would not keep the same blocks"
    fixed = replace(page, source=updated, parsed=after, findings=[])
    left = [f for f in excerpts.run(fixed, project) if f.code in _FIXED_CODES]
    if left:
        return f"line {left[0].line}: {left[0].message} even after rewriting"
    return ""


def _expected_blocks(page: Page) -> tuple[object, ...]:
    """The blocks the page has now, plus the Further reading heading when `--fix`
    adds that missing section."""
    fences, headings, comments = _blocks(page.structure)
    if (
        excerpts.further_reading_lines(page)
        and excerpts.further_reading_span(page) is None
    ):
        headings = [*headings, (2, "Further reading")]
    return (fences, headings, comments)


def _blocks(structure: Structure) -> tuple[object, ...]:
    return (
        [(f.info, f.closed) for f in structure.fences],
        [(h.level, h.text) for h in structure.headings],
        [c[2] for c in structure.comments],
    )


def write_atomic(path: Path, data: bytes) -> None:
    """Write beside the target, then replace it: a crash leaves the old file whole,
    and the file keeps its permissions."""
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
