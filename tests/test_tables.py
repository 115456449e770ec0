"""Tables whose columns fit their content (issue 11, point 10)."""

from __future__ import annotations

import io

import pytest

from aimsflow.tables import ELLIPSIS, Column, fit_widths, render_table, terminal_width

COLUMNS = [Column("period"), Column("check", shrink=True), Column("subject", shrink=True), Column("record")]
LONG_CHECK = "data_quality/loan_applications_clean_v2"  # 39 characters
ROWS = [
    ["2026-11-18", "data_quality/loans", "loans/2026-11-18", "records/a"],
    ["2026-11-19", LONG_CHECK, "loan_applications_clean/2026-11-19", "records/b"],
]


def _starts(line: str, cells: list[str]) -> list[int]:
    out, pos = [], 0
    for cell in cells:
        pos = line.index(cell, pos)
        out.append(pos)
        pos += len(cell)
    return out


def test_columns_take_the_width_of_their_widest_cell():
    """Regression: fixed widths (34 for the check) let a 36+ character check id push every later
    column of its row out of line with the header."""
    header, *lines = render_table(COLUMNS, ROWS)
    starts = _starts(header, [c.header for c in COLUMNS])
    for line, row in zip(lines, ROWS, strict=True):
        assert _starts(line, row) == starts
    assert starts[2] - starts[1] == len(LONG_CHECK) + 2  # the check column is as wide as its widest cell
    assert ELLIPSIS not in "".join(lines)
    assert not any(line.endswith(" ") for line in [header, *lines])  # the last column is not padded


def test_no_width_never_cuts():
    lines = render_table(COLUMNS, ROWS, width=None)
    assert LONG_CHECK in lines[2]


def test_a_narrower_terminal_cuts_the_widest_shrinkable_column_with_an_ellipsis():
    natural = max(len(line) for line in render_table(COLUMNS, ROWS))
    lines = render_table(COLUMNS, ROWS, width=natural - 5)
    assert max(len(line) for line in lines) == natural - 5
    assert ELLIPSIS in lines[2]
    assert lines[2].split()[-1] == "records/b" and lines[2].startswith("2026-11-19  ")  # whole ids
    # Both shrinkable columns were 34+ wide; the check (39) was the widest and lost the 5 characters.
    assert LONG_CHECK[:33] + ELLIPSIS in lines[2] and "loan_applications_clean/2026-11-19" in lines[2]
    # Exactly wide enough: nothing cut.
    assert ELLIPSIS not in "".join(render_table(COLUMNS, ROWS, width=natural))


def test_cuts_nothing_when_cutting_cannot_make_it_fit():
    """Below the narrowest allowed widths the table would wrap anyway: keep every cell whole."""
    lines = render_table(COLUMNS, ROWS, width=20)
    assert ELLIPSIS not in "".join(lines) and LONG_CHECK in lines[2]


def test_fit_widths_stops_at_the_floor():
    widths = fit_widths(COLUMNS, ROWS, width=10 + 8 + 8 + 9 + 6)  # every shrinkable column at its floor
    assert widths == [10, 8, 8, 9]


def test_right_aligned_column_and_bad_rows():
    lines = render_table([Column("id"), Column("occ", right=True)], [["a", "3"], ["b", "12"]])
    assert lines == ["id  occ", "a     3", "b    12"]
    with pytest.raises(ValueError, match="row has 1 cells, the table 2 columns"):
        render_table([Column("id"), Column("occ")], [["a"]])


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_terminal_width_only_for_a_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "77")
    assert terminal_width(_Stream(tty=True)) == 77
    assert terminal_width(_Stream(tty=False)) is None  # a file or a pipe: never cut
