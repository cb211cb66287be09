"""Citation health: how many claims each reference supports, and how many claims rest
on official docs or papers, per page and overall."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from schema.models import HandbookFrontmatter, LabFrontmatter, Reference
from validators.audit.inventory import claims_of
from validators.audit.model import ClaimShare, ReferenceUse
from validators.markdown import Bullet
from validators.page import Page
from validators.project import Project

STRENGTH = ("official", "paper", "practical")


def strongest(bullet: Bullet, references: dict[str, Reference]) -> str:
    """The strongest kind of source a claim cites, or ``uncited``."""
    kinds = {
        references[c.label].kind.value
        for c in bullet.citations
        if c.label in references
    }
    return next((kind for kind in STRENGTH if kind in kinds), "uncited")


def claim_share(page: Page, project: Project) -> ClaimShare:
    references = _references(page)
    tally: dict[str, int] = defaultdict(int)
    for bullet in claims_of(page, project):
        tally[strongest(bullet, references)] += 1
    return ClaimShare(page.path, **tally)


def overall(shares: Iterable[ClaimShare]) -> ClaimShare:
    every = list(shares)
    return ClaimShare(
        "",
        official=sum(s.official for s in every),
        paper=sum(s.paper for s in every),
        practical=sum(s.practical for s in every),
        uncited=sum(s.uncited for s in every),
    )


def reference_uses(project: Project) -> tuple[ReferenceUse, ...]:
    """Every URL, with the claims across all pages that cite it (most used first)."""
    entries: dict[str, list[tuple[str, Reference]]] = defaultdict(list)
    claims: dict[str, int] = defaultdict(int)
    for path, page in sorted(project.pages.items()):
        references = _references(page)
        for ref in references.values():
            entries[_key(ref)].append((path, ref))
        for bullet in claims_of(page, project):
            for label in {c.label for c in bullet.citations if c.label in references}:
                claims[_key(references[label])] += 1
    uses = (_use(found, claims[url]) for url, found in entries.items())
    return tuple(sorted(uses, key=lambda use: (-use.claims, use.url)))


def _use(found: list[tuple[str, Reference]], claims: int) -> ReferenceUse:
    return ReferenceUse(
        url=found[0][1].url,
        kinds=tuple(sorted({ref.kind.value for _, ref in found})),
        titles=tuple(dict.fromkeys(ref.title for _, ref in found)),
        ids=tuple(dict.fromkeys(ref.id for _, ref in found)),
        pages=tuple(dict.fromkeys(path for path, _ in found)),
        claims=claims,
    )


def _key(ref: Reference) -> str:
    return ref.url.rstrip("/")


def _references(page: Page) -> dict[str, Reference]:
    model = page.model
    if not isinstance(model, LabFrontmatter | HandbookFrontmatter):
        return {}
    return {ref.id: ref for ref in reversed(model.references)}
