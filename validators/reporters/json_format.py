"""JSON for machines. Schema (version 1):

    {"version": 1, "summary": {"files_checked": int, "errors": int, "warnings": int},
     "findings": [{"path", "line", "column", "code", "name", "severity", "message", "hint"}],
     "notes": [str]}

Fields are only ever added; a change to existing ones bumps `version`.
"""

from __future__ import annotations

import json
from typing import TextIO

from validators.reporters.base import Report

VERSION = 1


def write(report: Report, stream: TextIO) -> None:
    document = {
        "version": VERSION,
        "summary": {
            "files_checked": report.files_checked,
            "errors": report.errors,
            "warnings": report.warnings,
        },
        "findings": [
            {
                "path": f.path,
                "line": f.line,
                "column": f.column,
                "code": f.code,
                "name": f.name,
                "severity": f.severity.value,
                "message": f.message,
                "hint": f.hint,
            }
            for f in report.findings
        ],
        "notes": report.notes,
    }
    json.dump(document, stream, indent=2, ensure_ascii=False)
    stream.write("\n")
