"""Read the tables of a Markdown document the way GFM does: a cell ends at a pipe that no backslash
escapes, so a test sees the columns a reader's renderer would show."""

from __future__ import annotations


def split_row(line: str) -> list[str]:
    """The cells of one table row (outer pipes dropped), escapes kept as written."""
    cells, current, i = [], "", 0
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            current += body[i : i + 2]
            i += 2
            continue
        if char == "|":
            cells.append(current.strip())
            current = ""
        else:
            current += char
        i += 1
    if current.strip():
        cells.append(current.strip())
    return cells


def tables(text: str) -> list[list[list[str]]]:
    """Every table of ``text`` (consecutive lines starting with a pipe), as rows of cells; the
    delimiter row (``|---|``) is dropped."""
    found: list[list[list[str]]] = []
    block: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            found.append([split_row(row) for row in block if not set(row) <= set("|-: ")])
            block = []
    return found


def assert_rectangular(text: str) -> list[list[list[str]]]:
    """Every row of every table has as many cells as its header; returns the tables."""
    found = tables(text)
    for table in found:
        width = len(table[0])
        for row in table[1:]:
            assert len(row) == width, f"row has {len(row)} cells, header {width}: {row}"
    return found
