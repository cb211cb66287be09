"""One YAML loader for frontmatter, built on the parser's event stream.

Every hazard is decided from events before a value is built: duplicate keys at any
depth, anchors and aliases (an alias fan-out can explode in memory), explicit tags,
nesting depth, several documents. Plain scalars follow the YAML 1.2 core schema, so
``no`` and ``off`` stay the text the author wrote, and a number whose text would not
survive the round trip (``1.10``, ``0600``) is reported instead of silently changed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 64 * 1024
MAX_DEPTH = 20

_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_SPECIAL_FLOAT = re.compile(r"[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)")

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class YamlProblem:
    """A problem at a 0-based line and column of the YAML text."""

    line: int
    column: int
    code: str
    message: str
    hint: str = ""


@dataclass
class YamlDocument:
    """A loaded mapping, where each of its keys and items sits, and what went wrong."""

    value: Any = None
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    problems: list[YamlProblem] = field(default_factory=list)

    @property
    def fatal(self) -> bool:
        return any(problem.code in FATAL_CODES for problem in self.problems)

    def position(self, path: Path) -> tuple[int, int]:
        """The position of the deepest known key or item on ``path``."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(tuple(path[:end]))
            if found is not None:
                return found
        return (0, 0)


SYNTAX = "IL002"
DUPLICATE_KEY = "IL003"
UNSAFE = "IL004"
RETYPED = "IL005"
FATAL_CODES = {SYNTAX, DUPLICATE_KEY, UNSAFE}


class _Abort(Exception):  # noqa: N818 - control flow, not an error
    """Stops building once a fatal problem has been recorded."""


def load(text: str) -> YamlDocument:
    document = YamlDocument()
    if len(text.encode("utf-8")) > MAX_BYTES:
        document.problems.append(
            YamlProblem(0, 0, UNSAFE, f"frontmatter is larger than {MAX_BYTES} bytes")
        )
        return document
    try:
        _Builder(document).build(yaml.parse(text, Loader=_Loader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line, mark.column) if mark else (0, 0)
        problem = error.problem or error.context or "invalid YAML"
        document.problems.append(
            YamlProblem(line, column, SYNTAX, f"invalid YAML: {problem}")
        )
    except yaml.YAMLError as error:
        document.problems.append(YamlProblem(0, 0, SYNTAX, f"invalid YAML: {error}"))
    except _Abort:
        pass
    if document.fatal:
        document.value = None
    return document


class _Builder:
    """Builds plain Python values from events, recording positions on the way."""

    def __init__(self, document: YamlDocument) -> None:
        self.document = document
        self.documents_seen = 0

    def fail(self, mark: Any, code: str, message: str, hint: str = "") -> None:
        self.document.problems.append(
            YamlProblem(mark.line, mark.column, code, message, hint)
        )
        if code in FATAL_CODES:
            raise _Abort

    def build(self, events: Any) -> None:
        iterator = iter(events)
        for event in iterator:
            if isinstance(event, yaml.DocumentStartEvent):
                self.documents_seen += 1
                if self.documents_seen > 1:
                    self.fail(
                        event.start_mark,
                        UNSAFE,
                        "frontmatter holds more than one YAML document",
                    )
                first = next(iterator)
                self.document.value = self.node(first, iterator, (), 1)

    def node(self, event: Any, events: Any, path: Path, depth: int) -> Any:
        if depth > MAX_DEPTH:
            self.fail(
                event.start_mark,
                UNSAFE,
                f"frontmatter is nested deeper than {MAX_DEPTH} levels",
            )
        if isinstance(event, yaml.AliasEvent):
            self.fail(
                event.start_mark,
                UNSAFE,
                f"YAML alias `*{event.anchor}` is not allowed in frontmatter",
                "write the value out; anchors and aliases have no use here",
            )
        if event.anchor is not None:
            self.fail(
                event.start_mark,
                UNSAFE,
                f"YAML anchor `&{event.anchor}` is not allowed in frontmatter",
                "write the value out; anchors and aliases have no use here",
            )
        self.check_tag(event)
        if isinstance(event, yaml.ScalarEvent):
            return self.scalar(event)
        if isinstance(event, yaml.SequenceStartEvent):
            return self.sequence(events, path, depth)
        return self.mapping(events, path, depth)

    def check_tag(self, event: Any) -> None:
        tag = getattr(event, "tag", None)
        if tag is None or tag == "!":
            return
        self.fail(
            event.start_mark,
            UNSAFE,
            f"YAML tag `{tag}` is not allowed in frontmatter",
            "remove the tag; frontmatter values are plain text, numbers, lists and mappings",
        )

    def sequence(self, events: Any, path: Path, depth: int) -> list[Any]:
        items: list[Any] = []
        for event in events:
            if isinstance(event, yaml.SequenceEndEvent):
                return items
            item_path = (*path, len(items))
            self.document.positions[item_path] = (
                event.start_mark.line,
                event.start_mark.column,
            )
            items.append(self.node(event, events, item_path, depth + 1))
        return items

    def mapping(self, events: Any, path: Path, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for event in events:
            if isinstance(event, yaml.MappingEndEvent):
                return result
            key = self.key(event)
            if key in seen:
                self.fail(
                    event.start_mark,
                    DUPLICATE_KEY,
                    f"duplicate key `{key}` (first defined on line {seen[key] + 1} of the frontmatter)",
                    "keep one of the two; YAML would silently keep the last",
                )
            seen[key] = event.start_mark.line
            key_path = (*path, key)
            self.document.positions[key_path] = (
                event.start_mark.line,
                event.start_mark.column,
            )
            result[key] = self.node(next(events), events, key_path, depth + 1)
        return result

    def key(self, event: Any) -> str:
        if not isinstance(event, yaml.ScalarEvent):
            self.fail(
                event.start_mark,
                SYNTAX,
                "invalid YAML: a mapping key must be plain text",
            )
        self.check_tag(event)
        if event.anchor is not None:
            self.fail(
                event.start_mark,
                UNSAFE,
                f"YAML anchor `&{event.anchor}` is not allowed in frontmatter",
            )
        return event.value

    def scalar(self, event: Any) -> Any:
        if event.style:  # quoted or block scalars are always text
            return event.value
        value = resolve_plain(event.value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.check_round_trip(event, value)
        return value

    def check_round_trip(self, event: Any, value: float) -> None:
        text = event.value
        if _round_trips(text, value):
            return
        self.fail(
            event.start_mark,
            RETYPED,
            f"YAML reads `{text}` as the number {value!r}, not the text you wrote",
            f'quote it (`"{text}"`) if you mean the text, or write `{value!r}`',
        )


def resolve_plain(text: str) -> Any:
    """Resolve a plain scalar by the YAML 1.2 core schema; anything else stays text."""
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _SPECIAL_FLOAT.fullmatch(text):
        return float(text.replace(".", "", 1))
    return text


def _round_trips(text: str, value: float) -> bool:
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        return False
    return str(value) == text
