"""Two inline SVG charts, drawn by hand: stacked 100% bars and plain bars.

Every label is escaped; every mark carries a ``<title>`` so a hover tells the number.
Nothing is loaded from anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

ROW = 26
BAR = 16
LABEL_W = 260
BAR_W = 420
VALUE_W = 90
LEGEND_H = 28
LABEL_CHARS = 38


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str
    color: str


def _clip(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(width: int, height: int, label: str, body: Sequence[str]) -> str:
    return (
        f'<svg class="chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


def _legend(series: Sequence[Series]) -> list[str]:
    parts, x = [], LABEL_W
    for item in series:
        parts.append(
            f'<rect x="{x}" y="6" width="12" height="12" rx="2" fill="{item.color}"/>'
            f'<text x="{x + 17}" y="16" class="legend">{escape(item.label)}</text>'
        )
        x += 28 + 7 * len(item.label)
    return parts


def stacked_bars(
    title: str,
    rows: Sequence[tuple[str, Mapping[str, int], str]],
    series: Sequence[Series],
) -> str:
    """One 100% bar per row: ``(label, counts by series key, text at the right)``."""
    height = LEGEND_H + ROW * max(len(rows), 1) + 6
    body = _legend(series)
    for index, (label, counts, note) in enumerate(rows):
        y = LEGEND_H + index * ROW
        body.append(_label(label, y))
        body += _segments(label, counts, series, y)
        body.append(
            f'<text x="{LABEL_W + BAR_W + 8}" y="{y + 13}" class="value">'
            f"{escape(note)}</text>"
        )
    return _svg(LABEL_W + BAR_W + VALUE_W, height, title, body)


def _label(label: str, y: int) -> str:
    return (
        f'<text x="{LABEL_W - 8}" y="{y + 13}" text-anchor="end" class="label">'
        f"<title>{escape(label)}</title>{escape(_clip(label))}</text>"
    )


def _segments(
    label: str, counts: Mapping[str, int], series: Sequence[Series], y: int
) -> list[str]:
    total = sum(counts.get(item.key, 0) for item in series)
    if not total:
        return [
            f'<rect x="{LABEL_W}" y="{y}" width="{BAR_W}" height="{BAR}" '
            f'class="empty"/><text x="{LABEL_W + 6}" y="{y + 12}" class="muted">'
            "no claims</text>"
        ]
    parts, x = [], float(LABEL_W)
    for item in series:
        count = counts.get(item.key, 0)
        if not count:
            continue
        width = BAR_W * count / total
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR}" '
            f'fill="{item.color}"><title>{escape(label)}: {count} of {total} '
            f"claims, {escape(item.label)}</title></rect>"
        )
        if width >= 24:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{y + 12}" text-anchor="middle" '
                f'class="inside">{count}</text>'
            )
        x += width
    return parts


def bars(title: str, rows: Sequence[tuple[str, int]], color: str) -> str:
    """One bar per row, scaled to the largest value, the value at its end."""
    height = ROW * max(len(rows), 1) + 8
    largest = max((value for _, value in rows), default=0) or 1
    body = []
    for index, (label, value) in enumerate(rows):
        y = 4 + index * ROW
        width = BAR_W * value / largest
        body += [
            _label(label, y),
            f'<rect x="{LABEL_W}" y="{y}" width="{width:.1f}" height="{BAR}" '
            f'rx="2" fill="{color}"><title>{escape(label)}: {value}</title></rect>',
            f'<text x="{LABEL_W + width + 6:.1f}" y="{y + 13}" class="value">'
            f"{value}</text>",
        ]
    return _svg(LABEL_W + BAR_W + VALUE_W, height, title, body)
