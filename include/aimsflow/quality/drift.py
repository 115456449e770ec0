"""Drift of one operational partition against its training set, per feature (A.6.2.6)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from aimsflow.configfile import load_model


class _Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    warning: float = Field(gt=0)
    critical: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> _Thresholds:
        if self.critical < self.warning:
            raise ValueError(f"critical {self.critical} must be >= warning {self.warning}")
        return self


class _PSI(_Thresholds):
    bins: int = Field(default=10, ge=2, le=100)


class DriftPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    psi: _PSI
    ks: _Thresholds
    exclude: list[str] = []
    min_rows: int = Field(default=50, ge=1)


def load_drift_policy(path: Path) -> DriftPolicy:
    return load_model(path, DriftPolicy, "psi and ks thresholds")


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str  # "numeric" or "categorical"
    psi: float | None
    ks: float | None
    verdict: str  # "passed", "warning", "failed"


_EPS = 1e-4  # floor for empty bins, so PSI stays finite


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins."""
    e = np.clip(expected, _EPS, None)
    a = np.clip(actual, _EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _shares(counts: pd.Series, index: pd.Index) -> np.ndarray:
    counts = counts.reindex(index, fill_value=0).astype(float)
    total = counts.sum()
    return (counts / total).to_numpy() if total else np.zeros(len(index))


def categorical_psi(reference: pd.Series, current: pd.Series) -> float:
    ref, cur = reference.astype("string").fillna("<null>"), current.astype("string").fillna("<null>")
    categories = pd.Index(sorted(set(ref.unique()) | set(cur.unique())))
    return psi(_shares(ref.value_counts(), categories), _shares(cur.value_counts(), categories))


def numeric_psi(reference: pd.Series, current: pd.Series, bins: int) -> float:
    ref, cur = reference.dropna().to_numpy(float), current.dropna().to_numpy(float)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    e, _ = np.histogram(ref, edges)
    a, _ = np.histogram(cur, edges)
    return psi(e / max(e.sum(), 1), a / max(a.sum(), 1))


def ks_statistic(reference: pd.Series, current: pd.Series) -> float:
    from scipy.stats import ks_2samp

    return float(ks_2samp(reference.dropna().to_numpy(float), current.dropna().to_numpy(float)).statistic)


def _verdict(value: float | None, t: _Thresholds) -> str:
    if value is None:
        return "passed"
    return "failed" if value >= t.critical else "warning" if value >= t.warning else "passed"


def compare(
    current: pd.DataFrame, reference: pd.DataFrame, numeric: set[str], policy: DriftPolicy
) -> list[FeatureDrift]:
    """Compare every shared, non-excluded column; numeric ones get PSI (binned) and KS."""
    out = []
    for column in sorted((set(current.columns) & set(reference.columns)) - set(policy.exclude)):
        cur, ref = current[column], reference[column]
        if column in numeric:
            if cur.notna().sum() < policy.min_rows or ref.notna().sum() < policy.min_rows:
                continue
            p, k = numeric_psi(ref, cur, policy.psi.bins), ks_statistic(ref, cur)
            verdict = max(_verdict(p, policy.psi), _verdict(k, policy.ks), key=_RANK.index)
            out.append(FeatureDrift(column, "numeric", round(p, 6), round(k, 6), verdict))
        else:
            p = categorical_psi(ref, cur)
            out.append(FeatureDrift(column, "categorical", round(p, 6), None, _verdict(p, policy.psi)))
    return out


_RANK = ["passed", "warning", "failed"]


def drift_summary(features: list[FeatureDrift], reference: str) -> dict[str, Any]:
    worst = max((f.verdict for f in features), key=_RANK.index, default="passed")
    return {
        "reference": reference,
        "verdict": worst,
        "drifted": [f.feature for f in features if f.verdict != "passed"],
        "features": [asdict(f) for f in features],
    }
