from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from aimsflow.catalog import ConfigError, load_inventory
from aimsflow.periods import Period
from aimsflow.quality.drift import (
    FeatureDrift,
    categorical_fallback_psi,
    categorical_psi,
    compare,
    load_drift_policy,
    numeric_psi,
)
from aimsflow.quality.targets import plan_targets
from aimsflow.runperiod import period_extra
from tests.conftest import PROJECT

D1, D2 = dt.date(2026, 11, 20), dt.date(2026, 11, 21)


def test_manual_runs_validate_every_dataset_with_a_suite_for_every_day():
    targets = plan_targets(load_inventory(), Period.days(D1, D2), [])
    assert len(targets) == 6 and targets[0] == {"dataset": "loan_applications_clean", "day": "2026-11-20"}


def test_asset_triggered_runs_validate_exactly_the_announced_partitions():
    events = [
        ("dataset/loan_applications_clean", period_extra(Period.day(D2))),
        ("dataset/loan_applications_clean", period_extra(Period.day(D1))),
        ("dataset/loan_training_set", period_extra(Period.day(D2))),
        ("dataset/not_in_catalog", period_extra(Period.day(D2))),
    ]
    targets = plan_targets(load_inventory(), Period.days(D1, D2), events)
    assert targets == [
        {"dataset": "loan_applications_clean", "day": "2026-11-20"},
        {"dataset": "loan_applications_clean", "day": "2026-11-21"},
        {"dataset": "loan_training_set", "day": "2026-11-21"},
    ]


def test_psi_is_zero_for_identical_and_large_for_shifted_data():
    rng = np.random.default_rng(1)
    ref = pd.Series(rng.normal(50, 10, 5000))
    assert numeric_psi(ref, ref, 10) == pytest.approx(0, abs=1e-9)
    assert numeric_psi(ref, pd.Series(rng.normal(50, 10, 5000)), 10) < 0.05
    assert numeric_psi(ref, ref * 0.65, 10) > 0.25
    cats = pd.Series(["a"] * 50 + ["b"] * 50)
    assert categorical_psi(cats, cats) == pytest.approx(0, abs=1e-9)
    assert categorical_psi(cats, pd.Series(["a"] * 50 + ["c"] * 50)) > 0.25  # unseen category


def test_drift_policy_is_validated_with_clear_errors(tmp_path):
    assert load_drift_policy(PROJECT / "include/config/policies/drift.yaml").psi.critical == 0.25
    bad = tmp_path / "drift.yaml"
    bad.write_text(
        "psi: {bins: 1, warning: 0.3, critical: 0.2}\nks: {warning: 0.1, critical: 0.2}\nextra: 1\n"
    )
    with pytest.raises(ConfigError) as err:
        load_drift_policy(bad)
    text = "\n".join(err.value.problems)
    assert "psi.bins: value 1" in text and "extra: value 1: unknown key" in text
    bad.write_text("psi: {bins: 10, warning: 0.3, critical: 0.2}\nks: {warning: 0.1, critical: 0.2}\n")
    with pytest.raises(ConfigError, match="critical 0.2 must be >= warning 0.3"):
        load_drift_policy(bad)


def _binary(ones: float, n: int = 1000) -> pd.Series:
    """A 0/1 column with exactly ``ones`` of its rows set (shuffled)."""
    values = np.zeros(n, dtype="int64")
    values[: round(ones * n)] = 1
    return pd.Series(np.random.default_rng(3).permutation(values))


def _policy():
    return load_drift_policy(PROJECT / "include/config/policies/drift.yaml")


def _drift(reference: pd.Series, current: pd.Series) -> FeatureDrift:
    (feature,) = compare(pd.DataFrame({"x": current}), pd.DataFrame({"x": reference}), {"x"}, _policy())
    return feature


@pytest.mark.parametrize("share", [0.05, 0.098, 0.10])
def test_a_shift_in_a_binary_numeric_feature_shows_in_its_psi(share):
    """Bug: a 0/1 reference has at most two distinct quantile values, so its quantile bins collapsed
    into one bin from -inf to +inf and PSI was 0 whatever the shift. Such a feature now falls back to
    categorical PSI over its reference values."""
    feature = _drift(_binary(share), _binary(0.60))
    assert feature.method == "categorical_fallback" and feature.bins is None
    assert feature.psi is not None and feature.psi > _policy().psi.critical
    assert feature.verdict == "failed"


def test_an_unchanged_binary_numeric_feature_does_not_drift():
    feature = _drift(_binary(0.098), _binary(0.10))
    assert feature.method == "categorical_fallback"
    assert feature.psi is not None and feature.psi < _policy().psi.warning and feature.verdict == "passed"


def test_a_constant_numeric_feature_that_takes_another_value_drifts():
    """Bug: a constant reference gave one quantile value; its single bin edge became +inf and the
    comparison broke or read PSI 0. A constant reference now falls back to categorical PSI."""
    reference = pd.Series(np.full(500, 7.0))
    moved = _drift(reference, pd.Series(np.full(500, 9.0)))
    assert moved.method == "categorical_fallback" and moved.psi > _policy().psi.critical
    same = _drift(reference, pd.Series(np.full(500, 7.0)))
    assert same.psi == pytest.approx(0, abs=1e-9) and same.verdict == "passed"


def test_the_fallback_compares_values_not_their_spelling():
    """0/1 read as integers in the reference and as floats in the current data (a NaN promotes them)
    are the same values: no drift from the dtype alone; values unseen in the reference count as new."""
    reference = _binary(0.3)
    current = _binary(0.3).astype(float)
    current.iloc[:5] = np.nan
    assert categorical_fallback_psi(reference, current) < 0.01
    assert categorical_fallback_psi(reference, pd.Series([2.0] * 1000)) > _policy().psi.critical


def test_three_or_more_distinct_quantiles_keep_numeric_bins():
    """The boundary: three distinct reference values are binned on quantiles, not treated as categories."""
    reference = pd.Series(np.tile([1.0, 2.0, 3.0], 400))
    feature = _drift(reference, reference.copy())
    assert feature.method == "numeric_bins" and feature.bins == 2 and feature.psi == pytest.approx(0)
    assert _drift(reference, pd.Series(np.tile([1.0, 1.0, 3.0], 400))).psi > _policy().psi.warning
