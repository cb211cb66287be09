"""One self-contained HTML file: inline CSS, inline SVG charts, no scripts, no fonts
or images from anywhere, and no links out (URLs are shown as text). It opens from a
file, offline, the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from validators.audit.consistency import KINDS
from validators.audit.model import Audit, Cell, ClaimShare
from validators.audit.render.common import (
    SHARE_KINDS,
    SHARE_LABELS,
    finding_counts,
    guarantee_names,
    inventory_items,
    location,
    mode,
    percent,
    share_counts,
)
from validators.audit.render.svg import Series, bars, stacked_bars

SYMBOLS = {"pass": "✓", "warn": "!", "fail": "✗", "not-run": "\u2013"}
LABELS = {"pass": "pass", "warn": "warn", "fail": "fail", "not-run": "not run"}
SHARE_COLORS = {
    "official": "#0b6e4f",
    "paper": "#3b8ea5",
    "practical": "#e0a526",
    "uncited": "#c0392b",
}
TOP_REFERENCES = 15

CSS = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --pass: #1a7f37; --pass-bg: #dafbe1; --warn: #8a5a00; --warn-bg: #fff1c2;
  --fail: #b42318; --fail-bg: #ffe4e1; --not-run: #59636e; --not-run-bg: #eef1f4; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f8fa; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Helvetica Neue", Arial,
  "Noto Sans", "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 28px 48px; }
h1 { font-size: 26px; margin: 0; }
h2 { font-size: 19px; margin: 0 0 12px; }
.meta { color: var(--muted); margin: 4px 0 20px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px;
  padding: 18px 20px; margin: 0 0 18px; overflow-x: auto; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(104px, 1fr));
  gap: 10px; background: none; border: 0; padding: 0; }
.tile { background: #fff; border: 1px solid var(--line); border-radius: 10px;
  padding: 10px 12px; }
.tile b { display: block; font-size: 24px; line-height: 1.2; }
.tile span { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-size: 13px; color: var(--muted); font-weight: 600; white-space: nowrap; }
td.kind code { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas,
  "DejaVu Sans Mono", monospace; overflow-wrap: anywhere; }
.lab-title { font-weight: 600; }
.lab-id { color: var(--muted); font-size: 12px; }
td.status { text-align: center; min-width: 96px; }
.badge { display: inline-block; min-width: 78px; padding: 2px 8px; border-radius: 12px;
  font-size: 13px; font-weight: 600; }
.badge small { display: block; font-weight: 400; font-size: 11px; line-height: 1.3; }
.s-pass { color: var(--pass); background: var(--pass-bg); }
.s-warn { color: var(--warn); background: var(--warn-bg); }
.s-fail { color: var(--fail); background: var(--fail-bg); }
.s-not-run { color: var(--not-run); background: var(--not-run-bg); }
.legend-row { color: var(--muted); font-size: 13px; margin-top: 10px; }
.legend-row .badge { min-width: 0; margin-right: 6px; }
.kinds { display: flex; flex-wrap: wrap; gap: 6px; margin: 0 0 12px; padding: 0;
  list-style: none; }
.kinds li { border: 1px solid var(--line); border-radius: 12px; padding: 1px 10px;
  font-size: 13px; }
.kinds li.hit { border-color: var(--fail); color: var(--fail); font-weight: 600; }
.kinds li.zero { color: var(--muted); }
.lead { font-size: 16px; margin: 0 0 10px; }
.lead b { font-size: 22px; }
svg.chart { display: block; margin: 6px 0 14px; max-width: 100%; height: auto; }
svg .label, svg .value, svg .legend, svg .muted { font: 12px system-ui, "DejaVu Sans",
  sans-serif; fill: #1f2328; }
svg .muted { fill: #59636e; }
svg .inside { font: 600 11px system-ui, "DejaVu Sans", sans-serif; fill: #fff; }
svg .empty { fill: #eef1f4; }
.note { color: var(--muted); font-size: 13px; }
footer { color: var(--muted); font-size: 12px; text-align: center; }
"""


