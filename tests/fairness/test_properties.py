"""Property: on any small frame, every figure equals fairlearn's MetricFrame on the raw rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimsflow.catalog import Dataset
from aimsflow.fairness.bands import grouped
from aimsflow.fairness.metrics import compute_group_metrics
from tests.fairness._reference import assert_matches_fairlearn, reference_band


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


EDGES = [18, 19, 25, 65]
# Values on, just below and just above every edge, and the missing ones.
AGES = [
    -1.0,
    0.0,
    17.0,
    17.999,
    18.0,
    18.5,
    19.0,
    24.0,
    24.999,
    25.0,
    64.0,
    65.0,
    65.001,
    120.0,
    np.nan,
    np.inf,
]


@st.composite
def aged_frames(draw) -> tuple[pd.DataFrame, int]:
    n = draw(st.integers(1, 40))
    df = pd.DataFrame(
        {
            "age": draw(st.lists(st.sampled_from(AGES), min_size=n, max_size=n)),
            "s2": draw(st.lists(st.sampled_from(["x", "y"]), min_size=n, max_size=n)),
            "label": draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
            "pred": draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
        }
    )
    return df, draw(st.integers(1, 6))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(aged_frames())
def test_every_figure_of_a_binned_feature_matches_fairlearn(case):
    """Banded by the catalog (pd.cut) vs. banded value by value, then handed to MetricFrame."""
    df, min_size = case
    dataset = Dataset.model_validate(
        {
            "id": "d",
            "uri": "{data}/d/{date}.csv",
            "format": "csv",
            "owner": "o",
            "ai_system": "s",
            "role": "train",
            "label_column": "label",
            "sensitive_features": ["age", "s2"],
            "data_class": "training_data",
            "provenance": {"source": "s", "collection_method": "c", "legal_basis": "l"},
            "columns": {
                "age": {"type": "integer", "bins": EDGES},
                "s2": {"type": "string"},
                "label": {"type": "integer"},
                "pred": {"type": "integer"},
            },
        }
    )
    report = compute_group_metrics(
        grouped(df, dataset), ["age", "s2"], "label", predictions="pred", depth=2, min_group_size=min_size
    )
    reference = df.assign(age=[reference_band(v, EDGES) for v in df["age"]])
    assert_matches_fairlearn(report, reference, parity_functions=False)
