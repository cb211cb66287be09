"""Starters and jobs through the runner, in parallel and through the cache."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from validators.execution.cache import ExecCache
from validators.execution.runner import (
    InvariantReport,
    Job,
    run_many,
    run_starter,
)
from validators.execution.sandbox import Limits, ProcessResult

pytestmark = pytest.mark.slow

Script = Callable[[str, str], Path]
LIMITS = Limits(timeout_s=20)


@pytest.fixture
def lab_repo(script: Script, tmp_path: Path) -> Path:
    script("code/lab-a/routing.py", "import tables\nprint('K =', tables.K)\n")
    script("code/lab-a/tables.py", "from consts import K\n")
    script("code/lab-a/consts.py", "K = 2\n")
    script(
        "code/lab-a/invariants_routing.py",
        """
        import pytest
        import tables

        @pytest.mark.invariant("k-is-two")
        def test_k():
            assert tables.K == 2
        """,
    )
    script("code/lab-b/fails.py", "raise SystemExit('no experts configured')\n")
    return tmp_path


def jobs(lab_repo: Path) -> list[Job]:
    return [
        Job(
            "lab-a starter", "starter", Path("code/lab-a/routing.py"), lab_repo, LIMITS
        ),
        Job(
            "lab-a invariants",
            "invariants",
            Path("code/lab-a/invariants_routing.py"),
            lab_repo,
            LIMITS,
            starter=Path("code/lab-a/routing.py"),
            expected=("k-is-two",),
            statements=(("k-is-two", "K is two."),),
        ),
        Job("lab-b starter", "starter", Path("code/lab-b/fails.py"), lab_repo, LIMITS),
    ]


def test_run_starter_takes_a_repository_relative_path(lab_repo: Path) -> None:
    result = run_starter(
        Path("code/lab-a/routing.py"), repo_root=lab_repo, limits=LIMITS
    )

    assert result.ok
    assert result.output == "K = 2\n"


def test_run_many_keeps_order_and_reports_progress(lab_repo: Path) -> None:
    calls: list[tuple[int, int, str]] = []
    lock = threading.Lock()

    def progress(done: int, total: int, name: str) -> None:
        with lock:
            calls.append((done, total, name))

    results = run_many(jobs(lab_repo), max_workers=2, progress=progress)

    assert [r.job.name for r in results] == [job.name for job in jobs(lab_repo)]
    starter, checks, failing = (r.result for r in results)
    assert isinstance(starter, ProcessResult)
    assert starter.output == "K = 2\n"
    assert isinstance(checks, InvariantReport)
    assert [(i.id, i.status) for i in checks.invariants] == [("k-is-two", "passed")]
    assert isinstance(failing, ProcessResult)
    assert (failing.returncode, failing.output) == (1, "no experts configured\n")
    assert len(calls) == 6
    assert [done for done, _, _ in calls] == sorted(done for done, _, _ in calls)
    assert calls[-1][:2] == (3, 3)
    assert not any(r.cached for r in results)


def test_cache_hits_on_identical_inputs_and_misses_after_a_change(
    lab_repo: Path,
) -> None:
    cache = ExecCache(lab_repo)

    first = run_many(jobs(lab_repo), max_workers=2, cache=cache)
    second = run_many(jobs(lab_repo), max_workers=2, cache=cache)
    (lab_repo / "code/lab-a/consts.py").write_text("K = 3\n")
    third = run_many(jobs(lab_repo), max_workers=2, cache=cache)

    assert [r.cached for r in first] == [False, False, False]
    assert [r.cached for r in second] == [True, True, True]
    assert [r.result for r in second] == [r.result for r in first]
    assert [r.cached for r in third] == [False, False, True]
    starter, checks, _ = (r.result for r in third)
    assert isinstance(starter, ProcessResult)
    assert starter.output == "K = 3\n"
    assert isinstance(checks, InvariantReport)
    assert [(i.id, i.status) for i in checks.invariants] == [("k-is-two", "failed")]


def test_timeouts_are_run_again(script: Script, tmp_path: Path) -> None:
    script("code/lab/hang.py", "import time\ntime.sleep(60)\n")
    job = Job(
        "hang", "starter", Path("code/lab/hang.py"), tmp_path, Limits(timeout_s=0.5)
    )
    cache = ExecCache(tmp_path)

    first, second = (run_many([job], cache=cache)[0] for _ in range(2))

    assert isinstance(first.result, ProcessResult)
    assert first.result.timed_out
    assert not second.cached
