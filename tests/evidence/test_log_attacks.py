"""Attacks on the seal log by an insider with write access to the store (issue 12), each one
reproduced and shown detected or refused: the witness kept elsewhere is what the store is held to."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil

import pytest

from aimsflow.evidence.dsse import sign_envelope
from aimsflow.evidence.keys import Signer, TrustedKeys, add_trusted_key
from aimsflow.evidence.seal import Witness, seal_pending, seal_sequences, sealed_keys
from aimsflow.evidence.verify import verify_store
from aimsflow.results import sha256_bytes
from tests.conftest import new_key


def _verify(storage, **kw):
    return verify_store(storage, TrustedKeys.load(), Witness(), **kw)


def _objects(report):
    return [p.object for p in report.problems]


def _seal(storage, **kw):
    return seal_pending(storage, Signer.from_settings(), Witness(), **kw)


def _try_seal(storage, signer=None):
    """Seal, returning the exception a refusal raised (None when it sealed)."""
    try:
        seal_pending(storage, signer or Signer.from_settings(), Witness())
    except Exception as exc:  # the type is asserted by the caller
        return exc
    return None


def _witness_files(aims_env):
    return {p.name: p.read_bytes() for p in (aims_env / "witness").iterdir()}


def _put_witness_files(aims_env, files):
    folder = aims_env / "witness"
    shutil.rmtree(folder)
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)


def test_deleting_seals_and_the_witness_is_caught_and_history_is_not_resealed(storage, make_record, aims_env):
    """Attack: delete seals/ and the witness's head: verify answered "OK: evidence intact" with every
    record pending, and the next seal re-sealed a rewritten history."""
    written = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    make_record(run="r1", ended_at=written)
    make_record(dt.date(2026, 11, 20), run="r2", ended_at=written)
    _seal(storage)
    shutil.rmtree(storage.path("seals"))
    shutil.rmtree(aims_env / "witness")

    report = _verify(storage)
    assert not report.ok and _objects(report) == ["witness"]
    assert "older than one seal interval" in report.problems[0].problem

    from aimsflow.evidence.seal import SealRefused

    with pytest.raises(SealRefused, match="witness never started"):
        _seal(storage)
    assert seal_sequences(storage) == []


def test_store_rolled_back_behind_the_witness_is_not_sealed_over(storage, make_record, aims_env):
    """Attack: the store rolled back (witness ahead of it): seal_pending sealed on top and overwrote
    the witness with the lower sequence, hiding the rollback."""
    make_record(run="r1")
    _seal(storage)
    second = make_record(dt.date(2026, 11, 20), run="r2")
    _seal(storage)
    witnessed = Witness().read()
    shutil.rmtree(storage.path("seals/00000002"))  # back to seal 1, the record of seal 2 gone too
    shutil.rmtree(storage.path(second.key))
    make_record(dt.date(2026, 11, 21), run="r3")

    refused = _try_seal(storage)
    assert seal_sequences(storage) == [1]  # nothing sealed over the rollback
    assert Witness().read() == witnessed  # and the witness still knows seal 2
    assert type(refused).__name__ == "SealRefused" and "truncated or rolled back" in str(refused)
    report = _verify(storage)
    assert "seals/00000002" in _objects(report)


def test_other_seal_at_the_witnessed_sequence_is_not_sealed_over(storage, make_record, aims_env):
    """Attack: a seal at the witness's sequence with another hash (history rewritten and resealed
    while the witness was out of reach): seal_pending sealed on top of it."""
    make_record(run="r1")
    _seal(storage)
    after_one = _witness_files(aims_env)
    second = make_record(dt.date(2026, 11, 20), run="r2")
    _seal(storage)
    after_two = _witness_files(aims_env)
    # The insider rewrites seal 2 without the real witness: drops record r2, seals r3 in its place.
    shutil.rmtree(storage.path("seals/00000002"))
    shutil.rmtree(storage.path(second.key))
    _put_witness_files(aims_env, after_one)
    make_record(dt.date(2026, 11, 21), run="r3")
    _seal(storage)
    forged = storage.sha256("seals/00000002/seal.json")
    _put_witness_files(aims_env, after_two)  # the real witness, out of the insider's reach
    assert forged != Witness().read().seal_sha256

    make_record(dt.date(2026, 11, 22), run="r4")
    refused = _try_seal(storage)
    assert seal_sequences(storage) == [1, 2]
    assert _witness_files(aims_env) == after_two
    assert type(refused).__name__ == "SealRefused" and "witness accepted" in str(refused)
    report = _verify(storage)
    assert "seals/00000002" in _objects(report)
    assert any("witness accepted" in p.problem for p in report.problems)


def _retire_first_key(aims_env, until: dt.datetime) -> Signer:
    """End the test key's validity at ``until``; return a signer with a new key trusted since 2020."""
    keys_file = aims_env / "keys" / "trusted_keys.json"
    doc = json.loads(keys_file.read_text())
    doc["keys"][0]["valid_until"] = until.isoformat()
    keys_file.write_text(json.dumps(doc))
    key_id, seed, public = new_key("test-key-2")
    add_trusted_key(keys_file, key_id, public, dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    return Signer.from_seed_b64(key_id, seed)


def test_retired_key_backdating_a_record_into_its_window_is_refused(storage, make_record, aims_env):
    """Attack: key validity was checked against a time the signer chooses (``ended_at``): a retired
    (or stolen) key signs a record backdated into its window, and it was accepted and sealed."""
    now = dt.datetime.now(dt.UTC)
    current = _retire_first_key(aims_env, until=now - dt.timedelta(days=3))
    good = make_record(run="r1", signer=current)
    forged = make_record(run="r2", ended_at=now - dt.timedelta(days=5))  # the retired key, backdated

    report = _verify(storage)
    problems = {p.object: p.problem for p in report.problems}
    assert good.key not in problems and "outside the validity" in problems[forged.key]

    seal_pending(storage, current, Witness())
    assert good.key in sealed_keys(storage) and forged.key not in sealed_keys(storage)


def _forge_seal(storage, signer: Signer, sealed_at: dt.datetime, record_key: str) -> None:
    """A seal n+1 over ``record_key``, chained to seal n, signed by ``signer`` and dated ``sealed_at``,
    written straight into the store (what an insider holding a key can do)."""
    last = seal_sequences(storage)[-1]
    previous = storage.get(f"seals/{last:08d}/seal.json")
    body = json.loads(previous)
    sha = storage.sha256(f"{record_key}/manifest.json")
    body.update(
        sequence=last + 1,
        sealed_at=sealed_at.isoformat(),
        previous_seal_sha256=sha256_bytes(previous),
        key_id=signer.key_id,
        leaves=[{"record": record_key, "manifest_sha256": sha}],
    )
    data = (json.dumps(body, indent=1) + "\n").encode()
    files = {
        "seal.json": data,
        "seal.dsse.json": sign_envelope(data, signer, "application/vnd.aimsflow.seal+json"),
    }
    if storage.exists(f"seals/{last:08d}/checkpoint"):
        files["checkpoint"] = storage.get(f"seals/{last:08d}/checkpoint")
    storage.put_dir_once(f"seals/{last + 1:08d}", files)


def test_retired_key_backdating_a_seal_into_its_window_is_refused(storage, make_record, aims_env):
    """Attack: key validity was checked against a time the signer chooses (``sealed_at``): a retired
    key signs a seal dated inside its window; the next seal witnessed it and sealed on top."""
    now = dt.datetime.now(dt.UTC)
    retired = Signer.from_settings()
    current = _retire_first_key(aims_env, until=now - dt.timedelta(days=3))
    make_record(run="r1", signer=current)
    seal_pending(storage, current, Witness())
    witnessed = _witness_files(aims_env)
    extra = make_record(dt.date(2026, 11, 20), run="r2", ended_at=now - dt.timedelta(days=6))
    _forge_seal(storage, retired, now - dt.timedelta(days=4), extra.key)

    make_record(dt.date(2026, 11, 21), run="r3", signer=current)
    refused = _try_seal(storage, current)
    assert _witness_files(aims_env) == witnessed  # the forged seal is not accepted
    assert seal_sequences(storage) == [1, 2]
    assert type(refused).__name__ == "SealRefused"
    report = _verify(storage)
    assert any("checkpoint times must increase" in p.problem for p in report.problems)


def _flip_signature_bit(envelope: bytes) -> bytes:
    doc = json.loads(envelope)
    sig = bytearray(base64.b64decode(doc["signatures"][0]["sig"]))
    sig[10] ^= 0x01
    doc["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    return json.dumps(doc).encode()


def test_seal_with_a_wrong_signature_under_a_trusted_key(storage, make_record):
    """Attack: no test had a wrong signature under a trusted key (Ed25519 check mutated to ``pass``
    went unnoticed). One bit of a seal's signature flipped, its trusted key id kept."""
    make_record(run="r1")
    _seal(storage)
    path = storage.path("seals/00000001/seal.dsse.json")
    path.write_bytes(_flip_signature_bit(path.read_bytes()))
    report = _verify(storage)
    assert _objects(report) == ["seals/00000001"]
    assert report.problems[0].problem == "signature by key 'test-key-1' does not match"
