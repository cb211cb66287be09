"""Inline suppression: an HTML comment (invisible when the page is rendered) on the
line right before a finding silences that finding's code there.

    <!-- infralens-ignore IL301: a definition, not a claim -->
    - MoE: mixture of experts

Several codes may be listed, separated by commas: `IL301, IL303: reason`. A reason is
required, and a suppression that silences nothing is reported (IL601), so they cannot
pile up unnoticed; one without codes or reason, or naming a code that does not exist,
is invalid (IL602). Only findings in the page body can be suppressed: a comment inside
the frontmatter is YAML, not HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from validators.diagnostics import Finding, Severity, at
from validators.page import Page
from validators.registry import Rule

_COMMENT = re.compile(r"^<!--\s*infralens-ignore\b(?P<body>.*?)-->$", re.DOTALL)
_MENTION = re.compile(r"^<!--\s*infralens-ignore\b")
_CODE = re.compile(r"^IL[0-9]{3}$")
_EXAMPLE = "write `<!-- infralens-ignore IL301: why this is fine -->`"

RULES = (
    Rule(
        "IL601",
        "suppression-unused",
        "A suppression comment silences at least one finding on its next line.",
        Severity.WARNING,
        "Stale suppressions hide future problems and mislead readers of the source. "
        "A suppression applies to the line right after the comment only.",
        "<!-- infralens-ignore IL301: reason -->\n- a cited claim[^gshard]\n",
        "<!-- infralens-ignore IL301: a definition, not a claim -->\n- MoE: mixture of experts\n",
    ),
    Rule(
        "IL602",
        "suppression-invalid",
        "A suppression comment names existing rule codes and gives a reason.",
        Severity.ERROR,
        "A suppression without a reason cannot be reviewed, and one naming a code "
        "that does not exist silences nothing.",
        "<!-- infralens-ignore IL301 -->\n- MoE: mixture of experts\n",
        "<!-- infralens-ignore IL301: a definition, not a claim -->\n- MoE: mixture of experts\n",
    ),
)


@dataclass(frozen=True, slots=True)
class Suppression:
    line: int
    target_line: int
    codes: tuple[str, ...]


def parse(text: str, known: Iterable[str]) -> tuple[str, ...] | str:
    """The codes a suppression comment names, or why it is invalid."""
    match = _COMMENT.match(text)
    if match is None:
        return "suppression comment is malformed"
    named, colon, reason = match["body"].partition(":")
    codes = tuple(code for code in re.split(r"[\s,]+", named.strip()) if code)
    if not codes:
        return "suppression names no rule code"
    for code in codes:
        if not _CODE.match(code):
            return f"suppression names `{code}`, which is not a rule code"
        if code not in known:
            return f"suppression names `{code}`, which is not a rule"
    if not colon or not reason.strip():
        return f"suppression of {', '.join(codes)} gives no reason"
    return codes


def read_suppressions(page: Page) -> tuple[list[Suppression], list[Finding]]:
    from validators.registry import all_rules

    known = set(all_rules())
    found, problems = [], []
    for first, last, text in page.structure.comments:
        if not _MENTION.match(text):
            continue
        parsed = parse(text, known)
        if isinstance(parsed, str):
            problems.append(at(page.path, first, 1, "IL602", parsed, _EXAMPLE))
        else:
            found.append(Suppression(first, last + 1, parsed))
    return found, problems


def apply(page: Page, findings: Iterable[Finding]) -> list[Finding]:
    """Drop suppressed findings; report suppressions that matched nothing."""
    suppressions, problems = read_suppressions(page)
    by_target = {s.target_line: s for s in suppressions}
    used: set[tuple[int, str]] = set()
    kept = []
    for finding in findings:
        # A comment on a page only speaks for that page's own lines.
        match = by_target.get(finding.line) if finding.path == page.path else None
        if match is None or finding.code not in match.codes:
            kept.append(finding)
        else:
            used.add((match.line, finding.code))
    kept.extend(
        at(
            page.path,
            suppression.line,
            1,
            "IL601",
            f"suppression of {code} matches no finding on line {suppression.target_line}",
            "remove it, or move it to the line right before the finding",
        )
        for suppression in suppressions
        for code in suppression.codes
        if (suppression.line, code) not in used
    )
    return kept + problems
