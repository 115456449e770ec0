"""A store with records of several checks, controls, datasets and statuses over 2026-Q3, sealed in
two seals and witnessed: what the sampling and export tests draw from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from aimsflow import settings
from aimsflow.cli import main
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import Producer, RecordRef, RunContext, write_record
from aimsflow.evidence.seal import Witness, seal_pending
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from aimsflow.results import DataRef, JobResult, SpecRef, Status, Subject, sha256_bytes

# (check, controls, dag, dataset, status) of the record kinds; days vary per record.
KINDS = [
    ("data_quality/validate", ("A.7.4",), "data_quality", "loans", Status.passed),
    ("data_quality/validate", ("A.7.4",), "data_quality", "scores", Status.failed),
    ("bias_assessment/assess", ("A.7.4", "A.5.4"), "bias_assessment", "loans", Status.warning),
    ("data_provenance/version", ("A.7.5",), "data_provenance", "loans", Status.passed),
    ("evidence_seal/verify", ("7.5.3",), "evidence_seal", None, Status.passed),
]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code)
    out, err = capsys.readouterr()
    return code, out, err


@dataclass
class Store:
    storage: LocalStorage
    refs: list[RecordRef]
    root: Path
    make: Callable[..., RecordRef]

    def seal(self) -> None:
        seal_pending(self.storage, Signer.from_settings(), Witness())


def record_maker(root: Path, default_signer: Signer | None = None) -> Callable[..., RecordRef]:
    """A function writing one task record into the configured store (a spec and an input under ``root``)."""
    storage = LocalStorage(settings.evidence_root())
    spec = root / "suite.yaml"
    spec.write_text("expectations: [not_null]\n")
    data = root / "input.csv"
    data.write_text("a,b\n1,2\n")

    def make_record(
        day: dt.date,
        check: str = "data_quality/validate",
        controls: tuple[str, ...] = ("A.7.4",),
        dag: str = "data_quality",
        dataset: str | None = "loans",
        status: Status = Status.passed,
        run_id: str | None = None,
        try_number: int = 1,
        signer: Signer | None = None,
        run_after: dt.datetime | None = None,
    ) -> RecordRef:
        result = JobResult(
            check=check,
            subject=Subject(
                "loan_approval" if dataset else None, dataset, day.isoformat() if dataset else None
            ),
            status=status,
            controls=controls,
            summary={"rows": 2},
            files={"summary.json": b'{"rows": 2}\n', "detail/notes.txt": f"{check} {day}\n".encode()},
            inputs=[DataRef.of_file(data, rows=1, dataset=dataset)],
            specs=[SpecRef.of_file(spec)],
            message=f"{check} on {dataset} {day}: {status}",
        )
        when = run_after or dt.datetime.combine(day + dt.timedelta(days=1), dt.time(1), dt.UTC)
        producer = Producer(
            kind="task",
            dag_id=dag,
            run_id=run_id or f"scheduled__{day.isoformat()}",
            task_id=check.split("/")[1],
            map_index=["loans", "scores"].index(dataset) if dataset else -1,  # one mapped try per dataset
            try_number=try_number,
            max_tries=2,
            run_type="scheduled",
            run_after=when.isoformat(),
        )
        now = dt.datetime.now(dt.UTC)
        ctx = RunContext(
            Period.day(day),
            producer,
            now,
            now,
            triggered_by="tester",
            params={"dataset": dataset},
            openlineage={
                "run_id": "lineage-" + sha256_bytes(f"{check} {day} {dataset} {try_number}".encode())[:16],
                "sent": True,
            },
        )
        return write_record(storage, result, ctx, signer or default_signer or Signer.from_settings())

    return make_record


@pytest.fixture
def make(aims_env) -> Callable[..., RecordRef]:
    return record_maker(aims_env)


def build_store(root: Path, make: Callable[..., RecordRef]) -> Store:
    """25 records in July-September 2026 (5 kinds x 5 days), sealed in two seals, plus one in June."""
    storage = LocalStorage(settings.evidence_root())
    refs = []
    days = [
        dt.date(2026, 7, 3),
        dt.date(2026, 7, 20),
        dt.date(2026, 8, 9),
        dt.date(2026, 9, 1),
        dt.date(2026, 9, 28),
    ]
    for i, day in enumerate(days):
        for check, controls, dag, dataset, status in KINDS:
            refs.append(make(day, check, controls, dag, dataset, status))
        if i == 2:
            seal_pending(storage, Signer.from_settings(), Witness())
    refs.append(make(dt.date(2026, 6, 30)))  # outside 2026-Q3
    seal_pending(storage, Signer.from_settings(), Witness())
    return Store(storage, refs, root, make)


@pytest.fixture
def store(aims_env, make) -> Store:
    return build_store(aims_env, make)
