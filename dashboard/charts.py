"""Charts drawn on the server as SVG: the geometry is computed here, the templates
(dashboard/_chart_*.html) write the elements. No script, no style attribute, no charting CDN.

Readable without colour: every series has its own pattern (hatching, dots, cross-hatch) or
marker and dash, the legend names each, bars carry their numbers, and every chart has a
<title>, a <desc> and a table with the same numbers beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Series:
    """One series: its key (an outcome code), its label, its fill (a colour and a pattern)."""

    key: str
    label: str
    color: str
    pattern: str  # solid, diagonal, dots, cross, horizontal, vertical


# Outcomes in stack order, each with a pattern of its own (not colour alone).
OUTCOME_STYLE = {
    "provided": ("#1d7a3a", "solid"),
    "not_found": ("#8a9099", "diagonal"),
    "held": ("#c98a00", "dots"),
    "refused": ("#b3261e", "cross"),
    "released": ("#0b7a8a", "horizontal"),
    "declined": ("#6b3fa0", "vertical"),
}


def nice_ceiling(value: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is >= value (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


def ticks_for(ceiling: int, bottom: float, scale: float) -> list[Tick]:
    """Evenly spaced whole-number ticks from 0 to ceiling: 5, 4, 2 or 1 steps, whichever
    divides it (ceilings are 1, 2 or 5 times a power of ten, so one always does)."""
    steps = next(n for n in (5, 4, 2, 1) if ceiling % n == 0)
    return [
        Tick(ceiling * i // steps, bottom - ceiling * i / steps * scale) for i in range(steps + 1)
    ]


@dataclass(frozen=True)
class Segment:
    series: Series
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Column:
    label: str
    total: int
    x: float
    center: float
    top: float
    segments: list[Segment]
    show_label: bool


@dataclass
class StackedBars:
    """A stacked bar chart: one column per category (a day), one segment per series."""

    chart_id: str
    title: str
    description: str
    width: int
    height: int
    plot_left: float
    plot_top: float
    plot_bottom: float
    plot_right: float
    ticks: list[Tick]
    columns: list[Column]
    series: list[Series]
    legend: list[tuple[Series, float]] = field(default_factory=list)  # series, x


def stacked_bars(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[tuple[str, dict[str, int]]],
    series: Sequence[Series],
    width: int = 760,
    height: int = 320,
    label_every: int = 5,
) -> StackedBars:
    """Lay out a stacked bar chart of categories (label, {series key: value})."""
    left, right, top, bottom = 48.0, width - 12.0, 40.0, height - 40.0
    peak = max((sum(values.values()) for _, values in categories), default=0)
    ceiling = nice_ceiling(peak)
    scale = (bottom - top) / ceiling
    ticks = ticks_for(ceiling, bottom, scale)
    slot = (right - left) / max(1, len(categories))
    bar = slot * 0.72
    columns = []
    for i, (label, values) in enumerate(categories):
        x = left + i * slot + (slot - bar) / 2
        y = bottom
        segments = []
        for s in series:
            value = values.get(s.key, 0)
            if not value:
                continue
            h = value * scale
            y -= h
            segments.append(Segment(s, value, x, y, bar, h))
        total = sum(values.get(s.key, 0) for s in series)
        columns.append(
            Column(
                label=label,
                total=total,
                x=x,
                center=x + bar / 2,
                top=y,
                segments=segments,
                show_label=i % label_every == 0 or i == len(categories) - 1,
            )
        )
    legend, x = [], left
    for s in series:
        legend.append((s, x))
        x += 24 + 8 * len(s.label) + 16  # a generous width per character (CJK included)
    return StackedBars(
        chart_id,
        title,
        description,
        width,
        height,
        left,
        top,
        bottom,
        right,
        ticks,
        columns,
        list(series),
        legend,
    )


@dataclass(frozen=True)
class Bar:
    label: str
    code: str
    value: float  # a count, or a rate
    y: float
    width: float
    text_y: float


@dataclass
class HorizontalBars:
    """A horizontal bar chart: one bar per category, largest first, numbers at the ends."""

    chart_id: str
    title: str
    description: str
    width: int
    height: int
    label_width: float
    bar_height: float
    bars: list[Bar]


def horizontal_bars(
    *,
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, str, float]],
    width: int = 760,
    label_width: int = 300,
    row_height: int = 26,
) -> HorizontalBars:
    """Lay out rows of (label, code, value) as horizontal bars."""
    peak = max((v for _, _, v in rows), default=0) or 1
    room = width - label_width - 70
    bars = []
    for i, (label, code, value) in enumerate(rows):
        y = 8 + i * row_height
        bars.append(
            Bar(label, code, value, y, max(1.0, room * value / peak), y + row_height * 0.5 + 4)
        )
    return HorizontalBars(
        chart_id,
        title,
        description,
        width,
        16 + len(rows) * row_height,
        label_width,
        row_height * 0.62,
        bars,
    )


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float


@dataclass(frozen=True)
class Line:
    label: str
    points: list[Point]
    dashed: bool
    marker: str  # circle, square

    @property
    def path(self) -> str:
        return " ".join(
            f"{'M' if i == 0 else 'L'}{p.x:.1f},{p.y:.1f}" for i, p in enumerate(self.points)
        )


@dataclass
class LineChart:
    """Lines over the same days: the staff member's requests and their peers' mean."""

    chart_id: str
    title: str
    description: str
    width: int
    height: int
    plot_left: float
    plot_top: float
    plot_bottom: float
    plot_right: float
    ticks: list[Tick]
    labels: list[tuple[str, float]]
    lines: list[Line]


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    lines: Sequence[tuple[str, Sequence[float], bool, str]],
    width: int = 760,
    height: int = 300,
    label_every: int = 5,
) -> LineChart:
    """Lay out lines (label, values, dashed, marker) over categories."""
    # Room on the right for the last day's label, centred on the last point.
    left, right, top, bottom = 48.0, width - 28.0, 40.0, height - 40.0
    peak = max((max(values, default=0) for _, values, _, _ in lines), default=0)
    ceiling = nice_ceiling(peak)
    scale = (bottom - top) / ceiling
    ticks = ticks_for(ceiling, bottom, scale)
    step = (right - left) / max(1, len(categories) - 1)
    labels = [
        (label, left + i * step)
        for i, label in enumerate(categories)
        if i % label_every == 0 or i == len(categories) - 1
    ]
    laid = [
        Line(
            label,
            [Point(left + i * step, bottom - v * scale, v) for i, v in enumerate(values)],
            dashed,
            marker,
        )
        for label, values, dashed, marker in lines
    ]
    return LineChart(
        chart_id, title, description, width, height, left, top, bottom, right, ticks, labels, laid
    )
