"""Execution: every routing starter runs, and every invariant its lab states is proved
by the checks bound to it. (Runs are filled in by `run_labs`.)"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from schema.models import LabFrontmatter, Starter, StarterRole
from validators.checks.execution_rules import RULES, RunRecord
from validators.config import ExecutionConfig
from validators.diagnostics import Finding, at
from validators.execution.cache import ExecCache
from validators.execution.launch import missing_requirements
from validators.execution.progress import ProgressLine
from validators.execution.runner import (
    NO_TEST_BOUND,
    InvariantReport,
    InvariantResult,
    Job,
    JobResult,
    run_many,
)
from validators.execution.sandbox import Limits, ProcessResult
from validators.page import Page
from validators.paths import resolve_inside

if TYPE_CHECKING:
    from validators.engine import Options
    from validators.project import Project

__all__ = ["RULES", "RunRecord", "plan_jobs", "run_labs", "runnable"]


@dataclass(frozen=True)
class _Planned:
    """A job and where on its page a finding about it belongs."""

    job: Job
    page: Page
    starter_index: int
    starter: Starter


def limits_from(config: ExecutionConfig, starter: Starter) -> Limits:
    return Limits(
        timeout_s=starter.timeout_s or config.timeout_s,
        cpu_s=config.cpu_s,
        memory_bytes=config.memory_mb * 1024 * 1024,
        output_bytes=config.output_kib * 1024,
    )


def run_labs(
    project: Project, pages: list[Page], options: Options
) -> tuple[list[RunRecord], list[Finding]]:
    """Run every routing starter of ``pages`` and its checks; findings at frontmatter lines."""
    findings: list[Finding] = []
    records: list[RunRecord] = []
    planned: list[_Planned] = []
    for page in pages:
        if not isinstance(page.model, LabFrontmatter):
            continue
        for index, starter in enumerate(page.model.starters):
            if starter.role is StarterRole.ROUTING:
                planned.extend(_plan(project, page, index, starter, findings, records))
    if not planned:
        return records, findings
    cache = ExecCache(project.root) if options.use_cache else None
    workers = options.jobs or project.config.execution.jobs or None
    with ProgressLine() as progress:
        results = run_many(
            [p.job for p in planned],
            max_workers=workers,
            progress=progress,
            cache=cache,
        )
    for plan, result in zip(planned, results, strict=True):
        findings.extend(_findings(plan, result))
        records.append(_record(plan, result))
    return records, findings


def _plan(
    project: Project,
    page: Page,
    index: int,
    starter: Starter,
    findings: list[Finding],
    records: list[RunRecord],
) -> list[_Planned]:
    line, column = page.key_position(("starters", index))
    if not starter.invariants or not starter.checks:
        findings.append(
            at(
                page.path,
                line,
                column,
                "IL507",
                f"routing starter `{starter.path}` states no invariants"
                if not starter.invariants
                else f"routing starter `{starter.path}` names no `checks` file",
                "state what it guarantees under `invariants:` and bind checks to them in `checks:`",
            )
        )
    paths = [starter.path, *([starter.checks] if starter.checks else [])]
    if not all(runnable(project, path) for path in paths):
        return []  # IL101/IL102 already say why
    missing = missing_requirements(starter.requires)
    if missing:
        note = f"{starter.path} was not run: missing {', '.join(missing)}"
        findings.append(
            at(
                page.path,
                line,
                column,
                "IL508",
                f"starter `{starter.path}` was not run: {', '.join(missing)} not installed",
                "install the requirements (for example `pip install -e '.[dist]'`)",
            )
        )
        records.append(
            RunRecord(page.path, starter.path, "starter", "not-run", note=note)
        )
        return []
    return [_Planned(job, page, index, starter) for job in plan_jobs(project, starter)]


def plan_jobs(project: Project, starter: Starter) -> list[Job]:
    """The runs a routing starter needs: one per world size, then its checks."""
    limits = limits_from(project.config.execution, starter)
    launch = starter.launch
    common = {"launcher": launch.launcher, "backend": launch.backend}
    counts = launch.processes if launch.launcher != "python" else [1]
    path = Path(starter.path)
    jobs = [
        Job(
            _job_name(starter, n),
            "starter",
            path,
            project.root,
            limits,
            processes=n,
            **common,
        )
        for n in counts
    ]
    if starter.checks and starter.invariants:
        jobs.append(
            Job(
                starter.checks,
                "invariants",
                Path(starter.checks),
                project.root,
                limits,
                starter=path,
                expected=tuple(inv.id for inv in starter.invariants),
                statements=tuple((inv.id, inv.statement) for inv in starter.invariants),
                **common,
            )
        )
    return jobs


def _job_name(starter: Starter, processes: int) -> str:
    if starter.launch.launcher == "python":
        return starter.path
    return f"{starter.path} ({starter.launch.launcher}, {processes} processes)"


def runnable(project: Project, path: str) -> bool:
    resolved = resolve_inside(project.root, path, "code")
    return resolved.path is not None and resolved.path.is_file()


def _findings(plan: _Planned, result: JobResult) -> list[Finding]:
    if isinstance(result.result, InvariantReport):
        return _invariant_findings(plan, result.result)
    return _starter_findings(plan, result.result)


def _starter_findings(plan: _Planned, process: ProcessResult) -> list[Finding]:
    line, column = plan.page.key_position(("starters", plan.starter_index, "path"))
    path = plan.job.name
    if process.timed_out:
        return [
            at(
                plan.page.path,
                line,
                column,
                "IL502",
                f"starter `{path}` did not finish within {plan.job.limits.timeout_s:g} s; its process tree was killed",
                _output_hint(process),
            )
        ]
    if process.returncode != 0:
        return [
            at(
                plan.page.path,
                line,
                column,
                "IL501",
                f"starter `{path}` exited with status {process.returncode}",
                _output_hint(process),
            )
        ]
    return []


def _invariant_findings(plan: _Planned, report: InvariantReport) -> list[Finding]:
    page, index = plan.page, plan.starter_index
    stated = {inv.id: n for n, inv in enumerate(plan.starter.invariants)}
    found: list[Finding] = []
    for result in report.invariants:
        if result.id not in stated:
            where = ", ".join(result.tests) or report.checks_path
            found.append(
                _unbound_check(
                    plan,
                    f"checks bind invariant `{result.id}`, which the lab does not state",
                    f"state it under `invariants:` or fix the id in {where}",
                )
            )
            continue
        line, column = page.key_position(
            ("starters", index, "invariants", stated[result.id], "id")
        )
        finding = _status_finding(page.path, line, column, result)
        if finding is not None:
            found.append(finding)
    found.extend(
        _unbound_check(
            plan,
            f"check `{test.nodeid}` is bound to no invariant",
            'mark it with `@pytest.mark.invariant("<id>")`',
        )
        for test in report.unbound
    )
    return found


def _unbound_check(plan: _Planned, message: str, hint: str) -> Finding:
    """IL504 at the starter's `checks:` key, where the binding is declared."""
    line, column = plan.page.key_position(("starters", plan.starter_index, "checks"))
    return at(plan.page.path, line, column, "IL504", message, hint)


