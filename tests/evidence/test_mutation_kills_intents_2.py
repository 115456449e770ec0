"""Tests that notice, second round: survivors of ``make mutation`` (target evidence, see
docs/mutation.md) in ``evidence/intents.py``: which intents ``check_intents`` counts and reports
(the problems ``aimsflow evidence verify`` prints for a task try that left no record), and what it
returns. Each docstring names the mutants it kills (function, change)."""

from __future__ import annotations

import datetime as dt

from aimsflow.evidence.intents import INTENTS_PREFIX, IntentCheck, check_intents, write_intent
from aimsflow.evidence.record import record_key
from aimsflow.evidence.verify import VerifyReport
from aimsflow.periods import Period
from tests.evidence.test_intents import DAY, LONG_AGO, _intend, _producer

GRACE = dt.timedelta(hours=1)
NOW = LONG_AGO + dt.timedelta(days=1)


def _check(storage, record_folders: set[str], period: Period | None = None):
    report = VerifyReport()
    found = check_intents(storage, record_folders, report, NOW, grace=GRACE, period=period)
    return found, [(p.object, p.problem) for p in report.problems]


def test_check_intents_returns_how_many_it_checked_and_which_left_no_record(storage):
    """Four intents: one whose record is there, one still inside the grace, one that left no record,
    one of another period (left out when a period is given); plus an unreadable one. Counted: the
    intents of the period checked (readable, in place), whatever their outcome; unrecorded: the key
    of the one reported. Kills intents.check_intents ``checked = 0`` -> ``1``, ``checked += 1`` ->
    ``= 1`` / ``-= 1`` / ``+= 2``, ``IntentCheck(checked, ...)`` -> ``IntentCheck(None, ...)``,
    ``tuple(unrecorded)`` -> ``None`` and ``unrecorded.append(key)`` -> ``append(None)``."""
    recorded = _intend(storage, try_number=1, run="r-recorded")
    young = _intend(storage, try_number=1, run="r-young", started=NOW - GRACE + dt.timedelta(seconds=1))
    lost = _intend(storage, try_number=1, run="r-lost")
    producer = _producer(1, "r-other-day")
    other_day = DAY + dt.timedelta(days=3)
    elsewhere = record_key(Period.day(other_day), "data_quality/validate", producer.record_id())
    other = write_intent(storage, producer, elsewhere, LONG_AGO)
    storage.put_once(f"{INTENTS_PREFIX}/2026-11-20/garbage.json", b"{not json")

    found, problems = _check(storage, {recorded.record}, Period.day(DAY))
    assert found == IntentCheck(3, (lost.key,))
    assert sorted(obj for obj, _ in problems) == [f"{INTENTS_PREFIX}/2026-11-20/garbage.json", lost.record]
    assert young.record not in dict(problems)
    assert dict(problems)[lost.record] == (
        f"task data_quality.validate of run r-lost, try 1, started {LONG_AGO.isoformat()} and left no "
        f"record (killed before it could write one?); intent {lost.key}. Clear the task in Airflow to run "
        "it again: the new try's record settles this"
    )

    found, problems = _check(storage, {recorded.record})
    assert found == IntentCheck(4, tuple(sorted((lost.key, other.key))))


def test_hidden_files_under_intents_are_skipped_at_any_depth(storage):
    """Temp files of an interrupted write are skipped by their own name: directly under ``intents/``,
    in a day folder, or deeper. Nothing is reported and nothing counted. Kills intents.check_intents
    ``name.rsplit("/", 1)[-1]`` -> ``[+1]`` (a file directly under ``intents/`` has no second part:
    verify crashed) and -> ``name.split("/", 1)[-1]`` (``<day>/sub/.tmp`` was read as an intent and
    reported unreadable)."""
    for name in (".tmp-1", "2026-11-20/.tmp-2", "2026-11-20/sub/.tmp-3"):
        storage.put_once(f"{INTENTS_PREFIX}/{name}", b"{partial")
    assert _check(storage, set()) == (IntentCheck(0, ()), [])


def test_a_record_of_the_same_try_is_not_a_later_try(storage):
    """An intent (unsigned: anyone may write one) naming a record that is not its try's own record
    id, beside the record its try does have: the same try is not a later try, so the intent's record
    stays missing and is reported; a record of try 2 settles it. Kills intents._later_tries
    ``int(match[1]) <= intent.try_number`` -> ``<`` (the same try counted as a later one)."""
    producer = _producer(1)
    parent = record_key(Period.day(DAY), "data_quality/validate", "x").rsplit("/", 1)[0]
    intent = write_intent(storage, producer, f"{parent}/not-its-record", LONG_AGO)
    same_try = f"{parent}/{producer.record_id()}"
    found, problems = _check(storage, {same_try})
    assert found == IntentCheck(1, (intent.key,)) and [obj for obj, _ in problems] == [intent.record]
    later_try = f"{parent}/{_producer(2).record_id()}"
    assert _check(storage, {same_try, later_try}) == (IntentCheck(1, ()), [])


def test_an_intents_producer_is_its_own_try_unless_another_is_named(storage):
    """``Intent.producer()``: the producer of the intent's own try (whose record id is the one the
    intent names); ``producer(n)``: the same task instance's try ``n``. Kills intents.Intent.producer
    ``self.try_number if try_number is None else try_number`` -> ``... if (try_number is None) and
    False else try_number`` (no try number at all)."""
    intent = _intend(storage, try_number=2)
    assert intent.producer().try_number == 2
    assert intent.producer().record_id() == intent.record.rsplit("/", 1)[1]
    assert intent.producer(3).try_number == 3
