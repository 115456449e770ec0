"""validation.html as a reviewer reads it: limits, findings in words, drift against thresholds,
escaped names, no ``None``, nothing from a network, no values of personal columns."""

from __future__ import annotations

import re

import pytest

from aimsflow.evidence.redact import MASK
from aimsflow.quality.html import expected, found, number, render_validation_html

BETWEEN = "expect_column_values_to_be_between"


def _row(**overrides) -> dict:
    row = {
        "type": BETWEEN,
        "column": "credit_score",
        "severity": "critical",
        "success": True,
        "kwargs": {"column": "credit_score", "min_value": 300.0, "max_value": 850.0},
        "notes": None,
        "element_count": 400,
        "missing_count": 0,
        "unexpected_count": 0,
        "unexpected_percent": 0.0,
        "sample": [],
        "observed_value": None,
    }
    return row | overrides


def _drift(**overrides) -> dict:
    drift = {
        "reference": "file:///data/training/loan_training_set/date%3D2026-06-28/part-1.parquet",
        "verdict": "failed",
        "drifted": ["has_guarantor"],
        "features": [
            {
                "feature": "sex",
                "kind": "categorical",
                "psi": 0.0039,
                "ks": None,
                "verdict": "passed",
                "method": "categorical",
                "bins": None,
            },
            {
                "feature": "annual_income",
                "kind": "numeric",
                "psi": 0.12,
                "ks": 0.05,
                "verdict": "warning",
                "method": "numeric_bins",
                "bins": 10,
            },
            {
                "feature": "has_guarantor",
                "kind": "numeric",
                "psi": 1.3018,
                "ks": 0.5,
                "verdict": "failed",
                "method": "categorical_fallback",
                "bins": None,
            },
        ],
        "thresholds": {
            "psi": {"warning": 0.1, "critical": 0.25, "bins": 10},
            "ks": {"warning": 0.15, "critical": 0.25},
            "min_rows": 50,
        },
        "not_compared": {"application_id": "excluded by the drift policy"},
    }
    return drift | overrides


def _page(rows: list[dict], **summary) -> str:
    base = {
        "rows": 400,
        "expectations_evaluated": len(rows),
        "expectations_failed": sum(not r["success"] for r in rows),
        "failed_by_severity": {"critical": sum(not r["success"] for r in rows), "warning": 0, "info": 0},
        "missing_columns": [],
        "undeclared_columns": [],
        "declared_type_problems": [],
    }
    return render_validation_html("Data quality: loans 2026-06-29", "failed", base | summary, rows).decode()


ROWS = [
    _row(),
    _row(success=False, unexpected_count=13, sample=[990, 120, 990]),
    _row(
        type="expect_table_row_count_to_be_between",
        column=None,
        severity="warning",
        kwargs={"min_value": 100, "max_value": 5000},
        notes="a normal day has 300-600 applications",
        element_count=None,
        missing_count=None,
        unexpected_count=None,
        unexpected_percent=None,
        observed_value=396,
    ),
    _row(
        type="expect_column_values_to_be_in_set",
        column="loan_purpose",
        severity="warning",
        kwargs={"column": "loan_purpose", "value_set": ["home", "car"]},
        success=False,
        unexpected_count=22,
        sample=["crypto"],
    ),
    _row(
        column="age",
        success=False,
        unexpected_count=5,
        sample=[MASK] * 5,
        kwargs={"column": "age", "min_value": 18, "max_value": 110},
    ),
    _row(
        type="expect_column_values_to_not_be_null",
        column="employment_years",
        severity="warning",
        success=False,
        kwargs={"column": "employment_years"},
        unexpected_count=None,
        element_count=None,
        error="column missing from the data",
    ),
    _row(
        type="declared_column_type",
        column="loan_amount",
        success=False,
        kwargs={"type": "integer"},
        unexpected_count=None,
        element_count=None,
        observed_value="str",
        error="declared integer, found str",
    ),
]


def test_every_expectation_states_its_limits_and_what_was_found():
    page = _page(ROWS, drift=_drift(), missing_columns=["employment_years"])
    for text in (
        "300 to 850, inclusive",
        "100 to 5,000 rows, inclusive",
        "a normal day has 300-600 applications",
        "one of: home, car",
        "13 of 400 values outside the range (3.25 %)",
        "e.g. 990, 120",
        "22 of 400 values not in the set (5.50 %)",
        "“crypto”",
        "396 rows",
        "column missing from the data",
        "type integer",
        "declared integer, found str",
        "not checked",
    ):
        assert text in page, text
    # unmet first, the most severe first
    assert page.index("13 of 400") < page.index("22 of 400") < page.index("0 of 400")


