"""Claims and citations: every claim bullet cites a reference, every citation resolves,
facts rest on official docs or papers, and every reference is used.

Which sections hold claims is configurable (`claim_sections`); by default a lab's
Mental model, Line-by-line explanation, What to notice and Common misunderstandings,
and every bullet of a handbook page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from schema.models import HandbookFrontmatter, LabFrontmatter, ReferenceKind
from validators.diagnostics import Finding, Severity, at
from validators.markdown import Bullet
from validators.page import Page
from validators.project import Project
from validators.registry import Check, Rule

E, W = Severity.ERROR, Severity.WARNING
FACTUAL = {ReferenceKind.OFFICIAL, ReferenceKind.PAPER}

RULES = (
    Rule(
        "IL301",
        "claim-uncited",
        "Every bullet in a claim-bearing section cites at least one reference.",
        E,
        "A learner cannot check a claim that names no source.",
        "- combine restores token order.\n",
        "- combine restores token order.[^te-moe]\n",
    ),
    Rule(
        "IL302",
        "citation-unknown",
        "Every `[^id]` names a reference in the frontmatter.",
        E,
        "A citation that resolves to nothing looks sourced but is not.",
        "- claim[^no-such-ref]\n",
        "- claim[^gshard]\n",
    ),
    Rule(
        "IL303",
        "claim-practical-only",
        "A claim rests on at least one official doc or paper, not on practical sources alone.",
        E,
        "Blogs build intuition; facts need a source that is accountable for them.",
        "- claim[^some-blog]\n",
        "- claim[^gshard][^some-blog]\n",
    ),
    Rule(
        "IL304",
        "reference-uncited",
        "Every frontmatter reference is cited somewhere in the page.",
        W,
        "An uncited reference is either dead weight or a claim that lost its citation.",
        "references: [gshard] with no [^gshard] in the body\n",
        "- claim[^gshard]\n",
    ),
    Rule(
        "IL305",
        "reference-stale",
        "A version-sensitive reference was checked within the configured window (`stale_after_days`).",
        W,
        "Support matrices and APIs change; an old check date means the claim may no longer hold.",
        "version_sensitive: true\nchecked: 2020-01-01\n",
        "version_sensitive: true\nchecked: 2026-12-01\n",
    ),
    Rule(
        "IL306",
        "reference-duplicate",
        "Reference ids are unique within a page.",
        E,
        "Two references with one id make every citation of it ambiguous.",
        "- id: gshard\n- id: gshard\n",
        "- id: gshard\n- id: switch\n",
    ),
)


def run(page: Page, project: Project) -> Iterator[Finding]:
    model = page.model
    if not isinstance(model, LabFrontmatter | HandbookFrontmatter):
        return
    kinds = {ref.id: ref.kind for ref in model.references}
    yield from _duplicates(page, model)
    for citation in page.structure.citations:
        if citation.label not in kinds:
            yield at(
                page.path,
                citation.line,
                citation.column,
                "IL302",
                f"citation `[^{citation.label}]` names no reference",
                "add it to the frontmatter `references`, or cite an existing id",
            )
    for bullet in claim_bullets(page, project.config.claim_sections.get(page.kind, [])):
        yield from _bullet_findings(page, bullet, kinds)
    yield from _uncited(page, model)
    yield from _stale(page, model, project.config.stale_after_days)


def claim_bullets(page: Page, sections: list[str]) -> list[Bullet]:
    if "*" in sections:
        return list(page.structure.bullets)
    chosen = [s for s in page.structure.sections if s.heading.slug in sections]
    return [bullet for section in chosen for bullet in section.bullets]


def _bullet_findings(
    page: Page, bullet: Bullet, kinds: dict[str, ReferenceKind]
) -> Iterator[Finding]:
    if not bullet.citations:
        yield at(
            page.path,
            bullet.line,
            bullet.column,
            "IL301",
            f"claim cites no reference: {_excerpt(bullet.text)}",
            "cite an official doc or paper with `[^id]`",
        )
        return
    known = [kinds[c.label] for c in bullet.citations if c.label in kinds]
    if known and not FACTUAL.intersection(known):
        yield at(
            page.path,
            bullet.line,
            bullet.column,
            "IL303",
            f"claim rests only on practical sources: {_excerpt(bullet.text)}",
            "add an official doc or paper that supports it",
        )


def _uncited(
    page: Page, model: LabFrontmatter | HandbookFrontmatter
) -> Iterator[Finding]:
    cited = {c.label for c in page.structure.citations}
    for index, ref in enumerate(model.references):
        if ref.id not in cited:
            line, column = page.key_position(("references", index, "id"))
            yield at(
                page.path, line, column, "IL304", f"reference `{ref.id}` is never cited"
            )


def _stale(
    page: Page, model: LabFrontmatter | HandbookFrontmatter, days: int
) -> Iterator[Finding]:
    today = dt.date.today()
    for index, ref in enumerate(model.references):
        if ref.checked is not None and ref.checked > today:
            line, column = page.key_position(("references", index, "checked"))
            yield at(
                page.path,
                line,
                column,
                "IL305",
                f"reference `{ref.id}` says it was checked on {ref.checked}, a date in the future",
                "write the date it was really verified",
            )
            continue
        if ref.version_sensitive and (
            ref.checked is None or (today - ref.checked).days > days
        ):
            line, column = page.key_position(("references", index))
            age = (
                "never checked"
                if ref.checked is None
                else f"checked {(today - ref.checked).days} days ago"
            )
            yield at(
                page.path,
                line,
                column,
                "IL305",
                f"version-sensitive reference `{ref.id}` is stale ({age}, window {days} days)",
                "re-verify it against the current docs and update `checked`",
            )


def _duplicates(
    page: Page, model: LabFrontmatter | HandbookFrontmatter
) -> Iterator[Finding]:
    seen: set[str] = set()
    for index, ref in enumerate(model.references):
        if ref.id in seen:
            line, column = page.key_position(("references", index, "id"))
            yield at(
                page.path,
                line,
                column,
                "IL306",
                f"reference id `{ref.id}` is used twice",
            )
        seen.add(ref.id)


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return f"`{flat[:60]}…`" if len(flat) > 60 else f"`{flat}`"


CHECK = Check("claims", RULES, run)
