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
# Lines meant as markers that the grammar refuses: a wrong case or separator
# (`# Region: a`, `# region = a`), or a bare `region NAME` (`// #region a`). A comment
# that merely starts with the word ("# region boundaries are...") is not one.
_NEAR_MARKER = re.compile(
    rf"^\s*{_LEADER}\s*#?\s*(?:end\s*)?region\s*(?:[:=]|\s{NAME}\s*{_CLOSER}\s*$)",
    re.IGNORECASE,
)


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
    column: int = 1


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
    unmatched_ends: list[str] = []
    for number, line in enumerate(lines, 1):
        column = len(line) - len(line.lstrip()) + 1
        match = _MARKER.match(line)
        if match is None:
            if _NEAR_MARKER.match(line):
                result.problems.append(
                    MarkerProblem(
                        number,
                        f"malformed region marker `{line.strip()}`: write `region: NAME` or `endregion: NAME` alone on the line",
                        column,
                    )
                )
            continue
        result.marker_lines.add(number)
        problem = _apply(result, open_at, match["kind"], match["name"], number)
        if problem:
            result.problems.append(MarkerProblem(number, problem, column))
            if match["kind"] == "endregion":
                unmatched_ends.append(match["name"])
    for name, start in open_at.items():
        line = lines[start - 1]
        result.problems.append(
            MarkerProblem(
                start,
                f"region `{name}` is never closed" + _near_names(name, unmatched_ends),
                len(line) - len(line.lstrip()) + 1,
            )
        )
    result.problems.sort(key=lambda problem: problem.line)
    return result


def _apply(
    result: RegionMap, open_at: dict[str, int], kind: str, name: str, number: int
) -> str:
    """Record one marker; the problem with it, if any."""
    if kind == "region":
        if name in open_at:
            return f"region `{name}` starts again before its end (opened on line {open_at[name]})"
        if name in result.regions:
            return f"a second region is named `{name}` (the first starts on line {result.regions[name].start})"
        open_at[name] = number
        return ""
    innermost = next(reversed(open_at), None)
    start = open_at.pop(name, None)
    if start is not None:
        result.regions[name] = Region(name, start, number)
        if innermost != name:  # regions may nest, never overlap
            return (
                f"region `{name}` ends while `{innermost}` (opened on line "
                f"{open_at[innermost]}) is still open: regions nest, they do not overlap"
            )
        return ""
    if name in result.regions:
        return f"`endregion: {name}` ends region `{name}` a second time (it ended on line {result.regions[name].end})"
    return f"`endregion: {name}` has no matching `region: {name}`" + _near_names(
        name, [*open_at]
    )


def _near_names(name: str, others: list[str]) -> str:
    """Names must match exactly: say so when one is only a prefix of the other."""
    near = sorted(
        o for o in others if o != name and (o.startswith(name) or name.startswith(o))
    )
    if not near:
        return ""
    listed = ", ".join(f"`{o}`" for o in near)
    return f" (names must match exactly; {listed} differs only in its ending)"


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
