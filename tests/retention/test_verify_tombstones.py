"""`aimsflow evidence verify` tells lawful disposal (a valid tombstone names the sealed record) apart
from tampering. The tests marked xfail need the verify patch of issue 8 (tombstone-aware coverage)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from aimsflow import settings
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.record import Producer, RecordRef, RunContext, write_record
from aimsflow.evidence.seal import Witness
from aimsflow.evidence.storage import LocalStorage
from aimsflow.evidence.verify import verify_store
from aimsflow.periods import Period
from aimsflow.results import JobResult, Status, Subject
from aimsflow.retention.dispose import TOMBSTONE_CHECK
from aimsflow.retention.job import EXECUTE as _EXECUTE
from aimsflow.retention.job import PLAN as _PLAN
from aimsflow.retention.job import execute_job, plan_job
from tests.conftest import declared, new_key
from tests.retention.conftest import EXECUTOR, as_task_record, seal, write_evidence

plan_job = declared(_PLAN, plan_job)
execute_job = declared(_EXECUTE, execute_job)

PERIOD = Period.day(dt.date(2028, 2, 29))  # clock 2028-03-01: evidence of cycle-2024 has expired
DAY = dt.date(2024, 5, 1)


def verify(period: Period | None = None):
    return verify_store(LocalStorage(settings.evidence_root()), TrustedKeys.load(), Witness(), period)


@pytest.fixture
def sealed_record(rt_env: Path, storage: LocalStorage) -> RecordRef:
    signer = Signer.from_settings()
    ref = write_evidence(storage, signer, DAY)
    write_evidence(storage, signer, DAY, dataset="loan_training_set", name="kept")  # held: stays
    seal(storage, signer, rt_env / "witness")
    return ref


def dispose(storage: LocalStorage) -> None:
    as_task_record(storage, plan_job(PERIOD, True, now=PERIOD.end), PERIOD, "plan", execute=True)
    assert execute_job(PERIOD, EXECUTOR).summary["deleted"] == 1


def test_a_sealed_record_deleted_without_tombstone_is_reported_as_deleted(sealed_record, storage):
    shutil.rmtree(storage.root / sealed_record.key)
    report = verify()
    assert not report.ok
    assert any(p.object == sealed_record.key and "(deleted record)" in p.problem for p in report.problems)


def test_a_lawfully_disposed_record_verifies_before_and_after_its_tombstone_is_sealed(
    rt_env, sealed_record, storage
):
    dispose(storage)
    pending = verify()
    assert pending.ok, pending.problems  # the tombstone is pending: evidence_seal must still pass verify
    (entry,) = pending.disposed
    assert entry["record"] == sealed_record.key and entry["sealed_in"] == 1
    assert entry["tombstone_sealed"] is False and f"/{TOMBSTONE_CHECK}/" in entry["tombstone"]
    seal(storage, Signer.from_settings(), rt_env / "witness")
    after = verify()
    assert after.ok and after.pending == [] and after.disposed[0]["tombstone_sealed"] is True
    assert verify(Period.day(DAY)).disposed[0]["record"] == sealed_record.key  # period-filtered too


def forge_tombstone(storage: LocalStorage, record: str, manifest_sha256: str, sealed_in: int, signer: Signer):
    summary = {"disposed_record": record, "manifest_sha256": manifest_sha256, "sealed_in": sealed_in}
    now = dt.datetime.now(dt.UTC)
    result = JobResult(Subject(), Status.passed, check=TOMBSTONE_CHECK, controls=("7.5.3",), summary=summary)
    return write_record(
        storage, result, RunContext(Period.day(DAY), Producer.command_run("retention"), now, now), signer
    )


def test_a_tombstone_that_does_not_match_the_sealed_manifest_is_not_a_lawful_disposal(sealed_record, storage):
    forge_tombstone(storage, sealed_record.key, "0" * 64, 1, Signer.from_settings())
    shutil.rmtree(storage.root / sealed_record.key)
    report = verify()
    assert not report.ok and report.disposed == []
    assert any(
        p.object == sealed_record.key and "not a lawful disposal" in p.problem for p in report.problems
    )


def test_a_tombstone_for_a_record_still_in_the_store_is_a_problem(sealed_record, storage):
    tomb = forge_tombstone(
        storage, sealed_record.key, sealed_record.manifest_sha256, 1, Signer.from_settings()
    )
    report = verify()
    assert any(p.object == tomb.key and "still in the store" in p.problem for p in report.problems)


def test_a_tombstone_signed_by_an_untrusted_key_does_not_excuse_a_deletion(sealed_record, storage):
    key_id, seed, _ = new_key("intruder")
    intruder = Signer.from_seed_b64(key_id, seed)
    forge_tombstone(storage, sealed_record.key, sealed_record.manifest_sha256, 1, intruder)
    shutil.rmtree(storage.root / sealed_record.key)
    report = verify()
    assert not report.ok
    assert any(p.object == sealed_record.key and "deleted record" in p.problem for p in report.problems)
    assert any("unknown key 'intruder'" in p.problem for p in report.problems)


# --- verify accepts a tombstone only with a verified certificate and a verified plan ------------------


def genuine_disposal(storage: LocalStorage) -> dict:
    """Dispose of ``sealed_record`` through a real run; return its tombstone's summary."""
    dispose(storage)
    (tomb,) = [r for r in load_summaries(storage) if r.check == TOMBSTONE_CHECK]
    return {"key": tomb.key, **tomb.summary}


