"""Plain-text tables whose columns fit their content.

Widths come from the widest cell of each column (fixed widths broke the ``evidence list`` columns on
a 36-character check id). Cells are cut, with an ellipsis, only when a terminal width is given and
the table is wider and cutting makes it fit; only columns marked ``shrink`` are cut, the widest
first, so that ids people copy (record keys, periods) stay whole. Standard library only (used by the verify-only install).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

ELLIPSIS = "…"
GAP = "  "


@dataclass(frozen=True)
class Column:
    header: str
    shrink: bool = False  # may be cut with an ellipsis when the terminal is narrower
    right: bool = False  # right-aligned (counts)
    min_width: int = 8  # never cut below this (or the header, if longer)


def terminal_width(stream: TextIO | None = None) -> int | None:
    """The terminal's width when ``stream`` (default stdout) is a terminal, else None: output that
    goes to a file or a pipe is never cut."""
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()):
        return None
    return shutil.get_terminal_size().columns


def fit_widths(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None) -> list[int]:
    """Each column's width: its widest cell; then, if the table is wider than ``width``, the widest
    shrinkable columns narrowed one character at a time until it fits. When even the narrowest
    allowed widths do not fit, nothing is cut: cells would be lost and lines would wrap anyway."""
    widths = [max([len(c.header), *(len(row[i]) for row in rows)]) for i, c in enumerate(columns)]
    if width is None:
        return widths
    floors = [
        w if not c.shrink else min(w, max(c.min_width, len(c.header)))
        for c, w in zip(columns, widths, strict=True)
    ]
    gaps = len(GAP) * (len(columns) - 1)
    if sum(floors) + gaps > width:
        return widths  # cutting cannot make it fit: keep every cell whole and let the terminal wrap
    overflow = sum(widths) + gaps - width
    while overflow > 0:
        candidates = [i for i, c in enumerate(columns) if c.shrink and widths[i] > floors[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
        overflow -= 1
    return widths


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELLIPSIS


def render_table(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None = None
) -> list[str]:
    """Header line then one line per row; the last column is not padded (no trailing blanks)."""
    rows = [[str(cell) for cell in row] for row in rows]
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"row has {len(row)} cells, the table {len(columns)} columns: {row}")
    widths = fit_widths(columns, rows, width)
    last = len(columns) - 1

    def line(cells: Sequence[str]) -> str:
        parts = []
        for i, (cell, col, w) in enumerate(zip(cells, columns, widths, strict=True)):
            text = cut(cell, w) if col.shrink else cell
            if i == last and not col.right:
                parts.append(text)
            else:
                parts.append(text.rjust(w) if col.right else text.ljust(w))
        return GAP.join(parts)

    return [line([c.header for c in columns]), *(line(row) for row in rows)]
