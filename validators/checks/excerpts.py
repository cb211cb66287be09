"""Excerpts: every code block marked with `source=` shows exactly its source file (or
named region), and Further reading shows exactly the frontmatter's references.

How text is compared: marker lines are removed; the region's common leading
whitespace is removed; blank lines at the start and end are dropped; whitespace-only
lines compare equal to empty ones; line endings never matter. Everything else,
trailing spaces included, must match exactly. The source is the truth: `--fix`
rewrites the block from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from schema.models import HandbookFrontmatter, LabFrontmatter
from validators.diagnostics import Finding, Severity, at
from validators.markdown import Fence
from validators.page import Page
from validators.paths import resolve_inside
from validators.project import Project
from validators.regions import ExcerptText, closest_name, excerpt_text
from validators.registry import Check, Rule
from validators.text import DecodeFailure

E = Severity.ERROR
RULES = (
    Rule(
        "IL201",
        "excerpt-drift",
        "An excerpt equals its source file or region.",
        E,
        "A page that shows code the repository no longer has teaches something false. `--fix` rewrites it from the source.",
        "```python source=code/lab/x.py\nold line\n```\n",
        "```python source=code/lab/x.py\ncurrent line\n```\n",
    ),
    Rule(
        "IL202",
        "excerpt-source-missing",
        "An excerpt's `source=` names an existing file inside the repository.",
        E,
        "Without its source an excerpt cannot be checked or re-synced.",
        "```python source=code/lab/gone.py\n```\n",
        "```python source=code/lab/x.py\n```\n",
    ),
    Rule(
        "IL203",
        "excerpt-region-missing",
        "An excerpt's `region=` names a region its source defines.",
        E,
        "A missing region would otherwise show nothing, silently.",
        "```python source=code/lab/x.py region=dispach\n```\n",
        "```python source=code/lab/x.py region=dispatch\n```\n",
    ),
    Rule(
        "IL204",
        "region-marker-invalid",
        "Region markers in an excerpted source follow the grammar: each region opened once, closed once, uniquely named.",
        E,
        "A stray or repeated marker silently widens or empties excerpts.",
        "# region: a\n# region: a\n",
        "# region: a\n...\n# endregion: a\n",
    ),
    Rule(
        "IL205",
        "excerpt-fence-too-short",
        "An excerpt's fence is longer than any backtick or tilde run inside the excerpted text.",
        E,
        "A line of three backticks inside the code would close the block early.",
        "```\n```inside\n```\n",
        "````\n```inside\n````\n",
    ),
    Rule(
        "IL206",
        "further-reading-drift",
        "Further reading holds one footnote definition per frontmatter reference, generated from it.",
        E,
        "Footnotes render on code hosts only when defined; deriving them from the frontmatter keeps the two in step. `--fix` regenerates them.",
        "[^gshard]: GShard\n",
        "[^gshard]: [GShard: ...](https://arxiv.org/abs/2006.16668) (paper)\n",
    ),
)


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    column: int
    code: str
    message: str
    hint: str = ""


def run(page: Page, project: Project) -> Iterator[Finding]:
    for fence in excerpt_fences(page):
        expected = resolve_excerpt(project, fence)
        if isinstance(expected, Problem):
            yield from source_file_findings(project, fence.attributes["source"])
            yield at(
                page.path,
                expected.line,
                expected.column,
                expected.code,
                expected.message,
                expected.hint,
            )
            continue
        yield from _fence_length(page, fence, expected)
        yield from _drift(page, fence, expected)
    yield from _further_reading(page)


def excerpt_fences(page: Page) -> list[Fence]:
    return [fence for fence in page.structure.fences if "source" in fence.attributes]


def source_file_findings(project: Project, relative: str) -> Iterator[Finding]:
    """Problems of a file pages name, reported in that file at their own line: it
    is not UTF-8, or its region markers break the grammar."""
    if resolve_inside(project.root, relative).path is None:
        return
    loaded = project.source(relative)
    if loaded is None:
        return
    if isinstance(loaded.text, DecodeFailure):
        failure = loaded.text
        yield at(
            relative,
            failure.line,
            failure.column,
            "IL008",
            f"file is not UTF-8: {failure.reason}",
            "save the file as UTF-8",
        )
        return
    for problem in loaded.markers.problems if loaded.markers else ():
        yield at(
            relative,
            problem.line,
            problem.column,
            "IL204",
            problem.message,
            "markers are `region: NAME` and `endregion: NAME` comment lines, each region opened and closed once",
        )


def resolve_excerpt(project: Project, fence: Fence) -> ExcerptText | Problem:
    source, region = fence.attributes["source"], fence.attributes.get("region")
    resolved = resolve_inside(project.root, source)
    if resolved.path is None:
        return Problem(fence.line, 1, "IL202", f"excerpt source: {resolved.problem}")
    loaded = project.source(source)
    if loaded is None:
        return Problem(
            fence.line, 1, "IL202", f"excerpt source `{source}` does not exist"
        )
    if isinstance(loaded.text, DecodeFailure):
        failure = loaded.text
        return Problem(
            fence.line,
            1,
            "IL008",
            f"excerpt source `{source}` is not UTF-8 ({failure.reason} at `{source}:{failure.line}:{failure.column}`)",
            "save the source as UTF-8; its excerpts cannot be checked until then",
        )
    markers = loaded.markers
    if markers.problems:
        first = markers.problems[0]
        more = len(markers.problems) - 1
        return Problem(
            fence.line,
            1,
            "IL204",
            f"`{source}:{first.line}`: {first.message}"
            + (
                f" (and {more} more marker problem{'s' if more > 1 else ''})"
                if more
                else ""
            ),
            "fix the markers in the source; excerpts of it cannot be checked until then",
        )
    if region is not None and region not in markers.regions:
        guess = closest_name(region, list(markers.regions))
        hint = (
            f"did you mean `{guess}`?"
            if guess
            else "regions: " + ", ".join(sorted(markers.regions))
            if markers.regions
            else "the source defines no regions"
        )
        return Problem(
            fence.line, 1, "IL203", f"`{source}` has no region named `{region}`", hint
        )
    return excerpt_text(loaded.text.lines, markers, region)


def required_fence(fence: Fence, expected: ExcerptText) -> str:
    """The shortest fence of the block's own character that no line inside can close."""
    char = fence.markup[0]
    longest = max(
        (_leading_run(line.lstrip(), char) for line in expected.lines), default=0
    )
    return char * max(
        3, longest + 1, len(fence.markup) if longest < len(fence.markup) else 0
    )


