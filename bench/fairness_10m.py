"""fairness_10m: the bias assessment's group metrics at groupby speed.

10,000,000 rows, three sensitive features (20 + 15 + 5 = 40 groups, string columns as pandas 3 reads
them) and a 0/1 label. Measure: ``compute_group_metrics`` (data-only metrics per feature: counts,
shares, label base rate with MetricFrame's overall / by_group / difference / ratio). Baseline, in the
same run: a plain pandas groupby of the same per-group counts and positives. Goal: ratio <= 2.
Correctness is the tests' job (every value equals fairlearn's MetricFrame to 1e-9); here the base
rates are cross-checked against the baseline's so a fast wrong answer cannot pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from _util import log, stats

NAME = "fairness_10m"
GOAL_RATIO = 2.0
ROWS = 10_000_000
FEATURES = {"region": 20, "product": 15, "age_band": 5}


def make_data(rows: int = ROWS, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for name, groups in FEATURES.items():
        codes = rng.integers(0, groups, rows)
        columns[name] = pd.Series(
            pd.Categorical.from_codes(codes, [f"{name}_{i}" for i in range(groups)])
        ).astype("str")
    columns["label"] = (rng.random(rows) < 0.35 + 0.01 * codes).astype(np.int64)
    return pd.DataFrame(columns)


def _baseline(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {f: df.groupby(f, observed=True)["label"].agg(["size", "sum"]) for f in FEATURES}


def _ours(df: pd.DataFrame):
    from aimsflow.fairness.metrics import compute_group_metrics

    return compute_group_metrics(df, list(FEATURES), "label", depth=1, min_group_size=30, columns=[])


def _cross_check(report, baseline: dict[str, pd.DataFrame]) -> list[str]:
    from aimsflow.fairness.metrics import BASE_RATE

    problems = []
    for feature, counts in baseline.items():
        by_group = report.groupings[feature].metrics[BASE_RATE].by_group
        for group, row in counts.iterrows():
            expected = row["sum"] / row["size"]
            got = by_group[str(group)].value
            if got is None or abs(got - expected) > 1e-9:
                problems.append(f"{feature}={group}: base rate {got} != {expected}")
    return problems


def run(reps: int, **_: Any) -> dict[str, Any]:
    import time

    log(f"{NAME}: generating {ROWS:,} rows")
    df = make_data()
    _baseline(df), _ours(df)  # warm-up: imports, allocator
    ours_s, base_s, problems = [], [], []
    for rep in range(reps):
        for which in ("base", "ours") if rep % 2 == 0 else ("ours", "base"):
            start = time.perf_counter()
            if which == "base":
                baseline = _baseline(df)
                base_s.append(time.perf_counter() - start)
            else:
                report = _ours(df)
                ours_s.append(time.perf_counter() - start)
        problems += _cross_check(report, baseline)
        log(f"{NAME}: rep {rep + 1}/{reps}: ours {ours_s[-1]:.2f} s, groupby {base_s[-1]:.2f} s")
    ours, base = stats(ours_s), stats(base_s)
    ratio = ours["median"] / base["median"]
    return {
        "ok": not problems,
        "measure": {"label": "compute_group_metrics (3 features, data-only)", **ours},
        "baseline": {"label": "pandas groupby size+sum per feature", **base},
        "ratio": round(ratio, 3),
        "goal": f"ratio <= {GOAL_RATIO}",
        "goal_met": ratio <= GOAL_RATIO,
        "details": {"rows": ROWS, "groups": sum(FEATURES.values()), "problems": problems[:10]},
    }
