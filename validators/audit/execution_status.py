"""Execution status from the execution cache: does each routing starter have a
deterministic passing result stored for its *current* content?

The cache (``validators.execution.cache``) names a result by ``job_key(job)``: a
digest of the files a job runs and imports, the invariants it must prove, its limits
and launch, the interpreter, the tools and the isolation. The audit has ``run_labs``'
own planner build the same jobs and looks their keys up; it never runs anything.

A routing starter is ``passed`` when every job planned for it (a run per world size,
and its checks) is stored and passed; ``failed`` when any stored one failed;
``missing`` otherwise, including when it would not run here (a requirement missing).
"""

from __future__ import annotations

from schema.models import LabFrontmatter, Starter, StarterRole
from validators.audit.model import CacheState
from validators.checks import execution
from validators.execution.cache import ExecCache, Result
from validators.execution.runner import InvariantReport, Job
from validators.page import Page
from validators.project import Project


def cache_states(project: Project) -> dict[str, CacheState]:
    """Routing starter path → what the cache holds for its current content."""
    cache = ExecCache(project.root)
    return {
        starter.path: cached_state(cache, starter_jobs(project, page, index))
        for page, index, starter in _routing(project)
    }


def cached_state(cache: ExecCache, jobs: list[Job]) -> CacheState:
    if not jobs:
        return "missing"
    results = [cache.get(cache.key_for(job)) for job in jobs]
    if any(result is not None and not passed(result) for result in results):
        return "failed"
    return "missing" if None in results else "passed"


def passed(result: Result) -> bool:
    if isinstance(result, InvariantReport):
        return result.ok and not result.unbound and not result.collect_errors
    return result.ok


def starter_jobs(project: Project, page: Page, index: int) -> list[Job]:
    """The jobs `infralens check` plans for the page's ``index``-th starter.

    ``run_labs``' own planner builds them, so the keys cannot drift from the ones
    results were stored under. A starter that would not run (a missing file or
    requirement) plans no job.
    """
    starter = page.model.starters[index]
    paths = [starter.path, *([starter.checks] if starter.checks else [])]
    if not all(execution.runnable(project, path) for path in paths):
        return []
    if execution.missing_requirements(starter.requires):
        return []
    return execution.plan_jobs(project, starter)


def _routing(project: Project) -> list[tuple[Page, int, Starter]]:
    return [
        (page, index, starter)
        for page in sorted(project.labs, key=lambda page: page.path)
        if isinstance(page.model, LabFrontmatter)
        for index, starter in enumerate(page.model.starters)
        if starter.role is StarterRole.ROUTING
    ]
