"""Readers, intents, redaction and seal names: what they decide, pinned where mutation testing found it
unchecked (survivors of ``make mutation``, target evidence, after issue 12 was merged). Each test
names the mutants it kills (function, change)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from aimsflow.evidence.dsse import PAYLOAD_TYPE, sign_envelope
from aimsflow.evidence.intents import Intent, _later_tries, intent_key, write_intent
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.listing import (
    SealPosition,
    Untrusted,
    load_verified,
    read_record_file,
    verified_seal_positions,
)
from aimsflow.evidence.record import Producer, manifest_digest, predicate_of
from aimsflow.evidence.seal import Witness, is_seal_name, read_seal, seal_pending
from aimsflow.evidence.tlog import SEAL_PAYLOAD_TYPE
from aimsflow.evidence.trust import UntrustedRecord
from aimsflow.results import sha256_bytes
from tests.conftest import new_key

# --- intents: a later try of the same task instance settles an intent --------------------------------


def _intent(try_number: int = 2, map_index: int = -1) -> Intent:
    producer = Producer(
        kind="task", dag_id="d", run_id="r", task_id="t", map_index=map_index, try_number=try_number
    )
    record = f"records/2026-11-20/data_quality/validate/{producer.record_id()}"
    return Intent(record, "d", "r", "t", map_index, try_number, dt.datetime(2026, 11, 20, tzinfo=dt.UTC))


def _key_of(intent: Intent, try_number: int) -> str:
    return f"{intent.record.rpartition('/')[0]}/{intent.producer(try_number).record_id()}"


def test_later_tries_finds_the_later_try_behind_an_earlier_one():
    """Siblings in the order a folder listing gives them: the try before the intent's, then the try
    after it. The later try settles the intent, whatever comes first. Kills intents._later_tries
    ``continue`` -> ``break`` (an earlier try met first hid the later one: a false "left no record"),
    ``out.append(key)`` -> ``append(None)``."""
    intent = _intent(2)
    earlier, later = _key_of(intent, 1), _key_of(intent, 3)
    assert _later_tries(intent, [earlier, later]) == [later]
    assert _later_tries(intent, [earlier]) == []


def test_later_tries_of_a_mapped_task_keep_its_map_index():
    """A mapped task instance (map index 3): its retry's record id pins the map index; another map
    index's try is not a retry of this one. Kills Intent.producer ``map_index=self.map_index``
    dropped (the retry of a mapped task never found: a false "left no record")."""
    intent = _intent(1, map_index=3)
    retry = _key_of(intent, 2)
    other = _key_of(_intent(1, map_index=4), 2)
    assert _later_tries(intent, [other, retry]) == [retry]


def test_the_intent_key_is_the_utc_day_the_try_started(monkeypatch):
    """23:30 at UTC-2 is the next UTC day, also on a host whose clock is not on UTC (the documented
    layout). Kills intents.intent_key ``day = ...`` -> ``None`` and ``astimezone(dt.UTC)`` ->
    ``astimezone(None)`` (the host's zone)."""
    import time

    started = dt.datetime(2026, 11, 20, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    record = "records/2026-11-20/x/y"
    expected = f"intents/2026-11-21/{sha256_bytes(record.encode())}.json"
    assert intent_key(record, started) == expected
    monkeypatch.setenv("TZ", "Pacific/Honolulu")  # UTC-10: 01:30 UTC is still 20 Nov there
    time.tzset()
    try:
        assert intent_key(record, started) == expected
    finally:
        monkeypatch.undo()
        time.tzset()


def test_only_a_task_try_with_a_try_number_writes_an_intent(storage):
    """A task producer without a try number is refused like a command's. Kills intents.write_intent
    ``producer.kind != "task" or producer.try_number is None`` -> ``and``."""
    task = Producer(kind="task", dag_id="d", run_id="r", task_id="t", try_number=None)
    with pytest.raises(ValueError, match="intents are written by task tries, not task producers"):
        write_intent(storage, task, "records/2026-11-20/x/y", dt.datetime.now(dt.UTC))
    with pytest.raises(ValueError, match="not command producers"):
        write_intent(storage, Producer.command_run("c"), "records/2026-11-20/x/y", dt.datetime.now(dt.UTC))


def test_an_unreadable_intent_is_reported_with_what_is_wrong():
    """Kills Intent.from_json the messages of a wrong format and of a time without zone (``None``, or
    ``doc.get("format")`` / ``doc["started_at"]`` -> another key)."""
    good = json.loads(_intent().as_json())
    with pytest.raises(ValueError) as caught:
        Intent.from_json(json.dumps({**good, "format": "other/9"}).encode())
    assert str(caught.value) == "format 'other/9', expected 'aimsflow-intent/1'"
    with pytest.raises(ValueError) as caught:
        Intent.from_json(json.dumps({**good, "started_at": "2026-11-20T01:00:00"}).encode())
    assert str(caught.value) == "started_at '2026-11-20T01:00:00' has no time zone"


# --- seal names and positions -----------------------------------------------------------------------


def test_a_seal_folder_name_is_eight_digits_from_one():
    """Kills seal.is_seal_name each ``and`` -> ``or`` (a 9-digit, a non-digit or a short name taken
    for a seal, or a crash on ``int()``)."""
    assert is_seal_name("00000001") and is_seal_name("12345678")
    for name in ("00000000", "0000001", "000000001", "1", "abcdefgh", "0000000a", "٠٠٠٠٠٠٠١"):
        assert not is_seal_name(name), name


def test_a_seal_signed_by_an_untrusted_key_places_nothing_and_is_a_finding(storage, make_record):
    """Seal 1 re-signed by an unknown key (its body unchanged): its records get no position, the problem
    is reported with its text; seal 2, sound, still places its record (first leaf, its time). Kills
    listing.verified_seal_positions ``scan_log(storage, keys)`` -> ``keys`` ``None`` or dropped (an
    unsigned seal trusted), ``continue`` -> ``break`` (a bad seal hides the good ones after it),
    ``SealPosition(..., place, sealed_at)`` -> ``None``, ``Untrusted(obj, problem)`` -> ``problem``
    ``None``; and listing.load_verified ``verified_seal_positions(storage, keys)`` -> ``None``."""
    first = make_record(run="r1")
    seal_pending(storage, Signer.from_settings(), Witness())
    second = make_record(dt.date(2026, 11, 20), run="r2")
    seal_pending(storage, Signer.from_settings(), Witness())
    positions, problems = verified_seal_positions(storage, TrustedKeys.load())
    assert set(positions) == {first.key, second.key}
    key_id, seed, _ = new_key("rogue")
    body = storage.get("seals/00000001/seal.json")
    (storage.root / "seals" / "00000001" / "seal.dsse.json").write_bytes(
        sign_envelope(body, Signer.from_seed_b64(key_id, seed), SEAL_PAYLOAD_TYPE)
    )
    positions, problems = verified_seal_positions(storage, TrustedKeys.load())
    _, second_body = read_seal(storage, 2)
    assert first.key not in positions
    assert positions[second.key] == SealPosition(
        2,
        0,
        dt.datetime.fromisoformat(second_body["sealed_at"]),
        sha256_bytes(storage.get(f"{second.key}/manifest.json")),
    )
    assert problems and all(isinstance(p, Untrusted) and p.problem for p in problems)
    assert any(p.key.startswith("seals/00000001") and "rogue" in p.problem for p in problems)
    loaded = load_verified(storage, TrustedKeys.load())
    assert {r.key: r.sealed_in for r in loaded.records}.get(first.key) is None


# --- reading a verified record's files ----------------------------------------------------------------


def test_a_file_not_listed_or_missing_is_refused_naming_the_file(storage, make_record):
    """Kills listing.read_record_file ``UntrustedRecord(where, ...)`` -> key ``None`` / dropped,
    problem ``None`` / dropped / other wording, ``exc.strerror or exc`` -> ``and``."""
    ref = make_record(run="r1")
    predicate = predicate_of(storage.get(f"{ref.key}/manifest.json"))
    with pytest.raises(UntrustedRecord) as caught:
        read_record_file(storage, ref.key, "other.json", predicate)
    assert (caught.value.key, caught.value.problem) == (
        f"{ref.key}/other.json",
        "file not listed in the signed manifest",
    )
    (storage.root / ref.key / "summary.json").unlink()
    with pytest.raises(UntrustedRecord) as caught:
        read_record_file(storage, ref.key, "summary.json", predicate)
    assert (caught.value.key, caught.value.problem) == (
        f"{ref.key}/summary.json",
        "unreadable file: No such file or directory",
    )


def test_a_signed_manifest_missing_a_field_is_refused_naming_the_record(storage, make_record):
    """A manifest signed by the trusted key but without ``controls``: the record is refused as
    unreadable, by its key. Kills listing._verified_summary ``UntrustedRecord(key, f"unreadable
    manifest: ...")`` -> key ``None`` / dropped, problem ``None`` / dropped."""
    ref = make_record(run="r1")
    manifest = json.loads(storage.get(f"{ref.key}/manifest.json"))
    del manifest["predicate"]["controls"]
    data = json.dumps(manifest).encode()
    (storage.root / ref.key / "manifest.json").write_bytes(data)
    (storage.root / ref.key / "manifest.dsse.json").write_bytes(
        sign_envelope(data, Signer.from_settings(), PAYLOAD_TYPE)
    )
    loaded = load_verified(storage, TrustedKeys.load())
    assert [(u.key, u.problem) for u in loaded.rejected] == [
        (ref.key, "unreadable manifest: KeyError('controls')")
    ]


def test_a_record_from_the_future_is_refused_saying_why(storage, make_record):
    """Kills listing._verified_summary the wording "key validity cannot be judged at a moment that
    has not come" (-> ``XX...XX`` / upper case)."""
    now = dt.datetime.now(dt.UTC)
    ref = make_record(run="r1", ended_at=now + dt.timedelta(hours=2))
    (rejected,) = load_verified(storage, TrustedKeys.load(), now=now).rejected
    assert rejected.key == ref.key
    assert rejected.problem.endswith(
        f"in the future (read at {now.isoformat()}): key validity cannot be judged at a moment that has not come"
    )


def test_manifest_digest_and_predicate_of_read_the_manifest_bytes(storage, make_record):
    """Kills record.manifest_digest ``sha256(manifest_bytes)`` -> ``sha256(None)`` and
    record.predicate_of ``loads(manifest_bytes)["predicate"]`` -> ``None`` / another key."""
    ref = make_record(run="r1")
    data = storage.get(f"{ref.key}/manifest.json")
    assert manifest_digest(data).hex() == ref.manifest_sha256
    assert predicate_of(data) == json.loads(data)["predicate"] and predicate_of(data)["check"]


# --- secrets read from files are masked too -----------------------------------------------------------


def test_keys_read_from_files_are_secret_values(monkeypatch, tmp_path):
    """The signing key and the pseudonym key given as files (compose secrets): their values are masked
    in every record, and the file paths are not. Kills redact._secret_values ``key = read()`` ->
    ``None`` (a key from a file written into evidence unmasked), and ``name.endswith("_FILE")`` ->
    ``"XX_FILEXX"`` / ``"_file"`` (a path masked as if it were the key)."""
    import os

    from aimsflow.evidence.redact import MASK, redact_text, secret_values

    for name in list(os.environ):
        if name.startswith(("AIMSFLOW_", "AIRFLOW_CONN_")):
            monkeypatch.delenv(name)
    key_id, seed, _ = new_key("file-key")
    seed_file, pseudo_file = tmp_path / "signing.key", tmp_path / "pseudonym.key"
    seed_file.write_text(seed)
    pseudo_file.write_text("pseudonym-key-from-a-file")
    monkeypatch.setenv("AIMSFLOW_SIGNING_KEY_FILE", str(seed_file))
    monkeypatch.setenv("AIMSFLOW_PSEUDONYM_KEY_FILE", str(pseudo_file))
    assert sorted(secret_values()) == sorted([seed, "pseudonym-key-from-a-file"])
    text = f"read {seed_file} and {pseudo_file}: {seed} / pseudonym-key-from-a-file"
    assert redact_text(text) == f"read {seed_file} and {pseudo_file}: {MASK} / {MASK}"
