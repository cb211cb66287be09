"""What every reporter receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from validators import text as text_loader
from validators.diagnostics import Finding, Severity
from validators.registry import Rule


@dataclass(frozen=True)
class Report:
    findings: list[Finding]
    files_checked: int
    rules: dict[str, Rule]
    root: Path
    color: bool = False
    notes: list[str] = field(default_factory=list)
    """Plain lines about the run itself (starters not run, cache use)."""
    _lines: dict[str, list[str] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.WARNING)

    def used_rules(self) -> list[str]:
        """Codes of the known rules that findings name, sorted."""
        return sorted({f.code for f in self.findings if f.code in self.rules})

    def source_line(self, finding: Finding) -> str | None:
        """The text of the offending line, for a caret; None when it cannot be read."""
        if finding.path not in self._lines:
            self._lines[finding.path] = _read_lines(self.root / finding.path)
        lines = self._lines[finding.path]
        if lines is None or not 1 <= finding.line <= len(lines):
            return None
        return lines[finding.line - 1]


def _read_lines(path: Path) -> list[str] | None:
    """Lines split as the checks count them (the one text loader), or None."""
    try:
        decoded = text_loader.read(path)
    except OSError:
        return None
    return decoded.lines if isinstance(decoded, text_loader.SourceText) else None
