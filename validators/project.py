"""The project index: every page loaded once, and which page depends on which file."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

from schema.models import HandbookFrontmatter, LabFrontmatter
from validators import text as text_loader
from validators.config import Config
from validators.page import Page, load_page
from validators.regions import RegionMap, parse_markers

PAGE_FOLDERS = ("content/labs", "content/handbook")
DEPS_FORMAT = b"infralens-deps-1\n"
GLOBAL_INPUTS = ("pyproject.toml", "schema/models.py")


@dataclass
class SourceFile:
    """A non-page file a page names, read and marker-parsed once."""

    text: text_loader.SourceText | text_loader.DecodeFailure
    markers: RegionMap | None = None


@dataclass
class Project:
    root: Path
    config: Config
    pages: dict[str, Page] = field(default_factory=dict)
    _sources: dict[str, SourceFile | None] = field(default_factory=dict)

    @cached_property
    def labs(self) -> list[Page]:
        return [p for p in self.pages.values() if isinstance(p.model, LabFrontmatter)]

    @cached_property
    def handbook_ids(self) -> set[str]:
        return {p.stem for p in self.pages.values() if p.kind == "handbook"}

    def source(self, relative: str) -> SourceFile | None:
        """A file under the root, read once; None when it is missing or not a file."""
        if relative not in self._sources:
            path = self.root / relative
            if not path.is_file():
                self._sources[relative] = None
            else:
                decoded = text_loader.read(path)
                markers = (
                    parse_markers(decoded.lines)
                    if isinstance(decoded, text_loader.SourceText)
                    else None
                )
                self._sources[relative] = SourceFile(decoded, markers)
        return self._sources[relative]

    def dependencies(self, page: Page) -> set[str]:
        """Repository files whose change can change this page's findings."""
        found = {page.path}
        found.update(_frontmatter_files(page, self.pages))
        found.update(self._body_files(page))
        return found

    def _body_files(self, page: Page) -> set[str]:
        """Excerpt sources and link targets. They depend on the page's text alone, so
        they are cached by its hash: a run over one page need not parse the others."""
        if page.source is None or page.parsed is not None:
            return _body_files(page)
        digest = hashlib.sha256(DEPS_FORMAT + page.source.encode()).hexdigest()
        cached = self.root / ".infralens-cache" / "deps" / f"{digest}.json"
        with contextlib.suppress(OSError, ValueError):
            return set(json.loads(cached.read_text("utf-8")))
        found = _body_files(page)
        with contextlib.suppress(OSError):
            cached.parent.mkdir(parents=True, exist_ok=True)
            temporary = cached.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(sorted(found)), "utf-8")
            temporary.replace(cached)
        return found

    @cached_property
    def dependents(self) -> dict[str, set[str]]:
        """File → pages that depend on it."""
        graph: dict[str, set[str]] = defaultdict(set)
        for page in self.pages.values():
            for dependency in self.dependencies(page):
                graph[dependency].add(page.path)
        return graph


def _body_files(page: Page) -> set[str]:
    found = {
        fence.attributes["source"]
        for fence in page.structure.fences
        if "source" in fence.attributes
    }
    return found | _link_files(page)


def _frontmatter_files(page: Page, pages: dict[str, Page]) -> set[str]:
    model = page.model
    files: set[str] = set()
    if isinstance(model, LabFrontmatter):
        files.add(f"content/handbook/{model.handbook_section}.md")
        for starter in model.starters:
            files.add(starter.path)
            if starter.checks:
                files.add(starter.checks)
            files.update(_starter_folder_files(page, starter.path))
    if isinstance(model, HandbookFrontmatter):
        files.update(f"content/labs/{lab}.md" for lab in model.labs)
    files.update(
        p.path
        for p in pages.values()
        if isinstance(p.model, LabFrontmatter) and p.model.handbook_section == page.stem
    )
    return files


def _starter_folder_files(page: Page, starter: str) -> set[str]:
    """Local modules a starter may import live beside it: a change there re-checks the lab."""
    return {str(PurePosixPath(starter).parent / "*")}


def _link_files(page: Page) -> set[str]:
    folder = PurePosixPath(page.path).parent
    found = set()
    for link in page.structure.links:
        target = link.target.split("#", 1)[0]
        if target and "://" not in target and not target.startswith("mailto:"):
            found.add(os.path.normpath(folder / target).replace(os.sep, "/"))
    return found


def discover(root: Path) -> list[str]:
    found = []
    for folder in PAGE_FOLDERS:
        base = root / folder
        if base.is_dir():
            found.extend(
                f"{folder}/{p.name}"
                for p in sorted(base.iterdir())
                if p.suffix == ".md" and p.is_file()
            )
    return found


def load_project(root: Path, config: Config) -> Project:
    project = Project(root, config)
    for relative in discover(root):
        project.pages[relative] = load_page(root, relative)
    return project


def pages_for(project: Project, changed: list[str]) -> set[str]:
    """The pages to check when only ``changed`` files changed (pre-commit passes those)."""
    if any(path in GLOBAL_INPUTS or path.startswith("schema/") for path in changed):
        return set(project.pages)
    selected: set[str] = set()
    for path in changed:
        if path in project.pages:
            selected.add(path)
        selected.update(project.dependents.get(path, ()))
        selected.update(
            project.dependents.get(str(PurePosixPath(path).parent / "*"), ())
        )
    return selected
