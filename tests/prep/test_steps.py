"""The data preparation jobs: ingest with quarantine, clean, and the training set."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from aimsflow.catalog import Dataset, Inventory, load_inventory
from aimsflow.demo import generate_source_batches
from aimsflow.prep.job import CLEAN_JOB as _CLEAN_JOB
from aimsflow.prep.job import INGEST as _INGEST
from aimsflow.prep.job import TRAINING_SET as _TRAINING_SET
from aimsflow.prep.partitions import latest_version
from aimsflow.prep.steps import build_training_set, clean_batch, ingest_batch
from aimsflow.results import JobError, Status, sha256_file
from tests.conftest import declared

ingest_batch = declared(_INGEST, ingest_batch)
clean_batch = declared(_CLEAN_JOB, clean_batch)
build_training_set = declared(_TRAINING_SET, build_training_set)

END = date(2026, 6, 30)
RAW, CLEAN, TRAIN = "loan_applications_raw", "loan_applications_clean", "loan_training_set"
KEY = b"test-pseudonym-key"
ARROW = {
    "string": "string",
    "integer": "int64",
    "float": "double",
    "boolean": "bool",
    "date": "date32[day]",
    "datetime": "timestamp[us, tz=UTC]",
}


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory, inventory: Inventory) -> Path:
    root = tmp_path_factory.mktemp("source")
    generate_source_batches(root, END, days=8, rows_per_day=200, inventory=inventory)
    return root


@pytest.fixture
def data_root(tmp_path: Path, source: Path) -> Path:
    shutil.copytree(source, tmp_path / "data")
    return tmp_path / "data"


def _declared(dataset: Dataset, drop: tuple[str, ...] = ()) -> dict[str, str]:
    return {name: ARROW[col.type.value] for name, col in dataset.columns.items() if name not in drop}


def _raw(inventory: Inventory, day: date, root: Path) -> Path:
    return inventory.dataset(RAW).partition_path(day, root)


# --- ingest -----------------------------------------------------------------------------------------


def test_ingest_clean_day(inventory: Inventory, data_root: Path) -> None:
    day = END - timedelta(days=2)
    result = ingest_batch(inventory, RAW, day, data_root)
    assert result.check == "data_preparation/ingest" and result.controls == ("A.7.3", "A.7.5")
    assert result.status is Status.passed
    assert result.subject.as_dict() == {
        "ai_system": "loan_approval",
        "dataset": RAW,
        "partition": "2026-06-28",
    }
    assert result.summary["rows"] == 200 and result.summary["missing_columns"] == []
    (ref,) = result.inputs
    assert ref.sha256 == sha256_file(_raw(inventory, day, data_root)) and ref.rows == 200
    assert list(ref.schema) == list(inventory.dataset(RAW).columns) and ref.dataset == RAW


def test_ingest_warns_on_a_missing_declared_column(inventory: Inventory, data_root: Path) -> None:
    result = ingest_batch(inventory, RAW, END - timedelta(days=4), data_root)
    assert result.status is Status.warning
    assert result.summary["missing_columns"] == ["employment_years"]


def _header_without_key(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(lines[0].replace("application_id", "app_id") + "".join(lines[1:]), encoding="utf-8")


def _latin1(path: Path) -> None:
    path.write_bytes(path.read_bytes() + "LA-X,Jürgen Müller,j@example.com".encode("latin-1") + b"\n")


BAD_INPUTS = {
    "missing": (lambda p: p.unlink(), "file not found"),
    "empty": (lambda p: p.write_bytes(b""), "empty file"),
    "bad_encoding": (_latin1, "not valid UTF-8: byte 0xfc at offset"),
    "no_key": (_header_without_key, "missing key column 'application_id'"),
    "header_only": (lambda p: p.write_bytes(p.read_bytes().split(b"\n")[0] + b"\n"), "no data rows"),
    "ragged": (lambda p: p.write_bytes(p.read_bytes() + b"a,b,c\n"), "line 202 has 3 fields"),
    "truncated": (lambda p: p.write_bytes(p.read_bytes() + b'LA-X,"J\xc3\xbcrgen M\xc3\xbcller'), "line 202"),
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_ingest_quarantines_bad_input(kind: str, inventory: Inventory, data_root: Path) -> None:
    day = END - timedelta(days=2)
    path = _raw(inventory, day, data_root)
    spoil, problem = BAD_INPUTS[kind]
    spoil(path)
    with pytest.raises(JobError) as caught:
        ingest_batch(inventory, RAW, day, data_root)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and problem in message
    assert "Müller" not in message  # no personal data from the row in the record
    folder = data_root / "quarantine" / RAW / "date=2026-06-28"
    reason = json.loads((folder / "reason.json").read_text())
    assert reason["problem"] in message and reason["source"] == str(path)
    result = caught.value.result
    assert result is not None and result.status is Status.error and result.check == "data_preparation/ingest"
    assert result.summary["quarantine"] == str(folder)
    if kind == "missing":
        assert result.inputs == [] and reason["sha256"] is None
        assert not (folder / "applications.csv").exists()
    else:
        assert path.exists(), "the source file must be copied, not moved"
        assert (folder / "applications.csv").read_bytes() == path.read_bytes()
        assert result.inputs[0].sha256 == sha256_file(path) == reason["sha256"]


# --- clean ------------------------------------------------------------------------------------------


def test_clean_types_dedupes_and_deidentifies(inventory: Inventory, data_root: Path) -> None:
    day = END - timedelta(days=2)
    raw = pd.read_csv(_raw(inventory, day, data_root), dtype=str)
    result = clean_batch(inventory, RAW, CLEAN, day, data_root, KEY)
    assert result.check == "data_preparation/clean" and result.controls == ("A.7.6", "A.7.5")
    assert result.status is Status.passed
    s = result.summary
    n_dup_ids = int((raw["application_id"].value_counts() > 1).sum())
    assert n_dup_ids >= 1
    assert (s["rows_in"], s["duplicates_removed"], s["rows_out"]) == (200, n_dup_ids, 200 - n_dup_ids)
    assert s["identifiers_dropped"] == ["applicant_name", "date_of_birth", "email", "postcode"]
    (out,) = result.outputs
    assert out.schema == _declared(inventory.dataset(CLEAN)) and out.dataset == CLEAN
    assert result.inputs[0].sha256 == sha256_file(_raw(inventory, day, data_root))

    version = latest_version(inventory.dataset(CLEAN).partition_path(day, data_root))
    assert version is not None and version.name == s["version"] and sha256_file(version) == out.sha256
    df = pq.read_table(version).to_pandas()
    assert df["application_id"].is_unique and len(df) == out.rows
    # The re-submission (later application_ts) is the one kept.
    dup_id = raw.loc[raw["application_id"].duplicated(), "application_id"].iloc[0]
    latest = raw[raw["application_id"] == dup_id].sort_values("application_ts").iloc[-1]
    assert df.set_index("application_id").loc[dup_id, "loan_amount"] == float(latest["loan_amount"])
    # Identifiers gone, pseudonym is the keyed HMAC of name|dob.
    first = (
        raw.drop_duplicates("application_id", keep="last")
        .set_index("application_id")
        .loc[df["application_id"][0]]
    )
    expected = hmac.new(
        KEY, f"{first['applicant_name'].casefold()}|{first['date_of_birth']}".encode(), hashlib.sha256
    )
    assert df["applicant_ref"][0] == expected.hexdigest()
    assert not {"applicant_name", "email", "date_of_birth", "postcode", "application_ts"} & set(df.columns)
    assert first["email"].encode() not in version.read_bytes()
    # Age and bands; lower-cased categoricals.
    assert df["age"].between(18, 80).all()
    bands = pd.cut(df["age"], [18, 25, 35, 45, 55, 65, 200], right=False,
                   labels=["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]).astype(str)  # fmt: skip
    assert (bands == df["age_band"]).all()
    assert set(df["sex"]) <= {"female", "male", "non-binary"}
    assert set(df["ethnicity"]) <= {"white", "asian", "black", "mixed", "other"}
    assert set(df["loan_purpose"]) <= {
        "home",
        "car",
        "education",
        "business",
        "personal",
        "debt_consolidation",
    }
    assert (df["application_date"] == day).all()
    assert df["debt_to_income"].round(6).equals((df["existing_debt"] / df["annual_income"]).round(6))


def test_clean_rerun_is_the_same_version(inventory: Inventory, data_root: Path) -> None:
    day = END - timedelta(days=5)
    first = clean_batch(inventory, RAW, CLEAN, day, data_root, KEY)
    again = clean_batch(inventory, RAW, CLEAN, day, data_root, KEY)
    assert first.summary["new_version"] and not again.summary["new_version"]
    assert again.outputs[0].sha256 == first.outputs[0].sha256
    other_key = clean_batch(inventory, RAW, CLEAN, day, data_root, b"another key")
    assert other_key.summary["new_version"]


def test_clean_keeps_defects_for_data_quality(inventory: Inventory, data_root: Path) -> None:
    day = END - timedelta(days=1)
    result = clean_batch(inventory, RAW, CLEAN, day, data_root, KEY)
    assert result.status is Status.passed
    df = pq.read_table(latest_version(inventory.dataset(CLEAN).partition_path(day, data_root))).to_pandas()
    assert df["annual_income"].isna().sum() > 0
    assert df["debt_to_income"].isna().sum() == df["annual_income"].isna().sum()
    assert {990, 120} & set(df["credit_score"]) and (df["loan_amount"] < 0).any()
    assert "crypto" in set(df["loan_purpose"])


def test_clean_without_a_declared_column(inventory: Inventory, data_root: Path) -> None:
    result = clean_batch(inventory, RAW, CLEAN, END - timedelta(days=4), data_root, KEY)
    assert result.status is Status.warning
    assert result.summary["missing_columns"] == ["employment_years"]
    assert result.outputs[0].schema == _declared(inventory.dataset(CLEAN), drop=("employment_years",))


def test_clean_normalises_and_counts_coercions(inventory: Inventory, data_root: Path) -> None:
    day = END - timedelta(days=2)
    path = _raw(inventory, day, data_root)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw.loc[0, "credit_score"] = "n/a"
    raw.loc[1, "credit_score"] = "700.5"
    raw.loc[2, "approved"] = "maybe"
    raw.loc[3, "sex"] = "  FEMALE "
    raw.loc[4, "date_of_birth"] = "31/12/1990"
    raw.to_csv(path, index=False)
    result = clean_batch(inventory, RAW, CLEAN, day, data_root, KEY)
    assert result.summary["coerced_to_null"] == {"credit_score": 2, "approved": 1, "date_of_birth": 1}
    assert result.summary["age_band_null"] == 1
    df = pq.read_table(latest_version(inventory.dataset(CLEAN).partition_path(day, data_root))).to_pandas()
    row = df.set_index("application_id").loc[raw.loc[3, "application_id"]]
    assert row["sex"] == "female"
    assert result.outputs[0].schema == _declared(inventory.dataset(CLEAN))


def test_clean_rejects_a_file_without_the_key(inventory: Inventory, data_root: Path) -> None:
    day = END - timedelta(days=2)
    path = _raw(inventory, day, data_root)
    _header_without_key(path)
    with pytest.raises(JobError, match="missing key column") as caught:
        clean_batch(inventory, RAW, CLEAN, day, data_root, KEY)
    assert str(path) in str(caught.value) and caught.value.result.status is Status.error
    assert caught.value.result.inputs[0].sha256 == sha256_file(path)


# --- training set -----------------------------------------------------------------------------------


def test_training_set_window_and_columns(inventory: Inventory, data_root: Path) -> None:
    for k in range(8):
        if k != 3:  # one day of the window never cleaned
            clean_batch(inventory, RAW, CLEAN, END - timedelta(days=k), data_root, KEY)
    result = build_training_set(inventory, CLEAN, TRAIN, END, data_root, window_days=5)
    assert result.check == "data_preparation/training_set" and result.controls == ("A.7.6", "A.7.2", "A.7.5")
    s = result.summary
    assert s["days_missing"] == ["2026-06-27"] and s["days_used"] == 4 and len(result.inputs) == 4
    assert s["window"] == ["2026-06-26", "2026-06-30"]
    # The window holds the day without employment_years: a warning, the column null for that day.
    assert result.status is Status.warning and s["missing_columns"] == {"employment_years": ["2026-06-26"]}
    assert s["columns_dropped"] == ["age", "applicant_ref", "approved", "existing_debt"]
    (out,) = result.outputs
    assert out.schema == _declared(inventory.dataset(TRAIN))
    df = pq.read_table(latest_version(inventory.dataset(TRAIN).partition_path(END, data_root))).to_pandas()
    assert list(df.columns) == list(inventory.dataset(TRAIN).columns)
    assert set(df["application_date"]) == {END - timedelta(days=k) for k in (0, 1, 2, 4)}
    assert len(df) == s["rows_out"] == sum(r.rows for r in result.inputs)
    assert set(df["label"]) == {0, 1}
    assert df.loc[df["application_date"] == END - timedelta(days=4), "employment_years"].isna().all()
    assert df.loc[df["application_date"] == END, "employment_years"].notna().all()
    assert (df["loan_to_income"].dropna() > 0).all()


def test_training_set_drops_rows_without_label(inventory: Inventory, data_root: Path) -> None:
    day = END - timedelta(days=2)
    path = _raw(inventory, day, data_root)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw.loc[raw.index[:3], "approved"] = ""
    raw.to_csv(path, index=False)
    clean_batch(inventory, RAW, CLEAN, day, data_root, KEY)
    result = build_training_set(inventory, CLEAN, TRAIN, day, data_root, window_days=1)
    assert result.status is Status.passed
    assert result.summary["null_label_dropped"] == 3
    assert result.summary["rows_out"] == result.inputs[0].rows - 3


def test_training_set_needs_the_days_own_partition(inventory: Inventory, data_root: Path) -> None:
    clean_batch(inventory, RAW, CLEAN, END - timedelta(days=1), data_root, KEY)
    folder = inventory.dataset(CLEAN).partition_path(END, data_root)
    with pytest.raises(JobError) as caught:
        build_training_set(inventory, CLEAN, TRAIN, END, data_root)
    assert str(folder) in str(caught.value) and caught.value.result.status is Status.error
