"""The fifth guarantee through the CLI: routing starters run, their invariants are
checked, mutants are caught by the invariant named for them, and a misbehaving starter
is reported in bounded time with nothing left running."""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import pytest

from tests.helpers import LAB, STARTER, run_cli
from tests.mutants.lab06_mutants import MUTANTS

pytestmark = pytest.mark.slow


def drop_distributed_starter(repo: Path) -> Path:
    """Keep only the NumPy starter, so each run here takes seconds, not a minute; the
    distributed starter has its own tests, and the full repository run covers both."""
    page = repo / LAB
    text = page.read_text("utf-8")
    start = text.index(
        "  - path: code/lab-06-expert-parallel-routing/expert_routing_dist.py"
    )
    page.write_text(text[:start] + text[text.index("references:\n", start) :], "utf-8")
    return repo


@pytest.fixture
def numpy_repo(repo: Path) -> Path:
    return drop_distributed_starter(repo)


def invariant_line(page: Path, invariant: str) -> int:
    lines = page.read_text("utf-8").splitlines()
    return next(
        n for n, text in enumerate(lines, 1) if text.strip() == f"- id: {invariant}"
    )


def test_repository_runs_starters_and_serves_the_second_run_from_cache(
    repo: Path,
) -> None:
    # Without the dist extra the torch starter is reported as not run (a warning),
    # so only the NumPy starter and its checks run.
    has_torch = importlib.util.find_spec("torch") is not None
    runs = 6 if has_torch else 2
    flags = ["--strict"] if has_torch else []
    first = run_cli("check", *flags, cwd=repo)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"execution: {runs} runs, 0 from cache" in first.stdout, first.stdout
    assert (
        has_torch or "expert_routing_dist.py was not run: missing torch" in first.stdout
    )
    second = run_cli("check", *flags, cwd=repo)
    assert second.returncode == 0
    assert f"execution: {runs} runs, {runs} from cache" in second.stdout


def test_no_cache_forces_a_run(numpy_repo: Path) -> None:
    assert "execution: 2 runs, 0 from cache" in run_cli("check", cwd=numpy_repo).stdout
    forced = run_cli("check", "--no-cache", cwd=numpy_repo)
    assert "execution: 2 runs, 0 from cache" in forced.stdout


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_mutant_is_caught_by_its_invariant(numpy_repo: Path, name: str) -> None:
    repo = numpy_repo
    old, new, invariant = MUTANTS[name]
    starter = repo / STARTER
    text = starter.read_text("utf-8")
    assert text.count(old) == 1
    starter.write_text(text.replace(old, new), "utf-8")
    result = run_cli("check", "--no-cache", "--select", "IL5", cwd=repo)
    assert result.returncode == 1, result.stdout
    expected = f"{LAB}:{invariant_line(repo / LAB, invariant)}:"
    lines = [line for line in result.stdout.splitlines() if line.startswith(expected)]
    assert any(f"`{invariant}`" in line and (" IL505 " in line) for line in lines), (
        result.stdout
    )
    assert "Traceback" not in result.stderr


def write_starter(repo: Path, body: str) -> None:
    (repo / STARTER).write_text(body, "utf-8")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


def test_starter_exiting_non_zero_is_reported_with_its_output(numpy_repo: Path) -> None:
    repo = numpy_repo
    write_starter(repo, "print('about to fail')\nraise SystemExit(3)\n")
    result = run_cli("check", "--select", "IL501", cwd=repo)
    assert result.returncode == 1
    assert (
        "IL501 starter `code/lab-06-expert-parallel-routing/expert_routing.py` exited with status 3"
        in result.stdout
    )
    assert "about to fail" in result.stdout


def test_hanging_starter_with_lingering_child_is_killed_in_time(
    numpy_repo: Path, tmp_path: Path
) -> None:
    repo = numpy_repo
    pid_file = tmp_path / "child.pid"
    write_starter(
        repo,
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import os, time; os.setsid(); time.sleep(600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(600)\n",
    )
    start = time.monotonic()
    result = run_cli(
        "check", "--select", "IL50", "--timeout", "4", cwd=repo, timeout=60
    )
    elapsed = time.monotonic() - start
    assert result.returncode == 1
    assert "IL502" in result.stdout
    assert elapsed < 40
    if pid_file.exists():  # in a PID namespace the pid is the namespace's, not ours
        pid = int(pid_file.read_text())
        assert not any(
            pid_alive(pid) and _cmdline(pid).endswith("time.sleep(600)") for _ in [0]
        )


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline")
            .read_bytes()
            .replace(b"\0", b" ")
            .decode()
            .strip()
        )
    except OSError:
        return ""


def test_no_exec_skips_execution(numpy_repo: Path) -> None:
    repo = numpy_repo
    write_starter(repo, "raise SystemExit(1)\n")
    result = run_cli("check", "--no-exec", "--select", "IL5", cwd=repo)
    assert result.returncode == 0
    assert "execution:" not in result.stdout


def test_routing_starter_without_invariants_is_reported(numpy_repo: Path) -> None:
    repo = numpy_repo
    page = repo / LAB
    text = page.read_text("utf-8")
    start, end = text.index("    invariants:\n"), text.index("references:\n")
    page.write_text(text[:start] + text[end:], "utf-8")
    result = run_cli("check", "--select", "IL507", cwd=repo)
    assert result.returncode == 1
    assert "IL507 routing starter" in result.stdout


def test_missing_requirement_is_not_run_and_fails_under_require_all(
    numpy_repo: Path,
) -> None:
    repo = numpy_repo
    page = repo / LAB
    text = page.read_text("utf-8").replace(
        "    role: routing\n",
        "    role: routing\n    requires: [no-such-distribution-xyz]\n",
        1,
    )
    page.write_text(text, "utf-8")
    relaxed = run_cli("check", "--select", "IL508", cwd=repo)
    assert relaxed.returncode == 0
    assert "was not run" in relaxed.stdout
    strict = run_cli("check", "--select", "IL508", "--require-all", cwd=repo)
    assert strict.returncode == 1
    assert "IL508" in strict.stdout


CHECKS = "code/lab-06-expert-parallel-routing/invariants_expert_routing.py"


def test_checks_that_cannot_be_collected_say_why(numpy_repo: Path) -> None:
    checks = numpy_repo / CHECKS
    checks.write_text(
        checks.read_text("utf-8") + "\nimport no_such_module_xyz\n", "utf-8"
    )
    result = run_cli("check", "--select", "IL50", cwd=numpy_repo)
    assert result.returncode == 1
    assert "IL503" not in result.stdout
    assert "could not be collected" in result.stdout
    assert "no_such_module_xyz" in result.stdout


def test_two_unbound_checks_are_two_findings(numpy_repo: Path) -> None:
    checks = numpy_repo / CHECKS
    checks.write_text(
        checks.read_text("utf-8")
        + "\n\ndef test_unbound():\n    pass\n\n\n"
        + '@pytest.mark.invariant("not-stated")\ndef test_other():\n    pass\n',
        "utf-8",
    )
    result = run_cli("check", "--select", "IL504", cwd=numpy_repo)
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if " IL504 " in line]
    assert len(lines) == 2, result.stdout
    assert any("test_unbound" in line for line in lines)
    assert any("`not-stated`" in line for line in lines)
