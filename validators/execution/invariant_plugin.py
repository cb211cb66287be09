"""pytest plugin that binds checks to invariants and reports each test as JSON.

Load it with ``-p validators.execution.invariant_plugin``. It registers the marker
``@pytest.mark.invariant("invariant-id")`` (repeatable) and, given
``--invariant-report=PATH``, writes there at the end of the session::

    {"version": 1,
     "exitstatus": 1,
     "tests": [{"nodeid": "invariants_x.py::test_a", "invariants": ["id-a"],
                "outcome": "failed", "message": "...", "falsifying_example": "..."}],
     "unbound": ["invariants_x.py::test_helper"],
     "collect_errors": [{"nodeid": "invariants_x.py", "message": "..."}]}

``outcome`` is ``passed``, ``failed`` (the test body failed), ``error`` (setup or
teardown failed, or the test never ran) or ``skipped`` (skipped, or an expected
failure). ``message`` is the failure text (the long report, capped) or the reason for
a skip. ``unbound`` lists the tests bound to no invariant (an empty ``invariants``).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: importing the runner stays cheap
    import pytest

MARKER = "invariant"
REPORT_VERSION = 1
MESSAGE_CAP = 4000
NOT_RUN = "not run"
# A test reports up to three phases; the worst outcome among them is the test's.
_RANK = {NOT_RUN: -1, "passed": 0, "skipped": 1, "error": 2, "failed": 3}
# Hypothesis names the counterexample differently across versions.
_EXAMPLE_HEADER = re.compile(
    r"^(?:E\s+)?(Falsifying (?:explicit )?example|Failing test case)\b.*$", re.MULTILINE
)


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """One test as the report lists it."""

    nodeid: str
    invariants: tuple[str, ...]
    outcome: str = NOT_RUN
    message: str = ""
    falsifying_example: str | None = None


def invariant_ids(item: pytest.Item) -> tuple[str, ...]:
    """The ids named by an item's ``invariant`` marks, in order, without repeats."""
    ids: list[str] = []
    for mark in item.iter_markers(MARKER):
        ids.extend(str(arg) for arg in mark.args)
        if "id" in mark.kwargs:
            ids.append(str(mark.kwargs["id"]))
    return tuple(dict.fromkeys(ids))


def cap_text(text: str, limit: int = MESSAGE_CAP) -> str:
    """Keep the head and the tail of a long text; the end of a failure says most."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return (
        f"{text[:half]}\n[... {len(text) - limit} characters cut ...]\n{text[-half:]}"
    )


def falsifying_example(text: str) -> str | None:
    """Hypothesis's counterexample block in a failure report, if it has one."""
    match = _EXAMPLE_HEADER.search(text)
    if match is None:
        return None
    lines = [match.group(0)]
    for line in text[match.end() :].splitlines()[1:]:
        body = re.sub(r"^E\s?", "", line).rstrip()
        if not body.strip():
            break
        lines.append(line)
        if body.strip() == ")":
            break
    return "\n".join(re.sub(r"^E {0,3}", "", line) for line in lines)


def short_nodeid(item: pytest.Item) -> str:
    """``<file name>::<test>``: the rootdir is a scratch folder, so pytest's own id
    may start with ``../`` or be empty before the ``::``."""
    _, _, rest = item.nodeid.partition("::")
    return f"{item.path.name}::{rest}"


def _outcome(report: pytest.TestReport) -> str:
    if report.skipped:
        return "skipped"
    if report.passed:
        return "passed"
    return "failed" if report.when == "call" else "error"


def _message(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return f"expected failure: {report.wasxfail}"
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    return cap_text(report.longreprtext)


def _finished(record: CheckRecord) -> CheckRecord:
    if record.outcome != NOT_RUN:
        return record
    return CheckRecord(
        record.nodeid, record.invariants, "error", "the test did not run"
    )


class Recorder:
    """Collects outcomes during the session and writes the report at its end."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._ids: dict[str, str] = {}
        self._tests: dict[str, CheckRecord] = {}
        self._collect_errors: list[dict[str, str]] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            name = short_nodeid(item)
            self._ids[item.nodeid] = name
            self._tests[name] = CheckRecord(name, invariant_ids(item))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            entry = {"nodeid": report.nodeid, "message": cap_text(report.longreprtext)}
            self._collect_errors.append(entry)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name = self._ids.get(report.nodeid, report.nodeid)
        record = self._tests.get(name, CheckRecord(name, ()))
        outcome = _outcome(report)
        if _RANK[outcome] <= _RANK[record.outcome]:
            return
        message = "" if outcome == "passed" else _message(report)
        example = falsifying_example(report.longreprtext) if report.failed else None
        self._tests[name] = CheckRecord(
            name, record.invariants, outcome, message, example
        )

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        report: dict[str, Any] = {
            "version": REPORT_VERSION,
            "exitstatus": int(exitstatus),
            "tests": [asdict(_finished(record)) for record in self._tests.values()],
            "unbound": [
                name for name, rec in self._tests.items() if not rec.invariants
            ],
            "collect_errors": self._collect_errors,
        }
        partial = self._path.with_name(self._path.name + ".partial")
        partial.write_text(json.dumps(report, indent=1), encoding="utf-8")
        partial.replace(self._path)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--invariant-report",
        dest="invariant_report",
        metavar="PATH",
        default=None,
        help="write each test's invariant ids and outcome as JSON to PATH",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(id): bind this test to the invariant with that id"
    )
    path = config.getoption("invariant_report")
    if path:
        config.pluginmanager.register(Recorder(Path(path)), "infralens-invariants")
