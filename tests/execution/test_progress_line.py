"""The progress line: drawn on a terminal, silent elsewhere."""

from __future__ import annotations

import io

from validators.execution.progress import ProgressLine, progress_text


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_silent_when_not_a_terminal() -> None:
    stream = io.StringIO()

    with ProgressLine(stream) as progress:
        progress(1, 2, "lab-06 starter")

    assert not progress.enabled
    assert stream.getvalue() == ""


def test_rewrites_one_line_on_a_terminal() -> None:
    stream = FakeTerminal()

    with ProgressLine(stream) as progress:
        progress(0, 2, "lab-06 starter")
        progress(1, 2, "lab-06 invariants")

    assert stream.getvalue() == (
        "\r\x1b[K[0/2] lab-06 starter\r\x1b[K[1/2] lab-06 invariants\r\x1b[K"
    )
    assert "\n" not in stream.getvalue()


def test_text_is_cut_to_the_width() -> None:
    assert progress_text(3, 10, "short", 80) == "[3/10] short"
    assert progress_text(3, 10, "a-very-long-job-name", 12) == "[3/10] a..."
