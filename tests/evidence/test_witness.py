"""The witness protocol: it starts explicitly, keeps the last checkpoint it accepted and accepts a
new one only signed by a trusted key, with the same origin, not smaller, not earlier, and with a
valid consistency proof from its own tree. A second, independent witness runs the same way."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import shutil

import pytest

from aimsflow import settings
from aimsflow.evidence.dsse import sign_envelope
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.seal import SEAL_PAYLOAD_TYPE, SealRefused, Witness, seal_pending
from aimsflow.evidence.tlog import scan_log
from aimsflow.evidence.witness import (
    MAX_CLOCK_SKEW,
    WitnessRefused,
    accept,
    init_witness,
    update_witness,
)


@pytest.fixture
def keys():
    return TrustedKeys.load()


def _seal(storage, **kw):
    return seal_pending(storage, Signer.from_settings(), Witness(), **kw)


def _sealed(storage, make_record, n: int):
    """``n`` seals of one record each, witnessed by the primary witness."""
    from aimsflow.evidence.seal import record_keys

    for _ in range(n):
        i = len(record_keys(storage))
        make_record(dt.date(2026, 11, 1 + i), run=f"r{i}")
        _seal(storage)


def test_init_on_an_empty_store_starts_at_the_empty_tree_and_only_once(storage, keys, tmp_path):
    witness = Witness(tmp_path / "second")
    update = init_witness(witness, storage, keys, settings.log_origin())
    assert update.after.empty and update.after.tree_size == 0 and witness.read() == update.after
    with pytest.raises(WitnessRefused, match="already started"):
        init_witness(witness, storage, keys, settings.log_origin())


def test_seal_refuses_without_a_started_witness(storage, make_record, aims_env):
    """Starting a witness is explicit: no seal starts one on its own."""
    shutil.rmtree(aims_env / "witness")
    make_record()
    with pytest.raises(SealRefused, match="witness never started"):
        _seal(storage)
    assert not storage.exists("seals")


def test_a_second_independent_witness_follows_the_store_with_proofs(storage, make_record, keys, tmp_path):
    _sealed(storage, make_record, 1)
    second = Witness(tmp_path / "elsewhere")
    start = init_witness(second, storage, keys, settings.log_origin())
    assert start.after.sequence == 1 and start.after.checkpoint == Witness().read().checkpoint
    _sealed(storage, make_record, 3)
    update = update_witness(second, storage, keys)
    assert update.accepted == [2, 3, 4]
    primary, mine = Witness().read(), second.read()
    assert (mine.sequence, mine.tree_size, mine.root_hash, mine.checkpoint) == (
        primary.sequence,
        primary.tree_size,
        primary.root_hash,
        primary.checkpoint,
    )
    assert update_witness(second, storage, keys).accepted == []  # nothing new


def test_update_refuses_a_store_rolled_back_behind_the_witness(storage, make_record, keys):
    _sealed(storage, make_record, 2)
    before = Witness().read()
    shutil.rmtree(storage.path("seals/00000002"))
    with pytest.raises(WitnessRefused, match="truncated or rolled back"):
        update_witness(Witness(), storage, keys)
    assert Witness().read() == before


def test_update_refuses_a_checkpoint_with_a_wrong_signature_under_a_trusted_key(
    storage, make_record, keys, tmp_path
):
    """Issue 12: no test had a wrong signature under a trusted key. A checkpoint signature with one bit
    flipped (name and key hash of the trusted key kept): verify names the checkpoint, the witness and
    the sealer refuse it."""
    _sealed(storage, make_record, 1)
    second = Witness(tmp_path / "second")
    init_witness(second, storage, keys, settings.log_origin())
    _sealed(storage, make_record, 1)
    path = storage.path("seals/00000002/checkpoint")
    text, _, line = path.read_text()[:-1].rpartition("\n")
    dash, name, blob = line.split(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 0x01
    path.write_text(f"{text}\n{dash} {name} {base64.b64encode(bytes(raw)).decode()}\n")

    from aimsflow.evidence.verify import verify_store

    report = verify_store(storage, keys, Witness())
    assert [(p.object, p.problem) for p in report.problems] == [
        ("seals/00000002/checkpoint", "checkpoint signature: signature by key 'test-key-1' does not match")
    ]
    with pytest.raises(WitnessRefused, match="does not match"):
        update_witness(second, storage, keys)
    assert second.read().sequence == 1
    make_record(dt.date(2026, 11, 28), run="later")
    (tmp_path / "witness" / "witness.json").write_text((tmp_path / "second" / "witness.json").read_text())
    with pytest.raises(SealRefused, match="does not match"):
        _seal(storage)


def _next_entry(storage, make_record, keys):
    """Seal once more without the witness seeing it; return (witness state before, the new entry)."""
    state = Witness().read()
    saved = (storage.root.parent / "witness" / "witness.json").read_bytes()
    make_record(dt.date(2026, 11, 27), run="next")
    _seal(storage)
    (storage.root.parent / "witness" / "witness.json").write_bytes(saved)
    entry = scan_log(storage, keys).latest
    return state, entry


def test_accept_checks_the_consistency_proof_itself(storage, make_record, keys):
    _sealed(storage, make_record, 2)
    state, entry = _next_entry(storage, make_record, keys)
    now = dt.datetime.now(dt.UTC)
    assert accept(state, entry, keys, now).tree_size == 3
    bad = dataclasses.replace(entry, doc={**entry.doc, "consistency_proof": [("00" * 32)] * 2})
    with pytest.raises(WitnessRefused, match="no valid consistency proof"):
        accept(state, bad, keys, now)
    shorter = dataclasses.replace(
        entry, doc={**entry.doc, "consistency_proof": entry.doc["consistency_proof"][:-1]}
    )
    with pytest.raises(WitnessRefused, match="no valid consistency proof"):
        accept(state, shorter, keys, now)


def test_accept_refuses_an_earlier_or_future_checkpoint_time(storage, make_record, keys):
    """Checkpoint times increase (a tie is refused), and a checkpoint may lie at most the clock skew
    ahead of the witness's clock (boundary included)."""
    _sealed(storage, make_record, 2)
    state, entry = _next_entry(storage, make_record, keys)
    same = dataclasses.replace(entry, sealed_at=state.checkpoint_time)
    with pytest.raises(WitnessRefused, match="is not after the accepted"):
        accept(state, same, keys, dt.datetime.now(dt.UTC))
    accept(state, entry, keys, entry.sealed_at - MAX_CLOCK_SKEW)  # exactly at the skew: accepted
    with pytest.raises(WitnessRefused, match="in the future"):
        accept(state, entry, keys, entry.sealed_at - MAX_CLOCK_SKEW - dt.timedelta(microseconds=1))


