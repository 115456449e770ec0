"""The log, the witness and ``prove``: what they tell an auditor, pinned where mutation testing found it
unchecked (survivors of ``make mutation``, target evidence, in ``verify._verify_witness``,
``witness._state_of`` / ``update_witness``, ``tlog.prove_inclusion`` and the JSON of ``verify`` and
``prove``). Each test names the mutants it kills (function, change)."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from aimsflow import settings
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.seal import Witness, read_seal, seal_pending
from aimsflow.evidence.tlog import ProveError, prove_inclusion
from aimsflow.evidence.verify import verify_store
from aimsflow.evidence.witness import WitnessRefused, init_witness, update_witness
from aimsflow.results import sha256_bytes
from tests.evidence.test_seal_log import format_1_store  # noqa: F401 (a fixture)


def _verify(storage, **kw):
    return verify_store(storage, TrustedKeys.load(), Witness(), **kw)


def _seal(storage, **kw):
    return seal_pending(storage, Signer.from_settings(), Witness(), **kw)


def test_a_deleted_witness_is_named_as_missing_with_the_way_to_restore_it(storage, make_record, aims_env):
    """Kills verify._verify_witness ``f"no witness at ..." if state is None`` -> ``and False`` (a missing
    witness reported as an empty one), the object ``"witness"`` -> ``None`` / ``"XXwitnessXX"`` /
    ``"WITNESS"`` / dropped, the message -> ``None`` / dropped, the hint's wording; and
    VerifyReport.as_dict ``self.witness.as_dict() if self.witness`` -> ``or True`` (no witness: None,
    not a crash)."""
    make_record(run="r1")
    _seal(storage)
    shutil.rmtree(aims_env / "witness")
    report = _verify(storage)
    assert [(p.object, p.problem) for p in report.problems] == [
        (
            "witness",
            f"no witness at {Witness().describe()} while the store has seals: the witness was deleted or "
            "never started (`aimsflow witness init` starts one; restore a deleted one from its backup)",
        )
    ]
    assert report.as_dict()["witness"] is None and report.as_dict()["ok"] is False


def test_an_empty_witness_beside_old_records_names_the_seal_interval_in_hours(storage, make_record):
    """The witness was started (empty) and records are older than one seal interval, with no seal:
    "the witness is empty while the store holds records older than one seal interval (24 h, since
    ...)". Kills verify._verify_witness ``"the witness is empty"`` -> ``"XX...XX"``, ``/ 3600`` ->
    ``* 3600`` / ``/ 3601``, and the tail's wording."""
    ended = dt.datetime.now(dt.UTC) - dt.timedelta(hours=settings.seal_interval_hours() + 2)
    make_record(run="r1", ended_at=ended)
    report = _verify(storage)
    hours = f"{settings.seal_interval_hours():g}"
    witness = [p.problem for p in report.problems if p.object == "witness"]
    assert witness == [
        f"the witness is empty while the store holds records older than one seal interval ({hours} h, "
        f"since {ended.isoformat()}) and no seal: seals were deleted with the witness, or sealing never "
        "started"
    ]


def test_the_witness_state_names_origin_checkpoint_and_times(storage, make_record):
    """What the witness keeps after accepting a seal: the log's origin, the signed checkpoint note, the
    checkpoint's time and when it was accepted. Kills witness._state_of ``origin`` /
    ``checkpoint_time`` / ``accepted_at`` -> ``None`` or dropped, ``entry.note if fmt2`` -> ``or True``
    is covered by the format-1 test below."""
    make_record(run="r1")
    before = dt.datetime.now(dt.UTC)
    outcome = _seal(storage)
    after = dt.datetime.now(dt.UTC)
    state = Witness().read()
    _, body = read_seal(storage, 1)
    assert state.sequence == 1 and state.origin == settings.log_origin()
    assert state.checkpoint == outcome.checkpoint and state.checkpoint is not None
    assert state.checkpoint_time == dt.datetime.fromisoformat(body["sealed_at"])
    assert state.accepted_at is not None and before <= state.accepted_at <= after


