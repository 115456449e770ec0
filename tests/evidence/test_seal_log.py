"""Format-2 seals: the log's checkpoint and proof in every seal, records judged at the checkpoint's
time, ``select``, the store lock, and stores that began with format-1 seals."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from aimsflow import settings
from aimsflow.evidence.checkpoint import open_checkpoint, parse_checkpoint
from aimsflow.evidence.dsse import sign_envelope
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.lock import is_locked
from aimsflow.evidence.merkle import leaf_hash, merkle_root, tree_hash, verify_consistency
from aimsflow.evidence.seal import (
    SEAL_FORMAT,
    SEAL_FORMAT_1,
    SEAL_PAYLOAD_TYPE,
    SealRefused,
    Witness,
    read_seal,
    record_keys,
    seal_pending,
    seal_sequences,
    sealed_keys,
)
from aimsflow.evidence.verify import verify_store
from aimsflow.evidence.witness import WitnessState
from aimsflow.results import sha256_bytes
from tests.conftest import new_key


def _verify(storage, **kw):
    return verify_store(storage, TrustedKeys.load(), Witness(), **kw)


def _seal(storage, **kw):
    return seal_pending(storage, Signer.from_settings(), Witness(), **kw)


def _manifest_digest(storage, key) -> bytes:
    return bytes.fromhex(storage.sha256(f"{key}/manifest.json"))


def test_a_seal_appends_to_one_tree_and_carries_a_signed_checkpoint_and_proof(storage, make_record):
    first = [make_record(run="r1"), make_record(dt.date(2026, 11, 20), run="r2")]
    one = _seal(storage)
    third = make_record(dt.date(2026, 11, 21), run="r3")
    two = _seal(storage)
    assert (one.tree_size, two.tree_size) == (2, 3)

    _, body1 = read_seal(storage, 1)
    _, body2 = read_seal(storage, 2)
    assert body2["format"] == SEAL_FORMAT and body2["tree_size_before"] == 2 and body2["tree_size"] == 3
    # The log's leaves are the seals' leaves in order (sorted by record key within a seal).
    order = sorted(r.key for r in first) + [third.key]
    assert [leaf["record"] for leaf in body1["leaves"] + body2["leaves"]] == order
    root = tree_hash([leaf_hash(_manifest_digest(storage, key)) for key in order])
    assert bytes.fromhex(body2["root_hash"]) == root

    note = storage.get("seals/00000002/checkpoint").decode()
    checkpoint, key = open_checkpoint(note, TrustedKeys.load(), dt.datetime.fromisoformat(body2["sealed_at"]))
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (settings.log_origin(), 3, root)
    assert note.startswith(body2["checkpoint"] + "\n") and key.key_id == "test-key-1"
    assert parse_checkpoint(body2["checkpoint"]) == checkpoint
    proof = [bytes.fromhex(h) for h in body2["consistency_proof"]]
    verify_consistency(2, 3, bytes.fromhex(body1["root_hash"]), root, proof)
    assert Witness().read().checkpoint == note


def test_select_seals_only_the_chosen_pending_records(storage, make_record):
    """The coordinator seals one DAG run's own records as its last step."""
    mine = make_record(run="mine")
    other = make_record(dt.date(2026, 11, 20), run="other")
    result = _seal(storage, select=lambda key: key == mine.key)
    assert result.records_sealed == 1 and sealed_keys(storage) == {mine.key: 1}
    assert _verify(storage).pending == [other.key]


def test_seal_holds_the_store_lock_from_reading_to_writing_the_witness(storage, make_record, monkeypatch):
    make_record()
    seen = []
    write = Witness.write

    def witness_write(self, state, store):
        seen.append(("witness", is_locked(storage.root)))
        write(self, state, store)

    monkeypatch.setattr(Witness, "write", witness_write)
    _seal(storage, before_seal=lambda plan: seen.append(("decide", is_locked(storage.root))))
    assert [what for what, _ in seen] == ["decide", "witness"]
    assert all(holder and holder.startswith("evidence seal") for _, holder in seen)
    assert is_locked(storage.root) is None


def test_records_signed_by_an_untrusted_key_are_left_out_and_reported(storage, make_record):
    _, seed, _ = new_key("rogue")
    good = make_record(run="r1")
    rogue = make_record(dt.date(2026, 11, 20), run="r2", signer=Signer.from_seed_b64("rogue", seed))
    result = _seal(storage)
    assert sealed_keys(storage) == {good.key: 1}
    assert [(r.key, r.problem) for r in result.refused] == [(rogue.key, "signed by unknown key 'rogue'")]


