"""The report's inline SVG charts: text escaped, numbers in each mark's title, scales that hold the
largest value, day labels that stay readable, colours at their boundaries."""

from __future__ import annotations

import re

import pytest

from aimsflow.compliance import charts


def test_labels_are_escaped_and_every_mark_carries_its_numbers():
    svg = charts.heatmap(
        ["2026-11-01", "2026-11-02"],
        [("<b>dag</b>", [charts.Cell(3, 4), charts.Cell(0, 0)])],
        'share "of" <passing>',
    )
    assert "<b>" not in svg and "&lt;b&gt;dag&lt;/b&gt;" in svg
    assert 'aria-label="share &quot;of&quot; &lt;passing&gt;"' in svg
    assert "<title>&lt;b&gt;dag&lt;/b&gt; 2026-11-01: 3 of 4 verdicts passing</title>" in svg
    assert "2026-11-02: no verdict</title>" in svg
    bars = charts.hbars([("<i>low</i>", 2, charts.GREEN)], "levels")
    assert "&lt;i&gt;low&lt;/i&gt;" in bars and "<i>" not in bars


def test_stacked_bars_scale_holds_the_tallest_day_and_stack_in_order():
    svg = charts.stacked_bars(
        ["2026-11-01", "2026-11-02"],
        [charts.Series("fresh", charts.GREEN, [3, 30]), charts.Series("stale", charts.AMBER, [1, 7])],
        "coverage",
    )
    ticks = [int(t) for t in re.findall(r'text-anchor="end" fill="#57606a">(\d+)</text>', svg)]
    assert ticks[0] == 0 and ticks[-1] >= 37
    assert "<title>2026-11-02: 30 fresh, 7 stale</title>" in svg
    # a zero-height segment is not drawn
    empty = charts.stacked_bars(["2026-11-01"], [charts.Series("fresh", charts.GREEN, [0])], "c")
    assert "<rect" not in empty


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        (0, [0]),
        (1, [0, 1]),
        (4, [0, 1, 2, 3, 4]),
        (5, [0, 2, 4, 6]),
        (37, [0, 10, 20, 30, 40]),
        (120, [0, 50, 100, 150]),
    ],
)
def test_ticks_are_round_and_reach_the_top(top, expected):
    assert charts._ticks(top) == expected


def test_many_days_get_a_label_every_few_days_always_the_last():
    labelled = charts._x_labels(92)
    assert 91 in labelled and len(labelled) <= 12
    assert charts._x_labels(10) == set(range(10))


@pytest.mark.parametrize(
    ("share", "color"),
    [
        (None, charts.GREY),
        (1.0, charts.GREEN),
        (0.75, charts.LIGHT_GREEN),
        (0.7499, charts.AMBER),
        (0.5, charts.AMBER),
        (0.01, charts.ORANGE),
        (0.0, charts.RED),
    ],
)
def test_share_colours_at_their_boundaries(share, color):
    assert charts.share_color(share) == color