def test_a_format_1_head_carries_no_checkpoint(format_1_store, aims_env):  # noqa: F811
    """A second witness following a store of format-1 seals keeps no checkpoint note (they have none),
    and the log's origin, the seal's time and its own time of acceptance. Kills witness._state_of
    ``origin`` / ``checkpoint_time`` / ``accepted_at`` -> ``None`` or dropped."""
    storage, _ = format_1_store
    second = Witness(aims_env / "second-witness")
    before = dt.datetime.now(dt.UTC)
    init_witness(second, storage, TrustedKeys.load(), settings.log_origin())
    update_witness(second, storage, TrustedKeys.load())
    state = second.read()
    assert state.sequence == 2 and state.checkpoint is None
    # What the witness keeps of a format-1 seal: the log's origin, the seal's time, when it accepted it.
    assert state.origin == settings.log_origin()
    assert state.checkpoint_time == dt.datetime.fromisoformat(read_seal(storage, 2)[1]["sealed_at"])
    assert state.accepted_at is not None and state.accepted_at >= before


def test_a_second_witness_catches_up_and_says_what_it_accepted(storage, make_record, aims_env, monkeypatch):
    """``aimsflow witness update`` run by a second, independent witness: it accepts seals 1 and 2, keeps
    the state it had before, writes the new one naming the store it read; the time it accepted them is
    the UTC clock even on a host in another zone. Kills witness.update_witness ``WitnessUpdate(before,
    ...)`` -> ``None``, ``witness.write(after, storage.describe(""))`` -> ``None`` /
    ``describe("XXXX")``, ``dt.datetime.now(dt.UTC)`` -> ``now(None)`` (local time read as UTC)."""
    import time

    second = Witness(aims_env / "second-witness")
    init_witness(second, storage, TrustedKeys.load(), settings.log_origin())
    make_record(run="r1")
    _seal(storage)
    make_record(dt.date(2026, 11, 20), run="r2")
    _seal(storage)
    started = dt.datetime.now(dt.UTC)
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # UTC+9: local time read as UTC would lie 9 h ahead
    time.tzset()
    try:
        update = update_witness(second, storage, TrustedKeys.load())
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert update.after.accepted_at <= dt.datetime.now(dt.UTC)
    assert update.before is not None and update.before.sequence == 0
    assert update.after.sequence == 2 and update.accepted == [1, 2]
    assert update.after.accepted_at >= started and update.after.accepted_at.utcoffset() == dt.timedelta(0)
    written = json.loads((aims_env / "second-witness" / "witness.json").read_text())
    assert written["store"] == storage.describe("")


def test_a_witness_never_started_refuses_an_update_naming_itself(storage, aims_env):
    """Kills witness.update_witness ``witness.describe()`` -> ``None``, the message's wording, and
    WitnessRefused.__init__ ``self.object = obj`` -> ``None``."""
    never = Witness(aims_env / "no-witness")
    with pytest.raises(WitnessRefused) as caught:
        update_witness(never, storage, TrustedKeys.load())
    assert caught.value.object == never.describe()
    assert caught.value.problem == "the witness never started: run `aimsflow witness init` once"


def test_prove_refuses_a_log_of_format_1_seals_only(format_1_store):  # noqa: F811
    """No checkpoint to prove against: a clear ProveError, not a crash. Kills tlog.prove_inclusion
    ``next(..., None)`` -> no default (StopIteration), ``latest is None or latest.note is None`` ->
    ``and`` (AttributeError), the message -> ``None`` / another wording."""
    storage, refs = format_1_store
    with pytest.raises(ProveError) as caught:
        prove_inclusion(storage, refs[0].key)
    assert (
        str(caught.value) == "the log has no checkpoint yet (format-1 seals only): the next seal writes one"
    )


def test_prove_refuses_a_broken_log_naming_its_first_problem(storage, make_record):
    """Seal 1 deleted (the log has a gap): prove names the first problem and points to verify. Kills
    tlog.prove_inclusion ``scan.problems[0]`` -> ``[1]`` / ``None``, the message -> ``None``."""
    ref = make_record(run="r1")
    _seal(storage)
    make_record(dt.date(2026, 11, 20), run="r2")
    _seal(storage)
    shutil.rmtree(storage.root / "seals" / "00000001")
    from aimsflow.evidence.tlog import scan_log

    scan = scan_log(storage)
    problems = scan.problems
    assert problems and not scan.complete
    with pytest.raises(ProveError) as caught:
        prove_inclusion(storage, ref.key)
    obj, problem = problems[0]
    assert str(caught.value) == f"the log is broken ({obj}: {problem}); run `aimsflow evidence verify`"


