"""Small helpers every audit renderer shares."""

from __future__ import annotations

from collections import Counter

from validators.audit.consistency import kind_names
from validators.audit.model import GUARANTEES, Audit, Cell, ClaimShare

SHARE_KINDS = ("official", "paper", "practical", "uncited")
SHARE_LABELS = {
    "official": "official docs",
    "paper": "papers",
    "practical": "practical only",
    "uncited": "uncited",
}


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def share_counts(share: ClaimShare) -> dict[str, int]:
    return {kind: getattr(share, kind) for kind in SHARE_KINDS}


def mode(audit: Audit) -> str:
    return (
        "starters and invariant checks run (cached results reused)"
        if audit.executed
        else "execution from the cache only (--no-exec)"
    )


def finding_counts(audit: Audit) -> list[tuple[str, int]]:
    """Every kind, in catalogue order, with how many findings it has (zeros too)."""
    counts = Counter(finding.kind for finding in audit.findings)
    return [(kind, counts[kind]) for kind in kind_names()]


def location(path: str, line: int) -> str:
    return f"{path}:{line}" if line else path


def cell_text(cell: Cell | None) -> str:
    return "—" if cell is None else cell.status


def guarantee_names(*, labs: bool) -> list[str]:
    return [g.name for g in GUARANTEES if labs or not g.labs_only]


def inventory_items(audit: Audit) -> list[tuple[str, int]]:
    inv = audit.inventory
    return [
        ("labs", inv.labs),
        ("handbook sections", inv.handbook_sections),
        ("starters", inv.starters),
        ("routing starters", inv.routing_starters),
        ("invariants", inv.invariants),
        ("excerpts", inv.excerpts),
        ("claims", inv.claims),
        ("references", inv.references),
        ("distinct URLs", inv.distinct_urls),
    ]
