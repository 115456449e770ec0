"""Synthetic frames for the fairness tests (seeded; no demo data needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: The demo AI system's fairness policy, as shipped.
DEMO_POLICY = (
    Path(__file__).resolve().parents[2]
    / "include"
    / "config"
    / "policies"
    / "fairness"
    / "loan_approval.yaml"
)


def make_frame(
    n: int = 2_000,
    seed: int = 0,
    *,
    n_ethnicities: int = 5,
    nan_share: float = 0.0,
    bias: float = 0.2,
) -> pd.DataFrame:
    """Applicants with sex, ethnicity and age band, a label skewed by sex (``bias``), predictions that
    flip ~15% of labels, and two feature columns with missing values (one more often for women)."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["female", "male", "non-binary"], dtype=object), n, p=[0.48, 0.48, 0.04])
    ethnicity = rng.choice(np.array([f"e{i:02d}" for i in range(n_ethnicities)], dtype=object), n)
    age_band = rng.choice(np.array(["18-34", "35-54", "55+"], dtype=object), n)
    if nan_share:
        ethnicity[rng.random(n) < nan_share] = np.nan
    label = (rng.random(n) < 0.35 + bias * (sex == "male")).astype(int)
    predictions = label ^ (rng.random(n) < 0.15).astype(int)
    income = rng.normal(50_000, 10_000, n)
    income[rng.random(n) < 0.05 + 0.1 * (sex == "female")] = np.nan
    score = rng.normal(600, 50, n)
    score[rng.random(n) < 0.02] = np.nan
    return pd.DataFrame(
        {
            "sex": sex,
            "ethnicity": ethnicity,
            "age_band": age_band,
            "annual_income": income,
            "credit_score": score,
            "label": label,
            "pred": predictions,
        }
    )


def edge_frame() -> pd.DataFrame:
    """Groups built to hit every edge: ``a`` ordinary (60 rows), ``b`` no positive labels (25),
    ``c`` one member with a positive label (no negatives), NaN (12 rows, -> "missing"), ``d`` all
    positive (40). A second feature ``region`` gives intersections, some of them unobserved."""
    rows = []
    rows += [("a", "x" if i % 3 else "y", i % 2, (i // 2) % 2) for i in range(60)]
    rows += [("b", "x", 0, int(i % 4 == 0)) for i in range(25)]
    rows += [("c", "y", 1, 1)]
    rows += [(None, "x" if i % 2 else "y", int(i % 3 == 0), int(i % 5 == 0)) for i in range(12)]
    rows += [("d", "y", 1, int(i % 3 != 0)) for i in range(40)]
    df = pd.DataFrame(rows, columns=["grp", "region", "label", "pred"])
    df["feature"] = [np.nan if i % 7 == 0 else float(i) for i in range(len(df))]
    return df
