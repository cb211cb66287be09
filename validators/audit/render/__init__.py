"""The audit's output formats: each a pure function from ``Audit`` to text."""

from __future__ import annotations

from typing import Protocol

from validators.audit.model import Audit
from validators.audit.render import html, json_format, markdown, terminal


class Renderer(Protocol):
    def __call__(self, audit: Audit, *, color: bool = False) -> str: ...


RENDERERS: dict[str, Renderer] = {
    "terminal": terminal.render,
    "markdown": markdown.render,
    "json": json_format.render,
    "html": html.render,
}
