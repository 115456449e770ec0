"""The seal job's warning, the sealer's plan, ``sealed_keys`` and the witness's checks and state file
(``evidence/job.py``: ``seal``; ``evidence/seal.py``: ``_seal_locked``, ``sealed_keys``;
``evidence/witness.py``: ``accept``, ``init_witness``, ``WitnessState.as_dict``), pinned where
mutation testing found them unchecked (``make mutation``, target evidence, second pass). Each test
names the mutants it kills (function, change)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time

import pytest

from aimsflow import settings
from aimsflow.evidence import job
from aimsflow.evidence.checkpoint import Checkpoint, sign_note
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.record import Producer, RunContext, write_record
from aimsflow.evidence.seal import (
    SealPlan,
    Witness,
    read_seal,
    record_keys,
    seal_pending,
    seal_sequences,
    sealed_keys,
)
from aimsflow.evidence.tlog import scan_log
from aimsflow.evidence.verify import verify_store
from aimsflow.evidence.witness import WitnessRefused, accept, init_witness
from aimsflow.periods import Period
from tests.conftest import new_key
from tests.evidence.test_cli_log import run
from tests.evidence.test_mutation_kills_job import DAY, _writer
from tests.evidence.test_mutation_kills_store import _rewrite
from tests.evidence.test_seal_log import format_1_store  # noqa: F401 (a fixture)


def _seal(storage, **kw):
    return seal_pending(storage, Signer.from_settings(), Witness(), **kw)


# --- job.seal: records the seal leaves out at the checkpoint time -----------------------------------


def test_seal_job_warns_naming_records_refused_only_at_the_checkpoint_time(storage, make_record, caplog):
    """The job's own record, written under the lock after the plan was judged, is signed by a key no
    one trusts: the plan (and the record) could not name it, the seal leaves it out, and the job's log
    says so, naming it: "the seal also left out ['<key>'] (refused at the checkpoint time); they stay
    pending". A record refused in the plan already is not repeated there; a clean run warns of nothing.
    Kills job.seal ``late = ...`` -> ``None`` (no warning), the warning's format -> ``None`` /
    dropped / ``"XX...XX"`` / upper case, its argument ``sorted(late)`` -> ``None`` / ``sorted(None)``
    / dropped (a logging error)."""
    _, seed, _ = new_key("rogue")
    rogue = Signer.from_seed_b64("rogue", seed)
    early = make_record(run="r1", signer=rogue)  # refused in the plan: named by the record, not the log
    make_record(dt.date(2026, 11, 20), run="r2")
    own: list = []

    def write(result):
        result.check, result.controls = "evidence_seal/seal", ("7.5.3",)
        now = dt.datetime.now(dt.UTC)
        ctx = RunContext(Period.day(now.date()), Producer.command_run("seal-test"), now, now)
        ref = write_record(storage, result, ctx, rogue)
        own.append(ref)
        return ref

    with caplog.at_level(logging.WARNING, logger="aimsflow.evidence.job"):
        result = job.seal(DAY, write_record=write)
    assert [r["record"] for r in result.summary["refused"]] == [early.key]
    warnings = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert warnings == [
        (
            "aimsflow.evidence.job",
            logging.WARNING,
            f"the seal also left out {[own[0].key]} (refused at the checkpoint time); they stay pending",
        )
    ]
    assert own[0].key not in sealed_keys(storage) and early.key not in sealed_keys(storage)

    caplog.clear()
    make_record(dt.date(2026, 11, 21), run="r3")
    with caplog.at_level(logging.WARNING, logger="aimsflow.evidence.job"):
        job.seal(DAY, write_record=_writer(storage, []))
    assert caplog.records == []


# --- seal._seal_locked: the plan handed to before_seal ------------------------------------------------


def test_the_plan_before_a_seal_names_the_time_its_records_were_judged_at(storage, make_record):
    """``before_seal`` gets what the seal is about to take in, judged at the checkpoint time it names:
    a record that ended after that time is refused, and the plan says at which time. Kills
    seal._seal_locked ``SealPlan(..., provisional)`` -> ``None``."""
    at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ok = make_record(run="r1", ended_at=at)
    late = make_record(dt.date(2026, 11, 20), run="r2", ended_at=at + dt.timedelta(seconds=1))
    plans: list[SealPlan] = []
    _seal(storage, now=at, before_seal=plans.append)
    assert len(plans) == 1
    plan = plans[0]
    assert plan.checkpoint_time == at
    assert plan.pending == tuple(sorted([ok.key, late.key]))
    later = (at + dt.timedelta(seconds=1)).isoformat()
    assert [(r.key, r.problem) for r in plan.refused] == [
        (late.key, f"ended_at {later} is after the checkpoint time {at.isoformat()}")
    ]
    assert set(sealed_keys(storage)) == {ok.key}


# --- seal.sealed_keys: a seal body without leaves ------------------------------------------------------


def test_a_seal_body_without_leaves_seals_nothing_and_breaks_no_listing(storage, make_record):
    """Seal 2's body rewritten without ``leaves`` (re-signed): ``sealed_keys`` still maps seal 1's record
    and the counting listing (``load_summaries``: the driver's and the retention CLI's counts) still
    reads every record, the second one pending. Kills seal.sealed_keys ``body.get("leaves", [])`` ->
    ``None`` / no default (TypeError on iterating None)."""
    first = make_record(run="r1")
    _seal(storage)
    second = make_record(dt.date(2026, 11, 20), run="r2")
    _seal(storage)
    _rewrite(storage, 2, lambda b: b.pop("leaves"))
    assert "leaves" not in read_seal(storage, 2)[1]
    assert sealed_keys(storage) == {first.key: 1}
    listed = {r.key: r.sealed_in for r in load_summaries(storage)}
    assert listed[second.key] is None and listed[first.key] is not None


# --- witness.accept: the tree size boundary and a body without tree_size_before ----------------------


def _two_seals(storage, make_record):
    """The witness's state after seal 1, and seal 2 as the log scan reads it."""
    make_record(run="r1")
    _seal(storage)
    state = Witness().read()
    make_record(dt.date(2026, 11, 20), run="r2")
    _seal(storage)
    return state, scan_log(storage, TrustedKeys.load()).entry(2)


