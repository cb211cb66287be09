"""One containment guard for every path a page names: starters, excerpt sources, links."""

from __future__ import annotations

import errno
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# A missing file, or a file used as a folder, is "does not exist", said by the caller.
_ABSENT = {errno.ENOENT, errno.ENOTDIR}


@dataclass(frozen=True, slots=True)
class Resolved:
    path: Path | None
    problem: str = ""


def resolve_inside(root: Path, relative: str, folder: str = "") -> Resolved:
    """Resolve a repository-relative POSIX path and prove it stays inside ``folder``.

    Containment is decided component-wise on the resolved path (symlinks followed),
    never by string prefix: `code/../code_private/x.py` does not live in `code/`.
    A path that resolves inside may still not exist; ``Resolved.path`` is then safe
    to ask (`exists`, `is_file`) without an error.
    """
    problem = _syntax_problem(relative)
    if problem:
        return Resolved(None, problem)
    base = (root / folder).resolve()
    try:
        target = (root / relative).resolve()
    except (OSError, ValueError, RuntimeError) as error:
        return Resolved(None, f"`{relative}` cannot be resolved ({error})")
    if not target.is_relative_to(base):
        where = f"`{folder}/`" if folder else "the repository"
        return Resolved(None, f"`{relative}` leads outside {where}")
    try:
        target.stat()
    except OSError as error:
        if error.errno not in _ABSENT:
            reason = error.strerror or type(error).__name__
            return Resolved(None, f"`{relative}` cannot be read ({reason})")
    return Resolved(target)


def resolve_link(root: Path, page: str, target: str) -> tuple[str, Resolved]:
    """A relative link's target, as a repository path, through the same guard.

    A link is relative to its page's folder, so `..` is how it climbs; the climb is
    resolved lexically first (as a browser or code host does) and the result must
    still be inside the repository.
    """
    problem = _link_problem(target)
    if problem:
        return target, Resolved(None, problem)
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(page), target))
    if joined == ".." or joined.startswith("../"):
        return joined, Resolved(None, f"link `{target}` leads outside the repository")
    return joined, resolve_inside(root, joined)


def _link_problem(target: str) -> str:
    if "\\" in target:
        return f"link `{target}` uses backslashes; write `/`"
    if target.startswith("/") or (len(target) > 1 and target[1] == ":"):
        return f"link `{target}` is absolute; write a path relative to the page"
    if "\0" in target:
        return f"link `{target!r}` holds a NUL character"
    return ""


def _syntax_problem(relative: str) -> str:
    if not relative.strip():
        return "path is empty"
    if "\0" in relative:
        return f"`{relative!r}` holds a NUL character"
    if "\\" in relative:
        return f"`{relative}` uses backslashes; write `/`"
    pure = PurePosixPath(relative)
    if pure.is_absolute() or (len(relative) > 1 and relative[1] == ":"):
        return f"`{relative}` is absolute; write a repository-relative path"
    if ".." in pure.parts:
        return (
            f"`{relative}` has `..` segments; write the path from the repository root"
        )
    if any(len(os.fsencode(part)) > 255 for part in pure.parts):
        return f"`{relative}` has a name longer than a file system allows"
    return ""
