"""A crash between any two durable steps of a disposal is recovered by the next run: every deleted
object ends up certified exactly once, nothing is deleted twice, and an object a new hold covers is
put back if it had not started to be purged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from aimsflow.evidence.keys import Signer
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from aimsflow.results import Status
from aimsflow.retention.dispose import CERTIFICATE_CHECK, TOMBSTONE_CHECK, markers
from aimsflow.retention.job import EXECUTE as _EXECUTE
from aimsflow.retention.job import PLAN as _PLAN
from aimsflow.retention.job import RECOVER as _RECOVER
from aimsflow.retention.job import execute_job, plan_job, recover_job
from aimsflow.retention.objects import Locations
from tests.conftest import declared
from tests.retention._crash import STEPS, SimulatedCrash, counting, crash_at
from tests.retention.conftest import EXECUTOR, as_task_record, executor, put_partition, seal, write_evidence

plan_job = declared(_PLAN, plan_job)
execute_job = declared(_EXECUTE, execute_job)
recover_job = declared(_RECOVER, recover_job)

# The clock: 2028-03-01 00:00 UTC. Raw batches of 2027 and evidence written in cycle-2024 have expired.
PERIOD = Period.day(dt.date(2028, 2, 29))
RAW_DAYS = [dt.date(2027, 1, 1), dt.date(2027, 1, 2)]


@pytest.fixture
def world(rt_env: Path, loc: Locations, storage: LocalStorage, config: Path) -> dict[str, str]:
    """Two expired raw batches and one expired, sealed evidence record; returns object id -> kind."""
    for day in RAW_DAYS:
        put_partition(loc, "loan_applications_raw", day, f"batch {day}".encode())
    signer = Signer.from_settings()
    record = write_evidence(storage, signer, dt.date(2024, 5, 1))
    seal(storage, signer, rt_env / "witness")
    objects = {f"data/raw/loan_applications/date={d}/applications.csv": "raw" for d in RAW_DAYS}
    objects[f"evidence/{record.key}"] = "evidence"
    return objects


def run(storage: LocalStorage, run_id: str) -> None:
    """One run of the DAG: recover, plan (execute=true), execute."""
    recover_job(PERIOD, executor(run_id))
    result = plan_job(PERIOD, True, now=PERIOD.end)
    as_task_record(storage, result, PERIOD, "plan", execute=True, run_id=run_id)
    execute_job(PERIOD, executor(run_id))


def certified(storage: LocalStorage) -> list[str]:
    return [r.summary["object"] for r in load_summaries(storage) if r.check == CERTIFICATE_CHECK]


def tombstoned(storage: LocalStorage) -> list[str]:
    return [r.summary["disposed_record"] for r in load_summaries(storage) if r.check == TOMBSTONE_CHECK]


def nth_item(world: dict[str, str], kind: str) -> int:
    """1-based position of the first object of ``kind`` in the plan's (sorted) deletion order."""
    return sorted(world).index(next(o for o in sorted(world) if world[o] == kind)) + 1


def _steps_for(kind: str) -> list[str]:
    return [s for s in STEPS if kind == "evidence" or s != "write_tombstone"]


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize(
    ("kind", "step"), [(k, s) for k in ("raw", "evidence") for s in _steps_for(k)], ids=lambda v: str(v)
)
def test_a_crash_at_any_step_is_recovered_by_the_next_run(world, loc, storage, kind, step, when):
    nth = 1 if step == "write_tombstone" else nth_item(world, kind)
    with counting() as counts:
        with crash_at(step, nth, when), pytest.raises(SimulatedCrash):
            run(storage, "scheduled__1")
        run(storage, "scheduled__2")  # the next run: recovers, then plans and executes anew

    for obj in world:
        assert not loc.path_of(obj).exists(), obj
    assert sorted(certified(storage)) == sorted(world)  # every deletion certified exactly once
    assert tombstoned(storage) == [o.removeprefix("evidence/") for o in world if world[o] == "evidence"]
    assert max(counts["purge"].values()) == 1 and max(counts["take"].values()) == 1  # nothing twice
    assert sum(counts["purge"].values()) == len(world) and not counts["restore"]
    assert markers(loc) == []


