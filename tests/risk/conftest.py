"""Risk tests: records in a real (temporary) store or as in-memory summaries, and a small register."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from aimsflow import settings
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.listing import RecordSummary, mark_superseded
from aimsflow.evidence.record import Producer, RecordRef, RunContext, write_record
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from aimsflow.results import JobResult, Status, Subject

SHIPPED = settings.project_root() / "include" / "config"
AI = "loan_approval"
CLEAN = "loan_applications_clean"
RAW = "loan_applications_raw"
_runs = itertools.count(1)


def at(day: dt.date, hour: int = 1) -> dt.datetime:
    """A run after ``day`` (data interval runs start once the day is over)."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC) + dt.timedelta(days=1)


def summary_record(
    check: str,
    day: dt.date,
    status: Status = Status.passed,
    *,
    dataset: str | None = CLEAN,
    summary: dict[str, Any] | None = None,
    run_after: dt.datetime | None = None,
    try_number: int = 1,
    controls: tuple[str, ...] = ("A.7.4",),
    period: Period | None = None,
    ai_system: str | None = AI,
) -> RecordSummary:
    """An in-memory record summary (what :func:`load_summaries` returns) for pure unit tests."""
    run_after = run_after or at(day)
    period = period or Period.day(day)
    n = next(_runs)
    key = f"records/{period.label}/{check}/t.try{try_number}-{n:012x}"
    return RecordSummary(
        key=key,
        record_id=key.rsplit("/", 1)[1],
        check=check,
        subject={"ai_system": ai_system, "dataset": dataset, "partition": day.isoformat()},
        period=period,
        status=status,
        controls=list(controls),
        producer={
            "kind": "task",
            "run_id": f"run-{run_after.isoformat()}",
            "try_number": try_number,
            "run_after": run_after.isoformat(),
        },
        started_at=run_after,
        ended_at=run_after + dt.timedelta(minutes=1),
        summary=summary or {},
    )


def marked(records: list[RecordSummary]) -> list[RecordSummary]:
    mark_superseded(records)
    return records


@pytest.fixture
def store(aims_env) -> LocalStorage:
    return LocalStorage(settings.evidence_root())


WriteRecord = Callable[..., RecordRef]


@pytest.fixture
def write(store: LocalStorage) -> WriteRecord:
    """Write a signed record as ``glue.run_job`` would (a task try of a run)."""

    def make(
        check: str,
        day: dt.date,
        status: Status = Status.passed,
        *,
        dataset: str | None = CLEAN,
        summary: dict[str, Any] | None = None,
        run_after: dt.datetime | None = None,
        try_number: int = 1,
        max_tries: int = 2,
        controls: tuple[str, ...] = ("A.7.4",),
        dag_id: str = "data_quality",
        task_id: str = "validate",
        run_id: str | None = None,
        period: Period | None = None,
        files: dict[str, bytes] | None = None,
        user: str | None = None,
        ai_system: str | None = AI,
        signer: Signer | None = None,
        ended_at: dt.datetime | None = None,
    ) -> RecordRef:
        run_after = run_after or at(day)
        producer = Producer(
            kind="task",
            dag_id=dag_id,
            run_id=run_id or f"manual__{run_after.isoformat()}",
            task_id=task_id,
            try_number=try_number,
            max_tries=max_tries,
            run_type="manual",
            run_after=run_after.isoformat(),
        )
        error = None
        if status == Status.error:
            error = {
                "type": "BadInput",
                "message": "boom",
                "traceback": "",
                "final_try": producer.is_final_try,
            }
        result = JobResult(
            Subject(ai_system, dataset, day.isoformat() if dataset else None),
            status,
            check=check,
            controls=controls,
            summary=summary or {},
            files=files or {"summary.json": b"{}\n"},
        )
        now = ended_at or dt.datetime.now(dt.UTC)
        ctx = RunContext(period or Period.day(day), producer, now, now, triggered_by=user, error=error)
        return write_record(store, result, ctx, signer or Signer.from_settings())

    return make


