"""Why a seal is refused and what a seal returns (``evidence/seal.py``: ``_seal_locked``), pinned where
mutation testing found it unchecked (``make mutation``, target evidence). The seal job's ``failed``
record quotes the refusal. Each test names the mutants it kills (function, change)."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from aimsflow import settings
from aimsflow.evidence.dsse import sign_envelope
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.seal import SealRefused, Witness, read_seal, seal_pending
from aimsflow.evidence.tlog import SEAL_PAYLOAD_TYPE, SealHead
from aimsflow.results import sha256_bytes
from tests.conftest import new_key


def _seal(storage, **kw):
    return seal_pending(storage, Signer.from_settings(), Witness(), **kw)


def _refused(storage, **kw) -> tuple[str, str]:
    with pytest.raises(SealRefused) as caught:
        _seal(storage, **kw)
    return caught.value.object, caught.value.problem


def test_a_seal_envelope_no_trusted_key_signed_stops_the_next_seal(storage, make_record):
    """Seal 2's envelope re-signed by an unknown key: the next seal is refused naming it. Kills
    seal._seal_locked ``scan_log(storage, keys)`` -> ``keys`` ``None`` / dropped (a forged seal built
    upon)."""
    make_record(run="r1")
    _seal(storage)
    make_record(dt.date(2026, 11, 20), run="r2")
    _seal(storage)
    key_id, seed, _ = new_key("rogue")
    body = storage.get("seals/00000002/seal.json")
    (storage.root / "seals" / "00000002" / "seal.dsse.json").write_bytes(
        sign_envelope(body, Signer.from_seed_b64(key_id, seed), SEAL_PAYLOAD_TYPE)
    )
    make_record(dt.date(2026, 11, 21), run="r3")
    obj, problem = _refused(storage)
    assert obj.startswith("seals/00000002") and problem.startswith("the store's log does not verify: ")


def test_a_clock_behind_the_last_seal_is_refused_naming_the_next_seal(storage, make_record):
    """Kills seal._seal_locked ``SealRefused(next_key, ...)`` -> ``None`` and the message's wording."""
    make_record(run="r1")
    first = _seal(storage)
    _, body = read_seal(storage, 1)
    last = dt.datetime.fromisoformat(body["sealed_at"])
    make_record(dt.date(2026, 11, 20), run="r2")
    behind = last - dt.timedelta(minutes=1)
    assert first.new_seal
    assert _refused(storage, now=behind) == (
        "seals/00000002",
        f"checkpoint time {behind.isoformat()} is not after the last seal's {last.isoformat()}: "
        "checkpoint times must increase (is the clock behind?)",
    )


def test_a_missing_or_unreadable_witness_is_named(storage, make_record, aims_env):
    """Kills seal._seal_locked ``SealRefused(witness.describe(), ...)`` -> ``None`` for an unreadable
    and for a missing witness, and the missing witness's message."""
    make_record(run="r1")
    (aims_env / "witness" / "witness.json").write_text("not json")
    obj, problem = _refused(storage)
    assert obj == Witness().describe() and problem
    shutil.rmtree(aims_env / "witness")
    assert _refused(storage) == (
        Witness().describe(),
        "the witness never started, so nothing is sealed (a missing witness may be a deleted one): "
        "start it once with `aimsflow witness init`",
    )


def test_a_changed_log_origin_is_refused_before_the_first_seal_and_after(storage, make_record, monkeypatch):
    """The witness started under the default origin; AIMSFLOW_LOG_ORIGIN changed before the first seal
    (the log has no checkpoint yet: the witness's origin counts), then after one. Kills
    seal._seal_locked ``scan.origin or witnessed.origin or origin`` -> ``and`` (the witness's origin
    ignored), the object -> ``None``, the message's log origin and wording."""
    default = settings.log_origin()
    make_record(run="r1")
    monkeypatch.setenv("AIMSFLOW_LOG_ORIGIN", "elsewhere.example/log")
    expected = (
        Witness().describe(),
        f"AIMSFLOW_LOG_ORIGIN is 'elsewhere.example/log' but the log is {default!r}: a log's origin never changes",
    )
    assert _refused(storage) == expected
    monkeypatch.setenv("AIMSFLOW_LOG_ORIGIN", default)
    _seal(storage)
    make_record(dt.date(2026, 11, 20), run="r2")
    monkeypatch.setenv("AIMSFLOW_LOG_ORIGIN", "elsewhere.example/log")
    assert _refused(storage) == expected


def test_a_seal_returns_its_head_and_the_witness_names_the_store(storage, make_record, aims_env):
    """A new seal: its head (sequence, SHA-256 of its body), the signer's key id in the body, the witness
    state naming the store; then nothing to seal: the same head, no seal, the last checkpoint and tree
    size. Kills seal._seal_locked ``SealResult(SealHead(...), ...)`` -> ``None`` / parts ``None``,
    ``"key_id"`` renamed, ``witness.write(..., store)`` -> ``None`` (twice), ``store = ...`` -> ``None`` /
    ``describe("XXXX")``, and the nothing-to-seal result's head, refused, checkpoint and size ->
    ``None`` / dropped."""
    make_record(run="r1")
    outcome = _seal(storage)
    body_bytes, body = read_seal(storage, 1)
    head = SealHead(1, sha256_bytes(body_bytes))
    assert outcome.head == head and outcome.records_sealed == 1 and outcome.tree_size == 1
    assert body["key_id"] == Signer.from_settings().key_id
    assert json.loads((aims_env / "witness" / "witness.json").read_text())["store"] == storage.describe("")
    again = _seal(storage)
    assert (again.head, again.records_sealed, again.new_seal, again.refused) == (head, 0, False, ())
    assert again.checkpoint == outcome.checkpoint and again.checkpoint is not None and again.tree_size == 1


def test_a_seal_signed_by_an_untrusted_key_is_refused_by_the_witness_first(storage, make_record):
    """The sealer's own key is not trusted: the witness would not accept the checkpoint, and nothing is
    written. Kills seal._seal_locked ``SealRefused(exc.object, f"the witness would not accept this
    seal: ...")`` -> object ``None`` / message ``None`` / either dropped."""
    make_record(run="r1")
    key_id, seed, _ = new_key("untrusted-sealer")
    with pytest.raises(SealRefused) as caught:
        seal_pending(storage, Signer.from_seed_b64(key_id, seed), Witness())
    assert caught.value.object == "seals/00000001"
    assert caught.value.problem.startswith(
        "the witness would not accept this seal: checkpoint is not signed by a trusted key"
    )
    assert not (storage.root / "seals" / "00000001").exists()
