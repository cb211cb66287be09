"""Each page's status on each guarantee, from the findings `infralens check` made."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from schema.models import LabFrontmatter, StarterRole
from validators.audit.model import GUARANTEES, CacheState, Cell, Guarantee
from validators.diagnostics import Finding, Severity
from validators.page import Page

NEEDS_MODEL = {"starters", "claims", "execution"}
"""Guarantees whose checks read the frontmatter, and so cannot run without it."""


def page_cells(
    page: Page,
    findings: Sequence[Finding],
    execution: Cell | None,
) -> tuple[Cell, ...]:
    """One cell per guarantee that applies to the page; ``execution`` for labs."""
    cells = []
    for guarantee in GUARANTEES:
        if guarantee.labs_only and page.kind != "labs":
            continue
        if guarantee.name in NEEDS_MODEL and page.model is None:
            cells.append(
                Cell(guarantee.name, "not-run", detail="frontmatter did not load")
            )
        elif guarantee.name == "execution" and execution is not None:
            cells.append(execution)
        else:
            cells.append(from_findings(guarantee, findings))
    return tuple(cells)


def from_findings(
    guarantee: Guarantee, findings: Sequence[Finding], detail: str = ""
) -> Cell:
    """``fail`` on any error, ``warn`` on warnings only, ``pass`` on none."""
    mine = [f for f in findings if guarantee.covers(f.code)]
    errors = sum(f.severity is Severity.ERROR for f in mine)
    warnings = len(mine) - errors
    status = "fail" if errors else "warn" if warnings else "pass"
    return Cell(
        guarantee.name,
        status,
        errors,
        warnings,
        tuple(sorted({f.code for f in mine})),
        describe(mine) or detail,
    )


def describe(findings: Sequence[Finding]) -> str:
    """``IL201 (2), IL305`` — which codes, how often."""
    counts = Counter(f.code for f in findings)
    return ", ".join(
        code if n == 1 else f"{code} ({n})" for code, n in sorted(counts.items())
    )


def execution_cell(
    model: LabFrontmatter,
    findings: Sequence[Finding],
    cache: Mapping[str, CacheState],
    *,
    executed: bool,
) -> Cell:
    """The execution guarantee: this run's IL5xx findings, else the cache's verdict."""
    guarantee = next(g for g in GUARANTEES if g.name == "execution")
    routing = [s for s in model.starters if s.role is StarterRole.ROUTING]
    if not routing:
        return Cell("execution", "not-run", detail="no routing starter to run")
    unproved = [s.path for s in routing if not (s.invariants and s.checks)]
    if unproved and not any(f.code == "IL507" for f in findings):
        return Cell(
            "execution",
            "fail",
            errors=len(unproved),
            codes=("IL507",),
            detail=f"IL507: no invariants or checks for {', '.join(unproved)}",
        )
    if executed:
        return from_findings(guarantee, findings, "ran; every invariant held")
    return _from_cache([cache.get(s.path, "missing") for s in routing])


def _from_cache(states: Sequence[CacheState]) -> Cell:
    if "failed" in states:
        return Cell(
            "execution", "fail", errors=1, detail="cached run failed (not re-run)"
        )
    if all(state == "passed" for state in states):
        return Cell("execution", "pass", detail="cached pass for current content")
    return Cell(
        "execution", "not-run", detail="no cached passing run for current content"
    )
