"""Fixtures for the hardening tests: a throwaway copy of the repository's content run
through the real CLI in a subprocess, and a small project for in-process fuzzing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import copy_repo

REPO = Path(__file__).resolve().parents[2]
LAB = "content/labs/lab-06-expert-parallel-routing.md"
HANDBOOK = "content/handbook/expert-parallel-routing.md"
STARTER = "code/lab-06-expert-parallel-routing/expert_routing.py"
_FINDING = re.compile(
    r"^(?P<path>[^\s:]+):(?P<line>\d+):(?P<column>\d+): (?P<code>IL\d{3}) (?P<message>.*)$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    column: int
    code: str
    message: str


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def findings(self) -> list[Finding]:
        return [
            Finding(
                m["path"], int(m["line"]), int(m["column"]), m["code"], m["message"]
            )
            for m in _FINDING.finditer(self.stdout)
        ]

    def at(self, path: str, code: str) -> list[tuple[int, int]]:
        """Line and column of each finding with this path and code."""
        return [
            (f.line, f.column)
            for f in self.findings
            if (f.path, f.code) == (path, code)
        ]

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}


def infralens(root: Path, *args: str) -> Run:
    """`infralens check --no-exec ARGS` in a subprocess, as an author runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "validators", "check", "--no-exec", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO)},
        check=False,
    )
    result = Run(done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert "internal error" not in done.stderr, done.stderr
    return result


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under content/ and code/, byte for byte."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for folder in ("content", "code")
        for path in sorted((root / folder).rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def line_of(data: bytes, needle: bytes, start: int = 0) -> int:
    """1-based line of ``needle``, counting `\\r\\n`, `\\r` and `\\n` as one break."""
    index = data.index(needle, start)
    return len(re.findall(rb"\r\n|\r|\n", data[:index])) + 1


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo")
