"""The sandbox with real processes: exits, timeouts, floods, leftovers, limits, env."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.execution.support import ISOLATIONS, is_alive, processes_with
from validators.execution import supervise
from validators.execution.sandbox import (
    CPU,
    MEMORY,
    NO_ISOLATION,
    NO_NETWORK,
    PID_NAMESPACE,
    SUBREAPER,
    TIMEOUT,
    Isolation,
    Limits,
    ProcessResult,
    detect_isolation,
    run_sandboxed,
)

pytestmark = pytest.mark.slow

Script = Callable[[str, str], Path]
QUICK = Limits(timeout_s=5)
HANG = Limits(timeout_s=1.5)
# How late a timeout may be reported on a loaded two-core machine.
SLACK_S = 2.0

# Starts a daemon (setsid + double fork, so it is neither our child nor in our
# process group), waits until it has written its pid (read through /proc, so it is the
# host's pid even inside a PID namespace) and confirms that pid in /proc, then exits or
# hangs. With "hold", the daemon inherits the output pipe and keeps it open.
LEAVER = """
    import os, subprocess, sys, time
    pidfile, token, hold, hang = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    daemon = '''
    import os, sys, time
    os.setsid()
    if os.fork():
        os._exit(0)
    with open(sys.argv[1] + ".tmp", "w") as handle:
        handle.write(os.readlink("/proc/self"))
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    time.sleep(60)
    '''
    out = None if hold == "hold" else subprocess.DEVNULL
    argv = [sys.executable, "-c", daemon, pidfile, token]
    subprocess.Popen(argv, stdout=out, stderr=out)
    for _ in range(500):
        if os.path.exists(pidfile):
            break
        time.sleep(0.01)
    pid = open(pidfile).read()
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        print("daemon seen" if token.encode() in handle.read() else "daemon missing")
    if hang == "hang":
        time.sleep(60)
    if hang == "killpg":
        os.killpg(0, 9)
