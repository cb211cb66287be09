"""Run starters and their invariant checks in the sandbox, one or many at a time.

``run_starter`` runs ``python <starter>``. ``run_invariant_checks`` runs pytest on a
checks file with ``invariant_plugin`` and turns its report into one status per
invariant. pytest runs hermetically: its rootdir and (empty) ini file live in a
scratch folder, so the repository's own pytest configuration does not apply, and
``--noconftest`` keeps files other than the checks (and what they import) from
changing the outcome, which the cache relies on. For the same reason plugin
autoloading is off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``) and only hypothesis's plugin is
loaded, by name; that also spares pytest from assertion-rewriting all of hypothesis on
every run (bytecode is never cached in the sandbox), which would cost about a second.
Hypothesis runs with a fixed seed (``--hypothesis-seed=0``): the same inputs give the
same result, locally and on CI.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib.metadata
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from validators.execution import launch
from validators.execution.invariant_plugin import MARKER
from validators.execution.sandbox import Limits, ProcessResult, run_sandboxed

if TYPE_CHECKING:
    from validators.execution.cache import ExecCache

PLUGIN = "validators.execution.invariant_plugin"
# The folder holding our ``validators`` package: first on the child's PYTHONPATH, so
# ``-p validators...`` finds ours even where an unrelated ``validators`` is installed.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
DETAIL_CAP = 2000
NO_TEST_BOUND = "no test is bound to it"

Status = Literal["passed", "failed", "error", "timeout"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "error", "timeout")
JobKind = Literal["starter", "invariants"]
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """One pytest test of a checks file, as the plugin reported it."""

    nodeid: str
    invariants: tuple[str, ...]
    outcome: str  # passed | failed | error | skipped
    message: str = ""
    falsifying_example: str | None = None


@dataclass(frozen=True, slots=True)
class InvariantResult:
    """The verdict on one invariant, and the tests bound to it."""

    id: str
    status: Status
    detail: str
    tests: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InvariantReport:
    """All that one run of a checks file established."""

    checks_path: str
    invariants: tuple[InvariantResult, ...]
    unbound: tuple[CheckOutcome, ...]
    tests: tuple[CheckOutcome, ...]
    collect_errors: tuple[str, ...]
    process: ProcessResult

    @property
    def by_id(self) -> dict[str, InvariantResult]:
        return {result.id: result for result in self.invariants}

    @property
    def ok(self) -> bool:
        return all(result.status == "passed" for result in self.invariants)


@dataclass(frozen=True, slots=True)
class Job:
    """One unit of work for ``run_many``.

    ``path`` is the starter (kind ``starter``) or the checks file (kind
    ``invariants``); ``starter`` names the starter a checks file tests, ``expected``
    the invariant ids its page declares and ``statements`` their ``(id, statement)``
    pairs, which only feed the cache key.
    """

    name: str
    kind: JobKind
    path: Path
    repo_root: Path
    limits: Limits
    starter: Path | None = None
    expected: tuple[str, ...] = ()
    statements: tuple[tuple[str, str], ...] = ()
    launcher: str = "python"
    """`python` runs the file; `torchrun` starts ``processes`` ranks of it."""
    processes: int = 1
    backend: str | None = None


@dataclass(frozen=True, slots=True)
class JobResult:
    job: Job
    result: ProcessResult | InvariantReport
    cached: bool = False


def _relative(path: Path, repo_root: Path) -> str:
    try:
        return path.relative_to(repo_root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def run_starter(
    starter_path: Path,
    *,
    repo_root: Path,
    limits: Limits,
    launcher: str = "python",
    processes: int = 1,
    backend: str | None = None,
) -> ProcessResult:
    """Run a starter as a learner would: ``python <starter>`` (its folder on path), or
    under a launcher with one process per rank, all inside one sandbox: one timeout,
    one set of limits and one process-tree clean-up cover every rank."""
    starter = (repo_root / starter_path).resolve()
    if launcher == "python":
        return run_sandboxed([sys.executable, str(starter)], limits=limits)
    with tempfile.TemporaryDirectory(prefix="infralens-ranks-") as folder:
        logs = Path(folder)
        argv = launch.launch_argv(launcher, starter, processes=processes, log_dir=logs)
        env = launch.launch_env(backend or "gloo")
        process = run_sandboxed(argv, limits=limits, env=env)
        if process.ok:
            return process
        ranks = launch.read_rank_logs(
            logs,
            launcher_output=process.output,
            launcher_returncode=process.returncode,
        )
    failure = launch.describe_failure(ranks, processes=processes)
    return dataclasses.replace(process, output=failure)


def _is_invariant_mark(node: ast.expr) -> bool:
    # Matches ``pytest.mark.invariant(...)`` and ``mark.invariant(...)``.
    return (
        isinstance(node, ast.Attribute)
        and node.attr == MARKER
        and isinstance(node.value, ast.Attribute | ast.Name)
        and getattr(node.value, "attr", getattr(node.value, "id", None)) == "mark"
    )


def bound_invariant_ids(checks_path: Path) -> tuple[str, ...]:
    """Invariant ids named by literal ``invariant`` marks in a checks file, in order.

    Read statically, so that a run that never reports (a timeout, a crash) can still
    say which invariants it left unchecked.
    """
    try:
        tree = ast.parse(checks_path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return ()
    ids: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_invariant_mark(node.func):
            args = [*node.args, *(kw.value for kw in node.keywords if kw.arg == "id")]
            ids += [arg.value for arg in args if isinstance(arg, ast.Constant)]
    return tuple(dict.fromkeys(str(value) for value in ids))


@functools.cache
def hypothesis_plugin() -> str | None:
    """The module of hypothesis's pytest plugin, from its entry point, if installed."""
    for entry in importlib.metadata.entry_points(group="pytest11"):
        if entry.dist is not None and entry.dist.name.lower() == "hypothesis":
            return entry.value
    return None


