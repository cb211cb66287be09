"""Which findings survive: rule selection and ignores (longest prefix wins), per-path
ignores, severity overrides."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatch

from validators.config import Config
from validators.diagnostics import Finding, Severity
from validators.registry import Rule


def enabled(code: str, select: Iterable[str], ignore: Iterable[str]) -> bool:
    best_select = max((len(p) for p in select if code.startswith(p)), default=-1)
    best_ignore = max((len(p) for p in ignore if code.startswith(p)), default=-1)
    return best_select > best_ignore


def finalize(
    findings: Iterable[Finding], config: Config, rules: dict[str, Rule]
) -> list[Finding]:
    kept = []
    for finding in findings:
        ignores = [*config.ignore, *_path_ignores(finding.path, config)]
        if not enabled(finding.code, config.select, ignores):
            continue
        rule = rules.get(finding.code)
        severity = config.severity.get(finding.code) or (
            rule.severity if rule else Severity.ERROR
        )
        named = finding.with_severity(Severity(severity))
        kept.append(named if not rule else _with_name(named, rule.name))
    return sorted(set(kept))


def _path_ignores(path: str, config: Config) -> list[str]:
    return [
        code
        for pattern, codes in config.per_file_ignores.items()
        if fnmatch(path, pattern)
        for code in codes
    ]


def _with_name(finding: Finding, name: str) -> Finding:
    from dataclasses import replace

    return replace(finding, name=name)
