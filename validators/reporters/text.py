"""ruff-like text: `path:line:col: CODE message`, the source line with a caret, a summary."""

from __future__ import annotations

from typing import TextIO

from validators.diagnostics import Severity
from validators.reporters.base import Report

_STYLE = {"bold": "1", "red": "31", "yellow": "33", "cyan": "36", "dim": "2"}


def _paint(text: str, style: str, *, color: bool) -> str:
    return f"\033[{_STYLE[style]}m{text}\033[0m" if color else text


def write(report: Report, stream: TextIO) -> None:
    color = report.color
    for finding in report.findings:
        tone = "red" if finding.severity is Severity.ERROR else "yellow"
        where = _paint(
            f"{finding.path}:{finding.line}:{finding.column}:", "bold", color=color
        )
        stream.write(
            f"{where} {_paint(finding.code, tone, color=color)} {finding.message}\n"
        )
        line = report.source_line(finding)
        if line is not None and line.strip():
            stream.write(f"  {_paint('|', 'dim', color=color)} {line}\n")
            stream.write(
                f"  {_paint('|', 'dim', color=color)} {' ' * (finding.column - 1)}{_paint('^', tone, color=color)}\n"
            )
        if finding.hint:
            stream.write(f"  {_paint('= help:', 'cyan', color=color)} {finding.hint}\n")
    for note in report.notes:
        stream.write(f"note: {note}\n")
    stream.write(summary(report) + "\n")


def summary(report: Report) -> str:
    pages = f"{report.files_checked} page{'s' if report.files_checked != 1 else ''}"
    if not report.findings:
        return f"All checks passed ({pages} checked)."
    return f"Found {report.errors} error{'s' if report.errors != 1 else ''} and {report.warnings} warning{'s' if report.warnings != 1 else ''} in {pages}."