def pytest_argv(checks: Path, scratch: Path) -> list[str]:
    """The pytest command line of a checks run; ``scratch`` holds ini and report."""
    hypothesis = hypothesis_plugin()
    seeded = ["-p", hypothesis, "--hypothesis-seed=0"] if hypothesis else []
    return [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        PLUGIN,
        *seeded,
        "-p",
        "no:cacheprovider",
        "-q",
        "--tb=short",
        "--strict-markers",
        "--noconftest",
        f"--rootdir={scratch}",
        "-c",
        str(scratch / "pytest.ini"),
        f"--invariant-report={scratch / 'r.json'}",
        str(checks),
    ]


def _outcome(entry: Mapping[str, Any]) -> CheckOutcome:
    example = entry.get("falsifying_example")
    return CheckOutcome(
        nodeid=str(entry["nodeid"]),
        invariants=tuple(str(i) for i in entry["invariants"]),
        outcome=str(entry["outcome"]),
        message=str(entry.get("message", "")),
        falsifying_example=None if example is None else str(example),
    )


def _load_report(path: Path) -> tuple[tuple[CheckOutcome, ...], tuple[str, ...]] | None:
    """Tests and collection errors from the plugin's report; None if it is unusable."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        tests = tuple(_outcome(entry) for entry in raw["tests"])
        errors = tuple(str(entry["message"]) for entry in raw["collect_errors"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return tests, errors


def _tail(text: str, limit: int = DETAIL_CAP) -> str:
    return text if len(text) <= limit else "..." + text[-limit:]


def _verdict(invariant_id: str, bound: Sequence[CheckOutcome]) -> InvariantResult:
    """Worst first: a failed test refutes the invariant; an error leaves it unknown."""
    names = tuple(test.nodeid for test in bound)
    if not bound:
        return InvariantResult(invariant_id, "error", NO_TEST_BOUND, names)
    for status in ("failed", "error"):
        hit = next((test for test in bound if test.outcome == status), None)
        if hit is not None:
            detail = _tail(f"{hit.nodeid} {status}:\n{hit.message}")
            return InvariantResult(invariant_id, status, detail, names)
    passed = sum(test.outcome == "passed" for test in bound)
    if not passed:
        detail = f"every test bound to it was skipped: {bound[0].message}"
        return InvariantResult(invariant_id, "error", detail, names)
    return InvariantResult(invariant_id, "passed", f"{passed} test(s) passed", names)


def _run_failure(process: ProcessResult, limits: Limits) -> tuple[Status, str]:
    if process.timed_out:
        return "timeout", f"the checks did not finish within {limits.timeout_s:g} s"
    detail = f"pytest ended without a report (exit status {process.returncode})"
    return "error", _tail(f"{detail}:\n{process.output}")


def build_report(
    checks: str,
    ids: Iterable[str],
    process: ProcessResult,
    loaded: tuple[tuple[CheckOutcome, ...], tuple[str, ...]] | None,
    limits: Limits,
) -> InvariantReport:
    """One status per invariant id, from the plugin's report and how the run ended."""
    tests, errors = loaded or ((), ())
    reported = (i for test in tests for i in test.invariants)
    every_id = tuple(dict.fromkeys([*ids, *reported]))
    if process.timed_out or loaded is None:
        status, detail = _run_failure(process, limits)
        results = tuple(InvariantResult(i, status, detail) for i in every_id)
    elif errors:
        detail = _tail(f"the checks file could not be collected:\n{errors[0]}")
        results = tuple(InvariantResult(i, "error", detail) for i in every_id)
    else:
        bound = {i: [test for test in tests if i in test.invariants] for i in every_id}
        results = tuple(_verdict(i, bound[i]) for i in every_id)
    unbound = tuple(test for test in tests if not test.invariants)
    return InvariantReport(checks, results, unbound, tests, errors, process)


