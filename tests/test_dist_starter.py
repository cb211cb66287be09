"""The distributed Lab 06 starter, run the way the pipeline runs it.

- The starter itself, through ``launch.py``'s torchrun command in the sandbox, at
  world sizes 1, 2 and 4 (gloo): every rank exits 0 and says it matches NumPy.
- Its invariant checks pass, and each mutant in ``tests/mutants/lab06_dist_mutants.py``
  fails the invariant it names.
- A rank that hangs is killed with its siblings at the timeout, leaving no process.
- The pure helpers of ``launch.py``: argv, environment, logs, exit codes, failure
  messages, requirements, and the loopback step inside a fresh network namespace.

Everything that starts torch is skipped, with the reason, where torch is not
installed (``pip install -e '.[dist]'``); the helpers' tests run everywhere.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.mutants.lab06_dist_mutants import CHECKS, MUTANTS, STARTER
from validators.execution import launch
from validators.execution.sandbox import Limits, run_sandboxed

REPO = Path(__file__).resolve().parent.parent
LAB_FILES = ("expert_routing.py", Path(STARTER).name, Path(CHECKS).name)
needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="torch is not installed; the distributed starter needs the dist extra "
    "(pip install -e '.[dist]')",
)
RUN_TIMEOUT_S = 150.0  # one torchrun launch; four ranks on two busy cores take ~25 s
CHECKS_TIMEOUT_S = 180.0
HANG_TIMEOUT_S = 30.0


def torchrun(script: Path, processes: int, log_dir: Path, timeout_s: float):
    """Run ``script`` as the runner will: launch argv, gloo env, default limits."""
    result = run_sandboxed(
        launch.launch_argv("torchrun", script, processes=processes, log_dir=log_dir),
        limits=Limits(timeout_s=timeout_s),
        env=launch.launch_env("gloo"),
    )
    logs = launch.read_rank_logs(
        log_dir, launcher_output=result.output, launcher_returncode=result.returncode
    )
    return result, logs


# --- the starter ----------------------------------------------------------------


@pytest.mark.slow
@needs_torch
@pytest.mark.parametrize("processes", [1, 2, 4])
def test_starter_runs_and_matches_numpy(tmp_path: Path, processes: int) -> None:
    result, logs = torchrun(REPO / STARTER, processes, tmp_path, RUN_TIMEOUT_S)
    assert result.ok, launch.describe_failure(logs, processes=processes)
    assert sorted(logs) == list(range(processes))
    for rank, log in logs.items():
        assert log.exitcode == 0
        assert f"[rank {rank}] output matches NumPy" in log.stdout, log.output
    assert "count matrix [r, s]" in logs[0].stdout


# --- the checks and the mutants -------------------------------------------------------


def run_checks(folder: Path) -> dict[str, list[str]]:
    """Run the checks file in ``folder``; the outcomes of each invariant's tests."""
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    report = folder / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "validators.execution.invariant_plugin",
            "-p",
            "no:cacheprovider",
            f"--rootdir={folder}",
            "-c",
            str(folder / "pytest.ini"),
            f"--invariant-report={report}",
            str(folder / Path(CHECKS).name),
        ],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(REPO)])},
        capture_output=True,
        text=True,
        timeout=CHECKS_TIMEOUT_S,
        check=False,
    )
    assert report.exists(), done.stdout + done.stderr
    outcomes: dict[str, list[str]] = {}
    for test in json.loads(report.read_text(encoding="utf-8"))["tests"]:
        for invariant in test["invariants"]:
            outcomes.setdefault(invariant, []).append(test["outcome"])
    return outcomes


