"""The demo's injected defects are caught on exactly their dates; clean dates pass."""

from __future__ import annotations

import datetime as dt

import pytest

from aimsflow.catalog import load_inventory
from aimsflow.quality.job import VALIDATE as _VALIDATE
from aimsflow.quality.validate import validate_partition
from aimsflow.results import Status
from tests.conftest import declared
from tests.quality.conftest import END

validate_partition = declared(_VALIDATE, validate_partition)

CLEAN = "loan_applications_clean"


def _failing(result) -> set[tuple[str, str]]:
    return {(f["type"], f["column"]) for f in result.summary["failed_expectations"]}


@pytest.fixture(scope="module")
def results(prepared_data):
    inventory = load_inventory()
    days = [END - dt.timedelta(days=n) for n in range(7, -1, -1)]
    return {day: validate_partition(inventory, CLEAN, day, prepared_data) for day in days}


def test_defect_day_fails_on_exactly_the_injected_defects(results):
    result = results[END - dt.timedelta(days=1)]
    assert result.status == Status.failed
    assert _failing(result) == {
        ("expect_column_values_to_not_be_null", "annual_income"),
        ("expect_column_values_to_be_between", "credit_score"),
        ("expect_column_values_to_be_between", "loan_amount"),
        ("expect_column_values_to_be_in_set", "loan_purpose"),
    }
    assert result.summary["failed_by_severity"] == {"critical": 3, "warning": 1, "info": 0}
    by_column = {f["column"]: f for f in result.summary["failed_expectations"]}
    assert by_column["loan_purpose"]["sample"][0] == "crypto"
    assert by_column["annual_income"]["unexpected_count"] > 10


def test_dropped_column_day_is_a_finding(results):
    result = results[END - dt.timedelta(days=4)]
    assert result.status == Status.failed
    assert result.summary["missing_columns"] == ["employment_years"]
    assert _failing(result) == {
        ("expect_column_values_to_not_be_null", "employment_years"),
        ("expect_column_values_to_be_between", "employment_years"),
    }


def test_drift_day_is_flagged_while_its_values_stay_valid(results):
    result = results[END]
    assert _failing(result) == set()
    assert result.status == Status.failed
    assert {"annual_income", "credit_score"} <= set(result.summary["drift"]["drifted"])
    assert "drift.json" in result.files


@pytest.mark.parametrize("back", [2, 3, 5, 6, 7])
def test_clean_days_pass_with_no_drift(results, back):
    result = results[END - dt.timedelta(days=back)]
    assert result.status == Status.passed, result.message
    assert result.summary["drift"]["drifted"] == []
    assert result.asset_events[0].name == "validated/loan_applications_clean"


def test_training_set_and_raw_partitions_validate(prepared_data):
    inventory = load_inventory()
    day = END - dt.timedelta(days=2)
    for dataset in ("loan_applications_raw", "loan_training_set"):
        result = validate_partition(inventory, dataset, day, prepared_data)
        assert result.status in (Status.passed, Status.warning), (dataset, result.message)
        assert result.controls == (("A.7.4", "A.6.2.6") if dataset.endswith("raw") else ("A.7.4",))
