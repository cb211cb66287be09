"""The audit as plain, immutable values: what every renderer receives.

A *guarantee* is one family of checks, named by the hundreds of its rule codes
(``IL0xx`` schema and structure, ``IL1xx`` starters, ``IL2xx`` excerpts, ``IL3xx``
claims, ``IL4xx`` links, ``IL5xx`` execution). Each page gets one ``Cell`` per
guarantee that applies to it, with a status:

``pass``     the checks ran and found nothing;
``warn``     they found warnings only;
``fail``     they found at least one error;
``not-run``  they could not run (frontmatter that did not load, ``--no-exec`` with no
             cached result, no routing starter to run); ``detail`` says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["pass", "warn", "fail", "not-run"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "not-run")

CacheState = Literal["passed", "failed", "missing"]
"""A routing starter's cached execution: a pass or a failure for its current content,
or no deterministic result stored for it."""


@dataclass(frozen=True, slots=True)
class Guarantee:
    name: str
    prefix: str
    title: str
    labs_only: bool = False
    """True when it applies to lab pages only (handbook pages have no starters)."""

    def covers(self, code: str) -> bool:
        return code.startswith(self.prefix)


GUARANTEES: tuple[Guarantee, ...] = (
    Guarantee("schema", "IL0", "Frontmatter and structure"),
    Guarantee("starters", "IL1", "Starter files", labs_only=True),
    Guarantee("excerpts", "IL2", "Excerpts equal their sources"),
    Guarantee("claims", "IL3", "Claims cite sources"),
    Guarantee("links", "IL4", "Links resolve"),
    Guarantee("execution", "IL5", "Starters run, invariants hold", labs_only=True),
)


@dataclass(frozen=True, slots=True)
class Cell:
    """One page's status on one guarantee."""

    guarantee: str
    status: Status
    errors: int = 0
    warnings: int = 0
    codes: tuple[str, ...] = ()
    """Distinct rule codes found, sorted."""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Counts:
    starters: int = 0
    excerpts: int = 0
    claims: int = 0
    references: int = 0
    invariants: int = 0


@dataclass(frozen=True, slots=True)
class LabEntry:
    id: str
    path: str
    number: int | None
    title: str
    handbook_section: str | None
    counts: Counts
    cells: tuple[Cell, ...]

    def cell(self, guarantee: str) -> Cell | None:
        return next((c for c in self.cells if c.guarantee == guarantee), None)


@dataclass(frozen=True, slots=True)
class SectionEntry:
    id: str
    path: str
    title: str
    labs: tuple[str, ...]
    """Ids of the labs whose `handbook_section` names this page."""
    counts: Counts
    cells: tuple[Cell, ...]

    def cell(self, guarantee: str) -> Cell | None:
        return next((c for c in self.cells if c.guarantee == guarantee), None)


@dataclass(frozen=True, slots=True)
class StarterEntry:
    path: str
    lab: str
    role: str
    checks: str | None
    invariants: int
    cache: CacheState | None
    """Routing starters only: what the execution cache holds for the current content."""


@dataclass(frozen=True, slots=True)
class Inventory:
    labs: int
    handbook_sections: int
    starters: int
    routing_starters: int
    excerpts: int
    claims: int
    references: int
    """Reference entries across all pages."""
    distinct_urls: int
    invariants: int


@dataclass(frozen=True, slots=True, order=True)
class AuditFinding:
    """An inconsistency across files; ``line`` is 0 when it concerns a whole file or
    folder."""

    kind: str
    path: str
    line: int
    message: str
    hint: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class ReferenceUse:
    """One URL across the corpus, and how many claims rest on it."""

    url: str
    kinds: tuple[str, ...]
    titles: tuple[str, ...]
    ids: tuple[str, ...]
    pages: tuple[str, ...]
    claims: int


@dataclass(frozen=True, slots=True)
class ClaimShare:
    """A page's claims by the strongest kind of source each cites.

    Every claim counts once: ``official`` if it cites an official doc, else ``paper``,
    else ``practical``, else ``uncited`` (no citation that resolves).
    """

    page: str
    official: int = 0
    paper: int = 0
    practical: int = 0
    uncited: int = 0

    @property
    def claims(self) -> int:
        return self.official + self.paper + self.practical + self.uncited

    @property
    def backed(self) -> int:
        return self.official + self.paper

    @property
    def backed_share(self) -> float | None:
        """Share of claims backed by official docs or papers; None without claims."""
        return self.backed / self.claims if self.claims else None


@dataclass(frozen=True, slots=True)
class Audit:
    generated: str
    """ISO date the audit was made (stale ages are counted to it)."""
    executed: bool
    """False under ``--no-exec``: execution statuses come from the cache alone."""
    stale_after_days: int
    inventory: Inventory
    labs: tuple[LabEntry, ...]
    sections: tuple[SectionEntry, ...]
    starters: tuple[StarterEntry, ...]
    findings: tuple[AuditFinding, ...]
    references: tuple[ReferenceUse, ...]
    citations: tuple[ClaimShare, ...]
    overall: ClaimShare
    check_findings: int = 0
    """Findings of `infralens check` across all pages (they decide the cells)."""

    def kinds_present(self) -> set[str]:
        return {finding.kind for finding in self.findings}
