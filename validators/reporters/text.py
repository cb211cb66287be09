"""Text for people, shaped like ruff's: one `path:line:col: CODE message` line per
finding, then the offending source line with a caret under the column, then the hint.

    content/labs/lab-06.md:51:9: IL201 excerpt differs from its source: ...
       |
    51 |         if score >= scores[best]:
       |         ^
       = help: run `infralens check --fix` to rewrite the excerpt from its source

The first line of each finding is stable (editors and `grep` read it). Colour is used
only when the caller asks for it: the CLI turns it on for a terminal, never when
`NO_COLOR` is set, and `--color always|never` overrides both.
"""

from __future__ import annotations

import unicodedata
from typing import TextIO

from validators.diagnostics import Finding, Severity
from validators.reporters.base import Report

_STYLE = {"bold": "1", "red": "31", "yellow": "33", "cyan": "36", "blue": "34"}


def _paint(text: str, style: str, *, color: bool) -> str:
    return f"\033[{_STYLE[style]}m{text}\033[0m" if color else text


def write(report: Report, stream: TextIO) -> None:
    for finding in report.findings:
        stream.write(_finding(report, finding))
    for note in report.notes:
        stream.write(f"note: {note}\n")
    stream.write(summary(report) + "\n")


def _finding(report: Report, finding: Finding) -> str:
    color = report.color
    tone = "red" if finding.severity is Severity.ERROR else "yellow"
    where = _paint(
        f"{finding.path}:{finding.line}:{finding.column}:", "bold", color=color
    )
    out = [f"{where} {_paint(finding.code, tone, color=color)} {finding.message}\n"]
    line = report.source_line(finding)
    gutter = " " * len(str(finding.line))
    bar = _paint(f"{gutter} |", "blue", color=color)
    if line is not None and line.strip():
        number = _paint(f"{finding.line} |", "blue", color=color)
        caret = _paint("^", tone, color=color)
        out += [
            f"{bar}\n",
            f"{number} {line}\n",
            f"{bar} {caret_padding(line, finding.column)}{caret}\n",
        ]
    if finding.hint:
        out.append(
            f"{gutter} {_paint('= help:', 'cyan', color=color)} {finding.hint}\n"
        )
    out.append("\n")
    return "".join(out)


def caret_padding(line: str, column: int) -> str:
    """What goes before the caret so that it sits under ``column`` (1-based, counted
    in characters): tabs are kept as tabs and wide characters take two cells."""
    cells = []
    for char in line[: max(column - 1, 0)]:
        if char == "\t":
            cells.append("\t")
        elif unicodedata.east_asian_width(char) in "WF":
            cells.append("  ")
        elif not unicodedata.combining(char):
            cells.append(" ")
    return "".join(cells)


def summary(report: Report) -> str:
    pages = _plural(report.files_checked, "page")
    if not report.findings:
        return f"All checks passed ({pages} checked)."
    errors = _plural(report.errors, "error")
    warnings = _plural(report.warnings, "warning")
    return f"Found {errors} and {warnings} in {pages}."


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
