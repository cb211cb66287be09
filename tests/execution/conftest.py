"""Fixtures of the execution tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.execution.support import write


@pytest.fixture
def script(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a dedented Python source to ``tmp_path/name`` and return its path."""

    def make(name: str, source: str) -> Path:
        return write(tmp_path / name, source)

    return make
