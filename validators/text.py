"""One text loader for every file the pipeline reads.

Lines are split the way markdown-it splits them (``\\r\\n``, ``\\r`` or ``\\n``), so a
line number means the same thing in a text finding, a YAML mark and a markdown-it token.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

BOM = "\ufeff"
_BOM_BYTES = BOM.encode("utf-8")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ENDING_NAMES = {"\n": "LF", "\r\n": "CRLF", "\r": "CR"}


@dataclass(frozen=True, slots=True)
class DecodeFailure:
    """Where the first byte that is not UTF-8 sits (1-based line and column)."""

    line: int
    column: int
    reason: str


@dataclass(frozen=True)
class SourceText:
    """A decoded file: its text without BOM, and what is needed to write it back."""

    text: str
    has_bom: bool = False

    @cached_property
    def lines(self) -> list[str]:
        """Lines without their endings; a final line ending adds no empty line."""
        parts = _LINE_BREAK.split(self.text)
        if parts and parts[-1] == "":
            parts.pop()
        return parts

    @cached_property
    def endings(self) -> list[str]:
        """The ending of each line, in order ("" for a last line without one)."""
        found = _LINE_BREAK.findall(self.text)
        if len(found) < len(self.lines):
            found.append("")
        return found

    @cached_property
    def ending_counts(self) -> Counter[str]:
        return Counter(ending for ending in self.endings if ending)

    @property
    def newline(self) -> str:
        """The page's own line ending: the majority one, LF when there is none."""
        if not self.ending_counts:
            return "\n"
        return max(self.ending_counts.items(), key=lambda item: (item[1], item[0]))[0]

    @property
    def is_mixed(self) -> bool:
        return len(self.ending_counts) > 1

    @property
    def newline_name(self) -> str:
        """``LF``, ``CRLF`` or ``CR``: the page's own line ending, by name."""
        return _ENDING_NAMES[self.newline]

    def describe_endings(self) -> str:
        counts = sorted(self.ending_counts.items(), key=lambda item: -item[1])
        return ", ".join(f"{n} {_ENDING_NAMES[e]}" for e, n in counts)

    def normalized(self) -> str:
        """The text with every line ending turned into ``\\n``."""
        return "\n".join(self.lines) + ("\n" if self.text and self.endings[-1] else "")

    def encode(self) -> bytes:
        return ((BOM if self.has_bom else "") + self.text).encode("utf-8")


def line_starts(text: str) -> list[int]:
    """The offset where each line of ``text`` starts, split the one way lines are split."""
    return [0, *(match.end() for match in _LINE_BREAK.finditer(text))]


def decode(data: bytes) -> SourceText | DecodeFailure:
    """Decode strict UTF-8, remembering a leading byte-order mark."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return _failure_at(data, error)
    if text.startswith(BOM):
        return SourceText(text[1:], has_bom=True)
    return SourceText(text)


def read(path: Path) -> SourceText | DecodeFailure:
    return decode(path.read_bytes())


def _failure_at(data: bytes, error: UnicodeDecodeError) -> DecodeFailure:
    """Line and column of the first bad byte, counted the way the decoded text is:
    lines split on ``\\r\\n``, ``\\r`` or ``\\n``, columns in characters, a BOM not
    counted."""
    before = data[: error.start]
    line_start = max(before.rfind(b"\n"), before.rfind(b"\r")) + 1
    if line_start == 0 and before.startswith(_BOM_BYTES):
        line_start = len(_BOM_BYTES)
    line = len(_LINE_BREAK.findall(before.decode("utf-8", errors="replace"))) + 1
    column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
    reason = f"byte 0x{data[error.start]:02x} is not UTF-8"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        reason += " (the file starts with a UTF-16 byte-order mark)"
    return DecodeFailure(line, column, reason)
