"""What the corpus holds: labs, handbook sections, starters, excerpts, claims,
references and invariants, per page and in total."""

from __future__ import annotations

from collections.abc import Iterable

from schema.models import HandbookFrontmatter, LabFrontmatter, StarterRole
from validators.audit.model import Counts, Inventory
from validators.checks.claims import claim_bullets
from validators.checks.excerpts import excerpt_fences
from validators.markdown import Bullet
from validators.page import Page
from validators.project import Project


def page_counts(page: Page, project: Project) -> Counts:
    model = page.model
    references = (
        len(model.references)
        if isinstance(model, LabFrontmatter | HandbookFrontmatter)
        else 0
    )
    starters = model.starters if isinstance(model, LabFrontmatter) else []
    return Counts(
        starters=len(starters),
        excerpts=len(excerpt_fences(page)),
        claims=len(claims_of(page, project)),
        references=references,
        invariants=sum(len(starter.invariants) for starter in starters),
    )


def claims_of(page: Page, project: Project) -> list[Bullet]:
    """The claim bullets of a page, as the claims check reads them."""
    if page.model is None:
        return []
    return claim_bullets(page, project.config.claim_sections.get(page.kind, []))


def inventory(project: Project, counts: Iterable[Counts]) -> Inventory:
    totals = list(counts)
    labs = [
        p.model for p in project.pages.values() if isinstance(p.model, LabFrontmatter)
    ]
    return Inventory(
        labs=sum(1 for page in project.pages.values() if page.kind == "labs"),
        handbook_sections=len(project.handbook_ids),
        starters=sum(c.starters for c in totals),
        routing_starters=sum(
            starter.role is StarterRole.ROUTING
            for lab in labs
            for starter in lab.starters
        ),
        excerpts=sum(c.excerpts for c in totals),
        claims=sum(c.claims for c in totals),
        references=sum(c.references for c in totals),
        distinct_urls=len(_urls(project)),
        invariants=sum(c.invariants for c in totals),
    )


def _urls(project: Project) -> set[str]:
    return {
        ref.url.rstrip("/")
        for page in project.pages.values()
        if isinstance(page.model, LabFrontmatter | HandbookFrontmatter)
        for ref in page.model.references
    }