def test_accept_refuses_another_origin_a_smaller_tree_and_a_gap(storage, make_record, keys):
    _sealed(storage, make_record, 2)
    state, entry = _next_entry(storage, make_record, keys)
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(WitnessRefused, match="the witness follows"):
        accept(dataclasses.replace(state, origin="other.example/log"), entry, keys, now)
    with pytest.raises(WitnessRefused, match="smaller than the accepted"):
        accept(dataclasses.replace(state, tree_size=5), entry, keys, now)
    with pytest.raises(WitnessRefused, match="does not follow"):
        accept(dataclasses.replace(state, sequence=1), entry, keys, now)


def test_update_refuses_a_log_whose_seal_was_rewritten_and_resigned(storage, make_record, keys, tmp_path):
    """A seal body changed and re-signed with a trusted key (a tampered proof) is refused."""
    _sealed(storage, make_record, 2)
    second = Witness(tmp_path / "second")
    init_witness(second, storage, keys, settings.log_origin())
    _sealed(storage, make_record, 1)
    path = storage.path("seals/00000003/seal.json")
    body = json.loads(path.read_bytes())
    body["consistency_proof"][0] = "11" * 32
    data = (json.dumps(body, indent=1) + "\n").encode()
    path.write_bytes(data)
    storage.path("seals/00000003/seal.dsse.json").write_bytes(
        sign_envelope(data, Signer.from_settings(), SEAL_PAYLOAD_TYPE)
    )
    with pytest.raises(WitnessRefused, match="consistency proof"):
        update_witness(second, storage, keys)


def test_update_refuses_a_witness_that_never_started(storage, keys, tmp_path):
    with pytest.raises(WitnessRefused, match="never started"):
        update_witness(Witness(tmp_path / "none"), storage, keys)


def test_init_over_a_format_1_head_checks_the_store_against_it(storage, make_record, keys, aims_env):
    """A format-1 ``head.json`` naming a seal the store no longer holds as witnessed is not
    silently replaced by ``witness init``."""
    _sealed(storage, make_record, 2)
    (aims_env / "witness" / "witness.json").unlink()
    (aims_env / "witness" / "head.json").write_text(json.dumps({"sequence": 2, "seal_sha256": "ab" * 32}))
    with pytest.raises(WitnessRefused, match="witness accepted"):
        init_witness(Witness(), storage, keys, settings.log_origin())
    real = storage.sha256("seals/00000002/seal.json")
    (aims_env / "witness" / "head.json").write_text(json.dumps({"sequence": 2, "seal_sha256": real}))
    update = init_witness(Witness(), storage, keys, settings.log_origin())
    assert update.after.sequence == 2 and update.after.tree_size == 2 and not update.after.legacy
    assert not (aims_env / "witness" / "head.json").exists()


def test_verify_with_an_empty_witness_and_records_older_than_one_interval(storage, make_record, keys):
    """Boundary of the seal interval: a record exactly one interval old is fine, older is not."""
    from aimsflow.evidence.verify import verify_store

    t = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    make_record(ended_at=t)
    interval = dt.timedelta(hours=settings.seal_interval_hours())
    assert verify_store(storage, keys, Witness(), now=t + interval).ok
    report = verify_store(storage, keys, Witness(), now=t + interval + dt.timedelta(microseconds=1))
    assert [p.object for p in report.problems] == ["witness"]
    assert "the witness is empty" in report.problems[0].problem


def test_an_unreadable_witness_is_reported_and_refused_never_overwritten(
    storage, make_record, keys, aims_env
):
    from aimsflow.evidence.verify import verify_store

    _sealed(storage, make_record, 1)
    path = aims_env / "witness" / "witness.json"
    path.write_text("{not json")
    report = verify_store(storage, keys, Witness())
    assert [p.object for p in report.problems] == [
        "witness"
    ] and "unreadable witness state" in report.problems[0].problem
    make_record(dt.date(2026, 11, 28), run="later")
    with pytest.raises(SealRefused, match="unreadable witness state"):
        _seal(storage)
    with pytest.raises(WitnessRefused, match="unreadable witness state"):
        update_witness(Witness(), storage, keys)
    with pytest.raises(WitnessRefused, match="unreadable witness state"):
        init_witness(Witness(), storage, keys, settings.log_origin())
    assert path.read_text() == "{not json"
