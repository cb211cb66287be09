"""Real pre-commit in temporary git repositories, and the CI workflow linted.

Hook environments install from PyPI into one PRE_COMMIT_HOME per test session, so
they are installed once however many repositories the tests make.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.helpers_cli import (
    BIN,
    REPO,
    base_env,
    copy_repo,
    drift_region,
    first_region_excerpt,
    git,
    git_repo,
    infralens,
    run,
    write_handbook,
)

PRE_COMMIT = [sys.executable, "-m", "pre_commit"]
INSTALL_TIMEOUT = 600
CONFIG = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text("utf-8"))
MANIFEST = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text("utf-8"))
WORKFLOW_PATH = REPO / ".github/workflows/ci.yml"


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("pre-commit-home")
    return base_env(PRE_COMMIT_HOME=str(home))


def pre_commit(
    cwd: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return run(
        [*PRE_COMMIT, *args, "--color", "never"],
        cwd,
        env=env,
        timeout=INSTALL_TIMEOUT,
    )


def _hooks() -> dict[str, dict[str, object]]:
    return {hook["id"]: hook for repo in CONFIG["repos"] for hook in repo["hooks"]}


# --- the files, statically --------------------------------------------------------


def test_config_and_manifest_are_valid() -> None:
    for command in (
        ["validate-config", ".pre-commit-config.yaml"],
        ["validate-manifest", ".pre-commit-hooks.yaml"],
    ):
        done = run([*PRE_COMMIT, *command], REPO)
        assert done.returncode == 0, done.stdout + done.stderr


def test_every_hook_installs_from_the_registries() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    pinned_ruff = next(
        dep
        for dep in pyproject["project"]["optional-dependencies"]["dev"]
        if dep.startswith("ruff")
    )
    assert [repo["repo"] for repo in CONFIG["repos"]] == ["local"]
    for hook in _hooks().values():
        assert hook["language"] in {"python", "system"}, hook["id"]
        for dependency in hook.get("additional_dependencies", []):
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", dependency)
    assert _hooks()["ruff-format"]["additional_dependencies"] == [pinned_ruff]
    assert _hooks()["ruff-check"]["additional_dependencies"] == [pinned_ruff]


def test_no_hook_rewrites_an_excerpt_on_a_page() -> None:
    hooks = _hooks()
    # ruff formats Python blocks inside Markdown; its hook only ever sees Python files.
    assert hooks["ruff-format"]["types_or"] == ["python", "pyi"]
    assert re.match(hooks["ruff-format"]["exclude"], "content/labs/lab.md")
    assert re.match(hooks["trailing-whitespace"]["exclude"], "content/labs/lab.md")
    assert re.match(CONFIG["exclude"], "tests/golden/expected/text.txt")
    assert re.match(CONFIG["exclude"], "tests/data/sarif-schema-2.1.0.json")


def test_static_and_executing_hooks_run_at_their_stages() -> None:
    hooks = _hooks()
    static, executing = hooks["infralens-check"], hooks["infralens-exec"]
    assert "--no-exec" in str(static["entry"])
    assert "stages" not in static
    assert "--no-exec" not in str(executing["entry"])
    assert executing["stages"] == ["pre-push", "manual"]
    for hook in (static, executing, *MANIFEST):
        assert hook["require_serial"] is True
        for path in ("content/labs/a.md", "code/lab/x.py", "pyproject.toml"):
            assert re.search(str(hook["files"]), path), (hook["id"], path)
        assert not re.search(
            str(hook["files"]), "tests/golden/handbook/content/labs/a.md"
        )
    assert {hook["id"]: hook["language"] for hook in MANIFEST} == {
        "infralens-check": "python",
        "infralens-exec": "python",
    }


def test_workflow_is_valid() -> None:
    checker = BIN / "check-jsonschema"
    assert checker.exists(), "check-jsonschema comes with the dev extra"
    done = run(
        [
            str(checker),
            "--builtin-schema",
            "vendor.github-workflows",
            str(WORKFLOW_PATH),
        ],
        REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_gates_pull_requests() -> None:
    workflow = yaml.safe_load(WORKFLOW_PATH.read_text("utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on` as true
    assert "pull_request" in triggers
    assert triggers["push"]["branches"] == ["main"]
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    uses = [step.get("uses", "") for step in steps]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert uses[0].startswith("actions/checkout@")
    python = next(
        step
        for step in steps
        if step.get("uses", "").startswith("actions/setup-python@")
    )
    assert python["with"]["python-version"] == "3.11"
    for command in (
        "pip install -e '.[dev]'",
        "pre-commit run --all-files",
        "pytest",
        "infralens check --output-format github",
        "infralens check --output-format sarif > infralens.sarif",
    ):
        assert command in runs, command
    upload = next(
        step
        for step in steps
        if step.get("uses", "").startswith("github/codeql-action/upload-sarif@")
    )
    assert upload["with"]["sarif_file"] == "infralens.sarif"
    assert "always()" in upload["if"]
    assert job["permissions"]["security-events"] == "write"


# --- real pre-commit ------------------------------------------------------------


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """This repository's pipeline, pages and hooks, committed in a new git repository."""
    return git_repo(
        copy_repo(tmp_path / "repo", ".pre-commit-config.yaml", ".gitignore")
    )


