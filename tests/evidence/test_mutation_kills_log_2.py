"""The log's scan, ``prove`` and the reader's clock: what they tell an auditor, pinned where mutation
testing found it unchecked (survivors of ``make mutation``, target evidence, in ``tlog.scan_log``,
``tlog._read_entry``, ``tlog.prove_inclusion`` and ``trust.read_verified``). Each test names the mutants
it kills (function, change)."""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import json
import shutil
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from aimsflow.audit.show import describe_record
from aimsflow.evidence import tlog
from aimsflow.evidence.dsse import sign_envelope
from aimsflow.evidence.keys import Signer, TrustedKey, TrustedKeys
from aimsflow.evidence.merkle import EMPTY_ROOT, merkle_root
from aimsflow.evidence.seal import Witness, read_seal, seal_pending
from aimsflow.evidence.tlog import SEAL_FORMAT_1, SEAL_PAYLOAD_TYPE, ProveError, prove_inclusion, scan_log
from aimsflow.evidence.trust import UntrustedRecord, read_verified
from aimsflow.results import sha256_bytes
from tests.conftest import PROJECT
from tests.evidence.test_mutation_kills_store import _log_of
from tests.evidence.test_seal_log import format_1_store, write_format_1_seal  # noqa: F401 (a fixture)


def _seal(storage, **kw):
    return seal_pending(storage, Signer.from_settings(), Witness(), **kw)


