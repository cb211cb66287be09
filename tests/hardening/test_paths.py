"""Paths: one guard, component-wise on resolved paths, for starters, excerpt sources
and link targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hardening.conftest import LAB, STARTER, infralens, line_of, snapshot

LAB_DIR = "code/lab-06-expert-parallel-routing"
STARTER_KEY = b"  - path: " + STARTER.encode() + b"\n    role: routing\n"
DEEP = f"{LAB_DIR}/a/b/c/d/e/f/g/deep_module.py"


@pytest.fixture
def outside(repo: Path) -> Path:
    """A folder beside the repository whose name starts with the repository's."""
    folder = repo.parent / (repo.name + "_private")
    folder.mkdir()
    (folder / "secret.py").write_text("SECRET = 1\n")
    (folder / "secret.md").write_text("# Secret\n")
    # A sibling of `code/` sharing its prefix, inside the repository.
    (repo / "code_private").mkdir()
    (repo / "code_private/x.py").write_text("x = 1\n")
    return folder


def add_starter(repo: Path, path: str) -> bytes:
    page = repo / LAB
    entry = f"  - path: '{path}'\n    role: support\n".encode()
    data = page.read_bytes().replace(STARTER_KEY, STARTER_KEY + entry, 1)
    page.write_bytes(data)
    return data


def escape_paths(repo: Path, outside: Path) -> dict[str, str]:
    """Paths that leave `code/`, each a different way; the message each must give."""
    (repo / LAB_DIR / "link_out.py").symlink_to(outside / "secret.py")
    (repo / LAB_DIR / "dir_out").symlink_to(outside)
    (repo / LAB_DIR / "link_content.py").symlink_to(repo / "content/labs")
    return {
        "code/../code_private/x.py": "`..` segments",
        f"{LAB_DIR}/../../code_private/x.py": "`..` segments",
        f"{LAB_DIR}/../{LAB_DIR.split('/')[1]}/expert_routing.py": "`..` segments",
        str(outside / "secret.py"): "absolute",
        "/etc/passwd": "absolute",
        "C:/code/x.py": "absolute",
        "code\\lab-06-expert-parallel-routing\\expert_routing.py": "backslashes",
        f"{LAB_DIR}/link_out.py": "leads outside `code/`",
        f"{LAB_DIR}/dir_out/secret.py": "leads outside `code/`",
        f"{LAB_DIR}/link_content.py": "leads outside `code/`",
        f"{LAB_DIR}/" + "n" * 300 + ".py": "longer than",
    }


def test_starter_paths_that_escape_code(repo: Path, outside: Path) -> None:
    cases = escape_paths(repo, outside)
    for path in cases:
        data = add_starter(repo, path)
    before = snapshot(repo)
    result = infralens(repo)
    assert result.returncode == 1
    found = {f.line: f.message for f in result.findings if f.code == "IL102"}
    for path, reason in cases.items():
        line = line_of(data, f"  - path: '{path}'".encode())
        assert line in found, (path, result.stdout)
        assert reason in found[line], (path, found[line])
    assert snapshot(repo) == before


def test_a_deep_starter_path_is_accepted(repo: Path) -> None:
    deep = repo / DEEP
    deep.parent.mkdir(parents=True)
    deep.write_text("VALUE = 1\n")
    add_starter(repo, DEEP)
    result = infralens(repo)
    assert result.returncode == 0, result.stdout


def test_excerpt_sources_go_through_the_same_guard(repo: Path, outside: Path) -> None:
    cases = escape_paths(repo, outside)
    cases = {p: r.replace("`code/`", "the repository") for p, r in cases.items()}
    # Inside the repository but outside `code/` is a legitimate source.
    del cases[f"{LAB_DIR}/link_content.py"]
    blocks = b"".join(
        f"```python source={path}\nSECRET = 1\n```\n\n".encode() for path in cases
    )
    page = repo / LAB
    data = page.read_bytes().replace(
        b"## Line-by-line explanation", blocks + b"## Line-by-line explanation", 1
    )
    page.write_bytes(data)
    before = snapshot(repo)
    result = infralens(repo)
    found = {f.line: f.message for f in result.findings if f.code == "IL202"}
    for path, reason in cases.items():
        line = line_of(data, f"```python source={path}\n".encode())
        assert reason in found.get(line, ""), (path, result.stdout)
    assert infralens(repo, "--fix").returncode == 1
    assert snapshot(repo) == before


def test_a_deep_excerpt_source_is_accepted(repo: Path) -> None:
    deep = repo / DEEP
    deep.parent.mkdir(parents=True)
    deep.write_text("VALUE = 1\n")
    page = repo / LAB
    page.write_bytes(
        page.read_bytes().replace(
            b"## Line-by-line explanation",
            f"```python source={DEEP}\nVALUE = 1\n```\n\n".encode()
            + b"## Line-by-line explanation",
            1,
        )
    )
    assert infralens(repo).returncode == 0


def test_link_targets_go_through_the_same_guard(repo: Path, outside: Path) -> None:
    (repo / "content/out.md").symlink_to(outside / "secret.md")
    deep = repo / DEEP
    deep.parent.mkdir(parents=True)
    deep.write_text("VALUE = 1\n")
    links = {
        # The repository's sibling shares its name as a prefix.
        f"../../../{outside.name}/secret.md": "leads outside the repository",
        "../out.md": "leads outside the repository",
        "/etc/passwd": "absolute",
        "..\\handbook\\expert-parallel-routing.md": "backslashes",
        "a%00b.md": "NUL",
        "../../code_private/nothing.py": "does not exist",
    }
    legit = [f"../../{DEEP}", "../../code_private/x.py", "../handbook/./"]
    text = "".join(f"- see [x]({target})\n" for target in [*links, *legit])
    page = repo / LAB
    data = page.read_bytes().replace(
        b"## Interview explanation\n",
        b"## Interview explanation\n\n" + text.encode() + b"\n",
        1,
    )
    page.write_bytes(data)
    result = infralens(repo)
    assert result.returncode == 1
    found = {f.line: f.message for f in result.findings if f.code == "IL401"}
    for target, reason in links.items():
        line = line_of(data, f"[x]({target})".encode())
        assert reason in found.get(line, ""), (target, result.stdout)
    for target in legit:
        assert line_of(data, f"[x]({target})".encode()) not in found