def rewrite_tombstone(storage: LocalStorage, tomb: dict, **changes) -> None:
    """Replace a tombstone by one with ``changes``, signed with the trusted key at the same place — what
    a bug, or a stolen key in a recovering run, could produce."""
    from aimsflow.retention.dispose import tombstone_producer

    shutil.rmtree(storage.root / tomb["key"])
    summary = {k: v for k, v in tomb.items() if k != "key"} | changes
    producer = tombstone_producer(tomb["disposed_record"], tomb["manifest_sha256"])
    now = dt.datetime.now(dt.UTC)
    result = JobResult(Subject(), Status.passed, check=TOMBSTONE_CHECK, controls=("7.5.3",), summary=summary)
    ref = write_record(
        storage,
        result,
        RunContext(Period.from_dict(summary["record_period"]), producer, now, now),
        Signer.from_settings(),
    )
    assert ref.key == tomb["key"]


def unlawful(report, record: str) -> str:
    assert not report.ok and all(d["record"] != record for d in report.disposed)
    (problem,) = [p.problem for p in report.problems if p.object == record]
    assert "not a lawful disposal" in problem
    return problem


def test_a_trusted_tombstone_without_certificate_or_plan_is_not_a_lawful_disposal(sealed_record, storage):
    """A tombstone signed with the trusted key, right hash and seal, but naming no certificate and no
    plan: the deletion stays a deletion."""
    forge_tombstone(storage, sealed_record.key, sealed_record.manifest_sha256, 1, Signer.from_settings())
    shutil.rmtree(storage.root / sealed_record.key)
    assert "certificate" in unlawful(verify(), sealed_record.key)


def test_a_tombstone_reusing_another_disposals_plan_and_certificate_is_not_lawful(
    rt_env, sealed_record, storage
):
    """The held record is not in the plan's deletions, and the certificate is about another object."""
    tomb = genuine_disposal(storage)
    from aimsflow.retention.dispose import tombstone_producer

    (held,) = [r.key for r in load_summaries(storage) if "/kept-" in r.key]
    held_sha = storage.sha256(f"{held}/manifest.json")
    summary = {k: v for k, v in tomb.items() if k != "key"}
    forge = {**summary, "disposed_record": held, "manifest_sha256": held_sha}
    producer = tombstone_producer(held, held_sha)
    now = dt.datetime.now(dt.UTC)
    result = JobResult(Subject(), Status.passed, check=TOMBSTONE_CHECK, controls=("7.5.3",), summary=forge)
    write_record(storage, result, RunContext(Period.day(DAY), producer, now, now), Signer.from_settings())
    shutil.rmtree(storage.root / held)
    report = verify()
    assert [d["record"] for d in report.disposed] == [sealed_record.key]  # the genuine one still counts
    unlawful(report, held)


def test_a_certificate_edited_after_signing_does_not_make_the_disposal_lawful(sealed_record, storage):
    tomb = genuine_disposal(storage)
    manifest = storage.root / tomb["certificate"] / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"passed"', b'"passed" '))
    assert "certificate" in unlawful(verify(), sealed_record.key)


def test_a_disposal_before_its_plan_is_not_lawful(sealed_record, storage):
    """The plan must have listed the object as expired before the disposal."""
    tomb = genuine_disposal(storage)
    rewrite_tombstone(storage, tomb, disposed_at="2020-01-01T00:00:00+00:00")
    assert "before" in unlawful(verify(), sealed_record.key)


def test_the_boundary_a_rewritten_but_identical_tombstone_is_still_lawful(sealed_record, storage):
    tomb = genuine_disposal(storage)
    rewrite_tombstone(storage, tomb)
    report = verify()
    assert report.ok and [d["record"] for d in report.disposed] == [sealed_record.key]
