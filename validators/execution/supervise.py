"""Process-tree supervisor for one sandboxed run.

``sandbox.run_sandboxed`` starts this file as a script, with only the standard library
(``python -I supervise.py ...``), so it works whether or not InfraLens is installed and
nothing from the repository leaks onto the child's ``sys.path``::

    supervise.py --status-file PATH [--cpu-s N] [--memory-bytes N] [--backstop-s S]
                 [--pid-namespace] -- ARGV...

It forks ARGV as its only child, with the resource limits applied between fork and
exec, reaps every process handed to it, and when the child exits (or when it receives
SIGTERM, SIGINT or SIGHUP, or when the ``--backstop-s`` alarm fires, which bounds the
run even if whoever started it has died) kills everything left before it exits:

* inside a fresh PID namespace (``--pid-namespace``, we are its PID 1), with
  ``kill(-1, SIGKILL)``, which reaches exactly the processes of that namespace;
* elsewhere, as a child subreaper (``PR_SET_CHILD_SUBREAPER``): orphans, including
  daemons that double-fork or call ``setsid()``, are re-parented to us instead of to
  init, so walking ``/proc`` for our descendants finds all of them.

The child's exit status (negative for a signal, like ``subprocess``) goes to the status
file as JSON, because PID 1 of a namespace cannot re-raise the child's signal on itself.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import NoReturn

PR_SET_CHILD_SUBREAPER = 36
# Bounds the clean-up loop, so a process stuck in uninterruptible sleep cannot hold
# the supervisor forever; the caller's process-group kill is the last resort.
KILL_DEADLINE_S = 5.0
CPU_GRACE_S = 1  # SIGXCPU at the soft limit, SIGKILL one second later
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM)
_RESTORED_SIGNALS = (*_STOP_SIGNALS, signal.SIGPIPE, signal.SIGXFSZ)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="supervise")
    parser.add_argument("--status-file", type=Path, required=True)
    parser.add_argument("--cpu-s", type=int, default=None)
    parser.add_argument("--memory-bytes", type=int, default=None)
    parser.add_argument("--backstop-s", type=float, default=None)
    parser.add_argument("--pid-namespace", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    opts = parser.parse_args(argv)
    if opts.command[:1] == ["--"]:
        opts.command = opts.command[1:]
    if not opts.command:
        parser.error("no command given after --")
    return opts


def set_subreaper() -> bool:
    """Ask the kernel to re-parent our orphaned descendants to us."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _lower_limit(which: int, soft: int, hard: int) -> None:
    # Only ever lower: an unprivileged process may not raise its hard limit.
    _, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
    resource.setrlimit(which, (min(soft, hard), hard))


def _exec_child(command: list[str], cpu_s: int | None, memory: int | None) -> NoReturn:
    try:
        for signum in _RESTORED_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        # Its own process group: a starter that kills its group (to stop its
        # workers, say) must not take the supervisor, which cleans up after it.
        os.setpgid(0, 0)
        _lower_limit(resource.RLIMIT_CORE, 0, 0)
        if cpu_s is not None:
            _lower_limit(resource.RLIMIT_CPU, cpu_s, cpu_s + CPU_GRACE_S)
        if memory is not None:
            _lower_limit(resource.RLIMIT_AS, memory, memory)
        os.execvp(command[0], command)
    except BaseException as exc:  # report anything, then leave without cleanup
        os.write(2, f"supervise: cannot run {command[0]!r}: {exc}\n".encode())
    finally:
        os._exit(127)


def process_table() -> dict[int, tuple[int, str]]:
    """Map every visible pid to (parent pid, state letter) from ``/proc``."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # it exited while we were looking
            continue
        # The command name may hold spaces and parentheses; it ends at the last ")".
        fields = stat.rpartition(")")[2].split()
        table[int(entry.name)] = (int(fields[1]), fields[0])
    return table


def live_descendants(root: int, table: dict[int, tuple[int, str]]) -> list[int]:
    """Pids below ``root`` in ``table`` that are not zombies, nearest first."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: list[int] = []
    queue = list(children.get(root, ()))
    while queue:
        pid = queue.pop(0)
        found.append(pid)
        queue.extend(children.get(pid, ()))
    return [pid for pid in found if table[pid][1] not in "ZX"]


def _reap_ready() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _kill_in_namespace() -> bool:
    """SIGKILL every other process of our PID namespace; False once none is left."""
    # kill(-1) from anywhere but PID 1 of a fresh namespace would reach the whole host.
    if os.getpid() != 1:
        return False
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def _kill_descendants_once() -> bool:
    """SIGKILL our live descendants; False once none is left."""
    victims = live_descendants(os.getpid(), process_table())
    for pid in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return bool(victims)


def kill_everything_left(*, pid_namespace: bool) -> None:
    """Kill and reap all that the child left behind, repeating until none is left."""
    kill_once = _kill_in_namespace if pid_namespace else _kill_descendants_once
    deadline = time.monotonic() + KILL_DEADLINE_S
    while kill_once() and time.monotonic() < deadline:
        _reap_ready()
        time.sleep(0.005)
    _reap_ready()


def _wait_for(child: int) -> int:
    """Reap every process handed to us until ``child`` exits; its waitpid status."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:  # cannot happen while child is ours; never "success"
            return 127 << 8
        if pid == child:
            return status


def _write_status(path: Path, status: dict[str, object]) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(status))
    partial.replace(path)


class _Stop:
    """Turns a termination signal into SIGKILL for the child; cleanup follows."""

    def __init__(self) -> None:
        self.child: int | None = None
        self.requested = False

    def __call__(self, signum: int, frame: object) -> None:
        self.requested = True
        if self.child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.child, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    opts = _parse(sys.argv[1:] if argv is None else argv)
    subreaper = set_subreaper()
    # Written now too, so that a run killed from outside still says what held.
    _write_status(opts.status_file, {"subreaper": subreaper})
    stop = _Stop()
    for signum in _STOP_SIGNALS:
        signal.signal(signum, stop)
    if opts.backstop_s:  # interval timers are not inherited across fork
        signal.setitimer(signal.ITIMER_REAL, opts.backstop_s)
    child = os.fork()
    if child == 0:
        _exec_child(opts.command, opts.cpu_s, opts.memory_bytes)
    stop.child = child
    if stop.requested:  # the signal came between fork and the line above
        stop(signal.SIGTERM, None)
    returncode = os.waitstatus_to_exitcode(_wait_for(child))
    stop.child = None  # reaped: its pid may now belong to someone else
    kill_everything_left(pid_namespace=opts.pid_namespace)
    _write_status(opts.status_file, {"subreaper": subreaper, "returncode": returncode})
    return returncode if returncode >= 0 else 128 - returncode


if __name__ == "__main__":
    sys.exit(main())
