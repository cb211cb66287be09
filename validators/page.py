"""Load a page once: text, frontmatter, validated model and Markdown structure."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from schema.models import HandbookFrontmatter, LabFrontmatter
from validators import text as text_loader
from validators import yamlload
from validators.diagnostics import Finding, at
from validators.markdown import Structure, structure_of

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
    parsed: Structure | None = None
    """The Markdown structure, once something has asked for it."""
    findings: list[Finding] = field(default_factory=list)

    @property
    def structure(self) -> Structure:
        """Parsed on first use: a run that checks one page parses only the pages it
        needs; the others are known from their frontmatter and cached dependencies."""
        if self.parsed is None:
            self.parsed = (
                structure_of(self.source, self.frontmatter_end)
                if self.source is not None
                else Structure()
            )
        return self.parsed

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
    if not (root / relative).resolve().is_relative_to(root.resolve()):
        page.findings.append(
            at(
                relative,
                1,
                1,
                "IL013",
                "page is a symlink leading outside the repository; it is not read",
                "move the page into the repository",
            )
        )
        return page
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
    page.yaml = yamlload.load("\n".join(lines[1 : closing - 1]) + "\n", first_line=2)
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
    if value is None:
        page.findings.append(
            at(
                page.path,
                1,
                1,
                "IL006",
                "frontmatter is empty",
                "write the page's keys between the `---` lines",
            )
        )
        return
    if not isinstance(value, dict):
        line, column = page.key_position(())
        page.findings.append(
            at(
                page.path,
                line,
                column,
                "IL006",
                f"frontmatter must be a mapping of keys to values, not {_yaml_kind(value)}",
            )
        )
        return
    try:
        # JSON rules, strictly: text stays text, `true`/`false` are the only
        # booleans, a number is never read out of text nor a date out of a number.
        # Lax validation would turn `"off"` into False or `0` into 1970-01-01.
        page.model = model_type.model_validate_json(json.dumps(value), strict=True)
    except ValidationError as error:
        page.findings.extend(_schema_findings(page, error))


def _schema_findings(page: Page, error: ValidationError) -> list[Finding]:
    findings = []
    for detail in error.errors(include_url=False):
        location = tuple(detail["loc"])
        if location in page.yaml.retyped:
            continue  # already reported as IL005, with the author's text
        line, column = page.key_position(location)
        where = ".".join(str(part) for part in location) or "frontmatter"
        value = (
            ""
            if detail["type"] == "missing"
            else f" (got `{_short(detail.get('input'))}`)"
        )
        findings.append(
            at(
                page.path,
                line,
                column,
                "IL006",
                f"`{where}`: {detail['msg']}{value}",
                _type_hint(detail),
            )
        )
    return findings


_TEXT_ERRORS = {"string_type", "enum", "string_pattern_mismatch", "url_type"}


def _type_hint(detail: Any) -> str:
    """What YAML made of an unquoted value, when that is why it was refused."""
    value = detail.get("input")
    if detail["type"] in _TEXT_ERRORS and not isinstance(value, str | dict | list):
        return f"YAML read this as {_yaml_kind(value)}; quote it to keep it text"
    if detail["type"] == "bool_type" and isinstance(value, str):
        return "only `true` and `false` are booleans; YAML 1.2 keeps `yes`, `no`, `on` and `off` as text"
    if detail["type"] in {"int_type", "float_type"} and isinstance(value, str):
        return "write the number without quotes"
    return ""


def _yaml_kind(value: Any) -> str:
    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return f"the boolean `{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"the number `{value!r}`"
    if isinstance(value, list):
        return "a list"
    return "text"


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."
