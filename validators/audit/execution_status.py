"""Execution status from the execution cache: does each routing starter have a
deterministic passing result stored for its *current* content?

The cache (``validators.execution.cache``) names a result by ``job_key(job)``: a
digest of the files a job runs and imports, the invariants it must prove, its limits,
the interpreter, the tools and the isolation. The audit rebuilds the same jobs and
looks their keys up; it never runs anything itself. A routing starter is ``passed``
when its own run and its checks run are both stored and both passed, ``failed`` when
either is stored and failed, and ``missing`` otherwise.
"""

from __future__ import annotations

from pathlib import Path

from schema.models import LabFrontmatter, Starter, StarterRole
from validators.audit.model import CacheState
from validators.checks.execution import limits_from
from validators.execution.cache import ExecCache, Result
from validators.execution.runner import InvariantReport, Job
from validators.project import Project


def cache_states(project: Project) -> dict[str, CacheState]:
    """Routing starter path → what the cache holds for its current content."""
    cache = ExecCache(project.root)
    return {
        starter.path: cached_state(cache, starter_jobs(project, starter))
        for starter in _routing(project)
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


def starter_jobs(project: Project, starter: Starter) -> list[Job]:
    """The jobs `infralens check` runs for a routing starter, as the cache keys them.

    Mirrors what ``validators.checks.execution.run_labs`` plans (a starter run, and a
    checks run when invariants and a checks file are named), with its limits; a
    difference would make every lookup miss.
    """
    root = project.root
    limits = limits_from(project.config.execution, starter)
    jobs = [Job(starter.path, "starter", Path(starter.path), root, limits)]
    if starter.checks and starter.invariants:
        jobs.append(
            Job(
                starter.checks,
                "invariants",
                Path(starter.checks),
                root,
                limits,
                starter=Path(starter.path),
                expected=tuple(inv.id for inv in starter.invariants),
                statements=tuple((inv.id, inv.statement) for inv in starter.invariants),
            )
        )
    return jobs


def _routing(project: Project) -> list[Starter]:
    return [
        starter
        for page in sorted(project.labs, key=lambda page: page.path)
        if isinstance(page.model, LabFrontmatter)
        for starter in page.model.starters
        if starter.role is StarterRole.ROUTING
    ]
