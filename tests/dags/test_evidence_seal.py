"""dag.test() runs of evidence_seal: verify writes a record, seal chains every unsealed record."""

from __future__ import annotations

import datetime as dt

import pytest

from aimsflow import settings
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.record import Producer, RunContext, write_record
from aimsflow.evidence.seal import Witness, seal_sequences
from aimsflow.evidence.storage import LocalStorage
from aimsflow.evidence.verify import verify_store
from aimsflow.periods import Period
from aimsflow.results import JobResult, Status, Subject

pytestmark = pytest.mark.slow
DAY = dt.date(2026, 11, 20)


def _some_record(storage: LocalStorage) -> None:
    now = dt.datetime.now(dt.UTC)
    write_record(
        storage,
        JobResult(
            Subject(dataset="x"),
            Status.passed,
            check="data_quality/validate",
            controls=("A.7.4",),
            files={"a.txt": b"a"},
        ),
        RunContext(Period.day(DAY), Producer.command_run("test"), now, now),
        Signer.from_settings(),
    )


def test_seal_run_verifies_records_and_extends_the_chain(aims_env, dagbag):
    storage = LocalStorage(settings.evidence_root())
    _some_record(storage)
    dag = dagbag.get_dag("evidence_seal")
    assert str(dag.test(logical_date=Period.day(DAY).end).state) == "success"
    assert seal_sequences(storage) == [1]
    verify_records = [r for r in load_summaries(storage) if r.check == "evidence_seal/verify"]
    assert [str(r.status) for r in verify_records] == ["passed"]
    assert Witness().read().sequence == 1

    _some_record(storage)
    assert str(dag.test(logical_date=Period.day(DAY).end + dt.timedelta(days=1)).state) == "success"
    assert seal_sequences(storage) == [1, 2]
    report = verify_store(storage, TrustedKeys.load(), Witness())
    assert report.ok and report.pending == []


def test_tampered_store_fails_verify_and_is_not_sealed_over(aims_env, dagbag):
    storage = LocalStorage(settings.evidence_root())
    _some_record(storage)
    dag = dagbag.get_dag("evidence_seal")
    dag.test(logical_date=Period.day(DAY).end)
    target = next(storage.root.rglob("a.txt"))
    target.write_text("tampered")
    run = dag.test(logical_date=Period.day(DAY).end + dt.timedelta(days=1))
    assert str(run.state) == "failed"
    failed = [
        r for r in load_summaries(storage) if r.check == "evidence_seal/verify" and r.status == Status.failed
    ]
    assert len(failed) == 1 and failed[0].producer["try_number"] == 1  # a finding: no retry
    assert seal_sequences(storage) == [1]


def test_seal_refused_by_the_witness_writes_a_failed_record_and_seals_nothing(aims_env, dagbag):
    """Issue 12: sealing refuses — a ``failed`` record, nothing sealed — when the witness does not
    accept the store. Here the witness is gone while the store holds only fresh records, so verify
    passes (nothing is older than one seal interval) and the seal itself must refuse."""
    import shutil

    storage = LocalStorage(settings.evidence_root())
    _some_record(storage)
    shutil.rmtree(aims_env / "witness")
    run = dagbag.get_dag("evidence_seal").test(logical_date=Period.day(DAY).end)
    assert str(run.state) == "failed"
    assert seal_sequences(storage) == []
    seals = [r for r in load_summaries(storage) if r.check == "evidence_seal/seal"]
    assert [str(r.status) for r in seals] == ["failed"] and seals[0].producer["try_number"] == 1
    assert "witness never started" in seals[0].summary["refused_seal"]["problem"]


def test_a_normal_seal_run_leaves_nothing_pending(aims_env, dagbag):
    storage = LocalStorage(settings.evidence_root())
    _some_record(storage)
    assert str(dagbag.get_dag("evidence_seal").test(logical_date=Period.day(DAY).end).state) == "success"
    seals = [r for r in load_summaries(storage) if r.check == "evidence_seal/seal"]
    assert [str(r.status) for r in seals] == ["passed"] and seals[0].sealed_in == 1
    report = verify_store(storage, TrustedKeys.load(), Witness())
    assert report.ok and report.pending == [] and Witness().read().tree_size == report.records_checked