def test_a_checkpoint_of_the_same_tree_is_accepted_a_smaller_one_refused(storage, make_record):
    """A seal that adds no leaf re-signs the tree the witness holds (same size, same root, empty proof):
    the witness accepts it; one tree smaller is refused, "tree size 0 is smaller than the accepted 1".
    Kills witness.accept ``checkpoint.size < size`` -> ``<=`` (the same tree refused as smaller)."""
    state, entry2 = _two_seals(storage, make_record)
    origin, signer = settings.log_origin(), Signer.from_settings()
    keys = TrustedKeys.load()

    def entry_for(size: int, root: bytes):
        text = Checkpoint(origin, size, root).text()
        doc = {**entry2.doc, "tree_size_before": 1, "tree_size": size, "consistency_proof": []}
        doc.update(root_hash=root.hex(), checkpoint=text, leaves=[])
        return dataclasses.replace(entry2, doc=doc, leaves=[], note=sign_note(text, origin, signer))

    now = dt.datetime.now(dt.UTC)
    same = accept(state, entry_for(1, state.root_hash), keys, now)
    assert (same.sequence, same.tree_size, same.root_hash) == (2, 1, state.root_hash)
    assert same.seal_sha256 == entry2.sha256 and same.checkpoint_time == entry2.sealed_at
    with pytest.raises(WitnessRefused) as caught:
        accept(state, entry_for(0, bytes(32)), keys, now)
    assert (caught.value.object, caught.value.problem) == (
        "seals/00000002",
        "tree size 0 is smaller than the accepted 1",
    )


def test_a_seal_body_without_tree_size_before_is_refused_by_the_witness(storage, make_record):
    """Seal 2 as the sealer wrote it is accepted after seal 1 (size 1); the same seal with
    ``tree_size_before`` removed from its body is refused, naming it: "tree_size_before None is not the
    accepted size 1", though its checkpoint and proof still lead from the accepted tree. Kills
    witness.accept ``doc.get("tree_size_before", -1)`` -> ``None`` / no default (TypeError, not a
    refusal) and -> ``+1`` (a missing size read as the accepted size 1: the seal accepted)."""
    state, entry2 = _two_seals(storage, make_record)
    keys, now = TrustedKeys.load(), dt.datetime.now(dt.UTC)
    assert accept(state, entry2, keys, now).tree_size == 2
    doc = {k: v for k, v in entry2.doc.items() if k != "tree_size_before"}
    with pytest.raises(WitnessRefused) as caught:
        accept(state, dataclasses.replace(entry2, doc=doc), keys, now)
    assert (caught.value.object, caught.value.problem) == (
        "seals/00000002",
        "tree_size_before None is not the accepted size 1",
    )


# --- witness.init_witness: the time of acceptance it records ---------------------------------------


def test_init_on_an_empty_store_records_when_it_accepted_the_empty_tree(storage, aims_env):
    """A witness started on an empty store keeps the empty tree and the time it was started, in its
    state and in ``witness.json``. Kills witness.init_witness ``empty_state(origin, now)`` -> ``None``."""
    fresh = Witness(aims_env / "fresh-witness")
    at = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    update = init_witness(fresh, storage, TrustedKeys.load(), settings.log_origin(), at)
    assert (update.after.sequence, update.after.tree_size, update.after.accepted_at) == (0, 0, at)
    written = json.loads((aims_env / "fresh-witness" / "witness.json").read_text())
    assert written["accepted_at"] == at.isoformat() and written["tree_size"] == 0
    assert fresh.read().accepted_at == at


