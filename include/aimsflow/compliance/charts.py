"""Inline SVG charts for HTML pages in records: no script, no font or style from a network, every text
escaped, and a ``<title>`` on each mark so a pointer shows its numbers (no JavaScript needed). Each
chart has its numbers in words beside it too, so nothing is read from the picture alone.

Charts are returned as markup whose every text is already escaped here; the template inserts them
with ``| safe`` and nothing else."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

GREEN = "#1a7f37"
LIGHT_GREEN = "#6fdd8b"
AMBER = "#d4a72c"
ORANGE = "#e16f24"
RED = "#cf222e"
GREY = "#eaeef2"
INK = "#57606a"
GRID = "#d0d7de"
FONT = 'font-family="system-ui,-apple-system,Segoe UI,sans-serif"'


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _ticks(top: int) -> list[int]:
    """Up to five round gridline values from 0 to at least ``top``."""
    if top <= 4:
        return list(range(top + 1))
    step = 10 ** math.floor(math.log10(top / 4))
    for m in (1, 2, 5, 10):
        if top / (step * m) <= 4:
            step *= m
            break
    return list(range(0, top + step, step))


def _day_label(day: str) -> str:
    return day[5:] if len(day) == 10 else day  # 2026-11-27 -> 11-27


def _x_labels(n: int, most: int = 12) -> set[int]:
    """Indices of the days that get a label: evenly spaced, always the last."""
    if n <= most:
        return set(range(n))
    step = math.ceil(n / most)
    return {i for i in range(n) if (n - 1 - i) % step == 0}


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: Sequence[int]


def stacked_bars(days: Sequence[str], series: Sequence[Series], label: str) -> str:
    """One stacked bar per day (series bottom up), a y axis of counts, day labels below."""
    width, height, left, bottom, top, right = 1100, 230, 44, 34, 12, 8
    n = max(len(days), 1)
    totals = [sum(s.values[i] for s in series) for i in range(len(days))]
    ticks = _ticks(max(totals, default=0) or 1)
    ymax = ticks[-1]
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / n
    bar = max(min(slot * 0.72, 60), 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / ymax

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{_e(label)}" {FONT} font-size="12">'
    ]
    for t in ticks:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" fill="{INK}">{t}</text>'
        )
    labelled = _x_labels(len(days))
    for i, day in enumerate(days):
        x = left + slot * i + (slot - bar) / 2
        words = ", ".join(f"{s.values[i]} {s.name}" for s in series)
        parts.append(f"<g><title>{_e(day)}: {_e(words)}</title>")
        base = 0
        for s in series:
            v = s.values[i]
            if v:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y(base + v):.1f}" width="{bar:.1f}" '
                    f'height="{y(base) - y(base + v):.1f}" fill="{s.color}"/>'
                )
            base += v
        parts.append("</g>")
        if i in labelled:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'fill="{INK}">{_e(_day_label(day))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def share_color(share: float | None) -> str:
    if share is None:
        return GREY
    if share >= 1:
        return GREEN
    if share >= 0.75:
        return LIGHT_GREEN
    if share >= 0.5:
        return AMBER
    if share > 0:
        return ORANGE
    return RED


@dataclass(frozen=True)
class Cell:
    passing: int
    total: int

    @property
    def share(self) -> float | None:
        return self.passing / self.total if self.total else None


def heatmap(days: Sequence[str], rows: Sequence[tuple[str, Sequence[Cell]]], label: str) -> str:
    """Rows (one per DAG) of day cells coloured by the share of passing verdicts; the share in
    percent inside a cell when it fits, the counts in its ``<title>``."""
    width, left, cell_h, gap, bottom = 1100, 170, 24, 2, 22
    n = max(len(days), 1)
    cell_w = min((width - left) / n, 64)
    height = len(rows) * (cell_h + gap) + bottom + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{_e(label)}" {FONT} font-size="12">'
    ]
    for r, (name, cells) in enumerate(rows):
        y = r * (cell_h + gap)
        parts.append(
            f'<text x="{left - 8}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="end" fill="#1f2328">{_e(name)}</text>'
        )
        for i, cell in enumerate(cells):
            x = left + i * cell_w
            share = cell.share
            words = (
                f"{name} {days[i]}: no verdict"
                if share is None
                else f"{name} {days[i]}: {cell.passing} of {cell.total} verdicts passing"
            )
            parts.append(
                f'<g><title>{_e(words)}</title><rect x="{x + 1:.1f}" y="{y}" width="{cell_w - 2:.1f}" '
                f'height="{cell_h}" rx="3" fill="{share_color(share)}"/>'
            )
            if share is not None and cell_w >= 30:
                ink = "#fff" if share_color(share) in (GREEN, RED, ORANGE) else "#1f2328"
                parts.append(
                    f'<text x="{x + cell_w / 2:.1f}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="middle" '
                    f'fill="{ink}" font-size="11">{round(share * 100)}</text>'
                )
            parts.append("</g>")
    labelled = _x_labels(len(days))
    base = len(rows) * (cell_h + gap) + 14
    for i, day in enumerate(days):
        if i in labelled:
            parts.append(
                f'<text x="{left + i * cell_w + cell_w / 2:.1f}" y="{base}" text-anchor="middle" '
                f'fill="{INK}">{_e(_day_label(day))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def hbars(items: Sequence[tuple[str, int, str]], label: str, width: int = 520) -> str:
    """One horizontal bar per item (label, value, colour), the value written after the bar."""
    left, row, bar_h = 130, 26, 18
    top = max((v for _, v, _ in items), default=0) or 1
    plot = width - left - 40
    height = len(items) * row + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'role="img" aria-label="{_e(label)}" {FONT} font-size="12">'
    ]
    for i, (name, value, color) in enumerate(items):
        y = i * row + 2
        w = plot * value / top
        parts.append(
            f"<g><title>{_e(name)}: {value}</title>"
            f'<text x="{left - 8}" y="{y + bar_h / 2 + 4:.1f}" text-anchor="end" fill="#1f2328">{_e(name)}</text>'
            f'<rect x="{left}" y="{y}" width="{max(w, 1 if value else 0):.1f}" height="{bar_h}" rx="2" fill="{color}"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + bar_h / 2 + 4:.1f}" fill="{INK}">{value}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
