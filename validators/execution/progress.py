"""A one-line progress display on stderr, shown only when stderr is a terminal.

``ProgressLine`` is a ``runner.run_many`` progress callback: it rewrites one line
(``\\r`` and erase-to-end) with ``[done/total] name``, and ``close()`` clears it. On a
pipe or a CI log it writes nothing, so logs stay clean.
"""

from __future__ import annotations

import shutil
import sys
import threading
from typing import TextIO

_CLEAR = "\r\x1b[K"


def progress_text(done: int, total: int, name: str, width: int) -> str:
    """``[done/total] name``, cut to fit ``width`` columns."""
    text = f"[{done}/{total}] {name}"
    if len(text) < width:
        return text
    return text[: max(0, width - 4)] + "..."


class ProgressLine:
    """Callable ``(done, total, name)`` that draws progress on a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._lock = threading.Lock()
        self._drawn = False
        self.enabled = bool(getattr(self._stream, "isatty", lambda: False)())

    def __call__(self, done: int, total: int, name: str) -> None:
        if not self.enabled:
            return
        width = shutil.get_terminal_size().columns
        with self._lock:
            self._stream.write(_CLEAR + progress_text(done, total, name, width))
            self._stream.flush()
            self._drawn = True

    def close(self) -> None:
        """Erase the line, so the report that follows starts clean."""
        with self._lock:
            if self._drawn:
                self._stream.write(_CLEAR)
                self._stream.flush()
                self._drawn = False

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
