"""Reporters turn sorted findings into text for people, tools or code hosts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from validators.reporters import github, json_format, sarif, text
from validators.reporters.base import Report

REPORTERS: dict[str, Callable[[Report, TextIO], None]] = {
    "text": text.write,
    "json": json_format.write,
    "github": github.write,
    "sarif": sarif.write,
}

__all__ = ["REPORTERS", "Report"]
