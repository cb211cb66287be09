"""What every reporter receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.WARNING)

    def source_line(self, finding: Finding) -> str | None:
        """The text of the offending line, for a caret; None when it cannot be read."""
        try:
            with (self.root / finding.path).open(
                encoding="utf-8", newline=""
            ) as handle:
                for number, line in enumerate(handle, 1):
                    if number == finding.line:
                        return line.rstrip("\r\n")
        except (OSError, UnicodeDecodeError):
            return None
        return None
