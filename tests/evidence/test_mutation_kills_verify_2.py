"""Tests that notice, second round: survivors of ``make mutation`` (target evidence, see
docs/mutation.md) in ``evidence/verify.py`` (the record checks, the spec blobs, the tombstone's
disposal basis) and ``evidence/listing.py`` (``seal_positions``, ``load_summaries``). What is at stake
is what ``aimsflow evidence verify`` prints: its verdict, and each problem's object and exact text.
Each docstring names the mutants it kills (function, change)."""

from __future__ import annotations

import datetime as dt
import json

from aimsflow.evidence.keys import Signer
from aimsflow.evidence.listing import SealPosition, load_summaries, seal_positions
from aimsflow.evidence.record import MANIFEST
from aimsflow.evidence.seal import Witness, read_seal, seal_pending
from aimsflow.evidence.tlog import SEAL_BODY, seal_key
from tests.evidence.test_mutation_kills import _resign, _verify_json
from tests.retention import conftest as retention_conftest
from tests.retention import test_verify_tombstones as tombstones
from tests.retention.test_verify_disposal_kills import _resign as _resign_record
from tests.retention.test_verify_tombstones import genuine_disposal, rewrite_tombstone, unlawful, verify

# The fixtures of the disposal tests (a sealed record of tombstones.DAY, and a held one).
rt_env = retention_conftest.rt_env
sealed_record = tombstones.sealed_record

MOVED = "record is not at the place its manifest names (moved or renamed)"
UNEXPECTED_SPEC = "unexpected object among the spec blobs (expected specs/sha256/<64 hex>)"


def _problem_list(capsys) -> list[tuple[str, str]]:
    return [(p["object"], p["problem"]) for p in _verify_json(capsys)["problems"]]


# --- the record checks (verify_store, _ancestors) ----------------------------------------------------


def test_a_manifest_dropped_in_records_itself_is_a_record_folder_without_envelope(
    storage, make_record, capsys
):
    """A ``manifest.json`` lying directly in ``records/``: that folder holds a manifest, so it is a
    record folder, and verify names it once, as a record without its envelope; the genuine record
    below it is still its own record (its nearest record folder). Kills verify._ancestors
    ``range(len(parts), 0, -1)`` -> ``range(len(parts), 1, -1)`` (the top folder no longer owns its
    own files: they became "files outside any record" and the record "lacks manifest.json")."""
    make_record()
    storage.path("records/manifest.json").write_text("{}")
    assert _problem_list(capsys) == [("records", "record lacks manifest.dsse.json (deleted file)")]


def test_a_signed_manifest_without_check_is_placed_as_one_without_check(storage, make_record, capsys):
    """``verify_store`` computes a record's place from its manifest, a missing ``check`` read as empty:
    such a record directly under its period folder (``records/<period>/<record id>``) is where its
    manifest puts it, and is not reported as moved; the same record under a check folder is. Kills
    ``predicate.get("check", "")`` -> ``get("check", "XXXX")`` (the place became
    ``records/<period>/XXXX/<id>``: a record in place reported as moved)."""
    ref = make_record()
    _resign(storage, ref.key, lambda statement: statement["predicate"].pop("check"))
    assert (ref.key, MOVED) in _problem_list(capsys)
    record_id = ref.key.rsplit("/", 1)[1]
    placed = f"records/2026-11-19/{record_id}"
    storage.path(ref.key).rename(storage.path(placed))
    assert (placed, MOVED) not in _problem_list(capsys)


def test_a_signed_manifest_without_record_id_is_never_in_place(storage, make_record, capsys):
    """A manifest without ``record_id`` names no folder (its place would end in ``/``): wherever the
    record lies it is reported as moved, even in a folder named like a made-up default id. Kills
    ``predicate.get("record_id", "")`` -> ``get("record_id", "XXXX")`` (a record in a folder named
    ``XXXX`` was taken to be in place)."""
    ref = make_record()
    _resign(storage, ref.key, lambda statement: statement["predicate"].pop("record_id"))
    renamed = ref.key.rsplit("/", 1)[0] + "/XXXX"
    storage.path(ref.key).rename(storage.path(renamed))
    assert (renamed, MOVED) in _problem_list(capsys)


# --- the spec blobs (_verify_spec_blobs) -------------------------------------------------------------


