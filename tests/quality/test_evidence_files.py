"""What a data quality record holds: GX's result (scrubbed), summary, offline HTML, input identity."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pandas as pd
import pyarrow as pa

from aimsflow.catalog import load_inventory
from aimsflow.evidence.redact import MASK
from aimsflow.prep.partitions import latest_version, write_version
from aimsflow.quality.job import VALIDATE as _VALIDATE
from aimsflow.quality.scrub import scrub_result
from aimsflow.quality.validate import declared_type_problems, exception_message, validate_partition
from aimsflow.results import Status
from tests.conftest import declared
from tests.quality.conftest import END

validate_partition = declared(_VALIDATE, validate_partition)

DAY = END - dt.timedelta(days=2)


def test_record_files_and_input_identity(prepared_data):
    result = validate_partition(load_inventory(), "loan_applications_clean", DAY, prepared_data)
    assert set(result.files) == {"validation_result.json", "summary.json", "validation.html", "drift.json"}
    gx = json.loads(result.files["validation_result.json"])
    assert gx["success"] is True and len(gx["results"]) == result.summary["expectations_evaluated"]
    (partition, reference) = result.inputs
    assert partition.dataset == "loan_applications_clean" and partition.rows == result.summary["rows"]
    assert partition.schema["application_id"] in ("string", "large_string") and len(partition.sha256) == 64
    assert reference.dataset == "loan_training_set"
    assert {s.path.rsplit("/", 1)[-1] for s in result.specs} == {
        "loan_applications_clean.json",
        "datasets.yaml",
        "drift.yaml",
    }


def test_html_is_self_contained(prepared_data):
    page = validate_partition(
        load_inventory(), "loan_applications_clean", END - dt.timedelta(days=1), prepared_data
    )
    html = page.files["validation.html"].decode()
    assert "<html" in html and "annual_income" in html and "not met" in html
    for remote in ("http://", "https://", "<script", "<link", "src="):
        assert remote not in html


def test_html_shows_limits_findings_and_drift_thresholds(prepared_data):
    """Bug: validation.html showed ``None``, the summary as raw JSON, and neither the expectations'
    limits nor the drift thresholds, so a reviewer could not tell what "FAIL" was measured against."""
    result = validate_partition(
        load_inventory(), "loan_applications_clean", END - dt.timedelta(days=1), prepared_data
    )
    html = result.files["validation.html"].decode()
    assert "None" not in html and "[]" not in html and '{"' not in html
    for text in (
        "300 to 850, inclusive",  # credit_score limits from the suite
        "one of: home, car, education, business, personal, debt_consolidation",
        "a new purpose needs a model review before it is scored",  # the suite's note
        "of 396 values missing",
        "warning ≥ 0.1, critical ≥ 0.25",  # PSI thresholds of the drift policy
        "warning ≥ 0.15, critical ≥ 0.25",  # KS
        "quantile bins",
        "excluded by the drift policy",
    ):
        assert text in html, text
    drift = json.loads(result.files["drift.json"])
    assert drift["thresholds"]["psi"] == {"warning": 0.1, "critical": 0.25, "bins": 10}
    assert {f["method"] for f in drift["features"]} == {"numeric_bins", "categorical"}
    assert drift["not_compared"]["application_id"] == "excluded by the drift policy"


def test_type_and_schema_problems_are_named(prepared_data, tmp_path):
    """Bug: when GX could not evaluate an expectation (a range check on a text column), its error sat
    in a nested ``exception_info`` the job did not read: the row said nothing about why it failed."""
    data = tmp_path / "data"
    shutil.copytree(prepared_data, data)
    folder = data / f"clean/loan_applications/date={DAY}"
    frame = pd.read_parquet(latest_version(folder))
    frame["credit_score"] = frame["credit_score"].astype(str)
    frame["free_text"] = "x"
    write_version(pa.Table.from_pandas(frame, preserve_index=False), folder)
    result = validate_partition(load_inventory(), "loan_applications_clean", DAY, data)
    assert result.status == Status.failed
    assert result.summary["undeclared_columns"] == ["free_text"]
    assert result.summary["declared_type_problems"] == [
        {"column": "credit_score", "declared": "integer", "observed": "str"}
    ]
    (error,) = [
        f["error"]
        for f in result.summary["failed_expectations"]
        if f["type"].endswith("_between") and f["error"]
    ]
    assert error.startswith("not evaluated: ") and "same type" in error
    html = result.files["validation.html"].decode()
    assert "free_text" in html and "credit_score: declared integer, found str" in html and error in html


def test_exceptions_on_personal_columns_are_withheld():
    """An exception GX raises on a personal column may quote a value: only its class is kept."""
    message = "could not convert string to float: 'Jane'"
    item = {
        "success": False,
        "expectation_config": {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age"}},
        "result": {},
        "exception_info": {
            "MetricConfigurationID(x)": {
                "raised_exception": True,
                "exception_message": message,
                "exception_traceback": f"Traceback ...\nValueError: {message}\n",
            }
        },
    }
    other = json.loads(json.dumps(item))
    other["expectation_config"]["kwargs"]["column"] = "loan_amount"
    scrubbed = scrub_result({"results": [item, other]}, frozenset({"age"}))
    assert "Jane" not in json.dumps(scrubbed["results"][0])
    assert exception_message(scrubbed["results"][0]["exception_info"]) == (
        "ValueError (message withheld: personal column)"
    )
    assert exception_message(scrubbed["results"][1]["exception_info"]) == message
    assert exception_message({"raised_exception": False}) is None


def test_values_of_personal_columns_are_masked_in_every_file(prepared_data, tmp_path):
    """Out-of-range ages (a personal column): counts are kept, the values never reach the record."""
    data = tmp_path / "data"
    shutil.copytree(prepared_data, data)
    folder = data / f"clean/loan_applications/date={DAY}"
    frame = pd.read_parquet(latest_version(folder))
    frame.loc[:4, "age"] = [131, 142, 153, 164, 175]
    write_version(pa.Table.from_pandas(frame, preserve_index=False), folder)
    result = validate_partition(load_inventory(), "loan_applications_clean", DAY, data)
    assert result.status == Status.failed
    age = next(f for f in result.summary["failed_expectations"] if f["column"] == "age")
    assert age["unexpected_count"] == 5 and set(age["sample"]) == {MASK}
    for name, content in result.files.items():
        text = content.decode()
        for value in ("131", "142", "153", "164", "175"):
            assert f"{value}," not in text and f"[{value}" not in text and f" {value}]" not in text, name


def test_pandas3_str_columns_satisfy_declared_string_types(prepared_data):
    """Bug: GX's expect_column_values_to_be_in_type_list does not recognise pandas 3's ``str`` dtype
    (StringDtype(na_value=nan)), so a type expectation failed on every clean partition. Declared types
    are now checked by aimsflow against the catalog instead."""
    dataset = load_inventory().dataset("loan_applications_clean")
    frame = pd.read_parquet(latest_version(prepared_data / f"clean/loan_applications/date={DAY}"))
    assert str(frame["application_id"].dtype) == "str"
    assert declared_type_problems(frame, dataset) == []
    frame["credit_score"] = frame["credit_score"].astype(str)
    assert declared_type_problems(frame, dataset) == [
        {"column": "credit_score", "declared": "integer", "observed": "str"}
    ]