def _stock_script():
    """``scripts/verify_inclusion.py``, the outsider's standard-library checker, loaded in-process."""
    spec = importlib.util.spec_from_file_location(
        "verify_inclusion", PROJECT / "scripts" / "verify_inclusion.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- scan_log: a gap in the log makes the tree unknown, not wrong ----------------------------------


def test_a_missing_seal_is_the_only_problem_the_seals_after_it_are_not_misjudged(storage, make_record):
    """Seal 1 of three deleted: the scan names the gap and nothing else. Seal 2 is not blamed for a
    broken chain (the seal before it is unknown, not "no hash") nor for its ``tree_size_before`` (the
    leaves before it are unknown, not zero), and the scan of a broken log holds no leaves (tree size 0,
    never a crash). Kills tlog.scan_log ``size_before = tree.size if scan.complete`` -> ``... or True``
    (a false "tree_size_before 1, but the seals before it hold 0 leaves"), ``previous_sha = None`` after
    an unreadable seal -> ``""`` (a false "previous_seal_sha256 does not match"), ``scan.leaf_hashes =
    []`` / ``scan.leaves = []`` of an incomplete scan -> ``None``."""
    _log_of(storage, make_record, 3)
    shutil.rmtree(storage.root / "seals" / "00000001")
    scan = scan_log(storage, TrustedKeys.load())
    assert scan.problems == [("seals/00000001", "seal missing (deleted): the chain is broken here")]
    assert not scan.complete and [e.sequence for e in scan.entries] == [2, 3]
    assert [(e.tree_size, e.root) for e in scan.entries] == [(None, None), (None, None)]
    assert scan.tree_size == 0 and scan.leaves == [] and scan.leaf_hashes == []


def test_a_complete_log_still_checks_tree_size_before_and_the_chain(storage, make_record):
    """The negative case of the test above: with every seal present, a wrong ``tree_size_before`` and a
    broken link are named (the checks the gap switches off are on)."""
    from tests.evidence.test_mutation_kills_store import _rewrite

    _log_of(storage, make_record, 3)
    _rewrite(storage, 2, lambda b: b.update(tree_size_before=0, previous_seal_sha256="0" * 64))
    found = [p for obj, p in scan_log(storage, TrustedKeys.load()).problems if obj == "seals/00000002"]
    assert "previous_seal_sha256 does not match the seal before it: the chain is broken" in found
    assert "tree_size_before 0, but the seals before it hold 1 leaves" in found


# --- _read_entry: what a format-1 body may leave out ------------------------------------------------


def _put_format_1(storage, seq: int, body: dict) -> None:
    data = (json.dumps(body, indent=1) + "\n").encode()
    storage.put_dir_once(
        f"seals/{seq:08d}",
        {"seal.json": data, "seal.dsse.json": sign_envelope(data, Signer.from_settings(), SEAL_PAYLOAD_TYPE)},
        last=("seal.dsse.json",),
    )


def test_a_format_1_seal_without_format_or_leaves_fields_reads_as_format_1(storage, make_record):
    """Format-1 bodies may leave out ``format`` (format 1 is the default) and ``leaves`` (no leaves): seal
    1 without ``format``, seal 2 (an empty seal, tree size 0, the empty root) without ``leaves``; both
    read, the log has no problem and seal 1's leaf is the log's leaf 0. Kills tlog._read_entry
    ``doc.get("format", SEAL_FORMAT_1)`` -> ``None`` / no default ("unknown seal format None") and
    ``doc.get("leaves", [])`` -> ``None`` / no default ("unreadable seal body: TypeError(...)")."""
    signer = Signer.from_settings()
    ref = make_record(run="r1")
    digest = storage.sha256(f"{ref.key}/manifest.json")
    t = dt.datetime.now(dt.UTC)
    first = {
        "sequence": 1,
        "sealed_at": t.isoformat(),
        "previous_seal_sha256": None,
        "tree_size": 1,
        "merkle_root": merkle_root([bytes.fromhex(digest)]).hex(),
        "key_id": signer.key_id,
        "leaves": [{"record": ref.key, "manifest_sha256": digest}],
    }
    _put_format_1(storage, 1, first)
    second = {
        "format": SEAL_FORMAT_1,
        "sequence": 2,
        "sealed_at": (t + dt.timedelta(minutes=1)).isoformat(),
        "previous_seal_sha256": sha256_bytes(read_seal(storage, 1)[0]),
        "tree_size": 0,
        "merkle_root": EMPTY_ROOT.hex(),
        "key_id": signer.key_id,
    }
    _put_format_1(storage, 2, second)
    scan = scan_log(storage, TrustedKeys.load())
    assert scan.problems == []
    assert [(e.sequence, e.format, e.leaves) for e in scan.entries] == [
        (1, SEAL_FORMAT_1, [(ref.key, digest)]),
        (2, SEAL_FORMAT_1, []),
    ]
    assert scan.complete and scan.leaves == [(ref.key, digest)]


def test_a_record_of_a_format_1_seal_shows_no_checkpoint(format_1_store, make_record):  # noqa: F811
    """``aimsflow audit show``: a record sealed by a format-1 seal has no checkpoint (null, not an empty
    note); one sealed by a format-2 seal shows that seal's signed note. Kills tlog._read_entry ``note =
    None`` -> ``""`` (a format-1 seal carrying an empty checkpoint)."""
    storage, refs = format_1_store
    late = make_record(dt.date(2026, 11, 22), run="r4")
    _seal(storage)
    keys = TrustedKeys.load()
    old = describe_record(storage, refs[2].key, keys).seal
    assert (old.state, old.sequence, old.checkpoint) == ("sealed", 2, None)
    assert describe_record(storage, refs[2].key, keys).as_dict()["seal"]["checkpoint"] is None
    new = describe_record(storage, late.key, keys).seal
    assert (new.sequence, new.checkpoint) == (3, storage.get("seals/00000003/checkpoint").decode())
    assert [e.note is None for e in scan_log(storage, keys).entries] == [True, True, False]


# --- prove: leaves after the latest checkpoint -------------------------------------------------------


@pytest.fixture
def downgraded(storage, make_record):
    """Seal 1 (format 2, checkpoint of 2 leaves), then seal 2 written by a format-1 sealer (a downgrade
    the scan names, the log still complete) holding the log's leaf 2: (storage, [r1, r2 sorted], r3)."""
    first = sorted([make_record(run="r1"), make_record(dt.date(2026, 11, 20), run="r2")], key=lambda r: r.key)
    _seal(storage)
    third = make_record(dt.date(2026, 11, 21), run="r3")
    write_format_1_seal(storage, Signer.from_settings(), dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    scan = scan_log(storage)
    assert scan.complete and scan.tree_size == 3
    assert [e.format for e in scan.entries] == [tlog.SEAL_FORMAT, SEAL_FORMAT_1]
    return storage, first, third


def test_prove_refuses_the_first_leaf_after_the_latest_checkpoint(downgraded, capsys):
    """The record at leaf 2 when the latest checkpoint signs 2 leaves (index == tree size): a clear
    refusal naming the record and the checkpoint's size, as ``aimsflow evidence prove`` prints it
    (exit 1). Kills tlog.prove_inclusion ``index >= latest.tree_size`` -> ``>`` (a ProofError crash
    instead) and that message -> ``None``."""
    from aimsflow.cli import main

    storage, _, third = downgraded
    expected = f"{third.key} is after the latest checkpoint (tree size 2)"
    with pytest.raises(ProveError) as caught:
        prove_inclusion(storage, third.key)
    assert str(caught.value) == expected
    with pytest.raises(SystemExit) as code:
        main(["evidence", "prove", third.key])
    out, err = capsys.readouterr()
    assert code.value.code == 1 and out == "" and expected in err


def test_prove_gives_the_path_in_the_checkpoints_tree_not_the_whole_log(downgraded, tmp_path, capsys):
    """The records at leaves 0 and 1 (one before the boundary): the proof is against the checkpoint's tree
    of 2 leaves (a path of one node), though the log holds 3, and the outsider's stock-Python script
    accepts it. Kills tlog.prove_inclusion ``inclusion_proof(..., latest.tree_size)`` -> ``None`` /
    dropped (the path in the tree of all 3 leaves, which does not give the checkpoint's root)."""
    storage, first, _ = downgraded
    script = _stock_script()
    for index, ref in enumerate(first):
        proof = prove_inclusion(storage, ref.key)
        assert (proof.leaf_index, proof.tree_size, proof.seal) == (index, 2, 1)
        assert len(proof.path) == 1
        assert proof.checkpoint == storage.get("seals/00000001/checkpoint").decode()
        path = tmp_path / f"proof-{index}.json"
        path.write_text(json.dumps(proof.as_dict()))
        assert script.main([str(path), str(storage.path(f"{ref.key}/manifest.json"))]) == 0
        assert capsys.readouterr().out.startswith(f"OK: {ref.key} is leaf {index} ")


def test_prove_refuses_a_path_that_does_not_give_the_checkpoints_root(storage, make_record, monkeypatch):
    """``prove`` checks the proof before it gives it out: a path that does not lead to the checkpoint's
    root (here a Merkle implementation made faulty by the test) is refused, naming the seal and why.
    Kills tlog.prove_inclusion the message of that refusal -> ``None``."""
    ref = make_record(run="r1")
    make_record(dt.date(2026, 11, 20), run="r2")
    _seal(storage)
    real = tlog.inclusion_proof

    def faulty(hashes, index, size=None):
        return [bytes(32) for _ in real(hashes, index, size)]

    monkeypatch.setattr(tlog, "inclusion_proof", faulty)
    with pytest.raises(ProveError) as caught:
        prove_inclusion(storage, ref.key)
    assert (
        str(caught.value)
        == "the log's leaves do not give seal 1's root: inclusion proof leads to another root"
    )


# --- read_verified: "now" is the UTC clock ----------------------------------------------------------


def test_read_verified_judges_key_validity_by_the_utc_clock_on_any_host(storage, make_record, monkeypatch):
    """A key retiring in two hours: a record it signed is read now, also on a host at UTC+9 (local time
    read as UTC would be 9 hours later, past the key's end), and refused when judged after the end.
    Kills trust.read_verified ``dt.datetime.now(dt.UTC)`` -> ``now(None)``."""
    ref = make_record(run="r1")
    signer = Signer.from_settings()
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(signer.public_key_b64))
    until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    keys = TrustedKeys([TrustedKey(signer.key_id, public, dt.datetime(2020, 1, 1, tzinfo=dt.UTC), until)])
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert read_verified(storage, ref.key, keys).key == ref.key
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    later = until + dt.timedelta(minutes=1)
    with pytest.raises(UntrustedRecord) as caught:
        read_verified(storage, ref.key, keys, later)
    assert caught.value.problem == (
        f"signed at {later.isoformat()} outside the validity of key {signer.key_id!r}"
    )
