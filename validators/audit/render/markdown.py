"""GitHub-flavoured Markdown, ready to post as a pull-request comment.

Nothing links into the repository (a comment has no base for relative links): paths
are code spans. Findings sit in a collapsed block when there are many.
"""

from __future__ import annotations

from collections.abc import Sequence

from validators.audit.model import Audit, Cell, ClaimShare
from validators.audit.render.common import (
    finding_counts,
    guarantee_names,
    inventory_items,
    location,
    mode,
    percent,
)

ICONS = {"pass": "✅ pass", "warn": "⚠️ warn", "fail": "❌ fail", "not-run": "⏸️ not run"}
COLLAPSE_AFTER = 10


def escape(text: str) -> str:
    """Text safe inside a table cell: pipes escaped, line breaks flattened."""
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split())


def code(text: str) -> str:
    return f"`{text}`" if "`" not in text else f"`` {text} ``"


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], align: str
) -> list[str]:
    """``align`` has one of ``l``, ``c``, ``r`` per column."""
    marks = {"l": ":--", "c": ":-:", "r": "--:"}
    return [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join(marks[a] for a in align) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def render(audit: Audit, *, color: bool = False) -> str:
    blocks = [
        "## InfraLens audit",
        f"{audit.generated} · {mode(audit)}",
        " · ".join(f"**{count}** {name}" for name, count in inventory_items(audit)),
        "### Guarantees per lab",
        *_labs(audit),
        "### Handbook sections",
        *_sections(audit),
        f"### Findings across files ({len(audit.findings)})",
        *_findings(audit),
        "### Citation health",
        *_citations(audit),
    ]
    return "\n\n".join(blocks) + "\n"


def _cell(cell: Cell | None) -> str:
    if cell is None:
        return "—"
    text = ICONS[cell.status]
    return f"{text}<br><sub>{escape(cell.detail)}</sub>" if cell.detail else text


def _labs(audit: Audit) -> list[str]:
    if not audit.labs:
        return ["_No labs._"]
    names = guarantee_names(labs=True)
    rows = [
        [
            str(lab.number or "?"),
            f"{escape(lab.title)}<br>{code(lab.id)}",
            *(_cell(lab.cell(name)) for name in names),
        ]
        for lab in audit.labs
    ]
    return ["\n".join(table(["#", "Lab", *names], rows, "rl" + "c" * len(names)))]


def _sections(audit: Audit) -> list[str]:
    if not audit.sections:
        return ["_No handbook sections._"]
    names = guarantee_names(labs=False)
    rows = [
        [
            code(s.id),
            ", ".join(code(lab) for lab in s.labs) or "_none_",
            *(_cell(s.cell(name)) for name in names),
        ]
        for s in audit.sections
    ]
    header = ["Section", "Labs", *names]
    return ["\n".join(table(header, rows, "ll" + "c" * len(names)))]


def _findings(audit: Audit) -> list[str]:
    if not audit.findings:
        return ["No inconsistencies across files."]
    summary = ", ".join(f"{code(kind)} {n}" for kind, n in finding_counts(audit) if n)
    rows = [
        [code(f.kind), code(location(f.path, f.line)), escape(f.message)]
        for f in audit.findings
    ]
    body = "\n".join(table(["Kind", "Where", "What"], rows, "lll"))
    if len(rows) > COLLAPSE_AFTER:
        body = (
            f"<details><summary>{len(rows)} findings</summary>\n\n{body}\n\n</details>"
        )
    return [summary, body]


def _citations(audit: Audit) -> list[str]:
    overall = audit.overall
    lead = (
        f"**{percent(overall.backed_share)}** of {overall.claims} claims rest on "
        "official docs or papers."
    )
    headers = ["Page", "Claims", "Official", "Paper", "Practical only", "Uncited"]
    rows = [_share_row(code(s.page), s) for s in audit.citations]
    rows.append(_share_row("**overall**", overall))
    shares = "\n".join(table([*headers, "Backed"], rows, "lrrrrrr"))
    uses = [
        [str(use.claims), "/".join(use.kinds), code(", ".join(use.ids)), code(use.url)]
        for use in audit.references
    ]
    refs = "\n".join(table(["Claims", "Kind", "Id", "URL"], uses, "rlll"))
    folded = f"<details><summary>Claims each reference supports</summary>\n\n{refs}\n\n</details>"
    return [lead, shares, folded if uses else "_No references._"]


def _share_row(name: str, share: ClaimShare) -> list[str]:
    counts = (share.claims, share.official, share.paper, share.practical, share.uncited)
    return [name, *map(str, counts), percent(share.backed_share)]
