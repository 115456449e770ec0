"""The shared renderers: Markdown cells that read back as their value, HTML with autoescape."""

from __future__ import annotations

import pytest

from aimsflow.render import environment, md_cell, md_table
from tests._markdown import assert_rectangular


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("sex|ethnicity", "sex\\|ethnicity"),
        ("C:\\data\\|x", "C:\\\\data\\\\\\|x"),  # a backslash cannot escape the pipe after it
        ("two\nlines\r\nthree", "two lines three"),
        ("  padded ", "&nbsp;&nbsp;padded&nbsp;"),
        ("<b>x</b>", "&lt;b>x&lt;/b>"),
        ("<!-- c -->", "&lt;!-- c -->"),
        ("<https://example.org>", "&lt;https://example.org>"),
        ("&amp; &#60;", "&amp;amp; &amp;#60;"),  # shown as written, not decoded
        ("<= 0.1", "<= 0.1"),  # a comparison is not markup: left readable
        ("R&D", "R&D"),
        (None, ""),
        (0.25, "0.25"),
    ],
)
def test_md_cell(value, cell):
    assert md_cell(value) == cell


def test_md_table_is_one_row_per_record_whatever_the_values():
    lines = md_table(("a|b", "c"), [("x|y", "1\n2"), ("\\", "|")])
    (table,) = assert_rectangular("\n".join(lines))
    assert len(table) == 3 and table[0] == ["a\\|b", "c"] and table[2] == ["\\\\", "\\|"]


def test_md_table_refuses_a_row_of_the_wrong_width():
    with pytest.raises(ValueError, match="2 cells, header has 3"):
        md_table(("a", "b", "c"), [("x", "y")])


def test_html_environment_escapes_everything_it_interpolates():
    env = environment()
    assert env.autoescape is True
    assert env.from_string("<td>{{ v }}</td>").render(v="<b>x</b>") == "<td>&lt;b&gt;x&lt;/b&gt;</td>"
    with pytest.raises(Exception, match="undefined"):
        env.from_string("{{ missing }}").render()
