"""Bad input never passes silently: a JobError naming the file and the problem (-> an error record)."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from aimsflow.catalog import load_inventory
from aimsflow.quality.job import VALIDATE as _VALIDATE
from aimsflow.quality.validate import validate_partition
from aimsflow.results import JobError, Status
from tests.conftest import PROJECT, declared

validate_partition = declared(_VALIDATE, validate_partition)

DAY = dt.date(2026, 6, 28)


@pytest.fixture
def data(prepared_data, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(prepared_data, root)
    return root


def _error(data, dataset="loan_applications_clean", expectations=None) -> JobError:
    with pytest.raises(JobError) as err:
        validate_partition(load_inventory(), dataset, DAY, data, expectations)
    result = err.value.result
    assert result.status == Status.error and result.check == "data_quality/validate"
    assert result.subject.partition == DAY.isoformat()
    return err.value


def test_missing_partition(data):
    shutil.rmtree(data / f"clean/loan_applications/date={DAY}")
    err = _error(data)
    assert "missing partition" in str(err) and f"date={DAY}" in str(err)


def test_empty_file(data):
    path = data / f"raw/loan_applications/date={DAY}/applications.csv"
    path.chmod(0o644)
    path.write_bytes(b"")
    err = _error(data, "loan_applications_raw")
    assert str(path) in str(err) and "empty file" in str(err)


def test_corrupt_parquet(data):
    folder = data / f"clean/loan_applications/date={DAY}"
    version = sorted(folder.iterdir())[-1]
    version.chmod(0o644)
    version.write_bytes(version.read_bytes()[:200])
    err = _error(data)
    assert str(version) in str(err) and "corrupt parquet" in str(err)


def test_csv_with_a_bad_encoding(data):
    path = data / f"raw/loan_applications/date={DAY}/applications.csv"
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b"application_id", "applicätion_id".encode("latin-1"), 1))
    err = _error(data, "loan_applications_raw")
    assert str(path) in str(err) and "not valid UTF-8 at byte" in str(err)
    assert err.result.inputs and len(err.result.inputs[0].sha256) == 64


def test_invalid_suite_json(data, tmp_path):
    suites = tmp_path / "expectations"
    shutil.copytree(PROJECT / "expectations", suites)
    (suites / "loan_applications_clean.json").write_text('{"name": "x", "expectations": [}')
    err = _error(data, expectations=suites)
    assert "loan_applications_clean.json" in str(err) and "invalid suite JSON" in str(err)


def test_suite_naming_an_undeclared_column_is_a_configuration_error(data, tmp_path):
    suites = tmp_path / "expectations"
    shutil.copytree(PROJECT / "expectations", suites)
    path = suites / "loan_applications_clean.json"
    doc = json.loads(path.read_text())
    doc["expectations"].append(
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income"}}
    )
    path.write_text(json.dumps(doc))
    err = _error(data, expectations=suites)
    assert "configuration error" in str(err) and "'income' is not declared" in str(err)
    assert f"expectations[{len(doc['expectations']) - 1}]" in str(err)


def test_unknown_severity_is_a_configuration_error(data, tmp_path):
    suites = tmp_path / "expectations"
    shutil.copytree(PROJECT / "expectations", suites)
    path = suites / "loan_applications_clean.json"
    doc = json.loads(path.read_text())
    doc["expectations"][0]["severity"] = "urgent"
    path.write_text(json.dumps(doc))
    assert "expectations[0].severity: value 'urgent'" in str(_error(data, expectations=suites))
