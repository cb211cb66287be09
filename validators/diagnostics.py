"""The finding: one problem at one place, as every reporter prints it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """A problem at a 1-based line and column of a repository-relative POSIX path."""

    path: str
    line: int
    column: int
    code: str
    message: str  # two different problems at one place are two findings
    severity: Severity = field(default=Severity.ERROR, compare=False)
    hint: str = field(default="", compare=False)
    name: str = field(default="", compare=False)

    def with_severity(self, severity: Severity) -> Finding:
        return replace(self, severity=severity)

    def text(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}"


def at(
    path: str, line: int, column: int, code: str, message: str, hint: str = ""
) -> Finding:
    """A finding with lines and columns clamped to 1, the smallest real position."""
    return Finding(path, max(line, 1), max(column, 1), code, message, hint=hint)
