"""Load a page once: text, frontmatter, validated model and Markdown structure."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from schema.models import HandbookFrontmatter, LabFrontmatter
from validators import text as text_loader
from validators import yamlload
from validators.diagnostics import Finding, at
from validators.markdown import Structure, parser, read_structure

KINDS: dict[str, type[BaseModel]] = {
    "labs": LabFrontmatter,
    "handbook": HandbookFrontmatter,
}
FENCE_LINES = {"---"}
CLOSING_LINES = {"---", "..."}


@dataclass
class Page:
    """Everything the checks need to know about one page, read exactly once."""

    path: str
    kind: str
    source: text_loader.SourceText | None = None
    frontmatter_end: int = 0
    """1-based line of the closing `---`; 0 when the page has no usable frontmatter."""
    yaml: yamlload.YamlDocument = field(default_factory=yamlload.YamlDocument)
    model: Any = None
    structure: Structure = field(default_factory=Structure)
    findings: list[Finding] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return Path(self.path).stem

    def key_position(self, path: tuple[str | int, ...]) -> tuple[int, int]:
        """File line and column (1-based) of a frontmatter key or list item."""
        line, column = self.yaml.position(path)
        return line + 2, column + 1


def page_kind(relative: str) -> str:
    parts = Path(relative).parts
    return parts[1] if len(parts) > 2 and parts[0] == "content" else ""


def load_page(root: Path, relative: str) -> Page:
    page = Page(relative, page_kind(relative))
    decoded = text_loader.read(root / relative)
    if isinstance(decoded, text_loader.DecodeFailure):
        page.findings.append(
            at(
                relative,
                decoded.line,
                decoded.column,
                "IL008",
                f"file is not UTF-8: {decoded.reason}",
                "save the file as UTF-8",
            )
        )
        return page
    page.source = decoded
    _read_frontmatter(page)
    page.structure = read_structure(parser().parse(decoded.normalized()), decoded.lines)
    return page


def _read_frontmatter(page: Page) -> None:
    lines = page.source.lines if page.source else []
    if not lines or lines[0].rstrip() not in FENCE_LINES:
        page.findings.append(
            at(
                page.path,
                1,
                1,
                "IL001",
                "page has no YAML frontmatter",
                "start the file with a `---` line, the frontmatter, and another `---` line",
            )
        )
        return
    closing = next(
        (n for n, line in enumerate(lines[1:], 2) if line.rstrip() in CLOSING_LINES), 0
    )
    if not closing:
        page.findings.append(
            at(
                page.path,
                1,
                1,
                "IL001",
                "frontmatter opened on line 1 is never closed",
                "add a `---` line after the last frontmatter key",
            )
        )
        return
    page.frontmatter_end = closing
    page.yaml = yamlload.load("\n".join(lines[1 : closing - 1]) + "\n")
    for problem in page.yaml.problems:
        page.findings.append(
            at(
                page.path,
                problem.line + 2,
                problem.column + 1,
                problem.code,
                problem.message,
                problem.hint,
            )
        )
    if not page.yaml.fatal:
        _validate(page)


def _validate(page: Page) -> None:
    model_type = KINDS.get(page.kind)
    if model_type is None:
        return
    value = page.yaml.value
    if not isinstance(value, dict):
        page.findings.append(
            at(
                page.path,
                2,
                1,
                "IL006",
                "frontmatter must be a mapping of keys to values",
            )
        )
        return
    try:
        page.model = model_type.model_validate(value)
    except ValidationError as error:
        page.findings.extend(_schema_findings(page, error))


def _schema_findings(page: Page, error: ValidationError) -> list[Finding]:
    findings = []
    for detail in error.errors(include_url=False):
        location = tuple(detail["loc"])
        line, column = page.key_position(location) if location else (1, 1)
        where = ".".join(str(part) for part in location) or "frontmatter"
        value = (
            ""
            if detail["type"] == "missing"
            else f" (got `{_short(detail.get('input'))}`)"
        )
        findings.append(
            at(page.path, line, column, "IL006", f"`{where}`: {detail['msg']}{value}")
        )
    return findings


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."