def test_a_record_is_sealed_only_by_a_checkpoint_no_earlier_than_its_end(storage, make_record):
    """Boundary: ``ended_at`` equal to the checkpoint time is sealed, one microsecond later is not."""
    t = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    at = make_record(run="r1", ended_at=t)
    after = make_record(dt.date(2026, 11, 20), run="r2", ended_at=t + dt.timedelta(microseconds=1))
    result = _seal(storage, now=t)
    assert sealed_keys(storage) == {at.key: 1}
    assert [r.key for r in result.refused] == [after.key]
    assert "is after the checkpoint time" in result.refused[0].problem
    _seal(storage)  # a later checkpoint takes it in
    assert set(sealed_keys(storage)) == {at.key, after.key}


def test_checkpoint_times_must_increase(storage, make_record):
    t = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    make_record(run="r1", ended_at=t - dt.timedelta(hours=1))
    _seal(storage, now=t)
    make_record(dt.date(2026, 11, 20), run="r2", ended_at=t - dt.timedelta(hours=1))
    with pytest.raises(SealRefused, match="checkpoint times must increase"):
        _seal(storage, now=t)  # the same instant
    assert seal_sequences(storage) == [1]
    _seal(storage, now=t + dt.timedelta(microseconds=1))
    assert seal_sequences(storage) == [1, 2]


def test_the_log_origin_never_changes(storage, make_record, monkeypatch):
    make_record(run="r1")
    _seal(storage)
    make_record(dt.date(2026, 11, 20), run="r2")
    monkeypatch.setenv("AIMSFLOW_LOG_ORIGIN", "other.example/log")
    with pytest.raises(SealRefused, match="origin never changes"):
        _seal(storage)
    assert seal_sequences(storage) == [1]


def test_verify_reports_a_sealed_record_that_ended_after_its_seal(storage, make_record):
    """A record's ``ended_at`` must not be later than the checkpoint that first includes it (here the
    sealer's clock was set back by hand: the seal itself would refuse the record)."""
    t = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    ref = make_record(run="r1", ended_at=t)
    from aimsflow.evidence import seal as seal_module

    judge = seal_module.judge_records

    def lenient(storage_, keys_, trusted, at):  # a sealer that does not check ended_at
        return judge(storage_, keys_, trusted, at + dt.timedelta(days=1))

    seal_module.judge_records = lenient
    try:
        _seal(storage, now=t - dt.timedelta(hours=1))
    finally:
        seal_module.judge_records = judge
    report = _verify(storage)
    assert [p.object for p in report.problems] == [ref.key]
    assert "is after the time of seal 1" in report.problems[0].problem


# --- stores that began with format-1 seals ---------------------------------------------------------


def write_format_1_seal(storage, signer: Signer, sealed_at: dt.datetime) -> None:
    """A seal exactly as the format-1 sealer wrote it: per-seal sorted leaves and root, hash chain."""
    sequences = seal_sequences(storage)
    sealed = sealed_keys(storage)
    pending = [k for k in record_keys(storage) if k not in sealed]
    leaves = [{"record": k, "manifest_sha256": storage.sha256(f"{k}/manifest.json")} for k in sorted(pending)]
    previous = sha256_bytes(read_seal(storage, sequences[-1])[0]) if sequences else None
    sequence = (sequences[-1] if sequences else 0) + 1
    body = {
        "format": SEAL_FORMAT_1,
        "sequence": sequence,
        "sealed_at": sealed_at.isoformat(),
        "previous_seal_sha256": previous,
        "tree_size": len(leaves),
        "merkle_root": merkle_root([bytes.fromhex(leaf["manifest_sha256"]) for leaf in leaves]).hex(),
        "key_id": signer.key_id,
        "leaves": leaves,
    }
    data = (json.dumps(body, indent=1) + "\n").encode()
    storage.put_dir_once(
        f"seals/{sequence:08d}",
        {"seal.json": data, "seal.dsse.json": sign_envelope(data, signer, SEAL_PAYLOAD_TYPE)},
        last=("seal.dsse.json",),
    )


@pytest.fixture
def format_1_store(storage, make_record, aims_env):
    """Two format-1 seals over three records, witnessed by a format-1 ``head.json``."""
    signer = Signer.from_settings()
    t = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    refs = [make_record(run="r1", ended_at=t), make_record(dt.date(2026, 11, 20), run="r2", ended_at=t)]
    write_format_1_seal(storage, signer, t + dt.timedelta(minutes=1))
    refs.append(make_record(dt.date(2026, 11, 21), run="r3", ended_at=t + dt.timedelta(minutes=2)))
    write_format_1_seal(storage, signer, t + dt.timedelta(minutes=3))
    (aims_env / "witness" / "witness.json").unlink()
    head = {"sequence": 2, "seal_sha256": storage.sha256("seals/00000002/seal.json")}
    (aims_env / "witness" / "head.json").write_text(json.dumps(head))
    return storage, refs


