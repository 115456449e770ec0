"""The demo source: deterministic daily files, the planned defects, and a real label skew."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from aimsflow.catalog import Inventory, load_inventory
from aimsflow.demo import BatchInfo, defect_plan, generate_source_batches

END = date(2026, 6, 30)
DAYS = 30


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory()


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory, inventory: Inventory) -> list[BatchInfo]:
    return generate_source_batches(tmp_path_factory.mktemp("data"), END, days=DAYS, inventory=inventory)


@pytest.fixture(scope="module")
def by_day(batches: list[BatchInfo]) -> dict[date, pd.DataFrame]:
    return {b.date: pd.read_csv(b.path, dtype=str, keep_default_na=False) for b in batches}


def _clean_frame(batches: list[BatchInfo], by_day: dict[date, pd.DataFrame]) -> pd.DataFrame:
    return pd.concat([by_day[b.date] for b in batches if not b.defects], ignore_index=True)


def test_defect_plan() -> None:
    plan = defect_plan(END)
    assert plan == {
        END: ["drift"],
        END - timedelta(days=1): ["nulls", "out_of_range", "unseen_category"],
        END - timedelta(days=4): ["dropped_column"],
    }


def test_one_file_per_day_at_the_partition_path(batches: list[BatchInfo], inventory: Inventory) -> None:
    raw = inventory.dataset("loan_applications_raw")
    assert [b.date for b in batches] == [END - timedelta(days=k) for k in range(DAYS - 1, -1, -1)]
    for b in batches:
        assert b.path == raw.partition_path(b.date, b.path.parents[3])
        assert b.path.as_posix().endswith(f"raw/loan_applications/date={b.date.isoformat()}/applications.csv")
        assert b.rows == 400 and b.created
        assert b.defects == tuple(defect_plan(END).get(b.date, ()))
        header = next(csv.reader(io.StringIO(b.path.read_text(encoding="utf-8"))))
        expected = [
            c for c in raw.columns if not (b.date == END - timedelta(days=4) and c == "employment_years")
        ]
        assert header == expected


def test_deterministic_whatever_end_and_days(
    tmp_path: Path, batches: list[BatchInfo], inventory: Inventory
) -> None:
    # A later `end` and another `days`: the days that are clean under both plans are byte-identical.
    other = generate_source_batches(tmp_path, END + timedelta(days=20), days=40, inventory=inventory)
    mine = {b.date: b for b in batches}
    common = [b for b in other if b.date in mine and not b.defects and not mine[b.date].defects]
    assert len(common) >= 15
    for b in common:
        assert b.path.read_bytes() == mine[b.date].path.read_bytes()
    different_seed = generate_source_batches(tmp_path / "s7", END, days=1, seed=7, inventory=inventory)
    assert different_seed[0].path.read_bytes() != mine[END].path.read_bytes()


def test_an_existing_file_is_left_alone(tmp_path: Path, inventory: Inventory) -> None:
    first = generate_source_batches(tmp_path, END, days=2, rows_per_day=20, inventory=inventory)
    first[0].path.write_bytes(b"application_id\nX\n")
    again = generate_source_batches(tmp_path, END, days=2, rows_per_day=20, inventory=inventory)
    assert [b.created for b in again] == [False, False]
    assert first[0].path.read_bytes() == b"application_id\nX\n"
    assert again[0].rows == 1 and again[1].rows == 20
    assert not list(tmp_path.rglob(".tmp-*"))


def test_clean_days_are_realistic_and_valid(
    batches: list[BatchInfo], by_day: dict[date, pd.DataFrame]
) -> None:
    for b in batches:
        if b.defects:
            continue
        df = by_day[b.date]
        ts = pd.to_datetime(df["application_ts"], utc=True)
        assert (ts.dt.date == b.date).all()
        age = (pd.Timestamp(b.date) - pd.to_datetime(df["date_of_birth"])).dt.days / 365.25
        assert age.between(18, 81).all()
        assert pd.to_numeric(df["credit_score"]).between(300, 850).all()
        assert (pd.to_numeric(df["annual_income"]) > 0).all()
        assert pd.to_numeric(df["loan_amount"]).between(1, 50_000).all()
        assert set(df["loan_purpose"]) <= {
            "home",
            "car",
            "education",
            "business",
            "personal",
            "debt_consolidation",
        }
        assert set(df["sex"]) <= {"Female", "Male", "Non-binary"}
        assert set(df["approved"]) == {"true", "false"}
        assert (df[list(df.columns)] != "").all().all()
        # Re-submissions: a few ids twice, the second one later.
        dup = df[df["application_id"].duplicated(keep=False)]
        assert 1 <= dup["application_id"].nunique() <= 10
        for _, group in dup.groupby("application_id"):
            assert group["application_ts"].is_monotonic_increasing and group["application_ts"].nunique() == 2


def test_group_shares(batches: list[BatchInfo], by_day: dict[date, pd.DataFrame]) -> None:
    df = _clean_frame(batches, by_day)
    ethnicity = df["ethnicity"].value_counts(normalize=True)
    assert set(ethnicity.index) == {"White", "Asian", "Black", "Mixed", "Other"}
    assert 0.015 < ethnicity.min() < 0.045
    assert 0.01 < df["sex"].value_counts(normalize=True)["Non-binary"] < 0.035


def test_label_skew(batches: list[BatchInfo], by_day: dict[date, pd.DataFrame]) -> None:
    df = _clean_frame(batches, by_day)
    approved = df["approved"] == "true"
    for column, low, high in [("ethnicity", 0.0, 0.8), ("sex", 0.8, 0.95)]:
        rates = approved.groupby(df[column]).mean()
        ratio = rates.min() / rates.max()
        assert low < ratio < high, (column, rates.to_dict())


def test_defect_days(by_day: dict[date, pd.DataFrame]) -> None:
    defects = by_day[END - timedelta(days=1)]
    assert 0.04 < (defects["annual_income"] == "").mean() < 0.12
    credit = pd.to_numeric(defects["credit_score"])
    assert 0.01 < (~credit.between(300, 850)).mean() < 0.06
    assert set(credit[~credit.between(300, 850)]) <= {990, 120}
    assert (pd.to_numeric(defects["loan_amount"]) < 0).sum() >= 1
    assert 0.02 < (defects["loan_purpose"] == "crypto").mean() < 0.08

    assert "employment_years" not in by_day[END - timedelta(days=4)].columns
    for clean_day in (END - timedelta(days=2), END - timedelta(days=5)):
        assert "crypto" not in set(by_day[clean_day]["loan_purpose"])

    drift, base = by_day[END], by_day[END - timedelta(days=2)]

    def num(df: pd.DataFrame, col: str) -> pd.Series:
        return pd.to_numeric(df[col])

    assert num(drift, "annual_income").median() < 0.75 * num(base, "annual_income").median()
    assert 40 < num(base, "credit_score").mean() - num(drift, "credit_score").mean() < 90
    assert num(drift, "loan_amount").mean() > 1.1 * num(base, "loan_amount").mean()
    assert num(drift, "credit_score").between(300, 850).all()
    assert num(drift, "loan_amount").between(1, 50_000).all() and (num(drift, "annual_income") > 0).all()
