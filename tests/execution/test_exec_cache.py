"""The result cache: keys, storage, and what may be stored."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from validators.execution.cache import ExecCache, cacheable, job_key
from validators.execution.runner import (
    CheckOutcome,
    InvariantReport,
    InvariantResult,
    Job,
    Status,
)
from validators.execution.sandbox import Limits, ProcessResult

Script = Callable[[str, str], Path]
LIMITS = Limits(timeout_s=5)
DONE = ProcessResult(0, False, "out\n", 0, 0.25, ("timeout", "no-network"))


@pytest.fixture
def lab(script: Script, tmp_path: Path) -> Job:
    script("code/lab/routing.py", "import tables\nprint(tables.K)\n")
    script("code/lab/tables.py", "from consts import K\n")
    script("code/lab/consts.py", "K = 2\n")
    script("code/lab/other.py", "K = 5\n")
    return Job("lab", "starter", Path("code/lab/routing.py"), tmp_path, LIMITS)


def report(status: Status = "passed", process: ProcessResult = DONE) -> InvariantReport:
    test = CheckOutcome(
        "c.py::t", ("a",), "failed", "E   assert 0", "Falsifying: t(x=0)"
    )
    return InvariantReport(
        checks_path="code/lab/c.py",
        invariants=(InvariantResult("a", status, "detail", ("c.py::t",)),),
        unbound=(CheckOutcome("c.py::u", (), "passed"),),
        tests=(test,),
        collect_errors=(),
        process=process,
    )


def test_identical_inputs_give_the_same_key(lab: Job) -> None:
    assert job_key(lab) == job_key(dataclasses.replace(lab, name="renamed"))


def test_key_changes_with_a_transitive_import(lab: Job, tmp_path: Path) -> None:
    before = job_key(lab)

    (tmp_path / "code/lab/consts.py").write_text("K = 3\n")

    assert job_key(lab) != before


def test_key_ignores_unrelated_files(lab: Job, script: Script) -> None:
    before = job_key(lab)

    script("code/lab/unrelated.py", "X = 1\n")

    assert job_key(lab) == before


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "invariants"},
        {"limits": Limits(timeout_s=6)},
        {"statements": (("a", "Each token picks k experts."),)},
        {"expected": ("a",)},
        {"starter": Path("code/lab/other.py")},
    ],
    ids=["kind", "limits", "statements", "expected", "starter"],
)
def test_key_changes_with_each_input(lab: Job, change: dict[str, object]) -> None:
    changed = dataclasses.replace(lab, **change)  # type: ignore[arg-type]

    assert job_key(changed) != job_key(lab)


@pytest.mark.parametrize("result", [DONE, report()], ids=["process", "invariants"])
def test_round_trip(tmp_path: Path, result: ProcessResult | InvariantReport) -> None:
    cache = ExecCache(tmp_path)

    assert cache.get("ab" * 32) is None
    assert cache.put("ab" * 32, result)
    assert cache.get("ab" * 32) == result
    assert (tmp_path / ".infralens-cache/exec/ab" / f"{'ab' * 32}.json").is_file()
    assert list((tmp_path / ".infralens-cache/exec/ab").iterdir()) == [
        tmp_path / ".infralens-cache/exec/ab" / f"{'ab' * 32}.json"
    ]


@pytest.mark.parametrize(
    "content", ["", "{not json", "[]", '{"format": 1, "kind": "process"}', "\x00"]
)
def test_corrupt_entries_are_misses(tmp_path: Path, content: str) -> None:
    cache = ExecCache(tmp_path)
    cache.put("cd" * 32, DONE)

    (tmp_path / ".infralens-cache/exec/cd" / f"{'cd' * 32}.json").write_text(content)

    assert cache.get("cd" * 32) is None


def test_stale_format_is_a_miss(tmp_path: Path) -> None:
    cache = ExecCache(tmp_path)
    cache.put("ef" * 32, DONE)
    entry = tmp_path / ".infralens-cache/exec/ef" / f"{'ef' * 32}.json"

    entry.write_text(entry.read_text().replace('"format": 1', '"format": 0'))

    assert cache.get("ef" * 32) is None


@pytest.mark.parametrize(
    "result",
    [
        dataclasses.replace(DONE, timed_out=True, returncode=-9),
        dataclasses.replace(DONE, returncode=-24),
        report(status="timeout"),
        report(process=dataclasses.replace(DONE, timed_out=True)),
    ],
    ids=["timeout", "signal", "invariant-timeout", "checks-timeout"],
)
def test_nondeterministic_results_are_not_stored(
    tmp_path: Path, result: ProcessResult | InvariantReport
) -> None:
    cache = ExecCache(tmp_path)

    assert not cacheable(result)
    assert not cache.put("01" * 32, result)
    assert cache.get("01" * 32) is None


def test_failures_are_deterministic_and_stored(tmp_path: Path) -> None:
    failed = dataclasses.replace(DONE, returncode=1)

    assert cacheable(failed)
    assert cacheable(report(status="failed"))
