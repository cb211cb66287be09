"""Inline suppression: `<!-- infralens-ignore IL301: why this is fine -->` on the line
before silences that code on the next line. A reason is required, and a suppression
that silences nothing is reported, so they cannot pile up unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from validators.diagnostics import Finding, Severity, at
from validators.page import Page
from validators.registry import Rule

_COMMENT = re.compile(
    r"^<!--\s*infralens-ignore\s+(?P<codes>IL\d{3}(?:\s*,\s*IL\d{3})*)\s*(?::\s*(?P<reason>.*?))?\s*-->$",
    re.DOTALL,
)
_MENTION = re.compile(r"^<!--\s*infralens-ignore\b")

RULES = (
    Rule(
        "IL601",
        "suppression-unused",
        "A suppression comment silences at least one finding on its next line.",
        Severity.WARNING,
        "Stale suppressions hide future problems and mislead readers of the source.",
        "<!-- infralens-ignore IL301: reason -->\n- a cited claim[^gshard]\n",
        "<!-- infralens-ignore IL301: a definition, not a claim -->\n- MoE: mixture of experts\n",
    ),
    Rule(
        "IL602",
        "suppression-invalid",
        "A suppression comment names codes and gives a reason.",
        Severity.ERROR,
        "A suppression without a reason cannot be reviewed.",
        "<!-- infralens-ignore IL301 -->\n",
        "<!-- infralens-ignore IL301: a definition, not a claim -->\n",
    ),
)


@dataclass(frozen=True, slots=True)
class Suppression:
    line: int
    target_line: int
    codes: tuple[str, ...]


def read_suppressions(page: Page) -> tuple[list[Suppression], list[Finding]]:
    found, problems = [], []
    for first, last, text in page.structure.comments:
        if not _MENTION.match(text):
            continue
        match = _COMMENT.match(text)
        if match is None or not (match["reason"] or "").strip():
            problems.append(
                at(
                    page.path,
                    first,
                    1,
                    "IL602",
                    "suppression needs codes and a reason",
                    "write `<!-- infralens-ignore IL301: why this is fine -->`",
                )
            )
            continue
        codes = tuple(code.strip() for code in match["codes"].split(","))
        found.append(Suppression(first, last + 1, codes))
    return found, problems


def apply(page: Page, findings: Iterable[Finding]) -> list[Finding]:
    """Drop suppressed findings; report suppressions that matched nothing."""
    suppressions, problems = read_suppressions(page)
    used: set[tuple[int, str]] = set()
    kept = []
    for finding in findings:
        match = next(
            (
                s
                for s in suppressions
                if s.target_line == finding.line and finding.code in s.codes
            ),
            None,
        )
        if match is None:
            kept.append(finding)
        else:
            used.add((match.line, finding.code))
    for suppression in suppressions:
        for code in suppression.codes:
            if (suppression.line, code) not in used:
                kept.append(
                    at(
                        page.path,
                        suppression.line,
                        1,
                        "IL601",
                        f"suppression of {code} matches no finding on line {suppression.target_line}",
                        "remove it",
                    )
                )
    return kept + problems
