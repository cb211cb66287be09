"""SARIF 2.1.0, for code-scanning uploads (`github/codeql-action/upload-sarif`).

One run. The driver lists the rules that findings name, each with its summary, why it
matters and its failing and passing examples as help text (plain and Markdown); each
result points at its rule by id and index. Locations are repository-relative URIs
under `%SRCROOT%`, columns are counted in Unicode code points, and notes about the run
become notifications of its invocation. The output validates against the OASIS
schema (`tests/data/sarif-schema-2.1.0.json`).
"""

from __future__ import annotations

import json
import re
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TextIO
from urllib.parse import quote

from validators.diagnostics import Finding, Severity
from validators.registry import Rule
from validators.reporters.base import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_BACKTICKS = re.compile(r"`+")


def _tool_version() -> str:
    try:
        return version("infralens")
    except PackageNotFoundError:
        return "0"


def _level(severity: Severity) -> str:
    return "error" if severity is Severity.ERROR else "warning"


def _fenced(text: str) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text.rstrip()}\n{fence}"


def _help(rule: Rule) -> dict[str, str]:
    text = [rule.summary, f"Why it matters: {rule.why}"]
    markdown = [
        f"**What it checks.** {rule.summary}",
        f"**Why it matters.** {rule.why}",
    ]
    for title, example in (("Fails", rule.fails), ("Passes", rule.passes)):
        if example.strip():
            indented = "\n".join(
                f"    {line}" for line in example.rstrip().splitlines()
            )
            text.append(f"{title}:\n{indented}")
            markdown.append(f"**{title}:**\n\n{_fenced(example)}")
    more = f"Run `infralens rule {rule.code}` to print this help."
    return {
        "text": "\n\n".join([*text, more]),
        "markdown": "\n\n".join([*markdown, more]),
    }


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.why},
        "help": _help(rule),
        "defaultConfiguration": {"level": _level(rule.severity)},
    }


def result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    found: dict[str, Any] = {"ruleId": finding.code}
    if finding.code in index:
        found["ruleIndex"] = index[finding.code]
    message = finding.message + (f" ({finding.hint})" if finding.hint else "")
    found["level"] = _level(finding.severity)
    found["message"] = {"text": message}
    found["locations"] = [
        {
            "physicalLocation": {
                "artifactLocation": {
                    "uri": quote(finding.path),
                    "uriBaseId": "%SRCROOT%",
                },
                "region": {"startLine": finding.line, "startColumn": finding.column},
            }
        }
    ]
    return found


def document(report: Report) -> dict[str, Any]:
    codes = report.used_rules()
    index = {code: position for position, code in enumerate(codes)}
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if report.notes:
        invocation["toolExecutionNotifications"] = [
            {"level": "note", "message": {"text": note}} for note in report.notes
        ]
    run = {
        "tool": {
            "driver": {
                "name": "infralens",
                "version": _tool_version(),
                "rules": [rule_descriptor(report.rules[code]) for code in codes],
            }
        },
        "invocations": [invocation],
        "results": [result(finding, index) for finding in report.findings],
        "columnKind": "unicodeCodePoints",
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def write(report: Report, stream: TextIO) -> None:
    json.dump(document(report), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
