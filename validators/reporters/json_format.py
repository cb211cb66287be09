"""JSON for machines: one document on standard output.

Schema (version 1; `tests/data/infralens-report-v1.schema.json` is its JSON Schema)::

    {
      "version": 1,
      "summary": {"files_checked": int, "errors": int, "warnings": int},
      "findings": [
        {
          "path": str,       # repository-relative, POSIX separators
          "line": int,       # 1-based, counted from the first byte of the file
          "column": int,     # 1-based, in characters (Unicode code points)
          "code": str,       # `IL` and three digits
          "name": str,       # the rule's kebab-case name
          "severity": "error" | "warning",
          "message": str,    # one line
          "hint": str        # the remedy; "" when there is none
        }
      ],
      "notes": [str]         # lines about the run itself (starters not run, cache use)
    }

Findings are sorted by path, line, column and code. Fields are only ever added; a
change to the meaning or type of an existing field bumps `version`.
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
