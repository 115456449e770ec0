"""``validation.html``: one validation as a compliance reviewer reads it, self-contained (inline CSS,
no scripts, no network: GX Data Docs load assets from public CDNs, which an auditor's offline copy
cannot reach). For each expectation: what was expected in words and limits (from the suite's
kwargs), what was found (counts, never values of personal columns: the rows are already
scrubbed), severity and outcome; then drift per feature against the policy's thresholds."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aimsflow.evidence.redact import MASK
from aimsflow.render import render_html

TEMPLATE = "validation.html.j2"
DECLARED_TYPE = "declared_column_type"  # the type check aimsflow adds to the suite's expectations
NONE = "—"

_WORDS = {
    "expect_table_row_count_to_be_between": "Number of rows",
    "expect_table_row_count_to_equal": "Number of rows",
    "expect_table_column_count_to_be_between": "Number of columns",
    "expect_table_column_count_to_equal": "Number of columns",
    "expect_table_columns_to_match_set": "Columns as listed",
    "expect_table_columns_to_match_ordered_list": "Columns in the listed order",
    "expect_column_to_exist": "Column present",
    "expect_column_values_to_not_be_null": "No missing values",
    "expect_column_values_to_be_null": "Only missing values",
    "expect_column_values_to_be_unique": "No value occurs twice",
    "expect_column_values_to_be_between": "Values within a range",
    "expect_column_values_to_be_in_set": "Values from an allowed set",
    "expect_column_values_to_not_be_in_set": "No values from a forbidden set",
    "expect_column_values_to_match_regex": "Values match a pattern",
    "expect_column_values_to_not_match_regex": "Values do not match a pattern",
    "expect_column_value_lengths_to_be_between": "Length of values within a range",
    "expect_column_values_to_be_of_type": "Values of a type",
    "expect_column_values_to_be_in_type_list": "Values of one of the listed types",
    "expect_column_mean_to_be_between": "Mean within a range",
    "expect_column_median_to_be_between": "Median within a range",
    "expect_column_min_to_be_between": "Minimum within a range",
    "expect_column_max_to_be_between": "Maximum within a range",
    "expect_column_stdev_to_be_between": "Standard deviation within a range",
    "expect_column_sum_to_be_between": "Sum within a range",
    "expect_column_unique_value_count_to_be_between": "Number of distinct values within a range",
    "expect_column_proportion_of_unique_values_to_be_between": "Share of distinct values within a range",
    DECLARED_TYPE: "Type declared in the catalog",
}
# What the values that failed an expectation are called in "found".
_UNEXPECTED = {
    "expect_column_values_to_not_be_null": "missing",
    "expect_column_values_to_be_unique": "duplicated",
    "expect_column_values_to_be_between": "outside the range",
    "expect_column_values_to_be_in_set": "not in the set",
    "expect_column_values_to_not_be_in_set": "in the forbidden set",
    "expect_column_values_to_match_regex": "not matching",
    "expect_column_values_to_not_match_regex": "matching",
    "expect_column_value_lengths_to_be_between": "of a length outside the range",
}
# kwargs that say nothing a reviewer needs (or are shown elsewhere: the column).
_PLUMBING = {"batch_id", "column", "column_A", "column_B", "column_list", "result_format", "catch_exceptions"}
_SHOWN = {"min_value", "max_value", "strict_min", "strict_max", "value_set", "mostly", "value", "regex"}
_SHOWN |= {"type_", "type_list", "column_set", "exact_match", "row_condition", "condition_parser", "type"}
_MAX_SET = 15
_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class ExpectationView:
    outcome: str  # "met", "not met", "not checked"
    css: str  # "passed", "failed", "warning", "info"
    column: str
    words: str
    expected: str
    found: str
    sample: str
    severity: str
    notes: str


@dataclass(frozen=True)
class FeatureView:
    feature: str
    kind: str
    method: str
    psi: str
    psi_css: str
    ks: str
    ks_css: str
    verdict: str


@dataclass(frozen=True)
class DriftView:
    verdict: str
    reason: str  # why drift was not assessed; "" when it was
    reference: str
    psi_limits: str
    ks_limits: str
    features: list[FeatureView]
    drifted: str
    not_compared: list[tuple[str, str]]  # (reason, columns)


def number(value: Any) -> str:
    """A figure as a person reads it: 5000000.0 -> "5,000,000", 0.25 -> "0.25"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