def test_no_none_and_no_raw_json_reach_the_page():
    """Bug: validation.html showed ``None`` for absent counts and dumped the summary as raw JSON."""
    page = _page(ROWS, drift=_drift())
    assert "None" not in page and "null" not in page
    assert "{&#34;" not in page and '{"' not in page and "[]" not in page


def test_personal_values_are_withheld_and_counts_kept():
    page = _page(ROWS)
    assert "5 of 400 values outside the range" in page and "values withheld (personal column)" in page
    assert MASK not in page


def test_drift_is_judged_against_the_thresholds_it_states():
    page = _page(ROWS, drift=_drift())
    assert "warning ≥ 0.1, critical ≥ 0.25" in page and "warning ≥ 0.15, critical ≥ 0.25" in page
    assert "categories: constant or binary in the reference" in page and "10 quantile bins" in page
    assert re.search(r'class="num failed">1\.3018<', page) and re.search(
        r'class="num warning">0\.1200<', page
    )
    assert "application_id (excluded by the drift policy)" in page
    assert "drift in has_guarantor" in page


def test_drift_not_assessed_says_why():
    page = _page(
        ROWS, drift={"verdict": "not assessed", "reason": "no loan_training_set partition in the 60 days"}
    )
    assert "not assessed: no loan_training_set partition in the 60 days" in page
    assert "not applicable" not in page
    assert "not applicable: the dataset names no drift reference" in _page(ROWS)


def test_names_from_the_data_are_escaped():
    evil = "<b>x</b>"
    page = _page(
        [
            _row(
                column=evil,
                kwargs={"column": evil, "value_set": ["<i>a</i>"]},
                type="expect_column_values_to_be_in_set",
            )
        ],
        undeclared_columns=["<script>alert(1)</script>"],
        declared_type_problems=[{"column": evil, "declared": "integer", "observed": "str"}],
        drift=_drift(
            features=[
                {
                    "feature": evil,
                    "kind": "categorical",
                    "psi": 0.0,
                    "ks": None,
                    "verdict": "passed",
                    "method": "categorical",
                    "bins": None,
                }
            ]
        ),
    )
    assert evil not in page and "<i>" not in page and "<script" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_page_is_self_contained():
    page = _page(ROWS, drift=_drift())
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<script" not in page and "<link" not in page and "@import" not in page and "url(" not in page


@pytest.mark.parametrize(
    ("kind", "kwargs", "text"),
    [
        (BETWEEN, {"min_value": 0, "strict_min": True}, "> 0"),
        (BETWEEN, {"max_value": 5.5, "strict_max": True}, "< 5.5"),
        (
            BETWEEN,
            {"min_value": 0, "max_value": 60, "mostly": 0.95},
            "0 to 60, inclusive; for at least 95 % of values",
        ),
        ("expect_column_values_to_not_be_in_set", {"value_set": ["x"]}, "none of: x"),
        ("expect_column_values_to_match_regex", {"regex": "^L-[0-9]+$"}, "pattern ^L-[0-9]+$"),
        ("expect_column_values_to_be_unique", {}, "every value different"),
        ("expect_column_some_new_thing", {"threshold": 3}, "threshold = 3"),
        ("expect_column_some_new_thing", {}, "—"),
    ],
)
def test_expected_in_words(kind, kwargs, text):
    assert expected(kind, kwargs) == text


def test_found_in_words():
    assert found(_row(unexpected_count=3, missing_count=40, element_count=400)) == (
        "3 of 360 values outside the range (0.83 %); 40 missing values not checked"
    )
    not_null = _row(type="expect_column_values_to_not_be_null", unexpected_count=32, element_count=396)
    assert found(not_null) == "32 of 396 values missing (8.08 %)"
    assert found(_row(unexpected_count=None, element_count=None)) == "—"
    assert found(_row(unexpected_count=None, observed_value=MASK)) == "withheld (personal column)"
    assert number(5_000_000.0) == "5,000,000" and number(0.25) == "0.25" and number(None) == "—"
