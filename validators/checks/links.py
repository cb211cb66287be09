"""Links: relative links between pages and to files resolve, and so do `#anchors`."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

from validators.diagnostics import Finding, Severity, at
from validators.markdown import Link, parser, read_structure
from validators.page import Page
from validators.paths import resolve_link
from validators.project import Project
from validators.registry import Check, Rule
from validators.text import SourceText

RULES = (
    Rule(
        "IL401",
        "link-broken",
        "A relative link names a file or folder that exists inside the repository.",
        Severity.ERROR,
        "A broken link strands the reader mid-lesson.",
        "[section](../handbook/no-such-page.md)\n",
        "[section](../handbook/expert-parallel-routing.md)\n",
    ),
    Rule(
        "IL402",
        "anchor-broken",
        "A `#anchor` names a heading of the page it points to.",
        Severity.ERROR,
        "Renamed headings break anchors silently.",
        "[see](#no-such-heading)\n",
        "[see](#mental-model)\n",
    ),
)


def run(page: Page, project: Project) -> Iterator[Finding]:
    for link in page.structure.links:
        try:
            parts = urlsplit(link.target)
        except ValueError as error:
            yield at(
                page.path,
                link.line,
                link.column,
                "IL401",
                f"link `{link.target}` is not a valid URL ({error})",
            )
            continue
        if parts.scheme or parts.netloc:
            continue
        yield from _link_findings(
            page, project, link, unquote(parts.path), unquote(parts.fragment)
        )


def _link_findings(
    page: Page, project: Project, link: Link, path: str, fragment: str
) -> Iterator[Finding]:
    target = page.path
    if path:
        target, resolved = resolve_link(project.root, page.path, path)
        if resolved.path is None:
            yield at(page.path, link.line, link.column, "IL401", resolved.problem)
            return
        if not resolved.path.exists():
            yield at(
                page.path,
                link.line,
                link.column,
                "IL401",
                f"link `{link.target}` points to `{target}`, which does not exist",
            )
            return
    if fragment and target.endswith(".md"):
        anchors = _anchors(project, target)
        if anchors is not None and fragment not in anchors:
            yield at(
                page.path,
                link.line,
                link.column,
                "IL402",
                f"`{target}` has no heading with anchor `#{fragment}`",
                "anchors are heading texts in lower case, punctuation removed, spaces as `-`",
            )


def _anchors(project: Project, target: str) -> set[str] | None:
    page = project.pages.get(target)
    if page is not None:
        return page.structure.anchors()
    loaded = project.source(target)
    if loaded is None or not isinstance(loaded.text, SourceText):
        return None
    return read_structure(
        parser().parse(loaded.text.normalized()), loaded.text.lines
    ).anchors()


CHECK = Check("links", RULES, run)