def test_init_without_a_time_records_the_utc_clock_on_any_host(storage, aims_env, monkeypatch):
    """``aimsflow witness init`` passes no time: the witness records the UTC clock, even on a host in
    another zone. Kills witness.init_witness ``dt.datetime.now(dt.UTC)`` -> ``now(None)`` (local time
    read as UTC: 9 h ahead in Tokyo)."""
    fresh = Witness(aims_env / "fresh-witness")
    started = dt.datetime.now(dt.UTC)
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        update = init_witness(fresh, storage, TrustedKeys.load(), settings.log_origin())
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert started <= update.after.accepted_at <= dt.datetime.now(dt.UTC)
    assert update.after.accepted_at.utcoffset() == dt.timedelta(0)


# --- WitnessState.as_dict: a format-1 head, as the CLI prints it ------------------------------------


def test_witness_init_json_prints_the_format_1_head_it_upgraded(format_1_store, capsys):  # noqa: F811
    """``aimsflow witness init --json`` over a format-1 ``head.json`` prints the head it upgraded
    ("before": its sequence and seal hash, no tree, no root, no time of acceptance, ``legacy_head``)
    and the state after it. Kills WitnessState.as_dict ``root_hash.hex() if ... is not None`` and
    ``accepted_at.isoformat() if ...`` -> ``... or True`` (a crash on the format-1 head)."""
    storage, _ = format_1_store
    head_sha = storage.sha256("seals/00000002/seal.json")
    code, out, err = run(capsys, "witness", "init", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["before"] == {
        "format": "aimsflow-witness/1",
        "sequence": 2,
        "seal_sha256": head_sha,
        "tree_size": None,
        "root_hash": None,
        "origin": None,
        "checkpoint": None,
        "checkpoint_time": None,
        "accepted_at": None,
        "legacy_head": True,
    }
    assert doc["after"]["sequence"] == 2 and doc["after"]["tree_size"] == 3
    assert doc["after"]["seal_sha256"] == head_sha and doc["after"]["legacy_head"] is False
    assert doc["accepted"] == []


# --- a marker file at the top of seals/ or records/ (a bug the mutants of seal_sequences showed) ---------


def test_a_stray_seal_json_at_the_top_of_seals_hides_no_seal(storage, make_record):
    """Bug (found by seal.seal_sequences ``[-1]`` -> ``[+1]``, which raised on it): a stray
    ``seals/seal.json`` made ``storage.iter_dirs_with`` yield ``seals`` itself and stop there, so
    ``seal_sequences`` found no seal at all: ``sealed_keys`` empty, every record counted as pending
    (``load_summaries``: the driver's and the retention CLI's counts), no record sealed in retention's
    seal index. Now the seals are found, and verify still names the stray file. Kills
    storage.iter_dirs_with ``dirpath != top`` -> ``==`` / ``top = None``, ``and`` -> ``or``."""
    from aimsflow.retention.objects import seal_index

    ref = make_record(run="r1")
    _seal(storage)
    (storage.root / "seals" / "seal.json").write_text("{}\n")
    assert seal_sequences(storage) == [1]
    assert sealed_keys(storage) == {ref.key: 1}
    assert [(r.key, r.sealed_in) for r in load_summaries(storage)] == [(ref.key, 1)]
    assert set(seal_index(storage, TrustedKeys.load())) == {ref.key}
    report = verify_store(storage, TrustedKeys.load(), Witness())
    assert [(p.object, p.problem) for p in report.problems] == [
        ("seals/seal.json", "unexpected object among the seals")
    ]


def test_a_stray_envelope_at_the_top_of_records_hides_no_record_from_the_sealer(storage, make_record):
    """Bug (the same cause): a stray ``records/manifest.dsse.json`` made ``record_keys`` return only
    ``records``, so every seal refused "records" and sealed none of the real records, pending for
    ever. Now ``record_keys`` lists the records (not the top folder) and the seal takes them in."""
    refs = [make_record(run="r1"), make_record(dt.date(2026, 11, 20), run="r2")]
    (storage.root / "records" / "manifest.dsse.json").write_text("{}\n")
    assert record_keys(storage) == sorted(r.key for r in refs)
    outcome = _seal(storage)
    assert (outcome.records_sealed, outcome.refused) == (2, ())
    assert set(sealed_keys(storage)) == {r.key for r in refs}
