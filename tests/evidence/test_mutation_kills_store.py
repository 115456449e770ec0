"""What verify says about intents and about the seal folders, and where the listing places records,
pinned where mutation testing found it unchecked (survivors of ``make mutation``, target evidence, in
``intents.check_intents``, ``tlog._read_entry``, ``seal.seal_sequences`` and ``listing.seal_positions``
/ ``load_summaries``). Each test names the mutants it kills (function, change)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest

from aimsflow.evidence.dsse import sign_envelope
from aimsflow.evidence.intents import write_intent
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.record import Producer
from aimsflow.evidence.seal import Witness, read_seal, seal_pending, seal_sequences
from aimsflow.evidence.tlog import SEAL_PAYLOAD_TYPE, scan_log
from aimsflow.evidence.verify import verify_store
from aimsflow.periods import Period
from tests.conftest import new_key
from tests.evidence.test_seal_log import format_1_store  # noqa: F401 (a fixture)

OLD = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)


def _verify(storage, **kw):
    return verify_store(storage, TrustedKeys.load(), Witness(), **kw)


def _lost(storage, run: str, *, day: str = "2026-11-19", started: dt.datetime = OLD, map_index: int = -1):
    """The intent of a task try that started and left no record; returns (record key, intent)."""
    producer = Producer(
        kind="task",
        dag_id="data_quality",
        run_id=run,
        task_id="validate",
        map_index=map_index,
        try_number=1,
    )
    record = f"records/{day}/data_quality/validate/{producer.record_id()}"
    return record, write_intent(storage, producer, record, started)


def _problems(report) -> dict[str, str]:
    return {p.object: p.problem for p in report.problems}


def test_a_lost_try_is_named_with_its_task_run_try_and_the_way_to_settle_it(storage):
    """The whole message verify gives for a try that left no record, unmapped (no index shown) and
    mapped at index 0 (shown). Kills intents.check_intents the map index part ``if map_index >= 0``
    -> ``and False`` / ``or True`` / ``> 0`` / ``>= 1``, ``else ""`` -> ``"XXXX"``, and the tail's
    wording."""
    plain, intent = _lost(storage, "r1")
    mapped, mapped_intent = _lost(storage, "r2", map_index=0)
    problems = _problems(_verify(storage))
    assert problems[plain] == (
        f"task data_quality.validate of run r1, try 1, started {OLD.isoformat()} and left no record "
        f"(killed before it could write one?); intent {intent.key}. Clear the task in Airflow to run "
        "it again: the new try's record settles this"
    )
    assert problems[mapped].startswith("task data_quality.validate[0] of run r2, try 1, ")


def test_temp_files_and_misplaced_intents_do_not_stop_the_check(storage):
    """A temp file of an interrupted write and an intent moved to another name both sort before a lost
    try's intent of the same day: the temp file is skipped, the moved intent reported with where it
    belongs, and the lost try still reported. Kills intents.check_intents the temp-file test
    (``rsplit("/", 1)[-1]`` -> ``rsplit(None, ...)``, ``"XX/XX"``, ``[-2]``, ``"XX.XX"``),
    ``continue`` -> ``break`` after a temp file and after a misplaced intent, the misplaced intent's
    message -> ``None``."""
    record, intent = _lost(storage, "r1")
    day = storage.root / intent.key.rsplit("/", 1)[0]
    (day / ".tmp-interrupted").write_text("{")
    moved = day / "0000-moved.json"
    moved.write_bytes(intent.as_json())
    assert sorted(p.name for p in day.iterdir())[:2] == [".tmp-interrupted", "0000-moved.json"]
    problems = _problems(_verify(storage))
    assert f"{intent.key.rsplit('/', 1)[0]}/.tmp-interrupted" not in problems
    assert problems[f"{intent.key.rsplit('/', 1)[0]}/0000-moved.json"] == (
        f"intent is not at the place its content names ({intent.key})"
    )
    assert record in problems


def test_a_period_skips_other_periods_intents_and_goes_on(storage):
    """Verifying 21 Nov: an intent of a 19 Nov record, started earlier (so listed first), is skipped;
    the 21 Nov one is still reported. Kills intents.check_intents ``continue`` -> ``break`` after an
    intent outside the period."""
    other, _ = _lost(storage, "r1", day="2026-11-19", started=OLD - dt.timedelta(days=1))
    mine, _ = _lost(storage, "r2", day="2026-11-21")
    problems = _problems(_verify(storage, period=Period.day(dt.date(2026, 11, 21))))
    assert mine in problems and other not in problems


def test_a_settled_intent_does_not_stop_the_check(storage, make_record):
    """An intent settled by the record of a later try, listed before a lost try's intent: the lost one
    is still reported. Kills intents.check_intents ``continue`` -> ``break`` after a settled intent."""
    producer = Producer(
        kind="task", dag_id="data_quality", run_id="r0", task_id="validate", try_number=1, max_tries=2
    )
    earlier = OLD - dt.timedelta(days=1)
    record = f"records/2026-11-19/data_quality/validate/{producer.record_id()}"
    settled = write_intent(storage, producer, record, earlier)
    retry = Producer(
        kind="task", dag_id="data_quality", run_id="r0", task_id="validate", try_number=2, max_tries=2
    )
    later = f"records/2026-11-19/data_quality/validate/{retry.record_id()}"
    (storage.root / later).mkdir(parents=True)
    (storage.root / later / "manifest.json").write_text("{}")
    lost, _ = _lost(storage, "r1")
    problems = _problems(_verify(storage))
    assert settled.record not in problems and lost in problems


# --- the seal folders --------------------------------------------------------------------------------


def test_each_broken_seal_folder_is_named_with_what_is_wrong(storage, make_record):
    """Seal 1 without its envelope, seal 2 with a stray file, seal 3 not JSON, seal 4 signed but of an
    unknown format, seal 5 naming a manifest hash of the wrong length, seal 7 after a missing seal 6.
    Kills tlog._read_entry ``SEAL_BODY not in files or SEAL_ENVELOPE not in files`` -> ``and``, every
    ``scan.add`` object and message there -> ``None`` / dropped / other wording (incomplete seal,
    file not part of a seal, unreadable seal body, a hash not 32 bytes, unknown seal format, seal
    missing)."""
    signer = Signer.from_settings()
    for n in range(5):
        make_record(dt.date(2026, 11, 10 + n), run=f"r{n}")
        seal_pending(storage, signer, Witness())
    make_record(dt.date(2026, 11, 16), run="r6")
    seal_pending(storage, signer, Witness())
    make_record(dt.date(2026, 11, 17), run="r7")
    seal_pending(storage, signer, Witness())
    root = storage.root / "seals"
    (root / "00000001" / "seal.dsse.json").unlink()
    (root / "00000002" / "notes.txt").write_text("x")
    (root / "00000003" / "seal.json").write_text("not json")

    def resign(seq: int, change) -> None:
        _, body = read_seal(storage, seq)
        change(body)
        data = json.dumps(body).encode()
        (root / f"{seq:08d}" / "seal.json").write_bytes(data)
        (root / f"{seq:08d}" / "seal.dsse.json").write_bytes(sign_envelope(data, signer, SEAL_PAYLOAD_TYPE))

    resign(4, lambda b: b.update(format="aimsflow-seal/9"))
    resign(5, lambda b: b["leaves"][0].update(manifest_sha256="abcd"))
    import shutil

    shutil.rmtree(root / "00000006")
    problems = scan_log(storage, TrustedKeys.load()).problems
    found = dict(problems)
    assert found["seals/00000001"] == "incomplete seal: has ['checkpoint', 'seal.json']"
    assert found["seals/00000002/notes.txt"] == "file that is not part of a seal (added)"
    assert found["seals/00000003"].startswith("unreadable seal body: JSONDecodeError(")
    assert found["seals/00000004"] == "unknown seal format 'aimsflow-seal/9'"
    assert (
        found["seals/00000005"]
        == "unreadable seal body: ValueError(\"manifest_sha256 'abcd' is not 32 bytes\")"
    )
    assert found["seals/00000006"] == "seal missing (deleted): the chain is broken here"


def test_only_top_level_eight_digit_folders_are_seals(storage, make_record):
    """A nested folder named like a seal and a top-level folder with another name, each holding a
    ``seal.json``: neither is a seal. Kills seal.seal_sequences ``key.count("/") == 1 and
    is_seal_name(name)`` -> ``or`` (the nested one counted, or ``int()`` of a non-number)."""
    make_record(run="r1")
    seal_pending(storage, Signer.from_settings(), Witness())
    for folder in ("seals/nested/00000009", "seals/notaseal"):
        (storage.root / folder).mkdir(parents=True)
        (storage.root / folder / "seal.json").write_text("{}")
    assert seal_sequences(storage) == [1]


def test_the_listing_places_each_record_in_its_seal(storage, make_record):
    """``aimsflow evidence list`` (no verification: counting only) shows which seal holds a record and
    its place among that seal's leaves. Kills listing.seal_positions ``isinstance(leaves, list)`` ->
    ``and False``, ``leaf.get("record")`` -> another key, ``SealPosition(seq, ...)`` -> ``None`` and
    its leaf -> ``None``; listing.load_summaries ``positions.get(key)`` -> ``None`` / ``get(None)``."""
    first = sorted([make_record(run="r1"), make_record(dt.date(2026, 11, 20), run="r2")], key=lambda r: r.key)
    seal_pending(storage, Signer.from_settings(), Witness())
    third = make_record(dt.date(2026, 11, 21), run="r3")
    seal_pending(storage, Signer.from_settings(), Witness())
    placed = {r.key: (r.sealed_in, r.leaf) for r in load_summaries(storage)}
    assert placed == {first[0].key: (1, 0), first[1].key: (1, 1), third.key: (2, 0)}


# --- format-2 seals: what the scan says about each broken part ----------------------------------------


def _log_of(storage, make_record, seals: int):
    signer = Signer.from_settings()
    for n in range(seals):
        make_record(dt.date(2026, 11, 10 + n), run=f"r{n}")
        seal_pending(storage, signer, Witness())


def _rewrite(storage, seq: int, change=None, note: str | None = None) -> None:
    """Seal ``seq``'s body changed by ``change(body)`` and re-signed with the trusted key (what a bug,
    or a stolen key, could write), and/or its checkpoint note file replaced by ``note``."""
    folder = storage.root / "seals" / f"{seq:08d}"
    if change is not None:
        _, body = read_seal(storage, seq)
        change(body)
        data = json.dumps(body).encode()
        (folder / "seal.json").write_bytes(data)
        (folder / "seal.dsse.json").write_bytes(
            sign_envelope(data, Signer.from_settings(), SEAL_PAYLOAD_TYPE)
        )
    if note is not None:
        (folder / "checkpoint").write_text(note)


def _problems_of(storage) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for obj, problem in scan_log(storage, TrustedKeys.load()).problems:
        out.setdefault(obj, []).append(problem)
    return out


def test_each_broken_part_of_a_format_2_seal_is_named(storage, make_record):
    """Seal 1 without ``root_hash``; seal 2 claiming 5 leaves before it; seal 3 with a wrong consistency
    proof; seal 4 with unreadable checkpoint text; seal 5 whose checkpoint names another size; seal 6
    whose checkpoint names another origin; seal 7 with a malformed note file; seal 8 whose note is
    another text. Kills tlog._check_format_2 every ``scan.add`` object and message there -> ``None`` /
    dropped / other wording, ``size_before is not None and ...`` -> ``is None``, ``root_before is not
    None and size_before == stated_before`` -> ``or`` / ``is None`` / ``!=`` (a proof checked against
    the wrong tree, or not at all), ``scan.origin = checkpoint.origin`` -> ``None`` (origins never
    compared)."""
    _log_of(storage, make_record, 8)
    _rewrite(storage, 1, lambda b: b.pop("root_hash"))
    _rewrite(storage, 2, lambda b: b.update(tree_size_before=5, tree_size=6))
    _rewrite(storage, 3, lambda b: b.update(consistency_proof=["00" * 32] * len(b["consistency_proof"])))
    _rewrite(storage, 4, lambda b: b.update(checkpoint="only one line"))

    def other_size(b):
        origin, size, root = b["checkpoint"].splitlines()
        b["checkpoint"] = f"{origin}\n{int(size) + 1}\n{root}\n"

    def other_origin(b):
        _, size, root = b["checkpoint"].splitlines()
        b["checkpoint"] = f"elsewhere.example/log\n{size}\n{root}\n"

    _rewrite(storage, 5, other_size)
    _rewrite(storage, 6, other_origin)
    _rewrite(storage, 7, note="no blank line, no signature")
    _, body8 = read_seal(storage, 8)
    note8 = (storage.root / "seals" / "00000008" / "checkpoint").read_text()
    _rewrite(
        storage, 8, note=note8.replace(body8["checkpoint"], body8["checkpoint"].replace("\n", "\n\n", 1), 1)
    )
    problems = _problems_of(storage)
    assert problems["seals/00000001"] == ["unreadable seal body: KeyError('root_hash')"]
    assert "tree_size_before 5, but the seals before it hold 1 leaves" in problems["seals/00000002"]
    assert not any(p.startswith("consistency proof") for p in problems["seals/00000002"])
    assert any(p.startswith("consistency proof from tree size 2: ") for p in problems["seals/00000003"])
    assert any(p.startswith("checkpoint text in seal.json: ") for p in problems["seals/00000004"])
    assert (
        "checkpoint in seal.json names another tree size or root than the seal" in problems["seals/00000005"]
    )
    origin = settings_origin()
    assert (
        f"checkpoint origin 'elsewhere.example/log', earlier checkpoints name {origin!r}"
        in problems["seals/00000006"]
    )
    assert any(p.startswith("malformed checkpoint note: ") for p in problems["seals/00000007/checkpoint"])
    assert problems["seals/00000008/checkpoint"] == [
        "checkpoint note's text differs from the checkpoint in seal.json"
    ]


def settings_origin() -> str:
    from aimsflow import settings

    return settings.log_origin()


# --- the witness: why it refuses a seal (the seal job's failed record quotes it) -----------------------


def _witness_case(storage, make_record):
    """(the witness's state after seal 1, seal 2's entry as the scan reads it, the trusted keys)."""
    _log_of(storage, make_record, 2)
    keys = TrustedKeys.load()
    scan = scan_log(storage, keys)
    (first, second) = scan.entries
    from aimsflow.evidence.witness import _state_of

    state = _state_of(first, settings_origin(), dt.datetime.now(dt.UTC))
    from aimsflow.evidence.checkpoint import parse_checkpoint

    checkpoint = parse_checkpoint(first.doc["checkpoint"])
    state = replace(state, tree_size=checkpoint.size, root_hash=checkpoint.root, checkpoint=first.note)
    return state, second, keys


def test_each_refusal_of_the_witness_names_the_seal_and_the_reason(storage, make_record):
    """Seal 2 presented to a witness that accepted seal 1, changed one way at a time. Kills
    witness.accept every ``WitnessRefused(key, ...)`` object -> ``None`` / dropped and message ->
    ``None`` / other wording; ``current.seal_sha256 is not None`` -> ``is None`` (a seal not chained to
    the accepted one), ``current.checkpoint is not None`` -> ``is None`` (a format-1 seal after a
    checkpoint: a downgrade accepted)."""
    from aimsflow.evidence.tlog import SEAL_FORMAT_1
    from aimsflow.evidence.witness import WitnessRefused, accept

    state, entry, keys = _witness_case(storage, make_record)
    now = dt.datetime.now(dt.UTC)
    assert accept(state, entry, keys, now).sequence == 2  # the sound case

    def refused(current, changed) -> tuple[str, str]:
        with pytest.raises(WitnessRefused) as caught:
            accept(current, changed, keys, now)
        return caught.value.object, caught.value.problem

    key = "seals/00000002"
    assert refused(state, replace(entry, sequence=3)) == (
        "seals/00000003",
        "seal 3 does not follow the accepted seal 1",
    )
    assert refused(replace(state, seal_sha256="0" * 64), entry) == (
        key,
        "previous_seal_sha256 is not the seal the witness accepted",
    )
    late = replace(state, checkpoint_time=entry.sealed_at)
    assert refused(late, entry) == (
        key,
        f"checkpoint time {entry.sealed_at.isoformat()} is not after the accepted {entry.sealed_at.isoformat()}",
    )
    future = entry.sealed_at + dt.timedelta(hours=1)
    assert refused(replace(state, checkpoint_time=None), replace(entry, sealed_at=future))[0] == key
    with pytest.raises(WitnessRefused) as caught:
        accept(state, replace(entry, sealed_at=future), keys, entry.sealed_at)
    assert (caught.value.object, caught.value.problem) == (
        key,
        f"checkpoint time {future.isoformat()} is in the future",
    )
    assert refused(state, replace(entry, format=SEAL_FORMAT_1)) == (
        key,
        "format-1 seal after a checkpoint (a downgrade)",
    )
    obj, problem = refused(state, replace(entry, note=entry.note.replace("\n\n", "\n\n— x\n", 1)))
    assert obj == key and problem
    assert refused(replace(state, origin="elsewhere.example/log"), entry) == (
        key,
        f"checkpoint origin {settings_origin()!r}, the witness follows 'elsewhere.example/log'",
    )
    assert refused(replace(state, tree_size=99), entry) == (
        key,
        f"tree size {entry.tree_size} is smaller than the accepted 99",
    )
    doc = {**entry.doc, "tree_size_before": 7}
    assert refused(state, replace(entry, doc=doc)) == (
        key,
        f"tree_size_before 7 is not the accepted size {state.tree_size}",
    )
    bad = {**entry.doc, "consistency_proof": ["00" * 32] * max(1, len(entry.doc["consistency_proof"]))}
    obj, problem = refused(state, replace(entry, doc=bad))
    assert obj == key and problem.startswith(
        f"no valid consistency proof from the accepted tree (size {state.tree_size}): "
    )


def test_a_refused_log_says_how_many_more_problems_it_has(storage, make_record):
    """Two broken seals: the refusal names the first and says "(and 1 more)". Kills witness.advance
    ``more = ...`` -> ``None`` / ``and False``."""
    from aimsflow.evidence.witness import WitnessRefused, advance

    state, _, keys = _witness_case(storage, make_record)
    (storage.root / "seals" / "00000001" / "notes.txt").write_text("x")
    (storage.root / "seals" / "00000002" / "notes.txt").write_text("x")
    with pytest.raises(WitnessRefused) as caught:
        advance(state, scan_log(storage, keys), keys, dt.datetime.now(dt.UTC))
    assert (
        caught.value.problem
        == "the store's log does not verify: file that is not part of a seal (added) (and 1 more)"
    )


def test_the_seal_judges_each_record_at_the_checkpoint_time_and_goes_on(storage, make_record, aims_env):
    """``judge_records``: a record that ended after the checkpoint time, listed first, is refused and
    the next one is still judged; a record signed by a key retired between the checkpoint time and now
    is judged at the checkpoint time (valid then). Kills seal.judge_records ``continue`` -> ``break``
    after a late record, ``read_verified(..., judged_at=at)`` -> ``None`` / dropped (judged now)."""
    from aimsflow.evidence.seal import judge_records

    now = dt.datetime.now(dt.UTC)
    at = now - dt.timedelta(hours=2)
    key_id, seed, public = new_key("retired")
    keys_file = aims_env / "keys" / "trusted_keys.json"
    doc = json.loads(keys_file.read_text())
    doc["keys"].append(
        {
            "key_id": key_id,
            "public_key": public,
            "valid_from": (now - dt.timedelta(days=1)).isoformat(),
            "valid_until": (now - dt.timedelta(hours=1)).isoformat(),
        }
    )
    keys_file.write_text(json.dumps(doc))
    late = make_record(dt.date(2026, 11, 1), run="r1", ended_at=now - dt.timedelta(minutes=5))
    retired = make_record(
        dt.date(2026, 11, 2),
        run="r2",
        ended_at=now - dt.timedelta(hours=3),
        signer=Signer.from_seed_b64(key_id, seed),
    )
    accepted, refused = judge_records(storage, [late.key, retired.key], TrustedKeys.load(), at)
    assert [k for k, _ in accepted] == [retired.key]
    assert [(r.key, r.problem) for r in refused] == [
        (
            late.key,
            f"ended_at {(now - dt.timedelta(minutes=5)).isoformat()} is after the checkpoint time {at.isoformat()}",
        )
    ]


def test_a_format_2_seal_without_checkpoint_or_with_a_garbled_one_is_named(storage, make_record):
    """Seal 1's checkpoint file deleted, seal 2's replaced by bytes that are not UTF-8: both named, the
    scan does not crash. Kills tlog._read_entry the "incomplete seal ... (no checkpoint)" object and
    message -> ``None`` / dropped, ``decode(..., errors="replace")`` -> strict / unknown handler."""
    _log_of(storage, make_record, 2)
    (storage.root / "seals" / "00000001" / "checkpoint").unlink()
    (storage.root / "seals" / "00000002" / "checkpoint").write_bytes(b"\xff\xfe not utf-8\n")
    problems = _problems_of(storage)
    assert problems["seals/00000001"] == [
        "incomplete seal: has ['seal.dsse.json', 'seal.json'] (no checkpoint)"
    ]
    assert problems.get("seals/00000002/checkpoint")


def test_each_way_the_store_left_what_the_witness_accepted_is_named(storage, make_record):
    """A witness that accepted seal 2 (tree size 2) against: a store with 1 seal, one with none, a seal
    2 that is unreadable, a seal 2 with other content, and a log whose tree at seal 2 differs. Kills
    witness.compare every message part (``ends``, ``size``, the reasons) -> ``None`` / ``and False`` /
    ``or True`` / ``is None`` / other wording, ``seal_key(state.sequence)`` -> ``seal_key(None)``, and
    ``entry.tree_size is not None`` -> ``is None`` (a changed tree not noticed); WitnessState.from_dict
    the message of a wrong format."""
    from aimsflow.evidence.tlog import LogScan
    from aimsflow.evidence.witness import WitnessState, compare

    state, entry, keys = _witness_case(storage, make_record)
    from aimsflow.evidence.witness import accept

    accepted = accept(state, entry, keys, dt.datetime.now(dt.UTC))
    scan = scan_log(storage, keys)
    assert compare(accepted, scan) is None
    one = LogScan(entries=scan.entries[:1], last_sequence=1)
    assert compare(accepted, one) == (
        "seals/00000002",
        "witness accepted seal 2 (tree size 2) but the store ends at seal 1: the store was truncated or rolled back",
    )
    assert compare(replace(accepted, tree_size=None), LogScan()) == (
        "seals/00000002",
        "witness accepted seal 2 but the store ends at no seals: the store was truncated or rolled back",
    )
    unreadable = LogScan(entries=scan.entries[:1], last_sequence=2)
    assert compare(accepted, unreadable) == (
        "seals/00000002",
        "the seal the witness accepted is missing or unreadable",
    )
    assert compare(replace(accepted, seal_sha256="0" * 64), scan) == (
        "seals/00000002",
        "seal differs from the one the witness accepted (same sequence, other content): history was rewritten",
    )
    assert compare(replace(accepted, root_hash=bytes(32)), scan) == (
        "seals/00000002",
        "the log's tree at this seal (size 2) is not the one the witness accepted (size 2): the leaves before "
        "it were changed",
    )
    with pytest.raises(ValueError) as caught:
        WitnessState.from_dict({"format": "other/9", "sequence": 0})
    assert str(caught.value).startswith("format 'other/9', expected ")


def test_the_witness_follows_format_1_seals_and_upgrades_a_legacy_head(format_1_store, aims_env):  # noqa: F811
    """A witness at format-1 seal 1 accepts seal 2 (format 1): the state of seal 2, with the witness's
    origin and the time of acceptance; a legacy ``head.json`` is upgraded by computing its tree, at the
    time given. A log with exactly one problem is refused without "(and 0 more)". An empty store's
    witness starts at the time given. Kills witness.accept ``_state_of(entry, current.origin, now)``
    with any argument ``None`` or dropped, witness.advance ``_state_of(..., now)`` -> ``None``, the
    "(and N more)" suffix -> ``>= 1`` / ``or True`` / ``"XXXX"``, witness.empty_state ``now`` ->
    ``None`` / dropped."""
    from aimsflow.evidence.witness import Witness as W
    from aimsflow.evidence.witness import WitnessRefused, _state_of, accept, advance, empty_state

    storage, _ = format_1_store
    keys = TrustedKeys.load()
    scan = scan_log(storage, keys)
    first, second = scan.entries
    now = dt.datetime.now(dt.UTC)
    state = _state_of(first, "origin.example/log", now - dt.timedelta(minutes=1))
    after = accept(state, second, keys, now)
    assert (after.sequence, after.origin, after.accepted_at) == (2, "origin.example/log", now)
    assert after.checkpoint_time == second.sealed_at and after.tree_size == 3
    legacy = W().read()
    assert legacy.legacy and legacy.tree_size is None
    upgraded = advance(legacy, scan, keys, now)
    assert (upgraded.sequence, upgraded.tree_size, upgraded.accepted_at) == (2, 3, now)
    (storage.root / "seals" / "00000001" / "notes.txt").write_text("x")
    with pytest.raises(WitnessRefused) as caught:
        advance(upgraded, scan_log(storage, keys), keys, now)
    assert caught.value.problem == "the store's log does not verify: file that is not part of a seal (added)"
    assert empty_state("origin.example/log", now).accepted_at == now


def test_a_witness_left_behind_by_a_crash_catches_up_before_the_next_seal(storage, make_record, aims_env):
    """Seal 1 was written but the witness kept its old (empty) state, as after a crash between the two;
    the next seal, with nothing new to seal, accepts seal 1 first and writes the state naming the store.
    Kills seal._seal_locked ``witness.write(witnessed, store)`` -> ``store`` ``None``."""
    state_file = aims_env / "witness" / "witness.json"
    empty = state_file.read_text()
    make_record(run="r1")
    seal_pending(storage, Signer.from_settings(), Witness())
    state_file.write_text(empty)
    seal_pending(storage, Signer.from_settings(), Witness())
    written = json.loads(state_file.read_text())
    assert written["sequence"] == 1 and written["store"] == storage.describe("")