def render(audit: Audit, *, color: bool = False) -> str:
    body = [
        "<header><h1>InfraLens audit</h1>",
        f'<p class="meta">{escape(audit.generated)} · {escape(mode(audit))}</p></header>',
        _tiles(audit),
        _lab_matrix(audit),
        _section_matrix(audit),
        _citation_health(audit),
        _reference_use(audit),
        _findings(audit),
        "<footer>Written by <code>infralens audit</code>. This file loads nothing: "
        "styles and charts are inline.</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>InfraLens audit, {escape(audit.generated)}</title>"
        f"<style>{CSS}</style></head><body><main>\n"
        + "\n".join(body)
        + "\n</main></body></html>\n"
    )


def prose(text: str) -> str:
    """Escaped text whose `backticked` parts become ``<code>``, as in the messages."""
    parts = escape(text).split("`")
    if len(parts) % 2 == 0:  # an unmatched backtick: show the text as it is
        return escape(text)
    return "".join(
        f"<code>{part}</code>" if index % 2 else part
        for index, part in enumerate(parts)
    )


def _tiles(audit: Audit) -> str:
    tiles = "".join(
        f'<div class="tile"><b>{count}</b><span>{escape(name)}</span></div>'
        for name, count in inventory_items(audit)
    )
    return f'<section class="tiles" aria-label="Inventory">{tiles}</section>'


def _badge(cell: Cell | None) -> str:
    if cell is None:
        return '<td class="status">—</td>'
    detail = f"<small>{escape(cell.detail)}</small>" if cell.detail else ""
    return (
        f'<td class="status"><span class="badge s-{cell.status}" '
        f'title="{escape(cell.detail or LABELS[cell.status])}">'
        f"{SYMBOLS[cell.status]} {LABELS[cell.status]}{detail}</span></td>"
    )


def _head(columns: Sequence[str], numeric: Sequence[str] = ()) -> str:
    cells = "".join(
        f"<th{' class=num' if name in numeric else ''}>{escape(name)}</th>"
        for name in columns
    )
    return f"<thead><tr>{cells}</tr></thead>"


def _legend() -> str:
    badges = "".join(
        f'<span class="badge s-{status}">{SYMBOLS[status]} {LABELS[status]}</span>'
        for status in SYMBOLS
    )
    return (
        f'<p class="legend-row">{badges} Statuses come from the checks '
        "<code>infralens check</code> runs: schema IL0xx, starters IL1xx, excerpts "
        "IL2xx, claims IL3xx, links IL4xx, execution IL5xx.</p>"
    )


def _lab_matrix(audit: Audit) -> str:
    names = guarantee_names(labs=True)
    rows = "".join(
        f'<tr><td class="num">{lab.number or "?"}</td><td>'
        f'<div class="lab-title">{escape(lab.title)}</div>'
        f'<div class="lab-id"><code>{escape(lab.id)}</code></div></td>'
        + "".join(_badge(lab.cell(name)) for name in names)
        + "</tr>"
        for lab in audit.labs
    )
    table = (
        f"<table>{_head(['#', 'lab', *names], ['#'])}<tbody>{rows}</tbody></table>"
        if rows
        else '<p class="note">No labs.</p>'
    )
    return f"<section><h2>Guarantees per lab</h2>{table}{_legend()}</section>"


def _section_matrix(audit: Audit) -> str:
    names = guarantee_names(labs=False)
    rows = "".join(
        f"<tr><td><code>{escape(s.id)}</code></td><td>"
        + (", ".join(f"<code>{escape(lab)}</code>" for lab in s.labs) or "none")
        + "</td>"
        + "".join(_badge(s.cell(name)) for name in names)
        + "</tr>"
        for s in audit.sections
    )
    table = (
        f"<table>{_head(['section', 'labs', *names])}<tbody>{rows}</tbody></table>"
        if rows
        else '<p class="note">No handbook sections.</p>'
    )
    return f"<section><h2>Handbook sections</h2>{table}</section>"