def test_the_proof_and_the_head_are_labelled_as_documented(storage, make_record):
    """``prove --json`` says which proof format it is (docs/evidence-format.md names it), and verify's
    ``head`` names the latest seal and its SHA-256. Kills InclusionProof.as_dict ``"format"`` key or
    value changed, SealHead.as_dict ``"seal_sha256"`` key changed."""
    ref = make_record(run="r1")
    _seal(storage)
    proof = prove_inclusion(storage, ref.key).as_dict()
    assert proof["format"] == "aimsflow-inclusion-proof/1"  # as docs/evidence-format.md names it
    head = _verify(storage).as_dict()["head"]
    assert head == {"sequence": 1, "seal_sha256": sha256_bytes(read_seal(storage, 1)[0])}


# --- verify_store: the oldest record, the seal-time boundary, the period ----------------------------


def test_the_oldest_record_dates_the_missing_seal_whatever_the_order(storage, make_record):
    """An old record (period 19 Nov) and a fresh one sorted after it (21 Nov), no seal, an empty
    witness: the problem is dated by the old one. Kills verify.verify_store ``oldest = ended_at if
    oldest is None or ended_at < oldest else oldest`` -> ``... or True`` (the last record read, fresh,
    would hide the missing seals)."""
    now = dt.datetime.now(dt.UTC)
    old = now - dt.timedelta(hours=settings.seal_interval_hours() + 5)
    make_record(dt.date(2026, 11, 19), run="r1", ended_at=old)
    make_record(dt.date(2026, 11, 21), run="r2", ended_at=now)
    problems = [p.problem for p in _verify(storage, now=now).problems if p.object == "witness"]
    assert len(problems) == 1 and f"since {old.isoformat()})" in problems[0]


def test_a_record_ended_at_the_very_time_of_its_seal_is_not_backdated(storage, make_record):
    """A record may end at the checkpoint time that takes it in (not after). Kills verify.verify_store
    ``ended_at > judged_at`` -> ``>=``."""
    at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    make_record(run="r1", ended_at=at)
    _seal(storage, now=at)
    report = _verify(storage, now=at + dt.timedelta(minutes=1))
    assert report.ok, report.problems


def test_verify_of_a_period_judges_only_that_periods_disposals_and_intents(storage, make_record, aims_env):
    """A sealed record of 19 Nov deleted, and an old intent of a 19 Nov task try that left no record:
    verifying 19 Nov reports both; verifying 25 Nov reports neither. Kills verify.verify_store
    ``_check_disposals(..., period, ...)`` -> ``None`` and ``check_intents(..., period=period)`` ->
    ``None`` / dropped (another period's findings in a period's verdict)."""
    import shutil as _shutil

    from aimsflow.evidence.intents import write_intent
    from aimsflow.evidence.record import Producer
    from aimsflow.periods import Period

    ref = make_record(dt.date(2026, 11, 19), run="r1")
    _seal(storage)
    _shutil.rmtree(storage.root / ref.key)
    producer = Producer(kind="task", dag_id="data_quality", run_id="r9", task_id="validate", try_number=1)
    lost = f"records/2026-11-19/data_quality/validate/{producer.record_id()}"
    started = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    write_intent(storage, producer, lost, started)
    day = {p.object for p in _verify(storage, period=Period.day(dt.date(2026, 11, 19))).problems}
    assert {ref.key, lost} <= day
    other = {p.object for p in _verify(storage, period=Period.day(dt.date(2026, 11, 25))).problems}
    assert ref.key not in other and lost not in other


def test_a_record_in_two_seals_is_named_with_both(format_1_store):  # noqa: F811
    """A third seal (format 1, signed by the trusted key) takes in a record seal 1 already holds: verify
    names the record and both seals. Kills verify.verify_store ``len(sealed_in) > 1`` -> ``> 2`` and the
    message's object and text -> ``None`` / dropped."""
    from tests.evidence.test_seal_log import SEAL_FORMAT_1, SEAL_PAYLOAD_TYPE, merkle_root, seal_sequences

    storage, refs = format_1_store
    again = refs[0].key
    leaves = [{"record": again, "manifest_sha256": storage.sha256(f"{again}/manifest.json")}]
    previous = sha256_bytes(read_seal(storage, 2)[0])
    body = {
        "format": SEAL_FORMAT_1,
        "sequence": 3,
        "sealed_at": dt.datetime.now(dt.UTC).isoformat(),
        "previous_seal_sha256": previous,
        "tree_size": 1,
        "merkle_root": merkle_root([bytes.fromhex(leaves[0]["manifest_sha256"])]).hex(),
        "key_id": Signer.from_settings().key_id,
        "leaves": leaves,
    }
    from aimsflow.evidence.dsse import sign_envelope

    data = (json.dumps(body, indent=1) + "\n").encode()
    storage.put_dir_once(
        "seals/00000003",
        {"seal.json": data, "seal.dsse.json": sign_envelope(data, Signer.from_settings(), SEAL_PAYLOAD_TYPE)},
        last=("seal.dsse.json",),
    )
    assert seal_sequences(storage) == [1, 2, 3]
    problems = [(p.object, p.problem) for p in _verify(storage).problems]
    assert (again, "record is in 2 seals [1, 3]; expected one") in problems


