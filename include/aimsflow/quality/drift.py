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


# How a feature's PSI was computed (recorded per feature in drift.json and shown in validation.html).
NUMERIC_BINS = "numeric_bins"  # bins on the reference's quantiles
CATEGORICAL_FALLBACK = "categorical_fallback"  # numeric, but constant or binary in the reference
CATEGORICAL = "categorical"


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str  # "numeric" or "categorical"
    psi: float | None
    ks: float | None
    verdict: str  # "passed", "warning", "failed"
    method: str  # NUMERIC_BINS, CATEGORICAL_FALLBACK or CATEGORICAL
    bins: int | None = None  # quantile bins actually used (NUMERIC_BINS only; ties merge bins)


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


def _quantile_edges(ref: np.ndarray, bins: int) -> np.ndarray:
    return np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))


def needs_fallback(reference: pd.Series, bins: int) -> bool:
    """Quantile bins cannot describe a reference with two or fewer distinct quantile values (a
    constant or binary column): its edges collapse into one bin from -inf to +inf and PSI is 0 for
    any shift. A reference of at most two distinct values counts too, even when interpolation puts
    a third quantile between them, so a binary column is always compared the same way."""
    ref = reference.dropna().to_numpy(float)
    return len(_quantile_edges(ref, bins)) <= 2 or len(np.unique(ref)) <= 2


def categorical_fallback_psi(reference: pd.Series, current: pd.Series) -> float:
    """PSI of a numeric feature over categories: the reference's minimum and maximum as values of
    their own (for a constant or binary column, every value it takes), and the gaps below, between
    and above them, so a value the reference never took still counts (7 -> 9 lands in "above").
    Values compare as numbers: 1 and 1.0 are one category. Missing values are left out, as in
    :func:`numeric_psi`."""
    ref, cur = reference.dropna().to_numpy(float), current.dropna().to_numpy(float)
    points = np.unique([ref.min(), ref.max()])

    def shares(values: np.ndarray) -> np.ndarray:
        # category 2i+1: equal to points[i]; 2i: strictly between points[i-1] and points[i]
        index = np.searchsorted(points, values)
        exact = (index < len(points)) & (points[np.minimum(index, len(points) - 1)] == values)
        codes = 2 * index + exact
        counts = np.bincount(codes, minlength=2 * len(points) + 1).astype(float)
        return counts / max(counts.sum(), 1)

    return psi(shares(ref), shares(cur))


def numeric_psi(reference: pd.Series, current: pd.Series, bins: int) -> float:
    """PSI over bins cut at the reference's quantiles (see :func:`needs_fallback` for when they
    cannot be used)."""
    return _numeric_psi(reference, current, bins)[0]


def _numeric_psi(reference: pd.Series, current: pd.Series, bins: int) -> tuple[float, int]:
    ref, cur = reference.dropna().to_numpy(float), current.dropna().to_numpy(float)
    edges = _quantile_edges(ref, bins)
    edges[0], edges[-1] = -np.inf, np.inf
    e, _ = np.histogram(ref, edges)
    a, _ = np.histogram(cur, edges)
    return psi(e / max(e.sum(), 1), a / max(a.sum(), 1)), len(edges) - 1


def ks_statistic(reference: pd.Series, current: pd.Series) -> float:
    from scipy.stats import ks_2samp

    # Only the statistic D is used, and it does not depend on ``method``; the asymptotic method skips
    # the exact p-value, which warns on tied (discrete) data.
    ref, cur = reference.dropna().to_numpy(float), current.dropna().to_numpy(float)
    return float(ks_2samp(ref, cur, method="asymp").statistic)


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
            if needs_fallback(ref, policy.psi.bins):
                p, method, bins = categorical_fallback_psi(ref, cur), CATEGORICAL_FALLBACK, None
            else:
                (p, bins), method = _numeric_psi(ref, cur, policy.psi.bins), NUMERIC_BINS
            k = ks_statistic(ref, cur)
            verdict = max(_verdict(p, policy.psi), _verdict(k, policy.ks), key=_RANK.index)
            out.append(FeatureDrift(column, "numeric", round(p, 6), round(k, 6), verdict, method, bins))
        else:
            p = categorical_psi(ref, cur)
            verdict = _verdict(p, policy.psi)
            out.append(FeatureDrift(column, "categorical", round(p, 6), None, verdict, CATEGORICAL))
    return out


_RANK = ["passed", "warning", "failed"]


def not_compared(
    current: pd.DataFrame, reference: pd.DataFrame, numeric: set[str], policy: DriftPolicy
) -> dict[str, str]:
    """Columns :func:`compare` leaves out, each with the reason, so a record never hides that a
    feature went unwatched."""
    out = {c: "excluded by the drift policy" for c in policy.exclude if c in current or c in reference}
    for column in sorted(set(current.columns) ^ set(reference.columns)):
        if column not in out:
            out[column] = "not in the reference" if column in current else "not in the current data"
    shared = set(current.columns) & set(reference.columns)
    for column in sorted((shared & numeric) - set(policy.exclude)):
        rows = min(current[column].notna().sum(), reference[column].notna().sum())
        if rows < policy.min_rows:
            out[column] = f"{rows} non-missing values, fewer than min_rows {policy.min_rows}"
    return dict(sorted(out.items()))


def drift_summary(
    features: list[FeatureDrift],
    reference: str,
    policy: DriftPolicy | None = None,
    skipped: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The drift part of a record. With ``policy``, the thresholds it was judged against are stated
    in the record itself, so a reader needs no other file to see why a feature passed or failed."""
    worst = max((f.verdict for f in features), key=_RANK.index, default="passed")
    out: dict[str, Any] = {
        "reference": reference,
        "verdict": worst,
        "drifted": [f.feature for f in features if f.verdict != "passed"],
        "features": [asdict(f) for f in features],
    }
    if policy is not None:
        out["thresholds"] = {
            "psi": {"warning": policy.psi.warning, "critical": policy.psi.critical, "bins": policy.psi.bins},
            "ks": {"warning": policy.ks.warning, "critical": policy.ks.critical},
            "min_rows": policy.min_rows,
        }
    if skipped is not None:
        out["not_compared"] = skipped
    return out
