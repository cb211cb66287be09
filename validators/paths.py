"""One containment guard for every path a page names: starters, excerpt sources, links."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath


@dataclass(frozen=True, slots=True)
class Resolved:
    path: Path | None
    problem: str = ""


def resolve_inside(root: Path, relative: str, folder: str = "") -> Resolved:
    """Resolve a repository-relative POSIX path and prove it stays inside ``folder``.

    Containment is decided component-wise on the resolved path (symlinks followed),
    never by string prefix: `code/../code_private/x.py` does not live in `code/`.
    """
    problem = _syntax_problem(relative)
    if problem:
        return Resolved(None, problem)
    base = (root / folder).resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(base):
        where = f"`{folder}/`" if folder else "the repository"
        return Resolved(None, f"`{relative}` leads outside {where}")
    return Resolved(target)


def _syntax_problem(relative: str) -> str:
    if not relative.strip():
        return "path is empty"
    if "\\" in relative:
        return f"`{relative}` uses backslashes; write `/`"
    pure = PurePosixPath(relative)
    if pure.is_absolute() or (len(relative) > 1 and relative[1] == ":"):
        return f"`{relative}` is absolute; write a repository-relative path"
    if ".." in pure.parts:
        return (
            f"`{relative}` has `..` segments; write the path from the repository root"
        )
    return ""
