"""Assemble the audit: the checks' findings, the cache, the inventory, the
consistency findings and the citation health, as one ``model.Audit``."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence

from schema.models import LabFrontmatter, StarterRole
from validators.audit import citations
from validators.audit.consistency import Facts, find_all
from validators.audit.guarantees import execution_cell, page_cells
from validators.audit.inventory import inventory, page_counts
from validators.audit.model import (
    Audit,
    CacheState,
    LabEntry,
    SectionEntry,
    StarterEntry,
)
from validators.diagnostics import Finding
from validators.page import Page
from validators.project import Project


def build_audit(
    project: Project,
    findings: Sequence[Finding],
    cache: Mapping[str, CacheState],
    *,
    executed: bool,
    today: dt.date,
) -> Audit:
    """``findings`` are `infralens check`'s, after selection; ``cache`` maps routing
    starters to their cached state, read after any run this audit made."""
    by_page: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_page[finding.path].append(finding)
    pages = sorted(project.pages.values(), key=lambda page: page.path)
    shares = tuple(citations.claim_share(page, project) for page in pages)
    return Audit(
        generated=today.isoformat(),
        executed=executed,
        stale_after_days=project.config.stale_after_days,
        inventory=inventory(project, (page_counts(page, project) for page in pages)),
        labs=tuple(
            sorted(
                (
                    lab_entry(
                        page, project, by_page[page.path], cache, executed=executed
                    )
                    for page in pages
                    if page.kind == "labs"
                ),
                key=_lab_order,
            )
        ),
        sections=tuple(
            section_entry(page, project, by_page[page.path])
            for page in pages
            if page.kind == "handbook"
        ),
        starters=starter_entries(project, cache),
        findings=tuple(find_all(project, Facts(today, cache))),
        references=citations.reference_uses(project),
        citations=shares,
        overall=citations.overall(shares),
        check_findings=len(findings),
    )


def _lab_order(entry: LabEntry) -> tuple[bool, int, str]:
    return (entry.number is None, entry.number or 0, entry.path)


def lab_entry(
    page: Page,
    project: Project,
    findings: Sequence[Finding],
    cache: Mapping[str, CacheState],
    *,
    executed: bool,
) -> LabEntry:
    model = page.model if isinstance(page.model, LabFrontmatter) else None
    execution = (
        execution_cell(model, findings, cache, executed=executed) if model else None
    )
    return LabEntry(
        id=model.id if model else page.stem,
        path=page.path,
        number=model.number if model else None,
        title=model.title if model else page.stem,
        handbook_section=model.handbook_section if model else None,
        counts=page_counts(page, project),
        cells=page_cells(page, findings, execution),
    )


def section_entry(
    page: Page, project: Project, findings: Sequence[Finding]
) -> SectionEntry:
    labs = tuple(
        sorted(
            lab.model.id
            for lab in project.labs
            if lab.model.handbook_section == page.stem
        )
    )
    return SectionEntry(
        id=page.stem,
        path=page.path,
        title=getattr(page.model, "title", page.stem),
        labs=labs,
        counts=page_counts(page, project),
        cells=page_cells(page, findings, None),
    )


def starter_entries(
    project: Project, cache: Mapping[str, CacheState]
) -> tuple[StarterEntry, ...]:
    entries = []
    for lab in sorted(project.labs, key=lambda page: page.path):
        for starter in lab.model.starters:
            routing = starter.role is StarterRole.ROUTING
            entries.append(
                StarterEntry(
                    path=starter.path,
                    lab=lab.model.id,
                    role=starter.role.value,
                    checks=starter.checks,
                    invariants=len(starter.invariants),
                    cache=cache.get(starter.path, "missing") if routing else None,
                )
            )
    return tuple(entries)
