"""Every rule, in code order. Nothing registers itself: this tuple is the list."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from validators.diagnostics import Finding, Severity

if TYPE_CHECKING:
    from validators.page import Page
    from validators.project import Project


@dataclass(frozen=True, slots=True)
class Rule:
    """A stable code, and the documentation `infralens rule CODE` prints."""

    code: str
    name: str
    summary: str
    severity: Severity
    why: str
    fails: str = ""
    passes: str = ""


@dataclass(frozen=True, slots=True)
class Check:
    """One check: the rules it can emit and the pure function that finds them."""

    name: str
    rules: tuple[Rule, ...]
    run: Callable[[Page, Project], Iterable[Finding]]


def all_checks() -> tuple[Check, ...]:
    from validators.checks import claims, excerpts, links, loading, starters, structure

    return (
        loading.CHECK,
        structure.CHECK,
        starters.CHECK,
        excerpts.CHECK,
        claims.CHECK,
        links.CHECK,
    )


def all_rules() -> dict[str, Rule]:
    from validators.checks import execution_rules, suppressions

    rules = [rule for check in all_checks() for rule in check.rules]
    rules += [*execution_rules.RULES, *suppressions.RULES]
    return dict(sorted((rule.code, rule) for rule in rules))