_CHAR_NAMES = {"`": "backticks", "~": "tildes"}


def _leading_run(line: str, char: str) -> int:
    return len(line) - len(line.lstrip(char))


def _fence_length(page: Page, fence: Fence, expected: ExcerptText) -> Iterator[Finding]:
    needed = required_fence(fence, expected)
    if len(needed) > len(fence.markup):
        yield at(
            page.path,
            fence.line,
            fence.indent + 1,
            "IL205",
            f"the excerpted text has a line starting with {len(needed) - 1} {_CHAR_NAMES[fence.markup[0]]}; this fence of {len(fence.markup)} would close early",
            f"open and close the block with `{needed}` (`--fix` does this)",
        )


def shown_lines(fence: Fence) -> list[str]:
    """The lines a closed block shows, whitespace-only ones as empty."""
    shown = fence.content.split("\n")[:-1] if fence.content else []
    return [line if line.strip() else "" for line in shown]


def first_difference(fence: Fence, expected: ExcerptText) -> int | None:
    """Index of the first line where a closed block differs from its source."""
    shown = shown_lines(fence)
    # markdown-it reads NUL as U+FFFD; the source's NUL is shown that way.
    wanted = [line.replace("\0", "\ufffd") for line in expected.lines]
    if shown == wanted:
        return None
    return next(
        (i for i, (a, b) in enumerate(zip(shown, wanted, strict=False)) if a != b),
        min(len(shown), len(wanted)),
    )


def needs_rewrite(fence: Fence, expected: ExcerptText) -> bool:
    """Whether `--fix` has anything to do for this block: its text or its fence."""
    too_short = len(required_fence(fence, expected)) > len(fence.markup)
    return too_short or first_difference(fence, expected) is not None


