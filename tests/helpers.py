"""Helpers shared by tests: a throwaway copy of the real repository content, and the
CLI run as a user runs it, in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAB = "content/labs/lab-06-expert-parallel-routing.md"
HANDBOOK = "content/handbook/expert-parallel-routing.md"
STARTER = "code/lab-06-expert-parallel-routing/expert_routing.py"
COPIED = ("content", "code", "pyproject.toml")


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def copy_repo(destination: Path) -> Path:
    """The parts of the repository `infralens check` reads, without caches."""
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(
                source,
                destination / name,
                ignore=shutil.ignore_patterns("__pycache__", ".infralens-cache"),
            )
        else:
            shutil.copy2(source, destination / name)
    return destination


def run_cli(
    *args: str, cwd: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> CliResult:
    environment = {**os.environ, "NO_COLOR": "1", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "validators", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)
