"""Aligned plain-text tables for a terminal; statuses coloured on request."""

from __future__ import annotations

from collections.abc import Sequence

from validators.audit.model import STATUSES, Audit, ClaimShare
from validators.audit.render.common import (
    cell_text,
    finding_counts,
    guarantee_names,
    inventory_items,
    location,
    mode,
    percent,
)

_STYLE = {"pass": "32", "warn": "33", "fail": "31", "not-run": "2", "title": "1"}


def paint(text: str, style: str, *, color: bool) -> str:
    code = _STYLE.get(style)
    return f"\033[{code}m{text}\033[0m" if color and code else text


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, color: bool = False
) -> list[str]:
    """Columns padded to their widest cell; status words painted after padding."""
    widths = [
        max(len(str(cell)) for cell in column)
        for column in zip(headers, *rows, strict=True)
    ]
    lines = [_row(headers, widths, color=False)]
    lines.append("  ".join("-" * width for width in widths).rstrip())
    lines += [_row(row, widths, color=color) for row in rows]
    return ["  " + line for line in lines]


def _row(cells: Sequence[str], widths: Sequence[int], *, color: bool) -> str:
    padded = (
        paint(cell.ljust(width), cell, color=color and cell in STATUSES)
        for cell, width in zip(cells, widths, strict=True)
    )
    return "  ".join(padded).rstrip()


def render(audit: Audit, *, color: bool = False) -> str:
    parts = [
        paint(f"InfraLens audit, {audit.generated}", "title", color=color),
        f"  {mode(audit)}",
        "",
        *_section("Inventory", _inventory(audit), color=color),
        *_section("Guarantees per lab", _labs(audit, color=color), color=color),
        *_section("Handbook sections", _sections(audit, color=color), color=color),
        *_section(f"Findings ({len(audit.findings)})", _findings(audit), color=color),
        *_section("Citation health", _citations(audit), color=color),
        *_section("Claims each reference supports", _references(audit), color=color),
    ]
    return "\n".join(parts).rstrip() + "\n"


def _section(title: str, body: list[str], *, color: bool) -> list[str]:
    return [paint(title, "title", color=color), *body, ""]


def _inventory(audit: Audit) -> list[str]:
    items = inventory_items(audit)
    return table([name for name, _ in items], [[str(count) for _, count in items]])


def _labs(audit: Audit, *, color: bool) -> list[str]:
    names = guarantee_names(labs=True)
    rows = [
        [str(lab.number or "?"), lab.id, *(cell_text(lab.cell(n)) for n in names)]
        for lab in audit.labs
    ]
    if not rows:
        return ["  (no labs)"]
    details = [
        f"  {lab.id} {cell.guarantee}: {cell.detail}"
        for lab in audit.labs
        for cell in lab.cells
        if cell.detail and cell.status != "pass"
    ]
    return table(["#", "lab", *names], rows, color=color) + details


def _sections(audit: Audit, *, color: bool) -> list[str]:
    names = guarantee_names(labs=False)
    rows = [
        [s.id, ", ".join(s.labs) or "(none)", *(cell_text(s.cell(n)) for n in names)]
        for s in audit.sections
    ]
    if not rows:
        return ["  (no handbook sections)"]
    return table(["section", "labs", *names], rows, color=color)


def _findings(audit: Audit) -> list[str]:
    counts = ", ".join(f"{kind} {n}" for kind, n in finding_counts(audit) if n)
    if not audit.findings:
        return ["  No inconsistencies across files."]
    rows = [[f.kind, location(f.path, f.line), f.message] for f in audit.findings]
    return [f"  {counts}", *table(["kind", "where", "what"], rows)]


def _citations(audit: Audit) -> list[str]:
    rows = [_share_row(share.page, share) for share in audit.citations]
    rows.append(_share_row("overall", audit.overall))
    headers = ["page", "claims", "official", "paper", "practical only", "uncited"]
    return table([*headers, "backed"], rows)


def _share_row(name: str, share: ClaimShare) -> list[str]:
    counts = (share.claims, share.official, share.paper, share.practical, share.uncited)
    return [name, *map(str, counts), percent(share.backed_share)]


def _references(audit: Audit) -> list[str]:
    if not audit.references:
        return ["  (no references)"]
    rows = [
        [str(use.claims), "/".join(use.kinds), ", ".join(use.ids), use.url]
        for use in audit.references
    ]
    return table(["claims", "kind", "id", "url"], rows)
