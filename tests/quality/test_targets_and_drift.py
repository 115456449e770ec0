from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from aimsflow.catalog import ConfigError, load_inventory
from aimsflow.periods import Period
from aimsflow.quality.drift import categorical_psi, load_drift_policy, numeric_psi
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
