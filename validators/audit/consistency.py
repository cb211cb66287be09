"""Inconsistencies across files: what no single-page check can see.

Each kind has a stable name (what `--fail-on` takes), a one-line summary and one
generator of findings. ``KINDS`` lists them all; nothing registers itself.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from schema.models import (
    HandbookFrontmatter,
    LabFrontmatter,
    Reference,
    ReferenceKind,
    StarterRole,
)
from validators.audit.model import AuditFinding, CacheState
from validators.checks.claims import claim_bullets
from validators.execution.imports import local_imports
from validators.page import Page
from validators.project import Project

SKIPPED_NAMES = {"__pycache__", ".DS_Store"}
FACTUAL = {ReferenceKind.OFFICIAL, ReferenceKind.PAPER}


@dataclass(frozen=True)
class Facts:
    """What the kinds need beyond the project: the date, and the execution cache."""

    today: dt.date
    cache: Mapping[str, CacheState] = field(default_factory=dict)
    """Routing starter path → cached state for its current content."""


Finder = Callable[[Project, Facts], Iterable[AuditFinding]]


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    summary: str
    find: Finder


def find_all(project: Project, facts: Facts) -> list[AuditFinding]:
    return sorted(f for kind in KINDS for f in kind.find(project, facts))


def kind_names() -> tuple[str, ...]:
    return tuple(kind.name for kind in KINDS)


# --- helpers ---------------------------------------------------------------------


def _pages(project: Project) -> list[Page]:
    return [project.pages[path] for path in sorted(project.pages)]


def _labs(project: Project) -> list[tuple[Page, LabFrontmatter]]:
    return [
        (page, page.model)
        for page in _pages(project)
        if isinstance(page.model, LabFrontmatter)
    ]


def _referencing(
    project: Project,
) -> list[tuple[Page, LabFrontmatter | HandbookFrontmatter]]:
    return [
        (page, page.model)
        for page in _pages(project)
        if isinstance(page.model, LabFrontmatter | HandbookFrontmatter)
    ]


def _line(page: Page, key: tuple[str | int, ...]) -> int:
    return page.key_position(key)[0]


def _finding(
    kind: str, page: Page, key: tuple[str | int, ...], message: str, hint: str = ""
) -> AuditFinding:
    return AuditFinding(kind, page.path, _line(page, key), message, hint)


# --- orphan-starter ----------------------------------------------------------------


def orphan_starters(project: Project, facts: Facts) -> Iterator[AuditFinding]:
    code = project.root / "code"
    if not code.is_dir():
        return
    owners = {page.stem for page in project.pages.values() if page.kind == "labs"}
    used = _used_files(project)
    for entry in sorted(code.iterdir()):
        if entry.name in SKIPPED_NAMES or entry.name.startswith("."):
            continue
        if entry.is_dir() and entry.name not in owners:
            yield AuditFinding(
                "orphan-starter",
                f"code/{entry.name}/",
                0,
                f"folder `code/{entry.name}/` belongs to no lab (no lab has id `{entry.name}`)",
                "name it after a lab id, add the lab, or remove the folder",
            )
        elif entry.is_dir():
            yield from _unused_in(project.root, entry, used)
        else:
            yield AuditFinding(
                "orphan-starter",
                f"code/{entry.name}",
                0,
                f"`code/{entry.name}` lies outside every lab folder",
                "starters live under `code/<lab-id>/`",
            )


def _unused_in(root: Path, folder: Path, used: set[str]) -> Iterator[AuditFinding]:
    for path in _files_under(folder):
        relative = path.relative_to(root).as_posix()
        if relative not in used:
            yield AuditFinding(
                "orphan-starter",
                relative,
                0,
                "no lab uses this file (it is no starter, checks file, excerpt source, "
                "link target or module a starter imports)",
                "name it in the lab's `starters`, show it, or remove it",
            )


def _files_under(folder: Path) -> Iterator[Path]:
    for current, folders, files in os.walk(folder):
        folders[:] = sorted(
            d for d in folders if d not in SKIPPED_NAMES and not d.startswith(".")
        )
        for name in sorted(files):
            if (
                name not in SKIPPED_NAMES
                and not name.startswith(".")
                and not name.endswith(".pyc")
            ):
                yield Path(current) / name


def _used_files(project: Project) -> set[str]:
    """Every file a page depends on, and every repository module starters import."""
    used = {
        dep for page in project.pages.values() for dep in project.dependencies(page)
    }
    root = project.root.resolve()
    for _, model in _labs(project):
        for starter in model.starters:
            for named in filter(None, (starter.path, starter.checks)):
                used.update(_imports(root, named))
    return used


def _imports(root: Path, relative: str) -> set[str]:
    path = (root / relative).resolve()
    if not path.is_file() or path.suffix != ".py":
        return set()
    return {
        found.relative_to(root).as_posix()
        for found in local_imports(path, repo_root=root)
        if found.is_relative_to(root)
    }


# --- lab numbers -------------------------------------------------------------------


def duplicate_numbers(project: Project, facts: Facts) -> Iterator[AuditFinding]:
    first: dict[int, Page] = {}
    for page, model in _labs(project):
        earlier = first.setdefault(model.number, page)
        if earlier is not page:
            yield _finding(
                "lab-number-duplicate",
                page,
                ("number",),
                f"lab number {model.number} is also used by `{earlier.path}`",
                "give every lab its own number",
            )


def number_gaps(project: Project, facts: Facts) -> Iterator[AuditFinding]:
    numbers = {model.number for _, model in _labs(project)}
    for low, high in missing_ranges(numbers):
        skipped = f"number {low} is" if low == high else f"numbers {low} to {high} are"
        yield AuditFinding(
            "lab-number-gap",
            "content/labs/",
            0,
            f"lab {skipped} skipped (the highest is {max(numbers)})",
            "renumber the labs or write the missing ones",
        )


def missing_ranges(numbers: set[int]) -> list[tuple[int, int]]:
    """Runs of numbers from 1 to the largest that no lab has."""
    ranges: list[tuple[int, int]] = []
    for number in range(1, max(numbers, default=0) + 1):
        if number in numbers:
            continue
        if ranges and ranges[-1][1] == number - 1:
            ranges[-1] = (ranges[-1][0], number)
        else:
            ranges.append((number, number))
    return ranges


# --- handbook sections -------------------------------------------------------------


def sections_missing(project: Project, facts: Facts) -> Iterator[AuditFinding]:
    for page, model in _labs(project):
        if model.handbook_section not in project.handbook_ids:
            yield _finding(
                "handbook-section-missing",
                page,
                ("handbook_section",),
                f"handbook section `{model.handbook_section}` does not exist",
                f"create `content/handbook/{model.handbook_section}.md` or name an existing one",
            )


def sections_orphaned(project: Project, facts: Facts) -> Iterator[AuditFinding]:
    named = {model.handbook_section for _, model in _labs(project)}
    for path, page in sorted(project.pages.items()):
        if page.kind == "handbook" and page.stem not in named:
            yield AuditFinding(
                "handbook-section-orphan",
                path,
                _line(page, ("id",)) if page.model else 1,
                f"no lab names handbook section `{page.stem}`",
                "point a lab's `handbook_section` at it, or fold it into another section",
            )


# --- references --------------------------------------------------------------------


def _url_key(url: str) -> str:
    return url.rstrip("/")


def reference_conflicts(project: Project, facts: Facts) -> Iterator[AuditFinding]:
    seen: dict[str, tuple[Page, Reference]] = {}
    for page, model in _referencing(project):
        for index, ref in enumerate(model.references):
            first_page, first = seen.setdefault(_url_key(ref.url), (page, ref))
            if (first.title, first.kind) != (ref.title, ref.kind):
                yield _finding(
                    "reference-conflict",
                    page,
                    ("references", index),
                    f"`{ref.url}` is cited here as {_label(ref)} but as "
                    f"{_label(first)} in `{first_page.path}`",
                    "cite one URL with one title and one kind everywhere",
                )


def _label(ref: Reference) -> str:
    return f"`{ref.title}` ({ref.kind.value})"


def uncited_references(project: Project, facts: Facts) -> Iterator[AuditFinding]:
    for page, model in _referencing(project):
        cited = {citation.label for citation in page.structure.citations}
        for index, ref in enumerate(model.references):
            if ref.id not in cited:
                yield _finding(
                    "reference-uncited",
                    page,
                    ("references", index, "id"),
                    f"reference `{ref.id}` is never cited on this page",
                    "cite it from a claim, or remove it",
                )


def practical_only_claims(project: Project, facts: Facts) -> Iterator[AuditFinding]:
    sections = project.config.claim_sections
    for page, model in _referencing(project):
        kinds = {ref.id: ref.kind for ref in model.references}
        for bullet in claim_bullets(page, sections.get(page.kind, [])):
            known = {kinds[c.label] for c in bullet.citations if c.label in kinds}
            if known and not known & FACTUAL:
                yield AuditFinding(
                    "claim-practical-only",
                    page.path,
                    bullet.line,
                    f"claim rests only on practical sources: {_short(bullet.text)}",
                    "add an official doc or paper that supports it",
                )


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return f"`{flat[:60]}…`" if len(flat) > 60 else f"`{flat}`"


def stale_references(project: Project, facts: Facts) -> Iterator[AuditFinding]:
    window = project.config.stale_after_days
    for page, model in _referencing(project):
        for index, ref in enumerate(model.references):
            age = _age(ref, facts.today)
            if ref.version_sensitive and (age is None or age > window):
                when = "never checked" if age is None else f"checked {age} days ago"
                yield _finding(
                    "reference-stale",
                    page,
                    ("references", index),
                    f"version-sensitive reference `{ref.id}` is stale ({when}; "
                    f"window {window} days)",
                    "re-verify it against the current docs and update `checked`",
                )


def _age(ref: Reference, today: dt.date) -> int | None:
    return None if ref.checked is None else (today - ref.checked).days


# --- routing starters --------------------------------------------------------------


def routing_without_invariants(
    project: Project, facts: Facts
) -> Iterator[AuditFinding]:
    for page, model in _labs(project):
        for index, starter in enumerate(model.starters):
            if starter.role is not StarterRole.ROUTING:
                continue
            missing = [
                what
                for what, present in (
                    ("invariants", starter.invariants),
                    ("a checks file", starter.checks),
                )
                if not present
            ]
            if missing:
                yield _finding(
                    "routing-without-invariants",
                    page,
                    ("starters", index),
                    f"routing starter `{starter.path}` has no {' and no '.join(missing)}",
                    "state what it promises under `invariants` and bind checks to them",
                )


def routing_not_verified(project: Project, facts: Facts) -> Iterator[AuditFinding]:
    for page, model in _labs(project):
        for index, starter in enumerate(model.starters):
            if starter.role is not StarterRole.ROUTING:
                continue
            state = facts.cache.get(starter.path, "missing")
            if state != "passed":
                why = " (its cached run failed)" if state == "failed" else ""
                yield _finding(
                    "routing-not-verified",
                    page,
                    ("starters", index),
                    f"routing starter `{starter.path}` has no cached passing run for "
                    f"its current content{why}",
                    "run `infralens check` so its invariants run again",
                )


KINDS: tuple[Kind, ...] = (
    Kind(
        "orphan-starter",
        "A file or folder under `code/` that no lab uses.",
        orphan_starters,
    ),
    Kind(
        "lab-number-duplicate",
        "Two labs share a number.",
        duplicate_numbers,
    ),
    Kind(
        "lab-number-gap",
        "A lab number between 1 and the largest is skipped.",
        number_gaps,
    ),
    Kind(
        "handbook-section-missing",
        "A lab's `handbook_section` names no handbook page.",
        sections_missing,
    ),
    Kind(
        "handbook-section-orphan",
        "A handbook page that no lab names as its section.",
        sections_orphaned,
    ),
    Kind(
        "reference-conflict",
        "One URL cited with different titles or kinds across pages.",
        reference_conflicts,
    ),
    Kind(
        "reference-uncited",
        "A frontmatter reference its page never cites.",
        uncited_references,
    ),
    Kind(
        "claim-practical-only",
        "A claim that cites practical sources only.",
        practical_only_claims,
    ),
    Kind(
        "reference-stale",
        "A version-sensitive reference checked longer ago than `stale_after_days`.",
        stale_references,
    ),
    Kind(
        "routing-without-invariants",
        "A routing starter with no invariants or no checks file.",
        routing_without_invariants,
    ),
    Kind(
        "routing-not-verified",
        "A routing starter with no cached passing run for its current content.",
        routing_not_verified,
    ),
)