def test_hidden_files_under_the_spec_blobs_are_skipped_at_any_depth(storage, make_record, capsys):
    """Hidden files (temp files of an interrupted write) are skipped by their own name, whatever
    folder under ``specs/sha256/`` they are in; a visible file in a sub-folder is reported. Kills
    verify._verify_spec_blobs ``name.rsplit("/", 1)[-1]`` -> ``rsplit(None, 1)[-1]`` /
    ``rsplit("XX/XX", 1)[-1]`` (the whole relative name tested: ``sub/.tmp`` reported) and ->
    ``split("/", 1)[-1]`` (``a/b/.tmp`` reported)."""
    make_record()
    for name in ("sub/.tmp-1", "a/b/.tmp-2", "sub/visible"):
        path = storage.path(f"specs/sha256/{name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    report = _verify_json(capsys)
    problems = [(p["object"], p["problem"]) for p in report["problems"]]
    assert problems == [("specs/sha256/sub/visible", UNEXPECTED_SPEC)]
    assert report["spec_blobs_checked"] == 0


# --- the disposal basis of a tombstone (_tombstones, _disposal_basis, _plan_document) ---------------


def _basis(record: str) -> str:
    return unlawful(verify(), record).split("is not a lawful disposal: ", 1)[1]


def test_a_tombstone_naming_no_plan_says_so(sealed_record, storage):
    """A tombstone without ``plan_record`` (null), its certificate approving "no plan" (an empty
    ``plan_record``) so that the certificate matches: verify says the tombstone names no plan. Before
    the certificate is re-signed, the certificate is about another disposal. Kills
    verify._disposal_basis ``ValueError("the tombstone names no plan")`` -> ``ValueError(None)`` /
    ``"XX...XX"`` / upper case, and verify._tombstones ``summary.get("plan_record") or ""`` -> ``or
    "XXXX"`` (the tombstone then named plan ``XXXX``: the certificate's check failed instead)."""
    tomb = genuine_disposal(storage)
    rewrite_tombstone(storage, tomb, plan_record=None)
    assert _basis(sealed_record.key) == (
        f"no verified certificate: certificate {tomb['certificate']} is about another disposal (plan_record)"
    )
    _resign_record(storage, tomb["certificate"], lambda p: p["summary"]["approved_by"].update(plan_record=""))
    assert _basis(sealed_record.key) == "no verified plan: the tombstone names no plan"


def test_a_tombstone_without_disposal_time_is_not_lawful(sealed_record, storage):
    """A tombstone without ``disposed_at`` (null) is read as an empty time, which is no time: not a
    lawful disposal, and the problem quotes the empty value. Kills verify._tombstones
    ``summary.get("disposed_at") or ""`` -> ``or "XXXX"`` (the problem quoted ``'XXXX'``)."""
    tomb = genuine_disposal(storage)
    rewrite_tombstone(storage, tomb, disposed_at=None)
    assert _basis(sealed_record.key) == "no verified plan: Invalid isoformat string: ''"


def test_a_plan_whose_manifest_lists_no_files_is_named(sealed_record, storage):
    """The plan record re-signed without ``files`` in its manifest: its plan.json is listed nowhere,
    so it differs from its signed manifest. Kills verify._plan_document ``predicate.get("files", [])``
    -> ``get("files", None)`` / no default (the problem became "'NoneType' object is not
    iterable")."""
    tomb = genuine_disposal(storage)
    plan = tomb["plan_record"]
    _resign_record(storage, plan, lambda p: p.pop("files"))
    assert _basis(sealed_record.key) == f"no verified plan: {plan}/plan.json differs from its signed manifest"


# --- listing: seal_positions and load_summaries ------------------------------------------------------


def test_seal_positions_give_each_records_seal_leaf_and_seal_time(storage, make_record):
    """``seal_positions``: record key -> (seal sequence, place among its leaves, the seal body's
    ``sealed_at``); a seal body without a readable ``sealed_at`` gives None. Kills
    listing.seal_positions ``sealed_at = fromisoformat(body["sealed_at"])`` -> ``None`` /
    ``fromisoformat(None)`` / ``body["XXsealed_atXX"]`` / ``body["SEALED_AT"]``, the returned
    ``bodies[seq][1]`` -> ``None``, and ``sealed_at = None`` -> ``""`` in the fallback."""
    first = make_record(dt.date(2026, 11, 18), run="r1")
    second = make_record(dt.date(2026, 11, 19), run="r2")
    seal_pending(storage, Signer.from_settings(), Witness())
    body = read_seal(storage, 1)[1]
    sealed_at = dt.datetime.fromisoformat(body["sealed_at"])
    leaves = [leaf["record"] for leaf in body["leaves"]]
    assert seal_positions(storage) == {
        key: SealPosition(1, leaves.index(key), sealed_at) for key in (first.key, second.key)
    }
    del body["sealed_at"]
    storage.path(f"{seal_key(1)}/{SEAL_BODY}").write_text(json.dumps(body))
    assert seal_positions(storage) == {
        key: SealPosition(1, leaves.index(key), None) for key in (first.key, second.key)
    }


def test_load_summaries_reports_progress_once_per_record(storage, make_record):
    """``load_summaries(progress=...)`` calls ``progress(done, total)`` once per record, counting from
    1 to the number of records (an unreadable one counts as read). Kills listing.load_summaries
    ``enumerate(keys, 1)`` -> ``enumerate(keys)`` / ``enumerate(keys, 2)``, and the ``progress``
    argument mutants (``None`` for either, either dropped)."""
    refs = [make_record(dt.date(2026, 11, d), run=f"r{d}") for d in (17, 18, 19)]
    storage.path(f"{refs[1].key}/{MANIFEST}").write_text("{")
    calls: list[tuple[int, int]] = []
    summaries = load_summaries(storage, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert [s.key for s in summaries] == [refs[0].key, refs[2].key]


def test_a_record_never_sealed_has_no_seal_position(storage, make_record):
    """The negative case of the two above: a record no seal covers has no position."""
    ref = make_record()
    assert seal_positions(storage) == {}
    (summary,) = load_summaries(storage)
    assert summary.key == ref.key and summary.sealed_in is None and summary.leaf is None
