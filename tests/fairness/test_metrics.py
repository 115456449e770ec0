"""compute_group_metrics against fairlearn's MetricFrame, and its departures from it on purpose."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    equalized_odds_difference,
    false_positive_rate,
    true_positive_rate,
)

from aimsflow.fairness.metrics import (
    BASE_RATE,
    FPR,
    INSUFFICIENT,
    MISSING_GROUP,
    MISSING_RATE,
    REPRESENTATION_GAP,
    SELECTION_RATE,
    SHARE,
    TPR,
    compute_group_metrics,
)
from tests.fairness._frames import edge_frame, make_frame
from tests.fairness._reference import assert_matches_fairlearn, sensitive_frame


@pytest.mark.parametrize("min_size", [1, 30])
def test_single_features_match_fairlearn(min_size):
    df = make_frame(2_000, seed=1)
    report = compute_group_metrics(
        df,
        ["sex", "ethnicity"],
        "label",
        predictions="pred",
        min_group_size=min_size,
        columns=["annual_income"],
    )
    assert list(report.groupings) == ["sex", "ethnicity"]
    assert assert_matches_fairlearn(report, df) > 60


def test_intersections_match_fairlearn():
    df = make_frame(800, seed=2, n_ethnicities=3, nan_share=0.03)
    report = compute_group_metrics(
        df,
        ["sex", "ethnicity", "age_band"],
        "label",
        predictions="pred",
        depth=3,
        min_group_size=15,
        columns=["annual_income"],
    )
    expected = ["sex", "ethnicity", "age_band", "sex|ethnicity", "sex|age_band", "ethnicity|age_band"]
    assert list(report.groupings) == [*expected, "sex|ethnicity|age_band"]
    assert {"female|e01", "male|missing"} <= set(report.groupings["sex|ethnicity"].counts)
    assert_matches_fairlearn(report, df)


def test_many_categories_match_fairlearn():
    df = make_frame(4_000, seed=3, n_ethnicities=45)
    report = compute_group_metrics(
        df, ["ethnicity"], "label", predictions="pred", min_group_size=85, columns=["annual_income"]
    )
    assert len(report.groupings["ethnicity"].counts) == 45
    # ~89 rows a group: some fall under 85 and leave the comparisons.
    base = report.groupings["ethnicity"].metrics[BASE_RATE]
    assert 0 < sum(not v.defined for v in base.by_group.values()) < 45
    assert_matches_fairlearn(report, df)


@pytest.mark.parametrize("min_size", [1, 20])
def test_edge_cases_match_fairlearn(min_size):
    df = edge_frame()
    report = compute_group_metrics(
        df, ["grp", "region"], "label", predictions="pred", depth=2, min_group_size=min_size
    )
    assert_matches_fairlearn(report, df)


def test_nan_in_a_sensitive_column_is_the_missing_group():
    df = edge_frame()
    with pytest.raises(ValueError, match="missing values"):
        MetricFrame(metrics=true_positive_rate, y_true=df.label, y_pred=df.pred, sensitive_features=df.grp)
    report = compute_group_metrics(
        df, ["grp", "region"], "label", predictions="pred", depth=2, min_group_size=1
    )
    assert report.groupings["grp"].counts[MISSING_GROUP] == 12
    assert {"missing|x", "missing|y"} <= set(report.groupings["grp|region"].counts)
    # fairlearn agrees once NaN is the explicit group
    mf = MetricFrame(
        metrics=true_positive_rate,
        y_true=df.label,
        y_pred=df.pred,
        sensitive_features=sensitive_frame(df, ["grp"]),
    )
    assert report.groupings["grp"].metrics[TPR].by_group[MISSING_GROUP].value == pytest.approx(
        mf.by_group[MISSING_GROUP], abs=1e-12
    )


def test_no_positives_is_undefined_not_zero_and_stays_out_of_the_difference():
    df = edge_frame()
    report = compute_group_metrics(df, ["grp"], "label", predictions="pred", min_group_size=1)
    grouping = report.groupings["grp"]
    tpr_b = grouping.metrics[TPR].by_group["b"]
    assert tpr_b.value is None and tpr_b.undefined == f"{INSUFFICIENT}: no positive labels"
    fpr_d = grouping.metrics[FPR].by_group["d"]
    assert fpr_d.value is None and fpr_d.undefined == f"{INSUFFICIENT}: no negative labels"
    assert grouping.metrics[FPR].by_group["c"].undefined == f"{INSUFFICIENT}: no negative labels"
    # fairlearn says TPR = 0 for b and FPR = 0 for c and d, and those zeros enter its differences:
    sf = sensitive_frame(df, ["grp"])
    mf = MetricFrame(
        metrics={"tpr": true_positive_rate, "fpr": false_positive_rate},
        y_true=df.label,
        y_pred=df.pred,
        sensitive_features=sf,
    )
    assert mf.by_group.loc["b", "tpr"] == 0.0 and mf.by_group.loc["d", "fpr"] == 0.0
    tpr_defined = grouping.metrics[TPR].defined_groups()
    assert "b" not in tpr_defined
    assert grouping.metrics[TPR].difference.value == pytest.approx(
        max(tpr_defined.values()) - min(tpr_defined.values())
    )
    plain = equalized_odds_difference(df.label, df.pred, sensitive_features=sf)
    assert grouping.equalized_odds_difference.value < plain  # fairlearn's is inflated by the zeros


def test_one_member_group_is_kept_but_insufficient_below_the_minimum():
    df = edge_frame()
    loose = compute_group_metrics(df, ["grp"], "label", min_group_size=1).groupings["grp"]
    assert loose.counts["c"] == 1
    assert loose.metrics[BASE_RATE].by_group["c"].defined
    strict = compute_group_metrics(df, ["grp"], "label", min_group_size=2).groupings["grp"]
    value = strict.metrics[BASE_RATE].by_group["c"]
    assert value.value == 1.0 and value.undefined == f"{INSUFFICIENT}: group size 1 < 2"
    # c (base rate 1.0) and d (1.0) vs b (0.0): c leaves the comparison, d keeps the maximum at 1
    assert strict.metrics[BASE_RATE].difference.value == 1.0


def test_fewer_than_two_defined_groups_make_difference_and_ratio_undefined():
    df = edge_frame()
    report = compute_group_metrics(df, ["grp"], "label", predictions="pred", min_group_size=41)
    base = report.groupings["grp"].metrics[BASE_RATE]
    assert [g for g, v in base.by_group.items() if v.defined] == ["a"]
    assert not base.difference.defined and not base.ratio.defined
    assert base.difference.undefined.startswith(INSUFFICIENT)
    assert not report.groupings["grp"].equalized_odds_difference.defined


def test_ratio_with_largest_value_zero_is_undefined():
    df = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 5, "label": [0] * 10})
    base = compute_group_metrics(df, ["g"], "label", min_group_size=1).groupings["g"].metrics[BASE_RATE]
    assert base.difference.value == 0.0 and base.difference.defined
    assert not base.ratio.defined and base.ratio.value is None


def test_shares_and_representation_gap():
    df = pd.DataFrame({"g": ["a"] * 60 + ["b"] * 30 + ["z"] * 10, "label": [0, 1] * 50})
    reference = {"g": {"a": 0.5, "b": 0.3, "c": 0.2}}
    grouping = compute_group_metrics(
        df, ["g"], "label", min_group_size=1, reference_shares=reference
    ).groupings["g"]
    shares = grouping.metrics[SHARE]
    assert {g: v.value for g, v in shares.by_group.items()} == {"a": 0.6, "b": 0.3, "z": 0.1}
    assert shares.overall.value == 1.0 and shares.difference is None
    gap = grouping.metrics[REPRESENTATION_GAP].by_group
    assert gap["a"].value == pytest.approx(0.1) and gap["b"].value == pytest.approx(0.0)
    assert gap["c"].value == pytest.approx(-0.2)  # in the reference, absent from the data
    assert not gap["z"].defined and "no reference share" in gap["z"].undefined
    assert "c" not in grouping.counts


def test_missing_rates_per_group_for_every_other_column():
    df = edge_frame()
    report = compute_group_metrics(df, ["grp"], "label", predictions="pred", min_group_size=1)
    assert report.columns == ("region", "feature")
    rate = report.groupings["grp"].metrics[MISSING_RATE + "feature"]
    sf = sensitive_frame(df, ["grp"])["grp"]
    expected = df["feature"].isna().groupby(sf).mean()
    for group, value in rate.by_group.items():
        assert value.value == pytest.approx(expected[group], abs=1e-12)
    assert rate.overall.value == pytest.approx(df["feature"].isna().mean())
    assert report.groupings["grp"].metrics[MISSING_RATE + "region"].difference.value == 0.0


def test_intersections_list_observed_groups_only():
    df = edge_frame()
    counts = (
        compute_group_metrics(df, ["grp", "region"], "label", depth=2, min_group_size=1)
        .groupings["grp|region"]
        .counts
    )
    assert "b|y" not in counts and "c|x" not in counts  # never occur
    assert counts["c|y"] == 1 and sum(counts.values()) == len(df)


def test_nullable_categorical_and_numeric_dtypes():
    base = make_frame(800, seed=4)
    df = base.assign(
        label=base["label"].astype("Int64"),
        pred=base["pred"].astype(bool).astype("boolean"),
        sex=pd.Categorical(base["sex"], categories=["female", "male", "non-binary", "unused"]),
        ethnicity=base["ethnicity"].astype("string"),
        age_band=base["age_band"].map({"18-34": 1, "35-54": 2, "55+": 3}),
    )
    df.loc[df.index[:7], "ethnicity"] = pd.NA
    report = compute_group_metrics(
        df, ["sex", "ethnicity", "age_band"], "label", predictions="pred", depth=2, min_group_size=5
    )
    assert "unused" not in report.groupings["sex"].counts
    assert report.groupings["ethnicity"].counts[MISSING_GROUP] == 7
    assert set(report.groupings["age_band"].counts) == {"1", "2", "3"}
    # the same figures as with plain dtypes (which the other tests compare with fairlearn)
    plain = base.assign(age_band=df["age_band"], ethnicity=df["ethnicity"].astype(object))
    plain.loc[plain.index[:7], "ethnicity"] = None
    expected = compute_group_metrics(
        plain, ["sex", "ethnicity", "age_band"], "label", predictions="pred", depth=2, min_group_size=5
    )
    assert report == expected


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([0, 1, None, 1], "missing value"),
        ([0, 1, 2, 1], "must be 0/1"),
        (["no", "yes", "no", "yes"], "must be 0/1"),
    ],
)
def test_label_must_be_binary_without_gaps(values, match):
    df = pd.DataFrame({"g": ["a", "a", "b", "b"], "label": values})
    with pytest.raises(ValueError, match=match):
        compute_group_metrics(df, ["g"], "label", min_group_size=1)


def test_bad_arguments():
    df = edge_frame()
    with pytest.raises(ValueError, match="not in the data"):
        compute_group_metrics(df, ["grp", "nope"], "label")
    with pytest.raises(ValueError, match="depth"):
        compute_group_metrics(df, ["grp"], "label", depth=0)
    with pytest.raises(ValueError, match="no rows"):
        compute_group_metrics(df.iloc[:0], ["grp"], "label")


def test_min_group_size_defaults_to_the_setting(monkeypatch):
    monkeypatch.setenv("AIMSFLOW_MIN_GROUP_SIZE", "26")
    report = compute_group_metrics(edge_frame(), ["grp"], "label")
    assert report.min_group_size == 26
    assert not report.groupings["grp"].metrics[BASE_RATE].by_group["b"].defined  # 25 rows


def test_selection_rate_is_over_predictions_and_base_rate_over_the_label():
    df = edge_frame()
    grouping = compute_group_metrics(df, ["grp"], "label", predictions="pred", min_group_size=1).groupings[
        "grp"
    ]
    b = df[df.grp == "b"]
    assert grouping.metrics[BASE_RATE].by_group["b"].value == 0.0
    assert grouping.metrics[SELECTION_RATE].by_group["b"].value == pytest.approx(b.pred.mean())
    assert np.isclose(grouping.metrics[SELECTION_RATE].overall.value, df.pred.mean())