"""


def run_python(path: Path, *args: str, limits: Limits = QUICK, **kw) -> ProcessResult:
    return run_sandboxed([sys.executable, str(path), *args], limits=limits, **kw)


def test_exit_zero_captures_output(script: Script) -> None:
    starter = script("ok.py", "print('hello from the starter')")

    result = run_python(starter)

    assert result.ok
    assert result.output == "hello from the starter\n"
    assert result.output_truncated_bytes == 0
    assert TIMEOUT in result.enforced


def test_non_zero_exit_merges_stdout_and_stderr(script: Script) -> None:
    starter = script(
        "bad.py",
        """
        import sys
        print("to stdout")
        print("to stderr", file=sys.stderr)
        sys.exit(3)
        """,
    )

    result = run_python(starter)

    assert (result.returncode, result.timed_out) == (3, False)
    assert result.output == "to stdout\nto stderr\n"


def test_uncaught_exception_shows_traceback(script: Script) -> None:
    starter = script("boom.py", "raise ValueError('the routing table is empty')")

    result = run_python(starter)

    assert result.returncode == 1
    assert "ValueError: the routing table is empty" in result.output


def test_hang_times_out_on_time(script: Script) -> None:
    starter = script("hang.py", "import time\nprint('started')\ntime.sleep(60)")

    result = run_python(starter, limits=HANG)

    assert result.timed_out
    assert not result.ok
    assert result.output == "started\n"
    assert HANG.timeout_s <= result.duration_s < HANG.timeout_s + SLACK_S


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_hang_with_grandchild_holding_the_pipe(
    script: Script, tmp_path: Path, isolation: Isolation | None
) -> None:
    starter = script("leaver.py", LEAVER)
    pidfile, token = tmp_path / "daemon.pid", uuid.uuid4().hex

    result = run_python(
        starter, str(pidfile), token, "hold", "hang", limits=HANG, isolation=isolation
    )

    assert result.timed_out
    assert result.duration_s < HANG.timeout_s + SLACK_S
    assert "daemon seen" in result.output
    assert not is_alive(int(pidfile.read_text()))
    assert processes_with(token) == []


@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("hold", ["hold", "detached"])
def test_child_left_running_after_exit_is_killed(
    script: Script, tmp_path: Path, isolation: Isolation | None, hold: str
) -> None:
    starter = script("leaver.py", LEAVER)
    pidfile, token = tmp_path / "daemon.pid", uuid.uuid4().hex

    result = run_python(starter, str(pidfile), token, hold, "exit", isolation=isolation)

    assert result.ok
    assert result.output == "daemon seen\n"
    # The run ends with the starter, not after the 1 s drain of a held pipe.
    assert result.duration_s < 1.0 + SLACK_S
    assert not is_alive(int(pidfile.read_text()))
    assert processes_with(token) == []


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_starter_killing_its_process_group_leaves_nothing(
    script: Script, tmp_path: Path, isolation: Isolation | None
) -> None:
    starter = script("leaver.py", LEAVER)
    pidfile, token = tmp_path / "daemon.pid", uuid.uuid4().hex

    result = run_python(
        starter, str(pidfile), token, "detached", "killpg", isolation=isolation
    )

    assert result.returncode == -signal.SIGKILL
    assert result.output == "daemon seen\n"
    assert not is_alive(int(pidfile.read_text()))
    assert processes_with(token) == []


def test_finite_flood_keeps_head_and_tail(script: Script) -> None:
    starter = script(
        "flood.py",
        """
        import sys
        sys.stdout.write("HEAD\\n" + "x" * 1_000_000 + "\\nTAIL\\n")
        """,
    )
    limits = Limits(timeout_s=5, output_bytes=1024)

    result = run_python(starter, limits=limits)

    assert result.ok
    assert result.output.startswith("HEAD\n")
    assert result.output.endswith("\nTAIL\n")
    assert result.output_truncated_bytes == len("HEAD\n\nTAIL\n") + 1_000_000 - 1024
    assert f"[... {result.output_truncated_bytes} bytes of output cut ...]" in (
        result.output
    )


def test_endless_flood_is_capped_and_on_time(script: Script) -> None:
    starter = script(
        "endless.py",
        """
        import sys
        while True:
            sys.stdout.write("y" * 4096)
        """,
    )

    result = run_python(starter, limits=HANG)

    assert result.timed_out
    assert result.duration_s < HANG.timeout_s + SLACK_S
    assert len(result.output.encode()) < HANG.output_bytes + 100
    assert result.output_truncated_bytes > 0


def test_workers_forked_by_the_starter_run(script: Script) -> None:
    starter = script(
        "workers.py",
        """
        import multiprocessing

        def square(x):
            return x * x

        if __name__ == "__main__":
            with multiprocessing.get_context("fork").Pool(2) as pool:
                print(sum(pool.map(square, range(10))))
        """,
    )

    result = run_python(starter)

    assert result.ok, result.output
    assert result.output == "285\n"


def test_environment_is_scrubbed(
    script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFRALENS_TEST_SECRET", "hunter2")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter3")
    starter = script(
        "env.py",
        """
        import os, sys
        print(sorted(os.environ))
        print(os.environ["HOME"] == os.getcwd(), sys.stdin.read() == "")
        print(os.environ["PYTHONHASHSEED"], os.environ["LANG"], os.environ["EXTRA"])
        """,
    )

    result = run_python(starter, env={"EXTRA": "passed"})

    assert result.ok, result.output
    assert "INFRALENS_TEST_SECRET" not in result.output
    assert "hunter" not in result.output
    assert "AWS_" not in result.output
    assert result.output.splitlines()[1:] == ["True True", "0 C.UTF-8 passed"]


def test_scratch_folder_is_removed(script: Script) -> None:
    starter = script(
        "scratch.py",
        """
        import os
        open("left-behind.txt", "w").write("x")
        print(os.getcwd())
        """,
    )

    result = run_python(starter)

    scratch = Path(result.output.strip())
    assert scratch.name.startswith("infralens-run-")
    assert not scratch.exists()


def test_extra_path_becomes_importable(script: Script, tmp_path: Path) -> None:
    script("lib/helper.py", "VALUE = 42")
    starter = script("uses_helper.py", "import helper\nprint(helper.VALUE)")

    result = run_python(starter, extra_path=(tmp_path / "lib",))

    assert result.output == "42\n"


def test_network_isolation_is_recorded(script: Script) -> None:
    starter = script(
        "net.py",
        "import socket\nprint(sorted(name for _, name in socket.if_nameindex()))",
    )

    detected = run_python(starter)
    plain = run_python(starter, isolation=NO_ISOLATION)

    assert detected.network_isolated == detect_isolation().network
    assert not plain.network_isolated
    assert NO_NETWORK not in plain.enforced
    if detected.network_isolated:
        assert detected.output == "['lo']\n"


def test_enforced_names_what_held() -> None:
    result = run_sandboxed(
        [sys.executable, "-c", ""],
        limits=Limits(timeout_s=5, cpu_s=None, memory_bytes=None),
        isolation=NO_ISOLATION,
    )

    assert CPU not in result.enforced
    assert MEMORY not in result.enforced
    assert PID_NAMESPACE not in result.enforced
    assert SUBREAPER in result.enforced


def test_cpu_limit_stops_a_busy_loop(script: Script) -> None:
    starter = script("busy.py", "while True:\n    pass")

    result = run_python(starter, limits=Limits(timeout_s=5, cpu_s=1))

    assert not result.timed_out
    assert result.returncode in {-signal.SIGXCPU, -signal.SIGKILL}
    assert CPU in result.enforced


def test_memory_limit_refuses_a_large_allocation(script: Script) -> None:
    starter = script("hungry.py", "block = bytearray(1 << 30)\nprint(len(block))")

    result = run_python(starter, limits=Limits(timeout_s=5, memory_bytes=512 << 20))

    assert result.returncode == 1
    assert "MemoryError" in result.output
    assert MEMORY in result.enforced


def test_missing_program_is_reported(tmp_path: Path) -> None:
    result = run_sandboxed([str(tmp_path / "no-such-program")], limits=QUICK)

    assert result.returncode == 127
    assert "cannot run" in result.output


def test_supervisor_backstop_ends_a_run_on_its_own(
    script: Script, tmp_path: Path
) -> None:
    # As if whoever started the run had died: only the supervisor's alarm is left.
    starter = script("leaver.py", LEAVER)
    pidfile, token, status = tmp_path / "daemon.pid", uuid.uuid4().hex, tmp_path / "s"
    command = [sys.executable, supervise.__file__, "--status-file", str(status)]
    command += ["--backstop-s", "1", "--", sys.executable, str(starter)]
    start = time.monotonic()

    subprocess.run(
        [*command, str(pidfile), token, "detached", "hang"],
        stdout=subprocess.DEVNULL,
        check=False,
        timeout=10,
    )

    assert time.monotonic() - start < 1 + SLACK_S
    assert json.loads(status.read_text())["returncode"] == -signal.SIGKILL
    assert not is_alive(int(pidfile.read_text()))
    assert processes_with(token) == []


def test_run_ends_even_if_its_caller_is_killed(script: Script, tmp_path: Path) -> None:
    starter = script("leaver.py", LEAVER)
    pidfile, token = tmp_path / "daemon.pid", uuid.uuid4().hex
    caller = script(
        "caller.py",
        f"""
        import sys
        from validators.execution.sandbox import Limits, run_sandboxed

        argv = [sys.executable, {str(starter)!r}, {str(pidfile)!r}, {token!r}]
        run_sandboxed([*argv, "detached", "hang"], limits=Limits(timeout_s=1))
        """,
    )
    # The killed caller cannot remove its temporary folders; keep them in tmp_path.
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    with subprocess.Popen([sys.executable, str(caller)], env=env) as proc:
        deadline = time.monotonic() + 5
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # past the starter's last print: a closed pipe cannot end it
        proc.kill()
    daemon = int(pidfile.read_text())

    # The supervisor's alarm: the timeout, the grace, and its margin (1 + 1 + 2 s).
    deadline = time.monotonic() + 4 + SLACK_S
    while processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert not is_alive(daemon)
    assert processes_with(token) == []
