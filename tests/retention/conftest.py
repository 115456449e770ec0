"""Retention fixtures: every location under tmp_path, the project's inventory, small object factories."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from aimsflow import settings
from aimsflow.catalog import Inventory, load_inventory
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import Producer, RecordRef, RunContext, write_record
from aimsflow.evidence.seal import SealResult, Witness, seal_pending
from aimsflow.evidence.storage import LocalStorage
from aimsflow.lineage.archive import archive_day
from aimsflow.periods import Period
from aimsflow.results import JobResult, Status, Subject
from aimsflow.retention.objects import Locations
from tests.conftest import PROJECT

INVENTORY: Inventory = load_inventory(PROJECT / "include" / "config")


@pytest.fixture
def rt_env(aims_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``aims_env`` plus the OpenLineage folder under tmp_path."""
    monkeypatch.setenv("AIMSFLOW_OPENLINEAGE_ROOT", str(aims_env / "openlineage"))
    return aims_env


@pytest.fixture
def loc(rt_env: Path) -> Locations:
    return Locations.from_settings()


@pytest.fixture
def storage(rt_env: Path) -> LocalStorage:
    return LocalStorage(settings.evidence_root())


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project's config folder (inventory, policies, holds) that a test may edit."""
    target = tmp_path / "config"
    shutil.copytree(PROJECT / "include" / "config", target)
    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(target))
    return target


def put_partition(
    loc: Locations, dataset: str, day: dt.date, content: bytes = b"a,b\n1,2\n", version: str | None = None
) -> Path:
    """A raw batch file, or (with ``version``) one version file of a derived partition folder."""
    path = INVENTORY.dataset(dataset).partition_path(day, loc.data_root)
    if version is not None:
        path = path / f"part-{version}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def write_evidence(
    storage: LocalStorage,
    signer: Signer,
    day: dt.date,
    *,
    check: str = "data_quality/validate",
    dataset: str | None = "loan_applications_raw",
    ai_system: str | None = "loan_approval",
    written: dt.datetime | None = None,
    name: str = "test",
) -> RecordRef:
    written = written or dt.datetime.combine(day + dt.timedelta(days=1), dt.time(1), dt.UTC)
    result = JobResult(
        Subject(ai_system, dataset, day.isoformat()),
        Status.passed,
        check=check,
        controls=("A.7.4",),
        files={"a.txt": b"a"},
    )
    ctx = RunContext(Period.day(day), Producer.command_run(name), written, written)
    return write_record(storage, result, ctx, signer)


def seal(
    storage: LocalStorage, signer: Signer, witness_dir: Path, now: dt.datetime | None = None
) -> SealResult:
    return seal_pending(storage, signer, Witness(witness_dir), now)


def as_task_record(
    storage: LocalStorage,
    result: JobResult,
    period: Period,
    task_id: str,
    *,
    user: str = "alice",
    execute: bool = False,
    run_id: str = "manual__2026-07-01",
    try_number: int = 1,
) -> RecordRef:
    """Write a job's result as the retention_disposal task would (a task producer, the run's Params)."""
    producer = Producer(
        kind="task",
        dag_id="retention_disposal",
        run_id=run_id,
        task_id=task_id,
        try_number=try_number,
        max_tries=2,
        run_type="manual",
        run_after=period.end.isoformat(),
        user=user,
    )
    now = dt.datetime.now(dt.UTC)
    ctx = RunContext(period, producer, now, now, triggered_by=user, params={"execute": execute})
    return write_record(storage, result, ctx, Signer.from_settings())


EXECUTOR = {
    "kind": "task",
    "dag_id": "retention_disposal",
    "run_id": "manual__2026-07-01",
    "task_id": "execute",
}


# --- OpenLineage event files and their lineage records ----------------------------------------------


def ol_event(when: dt.datetime, run_id: str = "run-1", event_type: str = "COMPLETE", **extra) -> dict:
    """A minimal OpenLineage run event at ``when``."""
    return {
        "eventTime": when.isoformat(),
        "eventType": event_type,
        "job": {"namespace": "aimsflow", "name": "data_preparation.clean"},
        "run": {"runId": run_id, "facets": {}},
        "inputs": [],
        "outputs": [],
        "producer": "https://aimsflow.dev/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        **extra,
    }


def put_events(loc: Locations, name: str, *events: dict) -> Path:
    """One event file under the OpenLineage root: one JSON object, or JSON lines for several."""
    path = loc.openlineage_root / "staging" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def archive_lineage(storage: LocalStorage, signer: Signer, day: dt.date, loc: Locations) -> RecordRef:
    """The lineage record of ``day`` as the evidence_seal task would write it (not sealed yet)."""
    period = Period.day(day)
    result = archive_day(period, events_dir=loc.openlineage_root, now=period.end)
    ctx = RunContext(period, Producer.command_run("lineage-archive"), period.end, period.end)
    return write_record(storage, result, ctx, signer)


def executor(run_id: str = "manual__2026-07-01", task_id: str = "execute") -> dict:
    """``executed_by`` of a retention_disposal task of run ``run_id``."""
    return {"kind": "task", "dag_id": "retention_disposal", "run_id": run_id, "task_id": task_id}


def add_hold(config: Path, hold_id: str, scope: str) -> None:
    """Append a legal hold (``scope``: one YAML ``key: value``) to the test's legal_holds.yaml."""
    holds = config / "retention" / "legal_holds.yaml"
    holds.write_text(
        holds.read_text() + f"  - {{id: {hold_id}, {scope}, reason: r, set_by: dpo, since: 2028-02-29}}\n"
    )