def run_invariant_checks(
    checks_path: Path,
    *,
    repo_root: Path,
    limits: Limits,
    expected: Sequence[str] = (),
    loopback: bool = False,
) -> InvariantReport:
    """Run a checks file; report every invariant in ``expected`` or bound in the file.

    A declared invariant no test is bound to gets status ``error``; if the whole run
    times out, every invariant gets status ``timeout``.
    """
    checks = (repo_root / checks_path).resolve()
    with tempfile.TemporaryDirectory(prefix="infralens-pytest-") as folder:
        scratch = Path(folder)
        (scratch / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        argv = pytest_argv(checks, scratch)
        process = run_sandboxed(
            # Checks that open process groups need 127.0.0.1 inside the sandbox.
            launch.with_loopback_up(argv) if loopback else argv,
            limits=limits,
            env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
            # The checks import their starter as a sibling module.
            extra_path=(checks.parent, PACKAGE_ROOT),
        )
        loaded = _load_report(scratch / "r.json")
    ids = [*expected, *bound_invariant_ids(checks)]
    return build_report(_relative(checks, repo_root), ids, process, loaded, limits)


def run_job(job: Job) -> ProcessResult | InvariantReport:
    if job.kind == "starter":
        return run_starter(
            job.path,
            repo_root=job.repo_root,
            limits=job.limits,
            launcher=job.launcher,
            processes=job.processes,
            backend=job.backend,
        )
    return run_invariant_checks(
        job.path,
        repo_root=job.repo_root,
        limits=job.limits,
        expected=job.expected,
        loopback=job.launcher != "python",
    )


class _Tracker:
    """Counts finished jobs and tells the progress callback, one thread at a time."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self._lock = threading.Lock()
        self._done = 0
        self._total = total
        self._progress = progress

    def started(self, name: str) -> None:
        self._tell(name, finished=False)

    def finished(self, name: str) -> None:
        self._tell(name, finished=True)

    def _tell(self, name: str, *, finished: bool) -> None:
        with self._lock:
            self._done += finished
            if self._progress is not None:
                self._progress(self._done, self._total, name)


def _run_one(job: Job, cache: ExecCache | None, tracker: _Tracker) -> JobResult:
    tracker.started(job.name)
    try:
        if cache is None:
            return JobResult(job, run_job(job))
        key = cache.key_for(job)
        hit = cache.get(key)
        if hit is not None:
            return JobResult(job, hit, cached=True)
        result = run_job(job)
        cache.put(key, result)
        return JobResult(job, result)
    finally:
        tracker.finished(job.name)


def run_many(
    jobs: Sequence[Job],
    *,
    max_workers: int | None = None,
    progress: Progress | None = None,
    cache: ExecCache | None = None,
) -> list[JobResult]:
    """Run jobs in parallel (default: one per CPU); results in the order of ``jobs``.

    ``progress(done, total, name)`` is called as each job starts and finishes.
    With a cache, identical inputs reuse an earlier deterministic result.
    """
    workers = max(1, min(max_workers or os.cpu_count() or 1, len(jobs) or 1))
    tracker = _Tracker(len(jobs), progress)
    with ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix="infralens"
    ) as pool:
        futures = [pool.submit(_run_one, job, cache, tracker) for job in jobs]
        return [future.result() for future in futures]
