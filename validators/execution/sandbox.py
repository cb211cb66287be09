"""Run one command in a sandbox: bounded, isolated where the OS allows, leaving nothing.

What is enforced, and where (the names appear in ``ProcessResult.enforced``):

``timeout``
    Always. A wall-clock deadline (``Limits.timeout_s``, default 60 s), checked at
    least every 50 ms while output is read, so a grandchild that keeps the output pipe
    open cannot delay it. On expiry the whole run is killed with SIGKILL.
``output-cap``
    Always. stdout and stderr, merged, are read continuously and kept up to
    ``Limits.output_bytes`` (default 64 KiB): the head and the tail, with a note of how
    many bytes were cut between them. A flood never blocks the child nor fills memory.
``scrubbed-env``
    Always. The child sees only ``PATH`` (the interpreter's folder and the system
    folders), ``HOME`` and ``TMPDIR`` (its scratch folder), ``LANG=C.UTF-8``,
    ``PYTHONDONTWRITEBYTECODE=1``, ``PYTHONHASHSEED=0``, ``PYTHONUNBUFFERED=1``, BLAS
    and OpenMP thread counts of 1 (runs go in parallel already), the variables named in
    ``INHERITED_ENV``, ``PYTHONPATH`` from ``extra_path``, and what the caller passes.
    stdin is ``/dev/null``; the working folder is a fresh scratch folder, removed after.
``cpu``, ``memory``
    When the limit is set (defaults: 60 CPU-seconds, 4 GiB of address space). POSIX
    rlimits, set between fork and exec, so they hold per process of the run.
``no-network``
    When ``unshare --net`` works: as root (CI), or as another user where unprivileged
    user namespaces are allowed (``unshare --map-root-user --net``). The child then has
    only a loopback interface, which is down.
``pid-namespace``
    Where ``unshare --pid --fork --kill-child`` works (same conditions). The supervisor
    is PID 1 of the namespace; when it dies the kernel kills every process in it.
``subreaper``
    Where ``prctl(PR_SET_CHILD_SUBREAPER)`` works (Linux 3.4+, any user). The supervisor
    (``supervise.py``) adopts orphans, so daemons that double-fork or ``setsid()`` are
    still found and killed when the run ends.

Either of the last two makes sure no process of a run outlives it; without a PID
namespace, a timeout first asks the supervisor to clean up (SIGTERM), then kills the
process group after a short grace. The supervisor also has its own alarm, a few
seconds past the timeout, so a run ends even if the process that started it is killed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_CPU_S = 60
DEFAULT_MEMORY_BYTES = 4 * 1024**3
DEFAULT_OUTPUT_BYTES = 64 * 1024

TIMEOUT = "timeout"
OUTPUT_CAP = "output-cap"
SCRUBBED_ENV = "scrubbed-env"
CPU = "cpu"
MEMORY = "memory"
NO_NETWORK = "no-network"
PID_NAMESPACE = "pid-namespace"
SUBREAPER = "subreaper"

# Inherited only because some Python builds cannot start or keep time without them.
INHERITED_ENV = ("LD_LIBRARY_PATH", "TZ")
SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")

_SUPERVISOR = Path(__file__).with_name("supervise.py")
_READ_CHUNK = 64 * 1024
_TICK_S = 0.05  # longest sleep between deadline checks when pidfds are unavailable
_GRACE_S = 1.0  # time the supervisor gets to clean up before the group is killed
_DRAIN_S = 1.0  # how long output is still read after the run has exited
_BACKSTOP_MARGIN_S = 2.0  # the supervisor's own deadline, past ours


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits of one run; ``None`` leaves that rlimit untouched."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    cpu_s: int | None = DEFAULT_CPU_S
    memory_bytes: int | None = DEFAULT_MEMORY_BYTES
    output_bytes: int = DEFAULT_OUTPUT_BYTES


@dataclass(frozen=True, slots=True)
class ProcessResult:
    """What a sandboxed run did. ``returncode`` is negative when a signal ended it."""

    returncode: int
    timed_out: bool
    output: str
    output_truncated_bytes: int
    duration_s: float
    enforced: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def network_isolated(self) -> bool:
        return NO_NETWORK in self.enforced


@dataclass(frozen=True, slots=True)
class Isolation:
    """How runs are wrapped: an argv prefix and the namespaces it creates."""

    prefix: tuple[str, ...] = ()
    network: bool = False
    pid_namespace: bool = False


NO_ISOLATION = Isolation()


def _unshare_flags(*, root: bool, network: bool, pid: bool) -> tuple[str, ...]:
    user = () if root else ("--map-root-user",)
    net = ("--net",) if network else ()
    pids = ("--pid", "--fork", "--kill-child") if pid else ()
    return (*user, *net, *pids)


def _works(argv: Sequence[str]) -> bool:
    try:
        done = subprocess.run(
            [*argv, sys.executable, "-c", ""],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@functools.cache
def detect_isolation() -> Isolation:
    """The strongest ``unshare`` wrapping that works here; probed once per process."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return NO_ISOLATION
    root = os.geteuid() == 0
    for network, pid in ((True, True), (True, False), (False, True)):
        prefix = (unshare, *_unshare_flags(root=root, network=network, pid=pid), "--")
        if _works(prefix):
            return Isolation(prefix, network=network, pid_namespace=pid)
    return NO_ISOLATION