@pytest.mark.slow
def test_staged_drifted_starter_fails_naming_the_page(
    repo_copy: Path, env: dict[str, str]
) -> None:
    page, source, region = first_region_excerpt(repo_copy)
    drift_region(repo_copy, source, region)
    git(repo_copy, "add", source)
    assert git(repo_copy, "diff", "--cached", "--name-only").split() == [source]

    failed = pre_commit(repo_copy, env, "run")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert re.search(r"infralens check \(static\)\.+Failed", failed.stdout)
    assert f"{page}:" in failed.stdout
    assert "IL201" in failed.stdout
    for hook in ("ruff check", "ruff format", "trim trailing whitespace"):
        assert re.search(rf"{re.escape(hook)}\.+Passed", failed.stdout), failed.stdout

    fixed = infralens(repo_copy, "check", "--fix", "--no-exec", source, env=env)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert f"fixed {page}" in fixed.stderr
    git(repo_copy, "add", page)
    passed = pre_commit(repo_copy, env, "run")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert re.search(r"infralens check \(static\)\.+Passed", passed.stdout)


@pytest.mark.slow
def test_hooks_and_fix_agree_on_the_real_pages(
    repo_copy: Path, env: dict[str, str]
) -> None:
    """Whitespace fixers and ruff leave content/ and code/ alone, and `--fix` then
    changes nothing: the hooks and the excerpt fixer never fight."""
    files = git(repo_copy, "ls-files", "content", "code").split()
    # As after the Quick start, without activating it: the hooks find .venv/bin.
    (repo_copy / ".venv").mkdir()
    (repo_copy / ".venv/bin").symlink_to(BIN)
    (repo_copy / ".git/info/exclude").write_text(".venv\n", "utf-8")
    path = os.pathsep.join(
        part for part in env["PATH"].split(os.pathsep) if Path(part) != BIN
    )
    done = pre_commit(repo_copy, {**env, "PATH": path}, "run", "--files", *files)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"infralens check \(static\)\.+Passed", done.stdout)
    fixed = infralens(repo_copy, "check", "--fix", "--no-exec", env=env)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert git(repo_copy, "status", "--porcelain") == ""


@pytest.fixture
def hook_repository(tmp_path: Path) -> Path:
    """This repository as another handbook sees it: its working tree (uncommitted
    changes and new files included) committed in a clean git repository."""
    listed = run(["git", "ls-files", "-z", "-c", "-o", "--exclude-standard"], REPO)
    assert listed.returncode == 0, listed.stderr
    snapshot = tmp_path / "hook-repository"
    for relative in filter(None, listed.stdout.split("\0")):
        source = REPO / relative
        if source.is_file():
            (snapshot / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / relative)
    return git_repo(snapshot)


@pytest.mark.slow
def test_another_handbook_uses_the_hooks_with_try_repo(
    tmp_path: Path, hook_repository: Path, env: dict[str, str]
) -> None:
    # try-repo installs into a store of its own every time (about 45 s: this package
    # and its dependencies from PyPI), so it runs once; the failing side of the same
    # hook is shown by the local hooks above, which share its entry and files.
    handbook = git_repo(write_handbook(tmp_path / "handbook"))
    done = pre_commit(
        handbook,
        env,
        "try-repo",
        str(hook_repository),
        "infralens-check",
        "--all-files",
        "--verbose",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"infralens check \(static\)\.+Passed", done.stdout)
    assert "All checks passed (2 pages checked)." in done.stdout
