"""GitHub Actions workflow commands: one annotation per finding on the changed line."""

from __future__ import annotations

from typing import TextIO

from validators.diagnostics import Severity
from validators.reporters.base import Report


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def write(report: Report, stream: TextIO) -> None:
    for f in report.findings:
        level = "error" if f.severity is Severity.ERROR else "warning"
        title = _escape_property(f"{f.code} {f.name}".strip())
        properties = f"file={_escape_property(f.path)},line={f.line},col={f.column},title={title}"
        message = f.message + (f" ({f.hint})" if f.hint else "")
        stream.write(f"::{level} {properties}::{_escape_data(message)}\n")