def test_a_format_1_store_verifies_and_continues_with_format_2_seals(format_1_store, make_record, aims_env):
    """No migration: the first format-2 seal's tree starts with every format-1 leaf, in order."""
    storage, refs = format_1_store
    report = _verify(storage)
    assert report.ok, report.problems
    assert report.seals_checked == 2 and Witness().read().legacy

    late = make_record(dt.date(2026, 11, 22), run="r4")
    result = _seal(storage)
    assert result.records_sealed == 1 and result.tree_size == 4
    _, body = read_seal(storage, 3)
    assert body["format"] == SEAL_FORMAT and body["tree_size_before"] == 3
    order = [*sorted(r.key for r in refs[:2]), refs[2].key, late.key]
    assert bytes.fromhex(body["root_hash"]) == tree_hash(
        [leaf_hash(_manifest_digest(storage, k)) for k in order]
    )
    state = Witness().read()
    assert isinstance(state, WitnessState) and not state.legacy and state.tree_size == 4
    assert not (aims_env / "witness" / "head.json").exists()
    report = _verify(storage)
    assert report.ok, report.problems
    assert report.seals_checked == 3 and report.pending == []


def test_a_format_1_leaf_rewritten_and_resigned_is_caught_by_the_format_2_root(format_1_store, make_record):
    """Tampering with a format-1 leaf, even re-signed with a trusted key and its per-seal root fixed,
    no longer matches the format-2 root that covers it."""
    storage, refs = format_1_store
    make_record(dt.date(2026, 11, 22), run="r4")
    _seal(storage)
    path = storage.path("seals/00000001/seal.json")
    body = json.loads(path.read_bytes())
    body["leaves"][0]["manifest_sha256"] = "00" * 32
    body["merkle_root"] = merkle_root(
        [bytes.fromhex(leaf["manifest_sha256"]) for leaf in body["leaves"]]
    ).hex()
    data = (json.dumps(body, indent=1) + "\n").encode()
    path.write_bytes(data)
    storage.path("seals/00000001/seal.dsse.json").write_bytes(
        sign_envelope(data, Signer.from_settings(), SEAL_PAYLOAD_TYPE)
    )
    problems = {(p.object, p.problem) for p in _verify(storage).problems}
    assert (
        "seals/00000003",
        "root_hash or tree_size does not match the log's leaves up to this seal",
    ) in problems
    assert not any(obj == "seals/00000001" for obj, _ in problems)  # format 1 alone says nothing


def _job_writer(storage):
    """``write_record`` as the glue gives it to the seal job: a command record of today."""
    from aimsflow.evidence.record import Producer, RunContext, write_record
    from aimsflow.periods import Period

    def write(result):
        result.check, result.controls = "evidence_seal/seal", ("7.5.3",)
        now = dt.datetime.now(dt.UTC)
        ctx = RunContext(Period.day(now.date()), Producer.command_run("seal-test"), now, now)
        return write_record(storage, result, ctx, Signer.from_settings())

    return write


def test_seal_job_seals_the_rest_and_fails_naming_the_records_it_refused(storage, make_record):
    from aimsflow.evidence.job import seal
    from aimsflow.periods import Period

    _, seed, _ = new_key("rogue")
    good = make_record(run="r1")
    rogue = make_record(dt.date(2026, 11, 20), run="r2", signer=Signer.from_seed_b64("rogue", seed))
    result = seal(Period.day(dt.date(2026, 11, 20)), write_record=_job_writer(storage))
    assert str(result.status) == "failed" and result.summary["records_to_seal"] == 2
    assert result.summary["refused"] == [{"record": rogue.key, "problem": "signed by unknown key 'rogue'"}]
    sealed = sealed_keys(storage)
    assert good.key in sealed and rogue.key not in sealed and len(sealed) == 2  # and the job's own record
    assert _verify(storage).pending == [rogue.key]


def test_seal_job_refused_by_the_witness_returns_a_failed_result_and_writes_nothing_itself(
    storage, make_record, aims_env
):
    from aimsflow.evidence.job import seal
    from aimsflow.periods import Period

    make_record(run="r1")
    _seal(storage)
    (aims_env / "witness" / "witness.json").write_text(
        (aims_env / "witness" / "witness.json").read_text().replace('"sequence": 1', '"sequence": 2')
    )
    writes = []
    result = seal(Period.day(dt.date(2026, 11, 20)), write_record=lambda r: writes.append(r))
    assert writes == [] and str(result.status) == "failed" and result.summary["records_to_seal"] == 0
    assert "truncated or rolled back" in result.summary["refused_seal"]["problem"]
    assert seal_sequences(storage) == [1]