def sandbox_env(
    scratch: Path,
    *,
    env: Mapping[str, str] | None = None,
    extra_path: Iterable[str | os.PathLike[str]] = (),
) -> dict[str, str]:
    """The whole environment of a run: the fixed base, the allow-list, the caller's."""
    path = (str(Path(sys.executable).parent), *SYSTEM_PATH)
    base = {
        "PATH": os.pathsep.join(path),
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONUNBUFFERED": "1",  # keeps merged output in order, and whole on a kill
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    base |= {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
    python_path = os.pathsep.join(os.fspath(entry) for entry in extra_path)
    if python_path:
        base["PYTHONPATH"] = python_path
    return base | dict(env or {})


class _Capture:
    """Keeps the first and the last bytes of a stream, counting what falls between."""

    def __init__(self, cap: int) -> None:
        self._head_cap = cap // 2
        self._tail_cap = cap - self._head_cap
        self._head = bytearray()
        self._tail = bytearray()
        self._total = 0

    def feed(self, data: bytes) -> None:
        self._total += len(data)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        self._tail += data
        if len(self._tail) > self._tail_cap:
            del self._tail[: len(self._tail) - self._tail_cap]

    @property
    def cut(self) -> int:
        return self._total - len(self._head) - len(self._tail)

    def text(self) -> str:
        head = self._head.decode(errors="replace")
        tail = self._tail.decode(errors="replace")
        if not self.cut:
            return head + tail
        return f"{head}\n[... {self.cut} bytes of output cut ...]\n{tail}"


def _supervisor_argv(status_file: Path, limits: Limits, iso: Isolation) -> list[str]:
    # -I: nothing from the environment or the current folder shapes the supervisor.
    argv = [sys.executable, "-I", "-B", str(_SUPERVISOR)]
    argv += ["--status-file", str(status_file)]
    # The backstop ends the run even if we die before its deadline.
    backstop = limits.timeout_s + _GRACE_S + _BACKSTOP_MARGIN_S
    argv += ["--backstop-s", f"{backstop:.3f}"]
    if limits.cpu_s is not None:
        argv += ["--cpu-s", str(limits.cpu_s)]
    if limits.memory_bytes is not None:
        argv += ["--memory-bytes", str(limits.memory_bytes)]
    if iso.pid_namespace:
        argv.append("--pid-namespace")
    return argv


def _has_exited(pid: int) -> bool:
    # WNOWAIT leaves the zombie in place, so its pid (and process group id) cannot be
    # reused before we have killed what is left of the group.
    flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
    return os.waitid(os.P_PID, pid, flags) is not None


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _stop(pid: int, iso: Isolation, now: float) -> float | None:
    """Begin killing a run; when to escalate to the process group, if ever."""
    if iso.pid_namespace:  # the kernel empties the namespace once its PID 1 is gone
        namespace_init = _children(pid)
        _kill_group(pid)
        # The namespace's PID 1 only finishes exiting after every process inside it is
        # gone; wait for that, so nothing from the run outlives the call.
        _wait_until_gone(namespace_init, time.monotonic() + _GRACE_S * 5)
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)  # the supervisor kills its whole tree
    return now + _GRACE_S


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found.extend(int(child) for child in task.read_text().split())
    return found


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] in "ZX"


def _wait_until_gone(pids: list[int], deadline: float) -> None:
    while any(not _gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.01)


def _open_pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # Python or kernel too old: fall back to ticks
        return None


@dataclass
class _Pump:
    """Mutable state of the read-and-watch loop of one run."""

    pid: int
    out_fd: int
    deadline: float
    iso: Isolation
    capture: _Capture
    has_pidfd: bool
    timed_out: bool = False
    escalate_at: float | None = None
    exited_at: float | None = None
    eof: bool = False

    def check(self, now: float) -> None:
        if self.exited_at is None and _has_exited(self.pid):
            self.exited_at = now
            _kill_group(self.pid)  # stragglers still in the group
            return
        if self.exited_at is not None:
            return
        if not self.timed_out and now >= self.deadline:
            self.timed_out = True
            self.escalate_at = _stop(self.pid, self.iso, now)
        elif self.escalate_at is not None and now >= self.escalate_at:
            self.escalate_at = None
            _kill_group(self.pid)

    def finished(self, now: float) -> bool:
        if self.exited_at is None:
            return False
        return self.eof or now >= self.exited_at + _DRAIN_S

    def wait_s(self, now: float) -> float:
        """How long the loop may sleep before something is due."""
        if self.exited_at is not None:
            due = self.exited_at + _DRAIN_S
        elif not self.timed_out:
            due = self.deadline
        else:
            due = self.escalate_at or now + _TICK_S
        if not self.has_pidfd:
            due = min(due, now + _TICK_S)
        return max(0.0, due - now)


