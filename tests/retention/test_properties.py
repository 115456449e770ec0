"""Property tests over random policies, holds, objects and clocks (hypothesis, 1,000 examples each).

For every example a fresh store and data root are built in a temporary folder; the plan is made,
written as a record, read back and executed, and the outcome is compared with an *oracle* written
here independently of ``aimsflow.retention.decide`` (its own date arithmetic with dateutil's
``relativedelta``, its own hold matching):

* zero wrongful deletions, and no expired, approved, unheld object left behind: the set of deleted
  objects equals the oracle's;
* every deletion covered by exactly one certificate naming the object and its SHA-256 before
  deletion, and no certificate for anything else; a tombstone for each deleted evidence record;
* a dry run (nothing approved) deletes nothing;
* an OpenLineage event file is deleted only when a sealed lineage record of its events' day lists
  its content (and it can be read), and that record is never deleted while the file is there (after
  a crash, the recovering run may be the later run that deletes it);
* with a crash injected before or after any durable step of any deletion, the next run leaves every
  deleted object certified exactly once and nothing deleted twice.

``os.fsync`` is stubbed here for speed: the crashes injected are exceptions (a killed process), not
power losses, which no test in a single process can model; the protocol's fsyncs are exercised by
every other test.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimsflow.evidence.keys import Signer
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.record import Producer, RecordRef, RunContext, write_record
from aimsflow.evidence.storage import LocalStorage
from aimsflow.lineage.archive import CHECK as LINEAGE_CHECK
from aimsflow.periods import Period
from aimsflow.results import DataRef, JobResult, Status, Subject, sha256_bytes
from aimsflow.retention.decide import Rules
from aimsflow.retention.dispose import (
    CERTIFICATE_CHECK,
    TOMBSTONE_CHECK,
    Disposer,
    execute_plan,
    markers,
    recover,
)
from aimsflow.retention.job import read_plan, scan_all
from aimsflow.retention.objects import Locations
from aimsflow.retention.plan import PLAN_FILE, make_plan
from aimsflow.retention.policy import CountsFrom, LegalHold, Method, PolicySet, RetentionPolicy
from tests.conftest import start_witness
from tests.retention._crash import STEPS, SimulatedCrash, counting, crash_at
from tests.retention.conftest import INVENTORY, as_task_record, ol_event, seal, write_evidence

BASE = dt.date(2024, 1, 1)
DATASETS = ("loan_applications_raw", "loan_applications_clean", "loan_training_set")
CLASS_OF = {d: INVENTORY.dataset(d).data_class for d in DATASETS}
CLASSES = (*sorted(set(CLASS_OF.values())), "lineage_events", "evidence")
SYSTEM = "loan_approval"  # every catalog dataset belongs to it
EXAMPLES = 1000
# A RAM-backed folder when there is one: each example creates and removes a few hundred folders.
_FAST_TMP = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


# --- the random world ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicySpec:
    amount: int
    unit: str
    counts_from: str
    auto_execute: bool
    method: str


@dataclass(frozen=True)
class Obj:
    area: str  # data | openlineage | evidence
    day: int  # created: BASE + day
    dataset: int | None = None  # index into DATASETS
    version: int | None = None  # derived partitions: version number
    unreadable: bool = False  # OpenLineage event that cannot be parsed
    archived: bool = False  # OpenLineage event listed by a sealed lineage record of its day
    protected: bool = False  # evidence record written by retention itself
    sealed: bool = True
    lineage_input: Path | None = None  # evidence: a lineage record listing this event file
    relied_on: bool = False  # evidence: that event file is readable, so it relies on this record


@dataclass(frozen=True)
class World:
    policies: dict[str, PolicySpec]
    objects: tuple[Obj, ...]
    holds: tuple[tuple[str, int, int], ...]  # (scope, target, cut)
    retired: int | None
    cycles: tuple[tuple[int, int], ...]  # (start day, length in days)
    clock: int
    execute: bool


_UNITS = {"day": 400, "week": 60, "month": 16, "year": 4}  # the largest amount drawn per unit


@st.composite
def policy_specs(draw) -> PolicySpec:
    unit = draw(st.sampled_from(sorted(_UNITS)))
    return PolicySpec(
        amount=draw(st.integers(1, _UNITS[unit])),
        unit=unit,
        # mostly counted from creation, so that many objects expire
        counts_from=draw(
            st.sampled_from(["created"] * 3 + ["ai_system_retirement", "certification_cycle_end"])
        ),
        auto_execute=draw(st.booleans()),
        method=draw(st.sampled_from([m.value for m in Method])),
    )


days = st.integers(0, 1500)
objects = st.one_of(
    st.builds(Obj, area=st.just("data"), day=days, dataset=st.just(0)),
    st.builds(Obj, area=st.just("data"), day=days, dataset=st.integers(1, 2), version=st.integers(0, 1)),
    st.builds(
        Obj,
        area=st.just("openlineage"),
        day=days,
        dataset=st.none() | st.integers(0, 2),
        unreadable=st.booleans(),
        archived=st.booleans(),
    ),
    st.builds(
        Obj,
        area=st.just("evidence"),
        day=days,
        dataset=st.none() | st.integers(0, 2),
        protected=st.sampled_from([False, False, False, True]),
        sealed=st.sampled_from([True, True, True, False]),
    ),
)
holds = st.tuples(
    st.sampled_from(["dataset", "ai_system", "prefix", "prefix"]), st.integers(0, 7), st.integers(0, 80)
)


@st.composite
def worlds(draw, always_execute: bool = False) -> World:
    chosen = set(CLASSES)
    if draw(st.integers(0, 5)) == 0:  # sometimes a class has no policy: the plan must be an error
        chosen = draw(st.sets(st.sampled_from(CLASSES)))
    return World(
        policies={c: draw(policy_specs()) for c in sorted(chosen)},
        objects=tuple(draw(st.lists(objects, min_size=1 if always_execute else 0, max_size=7, unique=True))),
        holds=tuple(draw(st.lists(holds, max_size=2))),
        retired=draw(st.none() | days),
        cycles=tuple(draw(st.lists(st.tuples(st.integers(0, 1200), st.integers(30, 1100)), max_size=2))),
        clock=1500 + draw(st.integers(-1500, 1700)),  # shrinks towards the middle, not towards day 0
        execute=True if always_execute else draw(st.booleans()),
    )


# --- building it on disk -------------------------------------------------------------------------


def _day(n: int) -> dt.date:
    return BASE + dt.timedelta(days=n)


def build(world: World, root: Path, signer: Signer) -> tuple[Locations, LocalStorage, dict[str, Obj], Rules]:
    """Write the objects; return the locations, the store, object id -> spec, and the rules."""
    loc = Locations(root / "data", root / "evidence", root / "openlineage")
    storage = LocalStorage(loc.evidence_root)
    start_witness(root)  # sealing refuses without a started witness
    ids: dict[str, Obj] = {}
    records = []
    for n, obj in enumerate(world.objects):
        if obj.area == "data":
            ds = INVENTORY.dataset(DATASETS[obj.dataset or 0])
            path = ds.partition_path(_day(obj.day), loc.data_root)
            if obj.version is not None:
                path = path / f"part-v{obj.version}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"{n} {obj}".encode())
            ids[f"data/{path.relative_to(loc.data_root).as_posix()}"] = obj
        elif obj.area == "openlineage":
            name = f"{_day(obj.day):%Y%m%d}T000000.000000Z-COMPLETE-r{n}-{n:032x}.json"
            path = loc.openlineage_root / "staging" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            facet = {"dataset": DATASETS[obj.dataset]} if obj.dataset is not None else {}
            when = dt.datetime.combine(_day(obj.day), dt.time(12), dt.UTC)
            event = ol_event(when, f"r{n}", run={"runId": f"r{n}", "facets": {"aimsflow": facet}})
            path.write_text("{broken" if obj.unreadable else json.dumps(event))
            ids[f"openlineage/staging/{name}"] = obj
            if obj.archived:  # a sealed lineage record of its day listing its content
                record = Obj("evidence", obj.day, lineage_input=path, relied_on=not obj.unreadable)
                records.append((n, record))
        else:
            records.append((n, obj))
    last_written = dt.datetime.min.replace(tzinfo=dt.UTC)
    for sealed in (True, False):  # sealed ones first, then one seal, then the rest
        for n, obj in records:
            if obj.sealed != sealed:
                continue
            written = dt.datetime.combine(_day(obj.day), dt.time(12), dt.UTC)
            last_written = max(last_written, written)
            dataset = DATASETS[obj.dataset] if obj.dataset is not None else None
            check = "retention_disposal/plan" if obj.protected else "data_quality/validate"
            if obj.lineage_input is not None:
                ref = lineage_record(storage, signer, _day(obj.day), obj.lineage_input, written)
            else:
                ref = write_evidence(
                    storage,
                    signer,
                    _day(obj.day),
                    check=check,
                    dataset=dataset,
                    ai_system=SYSTEM if dataset else None,
                    written=written,
                    name=f"r{n}",
                )
            ids[f"evidence/{ref.key}"] = obj
        if sealed and any(o.sealed for _, o in records):
            # sealed in the world's time: a record is sealed only by a checkpoint no earlier than its end
            seal(storage, signer, root / "witness", now=last_written)
    return loc, storage, ids, rules_of(world, list(ids))


def lineage_record(
    storage: LocalStorage, signer: Signer, day: dt.date, event_file: Path, written: dt.datetime
) -> RecordRef:
    """A lineage record of ``day`` listing exactly ``event_file`` (not the whole folder, as
    ``archive_day`` would: each file's archiving is drawn on its own)."""
    result = JobResult(
        Subject(),
        Status.passed,
        check=LINEAGE_CHECK,
        controls=("A.6.2.8",),
        inputs=[DataRef.of_file(event_file)],
    )
    ctx = RunContext(Period.day(day), Producer.command_run(f"lineage-{event_file.name}"), written, written)
    return write_record(storage, result, ctx, signer)


def policy_set(world: World) -> PolicySet:
    policies = {
        c: RetentionPolicy(
            data_class=c,
            retention=f"{p.amount} {p.unit}",
            counts_from=CountsFrom(p.counts_from),
            legal_basis="property test",
            method=Method(p.method),
            auto_execute=p.auto_execute,
        )
        for c, p in world.policies.items()
    }
    return PolicySet(policies, "lineage_events", Path("policies.yaml"))


def hold_list(world: World, ids: list[str]) -> list[LegalHold]:
    out = []
    for n, (scope, target, cut) in enumerate(world.holds):
        kw: dict[str, str]
        if scope == "dataset":
            kw = {"dataset": DATASETS[target % 3]}
        elif scope == "ai_system":
            kw = {"ai_system": SYSTEM if target % 4 == 0 else "other_system"}
        else:
            if not ids:
                continue
            object_id = sorted(ids)[target % len(ids)]
            area = object_id.split("/", 1)[0]
            kw = {"path_prefix": object_id[: max(len(area) + 2, len(object_id) - cut)]}
        out.append(LegalHold(id=f"H{n}", reason="property test", set_by="test", since=BASE, **kw))
    return out


def rules_of(world: World, ids: list[str]) -> Rules:
    return Rules(
        policy_set(world),
        tuple(hold_list(world, ids)),
        {SYSTEM: _day(world.retired) if world.retired is not None else None},
        tuple((f"c{n}", _day(s), _day(s + length)) for n, (s, length) in enumerate(world.cycles)),
        {d: SYSTEM for d in DATASETS},
    )


# --- the oracle ------------------------------------------------------------------------------------


def oracle_class(obj: Obj) -> str:
    if obj.area == "data":
        return CLASS_OF[DATASETS[obj.dataset or 0]]
    return "lineage_events" if obj.area == "openlineage" else "evidence"


def oracle_held(world: World, object_id: str, obj: Obj, holds_: list[LegalHold]) -> bool:
    dataset = DATASETS[obj.dataset] if obj.dataset is not None and not obj.unreadable else None
    if obj.area == "data":
        dataset = DATASETS[obj.dataset or 0]
    for h in holds_:
        if h.dataset and (obj.unreadable or h.dataset == dataset):
            return True
        if h.ai_system and (obj.unreadable or (dataset is not None and h.ai_system == SYSTEM)):
            return True
        if h.path_prefix and (
            object_id.startswith(h.path_prefix) or h.path_prefix.startswith(object_id + "/")
        ):
            return True
    return False


def oracle_expired(world: World, obj: Obj) -> bool:
    spec = world.policies[oracle_class(obj)]
    created = _day(obj.day)
    if spec.counts_from == "created":
        anchor = created
    elif spec.counts_from == "certification_cycle_end":
        ends = [_day(s + n) for s, n in world.cycles if _day(s) <= created < _day(s + n)]
        if not ends:
            return False
        anchor = ends[0]  # the first cycle listed that covers the day
    else:
        has_system = obj.area == "data" or (obj.dataset is not None and not obj.unreadable)
        if not has_system or world.retired is None:
            return False
        anchor = _day(world.retired)
    expiry = anchor + relativedelta(**{f"{spec.unit}s": spec.amount})
    return _day(world.clock) >= expiry


def oracle(world: World, ids: dict[str, Obj], holds_: list[LegalHold]) -> set[str]:
    """The objects that must be deleted (and only those may be)."""
    unprotected = {i: o for i, o in ids.items() if not (o.area == "evidence" and o.protected)}
    if any(oracle_class(o) not in world.policies for o in unprotected.values()):
        return set()  # a class without policy: the plan is an error and nothing executes
    out = set()
    for object_id, obj in unprotected.items():
        spec = world.policies[oracle_class(obj)]
        if not (world.execute or spec.auto_execute):
            continue
        if obj.area == "evidence" and not obj.sealed:
            continue
        if obj.area == "openlineage" and (obj.unreadable or not obj.archived):
            continue
        if obj.relied_on:  # a lineage record goes only in a run after its event file is gone
            continue
        if oracle_expired(world, obj) and not oracle_held(world, object_id, obj, holds_):
            out.add(object_id)
    return out


# --- running it ---------------------------------------------------------------------------------------


def content_sha(loc: Locations, object_id: str) -> str:
    path = loc.path_of(object_id)
    return sha256_bytes((path / "manifest.json" if path.is_dir() else path).read_bytes())


def run_once(
    world: World, loc: Locations, storage: LocalStorage, rules: Rules, signer: Signer, run: str
) -> None:
    """recover, plan (written as a record and read back), execute — as the DAG does."""
    disposer = Disposer(loc, storage, signer, rules, {"run_id": run})
    recover(disposer)
    scan = scan_all(INVENTORY, rules, loc, storage)
    as_of = dt.datetime.combine(_day(world.clock), dt.time(), dt.UTC)
    plan = make_plan(scan.candidates, rules, as_of, world.execute, loc, scan.findings)
    period = Period.day(_day(world.clock) - dt.timedelta(days=1))
    result = JobResult(
        Subject(),
        Status.passed,
        check="retention_disposal/plan",
        controls=("7.5.3",),
        files={PLAN_FILE: plan.to_json()},
    )
    ref = as_task_record(storage, result, period, "plan", execute=world.execute, run_id=run)
    doc, approval = read_plan(storage, ref.key)
    execute_plan(doc, approval, disposer)


def _object_id(loc: Locations, path: Path) -> str:
    return f"openlineage/{path.relative_to(loc.openlineage_root).as_posix()}"


def certificates(storage: LocalStorage) -> Counter:
    return Counter(
        (r.summary["object"], r.summary["sha256_before"])
        for r in load_summaries(storage)
        if r.check == CERTIFICATE_CHECK
    )


def check_outcome(
    world: World, root: Path, signer: Signer, crash: tuple[str, int, str] | None, stats: Counter
):
    loc, storage, ids, rules = build(world, root, signer)
    before = {i: content_sha(loc, i) for i in ids}
    data_before = sorted((p, p.read_bytes()) for p in loc.data_root.rglob("*") if p.is_file())
    expected = oracle(world, ids, list(rules.holds))
    with counting() as counts:
        if crash is None:
            run_once(world, loc, storage, rules, signer, "run1")
        else:
            step, nth, when = crash
            with crash_at(step, nth, when):
                try:
                    run_once(world, loc, storage, rules, signer, "run1")
                    stats["crash_not_reached"] += 1
                except SimulatedCrash:
                    stats["crashes"] += 1
            run_once(world, loc, storage, rules, signer, "run2")  # the next run recovers
    deleted = {i for i in ids if not loc.path_of(i).exists()}
    relied = {i: _object_id(loc, o.lineage_input) for i, o in ids.items() if o.relied_on and o.lineage_input}
    assert all(relied[i] in deleted for i in deleted & relied.keys())  # never before its event file
    if crash is not None:  # the recovering run plans after the file went: the record may go with it
        expected |= {i for i in deleted & relied.keys() if relied[i] in expected}
    assert deleted == expected, (deleted - expected, expected - deleted)
    assert certificates(storage) == Counter((i, before[i]) for i in deleted)
    tombstones = [r.summary["disposed_record"] for r in load_summaries(storage) if r.check == TOMBSTONE_CHECK]
    assert sorted(tombstones) == sorted(
        i.removeprefix("evidence/") for i in deleted if i.startswith("evidence/")
    )
    assert all(n == 1 for n in counts["purge"].values()) and all(n == 1 for n in counts["take"].values())
    assert markers(loc) == []
    if not world.execute and not any(p.auto_execute for p in world.policies.values()):
        stats["dry_runs"] += 1
        assert deleted == set()
        assert sorted((p, p.read_bytes()) for p in loc.data_root.rglob("*") if p.is_file()) == data_before
    stats["examples"] += 1
    stats["objects"] += len(ids)
    stats["deletions"] += len(deleted)
    stats["lineage_deletions"] += len([i for i in deleted if i.startswith("openlineage/")])
    stats["lineage_not_archived"] += len(
        [i for i, o in ids.items() if o.area == "openlineage" and not o.archived and i not in deleted]
    )
    stats["kept"] += len(ids) - len(deleted)
    stats["held"] += sum(oracle_held(world, i, o, list(rules.holds)) for i, o in ids.items())
    stats["errors"] += any(
        oracle_class(o) not in world.policies
        for o in ids.values()
        if not (o.area == "evidence" and o.protected)
    )


def _run_property(crashes: bool) -> Counter:
    signer = Signer.from_settings()
    stats: Counter = Counter()
    nth = st.sampled_from([1, 1, 1, 2, 3])  # which call of the step dies (the first one, mostly)
    crash_points = st.tuples(st.sampled_from(STEPS), nth, st.sampled_from(["before", "after"]))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(world=worlds(always_execute=crashes), crash=crash_points if crashes else st.none())
    def check(world: World, crash):
        with tempfile.TemporaryDirectory(dir=_FAST_TMP) as tmp:
            check_outcome(world, Path(tmp), signer, crash, stats)

    with mock.patch("os.fsync"):
        check()
    return stats


def test_no_wrongful_deletion_one_certificate_each_and_dry_runs_delete_nothing(rt_env, capsys):
    stats = _run_property(crashes=False)
    assert stats["examples"] >= EXAMPLES and stats["deletions"] > 0 and stats["dry_runs"] > 0
    assert stats["held"] > 0 and stats["errors"] > 0
    assert stats["lineage_deletions"] > 0 and stats["lineage_not_archived"] > 0
    with capsys.disabled():
        print(f"\nretention property: {dict(stats)}")


@pytest.mark.slow
def test_a_crash_at_any_step_is_recovered_certified_once_and_nothing_is_deleted_twice(rt_env, capsys):
    stats = _run_property(crashes=True)
    assert stats["examples"] >= EXAMPLES and stats["crashes"] > EXAMPLES // 4 and stats["deletions"] > 0
    with capsys.disabled():
        print(f"\nretention crash property: {dict(stats)}")
