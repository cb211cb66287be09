"""Launch a multi-process starter: the command line, each rank's output, requirements.

A starter entry may say what it needs and how it is launched::

    requires: [torch]
    launch: {launcher: torchrun, processes: [1, 2, 4], backend: gloo}

The runner first asks ``missing_requirements(requires)``: a starter whose requirements
are not installed is reported as not run, never started. Otherwise it runs, once per
process count, ``launch_argv(...)`` in the same sandbox as any starter, with
``launch_env(backend)`` added to the environment. One timeout, one set of limits and
one process-tree clean-up then cover the launcher and every rank it starts. Afterwards
``read_rank_logs`` gives each rank's own output and, where the launcher reported it,
its exit code, and ``describe_failure`` turns a failed run into a message that leads
with the rank that failed first.

The sandbox may run the command in a fresh network namespace whose loopback interface
is down. Both torchrun's rendezvous and gloo connect over 127.0.0.1, so ``launch_argv``
starts with this file run as a script (standard library only, like ``supervise.py``),
which brings the loopback interface up and then executes the launcher::

    python -I -B launch.py --loopback-up -- ARGV...

Only the process's own namespace is touched, and only when its loopback is down; where
that is not permitted it warns and goes on, and the launcher's failure will say why.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import signal
import socket
import struct
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

LAUNCH_SCRIPT = Path(__file__).resolve()
TORCHRUN = "torchrun"
BACKENDS = ("gloo", "nccl")
OUTPUT_CAP = 4000  # characters of a rank's output quoted in a failure message

# Linux <linux/sockios.h> and <net/if.h>: get and set an interface's flags.
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = struct.Struct("16sH22x")  # struct ifreq: name, then ifr_flags; 40 bytes

# torchrun's failure summary (torch.distributed.elastic ChildFailedError), per rank:
#   rank      : 1 (local_rank: 1)
#   exitcode  : 3 (pid: 11752)
_SUMMARY_ENTRY = re.compile(
    r"^\s*rank\s*:\s*(\d+)\s*\(local_rank:\s*\d+\)\s*$\s*^\s*exitcode\s*:\s*(-?\d+)",
    re.MULTILINE,
)
_ROOT_CAUSE = "Root Cause (first observed failure):"


@dataclass(frozen=True, slots=True)
class RankLog:
    """One rank's output (from its own log files) and exit code, if known."""

    rank: int
    stdout: str
    stderr: str
    exitcode: int | None = None  # None: the launcher did not report this rank
    root_cause: bool = False  # the launcher named this rank's failure the first

    @property
    def output(self) -> str:
        if not self.stderr:
            return self.stdout
        if not self.stdout:
            return self.stderr
        return f"{self.stdout.rstrip()}\n--- stderr ---\n{self.stderr}"

    @property
    def failed(self) -> bool:
        return self.exitcode not in (None, 0)


# --- requirements -------------------------------------------------------------


def _satisfied(requirement: str) -> bool:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        wanted = Requirement(requirement)
    except InvalidRequirement:
        return False  # reported as missing, under the name the page gave
    try:
        installed = importlib.metadata.version(wanted.name)
    except importlib.metadata.PackageNotFoundError:
        # Not a distribution's name: accept a top-level module of that name, but
        # only when no version is asked for, since a module carries none.
        return not wanted.specifier and _importable(wanted.name)
    return wanted.specifier.contains(installed, prereleases=True)


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name.replace("-", "_")) is not None
    except (ImportError, ValueError):
        return False


def missing_requirements(requires: Iterable[str]) -> list[str]:
    """The entries of ``requires`` not installed for this interpreter, in order.

    An entry is a requirement such as ``torch`` or ``torch==2.13.0``: met when a
    distribution of that name is installed in a matching version, or, for a bare
    name, when a module of that name can be imported. Nothing is imported.
    """
    return [entry for entry in requires if not _satisfied(entry)]


# --- the command line -----------------------------------------------------------


def torchrun_argv(
    script: Path,
    *,
    processes: int,
    log_dir: Path,
    python: str = sys.executable,
    args: Sequence[str] = (),
) -> list[str]:
    """``python -m torch.distributed.run`` for ``processes`` ranks on this machine.

    ``--standalone`` starts a private rendezvous on a free local port, so parallel
    runs cannot collide. ``--tee 3`` copies each rank's stdout and stderr into files
    under ``log_dir`` (read them with ``read_rank_logs``) and to the launcher's own
    output, prefixed ``[default<rank>]:``. No restarts: one failure ends the run.
    """
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    return [
        python,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={processes}",
        "--max-restarts=0",
        f"--log-dir={log_dir}",
        "--tee=3",
        str(script),
        *args,
    ]


def with_loopback_up(argv: Sequence[str], *, python: str = sys.executable) -> list[str]:
    """``argv`` behind this file's loopback step: bring ``lo`` up, then exec argv."""
    return [python, "-I", "-B", str(LAUNCH_SCRIPT), "--loopback-up", "--", *argv]


_LAUNCHERS = {TORCHRUN: torchrun_argv}


def launch_argv(
    launcher: str,
    script: Path,
    *,
    processes: int,
    log_dir: Path,
    python: str = sys.executable,
) -> list[str]:
    """The whole command of one multi-process run, loopback step included."""
    try:
        build = _LAUNCHERS[launcher]
    except KeyError:
        known = ", ".join(sorted(_LAUNCHERS))
        raise ValueError(f"unknown launcher {launcher!r} (known: {known})") from None
    argv = build(script, processes=processes, log_dir=log_dir, python=python)
    return with_loopback_up(argv, python=python)


