"""Helpers for the execution tests: scripts written into tmp_path, and /proc probes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from validators.execution.sandbox import NO_ISOLATION

# Each test that runs something parametrised over both ways of containing a run: the
# namespaces found on this machine (PID and network namespaces as root on CI), and the
# subreaper supervisor alone (what a machine without namespaces gets).
ISOLATIONS = [
    pytest.param(None, id="detected"),
    pytest.param(NO_ISOLATION, id="no-namespaces"),
]


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return path


def is_alive(pid: int) -> bool:
    """Whether ``pid`` names a process that has not exited (zombies count as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rpartition(")")[2].split()[0] not in "ZX"


def processes_with(token: str) -> list[int]:
    """Live pids whose command line contains ``token``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if token.encode() in cmdline and is_alive(int(entry.name)):
            found.append(int(entry.name))
    return found
