"""GitHub Actions workflow commands: one annotation per finding, shown on the line it
names in a pull request's diff, titled with the rule's code and name.

    ::error file=content/labs/lab-06.md,line=51,col=1,title=IL201 excerpt-drift::...

Notes about the run become `::notice::` lines. Values are escaped as the runner
expects: `%`, CR and LF everywhere, and `:` and `,` inside properties too.
"""

from __future__ import annotations

from typing import TextIO

from validators.diagnostics import Finding, Severity
from validators.reporters.base import Report


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    level = "error" if finding.severity is Severity.ERROR else "warning"
    properties = ",".join(
        [
            f"file={_escape_property(finding.path)}",
            f"line={finding.line}",
            f"col={finding.column}",
            f"title={_escape_property(f'{finding.code} {finding.name}'.strip())}",
        ]
    )
    message = finding.message + (f" ({finding.hint})" if finding.hint else "")
    return f"::{level} {properties}::{_escape_data(message)}"


def write(report: Report, stream: TextIO) -> None:
    for finding in report.findings:
        stream.write(annotation(finding) + "\n")
    for note in report.notes:
        stream.write(f"::notice title=infralens::{_escape_data(note)}\n")
