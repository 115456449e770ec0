"""The scan of the log (``tlog.scan_log``, ``_folders``) and starting a witness (``witness.init_witness``,
``Witness.read``): what each check finds and says, pinned where mutation testing found it unchecked
(``make mutation``, target evidence). Each test names the mutants it kills (function, change)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from aimsflow import settings
from aimsflow.evidence.dsse import sign_envelope
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.seal import Witness, read_seal, seal_pending
from aimsflow.evidence.tlog import SEAL_PAYLOAD_TYPE, scan_log
from aimsflow.evidence.witness import WitnessRefused, init_witness
from tests.conftest import new_key
from tests.evidence.test_mutation_kills_store import _log_of, _problems_of, _rewrite
from tests.evidence.test_seal_log import format_1_store, write_format_1_seal  # noqa: F401 (a fixture)


def test_each_broken_link_of_the_chain_is_named(storage, make_record):
    """Seal 1 names a previous seal; seal 2 says it is seal 3; seal 3 names the wrong previous seal;
    seal 4 has the same time as seal 3; seal 5 takes in a leaf seal 1 holds; then a format-1 seal after
    format-2 ones. Kills tlog.scan_log ``doc.get("previous_seal_sha256")`` / ``doc.get("sequence")`` ->
    another key, each message's wording, ``sealed_at <= previous`` -> ``<``, ``seen_records.add(record)``
    -> ``add(None)``, the downgrade's object and message -> ``None``."""
    _log_of(storage, make_record, 5)
    _rewrite(storage, 1, lambda b: b.update(previous_seal_sha256="0" * 64))
    _rewrite(storage, 2, lambda b: b.update(sequence=3))
    _rewrite(storage, 3, lambda b: b.update(previous_seal_sha256="1" * 64))
    _, body3 = read_seal(storage, 3)
    _rewrite(storage, 4, lambda b: b.update(sealed_at=body3["sealed_at"]))
    _, body1 = read_seal(storage, 1)
    _rewrite(storage, 5, lambda b: b.update(leaves=[*b["leaves"], body1["leaves"][0]]))
    make_record(dt.date(2026, 11, 30), run="r9")
    write_format_1_seal(storage, Signer.from_settings(), dt.datetime.now(dt.UTC))
    problems = _problems_of(storage)
    assert "first seal names a previous seal: earlier seals were removed" in problems["seals/00000001"]
    assert "seal says sequence 3, stored as 2 (reordered or moved)" in problems["seals/00000002"]
    assert (
        "previous_seal_sha256 does not match the seal before it: the chain is broken"
        in problems["seals/00000003"]
    )
    sealed_at = dt.datetime.fromisoformat(body3["sealed_at"]).isoformat()
    assert (
        f"sealed_at {sealed_at} is not after seal 3's {sealed_at}: checkpoint times must increase"
        in problems["seals/00000004"]
    )
    assert f"leaf {body1['leaves'][0]['record']} is already in an earlier seal" in problems["seals/00000005"]
    assert (
        "format-1 seal after a format-2 seal (a downgrade: format 1 carries no checkpoint)"
        in problems["seals/00000006"]
    )


def test_stray_objects_among_the_seals_are_named_and_the_seals_still_read(storage, make_record):
    """A file at the top of ``seals/``, a folder that is no seal name, a sub-folder inside a seal: each
    named, and the seals after them still read. Kills tlog._folders ``rpartition`` -> ``partition``,
    the object (``if folder``) and the message changed, ``continue`` -> ``break`` (``"/" in folder`` ->
    ``"XX/XX"`` is equivalent: docs/mutation.md)."""
    _log_of(storage, make_record, 2)
    root = storage.root / "seals"
    (root / "0-notes.txt").write_text("x")
    (root / "00000001" / "sub").mkdir()
    (root / "00000001" / "sub" / "x.txt").write_text("x")
    (root / "abc").mkdir()
    (root / "abc" / "seal.json").write_text("{}")
    scan = scan_log(storage, TrustedKeys.load())
    stray = [p for p in scan.problems if p[1] == "unexpected object among the seals"]
    assert sorted(obj for obj, _ in stray) == ["seals/0-notes.txt", "seals/00000001/sub", "seals/abc"]
    assert scan.last_sequence == 2 and [e.sequence for e in scan.entries] == [1, 2]


