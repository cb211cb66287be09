"""SARIF 2.1.0, for code-scanning uploads: one run, rules with help text."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from typing import TextIO

from validators.diagnostics import Severity
from validators.reporters.base import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _tool_version() -> str:
    try:
        return version("infralens")
    except PackageNotFoundError:
        return "0"


def write(report: Report, stream: TextIO) -> None:
    codes = sorted(report.rules)
    rules = [
        {
            "id": code,
            "name": report.rules[code].name,
            "shortDescription": {"text": report.rules[code].summary},
            "fullDescription": {"text": report.rules[code].why},
            "help": {
                "text": f"{report.rules[code].summary}\n\n{report.rules[code].why}\n\nRun `infralens rule {code}` for examples."
            },
            "defaultConfiguration": {
                "level": "error"
                if report.rules[code].severity is Severity.ERROR
                else "warning"
            },
        }
        for code in codes
    ]
    results = [
        {
            "ruleId": f.code,
            "ruleIndex": codes.index(f.code) if f.code in codes else 0,
            "level": "error" if f.severity is Severity.ERROR else "warning",
            "message": {"text": f.message + (f" ({f.hint})" if f.hint else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    }
                }
            ],
        }
        for f in report.findings
    ]
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "infralens",
                        "version": _tool_version(),
                        "rules": rules,
                    }
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    json.dump(document, stream, indent=2, ensure_ascii=False)
    stream.write("\n")
