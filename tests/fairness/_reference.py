"""fairlearn, the plain way, as the reference for :mod:`aimsflow.fairness.metrics`.

Every figure is recomputed with ``MetricFrame`` (and fairlearn's ``demographic_parity_*`` /
``equalized_odds_difference``) on the raw rows. Where aimsflow deliberately departs from fairlearn
the comparison states it: a figure with no denominator is undefined for us and 0 for fairlearn;
difference and ratio are fairlearn's on the rows of the groups where the figure is defined.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import sklearn.metrics as skm
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from aimsflow.fairness.metrics import (
    ACCURACY,
    BASE_RATE,
    FPR,
    MISSING_GROUP,
    MISSING_RATE,
    SELECTION_RATE,
    SEPARATOR,
    TPR,
    FairnessReport,
    MetricResult,
)

TOL = 1e-9


def sensitive_frame(df: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """The sensitive columns as fairlearn gets them: NaN mapped to "missing", values as strings."""
    return pd.DataFrame(
        {f: [MISSING_GROUP if pd.isna(v) else str(v) for v in df[f]] for f in features},
        index=df.index,
        dtype=object,
    )


def group_labels(sf: pd.DataFrame) -> pd.Series:
    labels = sf.iloc[:, 0]
    for column in sf.columns[1:]:
        labels = labels + SEPARATOR + sf[column]
    return labels


def _label(index_value: object) -> str:
    return SEPARATOR.join(map(str, index_value)) if isinstance(index_value, tuple) else str(index_value)


def _mean_of(y_true, y_pred, values) -> float:
    return float(np.mean(values))


def metric_frames(
    df: pd.DataFrame,
    features: Sequence[str],
    label: str,
    predictions: str | None,
    columns: Sequence[str],
    *,
    base: bool = True,
) -> dict[str, object]:
    """A MetricFrame (or (MetricFrame, column)) per our metric name. The base rate is fairlearn's
    selection rate with y_pred = label, as its demographic parity is for a dataset; a missing rate
    is the mean of the column's NaN indicator."""
    sf = sensitive_frame(df, features)
    y = df[label].astype(int).to_numpy()
    frames: dict[str, object] = {}
    if base:
        frames[BASE_RATE] = MetricFrame(metrics=selection_rate, y_true=y, y_pred=y, sensitive_features=sf)
    if predictions:
        p = df[predictions].astype(int).to_numpy()
        fns = {
            SELECTION_RATE: selection_rate,
            TPR: true_positive_rate,
            FPR: false_positive_rate,
            ACCURACY: skm.accuracy_score,
        }
        mf = MetricFrame(metrics=fns, y_true=y, y_pred=p, sensitive_features=sf)
        frames |= {name: (mf, name) for name in fns}
    if columns:
        fns = {MISSING_RATE + c: _mean_of for c in columns}
        params = {MISSING_RATE + c: {"values": df[c].isna().to_numpy()} for c in columns}
        mf = MetricFrame(metrics=fns, y_true=y, y_pred=y, sensitive_features=sf, sample_params=params)
        frames |= {name: (mf, name) for name in fns}
    return frames


def _series(frame: object, attr: str):
    if isinstance(frame, tuple):
        mf, name = frame
        value = getattr(mf, attr)
        return value[name]
    return getattr(frame, attr)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0, abs_tol=TOL)