def lab_copy(folder: Path, mutation: tuple[str, str] | None) -> Path:
    folder.mkdir()
    for name in LAB_FILES:
        shutil.copy2(REPO / Path(STARTER).parent / name, folder / name)
    if mutation is not None:
        old, new = mutation
        starter = folder / Path(STARTER).name
        starter.write_text(starter.read_text().replace(old, new), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def check_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Outcomes of the checks on the starter and on every mutant, run two at a time."""
    base = tmp_path_factory.mktemp("dist-mutants")
    jobs = {"original": None} | {
        name: (old, new) for name, (old, new, _) in MUTANTS.items()
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(run_checks, lab_copy(base / name, mutation))
            for name, mutation in jobs.items()
        }
        return {name: future.result() for name, future in futures.items()}


def test_every_mutant_applies_once() -> None:
    source = (REPO / STARTER).read_text(encoding="utf-8")
    for name, (old, new, _) in MUTANTS.items():
        assert source.count(old) == 1, name
        assert old != new, name


@pytest.mark.slow
@needs_torch
def test_checks_pass_on_the_starter(check_runs: dict) -> None:
    outcomes = check_runs["original"]
    assert set(outcomes) == {"dist-matches-numpy", "dist-count-agreement"}
    for invariant, results in outcomes.items():
        assert results, invariant
        assert set(results) == {"passed"}, (invariant, results)


@pytest.mark.slow
@needs_torch
@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_fails_its_invariant(check_runs: dict, name: str) -> None:
    invariant = MUTANTS[name][2]
    assert "failed" in check_runs[name][invariant], check_runs[name]


# --- a hanging rank -------------------------------------------------------------

HANGING = """\
import sys, time
from pathlib import Path
import torch.distributed as dist

dist.init_process_group("gloo")
rank = dist.get_rank()
Path(sys.argv[0]).with_name(f"started.{rank}").touch()
if rank == 1:
    time.sleep(3600)  # never joins the barrier
dist.barrier()  # so rank 0 waits for ever too
"""


def alive_with(marker: str) -> list[int]:
    """Pids of live (non-zombie) processes whose command line mentions ``marker``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state not in "ZX":
            pids.append(int(entry.name))
    return pids


@pytest.mark.slow
@needs_torch
@pytest.mark.skipif(
    not Path("/proc").is_dir(), reason="needs /proc to look for leftovers"
)
def test_hanging_rank_is_killed_with_its_siblings(tmp_path: Path) -> None:
    script = tmp_path / "hang_on_rank_1.py"
    script.write_text(HANGING, encoding="utf-8")
    result, logs = torchrun(script, 2, tmp_path / "logs", HANG_TIMEOUT_S)
    assert result.timed_out
    assert result.duration_s < HANG_TIMEOUT_S + 10
    # Both ranks had joined the group: the hang was real, not a failure to start.
    assert (tmp_path / "started.0").exists()
    assert (tmp_path / "started.1").exists()
    assert alive_with(str(script)) == []
    assert sorted(logs) == [0, 1]  # each rank's output survives the kill
    assert "rank 0 of 2" in launch.describe_failure(logs, processes=2)


# --- launch.py's helpers (no torch needed) ----------------------------------------


def test_torchrun_argv_tees_each_rank_into_the_log_dir(tmp_path: Path) -> None:
    argv = launch.torchrun_argv(
        Path("s.py"), processes=4, log_dir=tmp_path, python="py", args=("--x",)
    )
    assert argv[:3] == ["py", "-m", "torch.distributed.run"]
    assert "--standalone" in argv
    assert "--nproc-per-node=4" in argv
    assert f"--log-dir={tmp_path}" in argv
    assert "--tee=3" in argv
    assert argv[-2:] == ["s.py", "--x"]
    with pytest.raises(ValueError, match="at least 1"):
        launch.torchrun_argv(Path("s.py"), processes=0, log_dir=tmp_path)


def test_launch_argv_starts_with_the_loopback_step(tmp_path: Path) -> None:
    argv = launch.launch_argv(
        "torchrun", Path("s.py"), processes=2, log_dir=tmp_path, python="py"
    )
    assert argv[:6] == [
        "py",
        "-I",
        "-B",
        str(launch.LAUNCH_SCRIPT),
        "--loopback-up",
        "--",
    ]
    assert argv[6:] == launch.torchrun_argv(
        Path("s.py"), processes=2, log_dir=tmp_path, python="py"
    )
    with pytest.raises(ValueError, match="unknown launcher 'mpirun'"):
        launch.launch_argv("mpirun", Path("s.py"), processes=2, log_dir=tmp_path)


def test_launch_env_hides_gpus_for_gloo_only() -> None:
    assert launch.launch_env("gloo") == {"CUDA_VISIBLE_DEVICES": ""}
    assert launch.launch_env("nccl") == {}
    with pytest.raises(ValueError, match="unknown backend"):
        launch.launch_env("mpi")


def test_missing_requirements() -> None:
    requires = [
        "numpy",
        "pytest>=1",
        "numpy==0.0.1",  # installed, but not this version
        "infralens-no-such-distribution",
        "json",  # a module, not a distribution: fine without a version
        "json>=1",  # a module has no version to compare
        "not a requirement!",
    ]
    assert launch.missing_requirements(requires) == [
        "numpy==0.0.1",
        "infralens-no-such-distribution",
        "json>=1",
        "not a requirement!",
    ]
    assert launch.missing_requirements([]) == []


SUMMARY = """\
torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
============================================================
s.py FAILED
------------------------------------------------------------
Failures:
[1]:
  time      : 2026-12-03_16:28:00
  host      : localhost
  rank      : 0 (local_rank: 0)
  exitcode  : -15 (pid: 11751)  (SIGTERM)
  error_file: <N/A>
  traceback : Signal 15 (SIGTERM) received by PID 11751
------------------------------------------------------------
Root Cause (first observed failure):
[0]:
  time      : 2026-12-03_16:28:00
  host      : localhost
  rank      : 1 (local_rank: 1)
  exitcode  : 3 (pid: 11752)
  error_file: <N/A>
============================================================
"""


def fake_logs(log_dir: Path, outputs: dict[int, tuple[str, str]]) -> None:
    for rank, (out, err) in outputs.items():
        folder = log_dir / "run-id_abc" / "attempt_0" / str(rank)
        folder.mkdir(parents=True)
        (folder / "stdout.log").write_text(out)
        (folder / "stderr.log").write_text(err)


def test_exit_codes_from_the_failure_summary() -> None:
    assert launch.exit_codes(SUMMARY) == ({0: -15, 1: 3}, 1)
    assert launch.exit_codes("all fine\n") == ({}, None)


def test_read_rank_logs_and_describe_the_failure(tmp_path: Path) -> None:
    fake_logs(
        tmp_path, {0: ("waiting\n", "Traceback: peer closed\n"), 1: ("", "boom\n")}
    )
    (tmp_path / "run-id_abc" / "attempt_0" / "filtered_stdout.log").write_text("")
    logs = launch.read_rank_logs(
        tmp_path, launcher_output=SUMMARY, launcher_returncode=1
    )
    assert sorted(logs) == [0, 1]
    assert logs[1] == launch.RankLog(1, "", "boom\n", 3, root_cause=True)
    assert logs[0].output == "waiting\n--- stderr ---\nTraceback: peer closed\n"
    assert [log.rank for log in launch.failing_ranks(logs)] == [1, 0]
    message = launch.describe_failure(logs, processes=2)
    assert message.startswith("rank 1 of 2 (exit code 3, the first to fail):\nboom")
    assert "rank 0 of 2 (stopped by the launcher with SIGTERM):\nwaiting" in message


def test_read_rank_logs_of_a_success_and_of_a_timeout(tmp_path: Path) -> None:
    fake_logs(tmp_path, {0: ("ok\n", ""), 1: ("ok\n", "")})
    done = launch.read_rank_logs(tmp_path, launcher_returncode=0)
    assert [log.exitcode for log in done.values()] == [0, 0]
    assert launch.failing_ranks(done) == []
    killed = launch.read_rank_logs(tmp_path, launcher_returncode=-signal.SIGKILL)
    assert [log.exitcode for log in killed.values()] == [None, None]
    # Nobody is known to have failed, so every rank is shown.
    message = launch.describe_failure(killed, processes=2)
    assert "rank 0 of 2 (no exit code reported):\nok" in message
    assert "rank 1 of 2" in message
    assert launch.read_rank_logs(tmp_path / "nothing") == {}
    assert "no rank left any output" in launch.describe_failure({}, processes=2)


def test_the_loopback_step_needs_a_command() -> None:
    assert launch.main(["--loopback-up"]) == 2
    assert launch.main(["--loopback-up", "--"]) == 2
    assert launch.main(["--other", "--", "true"]) == 2


def _in_new_net_namespace(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["unshare", "--map-root-user", "--net", *argv],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


CONNECT = textwrap.dedent(
    """\
    import socket
    with socket.create_server(("127.0.0.1", 0)) as server:
        socket.create_connection(server.getsockname(), timeout=5).close()
    print("connected")
    """
)


def _net_namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    return _in_new_net_namespace("true").returncode == 0


@pytest.mark.skipif(
    not _net_namespaces_work(),
    reason="`unshare --map-root-user --net` is not available or not permitted here",
)
def test_loopback_step_inside_a_fresh_network_namespace() -> None:
    plain = _in_new_net_namespace(sys.executable, "-c", CONNECT)
    assert plain.returncode != 0  # loopback is down in a new namespace
    wrapped = _in_new_net_namespace(
        *launch.with_loopback_up([sys.executable, "-c", CONNECT])
    )
    assert wrapped.returncode == 0, wrapped.stderr
    assert wrapped.stdout == "connected\n"
    missing = _in_new_net_namespace(*launch.with_loopback_up(["no-such-command-xyz"]))
    assert missing.returncode == 127
    assert "cannot run 'no-such-command-xyz'" in missing.stderr