@pytest.fixture
def forger(aims_env) -> Signer:
    """An insider's own key under the trusted key's id: what someone with write access to the store
    but not the signing key can sign with (the signature does not match the trusted public key)."""
    from tests.conftest import new_key

    _, seed, _ = new_key("forger")
    return Signer.from_seed_b64(str(settings.signing_key_id()), seed)


METHODOLOGY: dict[str, Any] = {
    "version": 1,
    "scales": {
        "likelihood": [
            {"value": v, "name": n}
            for v, n in enumerate(["rare", "unlikely", "possible", "likely", "certain"], 1)
        ],
        "impact": [
            {"value": v, "name": n}
            for v, n in enumerate(["negligible", "minor", "moderate", "major", "severe"], 1)
        ],
    },
    "score": "likelihood_x_impact",
    "levels": [
        {"name": "low", "min_score": 1},
        {"name": "medium", "min_score": 5},
        {"name": "high", "min_score": 10},
        {"name": "critical", "min_score": 20},
    ],
    "acceptance": {"appetite": 9, "max_acceptable": 16},
    "notify_from_level": "high",
    "signals": {"combination": "worst", "changes": {"ok": 0, "warning": 1, "critical": 2, "no_data": 1}},
    "nonconformities": {"closing_statuses": ["passed"]},
}


def dq_risk(**overrides: Any) -> dict[str, Any]:
    """A data quality risk moved by the share of days with critical expectation failures."""
    risk = {
        "id": "R-DQ-01",
        "ai_system": AI,
        "category": "data_quality",
        "title": "Defective data",
        "description": "Defective data reaches the model.",
        "likelihood": 2,
        "impact": 4,
        "owner": "dq-owner@example.com",
        "treatment": "mitigate",
        "controls": ["A.7.4"],
        "review_interval_days": 90,
        "last_reviewed": "2026-10-01",
        "signals": [
            {
                "id": "critical_days",
                "kind": "summary_value",
                "check": "data_quality/*",
                "dataset": CLEAN,
                "field": "failed_by_severity.critical",
                "aggregate": "share_nonzero",
                "window_days": 30,
                "warning": 0.05,
                "critical": 0.15,
                "moves": "likelihood",
            }
        ],
    }
    risk.update(overrides)
    return risk


def write_config(
    folder: Path, risks: list[dict[str, Any]], methodology: dict[str, Any] | None = None
) -> Path:
    """A config folder: the shipped inventory plus the given risk register and methodology."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("ai_systems", "certification", "datasets"):
        shutil.copy(SHIPPED / f"{name}.yaml", folder / f"{name}.yaml")
    (folder / "risk").mkdir(exist_ok=True)
    (folder / "risk" / "methodology.yaml").write_text(
        yaml.safe_dump(methodology or METHODOLOGY, sort_keys=False)
    )
    (folder / "risk" / "register.yaml").write_text(yaml.safe_dump({"risks": risks}, sort_keys=False))
    return folder


def add_ai_system(folder: Path, ai_system: str, dataset: str) -> None:
    """Add a second AI system to a config folder, with one dataset of its own (a copy of the loan
    system's raw dataset under another id)."""
    systems = yaml.safe_load((folder / "ai_systems.yaml").read_text())
    systems["ai_systems"].append({**systems["ai_systems"][0], "id": ai_system, "name": ai_system})
    (folder / "ai_systems.yaml").write_text(yaml.safe_dump(systems, sort_keys=False))
    datasets = yaml.safe_load((folder / "datasets.yaml").read_text())
    raw = next(d for d in datasets["datasets"] if d["id"] == RAW)
    datasets["datasets"].append(
        {
            **raw,
            "id": dataset,
            "ai_system": ai_system,
            "uri": raw["uri"].replace("loan_applications", dataset),
        }
    )
    (folder / "datasets.yaml").write_text(yaml.safe_dump(datasets, sort_keys=False))
