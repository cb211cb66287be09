"""Starter files: each one a lab names exists, is a regular file inside `code/`, and
lives under its lab's own folder; so does its checks file."""

from __future__ import annotations

from collections.abc import Iterator

from schema.models import LabFrontmatter
from validators.checks.excerpts import source_file_findings
from validators.diagnostics import Finding, Severity, at
from validators.page import Page
from validators.paths import resolve_inside
from validators.project import Project
from validators.registry import Check, Rule

RULES = (
    Rule(
        "IL101",
        "starter-missing",
        "Every starter (and checks file) a lab names exists as a regular file.",
        Severity.ERROR,
        "A reader who follows the link finds nothing, and the excerpt has no source of truth.",
        "path: code/lab-06/missing.py\n",
        "path: code/lab-06/expert_routing.py\n",
    ),
    Rule(
        "IL102",
        "starter-outside-code",
        "A starter path stays inside `code/`: no `..`, no absolute path, no backslash, no symlink leading out.",
        Severity.ERROR,
        "The pipeline executes starters; a path that escapes `code/` could run or expose any file.",
        "path: code/../code_private/x.py\n",
        "path: code/lab-06/x.py\n",
    ),
    Rule(
        "IL103",
        "starter-wrong-folder",
        "A lab's starters live under `code/<lab-id>/`.",
        Severity.ERROR,
        "One folder per lab keeps ownership obvious and lets orphan folders be found.",
        "path: code/other-lab/x.py\n",
        "path: code/lab-06-expert-parallel-routing/x.py\n",
    ),
)


def run(page: Page, project: Project) -> Iterator[Finding]:
    model = page.model
    if not isinstance(model, LabFrontmatter):
        return
    for index, starter in enumerate(model.starters):
        yield from _file_findings(
            page, project, ("starters", index, "path"), starter.path, model.id
        )
        # A starter is a source of truth even where no excerpt shows it yet.
        yield from source_file_findings(project, starter.path)
        if starter.checks:
            yield from _file_findings(
                page, project, ("starters", index, "checks"), starter.checks, model.id
            )


def _file_findings(
    page: Page, project: Project, key: tuple[str | int, ...], path: str, lab_id: str
) -> Iterator[Finding]:
    line, column = page.key_position(key)
    resolved = resolve_inside(project.root, path, "code")
    if resolved.path is None:
        yield at(page.path, line, column, "IL102", resolved.problem)
        return
    lab_folder = (project.root / "code" / lab_id).resolve()
    if not resolved.path.is_relative_to(lab_folder):
        yield at(
            page.path, line, column, "IL103", f"`{path}` is not under `code/{lab_id}/`"
        )
    if not resolved.path.is_file():
        yield at(
            page.path,
            line,
            column,
            "IL101",
            f"`{path}` does not exist"
            if not resolved.path.exists()
            else f"`{path}` is not a regular file",
        )


CHECK = Check("starters", RULES, run)
