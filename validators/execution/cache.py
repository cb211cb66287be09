"""Cache of execution results under ``<repo>/.infralens-cache/exec/``.

An entry is keyed by a sha256 over everything that can change a result: the kind of
job; the bytes of the file it runs, of the starter a checks file tests, and of every
repository file they import (``imports.local_imports``); the declared invariant ids
and statements; the limits; the interpreter version and the installed numpy, pytest
and hypothesis; the isolation in force; and the source of this package's modules that
shape a result (so a change to the runner or the plugin invalidates old entries).

Only deterministic outcomes are stored: never a timeout, nor a run ended by a signal
(the CPU or memory limit, the OOM killer). Writes are atomic (a temporary file renamed
into place), and an entry that cannot be read back is treated as a miss.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from validators.execution.imports import local_imports
from validators.execution.runner import (
    STATUSES,
    CheckOutcome,
    InvariantReport,
    InvariantResult,
    Job,
)
from validators.execution.sandbox import ProcessResult, detect_isolation

CACHE_FORMAT = 1
CACHE_DIR = Path(".infralens-cache", "exec")
TOOLS = ("numpy", "pytest", "hypothesis", "torch")
_OWN_MODULES = (
    "invariant_plugin.py",
    "launch.py",
    "runner.py",
    "sandbox.py",
    "supervise.py",
)
_HERE = Path(__file__).resolve().parent

Result = ProcessResult | InvariantReport


def _field(digest: Any, label: str, value: bytes | str) -> None:
    # Length-prefixed, so that no two different sequences of fields hash alike.
    data = value.encode() if isinstance(value, str) else value
    digest.update(f"{label}:{len(data)}:".encode())
    digest.update(data)


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def tool_versions() -> dict[str, str]:
    """Installed versions of the tools a result depends on (``absent`` if none)."""
    versions: dict[str, str] = {}
    for name in TOOLS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def input_files(job: Job) -> list[Path]:
    """The files a job runs or imports, resolved, without repeats, sorted."""
    roots = [(job.repo_root / job.path).resolve()]
    if job.starter is not None:
        roots.append((job.repo_root / job.starter).resolve())
    files = set(roots)
    for root in roots:
        files.update(local_imports(root, repo_root=job.repo_root))
    return sorted(files)


def _name(path: Path, repo_root: Path) -> str:
    try:
        return path.relative_to(repo_root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def job_key(job: Job) -> str:
    """The sha256 hex digest naming a job's result in the cache."""
    digest = hashlib.sha256()
    _field(digest, "format", str(CACHE_FORMAT))
    _field(digest, "kind", job.kind)
    for path in input_files(job):
        _field(digest, "file", _name(path, job.repo_root))
        _field(digest, "bytes", _file_digest(path))
    for invariant_id in job.expected:
        _field(digest, "expected", invariant_id)
    for invariant_id, statement in sorted(job.statements):
        _field(digest, "statement", f"{invariant_id}\n{statement}")
    _field(digest, "launch", f"{job.launcher} {job.processes} {job.backend}")
    _field(digest, "limits", json.dumps(dataclasses.asdict(job.limits), sort_keys=True))
    _field(digest, "python", sys.version)
    _field(digest, "tools", json.dumps(tool_versions(), sort_keys=True))
    isolation = detect_isolation()
    _field(digest, "isolation", f"{isolation.network} {isolation.pid_namespace}")
    for module in _OWN_MODULES:
        _field(digest, "own", _file_digest(_HERE / module))
    return digest.hexdigest()


def cacheable(result: Result) -> bool:
    """Whether the same inputs would surely give the same result again."""
    process = result.process if isinstance(result, InvariantReport) else result
    if process.timed_out or process.returncode < 0:
        return False
    if isinstance(result, InvariantReport):
        return all(item.status != "timeout" for item in result.invariants)
    return True


def to_json(result: Result) -> dict[str, Any]:
    kind = "invariants" if isinstance(result, InvariantReport) else "process"
    return {"format": CACHE_FORMAT, "kind": kind, "result": dataclasses.asdict(result)}


def _process(raw: Mapping[str, Any]) -> ProcessResult:
    return ProcessResult(
        returncode=int(raw["returncode"]),
        timed_out=bool(raw["timed_out"]),
        output=str(raw["output"]),
        output_truncated_bytes=int(raw["output_truncated_bytes"]),
        duration_s=float(raw["duration_s"]),
        enforced=tuple(str(name) for name in raw["enforced"]),
    )


def _outcomes(raw: Iterable[Mapping[str, Any]]) -> tuple[CheckOutcome, ...]:
    return tuple(
        CheckOutcome(
            nodeid=str(entry["nodeid"]),
            invariants=tuple(str(i) for i in entry["invariants"]),
            outcome=str(entry["outcome"]),
            message=str(entry["message"]),
            falsifying_example=entry["falsifying_example"],
        )
        for entry in raw
    )


def _result(raw: Mapping[str, Any]) -> InvariantResult:
    status = raw["status"]
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    tests = tuple(str(name) for name in raw["tests"])
    return InvariantResult(str(raw["id"]), status, str(raw["detail"]), tests)


def _report(raw: Mapping[str, Any]) -> InvariantReport:
    results = tuple(_result(entry) for entry in raw["invariants"])
    return InvariantReport(
        checks_path=str(raw["checks_path"]),
        invariants=results,
        unbound=_outcomes(raw["unbound"]),
        tests=_outcomes(raw["tests"]),
        collect_errors=tuple(str(text) for text in raw["collect_errors"]),
        process=_process(raw["process"]),
    )


def from_json(data: Mapping[str, Any]) -> Result:
    """The result stored by ``to_json``; raises on anything else."""
    if data["format"] != CACHE_FORMAT:
        raise ValueError("other cache format")
    builders = {"process": _process, "invariants": _report}
    return builders[data["kind"]](data["result"])


class ExecCache:
    """Results on disk, one JSON file per key, in ``<repo>/.infralens-cache/exec``."""

    def __init__(self, repo_root: Path, *, directory: Path | None = None) -> None:
        self.directory = directory or repo_root / CACHE_DIR

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def key_for(self, job: Job) -> str:
        return job_key(job)

    def get(self, key: str) -> Result | None:
        """The stored result, or None when absent or unreadable."""
        try:
            return from_json(json.loads(self._path(key).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def put(self, key: str, result: Result) -> bool:
        """Store a deterministic result atomically; False when it is not cacheable."""
        if not cacheable(result):
            return False
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, suffix=".tmp", delete=False
        ) as handle:
            partial = Path(handle.name)
            try:
                json.dump(to_json(result), handle)
            except BaseException:
                handle.close()
                partial.unlink(missing_ok=True)
                raise
        # A reader sees the old entry or the new one, never half of one.
        partial.replace(path)
        return True
