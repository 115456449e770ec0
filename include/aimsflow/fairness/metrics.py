"""Group metrics of a dataset (and optionally a model's predictions) per sensitive feature and per
intersection of features, with fairlearn ``MetricFrame`` semantics at the cost of one groupby each.

Semantics kept from fairlearn: ``overall`` is the metric on all rows; ``by_group`` the metric on
each group's rows; ``difference`` is max - min and ``ratio`` min / max between groups
(``method="between_groups"``); demographic parity is the selection rate's difference/ratio (over the
label for the data-only metrics, i.e. ``y_pred = label``); equalized odds difference is the larger of
the true- and false-positive-rate differences (``agg="worst_case"``).

Deliberate departures, because a record must never turn "we cannot tell" into a number:

* a missing value in a sensitive column is a group of its own, ``"missing"`` (MetricFrame rejects
  NaN; an intersection that never occurs is not a group, where MetricFrame lists it as NaN);
* a figure with no denominator (TPR of a group with no positives, FPR of a group with no negatives)
  is undefined, where fairlearn reports 0 and lets that 0 into the difference;
* a group below the minimum group size is "insufficient data" for every rate; its value is still
  computed and kept in :class:`Value` (tests compare it with fairlearn), but it takes no part in
  difference and ratio, and the evidence output suppresses it;
* difference and ratio are over the defined groups only, undefined with fewer than two, and the
  ratio is undefined when the largest value is 0 (fairlearn: NaN).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aimsflow import settings

MISSING_GROUP = "missing"
SEPARATOR = "|"
INSUFFICIENT = "insufficient data"

SHARE = "share"
REPRESENTATION_GAP = "representation_gap"
BASE_RATE = "base_rate"
SELECTION_RATE = "selection_rate"
TPR = "true_positive_rate"
FPR = "false_positive_rate"
ACCURACY = "accuracy"
MISSING_RATE = "missing_rate:"  # + column name


@dataclass(frozen=True)
class Value:
    """One figure. ``value`` is what was computed (None if it cannot be: no denominator);
    ``undefined`` says why it must not be used (None: the figure is defined)."""

    value: float | None
    undefined: str | None = None

    @property
    def defined(self) -> bool:
        return self.undefined is None

    def as_json(self) -> float | dict[str, str]:
        return (
            self.value
            if self.undefined is None and self.value is not None
            else {"undefined": self.undefined or ""}
        )


@dataclass(frozen=True)
class MetricResult:
    """One metric over one grouping, shaped like a MetricFrame. ``difference``/``ratio`` are None
    where they are not computed (shares, representation gaps)."""

    name: str
    overall: Value | None
    by_group: dict[str, Value]
    difference: Value | None = None
    ratio: Value | None = None

    def defined_groups(self) -> dict[str, float]:
        return {g: v.value for g, v in self.by_group.items() if v.defined and v.value is not None}


@dataclass(frozen=True)
class GroupingResult:
    """All metrics of one grouping: a feature (``"sex"``) or an intersection (``"sex|ethnicity"``,
    groups like ``"female|black"``). ``counts`` holds the observed groups only."""

    name: str
    features: tuple[str, ...]
    counts: dict[str, int]
    metrics: dict[str, MetricResult]
    equalized_odds_difference: Value | None = None  # with predictions only

    def small_groups(self, min_size: int) -> set[str]:
        """Groups with 0 < size < ``min_size`` (a reference group absent from the data is not small)."""
        return {g for g, n in self.counts.items() if 0 < n < min_size}


@dataclass(frozen=True)
class FairnessReport:
    rows: int
    label: str
    predictions: str | None
    sensitive_features: tuple[str, ...]
    columns: tuple[str, ...]  # the features whose missing-value rates are reported
    depth: int
    min_group_size: int
    groupings: dict[str, GroupingResult]


def grouping_name(features: Sequence[str]) -> str:
    return SEPARATOR.join(features)


def _binary(df: pd.DataFrame, column: str, role: str) -> np.ndarray:
    values = df[column]
    if values.isna().any():
        raise ValueError(f"{role} column {column!r} has {int(values.isna().sum())} missing value(s)")
    if values.dtype == bool or str(values.dtype) == "boolean":
        return values.to_numpy(dtype=np.uint8)
    if pd.api.types.is_integer_dtype(values.dtype):  # the common case, without a float round trip
        ints = values.to_numpy()
        bad = (ints != 0) & (ints != 1)
        if bad.any():
            raise ValueError(
                f"{role} column {column!r} must be 0/1, found {sorted(set(ints[bad].tolist()))[:5]}"
            )
        return ints.astype(np.uint8)
    try:
        numeric = pd.to_numeric(values).to_numpy(dtype="float64")
    except (TypeError, ValueError):
        raise ValueError(f"{role} column {column!r} must be 0/1, has dtype {values.dtype}") from None
    bad = ~np.isin(numeric, (0.0, 1.0))
    if bad.any():
        raise ValueError(
            f"{role} column {column!r} must be 0/1, found {sorted(set(numeric[bad].tolist()))[:5]}"
        )
    return numeric.astype(np.uint8)


def _encode(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes 0..k-1 into sorted string labels; NaN/None/NA becomes the group ``"missing"``."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    labels = [str(u) for u in uniques]
    if (codes < 0).any():
        labels.append(MISSING_GROUP)
        codes = np.where(codes < 0, len(labels) - 1, codes)
    # Sort, and merge labels that only differ in type (1 and "1"): a group is its printed label.
    names, inverse = np.unique(np.array(labels, dtype=object), return_inverse=True)
    return inverse[codes].astype(np.int64), [str(n) for n in names]


def _rate(num: np.ndarray, den: np.ndarray, size: np.ndarray, min_size: int, no_den: str) -> list[Value]:
    out = []
    for a, b, n in zip(num.tolist(), den.tolist(), size.tolist(), strict=True):
        if b == 0:
            out.append(Value(None, f"{INSUFFICIENT}: {no_den}"))
        elif n < min_size:
            out.append(Value(a / b, f"{INSUFFICIENT}: group size {n} < {min_size}"))
        else:
            out.append(Value(a / b))
    return out


def between_groups(values: Mapping[str, Value]) -> tuple[Value, Value]:
    """(difference, ratio) = (max - min, min / max) over the defined groups."""
    defined = [v.value for v in values.values() if v.defined and v.value is not None]
    if len(defined) < 2:
        reason = f"{INSUFFICIENT}: {len(defined)} group(s) with a defined value, 2 needed"
        return Value(None, reason), Value(None, reason)
    hi, lo = max(defined), min(defined)
    ratio = Value(lo / hi) if hi > 0 else Value(None, f"{INSUFFICIENT}: largest group value is 0")
    return Value(hi - lo), ratio


def _metric(
    name: str,
    groups: list[str],
    num: np.ndarray,
    den: np.ndarray,
    size: np.ndarray,
    min_size: int,
    no_den: str,
) -> MetricResult:
    by_group = dict(zip(groups, _rate(num, den, size, min_size, no_den), strict=True))
    overall = _rate(np.array([num.sum()]), np.array([den.sum()]), np.array([size.sum()]), min_size, no_den)[0]
    difference, ratio = between_groups(by_group)
    return MetricResult(name, overall, by_group, difference, ratio)


def _representation(groups: list[str], shares: np.ndarray, reference: Mapping[str, float]) -> MetricResult:
    by_group: dict[str, Value] = {}
    observed = dict(zip(groups, shares.tolist(), strict=True))
    for group in sorted(set(groups) | set(reference)):
        if group not in reference:
            by_group[group] = Value(None, f"{INSUFFICIENT}: no reference share")
        else:
            by_group[group] = Value(observed.get(group, 0.0) - reference[group])
    return MetricResult(REPRESENTATION_GAP, None, by_group)


def _grouping_codes(
    encoded: Mapping[str, tuple[np.ndarray, list[str]]], features: tuple[str, ...]
) -> tuple[np.ndarray, tuple[int, ...]]:
    shape = tuple(len(encoded[f][1]) for f in features)
    code = np.zeros(len(encoded[features[0]][0]), dtype=np.int64)
    for feature, k in zip(features, shape, strict=True):
        code = code * k + encoded[feature][0]
    return code, shape


def _group_sums(stat_frame: pd.DataFrame, code: np.ndarray, size: int) -> pd.DataFrame:
    """Per-group sums of every 0/1 statistic, for the groups that occur (sorted by code): a
    ``groupby(code).sum()`` done with ``np.bincount``, several times faster on millions of rows."""
    counts = np.bincount(code, minlength=size)
    present = np.flatnonzero(counts)
    columns = {
        name: (
            counts if name == "n" else np.bincount(code, weights=stat_frame[name].to_numpy(), minlength=size)
        )[present].astype(np.int64)
        for name in stat_frame.columns
    }
    return pd.DataFrame(columns, index=present)


def compute_group_metrics(
    df: pd.DataFrame,
    sensitive_features: Sequence[str],
    label: str,
    *,
    predictions: str | None = None,
    depth: int = 1,
    min_group_size: int | None = None,
    reference_shares: Mapping[str, Mapping[str, float]] | None = None,
    columns: Sequence[str] | None = None,
) -> FairnessReport:
    """Metrics of every sensitive feature and every intersection of up to ``depth`` features.

    ``label`` (and ``predictions``) must be 0/1 without missing values. ``reference_shares`` maps a
    grouping name (``"sex"``, ``"sex|ethnicity"``) to the reference population share of each group.
    ``columns``: the features whose missing-value rates are reported (default: every column that is
    not sensitive, the label or the predictions). ``min_group_size`` defaults to
    :func:`aimsflow.settings.min_group_size`.
    """
    min_size = settings.min_group_size() if min_group_size is None else int(min_group_size)
    sensitive = tuple(sensitive_features)
    if not sensitive:
        raise ValueError("at least one sensitive feature is needed")
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    skip = {*sensitive, label, predictions}
    cols = tuple(c for c in df.columns if c not in skip) if columns is None else tuple(columns)
    wanted = (*sensitive, label, *([predictions] if predictions else []), *cols)
    absent = [c for c in wanted if c not in df.columns]
    if absent:
        raise ValueError(f"columns not in the data: {absent}")
    if len(df) == 0:
        raise ValueError("no rows")
    reference = dict(reference_shares or {})

    y = _binary(df, label, "label")
    stats = {"n": np.ones(len(df), dtype=np.uint8), "y": y}
    if predictions:
        p = _binary(df, predictions, "predictions")
        stats |= {"p": p, "yp": y & p}
    stat_frame = pd.DataFrame(stats)
    if cols:
        missing = df[list(cols)].isna().to_numpy(dtype=np.uint8)
        stat_frame = pd.concat(
            [stat_frame, pd.DataFrame(missing, columns=[MISSING_RATE + c for c in cols])], axis=1
        )
    encoded = {f: _encode(df[f]) for f in sensitive}

    groupings: dict[str, GroupingResult] = {}
    for k in range(1, min(depth, len(sensitive)) + 1):
        for features in itertools.combinations(sensitive, k):
            code, shape = _grouping_codes(encoded, features)
            sums = _group_sums(stat_frame, code, int(np.prod(shape)))  # the one pass over the rows
            index = sums.index.to_numpy()
            parts = np.unravel_index(index, shape)
            groups = [
                SEPARATOR.join(encoded[f][1][i] for f, i in zip(features, idx, strict=True))
                for idx in zip(*(part.tolist() for part in parts), strict=True)
            ]
            groupings[grouping_name(features)] = _grouping_result(
                features, groups, sums, min_size, reference.get(grouping_name(features)), predictions, cols
            )
    return FairnessReport(
        rows=len(df),
        label=label,
        predictions=predictions,
        sensitive_features=sensitive,
        columns=cols,
        depth=depth,
        min_group_size=min_size,
        groupings=groupings,
    )


def _grouping_result(
    features: tuple[str, ...],
    groups: list[str],
    sums: pd.DataFrame,
    min_size: int,
    reference: Mapping[str, float] | None,
    predictions: str | None,
    cols: tuple[str, ...],
) -> GroupingResult:
    col = {c: sums[c].to_numpy(dtype=np.int64) for c in sums.columns}
    n = col["n"]
    total = int(n.sum())
    metrics: dict[str, MetricResult] = {}
    shares = n / total
    metrics[SHARE] = MetricResult(
        SHARE, Value(1.0), {g: Value(s) for g, s in zip(groups, shares.tolist(), strict=True)}
    )
    if reference is not None:
        metrics[REPRESENTATION_GAP] = _representation(groups, shares, reference)
    metrics[BASE_RATE] = _metric(BASE_RATE, groups, col["y"], n, n, min_size, "empty group")
    eod = None
    if predictions:
        y, p, tp = col["y"], col["p"], col["yp"]
        fp, tn = p - tp, n - y - p + tp
        metrics[SELECTION_RATE] = _metric(SELECTION_RATE, groups, p, n, n, min_size, "empty group")
        metrics[TPR] = _metric(TPR, groups, tp, y, n, min_size, "no positive labels")
        metrics[FPR] = _metric(FPR, groups, fp, n - y, n, min_size, "no negative labels")
        metrics[ACCURACY] = _metric(ACCURACY, groups, tp + tn, n, n, min_size, "empty group")
        eod = equalized_odds(metrics[TPR].difference, metrics[FPR].difference)
    for c in cols:
        name = MISSING_RATE + c
        metrics[name] = _metric(name, groups, col[name], n, n, min_size, "empty group")
    counts = dict(zip(groups, n.tolist(), strict=True))
    return GroupingResult(grouping_name(features), features, counts, metrics, eod)


def equalized_odds(tpr_difference: Value | None, fpr_difference: Value | None) -> Value:
    """max(TPR difference, FPR difference). With one of them undefined the other is kept as the
    value (a lower bound of the true figure) and the figure is marked undefined, with the reason."""
    parts = {"TPR": tpr_difference, "FPR": fpr_difference}
    known = {k: v.value for k, v in parts.items() if v is not None and v.defined and v.value is not None}
    if len(known) == 2:
        return Value(max(known.values()))
    missing = [k for k in parts if k not in known]
    reason = f"{INSUFFICIENT}: {' and '.join(missing)} difference undefined"
    return Value(max(known.values()) if known else None, reason)
