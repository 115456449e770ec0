"""Property: on any small frame, every figure equals fairlearn's MetricFrame on the raw rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimsflow.fairness.metrics import compute_group_metrics
from tests.fairness._reference import assert_matches_fairlearn


@st.composite
def frames(draw) -> tuple[pd.DataFrame, int, int]:
    n = draw(st.integers(1, 40))
    cell = st.sampled_from(["a", "b", "c", None])
    df = pd.DataFrame(
        {
            "s1": draw(st.lists(cell, min_size=n, max_size=n)),
            "s2": draw(st.lists(st.sampled_from(["x", "y"]), min_size=n, max_size=n)),
            "label": draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
            "pred": draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
            "f": draw(st.lists(st.sampled_from([1.0, np.nan]), min_size=n, max_size=n)),
        }
    )
    return df, draw(st.integers(1, 8)), draw(st.integers(1, 2))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_every_figure_matches_fairlearn(case):
    df, min_size, depth = case
    report = compute_group_metrics(
        df, ["s1", "s2"], "label", predictions="pred", depth=depth, min_group_size=min_size
    )
    assert report.columns == ("f",)
    assert sum(report.groupings["s1"].counts.values()) == len(df)
    assert_matches_fairlearn(report, df, parity_functions=False)