def _citation_health(audit: Audit) -> str:
    series = [Series(k, SHARE_LABELS[k], SHARE_COLORS[k]) for k in SHARE_KINDS]
    names = page_names(audit)
    rows = [
        (names.get(share.page, share.page), share_counts(share), _backed(share))
        for share in audit.citations
    ]
    rows.append(("Overall", share_counts(audit.overall), _backed(audit.overall)))
    chart = stacked_bars("Claims by the strongest source each cites", rows, series)
    lead = (
        f'<p class="lead"><b>{percent(audit.overall.backed_share)}</b> of '
        f"{audit.overall.claims} claims rest on official docs or papers.</p>"
    )
    return (
        "<section><h2>Citation health</h2>"
        + lead
        + chart
        + _share_table(audit)
        + '<p class="note">Each claim counts once, under the strongest source it '
        "cites: official docs, then papers, then practical sources; uncited when "
        "no citation resolves.</p></section>"
    )


def page_names(audit: Audit) -> dict[str, str]:
    """Short chart labels: ``Lab 6: Expert Parallel Routing``, ``Handbook: ...``."""
    names = {lab.path: f"Lab {lab.number or '?'}: {lab.title}" for lab in audit.labs}
    names.update({s.path: f"Handbook: {s.title}" for s in audit.sections})
    return names


def _backed(share: ClaimShare) -> str:
    return f"{percent(share.backed_share)} backed"


def _share_table(audit: Audit) -> str:
    columns = ["page", "claims", *(SHARE_LABELS[k] for k in SHARE_KINDS), "backed"]
    rows = "".join(
        _share_row(name, share)
        for name, share in [
            *((s.page, s) for s in audit.citations),
            ("overall", audit.overall),
        ]
    )
    return f"<table>{_head(columns, columns[1:])}<tbody>{rows}</tbody></table>"


def _share_row(name: str, share: ClaimShare) -> str:
    numbers = [share.claims, *share_counts(share).values()]
    cells = "".join(f'<td class="num">{n}</td>' for n in numbers)
    backed = f'<td class="num">{percent(share.backed_share)}</td>'
    return f"<tr><td><code>{escape(name)}</code></td>{cells}{backed}</tr>"


def _reference_use(audit: Audit) -> str:
    top = audit.references[:TOP_REFERENCES]
    chart = bars(
        "Claims each reference supports",
        [(", ".join(use.ids), use.claims) for use in top],
        "#3b8ea5",
    )
    rows = "".join(
        f'<tr><td class="num">{use.claims}</td><td>{escape("/".join(use.kinds))}</td>'
        f"<td><code>{escape(', '.join(use.ids))}</code></td>"
        f"<td>{escape(' / '.join(use.titles))}<br><code>{escape(use.url)}</code></td>"
        f"<td>{len(use.pages)}</td></tr>"
        for use in audit.references
    )
    head = _head(["claims", "kind", "id", "title and URL", "pages"], ["claims"])
    body = f"{chart}<table>{head}<tbody>{rows}</tbody></table>" if rows else ""
    return (
        "<section><h2>Claims each reference supports</h2>"
        + (body or '<p class="note">No references.</p>')
        + "</section>"
    )


def _findings(audit: Audit) -> str:
    summaries = {kind.name: kind.summary for kind in KINDS}
    chips = "".join(
        f'<li class="{"hit" if n else "zero"}" title="{escape(summaries[kind])}">'
        f"{escape(kind)} {n}</li>"
        for kind, n in finding_counts(audit)
    )
    rows = "".join(
        f'<tr><td class="kind"><code>{escape(f.kind)}</code></td>'
        f"<td><code>{escape(location(f.path, f.line))}</code></td>"
        f"<td>{prose(f.message)}"
        + (f'<div class="note">{prose(f.hint)}</div>' if f.hint else "")
        + "</td></tr>"
        for f in audit.findings
    )
    table = (
        f"<table>{_head(['kind', 'where', 'what'])}<tbody>{rows}</tbody></table>"
        if rows
        else '<p class="note">No inconsistencies across files.</p>'
    )
    return (
        f"<section><h2>Findings across files ({len(audit.findings)})</h2>"
        f'<ul class="kinds">{chips}</ul>{table}</section>'
    )
