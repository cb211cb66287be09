"""`--fix`: rewrite excerpts and Further reading from their sources of truth.

A page is fixed all or nothing: if any excerpt on it cannot be resolved, the page is
not written. New text is spliced into the original by line ranges, so every other byte
(line endings, BOM, the author's formatting) stays as it was. The write is atomic, and
the result is re-parsed to prove it has the same blocks and is now clean.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from validators.checks import excerpts
from validators.markdown import Fence, parser, read_structure
from validators.page import Page
from validators.project import Project
from validators.text import SourceText

_LINE_WITH_ENDING = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


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
        edits.append(_fence_edit(page, fence, expected))
    reading = _reading_edit(page)
    if reading is not None:
        edits.append(reading)
    return [edit for edit in edits if _changes(page, edit)]


def _fence_edit(page: Page, fence: Fence, expected: excerpts.ExcerptText) -> Edit:
    lines = page.source.lines
    indent = " " * fence.indent
    markup = excerpts.required_fence(fence, expected)
    opening = lines[fence.line - 1]
    stripped = opening.lstrip()
    info = stripped[len(stripped) - len(stripped.lstrip(fence.markup[0])) :]
    body = tuple(indent + line if line else "" for line in expected.lines)
    return Edit(
        fence.line,
        fence.body_last + 1,
        (
            opening[: len(opening) - len(stripped)] + markup + info,
            *body,
            indent + markup,
        ),
    )


def _reading_edit(page: Page) -> Edit | None:
    expected = excerpts.further_reading_lines(page)
    span = excerpts.further_reading_span(page)
    if expected is None or span is None:
        return None
    first, last = span
    if last < first:
        return Edit(first, first - 1, ("", *expected))
    return Edit(first, last, tuple(expected))


def _changes(page: Page, edit: Edit) -> bool:
    return list(page.source.lines[edit.first - 1 : edit.last]) != list(edit.lines)


def splice(source: SourceText, edits: list[Edit]) -> str:
    """Apply edits bottom-up to the original text, new lines taking the page's ending."""
    pieces = _LINE_WITH_ENDING.findall(source.text)
    newline = source.newline
    for edit in sorted(edits, key=lambda e: e.first, reverse=True):
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
        return FixResult(page.path, changed=False, problem="page could not be read")
    edits = plan(page, project)
    if isinstance(edits, str):
        return FixResult(page.path, changed=False, problem=f"not fixed: {edits}")
    if not edits:
        return FixResult(page.path, changed=False)
    updated = SourceText(splice(page.source, edits), page.source.has_bom)
    problem = _verify(page, updated)
    if problem:
        return FixResult(page.path, changed=False, problem=f"not fixed: {problem}")
    write_atomic(project.root / page.path, updated.encode())
    return FixResult(page.path, changed=True)


def _verify(page: Page, updated: SourceText) -> str:
    """The fixed page must parse into the same blocks it had."""
    before = [f.info for f in page.structure.fences]
    after_structure = read_structure(
        parser().parse(updated.normalized()), updated.lines
    )
    after = [f.info for f in after_structure.fences]
    if before != after:
        return "the rewritten page would not keep the same code blocks"
    return ""


def write_atomic(path: Path, data: bytes) -> None:
    """Write beside the target, then replace it: a crash leaves the old file whole."""
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
