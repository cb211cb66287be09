"""Static discovery of the repository files a starter imports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from validators.execution.imports import local_imports

Script = Callable[[str, str], Path]


def found(path: Path, root: Path) -> list[str]:
    return [
        p.relative_to(root.resolve()).as_posix()
        for p in local_imports(path, repo_root=root)
    ]


def test_sibling_imports_are_found_transitively(script: Script, tmp_path: Path) -> None:
    script("code/lab/helper.py", "from tables import ROUTES\n")
    script("code/lab/tables.py", "ROUTES = {}\n")
    script("code/lab/unused.py", "")
    starter = script(
        "code/lab/starter.py",
        """
        import json
        import numpy as np
        import helper

        def main():
            from tables import ROUTES  # inside a function still counts
            return ROUTES
        """,
    )

    assert found(starter, tmp_path) == ["code/lab/helper.py", "code/lab/tables.py"]


def test_sibling_shadowing_the_standard_library_counts(
    script: Script, tmp_path: Path
) -> None:
    script("code/lab/random.py", "")
    script("random.py", "")  # at the root the standard library would win
    starter = script("code/lab/starter.py", "import random\n")

    assert found(starter, tmp_path) == ["code/lab/random.py"]


def test_modules_resolved_from_the_repository_root(
    script: Script, tmp_path: Path
) -> None:
    script("shared/__init__.py", "from . import maths\n")
    script("shared/maths.py", "from .consts import K\n")
    script("shared/consts.py", "K = 2\n")
    script("json/__init__.py", "")  # a standard-library name at the root
    starter = script("code/lab/starter.py", "import json\nfrom shared.maths import K\n")

    assert found(starter, tmp_path) == [
        "shared/__init__.py",
        "shared/consts.py",
        "shared/maths.py",
    ]


def test_broken_and_missing_modules_are_tolerated(
    script: Script, tmp_path: Path
) -> None:
    script("code/lab/broken.py", "def (:\n")
    starter = script(
        "code/lab/starter.py", "import broken\nimport not_there\nfrom . import x\n"
    )

    assert found(starter, tmp_path) == ["code/lab/broken.py"]


def test_files_outside_the_repository_are_left_out(
    script: Script, tmp_path: Path
) -> None:
    script("outside/lib.py", "")
    starter = script("repo/code/lab/starter.py", "import lib\n")
    script("repo/code/lab/lib.py", "")

    assert found(starter, tmp_path / "repo") == ["code/lab/lib.py"]