def launch_env(backend: str) -> dict[str, str]:
    """Environment for a run on ``backend``: gloo hides the GPUs, so a starter that
    prefers NCCL when it sees enough GPUs takes the CPU path the page promised."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})")
    return {"CUDA_VISIBLE_DEVICES": ""} if backend == "gloo" else {}


# --- each rank's output ---------------------------------------------------------


def _attempt_dir(log_dir: Path) -> Path | None:
    """``<log_dir>/<run id>_<random>/attempt_<n>`` of the latest run and attempt."""
    attempts = [p for p in log_dir.glob("*/attempt_*") if p.is_dir()]
    if not attempts:
        return None

    def order(path: Path) -> tuple[float, int]:
        number = path.name.removeprefix("attempt_")
        return path.parent.stat().st_mtime, int(number) if number.isdigit() else -1

    return max(attempts, key=order)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def exit_codes(launcher_output: str) -> tuple[dict[int, int], int | None]:
    """Per-rank exit codes from torchrun's failure summary, and the root-cause rank."""
    codes = {int(m[1]): int(m[2]) for m in _SUMMARY_ENTRY.finditer(launcher_output)}
    _, found, after = launcher_output.partition(_ROOT_CAUSE)
    first = _SUMMARY_ENTRY.search(after) if found else None
    return codes, None if first is None else int(first[1])


def read_rank_logs(
    log_dir: Path,
    *,
    launcher_output: str = "",
    launcher_returncode: int | None = None,
) -> dict[int, RankLog]:
    """Each rank's output from its own files, with exit codes where they are known.

    A launcher that exited 0 means every rank exited 0. After a failure, torchrun's
    summary (in ``launcher_output``) gives the code of each rank it lists; a rank it
    does not list, or a run killed from outside, leaves ``exitcode`` as None.
    """
    attempt = _attempt_dir(log_dir)
    if attempt is None:
        return {}
    codes, root = exit_codes(launcher_output)
    logs: dict[int, RankLog] = {}
    for folder in attempt.iterdir():
        if not (folder.is_dir() and folder.name.isdigit()):
            continue
        rank = int(folder.name)  # a local rank; the global rank on a single node
        code = 0 if launcher_returncode == 0 else codes.get(rank)
        logs[rank] = RankLog(
            rank,
            _read(folder / "stdout.log"),
            _read(folder / "stderr.log"),
            code,
            rank == root,
        )
    return dict(sorted(logs.items()))


def _tail(text: str, limit: int = OUTPUT_CAP) -> str:
    return text if len(text) <= limit else "..." + text[-limit:]


def failing_ranks(logs: Mapping[int, RankLog]) -> list[RankLog]:
    """Ranks that failed, the first observed failure first, then by rank."""
    failed = [log for log in logs.values() if log.failed]
    return sorted(failed, key=lambda log: (not log.root_cause, log.rank))


_STATUS: dict[int | None, str] = {
    None: "no exit code reported",
    -signal.SIGTERM: "stopped by the launcher with SIGTERM",
    -signal.SIGKILL: "killed with SIGKILL",
}


def describe_failure(logs: Mapping[int, RankLog], *, processes: int) -> str:
    """A message for a failed run: each failing rank with its own output's tail.

    With no rank known to have failed (a timeout, a launcher that died first), every
    rank's output is shown instead, since any of them may be the one that hung.
    """
    culprits = failing_ranks(logs) or list(logs.values())
    if not culprits:
        return f"{processes} processes: no rank left any output"
    parts = []
    for log in culprits:
        status = _STATUS.get(log.exitcode, f"exit code {log.exitcode}")
        first = ", the first to fail" if log.root_cause else ""
        output = _tail(log.output.strip()) or "(no output)"
        parts.append(f"rank {log.rank} of {processes} ({status}{first}):\n{output}")
    return "\n\n".join(parts)


# --- the loopback step, run as a script -------------------------------------------


def loopback_up(name: str = "lo") -> bool:
    """Bring network interface ``name`` up if it is down; True if it is up after.

    Linux only (elsewhere there is no namespace to fix, and True is returned). Needs
    CAP_NET_ADMIN only when the interface is actually down.
    """
    if not sys.platform.startswith("linux"):
        return True
    import fcntl

    request = _IFREQ.pack(name.encode(), 0)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            flags = _IFREQ.unpack(fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
            if not flags & _IFF_UP:
                fcntl.ioctl(
                    sock, _SIOCSIFFLAGS, _IFREQ.pack(name.encode(), flags | _IFF_UP)
                )
    except OSError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] != ["--loopback-up", "--"] or len(args) < 3:
        sys.stderr.write("usage: launch.py --loopback-up -- ARGV...\n")
        return 2
    command = args[2:]
    if not loopback_up():
        sys.stderr.write(
            "launch.py: warning: could not bring the loopback interface up\n"
        )
    sys.stderr.flush()
    try:
        os.execvp(command[0], command)  # this process becomes the launcher
    except OSError as exc:
        sys.stderr.write(f"launch.py: cannot run {command[0]!r}: {exc}\n")
        return 127


if __name__ == "__main__":
    sys.exit(main())
