"""Numeric sensitive features: refused without bins, grouped into the catalog's bands with them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aimsflow.catalog import Dataset
from aimsflow.fairness import assess_training_set, load_fairness_policy
from aimsflow.results import JobError, Status

DEMO = (
    Path(__file__).resolve().parents[2]
    / "include"
    / "config"
    / "policies"
    / "fairness"
    / "loan_approval.yaml"
)


def _dataset(age: dict) -> Dataset:
    return Dataset.model_validate(
        {
            "id": "credit_training",
            "uri": "{data}/credit/date={date}.csv",
            "format": "csv",
            "owner": "ds@example.com",
            "ai_system": "loan_approval",
            "role": "train",
            "label_column": "label",
            "sensitive_features": ["age"],
            "data_class": "training_data",
            "provenance": {"source": "s", "collection_method": "c", "legal_basis": "l"},
            "columns": {"age": age, "label": {"type": "integer"}},
        }
    )


def _ages(n: int = 3_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    return pd.DataFrame({"age": age, "label": (rng.random(n) < 0.5).astype(int)})


def test_numeric_sensitive_feature_without_bins_is_refused_at_assessment():
    """Bug: a numeric ``age`` made every distinct age its own group (62 groups of ~50 rows), so the
    verdict compared single ages and meant nothing. Declared as a string, it is numeric in the data."""
    with pytest.raises(JobError, match=r"'age' is numeric in the data .*no bins") as info:
        assess_training_set(_ages(), _dataset({"type": "string"}), load_fairness_policy(DEMO), DEMO)
    assert info.value.result.status is Status.error
