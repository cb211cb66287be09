"""Helpers for tests that drive `infralens`, git and pre-commit in subprocesses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden"
BIN = Path(sys.executable).parent
REPO_PARTS = ("content", "code", "schema", "validators", "pyproject.toml")


def base_env(**extra: str) -> dict[str, str]:
    """The environment of every subprocess: no colour, our venv first on PATH, git
    with a fixed identity and no user or system configuration."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GIT_", "PRE_COMMIT")) and key not in {"SKIP"}
    }
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        NO_COLOR="1",
        GIT_AUTHOR_NAME="InfraLens Tests",
        GIT_AUTHOR_EMAIL="tests@infralens.invalid",
        GIT_COMMITTER_NAME="InfraLens Tests",
        GIT_COMMITTER_EMAIL="tests@infralens.invalid",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
    )
    env.update(extra)
    return env


def run(
    args: list[str], cwd: Path, *, env: dict[str, str] | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env=env or base_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


def infralens(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`infralens ARGS...` as a user runs it, in ``cwd``."""
    return run([sys.executable, "-m", "validators", *args], cwd, env=env)


def git(cwd: Path, *args: str) -> str:
    done = run(["git", *args], cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


def git_repo(folder: Path) -> Path:
    """Make ``folder`` a git repository with everything in it committed."""
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "initial")
    return folder


def copy_repo(dest: Path, *extra: str) -> Path:
    """The parts of this repository the pipeline reads, copied to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".infralens-cache")
    for part in (*REPO_PARTS, *extra):
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, dest / part, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, dest / part)
    return dest


def copy_golden_handbook(dest: Path) -> Path:
    """The fixed, deliberately broken handbook every output format is pinned on."""
    shutil.copytree(GOLDEN / "handbook", dest)
    return dest


def set_config(root: Path, table: str) -> None:
    """Replace the `[tool.infralens]` table (and its sub-tables) of pyproject.toml."""
    path = root / "pyproject.toml"
    kept, skipping = [], False
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("["):
            skipping = line.strip().startswith("[tool.infralens")
        if not skipping:
            kept.append(line)
    path.write_text("\n".join([*kept, "", table.strip(), ""]), "utf-8")


STARTER = '''"""Pick each token's best expert: the smallest routing step there is."""

from __future__ import annotations


# region: pick
def pick(scores: list[float]) -> int:
    """The index of the highest score; ties go to the lower index."""
    best = 0
    for index, score in enumerate(scores):
        if score > scores[best]:
            best = index
    return best


# endregion: pick


if __name__ == "__main__":
    print(pick([0.1, 0.7, 0.2]))
'''

HANDBOOK_PAGE = """---
id: mini-routing
title: Mini Routing
summary: A handbook page for the mini lab.
labs:
  - lab-01-mini-routing
references:
  - id: shazeer2017-moe
    kind: paper
    title: "Outrageously Large Neural Networks: The Sparsely-Gated Mixture-of-Experts Layer"
    url: https://arxiv.org/abs/1701.06538
---

# Mini Routing

- A router scores every expert for each token.[^shazeer2017-moe]

## Further reading

[^shazeer2017-moe]: [Outrageously Large Neural Networks: The Sparsely-Gated Mixture-of-Experts Layer](https://arxiv.org/abs/1701.06538) (paper)
"""

LAB_PAGE = """---
id: lab-01-mini-routing
number: 1
title: Mini Routing
handbook_section: mini-routing
concept_goal: Read top-1 routing as an argmax over expert scores.
summary: The smallest routing step.
starters:
  - path: code/lab-01-mini-routing/top_k.py
    role: support
references:
  - id: shazeer2017-moe
    kind: paper
    title: "Outrageously Large Neural Networks: The Sparsely-Gated Mixture-of-Experts Layer"
    url: https://arxiv.org/abs/1701.06538
---

# Lab 01: Mini Routing

Read [the handbook page](../handbook/mini-routing.md) first.

## Concept goal

Read top-1 routing as an argmax over expert scores.

## Mental model

- A gating network scores every expert and only the best are used.[^shazeer2017-moe]
{mental_model}
## Annotated code preview

```python source=code/lab-01-mini-routing/top_k.py region=pick
def pick(scores: list[float]) -> int:
    \"\"\"The index of the highest score; ties go to the lower index.\"\"\"
    best = 0
    for index, score in enumerate(scores):
        if score > scores[best]:
            best = index
    return best
```

## Line-by-line explanation

- `best` starts at expert 0, so a tie keeps the lower index.[^shazeer2017-moe]

## What to notice

- The strict `>` sends ties to the lower index.[^shazeer2017-moe]

## Common misunderstandings

- Top-1 routing picks one expert per token, not per batch.[^shazeer2017-moe]

## Interview explanation

Each token goes to the single expert with the highest score.

## External intuition notes

None for this lab.

## Further reading

[^shazeer2017-moe]: [Outrageously Large Neural Networks: The Sparsely-Gated Mixture-of-Experts Layer](https://arxiv.org/abs/1701.06538) (paper)
"""

MINI_LAB = "content/labs/lab-01-mini-routing.md"
MINI_STARTER = "code/lab-01-mini-routing/top_k.py"


def write_handbook(root: Path, *, mental_model: str = "") -> Path:
    """A small valid handbook: one lab, its handbook page and a support starter.
    ``mental_model`` is Markdown added at the end of the lab's Mental model section."""
    files = {
        "pyproject.toml": "[tool.infralens]\n",
        "content/handbook/mini-routing.md": HANDBOOK_PAGE,
        MINI_LAB: LAB_PAGE.format(mental_model=mental_model),
        MINI_STARTER: STARTER,
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return root


def first_region_excerpt(root: Path) -> tuple[str, str, str]:
    """(page, source, region) of the first excerpt of a region in ``root``'s labs."""
    from validators.config import Config
    from validators.project import load_project

    project = load_project(root, Config())
    for path in sorted(project.pages):
        for fence in project.pages[path].structure.fences:
            attributes = fence.attributes
            if "source" in attributes and "region" in attributes:
                return path, attributes["source"], attributes["region"]
    raise AssertionError(f"no page under {root} excerpts a region")


def drift_region(root: Path, source: str, region: str) -> None:
    """Add a comment line as the first line of ``region`` in ``source``: the source
    changes, stays valid and formatted, and no excerpt of the region shows it."""
    path = root / source
    lines = path.read_text("utf-8").splitlines(keepends=True)
    for number, line in enumerate(lines):
        if line.strip().endswith(f"region: {region}") and "endregion" not in line:
            indent = line[: len(line) - len(line.lstrip())]
            lines.insert(number + 1, f"{indent}# A line the page does not show.\n")
            path.write_text("".join(lines), "utf-8")
            return
    raise AssertionError(f"{source} has no `region: {region}` marker")
