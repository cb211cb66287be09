"""The flow: load the project once, pick pages, run checks, suppress, select, sort."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from validators.checks import suppressions
from validators.checks.execution_rules import RunRecord
from validators.config import Config
from validators.diagnostics import Finding
from validators.page import Page
from validators.project import Project, load_project, pages_for
from validators.registry import all_checks, all_rules
from validators.selection import finalize


@dataclass(frozen=True)
class Options:
    execute: bool = True
    use_cache: bool = True
    require_all: bool = False
    jobs: int = 0
    progress: Callable[[int, int, str], None] | None = None


@dataclass
class Outcome:
    project: Project
    checked: list[str]
    findings: list[Finding] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)


def select_pages(project: Project, paths: Sequence[str]) -> list[str]:
    """Pages named, pages under named folders, and pages that depend on named files."""
    if not paths:
        return sorted(project.pages)
    changed: list[str] = []
    for path in paths:
        folder = path.rstrip("/")
        inside = [p for p in project.pages if p.startswith(folder + "/")]
        changed.extend(inside or [folder])
        changed.extend(f for f in project.dependents if f.startswith(folder + "/"))
    return sorted(pages_for(project, changed))


def check_pages(project: Project, selected: Sequence[str], options: Options) -> Outcome:
    outcome = Outcome(project, list(selected))
    raw: dict[str, list[Finding]] = {path: [] for path in selected}
    for path in selected:
        page = project.pages[path]
        for check in all_checks():
            raw[path].extend(check.run(page, project))
    if options.execute:
        from validators.checks import execution  # the sandbox only when it is used

        records, found = execution.run_labs(
            project, [project.pages[p] for p in selected], options
        )
        outcome.runs = records
        for finding in found:
            raw.setdefault(finding.path, []).append(finding)
    findings: list[Finding] = []
    for path, page_findings in raw.items():
        page = project.pages.get(path)
        findings.extend(
            suppressions.apply(page, page_findings)
            if isinstance(page, Page)
            else page_findings
        )
    config = project.config
    if options.require_all:  # a starter that could not run fails the run
        config = config.model_copy(
            update={"severity": {**config.severity, "IL508": "error"}}
        )
    outcome.findings = finalize(findings, config, all_rules())
    return outcome


def run(root: Path, config: Config, paths: Sequence[str], options: Options) -> Outcome:
    project = load_project(root, config)
    return check_pages(project, select_pages(project, paths), options)
