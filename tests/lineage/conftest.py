from __future__ import annotations

from pathlib import Path

import pytest

from aimsflow.results import DataRef, JobResult, Status, Subject


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    return tmp_path / "openlineage" / "staging"


@pytest.fixture
def ol_env(monkeypatch: pytest.MonkeyPatch):
    """Start from a clean OpenLineage environment (tests/conftest.py disables the provider)."""
    import aimsflow.lineage.events as events

    for var in ("OPENLINEAGE_DISABLED", "OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "AIMSFLOW_OPENLINEAGE_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__DISABLED", "False")
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", "aimsflow")
    monkeypatch.delenv("AIRFLOW__OPENLINEAGE__TRANSPORT", raising=False)
    monkeypatch.setattr(events, "_clients", {})
    return monkeypatch


@pytest.fixture
def result(tmp_path: Path) -> JobResult:
    """A clean-step result: one raw CSV in, one cleaned CSV out, with rows and schemas."""
    data = tmp_path / "data"
    data.mkdir()
    raw = data / "raw 2026-11-20.csv"  # a space: the URI is percent-encoded, the OL name is not
    raw.write_text("id,income\n1,10\n2,\n3,30\n")
    clean = data / "clean.csv"
    clean.write_text("id,income\n1,10\n3,30\n")
    return JobResult(
        check="data_preparation/clean",
        subject=Subject("credit-scoring", "loan_applications", "2026-11-20"),
        status=Status.passed,
        controls=("A.7.2", "A.7.4"),
        summary={"rows_in": 3},
        inputs=[
            DataRef.of_file(raw, rows=3, schema={"id": "int64", "income": "float64"}, dataset="raw_loans")
        ],
        outputs=[
            DataRef.of_file(clean, rows=2, schema={"id": "int64", "income": "float64"}, dataset="loans")
        ],
    )
