"""A small store for the evidence pages: two DAG runs (one with a retried and a mapped task), a
command record, a seal over some of them, and a forged folder that claims to be from the first run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from aimsflow import settings
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import Producer, RecordRef, RunContext, write_record
from aimsflow.evidence.seal import Witness, seal_pending
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from aimsflow.results import JobResult, Status, Subject
from tests.conftest import new_key

DAY = dt.date(2026, 11, 19)
RUN = "scheduled__2026-11-20T00:00:00+00:00"
OTHER_RUN = "manual__2026-11-21T08:00:00+00:00"


@dataclass
class Store:
    root: Path
    storage: LocalStorage
    refs: dict[str, RecordRef] = field(default_factory=dict)
    forged: str = ""

    def key(self, name: str) -> str:
        return self.refs[name].key


def write(
    storage: LocalStorage,
    signer: Signer,
    *,
    check: str,
    status: Status,
    controls: tuple[str, ...],
    dag_id: str | None = None,
    run_id: str | None = None,
    task_id: str | None = None,
    try_number: int = 1,
    map_index: int = -1,
    dataset: str | None = "loan_applications_clean",
    day: dt.date = DAY,
    files: dict[str, bytes] | None = None,
    message: str = "",
    run_after: str = "2026-11-20T00:00:00+00:00",
) -> RecordRef:
    result = JobResult(
        check=check,
        subject=Subject("loan_approval", dataset, day.isoformat() if dataset else None),
        status=status,
        controls=controls,
        summary={"rows": 396, "expectations_failed": 0 if status == Status.passed else 2},
        message=message or f"{check} {status}",
        files=files
        if files is not None
        else {"summary.json": b'{"rows": 396}\n', "report/page.html": b"<p>ok"},
    )
    if dag_id is None:
        producer = Producer.command_run("acquisition", user="alice")
    else:
        producer = Producer(
            kind="task",
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            map_index=map_index,
            try_number=try_number,
            max_tries=2,
            run_type="scheduled",
            run_after=run_after,
        )
    now = dt.datetime.now(dt.UTC)
    return write_record(storage, result, RunContext(Period.day(day), producer, now, now), signer)


@pytest.fixture
def store(aims_env) -> Store:
    """Records of run RUN of data_quality: validate[0] passed, validate[1] failed on try 1 and
    passed on try 2 (the retry), profile warning; run OTHER_RUN of bias_assessment: assess error;
    a command record (data_provenance/acquisition). Everything but the last two is sealed. Plus
    a forged folder claiming RUN (signed by a key nobody trusts)."""
    storage, signer = LocalStorage(settings.evidence_root()), Signer.from_settings()
    s = Store(aims_env, storage)
    dq = {"dag_id": "data_quality", "run_id": RUN, "check": "data_quality/validate"}
    s.refs["v0"] = write(
        storage, signer, **dq, task_id="validate", map_index=0, status=Status.passed, controls=("A.7.4",)
    )
    s.refs["v1_try1"] = write(
        storage,
        signer,
        **dq,
        task_id="validate",
        map_index=1,
        status=Status.failed,
        controls=("A.7.4",),
        dataset="loan_training_set",
    )
    s.refs["v1_try2"] = write(
        storage,
        signer,
        **dq,
        task_id="validate",
        map_index=1,
        try_number=2,
        status=Status.passed,
        controls=("A.7.4",),
        dataset="loan_training_set",
    )
    s.refs["profile"] = write(
        storage,
        signer,
        dag_id="data_quality",
        run_id=RUN,
        task_id="profile",
        check="data_quality/profile",
        status=Status.warning,
        controls=("A.6.2.6", "A.7.4"),
    )
    seal_pending(storage, signer, Witness())
    s.refs["assess"] = write(
        storage,
        signer,
        dag_id="bias_assessment",
        run_id=OTHER_RUN,
        task_id="assess",
        check="bias_assessment/assess",
        status=Status.error,
        controls=("A.5.4",),
        dataset="loan_training_set",
        day=dt.date(2026, 11, 20),
        run_after="2026-11-21T08:00:00+00:00",
    )
    s.refs["acquisition"] = write(
        storage,
        signer,
        check="data_provenance/acquisition",
        status=Status.passed,
        controls=("A.7.3",),
        dataset="loan_applications_raw",
    )
    # Forged: a record signed by a key that is not trusted, claiming to be another try of RUN.
    _, seed, _ = new_key("intruder")
    forged = write(
        storage,
        Signer.from_seed_b64("intruder", seed),
        **dq,
        task_id="validate",
        map_index=0,
        try_number=3,
        status=Status.passed,
        controls=("A.7.4",),
    )
    s.forged = forged.key
    return s


def edit(store: Store, name: str, path: str, content: bytes) -> None:
    (store.root / "evidence" / store.key(name) / path).write_bytes(content)


def symlink(store: Store, name: str, path: str, target: Path) -> None:
    file = store.root / "evidence" / store.key(name) / path
    file.unlink()
    file.symlink_to(target)
