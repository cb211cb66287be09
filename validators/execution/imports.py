"""Which repository files a starter imports, found statically (``ast``), transitively.

A starter run as ``python code/<lab>/starter.py`` has its own folder first on
``sys.path``, so a sibling module wins even over the standard library; after that,
modules are resolved from the repository root, where standard-library names are left
out because the interpreter would find its own module first. Names that resolve to no
file inside the repository (third-party packages, the standard library) are ignored.
Imports inside functions and ``try`` blocks count too: over-reporting only costs a
cache miss, under-reporting would serve a stale result.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path


def _module_file(root: Path, dotted: str) -> list[Path]:
    """Files executed to import ``dotted`` from ``root``: package ``__init__``s, then
    the module itself; empty when it does not resolve there."""
    parts = dotted.split(".")
    files: list[Path] = []
    folder = root
    for index, part in enumerate(parts):
        module = folder / f"{part}.py"
        package = folder / part
        if index == len(parts) - 1 and module.is_file():
            return [*files, module]
        if (package / "__init__.py").is_file():
            files.append(package / "__init__.py")
        elif not package.is_dir():  # neither a package nor a namespace portion
            return []
        folder = package
    return files


def _imported_names(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``(level, dotted name)`` for every import; ``from a import b`` yields ``a`` and
    ``a.b``, since ``b`` may be a submodule."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield 0, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if base:
                yield node.level, base
            for alias in node.names:
                if alias.name != "*":
                    yield node.level, f"{base}.{alias.name}".lstrip(".")


def _resolve(
    level: int, dotted: str, importer: Path, roots: tuple[Path, ...]
) -> list[Path]:
    if level:  # relative: only meaningful inside a package, from the importer's folder
        base = importer.parent
        for _ in range(level - 1):
            base = base.parent
        return _module_file(base, dotted) if dotted else []
    sibling_root, *other_roots = roots
    found = _module_file(sibling_root, dotted)
    if found or dotted.partition(".")[0] in sys.stdlib_module_names:
        return found
    for root in other_roots:
        found = _module_file(root, dotted)
        if found:
            return found
    return []


def _parse(path: Path) -> ast.AST | None:
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):  # the run itself will report it
        return None


def local_imports(path: Path, *, repo_root: Path) -> tuple[Path, ...]:
    """Repository files that ``path`` imports, directly or not, sorted; not itself."""
    start = path.resolve()
    root = repo_root.resolve()
    roots = (start.parent, root)
    seen = {start}
    queue = [start]
    while queue:
        current = queue.pop()
        tree = _parse(current)
        if tree is None:
            continue
        for level, dotted in _imported_names(tree):
            for found in _resolve(level, dotted, current, roots):
                resolved = found.resolve()
                if resolved not in seen and resolved.is_relative_to(root):
                    seen.add(resolved)
                    queue.append(resolved)
    seen.discard(start)
    return tuple(sorted(seen))
