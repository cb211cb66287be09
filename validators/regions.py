"""Named regions in source files, and the text an excerpt of them must show.

A marker is a whole line: indentation, a comment leader, `region: NAME` or
`endregion: NAME`, and an optional comment closer. The grammar is strict so that a
typo never silently widens or empties an excerpt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LEADER = r"(?:#|//|--|;|%|/\*|<!--)"
_CLOSER = r"(?:\*/|-->)?"
NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
_MARKER = re.compile(
    rf"^\s*{_LEADER}\s*(?P<kind>region|endregion):\s*(?P<name>{NAME})\s*{_CLOSER}\s*$"
)
_NEAR_MARKER = re.compile(rf"^\s*{_LEADER}\s*(?:end)?region\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Region:
    name: str
    start: int
    """1-based line of the `region:` marker."""
    end: int
    """1-based line of the `endregion:` marker."""


@dataclass(frozen=True, slots=True)
class MarkerProblem:
    line: int
    message: str


@dataclass
class RegionMap:
    regions: dict[str, Region] = field(default_factory=dict)
    marker_lines: set[int] = field(default_factory=set)
    problems: list[MarkerProblem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ExcerptText:
    """The lines an excerpt must show, and the source line each one comes from."""

    lines: tuple[str, ...]
    source_lines: tuple[int, ...]


def parse_markers(lines: list[str]) -> RegionMap:
    result = RegionMap()
    open_at: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        match = _MARKER.match(line)
        if match is None:
            if _NEAR_MARKER.match(line):
                result.problems.append(
                    MarkerProblem(
                        number,
                        "malformed region marker: write `region: NAME` or `endregion: NAME` alone on the line",
                    )
                )
            continue
        result.marker_lines.add(number)
        _apply(result, open_at, match["kind"], match["name"], number)
    for name, start in open_at.items():
        result.problems.append(MarkerProblem(start, f"region `{name}` is never closed"))
    return result


def _apply(
    result: RegionMap, open_at: dict[str, int], kind: str, name: str, number: int
) -> None:
    if kind == "region":
        if name in open_at:
            result.problems.append(
                MarkerProblem(
                    number,
                    f"region `{name}` starts again before its end (opened on line {open_at[name]})",
                )
            )
        elif name in result.regions:
            result.problems.append(
                MarkerProblem(
                    number,
                    f"a second region is named `{name}` (the first starts on line {result.regions[name].start})",
                )
            )
        else:
            open_at[name] = number
        return
    start = open_at.pop(name, None)
    if start is None:
        result.problems.append(
            MarkerProblem(
                number, f"`endregion: {name}` has no matching `region: {name}`"
            )
        )
        return
    result.regions[name] = Region(name, start, number)


def excerpt_text(
    lines: list[str], markers: RegionMap, region: str | None
) -> ExcerptText:
    """What an excerpt shows: marker lines removed, common indentation removed,
    blank lines at either end dropped. Trailing whitespace inside lines is kept."""
    if region is None:
        first, last = 1, len(lines)
    else:
        found = markers.regions[region]
        first, last = found.start + 1, found.end - 1
    numbered = [
        (n, lines[n - 1])
        for n in range(first, last + 1)
        if n not in markers.marker_lines
    ]
    while numbered and not numbered[0][1].strip():
        numbered.pop(0)
    while numbered and not numbered[-1][1].strip():
        numbered.pop()
    indent = _common_indent([text for _, text in numbered])
    return ExcerptText(
        tuple(text[len(indent) :] if text.strip() else "" for _, text in numbered),
        tuple(n for n, _ in numbered),
    )


def _common_indent(texts: list[str]) -> str:
    prefixes = [
        text[: len(text) - len(text.lstrip())] for text in texts if text.strip()
    ]
    if not prefixes:
        return ""
    common = prefixes[0]
    for prefix in prefixes[1:]:
        while not prefix.startswith(common):
            common = common[:-1]
    return common


def closest_name(name: str, names: list[str]) -> str | None:
    """A region the author probably meant: one whose name starts with, or is the start of, theirs."""
    for candidate in sorted(names):
        if candidate.startswith(name) or name.startswith(candidate):
            return candidate
    return None
