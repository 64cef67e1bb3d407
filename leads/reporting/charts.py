"""Small server-rendered SVG charts (no chart library, no JavaScript): horizontal grouped bars and
vertical (stacked or grouped) columns. Python lays the shapes out; the template
leads/dashboards/_chart.svg.html draws them, escaping every text. Each bar carries a <title> with
its category, series and value (screen readers and hover), and the <svg> has a <title> and <desc>."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

# Okabe–Ito: told apart with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTH = 600  # drawn at most this wide (never scaled up), smaller on narrow cards
FONT = 11
LABEL_CHAR_PX = 6.2  # about a character's width at FONT
NO_DATA = _("No data in this range.")


def _fmt_default(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


@dataclass
class Shape:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"
    css: str = ""


@dataclass
class Line:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass
class Svg:
    slug: str
    title: str
    desc: str
    width: float
    height: float
    bars: list[Shape] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    legend: list[tuple[float, float, float, str, str]] = field(default_factory=list)  # box x, y, text x, colour, name

    def render(self) -> SafeString:
        return render_to_string("leads/dashboards/_chart.svg.html", {"svg": self})


def axis_ticks(value: float, *, whole: bool = True) -> list[float]:
    """Five gridline values from 0 to a round end at or above value; whole numbers only for counts."""
    raw = max(value, 1 if whole else 0.0001) / 4
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 8, 10):
        step = multiple * power
        if whole and (step < 1 or not float(step).is_integer()):
            continue
        if step * 4 >= value:
            break
    return [step * tick for tick in range(5)]


def _no_data(svg: Svg) -> SafeString:
    svg.texts.append(Text(svg.width / 2, svg.height / 2, str(NO_DATA), anchor="middle", css="empty"))
    return svg.render()


def _bar_title(category: str, series: Sequence[str], name: str, shown: str) -> str:
    return f"{category} · {name}: {shown}" if len(series) > 1 else f"{category}: {shown}"


def _legend(svg: Svg, series: Sequence[str], *, y: float) -> None:
    if len(series) < 2:
        return
    x = 10.0
    for index, name in enumerate(series):
        svg.legend.append((x, y - 9, x + 16, PALETTE[index % len(PALETTE)], name))
        x += 22 + len(name) * LABEL_CHAR_PX + 14


def hbar_chart(
    *,
    slug: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[str],
    values: Sequence[Sequence[float | None]],
    fmt: Callable[[float], str] = _fmt_default,
    axis_max: float | None = None,
) -> SafeString:
    """Horizontal bars: one row per category, one bar per series (values[category][series]; None = no bar)."""
    if not any(v for row in values for v in row):
        return _no_data(Svg(slug=slug, title=title, desc=f"{desc} {NO_DATA}", width=WIDTH, height=60))
    label_width = max(60, min(200, 12 + LABEL_CHAR_PX * max((len(c) for c in categories), default=4)))
    left, right, top = label_width, 70, 30 if len(series) > 1 else 8
    bar_h, gap = 14, 10
    row_h = bar_h * len(series) + gap
    height = top + row_h * max(len(categories), 1) + 24
    svg = Svg(slug=slug, title=title, desc=desc, width=WIDTH, height=height)
    _legend(svg, series, y=10)
    plot_w = WIDTH - left - right
    peak = max((v for row in values for v in row if v is not None), default=0)
    ticks = [axis_max * tick / 4 for tick in range(5)] if axis_max else axis_ticks(peak, whole=fmt is _fmt_default)
    top_value = ticks[-1]
    bottom = top + row_h * max(len(categories), 1)
    for tick, value in enumerate(ticks):
        x = left + plot_w * tick / 4
        svg.lines.append(Line(x, top, x, bottom))
        svg.texts.append(Text(x, bottom + 14, fmt(value), anchor="middle", css="axis"))
    for row, (category, row_values) in enumerate(zip(categories, values)):
        y = top + row * row_h
        svg.texts.append(Text(left - 6, y + row_h / 2 + 2, category, anchor="end"))
        for index, (name, value) in enumerate(zip(series, row_values)):
            if value is None:
                continue
            width = plot_w * min(value / top_value, 1) if top_value else 0
            shown = fmt(value)
            svg.bars.append(
                Shape(
                    left,
                    y + index * bar_h + gap / 2,
                    max(width, 0.5),
                    bar_h - 2,
                    PALETTE[index % len(PALETTE)],
                    _bar_title(category, series, name, shown),
                )
            )
            svg.texts.append(Text(left + width + 4, y + index * bar_h + gap / 2 + bar_h - 4, shown, css="value"))
    return svg.render()


def column_chart(
    *,
    slug: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[str],
    values: Sequence[Sequence[float]],
    stacked: bool = True,
    fmt: Callable[[float], str] = _fmt_default,
) -> SafeString:
    """Vertical columns per category, the series stacked (or side by side); values[category][series]."""
    if not any(v for row in values for v in row):
        return _no_data(Svg(slug=slug, title=title, desc=f"{desc} {NO_DATA}", width=WIDTH, height=60))
    left, right, top, plot_h = 56, 10, 30 if len(series) > 1 else 10, 220
    height = top + plot_h + 30
    svg = Svg(slug=slug, title=title, desc=desc, width=WIDTH, height=height)
    _legend(svg, series, y=10)
    plot_w = WIDTH - left - right
    n = max(len(categories), 1)
    if stacked:
        peak = max((sum(row) for row in values), default=0)
    else:
        peak = max((v for row in values for v in row), default=0)
    ticks = axis_ticks(peak, whole=fmt is _fmt_default)
    top_value = ticks[-1]
    bottom = top + plot_h
    for tick, value in enumerate(ticks):
        y = bottom - plot_h * tick / 4
        svg.lines.append(Line(left, y, WIDTH - right, y))
        svg.texts.append(Text(left - 4, y + 4, fmt(value), anchor="end", css="axis"))
    slot = plot_w / n
    column_w = slot * 0.8
    # Label every k-th column so the labels do not overlap.
    widest = max((len(c) for c in categories), default=1) * LABEL_CHAR_PX + 6
    every = max(1, math.ceil(widest / slot))
    for col, (category, row_values) in enumerate(zip(categories, values)):
        x = left + col * slot + (slot - column_w) / 2
        if col % every == 0:
            svg.texts.append(Text(x + column_w / 2, bottom + 14, category, anchor="middle", css="axis"))
        base = bottom
        for index, (name, value) in enumerate(zip(series, row_values)):
            if not value:
                continue
            h = plot_h * value / top_value
            title = _bar_title(category, series, name, fmt(value))
            color = PALETTE[index % len(PALETTE)]
            if stacked:
                base -= h
                svg.bars.append(Shape(x, base, column_w, h, color, title))
            else:
                width = column_w / len(series)
                svg.bars.append(Shape(x + index * width, bottom - h, width, h, color, title))
    return svg.render()