# --- merkle: what a refused consistency proof says (the witness quotes it) --------------------------


def test_each_refused_consistency_proof_says_why():
    """The witness refuses a checkpoint with the proof's problem as its reason. Kills merkle.
    verify_consistency ``old_size < 0 or new_size < old_size`` -> ``and`` and every message -> ``None``
    / another wording; merkle.consistency_proof its message and ``new_size`` default (``len(hashes)``
    -> ``... and False``)."""
    from aimsflow.evidence.merkle import (
        ProofError,
        consistency_proof,
        leaf_hash,
        tree_hash,
        verify_consistency,
    )

    leaves = [leaf_hash(bytes([i])) for i in range(7)]
    root = {n: tree_hash(leaves[:n]) for n in range(1, 8)}
    proof = consistency_proof(leaves, 3, 7)
    assert consistency_proof(leaves, 3) == proof
    verify_consistency(3, 7, root[3], root[7], proof)

    def refused(*args) -> str:
        with pytest.raises(ProofError) as caught:
            verify_consistency(*args)
        return str(caught.value)

    assert refused(5, 3, root[5], root[3], proof) == "tree size went down from 5 to 3"
    assert refused(3, 3, root[3], root[3], proof) == "consistency proof from size 3 to 3 must be empty"
    assert refused(3, 3, root[3], root[4], []) == "two different roots for the same tree size 3"
    assert refused(3, 7, root[3], root[7], []) == "empty consistency proof"
    assert refused(3, 7, root[3], root[7], [*proof, proof[0]]) == "consistency proof is longer than needed"
    assert refused(3, 7, root[3], root[7], proof[:-1]) == "consistency proof is shorter than needed"
    assert (
        refused(3, 7, root[4], root[7], proof) == "consistency proof does not lead to the old root (size 3)"
    )
    assert (
        refused(3, 7, root[3], root[6], proof) == "consistency proof does not lead to the new root (size 7)"
    )
    with pytest.raises(ProofError) as caught:
        consistency_proof(leaves, 5, 3)
    assert str(caught.value) == "no consistency proof from a tree of 5 to one of 3"


def test_a_second_witness_refuses_a_seal_whose_envelope_no_trusted_key_signed(storage, make_record, aims_env):
    """Seal 2's envelope re-signed by an unknown key (its checkpoint note untouched): the second
    witness refuses the log, naming that seal. Kills witness.update_witness ``scan_log(storage,
    keys)`` -> ``keys`` ``None`` / dropped (the envelope's signature never checked)."""
    from aimsflow.evidence.dsse import sign_envelope
    from aimsflow.evidence.tlog import SEAL_PAYLOAD_TYPE
    from tests.conftest import new_key

    second = Witness(aims_env / "second-witness")
    init_witness(second, storage, TrustedKeys.load(), settings.log_origin())
    make_record(run="r1")
    _seal(storage)
    make_record(dt.date(2026, 11, 20), run="r2")
    _seal(storage)
    key_id, seed, _ = new_key("rogue")
    body = storage.get("seals/00000002/seal.json")
    (storage.root / "seals" / "00000002" / "seal.dsse.json").write_bytes(
        sign_envelope(body, Signer.from_seed_b64(key_id, seed), SEAL_PAYLOAD_TYPE)
    )
    with pytest.raises(WitnessRefused) as caught:
        update_witness(second, storage, TrustedKeys.load())
    assert caught.value.object.startswith("seals/00000002")
    assert (
        caught.value.problem.startswith("the store's log does not verify: ")
        and "rogue" in caught.value.problem
    )
    assert second.read().sequence == 0
