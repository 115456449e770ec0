"""bench_fairness: ``compute_group_metrics`` vs. fairlearn's ``MetricFrame`` on the same metrics.

1,000,000 rows, a sensitive feature with 40 groups and a second one with 3, intersections to
depth 2 (40 + 3 + 120 groups); label, predictions and two feature columns with missing values.
Both sides compute, per grouping, overall / by_group / difference / ratio of: base rate (selection
rate with y_pred = label), selection rate, TPR, FPR, accuracy and the two missing-value rates, plus
group counts. The figures are cross-checked before timing.

``python bench/bench_fairness.py [--rows N] [--reps N]`` prints a JSON document; :func:`main` returns
it as a dict. The ratio (fairlearn median / ours median) is the figure to compare across runs; the
machine is shared and noisy. If one fairlearn run takes longer than ``--slow`` seconds it is run once
(``fairlearn.reps`` says so).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from aimsflow.fairness.metrics import (  # noqa: E402
    ACCURACY,
    BASE_RATE,
    FPR,
    MISSING_RATE,
    SELECTION_RATE,
    SEPARATOR,
    TPR,
    FairnessReport,
    compute_group_metrics,
)

NAME = "fairness_1m"
FEATURES = ["region", "sex"]
COLUMNS = ["income", "score"]


def make_data(rows: int, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.integers(0, 40, rows)
    sex = rng.choice(3, rows, p=[0.49, 0.49, 0.02])
    label = (rng.random(rows) < 0.3 + 0.005 * region).astype(np.int64)
    pred = label ^ (rng.random(rows) < 0.15)
    income = rng.normal(50_000, 12_000, rows)
    income[rng.random(rows) < 0.05] = np.nan
    score = rng.normal(600, 60, rows)
    score[rng.random(rows) < 0.02] = np.nan
    return pd.DataFrame(
        {
            "region": np.array([f"r{i:02d}" for i in range(40)], dtype=object)[region],
            "sex": np.array(["female", "male", "non-binary"], dtype=object)[sex],
            "label": label,
            "pred": pred.astype(np.int64),
            "income": income,
            "score": score,
        }
    )


def ours(df: pd.DataFrame) -> FairnessReport:
    return compute_group_metrics(
        df, FEATURES, "label", predictions="pred", depth=2, min_group_size=1, columns=COLUMNS
    )


def _mean_of(y_true, y_pred, values) -> float:
    return float(np.mean(values))


def fairlearn_frames(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The same figures the plain fairlearn way: one MetricFrame per grouping over every metric."""
    import sklearn.metrics as skm
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    y, p = df["label"].to_numpy(), df["pred"].to_numpy()
    fns: dict[str, Callable[..., float]] = {
        "count": count,
        BASE_RATE: _mean_of,
        SELECTION_RATE: selection_rate,
        TPR: true_positive_rate,
        FPR: false_positive_rate,
        ACCURACY: skm.accuracy_score,
    }
    params: dict[str, dict[str, Any]] = {BASE_RATE: {"values": y}}
    for c in COLUMNS:
        fns[MISSING_RATE + c] = _mean_of
        params[MISSING_RATE + c] = {"values": df[c].isna().to_numpy()}
    groupings = [["region"], ["sex"], ["region", "sex"]]
    out = {}
    for features in groupings:
        mf = MetricFrame(
            metrics=fns, y_true=y, y_pred=p, sensitive_features=df[features], sample_params=params
        )
        out[SEPARATOR.join(features)] = {
            "overall": mf.overall,
            "by_group": mf.by_group,
            "difference": mf.difference(),
            "ratio": mf.ratio(),
        }
    return out


def cross_check(report: FairnessReport, frames: dict[str, dict[str, Any]]) -> float:
    """Largest absolute difference between the two sides over every by_group, difference and ratio."""
    worst = 0.0
    for name, frame in frames.items():
        grouping = report.groupings[name]
        by_group = frame["by_group"].dropna(how="all")
        for metric in [BASE_RATE, SELECTION_RATE, TPR, FPR, ACCURACY, *(MISSING_RATE + c for c in COLUMNS)]:
            ours_metric = grouping.metrics[metric]
            for key, value in by_group[metric].items():
                label = SEPARATOR.join(key) if isinstance(key, tuple) else str(key)
                worst = max(worst, abs(ours_metric.by_group[label].value - value))
            worst = max(worst, abs(ours_metric.difference.value - frame["difference"][metric]))
            worst = max(worst, abs(ours_metric.ratio.value - frame["ratio"][metric]))
        counts = {
            (SEPARATOR.join(k) if isinstance(k, tuple) else str(k)): int(v)
            for k, v in by_group["count"].items()
        }
        if counts != grouping.counts:
            raise AssertionError(f"{name}: counts differ")
    return worst


def _time(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _stats(samples: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(samples), 4),
        "min": round(min(samples), 4),
        "max": round(max(samples), 4),
        "reps": len(samples),
        "samples": [round(s, 4) for s in samples],
    }


def _log(message: str) -> None:
    print(f"[bench_fairness {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--slow", type=float, default=120.0, help="run fairlearn once if one run exceeds this"
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")

    _log(f"building {args.rows:,} rows")
    df = make_data(args.rows)
    ours_samples: list[float] = []
    fl_samples: list[float] = []
    report = frames = None
    for rep in range(args.reps):
        seconds, report = _time(lambda: ours(df))
        ours_samples.append(seconds)
        _log(f"rep {rep + 1}: ours {seconds:.3f}s")
        if rep == 0 or fl_samples[0] <= args.slow:
            seconds, frames = _time(lambda: fairlearn_frames(df))
            fl_samples.append(seconds)
            _log(f"rep {rep + 1}: fairlearn MetricFrame {seconds:.3f}s")
    assert report is not None and frames is not None
    max_abs_diff = cross_check(report, frames)
    groups = {name: len(g.counts) for name, g in report.groupings.items()}
    result = {
        "name": NAME,
        "rows": args.rows,
        "groups": groups,
        "metrics_per_grouping": 8,
        "ours": _stats(ours_samples),
        "fairlearn": _stats(fl_samples)
        | ({"note": f"run once: first run exceeded {args.slow:g}s"} if len(fl_samples) < args.reps else {}),
        "ratio": round(statistics.median(fl_samples) / statistics.median(ours_samples), 1),
        "ratio_means": "fairlearn median seconds / ours median seconds (higher is better for ours)",
        "max_abs_difference": max_abs_diff,
        "host": {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine()},
    }
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
