"""A small store for the evidence pages: two DAG runs (one with a retried and a mapped task), a
command record, a seal over some of them, and a forged folder that claims to be from the first run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from aimsflow import settings
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import RecordRef
from aimsflow.evidence.seal import Witness, seal_pending
from aimsflow.evidence.storage import LocalStorage
from aimsflow.results import Status
from tests.conftest import new_key
from tests.ui.records import write

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