@pytest.mark.parametrize("kind", ["raw", "evidence"])
@pytest.mark.parametrize(
    ("step", "when"), [("take", "after"), ("record_taken", "after"), ("mark_purging", "before")]
)
def test_an_object_taken_but_not_purging_is_put_back_when_a_hold_now_covers_it(
    world, loc, storage, config, kind, step, when
):
    target = next(o for o in sorted(world) if world[o] == kind)
    with counting() as counts:
        with crash_at(step, nth_item(world, kind), when), pytest.raises(SimulatedCrash):
            run(storage, "scheduled__1")
        assert not loc.path_of(target).exists()  # taken: gone from its URI, kept in the work area
        holds = config / "retention" / "legal_holds.yaml"
        holds.write_text(
            holds.read_text()
            + f"  - {{id: LH-9, path_prefix: '{target}', reason: court order, set_by: dpo, since: 2028-02-29}}\n"
        )
        result = recover_job(PERIOD, EXECUTOR)
        run(storage, "scheduled__2")

    assert loc.path_of(target).exists() and counts["restore"][target] == 1 and counts["purge"][target] == 0
    assert result.summary["restored"][0]["object"] == target
    assert "legal hold LH-9" in result.summary["restored"][0]["reason"]
    assert target not in certified(storage)
    others = [o for o in world if o != target]
    assert sorted(certified(storage)) == sorted(others)
    assert markers(loc) == []


def test_once_purging_has_started_a_new_hold_is_not_overridden_the_marker_is_refused(
    world, loc, storage, config
):
    """Purging had started (purging.json) when a hold came: the object can no longer be put back by the
    protocol, and the re-check before certifying now says keep. Nothing is certified or purged; the
    marker is refused and left for a human (a ``failed`` recovery record)."""
    target = next(o for o in sorted(world) if world[o] == "raw")
    with crash_at("mark_purging", 1, "after"), pytest.raises(SimulatedCrash):
        run(storage, "scheduled__1")
    holds = config / "retention" / "legal_holds.yaml"
    holds.write_text(
        holds.read_text()
        + f"  - {{id: LH-9, path_prefix: '{target}', reason: r, set_by: d, since: 2028-02-29}}\n"
    )
    result = recover_job(PERIOD, executor("scheduled__2"))
    assert result.status == Status.failed and result.summary["deleted"] == 0
    (refused,) = result.summary["refusals"]
    assert refused["object"] == target and "legal hold LH-9" in refused["reason"]
    assert "purging had started" in refused["reason"]
    assert [r for r in load_summaries(storage) if r.check == CERTIFICATE_CHECK] == []
    (marker,) = markers(loc)
    assert (marker / "payload").read_bytes().startswith(b"batch")  # not purged


def test_once_purging_has_started_the_deletion_is_certified_by_the_recovery(world, loc, storage, config):
    """The boundary: with no new hold, a disposal whose purge had started is finished and certified
    once, in the name of the run that approved it."""
    target = next(o for o in sorted(world) if world[o] == "raw")
    with crash_at("mark_purging", 1, "after"), pytest.raises(SimulatedCrash):
        run(storage, "scheduled__1")
    result = recover_job(PERIOD, executor("scheduled__2"))
    assert result.summary["objects"] == [target] and result.summary["recovered"] == 1
    (cert,) = [r.summary for r in load_summaries(storage) if r.check == CERTIFICATE_CHECK]
    assert cert["object"] == target and cert["recovered_after_interruption"] is True
    assert cert["approved_by"]["run_id"] == "scheduled__1"  # the run that approved it, not the recovery


def test_a_retry_of_the_crashed_execution_recovers_and_finishes_the_same_plan(world, loc, storage):
    recover_job(PERIOD, EXECUTOR)
    as_task_record(storage, plan_job(PERIOD, True, now=PERIOD.end), PERIOD, "plan", execute=True)
    with counting() as counts:
        with crash_at("purge", 2, "after"), pytest.raises(SimulatedCrash):
            execute_job(PERIOD, EXECUTOR)
        retry = execute_job(PERIOD, EXECUTOR)  # Airflow's retry of the same task
    assert retry.summary["recovered"] == 1 and retry.summary["deleted"] == len(world) - 1
    assert sorted(certified(storage)) == sorted(world)
    assert set(counts["purge"].values()) == {1}


def test_an_intent_never_placed_or_an_object_never_taken_leaves_nothing_behind(world, loc, storage):
    with crash_at("take", 1, "before"), pytest.raises(SimulatedCrash):
        run(storage, "scheduled__1")
    assert len(markers(loc)) == 1  # the intent is there, the object is not taken
    result = recover_job(PERIOD, EXECUTOR)
    assert result.summary["dropped_markers"] == 1 and result.summary["deleted"] == 0
    assert markers(loc) == [] and certified(storage) == []
    assert all(loc.path_of(o).exists() for o in world)


def test_a_crash_after_certifying_only_closes_the_marker(world, loc, storage):
    with crash_at("write_certificate", 1, "after"), pytest.raises(SimulatedCrash):
        run(storage, "scheduled__1")
    result = recover_job(PERIOD, EXECUTOR)
    assert result.summary["recovered"] == 1 and result.summary["certified_earlier"] == 1
    assert result.message.startswith("0 interrupted disposal(s) certified")
    assert len(certified(storage)) == 1 and markers(loc) == []
