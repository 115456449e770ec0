"""Intents: verify reports a task try that left no record (killed before it could write one)."""

from __future__ import annotations

import datetime as dt

import pytest

from aimsflow.evidence.intents import INTENTS_PREFIX, check_intents, write_intent
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.record import Producer, record_key
from aimsflow.evidence.seal import Witness, seal_pending
from aimsflow.evidence.verify import VerifyReport, verify_store
from aimsflow.periods import Period

DAY = dt.date(2026, 11, 19)
LONG_AGO = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)


def _producer(try_number: int = 1, run: str = "scheduled__2026-11-20") -> Producer:
    """The producer ``make_record`` writes with (same dag, run, task), so the keys match."""
    return Producer(
        kind="task",
        dag_id="data_quality",
        run_id=run,
        task_id="validate",
        try_number=try_number,
        max_tries=2,
        run_type="scheduled",
        run_after=LONG_AGO.isoformat(),
    )


def _intend(storage, try_number: int = 1, run: str = "scheduled__2026-11-20", started=LONG_AGO):
    producer = _producer(try_number, run)
    key = record_key(Period.day(DAY), "data_quality/validate", producer.record_id())
    return write_intent(storage, producer, key, started)


def _verify(storage):
    return verify_store(storage, TrustedKeys.load(), Witness())


def test_a_killed_try_without_a_record_is_reported_by_verify(storage, make_record):
    """Attack: a task try killed with SIGKILL (or out of memory) before writing its record left no
    trace: verify said "intact". Its intent is now reported once the grace has passed."""
    make_record(DAY, run="other-run")  # an unrelated record: the store is not empty
    intent = _intend(storage)
    report = _verify(storage)
    assert [p.object for p in report.problems] == [intent.record]
    (problem,) = report.problems
    assert (
        "left no record" in problem.problem and "try 1" in problem.problem and intent.key in problem.problem
    )


def test_a_try_that_wrote_its_record_is_not_reported_and_intents_are_not_stray_files(storage, make_record):
    """The negative case, and intents live outside ``records/``: no "files outside any record"."""
    intent = _intend(storage)
    ref = make_record(DAY, run="scheduled__2026-11-20")
    assert ref.key == intent.record
    seal_pending(storage, Signer.from_settings(), Witness())
    report = _verify(storage)
    assert report.ok, report.problems
    assert storage.exists(intent.key)


def test_a_later_try_settles_a_killed_one_but_a_later_run_does_not(storage, make_record):
    """Try 1 killed, try 2 (the retry, or the run of a cleared task) wrote a record: the task instance
    has its record. A record of another run of the same task is no excuse."""
    _intend(storage, try_number=1)
    make_record(DAY, run="another_run", try_number=2)
    assert not _verify(storage).ok
    make_record(DAY, run="scheduled__2026-11-20", try_number=2)
    assert _verify(storage).ok


def test_an_earlier_try_does_not_settle_a_later_one(storage, make_record):
    make_record(DAY, try_number=1)
    _intend(storage, try_number=2)
    assert not _verify(storage).ok


def test_grace_boundary(storage):
    """A try younger than the grace may still be running (or writing its record after a timeout): not
    reported; at exactly the grace it is."""
    intent = _intend(storage)
    grace = dt.timedelta(hours=2)

    def found(now: dt.datetime) -> list[str]:
        report = VerifyReport()
        check_intents(storage, set(), report, now, grace=grace)
        return [p.object for p in report.problems]

    assert found(intent.started_at + grace - dt.timedelta(seconds=1)) == []
    assert found(intent.started_at + grace) == [intent.record]


def test_default_grace_is_the_task_timeout_plus_a_margin(storage, monkeypatch):
    from aimsflow import settings

    monkeypatch.setenv("AIMSFLOW_TASK_TIMEOUT_SECONDS", "600")
    assert settings.intent_grace_seconds() == 600 + settings.INTENT_GRACE_MARGIN_SECONDS
    monkeypatch.setenv("AIMSFLOW_INTENT_GRACE_SECONDS", "0")
    assert settings.intent_grace_seconds() == 0


def test_a_lawfully_disposed_record_counts_as_written(storage):
    intent = _intend(storage)
    report = VerifyReport()
    report.disposed.append(
        {"record": intent.record, "sealed_in": 1, "tombstone": "t", "tombstone_sealed": True}
    )
    check_intents(storage, set(), report, LONG_AGO + dt.timedelta(days=400), grace=dt.timedelta(0))
    assert report.ok


def test_unreadable_or_moved_intents_are_reported(storage):
    intent = _intend(storage)
    storage.put_once(f"{INTENTS_PREFIX}/2026-11-20/garbage.json", b"{not json")
    moved = f"{INTENTS_PREFIX}/2026-11-21/{intent.key.rsplit('/', 1)[-1]}"
    storage.put_once(moved, storage.get(intent.key))
    report = VerifyReport()
    check_intents(storage, {intent.record}, report, LONG_AGO, grace=dt.timedelta(0))
    problems = {p.object: p.problem for p in report.problems}
    assert set(problems) == {f"{INTENTS_PREFIX}/2026-11-20/garbage.json", moved}
    assert "unreadable intent" in problems[f"{INTENTS_PREFIX}/2026-11-20/garbage.json"]


def test_writing_an_intent_twice_keeps_the_first(storage):
    first = _intend(storage)
    again = _intend(storage, started=LONG_AGO)
    assert first.key == again.key and storage.list_files(INTENTS_PREFIX) == [first.key.split("/", 1)[1]]


def test_period_filtered_verify_checks_only_the_periods_intents(storage):
    intent = _intend(storage)
    report = VerifyReport()
    check_intents(storage, set(), report, LONG_AGO, grace=dt.timedelta(0), period=Period.day(DAY))
    assert [p.object for p in report.problems] == [intent.record]
    report = VerifyReport()
    later = Period.day(DAY + dt.timedelta(days=3))
    check_intents(storage, set(), report, LONG_AGO, grace=dt.timedelta(0), period=later)
    assert report.ok


@pytest.mark.parametrize("kind", ["command"])
def test_only_task_tries_write_intents(storage, kind):
    with pytest.raises(ValueError, match="task tries"):
        write_intent(storage, Producer.command_run("x"), "records/x", LONG_AGO)
