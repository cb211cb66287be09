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
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

import yaml

from validators.text import line_starts

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
    retyped: set[Path] = field(default_factory=set)
    """Keys and items whose plain value YAML would have read as a different number;
    the value kept there is the author's text."""

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


def load(text: str, first_line: int = 1) -> YamlDocument:
    """Load a frontmatter mapping; positions are 0-based lines and columns of ``text``,
    counted the way the text loader counts them (not the way YAML counts line breaks).
    ``first_line`` is the file line ``text`` starts on, for line numbers in messages."""
    document = YamlDocument()
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_BYTES:
        document.problems.append(
            YamlProblem(
                0,
                0,
                UNSAFE,
                f"frontmatter is larger than {MAX_BYTES} bytes",
                "keep frontmatter to the keys the page needs",
            )
        )
        return document
    where = _Locator(text)
    try:
        _Builder(document, where, first_line).build(yaml.parse(text, Loader=_Loader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = where(mark.index) if mark else (0, 0)
        problem = error.problem or error.context or "invalid YAML"
        document.problems.append(
            YamlProblem(line, column, SYNTAX, f"invalid YAML: {problem}")
        )
    except yaml.reader.ReaderError as error:
        line, column = where(error.position)
        document.problems.append(
            YamlProblem(
                line,
                column,
                SYNTAX,
                f"invalid YAML: character {_codepoint(error.character)} is not allowed",
                "remove the control character",
            )
        )
    except (yaml.YAMLError, UnicodeError) as error:
        document.problems.append(YamlProblem(0, 0, SYNTAX, f"invalid YAML: {error}"))
    except _Abort:
        pass
    if document.fatal:
        document.value = None
    return document


class _Locator:
    """Turns a character offset into a 0-based line and column.

    YAML also breaks lines at U+0085, U+2028 and U+2029, so its own line numbers can
    drift from the file's; offsets cannot.
    """

    def __init__(self, text: str) -> None:
        self.starts = line_starts(text)

    def __call__(self, index: int) -> tuple[int, int]:
        line = max(bisect_right(self.starts, index) - 1, 0)
        return line, index - self.starts[line]


class _Builder:
    """Builds plain Python values from events, recording positions on the way."""

    def __init__(
        self, document: YamlDocument, where: _Locator, first_line: int
    ) -> None:
        self.document = document
        self.where = where
        self.first_line = first_line
        self.documents_seen = 0

    def position(self, event: Any) -> tuple[int, int]:
        return self.where(event.start_mark.index)

    def fail(self, mark: Any, code: str, message: str, hint: str = "") -> None:
        line, column = self.where(mark.index)
        self.document.problems.append(YamlProblem(line, column, code, message, hint))
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
                self.document.positions[()] = self.position(first)
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
            return self.scalar(event, path)
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
            self.document.positions[item_path] = self.position(event)
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
                    f"duplicate key `{key}` (first defined on line {seen[key] + self.first_line})",
                    "keep one of the two; YAML would silently keep the last",
                )
            key_path = (*path, key)
            seen[key] = self.position(event)[0]
            self.document.positions[key_path] = self.position(event)
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

    def scalar(self, event: Any, path: Path) -> Any:
        # Quoted and block scalars, and the non-specific tag `!`, are always text.
        if event.style or event.tag == "!":
            return event.value
        value = resolve_plain(event.value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return self.check_round_trip(event, value, path)
        return value

    def check_round_trip(self, event: Any, value: float, path: Path) -> Any:
        """The number, when it reads back as the author's text; else the text itself
        and a finding, so no later step sees a value the author did not write."""
        text = event.value
        if _round_trips(text, value):
            return value
        self.fail(
            event.start_mark,
            RETYPED,
            f"YAML reads `{text}` as the number {value!r}, not the text you wrote",
            f'quote it (`"{text}"`) if you mean the text, or write `{value!r}`',
        )
        self.document.retyped.add(path)
        return text


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


def _codepoint(character: int | str) -> str:
    value = character if isinstance(character, int) else ord(character[:1] or "\0")
    return f"U+{value:04X}"


def _round_trips(text: str, value: float) -> bool:
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        return False
    return str(value) == text