def text(value: Any) -> str:
    """Any value from a result or kwargs as plain words: never ``None``, never raw JSON."""
    if value is None:
        return NONE
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number(value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {text(v)}" for k, v in value.items()) or NONE
    if isinstance(value, (list, tuple, set)):
        return ", ".join(text(v) for v in value) or NONE
    return str(value)


def _percent(part: float, whole: float) -> str:
    if not whole:
        return NONE
    share = 100 * part / whole
    if share == 0:
        return "0 %"
    return "< 0.01 %" if share < 0.01 else f"{share:.2f} %"


def _range(kwargs: Mapping[str, Any], unit: str = "") -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    strict_low, strict_high = bool(kwargs.get("strict_min")), bool(kwargs.get("strict_max"))
    unit = f" {unit}" if unit else ""
    if low is not None and high is not None and not strict_low and not strict_high:
        return f"{number(low)} to {number(high)}{unit}, inclusive"
    parts = []
    if low is not None:
        parts.append(f"{'>' if strict_low else '≥'} {number(low)}")
    if high is not None:
        parts.append(f"{'<' if strict_high else '≤'} {number(high)}")
    return " and ".join(parts) + unit if parts else "no limit set"


def _set(values: Any) -> str:
    values = list(values or [])
    shown = ", ".join(text(v) for v in values[:_MAX_SET])
    return shown + (f" and {len(values) - _MAX_SET} more" if len(values) > _MAX_SET else "")


def words(kind: str) -> str:
    """The expectation in words; an unknown type reads as its name without ``expect_``."""
    if kind in _WORDS:
        return _WORDS[kind]
    name = kind.removeprefix("expect_").replace("_", " ")
    return name[:1].upper() + name[1:]


def expected(kind: str, kwargs: Mapping[str, Any]) -> str:
    """What the suite asked for, from its kwargs: limits, value set, type, pattern."""
    parts = []
    if "min_value" in kwargs or "max_value" in kwargs:
        parts.append(_range(kwargs, "rows" if kind.startswith("expect_table_row_count") else ""))
    if "value" in kwargs:
        parts.append(f"exactly {text(kwargs['value'])}")
    if "value_set" in kwargs:
        prefix = "none of" if "not_be_in_set" in kind else "one of"
        parts.append(f"{prefix}: {_set(kwargs['value_set'])}")
    if "regex" in kwargs:
        parts.append(f"pattern {kwargs['regex']}")
    if "type_" in kwargs:
        parts.append(f"type {kwargs['type_']}")
    if "type" in kwargs:
        parts.append(f"type {kwargs['type']}")
    if "type_list" in kwargs:
        parts.append(f"one of the types: {_set(kwargs['type_list'])}")
    if "column_set" in kwargs:
        parts.append(f"columns: {_set(kwargs['column_set'])}")
    if not parts:
        parts.append(
            {
                "expect_column_values_to_not_be_null": "a value in every row",
                "expect_column_values_to_be_null": "no value in any row",
                "expect_column_values_to_be_unique": "every value different",
                "expect_column_to_exist": "the column in the data",
            }.get(kind, NONE)
        )
    if kwargs.get("mostly") is not None and kwargs["mostly"] < 1:
        parts.append(f"for at least {kwargs['mostly'] * 100:g} % of values")
    if kwargs.get("row_condition"):
        parts.append(f"in rows where {kwargs['row_condition']}")
    parts += [f"{k} = {text(v)}" for k, v in kwargs.items() if k not in _PLUMBING | _SHOWN]
    return "; ".join(p for p in parts if p != NONE) or NONE


def found(row: Mapping[str, Any]) -> str:
    """What the data showed: counts and shares, the observed value, or why it could not be checked."""
    if row.get("error"):
        return str(row["error"])
    kind = str(row.get("type") or "")
    count = row.get("unexpected_count")
    if count is not None:
        total = row.get("element_count")
        missing = row.get("missing_count") or 0
        verb = _UNEXPECTED.get(kind, "unexpected")
        if kind == "expect_column_values_to_not_be_null":
            checked, missing = total, 0
        else:
            checked = None if total is None else total - missing
        if checked is None:
            share = (
                f"{number(row['unexpected_percent'])} %" if row.get("unexpected_percent") is not None else ""
            )
            out = f"{number(count)} values {verb}" + (f" ({share})" if share else "")
        else:
            out = f"{number(count)} of {number(checked)} values {verb} ({_percent(count, checked)})"
        if missing:
            out += f"; {number(missing)} missing values not checked"
        return out
    observed = row.get("observed_value")
    if observed is None:
        return NONE
    if observed == MASK:
        return "withheld (personal column)"
    if kind.startswith("expect_table_row_count"):
        return f"{number(observed)} rows"
    return f"observed {text(observed)}"


def sample(row: Mapping[str, Any]) -> str:
    """A few of the failing values, for a person to see the problem; masked for personal columns."""
    if row.get("success") or row.get("type") == "expect_column_values_to_not_be_null":
        return ""
    values = list(dict.fromkeys(row.get("sample") or []))  # distinct, in order
    if not values:
        return ""
    if all(v == MASK for v in values):
        return "values withheld (personal column)"
    return "e.g. " + ", ".join(
        "missing" if v is None else f"“{v}”" if isinstance(v, str) else text(v) for v in values
    )


def _view(row: Mapping[str, Any]) -> ExpectationView:
    severity = str(row.get("severity") or "critical")
    kind = str(row.get("type") or "")
    if row.get("success"):
        outcome, css = "met", "passed"
    else:
        # a missing column or a GX exception leaves the expectation unevaluated: counted as unmet
        unchecked = row.get("error") and kind != DECLARED_TYPE
        outcome = "not checked" if unchecked else "not met"
        css = {"critical": "failed", "warning": "warning"}.get(severity, "info")
    kwargs = row.get("kwargs") or {}
    return ExpectationView(
        outcome=outcome,
        css=css,
        column=str(row.get("column") or "(table)"),
        words=words(kind),
        expected=expected(kind, kwargs),
        found=found(row),
        sample=sample(row),
        severity=severity,
        notes=str(row.get("notes") or ""),
    )


def _css(value: float | None, limits: Mapping[str, Any] | None) -> str:
    if value is None or not limits:
        return ""
    return "failed" if value >= limits["critical"] else "warning" if value >= limits["warning"] else ""


def _method(feature: Mapping[str, Any], bins: int | None) -> str:
    method = feature.get("method")
    if method == "numeric_bins":
        used = feature.get("bins")
        merged = " (tied quantiles merged)" if used is not None and bins is not None and used < bins else ""
        return f"{used} quantile bins{merged}"
    if method == "categorical_fallback":
        return "categories: constant or binary in the reference"
    return "categories"


def _drift(drift: Mapping[str, Any] | None) -> DriftView | None:
    if not drift:
        return None
    limits = drift.get("thresholds") or {}
    psi, ks = limits.get("psi"), limits.get("ks")

    def bounds(t: Mapping[str, Any] | None) -> str:
        return (
            f"warning ≥ {number(t['warning'])}, critical ≥ {number(t['critical'])}" if t else "not recorded"
        )

    features = [
        FeatureView(
            feature=str(f["feature"]),
            kind=str(f["kind"]),
            method=_method(f, psi.get("bins") if psi else None),
            psi=NONE if f.get("psi") is None else f"{f['psi']:.4f}",
            psi_css=_css(f.get("psi"), psi),
            ks=NONE if f.get("ks") is None else f"{f['ks']:.4f}",
            ks_css=_css(f.get("ks"), ks),
            verdict=str(f["verdict"]),
        )
        for f in drift.get("features", [])
    ]
    by_reason: dict[str, list[str]] = {}
    for column, reason in (drift.get("not_compared") or {}).items():
        by_reason.setdefault(reason, []).append(column)
    return DriftView(
        verdict=str(drift.get("verdict")),
        reason=str(drift.get("reason") or ""),
        reference=str(drift.get("reference") or NONE),
        psi_limits=bounds(psi),
        ks_limits=bounds(ks),
        features=features,
        drifted=", ".join(drift.get("drifted") or []),
        not_compared=[(reason, ", ".join(columns)) for reason, columns in by_reason.items()],
    )


def render_validation_html(
    title: str, status: str, summary: Mapping[str, Any], rows: list[Mapping[str, Any]]
) -> bytes:
    """``rows``: one per expectation (already scrubbed): type, column, severity, success, kwargs,
    counts, sample, observed value, error. Unmet expectations come first, most severe first."""
    views = sorted(
        (_view(r) for r in rows),
        key=lambda v: (v.outcome == "met", _SEVERITY_ORDER.get(v.severity, 3)),
    )
    failed = summary.get("failed_by_severity") or {}
    types = summary.get("declared_type_problems") or []
    return render_html(
        TEMPLATE,
        title=title,
        status=status,
        rows=summary.get("rows"),
        evaluated=summary.get("expectations_evaluated", len(rows)),
        not_met=summary.get("expectations_failed", sum(v.outcome != "met" for v in views)),
        by_severity=", ".join(f"{n} {s}" for s, n in failed.items() if n),
        missing=", ".join(summary.get("missing_columns") or []),
        undeclared=", ".join(summary.get("undeclared_columns") or []),
        undeclared_known="undeclared_columns" in summary,
        type_problems=[f"{p['column']}: declared {p['declared']}, found {p['observed']}" for p in types],
        expectations=views,
        drift=_drift(summary.get("drift")),
    )
