"""The audit as JSON for machines. Schema, version 1::

    {
      "version": 1,
      "generated": "YYYY-MM-DD",         # the day ages are counted to
      "executed": bool,                  # false under --no-exec (cache only)
      "stale_after_days": int,
      "guarantees": [{"name": str, "codes": "IL0xx", "title": str,
                      "labs_only": bool}],
      "finding_kinds": [{"name": str, "summary": str}],
      "inventory": {"labs", "handbook_sections", "starters", "routing_starters",
                    "invariants", "excerpts", "claims", "references",
                    "distinct_urls": int},
      "labs": [{                          # ordered by number, then path
        "id": str, "path": str, "number": int | null, "title": str,
        "handbook_section": str | null,
        "counts": {"starters", "excerpts", "claims", "references", "invariants": int},
        "guarantees": {                   # every guarantee, keyed by name
          "schema" | "starters" | "excerpts" | "claims" | "links" | "execution": {
            "status": "pass" | "warn" | "fail" | "not-run",
            "errors": int, "warnings": int, "codes": [str], "detail": str}}}],
      "handbook_sections": [{"id", "path", "title": str, "labs": [str],
        "counts": {...as for labs},
        "guarantees": {"schema" | "excerpts" | "claims" | "links": {...}}}],
      "starters": [{"path", "lab", "role": str, "checks": str | null,
                    "invariants": int,
                    "cache": "passed" | "failed" | "missing" | null}],  # null: support
      "findings": [{"kind": str, "path": str, "line": int | null,  # null: whole file
                    "message": str, "hint": str}],
      "summary": {"findings": int, "by_kind": {kind: int},       # every kind listed
                  "check_findings": int},                         # infralens check's
      "citations": {
        "pages": [{"page": str, "claims", "official", "paper", "practical",
                   "uncited", "backed": int, "backed_share": float | null}],
        "overall": {...as a page, without "page"},
        "references": [{"url": str, "kinds": [str], "titles": [str], "ids": [str],
                        "pages": [str], "claims": int}]}       # most claims first
    }

A claim counts once, under the strongest kind of source it cites (official, then
paper, then practical; ``uncited`` when no citation resolves); ``backed`` is official
plus paper. Fields are only ever added; a change to existing ones bumps ``version``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from validators.audit.consistency import KINDS
from validators.audit.model import (
    GUARANTEES,
    Audit,
    Cell,
    ClaimShare,
    LabEntry,
    SectionEntry,
)
from validators.audit.render.common import finding_counts

VERSION = 1


def render(audit: Audit, *, color: bool = False) -> str:
    return json.dumps(document(audit), indent=2, ensure_ascii=False) + "\n"


def document(audit: Audit) -> dict[str, Any]:
    return {
        "version": VERSION,
        "generated": audit.generated,
        "executed": audit.executed,
        "stale_after_days": audit.stale_after_days,
        "guarantees": [
            {
                "name": g.name,
                "codes": f"{g.prefix}xx",
                "title": g.title,
                "labs_only": g.labs_only,
            }
            for g in GUARANTEES
        ],
        "finding_kinds": [{"name": k.name, "summary": k.summary} for k in KINDS],
        "inventory": asdict(audit.inventory),
        "labs": [_lab(lab) for lab in audit.labs],
        "handbook_sections": [_section(section) for section in audit.sections],
        "starters": [asdict(starter) for starter in audit.starters],
        "findings": [{**asdict(f), "line": f.line or None} for f in audit.findings],
        "summary": {
            "findings": len(audit.findings),
            "by_kind": dict(finding_counts(audit)),
            "check_findings": audit.check_findings,
        },
        "citations": {
            "pages": [_share(share) for share in audit.citations],
            "overall": _share(audit.overall),
            "references": [asdict(use) for use in audit.references],
        },
    }


def _lab(lab: LabEntry) -> dict[str, Any]:
    return {
        "id": lab.id,
        "path": lab.path,
        "number": lab.number,
        "title": lab.title,
        "handbook_section": lab.handbook_section,
        "counts": asdict(lab.counts),
        "guarantees": _cells(lab.cells),
    }


def _section(section: SectionEntry) -> dict[str, Any]:
    return {
        "id": section.id,
        "path": section.path,
        "title": section.title,
        "labs": list(section.labs),
        "counts": asdict(section.counts),
        "guarantees": _cells(section.cells),
    }


def _cells(cells: tuple[Cell, ...]) -> dict[str, Any]:
    return {
        cell.guarantee: {
            "status": cell.status,
            "errors": cell.errors,
            "warnings": cell.warnings,
            "codes": list(cell.codes),
            "detail": cell.detail,
        }
        for cell in cells
    }


def _share(share: ClaimShare) -> dict[str, Any]:
    page = {"page": share.page} if share.page else {}
    return {
        **page,
        "claims": share.claims,
        "official": share.official,
        "paper": share.paper,
        "practical": share.practical,
        "uncited": share.uncited,
        "backed": share.backed,
        "backed_share": share.backed_share,
    }