def _drift(page: Page, fence: Fence, expected: ExcerptText) -> Iterator[Finding]:
    if not fence.closed:
        yield at(
            page.path,
            fence.line,
            fence.indent + 1,
            "IL201",
            "excerpt block is never closed",
            "close it with a fence line",
        )
        return
    index = first_difference(fence, expected)
    if index is None:
        return
    shown = shown_lines(fence)
    source = fence.attributes["source"]
    page_line = fence.body_first + index
    have = repr(shown[index]) if index < len(shown) else "end of block"
    if index < len(expected.lines):
        want = (
            f"`{source}:{expected.source_lines[index]}` has {expected.lines[index]!r}"
        )
    else:
        want = f"`{source}` has nothing more"
    yield at(
        page.path,
        page_line,
        1,
        "IL201",
        f"excerpt differs from its source: page shows {have}, {want}",
        "run `infralens check --fix` to rewrite the excerpt from its source",
    )


def further_reading_lines(page: Page) -> list[str] | None:
    model = page.model
    if not isinstance(model, LabFrontmatter | HandbookFrontmatter):
        return None
    return [
        f"[^{ref.id}]: [{_escape(ref.title)}]({_url(ref.url)}) ({ref.kind.value})"
        for ref in model.references
    ]


def further_reading_span(page: Page) -> tuple[int, int] | None:
    """1-based inclusive lines of the generated block; (n, n-1) marks an empty insertion point."""
    section = next(
        (s for s in page.structure.sections if s.heading.slug == "further-reading"),
        None,
    )
    if section is None or page.source is None:
        return None
    inside = [
        f
        for f in page.structure.footnotes
        if section.heading.line < f.line <= section.last_line
    ]
    if not inside:
        return (section.heading.line + 1, section.heading.line)
    last = inside[-1].last_line
    # markdown-it counts the blank line after a definition as part of it; that line
    # separates the block from what follows and is not generated.
    while last > inside[-1].line and not page.source.lines[last - 1].strip():
        last -= 1
    return (inside[0].line, last)


def further_reading_drifts(page: Page) -> bool:
    """Whether Further reading differs from what the frontmatter generates."""
    expected = further_reading_lines(page)
    span = further_reading_span(page)
    if expected is None or span is None or page.source is None:
        return False
    shown = page.source.lines[span[0] - 1 : span[1]]
    return [line.rstrip() for line in shown if line.strip()] != expected


def foreign_reading_line(page: Page) -> int | None:
    """A non-blank line inside the generated block that is not the first line of a
    footnote definition (generated definitions are one line each): text the author
    wrote, which `--fix` must not overwrite."""
    span = further_reading_span(page)
    if span is None or page.source is None:
        return None
    generated = {f.line for f in page.structure.footnotes}
    return next(
        (
            n
            for n in range(span[0], span[1] + 1)
            if n not in generated and page.source.lines[n - 1].strip()
        ),
        None,
    )


def _further_reading(page: Page) -> Iterator[Finding]:
    expected = further_reading_lines(page)
    span = further_reading_span(page)
    if expected is None or span is None or page.source is None:
        return
    if further_reading_drifts(page):
        line = span[0] if span[1] >= span[0] else span[0] - 1
        yield at(
            page.path,
            line,
            1,
            "IL206",
            "Further reading does not match the frontmatter references",
            "run `infralens check --fix` to regenerate it",
        )
    for stray in page.structure.footnotes:
        if not span[0] <= stray.line <= span[1]:
            yield at(
                page.path,
                stray.line,
                1,
                "IL206",
                f"footnote `[^{stray.label}]` is defined outside Further reading",
                "references live in the frontmatter; Further reading is generated from them",
            )


def _escape(title: str) -> str:
    # A footnote definition is one line: a title that spans lines is joined.
    title = " ".join(title.split()) if "\n" in title or "\r" in title else title
    return title.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _url(url: str) -> str:
    return f"<{url}>" if any(char in url for char in " ()<>") else url


CHECK = Check("excerpts", RULES, run)