def _restricted(
    df: pd.DataFrame, features: Sequence[str], groups: set[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    sf = sensitive_frame(df, features)
    keep = group_labels(sf).isin(groups).to_numpy()
    return df[keep], sf[keep]


def _between_groups(
    df: pd.DataFrame,
    features: Sequence[str],
    label: str,
    predictions: str | None,
    names: Sequence[str],
    groups: set[str],
) -> dict[str, tuple[float, float]]:
    """fairlearn's between-groups (difference, ratio) of metrics ``names`` on the rows of ``groups``."""
    rows, _ = _restricted(df, features, groups)
    columns = [n[len(MISSING_RATE) :] for n in names if n.startswith(MISSING_RATE)]
    with_predictions = predictions if set(names) & {SELECTION_RATE, TPR, FPR, ACCURACY} else None
    frames = metric_frames(rows, features, label, with_predictions, columns, base=BASE_RATE in names)
    out = {}
    for name in names:
        frame = frames[name]
        if isinstance(frame, tuple):
            mf, key = frame
            out[name] = (float(mf.difference()[key]), float(mf.ratio()[key]))
        else:
            out[name] = (float(frame.difference()), float(frame.ratio()))
    return out


def assert_matches_fairlearn(
    report: FairnessReport, df: pd.DataFrame, *, parity_functions: bool = True
) -> int:
    """Compare every figure of ``report`` with fairlearn; return how many figures were compared.
    ``parity_functions``: also call demographic_parity_difference/ratio and equalized_odds_difference."""
    label, predictions = report.label, report.predictions
    compared = 0
    for gname, grouping in report.groupings.items():
        features = list(grouping.features)
        frames = metric_frames(df, features, label, predictions, report.columns)
        labels = group_labels(sensitive_frame(df, features))
        counts = labels.value_counts().to_dict()
        assert grouping.counts == counts, gname
        positives = df[label].astype(int).groupby(labels).sum().to_dict()
        by_defined_set: dict[frozenset[str], list[str]] = {}
        for name, frame in frames.items():
            ours: MetricResult = grouping.metrics[name]
            by_group = _series(frame, "by_group").dropna()  # unobserved intersections are NaN
            theirs = {_label(k): float(v) for k, v in by_group.items()}
            assert set(theirs) == set(ours.by_group), (gname, name)
            for group, value in ours.by_group.items():
                n = counts[group]
                denominator = {TPR: positives[group], FPR: n - positives[group]}.get(name, n)
                if denominator == 0:
                    # fairlearn reports 0 for a rate with no denominator; we report it undefined.
                    assert value.value is None and not value.defined, (gname, name, group)
                    assert theirs[group] == 0.0
                else:
                    assert _close(value.value, theirs[group]), (gname, name, group, value, theirs[group])
                    assert value.defined == (n >= report.min_group_size), (gname, name, group)
                compared += 1
            overall = float(_series(frame, "overall"))
            if ours.overall.value is None:
                assert overall == 0.0 and not ours.overall.defined
            else:
                assert _close(ours.overall.value, overall), (gname, name)
                assert ours.overall.defined == (len(df) >= report.min_group_size)
            compared += 1
            defined = frozenset(g for g, v in ours.by_group.items() if v.defined)
            if len(defined) < 2:
                assert not ours.difference.defined and not ours.ratio.defined, (gname, name)
            else:
                by_defined_set.setdefault(defined, []).append(name)
        aggregates: dict[str, tuple[float, float]] = {}
        for defined, names in by_defined_set.items():
            aggregates |= _between_groups(df, features, label, predictions, names, set(defined))
        for name, (difference, ratio) in aggregates.items():
            ours = grouping.metrics[name]
            assert _close(ours.difference.value, difference), (gname, name, ours.difference, difference)
            if math.isnan(ratio):  # largest value 0: fairlearn divides 0 by 0
                assert not ours.ratio.defined, (gname, name)
            else:
                assert _close(ours.ratio.value, ratio), (gname, name, ours.ratio, ratio)
            compared += 2
        if predictions:
            compared += _assert_equalized_odds(report, df, gname, aggregates, parity_functions)
        if parity_functions:
            compared += _assert_parity(report, df, gname)
    return compared


def _assert_parity(report: FairnessReport, df: pd.DataFrame, gname: str) -> int:
    """demographic_parity_difference/ratio as fairlearn documents them (y_pred = label for the
    dataset, y_pred = predictions for the model) on the rows of the groups where the rate is defined."""
    grouping = report.groupings[gname]
    compared = 0
    pairs = [(BASE_RATE, report.label)] + (
        [(SELECTION_RATE, report.predictions)] if report.predictions else []
    )
    for name, pred in pairs:
        ours = grouping.metrics[name]
        defined = {g for g, v in ours.by_group.items() if v.defined}
        if len(defined) < 2:
            continue
        rows, sf = _restricted(df, grouping.features, defined)
        y, p = rows[report.label].astype(int), rows[pred].astype(int)
        assert _close(ours.difference.value, demographic_parity_difference(y, p, sensitive_features=sf))
        ratio = demographic_parity_ratio(y, p, sensitive_features=sf)
        assert (not ours.ratio.defined) if math.isnan(ratio) else _close(ours.ratio.value, ratio)
        compared += 2
    return compared


def _assert_equalized_odds(
    report: FairnessReport,
    df: pd.DataFrame,
    gname: str,
    aggregates: dict[str, tuple[float, float]],
    parity_functions: bool,
) -> int:
    grouping = report.groupings[gname]
    tpr, fpr = grouping.metrics[TPR], grouping.metrics[FPR]
    d_tpr = {g for g, v in tpr.by_group.items() if v.defined}
    d_fpr = {g for g, v in fpr.by_group.items() if v.defined}
    eod = grouping.equalized_odds_difference
    if len(d_tpr) < 2 or len(d_fpr) < 2:
        assert not eod.defined, (gname, eod)
        return 0
    if parity_functions and d_tpr == d_fpr:
        rows, sf = _restricted(df, grouping.features, d_tpr)
        y, p = rows[report.label].astype(int), rows[report.predictions].astype(int)
        expected = equalized_odds_difference(y, p, sensitive_features=sf)
    else:  # each half over the rows of its own defined groups
        expected = max(aggregates[TPR][0], aggregates[FPR][0])
    assert eod.defined and _close(eod.value, expected), (gname, eod, expected)
    return 1


def reference_band(value: object, edges: Sequence[float]) -> str | None:
    """The band of one value the plain way, independent of ``pd.cut``: ``[a, b)`` bands named
    ``a-(b-1)`` (integer edges), ``<first`` below, ``last+`` above, None (-> "missing") for NaN/±inf."""
    if value is None or pd.isna(value) or not np.isfinite(float(value)):
        return None
    if value < edges[0]:
        return f"<{edges[0]}"
    start = max(i for i, e in enumerate(edges) if value >= e)
    if start == len(edges) - 1:
        return f"{edges[-1]}+"
    a, b = edges[start], edges[start + 1]
    return str(a) if b - 1 == a else f"{a}-{b - 1}"