def test_starting_a_witness_twice_or_on_a_log_that_does_not_verify_is_refused(storage, make_record, aims_env):
    """Kills witness.init_witness the "already started" refusal's object and wording, ``scan_log(storage,
    keys)`` -> ``keys`` ``None`` / dropped (a forged seal envelope trusted on first use), the first
    problem's object and message (``problems[0]`` -> ``[1]`` / ``None``), the origin refusal's object
    and message."""
    make_record(run="r1")
    seal_pending(storage, Signer.from_settings(), Witness())
    with pytest.raises(WitnessRefused) as caught:
        init_witness(Witness(), storage, TrustedKeys.load(), settings.log_origin())
    assert caught.value.object == Witness().describe()
    assert caught.value.problem == (
        "the witness already started (seal 1, tree size 1); it advances with `aimsflow witness update`"
    )
    other = Witness(aims_env / "other-origin")
    with pytest.raises(WitnessRefused) as caught:
        init_witness(other, storage, TrustedKeys.load(), "elsewhere.example/log")
    assert (caught.value.object, caught.value.problem) == (
        other.describe(),
        f"the log's checkpoints name origin {settings.log_origin()!r}, not 'elsewhere.example/log'",
    )
    key_id, seed, _ = new_key("rogue")
    body = storage.get("seals/00000001/seal.json")
    (storage.root / "seals" / "00000001" / "seal.dsse.json").write_bytes(
        sign_envelope(body, Signer.from_seed_b64(key_id, seed), SEAL_PAYLOAD_TYPE)
    )
    fresh = Witness(aims_env / "fresh")
    with pytest.raises(WitnessRefused) as caught:
        init_witness(fresh, storage, TrustedKeys.load(), settings.log_origin())
    (first_obj, first_problem), *_ = scan_log(storage, TrustedKeys.load()).problems
    assert caught.value.object == first_obj == "seals/00000001"
    assert caught.value.problem == f"the store's log does not verify: {first_problem}"


def test_a_legacy_head_is_upgraded_saying_what_was_accepted(format_1_store, aims_env, make_record):  # noqa: F811
    """A format-1 ``head.json`` at seal 1 while the store holds two more seals (format 1, then format 2):
    ``witness init`` upgrades it, accepting seals 2 and 3, at the time given, writing ``witness.json``
    that names the store. Kills witness.init_witness ``advance(before, scan, keys, now)`` -> ``keys`` /
    ``now`` ``None``, ``accepted`` (every
    mutant of the range, ``None``, ``and False``), ``WitnessUpdate(before, after, accepted)`` ->
    ``before`` / ``accepted`` ``None``, ``witness.write(after, storage.describe(""))`` -> ``None`` /
    ``describe("XXXX")``; Witness.read the unreadable head's message."""
    storage, _ = format_1_store
    make_record(dt.date(2026, 11, 25), run="r4")
    seal_pending(storage, Signer.from_settings(), Witness())  # seal 3, format 2 (the witness upgraded)
    (aims_env / "witness" / "witness.json").unlink()
    head = {"sequence": 1, "seal_sha256": storage.sha256("seals/00000001/seal.json")}
    (aims_env / "witness" / "head.json").write_text(json.dumps(head))
    now = dt.datetime.now(dt.UTC)
    update = init_witness(Witness(), storage, TrustedKeys.load(), settings.log_origin(), now)
    assert update.before is not None and update.before.legacy and update.before.sequence == 1
    assert update.accepted == [2, 3] and update.after.sequence == 3 and update.after.accepted_at == now
    assert update.after.checkpoint is not None  # seal 3's checkpoint, opened with the trusted keys
    written = json.loads((aims_env / "witness" / "witness.json").read_text())
    assert written["store"] == storage.describe("") and not (aims_env / "witness" / "head.json").exists()
    broken = Witness(aims_env / "broken")
    (aims_env / "broken").mkdir()
    (aims_env / "broken" / "head.json").write_text("not json")
    with pytest.raises(ValueError) as caught:
        broken.read()
    assert str(caught.value).startswith(f"{broken.storage.describe('head.json')}: unreadable witness head: ")


def test_an_unreadable_witness_state_is_refused_naming_the_witness(storage, aims_env):
    """Kills witness._read ``WitnessRefused(witness.describe(), ...)`` -> ``None``."""
    from aimsflow.evidence.witness import update_witness

    (aims_env / "witness" / "witness.json").write_text("not json")
    with pytest.raises(WitnessRefused) as caught:
        update_witness(Witness(), storage, TrustedKeys.load())
    assert caught.value.object == Witness().describe()
    assert caught.value.problem.startswith(f"{Witness().describe()}: unreadable witness state: ")


def test_a_format_1_seal_whose_size_alone_is_wrong_is_named(format_1_store):  # noqa: F811
    """Format-1 seal 2 re-signed claiming one leaf more (its Merkle root still right): named. Kills
    tlog.scan_log ``root != merkle_root or len(leaves) != tree_size`` -> ``and`` and the message's
    object and wording."""
    storage, _ = format_1_store
    _rewrite(storage, 2, lambda b: b.update(tree_size=b["tree_size"] + 1))
    assert _problems_of(storage)["seals/00000002"] == ["Merkle root or tree size does not match the leaves"]
