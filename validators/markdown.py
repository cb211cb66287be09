"""One markdown-it factory, and the page structure read from its tokens.

Headings, links, citations, bullets and fences all come from parser tokens; nothing
here scans Markdown with regular expressions.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from validators.text import SourceText


@cache
def parser(*, front_matter: bool = True) -> MarkdownIt:
    """CommonMark with tables, frontmatter and footnotes, as the pipeline reads pages.

    Pages are parsed without the frontmatter plugin: the page loader alone decides
    where their frontmatter ends (see `structure_of`), so markdown-it can never
    disagree with it about which lines are Markdown.
    """
    md = MarkdownIt("commonmark").enable("table")
    if front_matter:
        md.use(front_matter_plugin)
    # Definitions stay where the author wrote them (their lines matter) and every
    # `[^label]` becomes a reference token, so an unknown label is still seen.
    md.use(footnote_plugin, inline=False, move_to_end=False, always_match_refs=True)
    return md


def slugify(text: str) -> str:
    """The anchor a code host gives a heading: lower case, punctuation gone, - for spaces."""
    kept = (
        char
        for char in unicodedata.normalize("NFKC", text.strip().lower())
        if char.isalnum() or char in " -_"
    )
    return "".join(kept).replace(" ", "-")


@dataclass(frozen=True, slots=True)
class Citation:
    label: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Link:
    target: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    text: str
    slug: str
    line: int


@dataclass(frozen=True, slots=True)
class Bullet:
    """A list item: the unit that carries one claim."""

    line: int
    column: int
    text: str
    citations: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class Fence:
    """A fenced code block; ``body`` lines are 1-based and inclusive."""

    line: int
    info: str
    content: str
    markup: str
    body_first: int
    body_last: int
    closed: bool
    indent: int

    @property
    def language(self) -> str:
        words = self.info.split()
        return words[0] if words and "=" not in words[0] else ""

    @property
    def attributes(self) -> dict[str, str]:
        pairs = (word.partition("=") for word in self.info.split())
        return {key: value.strip("\"'") for key, sep, value in pairs if sep}


@dataclass(frozen=True, slots=True)
class FootnoteDefinition:
    label: str
    line: int
    last_line: int


@dataclass(frozen=True, slots=True)
class Section:
    """A level-2 heading and everything up to the next one."""

    heading: Heading
    last_line: int
    bullets: tuple[Bullet, ...] = ()
    citations: tuple[Citation, ...] = ()
    fences: tuple[Fence, ...] = ()


@dataclass
class Structure:
    headings: list[Heading] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    bullets: list[Bullet] = field(default_factory=list)
    fences: list[Fence] = field(default_factory=list)
    footnotes: list[FootnoteDefinition] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    comments: list[tuple[int, int, str]] = field(default_factory=list)
    """HTML comment blocks: first line, last line, text."""

    def anchors(self) -> set[str]:
        return set(unique_slugs(heading.slug for heading in self.headings))


def unique_slugs(slugs: Iterator[str]) -> Iterator[str]:
    seen: dict[str, int] = {}
    for slug in slugs:
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        yield slug if count == 0 else f"{slug}-{count}"


def structure_of(source: SourceText, hidden_lines: int = 0) -> Structure:
    """The structure of a page whose first ``hidden_lines`` (its frontmatter) are not
    Markdown. They are parsed as blank lines, so token lines stay file lines."""
    if hidden_lines <= 0:
        tokens = parser(front_matter=False).parse(source.normalized())
        return read_structure(tokens, source.lines)
    lines = source.lines
    body = "\n" * min(hidden_lines, len(lines)) + "\n".join(lines[hidden_lines:])
    if len(lines) > hidden_lines and source.endings[-1]:
        body += "\n"
    return read_structure(parser(front_matter=False).parse(body), lines)


def read_structure(tokens: Sequence[Token], lines: Sequence[str]) -> Structure:
    structure = Structure()
    reader = _Reader(structure, lines)
    for index, token in enumerate(tokens):
        reader.visit(token, tokens, index)
    structure.sections = _sections(structure, len(lines))
    return structure


class _Reader:
    def __init__(self, structure: Structure, lines: Sequence[str]) -> None:
        self.out = structure
        self.lines = lines
        self.items: list[tuple[Token, list[Citation], list[str]]] = []

    def visit(self, token: Token, tokens: Sequence[Token], index: int) -> None:
        handler = _HANDLERS.get(token.type)
        if handler is not None:
            handler(self, token, tokens, index)

    def heading(self, token: Token, tokens: Sequence[Token], index: int) -> None:
        text = tokens[index + 1].content
        line = token.map[0] + 1 if token.map else 1
        self.out.headings.append(Heading(int(token.tag[1:]), text, slugify(text), line))

    def item_open(self, token: Token, _tokens: Sequence[Token], _index: int) -> None:
        self.items.append((token, [], []))

    def item_close(self, _token: Token, _tokens: Sequence[Token], _index: int) -> None:
        opened, citations, texts = self.items.pop()
        line = opened.map[0] + 1 if opened.map else 1
        column = len(self.lines[line - 1]) - len(self.lines[line - 1].lstrip()) + 1
        text = " ".join(texts)
        self.out.bullets.append(Bullet(line, column, text, tuple(citations)))

    def inline(self, token: Token, _tokens: Sequence[Token], _index: int) -> None:
        citations, links = self.positions(token)
        self.out.citations.extend(citations)
        self.out.links.extend(links)
        if self.items:
            self.items[-1][1].extend(citations)
            self.items[-1][2].append(token.content)

    def positions(self, token: Token) -> tuple[list[Citation], list[Link]]:
        first = token.map[0] if token.map else 0
        offset, searched_from = 0, 0
        citations: list[Citation] = []
        links: list[Link] = []
        for child in token.children or []:
            if child.type in {"softbreak", "hardbreak"}:
                offset, searched_from = offset + 1, 0
                continue
            needle = _needle(child)
            if needle is None:
                continue
            line_text = self.lines[min(first + offset, len(self.lines) - 1)]
            found = line_text.find(needle[1], searched_from)
            column = found + 1 if found >= 0 else 1
            searched_from = max(found + 1, searched_from)
            if needle[0] == "citation":
                citations.append(
                    Citation(child.meta["label"], first + offset + 1, column)
                )
            else:
                links.append(Link(needle[1], first + offset + 1, column))
        return citations, links

    def fence(self, token: Token, _tokens: Sequence[Token], _index: int) -> None:
        start, end = token.map or (0, 0)
        # markdown-it maps a closed fence over its body and both fence lines, an
        # unclosed one over its body and the opening line only (whatever container
        # it sits in), so the body's line count tells the two apart.
        content = token.content
        body_lines = content.count("\n") + (
            1 if content and not content.endswith("\n") else 0
        )
        closed = end - start >= 2 and body_lines == end - start - 2
        opening = self.lines[start] if start < len(self.lines) else ""
        indent = len(opening) - len(opening.lstrip())
        body_last = end - 1 if closed else end
        self.out.fences.append(
            Fence(
                start + 1,
                token.info.strip(),
                content,
                token.markup,
                start + 2,
                body_last,
                closed,
                indent,
            )
        )

    def footnote(self, token: Token, tokens: Sequence[Token], index: int) -> None:
        start, end = token.map or (0, 0)
        self.out.footnotes.append(
            FootnoteDefinition(token.meta["label"], start + 1, end)
        )

    def html(self, token: Token, _tokens: Sequence[Token], _index: int) -> None:
        start, end = token.map or (0, 0)
        self.out.comments.append((start + 1, end, token.content.strip()))


def _needle(child: Token) -> tuple[str, str] | None:
    if child.type == "footnote_ref":
        return ("citation", f"[^{child.meta['label']}]")
    if child.type == "link_open":
        return ("link", str(child.attrs.get("href", "")))
    if child.type == "image":
        return ("link", str(child.attrs.get("src", "")))
    return None


_HANDLERS = {
    "heading_open": _Reader.heading,
    "list_item_open": _Reader.item_open,
    "list_item_close": _Reader.item_close,
    "inline": _Reader.inline,
    "fence": _Reader.fence,
    "footnote_reference_open": _Reader.footnote,
    "html_block": _Reader.html,
}


def _sections(structure: Structure, line_count: int) -> list[Section]:
    level_two = [heading for heading in structure.headings if heading.level == 2]
    sections = []
    for position, heading in enumerate(level_two):
        last = (
            level_two[position + 1].line - 1
            if position + 1 < len(level_two)
            else line_count
        )

        def inside(line: int, first: int = heading.line, end: int = last) -> bool:
            return first < line <= end

        sections.append(
            Section(
                heading,
                last,
                tuple(b for b in structure.bullets if inside(b.line)),
                tuple(c for c in structure.citations if inside(c.line)),
                tuple(f for f in structure.fences if inside(f.line)),
            )
        )
    return sections
