"""Invariant checks end to end (pytest with the plugin, in the sandbox), and the pure
parts of the plugin and the report builder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from validators.execution.invariant_plugin import cap_text, falsifying_example
from validators.execution.runner import (
    CheckOutcome,
    bound_invariant_ids,
    build_report,
    run_invariant_checks,
)
from validators.execution.sandbox import Limits, ProcessResult

Script = Callable[[str, str], Path]
LIMITS = Limits(timeout_s=20)

STARTER = """
    def top_k(scores, k):
        # Deliberately wrong for negative scores, so hypothesis has something to find.
        return sorted(range(len(scores)), key=lambda i: abs(scores[i]))[-k:]
"""

CHECKS = """
    import warnings

    import pytest
    from hypothesis import given, strategies as st

    import routing


    @pytest.mark.invariant("topk-best")
    @given(st.lists(st.integers(-5, 5), min_size=2, max_size=6))
    def test_kept_scores_beat_skipped(scores):
        kept = routing.top_k(scores, 1)
        assert all(scores[i] <= scores[kept[0]] for i in range(len(scores)))


    @pytest.mark.invariant("topk-size")
    def test_keeps_k(    ):
        warnings.warn("the repository's filterwarnings=error must not apply here")
        assert len(routing.top_k([3, 1, 2], 2)) == 2


    @pytest.mark.invariant(id="topk-size")
    @pytest.mark.parametrize("k", [1, 2])
    def test_keeps_k_param(k):
        assert len(routing.top_k([3, 1, 2], k)) == k


    @pytest.fixture
    def broken():
        raise RuntimeError("fixture broke")


    @pytest.mark.invariant("needs-fixture")
    def test_with_broken_fixture(broken):
        pass


    @pytest.mark.invariant("not-yet")
    @pytest.mark.skip(reason="waiting for the dispatch step")
    def test_skipped():
        pass


    def test_helper_without_binding():
        assert routing.top_k([1], 1) == [0]
"""

# The repository's own pytest configuration, which a checks run must ignore.
HOSTILE_CONFIG = """
    [tool.pytest.ini_options]
    addopts = ["-x", "--this-option-does-not-exist"]
    filterwarnings = ["error"]
"""


@pytest.fixture
def lab(script: Script) -> Path:
    script("pyproject.toml", HOSTILE_CONFIG)
    script("code/lab/routing.py", STARTER)
    return script("code/lab/invariants_routing.py", CHECKS)


@pytest.mark.slow
def test_reports_each_invariant(lab: Path, tmp_path: Path) -> None:
    report = run_invariant_checks(
        Path("code/lab/invariants_routing.py"),
        repo_root=tmp_path,
        limits=LIMITS,
        expected=("topk-best", "topk-size", "declared-only"),
    )

    statuses = {result.id: result.status for result in report.invariants}
    assert statuses == {
        "topk-best": "failed",
        "topk-size": "passed",
        "declared-only": "error",
        "needs-fixture": "error",
        "not-yet": "error",
    }
    assert report.checks_path == "code/lab/invariants_routing.py"
    by_id = report.by_id
    assert "Falsifying example" in by_id["topk-best"].detail or (
        "Failing test case" in by_id["topk-best"].detail
    )
    assert "scores=" in by_id["topk-best"].detail
    assert by_id["declared-only"].detail == "no test is bound to it"
    assert "fixture broke" in by_id["needs-fixture"].detail
    assert "skipped" in by_id["not-yet"].detail
    assert by_id["topk-size"].tests == (
        "invariants_routing.py::test_keeps_k",
        "invariants_routing.py::test_keeps_k_param[1]",
        "invariants_routing.py::test_keeps_k_param[2]",
    )
    assert [test.nodeid for test in report.unbound] == [
        "invariants_routing.py::test_helper_without_binding"
    ]
    failing = next(test for test in report.tests if test.outcome == "failed")
    assert failing.falsifying_example is not None
    assert "scores=" in failing.falsifying_example
    assert not report.ok


@pytest.mark.slow
def test_collection_error_marks_every_invariant(script: Script, tmp_path: Path) -> None:
    script("code/lab/routing.py", "def top_k(:\n")
    checks = script("code/lab/invariants_routing.py", CHECKS)

    report = run_invariant_checks(checks, repo_root=tmp_path, limits=LIMITS)

    assert {r.status for r in report.invariants} == {"error"}
    assert {r.id for r in report.invariants} == {
        "topk-best",
        "topk-size",
        "needs-fixture",
        "not-yet",
    }
    assert "SyntaxError" in report.invariants[0].detail


@pytest.mark.slow
def test_timeout_marks_every_invariant(script: Script, tmp_path: Path) -> None:
    script("code/lab/slow.py", "import time\ntime.sleep(60)\n")
    checks = script(
        "code/lab/invariants_slow.py",
        """
        import pytest
        import slow

        @pytest.mark.invariant("finishes")
        def test_finishes():
            pass
        """,
    )
    limits = Limits(timeout_s=2)

    report = run_invariant_checks(
        checks, repo_root=tmp_path, limits=limits, expected=("declared",)
    )

    assert {(r.id, r.status) for r in report.invariants} == {
        ("declared", "timeout"),
        ("finishes", "timeout"),
    }
    assert report.process.timed_out
    assert report.process.duration_s < limits.timeout_s + 2


def test_bound_ids_are_read_statically(script: Script) -> None:
    checks = script(
        "invariants_x.py",
        """
        import pytest
        from pytest import mark

        @pytest.mark.invariant("a")
        @mark.invariant(id="b")
        @pytest.mark.invariant("a")
        def test_x():
            pass

        @pytest.mark.slow
        def test_y():
            pass
        """,
    )

    assert bound_invariant_ids(checks) == ("a", "b")


HYPOTHESIS_FAILURE = """\
invariants_x.py:8: in test_a
    assert f(x) < 5
E   assert 5 < 5
E   Falsifying example: test_a(
E       x=5,
E   )
"""


def test_falsifying_example_is_extracted() -> None:
    assert falsifying_example(HYPOTHESIS_FAILURE) == (
        "Falsifying example: test_a(\n    x=5,\n)"
    )
    assert falsifying_example("E   assert 1 == 2\n") is None


def test_long_messages_keep_head_and_tail() -> None:
    text = "A" * 3000 + "B" * 3000

    capped = cap_text(text, 1000)

    assert capped.startswith("A" * 500)
    assert capped.endswith("B" * 500)
    assert "5000 characters cut" in capped


def test_report_without_plugin_output_is_an_error_per_invariant() -> None:
    crashed = ProcessResult(-9, False, "Killed\n", 0, 0.5, ())

    report = build_report("c.py", ["a", "b"], crashed, None, LIMITS)

    assert [(r.id, r.status) for r in report.invariants] == [
        ("a", "error"),
        ("b", "error"),
    ]
    assert "exit status -9" in report.invariants[0].detail


def test_worst_test_decides_the_invariant() -> None:
    finished = ProcessResult(1, False, "", 0, 0.5, ())
    tests = (
        CheckOutcome("c.py::t1", ("a",), "passed"),
        CheckOutcome("c.py::t2", ("a", "b"), "error", "setup broke"),
        CheckOutcome("c.py::t3", ("a",), "failed", "assert 1 == 2"),
    )

    report = build_report("c.py", ["a"], finished, (tests, ()), LIMITS)

    assert [(r.id, r.status) for r in report.invariants] == [
        ("a", "failed"),
        ("b", "error"),
    ]
    assert report.invariants[0].detail == "c.py::t3 failed:\nassert 1 == 2"