def _status_finding(
    path: str, line: int, column: int, result: InvariantResult
) -> Finding | None:
    if result.status == "passed":
        return None
    if result.status == "timeout":
        return at(
            path, line, column, "IL506", f"invariant `{result.id}`: {result.detail}"
        )
    if result.status == "error" and result.detail == NO_TEST_BOUND:
        return at(
            path,
            line,
            column,
            "IL503",
            f"invariant `{result.id}` has no check bound to it",
            'bind a test with `@pytest.mark.invariant("' + result.id + '")`',
        )
    # A failing test, or checks that could not run at all (an import or syntax
    # error while collecting): either way the invariant is not proved.
    first, _, rest = result.detail.partition("\n")
    return at(
        path,
        line,
        column,
        "IL505",
        f"invariant `{result.id}` failed: {first}",
        _indent(rest),
    )


def _output_hint(process: ProcessResult) -> str:
    lines = process.output.strip().splitlines()[-15:]
    return (
        "output:\n" + _indent("\n".join(lines))
        if lines
        else "the starter printed nothing"
    )


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines())


def _record(plan: _Planned, result: JobResult) -> RunRecord:
    outcome = result.result
    ok = outcome.ok if isinstance(outcome, InvariantReport | ProcessResult) else False
    return RunRecord(
        plan.page.path,
        plan.starter.path,
        plan.job.kind,
        "passed" if ok else "failed",
        cached=result.cached,
    )
