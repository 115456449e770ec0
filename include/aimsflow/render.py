"""One way to render what a person reads in a record: HTML pages from Jinja2 templates shipped in
the package (``aimsflow/templates``) with autoescaping on, and Markdown tables whose cells are
escaped, so a value from the data (a column or group name) can neither break a table nor inject
markup. Pages are self-contained: CSS inline, no scripts, nothing loaded from a network (an auditor
opens them offline, years later)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

TEMPLATES = "templates"

_SPACES = re.compile(r"\s*[\r\n]+\s*")
# Only a "<" that could open a tag, comment or autolink is markup; "<= 0.1" stays readable.
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
# Likewise an "&" that would be read as a character reference.
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_EDGE_SPACES = re.compile(r"^ +| +$")


@functools.cache
def environment() -> jinja2.Environment:
    """The package's Jinja2 environment: autoescape on for every template (they are all HTML),
    undefined names are errors rather than empty text."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("aimsflow", TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def render_html(template: str, **context: Any) -> bytes:
    """``template`` (a file in ``aimsflow/templates``) rendered with ``context``, as UTF-8."""
    return environment().get_template(template).render(**context).encode("utf-8")


def md_cell(value: Any) -> str:
    """``value`` as the text of one Markdown (GFM) table cell that reads back as ``value``.

    Backslashes and pipes are escaped (a pipe would end the cell), line breaks become one space (a
    table row is one line), leading and trailing spaces become ``&nbsp;`` (GFM trims them), and a
    ``<`` that would open HTML and an ``&`` that would start an entity are written as entities."""
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    text = _SPACES.sub(" ", text)
    text = _ENTITY.sub("&amp;", text)
    text = _TAG_OPEN.sub("&lt;", text)
    return _EDGE_SPACES.sub(lambda m: "&nbsp;" * len(m.group()), text)


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """The lines of a Markdown table; every cell, the header's included, goes through :func:`md_cell`.
    A row of the wrong width is a programming error, refused rather than rendered askew."""
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"table row has {len(row)} cells, header has {len(header)}: {row!r}")
        lines.append("| " + " | ".join(md_cell(c) for c in row) + " |")
    return lines
