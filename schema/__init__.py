"""Frontmatter models and the JSON Schema exported from them."""

from __future__ import annotations

from schema.models import HandbookFrontmatter, LabFrontmatter

__all__ = ["HandbookFrontmatter", "LabFrontmatter"]
