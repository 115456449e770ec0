"""The verified loader every deciding reader uses (issue 12, "readers verify"): only records whose
DSSE signature verifies against the trusted keys are read; every other record folder is a finding.
Key validity is judged at the time of the seal that covers the record, else at the record's own end."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from aimsflow import settings
from aimsflow.evidence import listing
from aimsflow.evidence.keys import Signer, TrustedKeys, add_trusted_key
from aimsflow.evidence.listing import load_summaries, load_verified
from aimsflow.evidence.record import ENVELOPE, MANIFEST
from aimsflow.evidence.seal import Witness, seal_pending
from aimsflow.results import Status
from tests.conftest import new_key


def _keys() -> TrustedKeys:
    return TrustedKeys.load(settings.trusted_keys_path())


def _forger() -> Signer:
    _, seed, _ = new_key("forger")
    return Signer.from_seed_b64(str(settings.signing_key_id()), seed)


def test_only_records_whose_signature_verifies_are_read(storage, make_record):
    """Attack: readers counted any folder with a manifest. Forged, unsigned, edited, half-deleted and
    copied folders are findings with their problem, never records; genuine ones, sealed or pending,
    are read with their seal sequence."""
    sealed = make_record(dt.date(2026, 11, 18), run="r1")
    seal_pending(storage, Signer.from_settings(), Witness())
    pending = make_record(dt.date(2026, 11, 19), run="r2")
    forged = make_record(dt.date(2026, 11, 19), run="r3", signer=_forger())
    unsigned = make_record(dt.date(2026, 11, 19), run="r4")
    storage.path(f"{unsigned.key}/{ENVELOPE}").unlink()  # a folder with a manifest only
    envelope_only = make_record(dt.date(2026, 11, 19), run="r5")
    storage.path(f"{envelope_only.key}/{MANIFEST}").unlink()
    edited = make_record(dt.date(2026, 11, 19), run="r6", status=Status.failed)
    path = storage.path(f"{edited.key}/{MANIFEST}")
    path.write_bytes(path.read_bytes().replace(b'"status": "failed"', b'"status": "passed"'))
    copy = f"{pending.key}-copy"  # a genuine record copied to a folder it was not written to
    shutil.copytree(storage.path(pending.key), storage.path(copy))

    loaded = load_verified(storage, _keys())
    assert [(r.key, r.sealed_in) for r in loaded.records] == [(sealed.key, 1), (pending.key, None)]
    problems = {u.key: u.problem for u in loaded.rejected}
    assert problems == {
        forged.key: "signature by key 'test-key-1' does not match",
        unsigned.key: f"unreadable record: no {ENVELOPE}",
        envelope_only.key: f"unreadable record: no {MANIFEST}",
        edited.key: "signed payload differs from the stored file (edited after signing)",
        copy: f"manifest names the record {pending.key}, not this folder",
    }
    # The listing without verification (kept for counting, never for deciding) reads them all.
    assert {r.key for r in load_summaries(storage)} >= {forged.key, edited.key, copy}
    assert loaded.predicates[sealed.key]["record_id"] == sealed.record_id


def test_a_record_dated_after_the_moment_it_is_read_is_refused(storage, make_record):
    """A pending record is judged at its own end; an end later than now (beyond a little clock skew)
    is a claim no key validity can be judged at. The boundary: within the skew it is read."""
    now = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)
    skew = listing.CLOCK_SKEW
    inside = make_record(dt.date(2026, 11, 19), run="r1", ended_at=now + skew)
    beyond = make_record(dt.date(2026, 11, 19), run="r2", ended_at=now + skew + dt.timedelta(seconds=1))
    loaded = load_verified(storage, _keys(), now=now)
    assert [r.key for r in loaded.records] == [inside.key]
    (finding,) = loaded.rejected
    assert finding.key == beyond.key and finding.problem.startswith("ended at 2026-11-29T12:05:01+00:00")
    assert "in the future" in finding.problem


@pytest.fixture
def retired_key(aims_env):
    """A second trusted key, retired at RETIRED (valid until then, exclusive)."""
    key_id, seed, public = new_key("retired-key")
    path = settings.trusted_keys_path()
    add_trusted_key(path, key_id, public, dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    doc = json.loads(path.read_text())
    for entry in doc["keys"]:
        if entry["key_id"] == key_id:
            entry["valid_until"] = RETIRED.isoformat()
    path.write_text(json.dumps(doc))
    return Signer.from_seed_b64(key_id, seed)


RETIRED = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def _sealed_at(monkeypatch, key: str, sealed_at: dt.datetime) -> None:
    """The verified log places ``key`` in seal 1, sealed at ``sealed_at``."""
    position = listing.SealPosition(1, 0, sealed_at)
    monkeypatch.setattr(listing, "verified_seal_positions", lambda storage, keys: ({key: position}, []))


@pytest.mark.parametrize(
    ("sealed_at", "read"),
    [
        (RETIRED - dt.timedelta(microseconds=1), True),
        (RETIRED, False),  # valid_until is exclusive
        (RETIRED + dt.timedelta(days=3), False),
    ],
)
def test_key_validity_is_judged_at_the_seal_not_at_the_records_own_time(
    storage, make_record, retired_key, monkeypatch, sealed_at, read
):
    """Attack (issue 12): key validity was judged at a time the signer chooses. A record signed by a
    retired (or stolen) key and backdated into its window is refused once the seal that covers it is
    later than the key's retirement; the boundary is the retirement itself. While pending it is judged
    at the moment of reading, never at its own end (found in review)."""
    backdated = make_record(
        dt.date(2026, 11, 18), run="r1", signer=retired_key, ended_at=RETIRED - dt.timedelta(days=1)
    )
    before = RETIRED - dt.timedelta(microseconds=1)
    assert [r.key for r in load_verified(storage, _keys(), now=before).records] == [backdated.key]
    assert load_verified(storage, _keys(), now=RETIRED).records == []  # pending, read after retirement
    _sealed_at(monkeypatch, backdated.key, sealed_at)
    loaded = load_verified(storage, _keys())
    assert [r.key for r in loaded.records] == ([backdated.key] if read else [])
    if not read:
        (finding,) = loaded.rejected
        assert finding.problem == (
            f"signed at {sealed_at.isoformat()} outside the validity of key 'retired-key'"
        )


def test_records_are_ordered_by_their_place_in_the_log(storage, make_record):
    """Sealed records come first, by seal sequence and place among the seal's leaves; records not
    sealed yet follow, by the time they ended (not by a run's self-declared run_after)."""
    t = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    b = make_record(dt.date(2026, 11, 19), run="b", ended_at=t)
    a = make_record(dt.date(2026, 11, 18), run="a", ended_at=t + dt.timedelta(hours=1))
    seal_pending(storage, Signer.from_settings(), Witness())
    c = make_record(dt.date(2026, 11, 17), run="c", ended_at=t + dt.timedelta(hours=3))
    seal_pending(storage, Signer.from_settings(), Witness())
    late = make_record(dt.date(2026, 11, 10), run="late", ended_at=t + dt.timedelta(hours=5))
    early = make_record(dt.date(2026, 11, 30), run="early", ended_at=t + dt.timedelta(hours=4))
    records = load_verified(storage, _keys()).records
    ordered = sorted(records, key=lambda r: r.log_position)
    # Seal 1 lists a and b in its own leaf order; then seal 2 (c); then the pending ones by their end.
    seal_one = [r.key for r in ordered[:2]]
    assert sorted(seal_one) == sorted([a.key, b.key])
    assert [r.key for r in ordered[2:]] == [c.key, early.key, late.key]
    assert [r.sealed_in for r in ordered] == [1, 1, 2, None, None]
