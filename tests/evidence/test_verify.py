"""Each kind of tamper is reported with the broken object named; an intact store verifies clean."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from aimsflow.evidence.keys import Signer, TrustedKeys, add_trusted_key
from aimsflow.evidence.record import ENVELOPE, MANIFEST
from aimsflow.evidence.seal import SEAL_BODY, Witness, seal_pending
from aimsflow.evidence.verify import verify_store
from aimsflow.periods import Period
from tests.conftest import new_key


def _verify(storage, period=None):
    return verify_store(storage, TrustedKeys.load(), Witness(), period)


@pytest.fixture
def sealed_store(storage, make_record):
    """Two seals: seal 1 over two records, seal 2 over a third."""
    a = make_record(dt.date(2026, 11, 18), run="r1")
    b = make_record(dt.date(2026, 11, 19), run="r2")
    seal_pending(storage, Signer.from_settings(), Witness())
    c = make_record(dt.date(2026, 11, 20), run="r3")
    seal_pending(storage, Signer.from_settings(), Witness())
    return storage, [a, b, c]


def _objects(report):
    return [p.object for p in report.problems]


def test_intact_store_verifies(sealed_store):
    storage, refs = sealed_store
    report = _verify(storage)
    assert report.ok, report.problems
    assert report.records_checked == 3 and report.seals_checked == 2 and report.pending == []
    assert report.files_checked == 3 * 2 and report.head.sequence == 2 == report.witness.sequence


def test_unsealed_records_are_pending_not_broken(storage, make_record):
    ref = make_record()
    report = _verify(storage)
    assert report.ok and report.pending == [ref.key]
    result = seal_pending(storage, Signer.from_settings(), Witness())
    assert result.records_sealed == 1 and _verify(storage).pending == []
    assert seal_pending(storage, Signer.from_settings(), Witness()).new_seal is False


def test_changed_byte(sealed_store):
    storage, refs = sealed_store
    path = storage.path(f"{refs[0].key}/summary.json")
    data = bytearray(path.read_bytes())
    data[2] ^= 0x01
    path.write_bytes(bytes(data))
    assert _objects(_verify(storage)) == [f"{refs[0].key}/summary.json"]


def test_edited_manifest(sealed_store):
    storage, refs = sealed_store
    path = storage.path(f"{refs[1].key}/{MANIFEST}")
    path.write_text(path.read_text().replace('"status": "passed"', '"status": "failed"'))
    report = _verify(storage)
    assert set(_objects(report)) == {refs[1].key}
    assert any("edited after signing" in p.problem for p in report.problems)


def test_edited_manifest_resigned_with_a_trusted_key_is_caught_by_the_seal(sealed_store):
    storage, refs = sealed_store
    from aimsflow.evidence.dsse import sign_envelope

    path = storage.path(f"{refs[1].key}/{MANIFEST}")
    edited = path.read_text().replace('"status": "passed"', '"status": "failed"').encode()
    path.write_bytes(edited)
    storage.path(f"{refs[1].key}/{ENVELOPE}").write_bytes(sign_envelope(edited, Signer.from_settings()))
    report = _verify(storage)
    assert _objects(report) == [refs[1].key]
    assert "differs from the one sealed in seal 1" in report.problems[0].problem


def test_deleted_file(sealed_store):
    storage, refs = sealed_store
    storage.path(f"{refs[2].key}/charts/a.txt").unlink()
    report = _verify(storage)
    assert _objects(report) == [f"{refs[2].key}/charts/a.txt"]
    assert "missing (deleted)" in report.problems[0].problem


def test_added_file(sealed_store):
    storage, refs = sealed_store
    storage.path(f"{refs[0].key}/extra.csv").write_text("x\n")
    stray = storage.path("records/2026-11-18/stray.txt")
    stray.write_text("y")
    report = _verify(storage)
    assert _objects(report) == ["records/2026-11-18", f"{refs[0].key}/extra.csv"]


def test_deleted_record(sealed_store):
    storage, refs = sealed_store
    shutil.rmtree(storage.path(refs[1].key))
    report = _verify(storage)
    assert _objects(report) == [refs[1].key]
    assert "deleted record" in report.problems[0].problem


def test_deleted_seal(sealed_store, make_record):
    storage, refs = sealed_store
    make_record(dt.date(2026, 11, 21), run="r4")
    seal_pending(storage, Signer.from_settings(), Witness())
    shutil.rmtree(storage.path("seals/00000002"))
    report = _verify(storage)
    assert "seals/00000002" in _objects(report)
    assert any("seal missing" in p.problem for p in report.problems)


def test_reordered_seals(sealed_store):
    storage, refs = sealed_store
    one, two, tmp = storage.path("seals/00000001"), storage.path("seals/00000002"), storage.path("seals/tmp")
    one.rename(tmp)
    two.rename(one)
    tmp.rename(two)
    report = _verify(storage)
    assert {"seals/00000001", "seals/00000002"} <= set(_objects(report))
    assert any("reordered" in p.problem for p in report.problems)


def test_newest_seal_and_its_records_removed_is_caught_by_the_witness(sealed_store):
    storage, refs = sealed_store
    shutil.rmtree(storage.path("seals/00000002"))
    shutil.rmtree(storage.path(refs[2].key))
    report = _verify(storage)  # the store alone now looks consistent: only the witness knows
    assert _objects(report) == ["seals/00000002"]
    assert "truncated or rolled back" in report.problems[0].problem


def test_record_signed_by_unknown_key(storage, make_record):
    _, seed, _ = new_key("rogue")
    ref = make_record(signer=Signer.from_seed_b64("rogue", seed))
    report = _verify(storage)
    assert _objects(report) == [ref.key]
    assert "unknown key 'rogue'" in report.problems[0].problem


def test_rotation_keeps_old_records_valid_and_catches_signing_outside_validity(
    storage, make_record, aims_env
):
    """Rotation: records sealed while the old key was valid stay valid (judged at their checkpoint's
    time); a record the old key signs after its validity ended is reported."""
    old = make_record(run="r1")
    seal_pending(storage, Signer.from_settings(), Witness())  # rotate once the old key's records are sealed
    key_id, seed, public = new_key("test-key-2")
    keys_file = aims_env / "keys" / "trusted_keys.json"
    doc = json.loads(keys_file.read_text())
    rotation = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    doc["keys"][0]["valid_until"] = dt.datetime.now(dt.UTC).isoformat()
    keys_file.write_text(json.dumps(doc))
    add_trusted_key(keys_file, key_id, public, rotation)
    new = make_record(run="r2", signer=Signer.from_seed_b64(key_id, seed))
    assert _verify(storage).ok
    late = make_record(run="r3")  # old key, after its validity ended
    report = _verify(storage)
    assert _objects(report) == [late.key] and "outside the validity" in report.problems[0].problem
    assert old.key != new.key


def test_pending_record_signed_by_a_key_that_expired_since_is_reported(storage, make_record, aims_env):
    """Pending records are judged now: rotate only after the old key's records are sealed (or give
    the old key one seal interval of overlap)."""
    ref = make_record(run="r1")
    keys_file = aims_env / "keys" / "trusted_keys.json"
    doc = json.loads(keys_file.read_text())
    doc["keys"][0]["valid_until"] = dt.datetime.now(dt.UTC).isoformat()
    keys_file.write_text(json.dumps(doc))
    report = _verify(storage)
    assert _objects(report) == [ref.key] and "outside the validity" in report.problems[0].problem


def test_period_filter_checks_only_overlapping_records(sealed_store):
    storage, refs = sealed_store
    storage.path(f"{refs[0].key}/summary.json").write_text("tampered")
    report = _verify(storage, Period.day(dt.date(2026, 11, 20)))
    assert report.ok and report.records_checked == 1
    assert not _verify(storage).ok


def test_seal_written_but_not_witnessed_is_repaired_by_next_seal(storage, make_record, aims_env):
    make_record(run="r1")
    before = (aims_env / "witness" / "witness.json").read_bytes()
    seal_pending(storage, Signer.from_settings(), Witness())
    (aims_env / "witness" / "witness.json").write_bytes(before)  # crash between seal and witness
    report = _verify(storage)
    assert _objects(report) == ["seals/00000001"] and "not witnessed yet" in report.problems[0].problem
    make_record(run="r2")
    seal_pending(storage, Signer.from_settings(), Witness())
    assert _verify(storage).ok and Witness().read().sequence == 2


def test_seal_body_edit_breaks_signature_and_chain(sealed_store):
    storage, _ = sealed_store
    path = storage.path(f"seals/00000001/{SEAL_BODY}")
    path.write_text(path.read_text().replace('"tree_size": 2', '"tree_size": 3'))
    objects = _objects(_verify(storage))
    assert "seals/00000001" in objects and "seals/00000002" in objects