def _pump(
    proc: subprocess.Popen[bytes], deadline: float, iso: Isolation, cap: int
) -> _Pump:
    assert proc.stdout is not None
    out_fd = proc.stdout.fileno()
    pidfd = _open_pidfd(proc.pid)
    state = _Pump(proc.pid, out_fd, deadline, iso, _Capture(cap), pidfd is not None)
    with selectors.DefaultSelector() as selector:
        selector.register(out_fd, selectors.EVENT_READ)
        if pidfd is not None:
            selector.register(pidfd, selectors.EVENT_READ)
        try:
            while True:
                now = time.monotonic()
                state.check(now)
                if state.finished(now):
                    return state
                if pidfd is not None and state.exited_at is not None:
                    selector.unregister(pidfd)
                    os.close(pidfd)
                    pidfd = None
                for key, _ in selector.select(state.wait_s(now)):
                    if key.fd == out_fd:
                        _read_into(state, selector)
        finally:
            if pidfd is not None:
                os.close(pidfd)


def _read_into(state: _Pump, selector: selectors.BaseSelector) -> None:
    data = os.read(state.out_fd, _READ_CHUNK)
    if data:
        state.capture.feed(data)
        return
    state.eof = True
    selector.unregister(state.out_fd)


def _shutdown(proc: subprocess.Popen[bytes], iso: Isolation) -> None:
    """Kill a run that the loop did not see to its end (an exception, say)."""
    if proc.poll() is None:
        _stop(proc.pid, iso, time.monotonic())
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(_GRACE_S)
        _kill_group(proc.pid)
    proc.wait()


def _read_status(path: Path) -> dict[str, object]:
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):  # the supervisor was killed before it wrote
        return {}
    return status if isinstance(status, dict) else {}


def _enforced(
    limits: Limits, iso: Isolation, status: Mapping[str, object]
) -> tuple[str, ...]:
    checks = (
        (TIMEOUT, True),
        (OUTPUT_CAP, True),
        (SCRUBBED_ENV, True),
        (CPU, limits.cpu_s is not None),
        (MEMORY, limits.memory_bytes is not None),
        (NO_NETWORK, iso.network),
        (PID_NAMESPACE, iso.pid_namespace),
        (SUBREAPER, status.get("subreaper") is True),
    )
    return tuple(name for name, on in checks if on)


def run_sandboxed(
    argv: Sequence[str],
    *,
    limits: Limits,
    env: Mapping[str, str] | None = None,
    extra_path: Iterable[str | os.PathLike[str]] = (),
    isolation: Isolation | None = None,
) -> ProcessResult:
    """Run ``argv`` in the sandbox and wait until it and everything it started is gone.

    ``extra_path`` becomes the child's ``PYTHONPATH``; ``env`` is added last.
    ``isolation`` defaults to ``detect_isolation()``; pass ``NO_ISOLATION`` to run
    without namespaces (the supervisor still cleans up the process tree).
    """
    iso = detect_isolation() if isolation is None else isolation
    with (
        tempfile.TemporaryDirectory(
            prefix="infralens-run-", ignore_cleanup_errors=True
        ) as scratch,
        tempfile.TemporaryDirectory(prefix="infralens-ctl-") as control,
    ):
        status_file = Path(control, "status.json")
        command = [
            *iso.prefix,
            *_supervisor_argv(status_file, limits, iso),
            "--",
            *argv,
        ]
        start = time.monotonic()
        proc = subprocess.Popen(
            command,
            cwd=scratch,
            env=sandbox_env(Path(scratch), env=env, extra_path=extra_path),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        with proc:
            try:
                state = _pump(proc, start + limits.timeout_s, iso, limits.output_bytes)
            finally:
                _shutdown(proc, iso)
        duration = time.monotonic() - start
        status = _read_status(status_file)
    returncode = status.get("returncode", proc.returncode)
    return ProcessResult(
        returncode=returncode if isinstance(returncode, int) else proc.returncode,
        timed_out=state.timed_out,
        output=state.capture.text(),
        output_truncated_bytes=state.capture.cut,
        duration_s=round(duration, 3),
        enforced=_enforced(limits, iso, status),
    )
