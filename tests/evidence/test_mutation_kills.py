"""Tests that notice: each kills a mutant that survived the evidence tests (``make mutation``, see
docs/mutation.md) and that would change what an auditor is told. Each docstring names the mutant:
file, function (line at the time of the run) and operator.

Attack (issue 12): "No test has a wrong signature under a trusted key: with the Ed25519 check replaced
by ``pass``, every evidence test still passes (found by mutating the code)." A record whose envelope
names a trusted key id but whose signature that key did not make must be reported by verify and
refused by every reader.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from aimsflow import settings
from aimsflow.cli import main
from aimsflow.evidence.dsse import PAYLOAD_TYPE, pae
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.record import ENVELOPE, MANIFEST
from aimsflow.evidence.redact import suppress_small_groups
from aimsflow.evidence.trust import UntrustedRecord, check_signature, read_verified
from tests.conftest import new_key

TRUSTED = "test-key-1"  # the key id aims_env trusts


def _verify_json(capsys) -> dict:
    code = main(["evidence", "verify", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == (0 if report["ok"] else 1)
    return report


@pytest.fixture
def forged(storage, make_record):
    """A record signed by a stranger's private key under the TRUSTED key id."""
    _, seed, _ = new_key("stranger")
    return make_record(signer=Signer.from_seed_b64(TRUSTED, seed))


def test_wrong_signature_under_a_trusted_key_is_reported_by_verify(forged, capsys):
    """Kills evidence/keys.py ``TrustedKeys.check``: ``key.public_key.verify(signature, data)``
    replaced by ``pass`` (or its exception swallowed). Verify must name the record and say the
    signature does not match; the store is not intact."""
    report = _verify_json(capsys)
    assert not report["ok"]
    problems = [p for p in report["problems"] if p["object"] == forged.key]
    assert problems and f"signature by key {TRUSTED!r} does not match" in problems[0]["problem"]


def test_wrong_signature_under_a_trusted_key_is_refused_by_readers(storage, forged):
    """The same forged record through :func:`read_verified`, the door every deciding reader uses."""
    with pytest.raises(UntrustedRecord, match="does not match") as caught:
        read_verified(storage, forged.key, TrustedKeys.load())
    assert caught.value.key == forged.key


def test_one_flipped_bit_in_a_trusted_signature_is_caught(storage, make_record):
    """A genuine record whose signature has one bit flipped: the trusted key id is right, the
    signature is not. Also kills evidence/trust.py ``check_signature`` mutants that return None for
    the first signature entry whatever its problem."""
    ref = make_record()
    path = storage.path(f"{ref.key}/{ENVELOPE}")
    envelope = json.loads(path.read_bytes())
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[0] ^= 0x01
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    path.write_text(json.dumps(envelope))
    manifest = storage.get(f"{ref.key}/{MANIFEST}")
    keys = TrustedKeys.load()
    problem = check_signature(path.read_bytes(), manifest, PAYLOAD_TYPE, keys, dt.datetime.now(dt.UTC))
    assert problem == f"signature by key {TRUSTED!r} does not match"
    with pytest.raises(UntrustedRecord):
        read_verified(storage, ref.key, keys)


def test_trusted_keys_check_distinguishes_each_outcome(aims_env):
    """evidence/keys.py ``TrustedKeys.check`` and ``TrustedKey.valid_at``: None only for a valid
    signature by a known key inside its window; each other case names its own problem."""
    signer = Signer.from_settings()
    keys = TrustedKeys.load()
    data = pae(PAYLOAD_TYPE, b"{}")
    now = dt.datetime.now(dt.UTC)
    good = signer.sign(data)
    assert keys.check(TRUSTED, data, good, now) is None
    assert keys.check(TRUSTED, data + b" ", good, now) == f"signature by key {TRUSTED!r} does not match"
    assert keys.check("nobody", data, good, now) == "signed by unknown key 'nobody'"
    before = dt.datetime(2019, 12, 31, 23, 59, tzinfo=dt.UTC)  # aims_env's key is valid from 2020-01-01
    assert "outside the validity" in keys.check(TRUSTED, data, good, before)
    assert keys.check(TRUSTED, data, good, dt.datetime(2020, 1, 1, tzinfo=dt.UTC)) is None


def test_key_validity_window_is_half_open():
    """evidence/keys.py ``TrustedKey.valid_at``: valid from ``valid_from`` included to ``valid_until``
    excluded. Kills ``valid_from <= moment`` -> ``<`` and ``moment < valid_until`` -> ``<=`` (a
    record signed at the very moment its key was retired would be accepted)."""
    from aimsflow.evidence.keys import TrustedKey

    start, end = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    key = TrustedKey("k", Signer.from_seed_b64("k", new_key("k")[1])._private.public_key(), start, end)
    assert key.valid_at(start) and key.valid_at(end - dt.timedelta(microseconds=1))
    assert not key.valid_at(end) and not key.valid_at(start - dt.timedelta(microseconds=1))


# --- secrets never in evidence (evidence/redact.py) ------------------------------------------------


def test_secret_values_are_the_configured_keys_and_secret_names_only(monkeypatch):
    """evidence/redact.py ``_secret_values``: a value is a secret when it is 8+ characters and its
    variable is a key (AIMSFLOW_SIGNING_KEY*, AIMSFLOW_PSEUDONYM_KEY, AIRFLOW_CONN_*) or has a
    secret-looking name that does not end in _ID/_PATH/_FILE/_CONN_ID. Kills the ``and`` -> ``or``
    (every long value masked), ``>= 8`` -> ``> 8``/``>= 9``, the prefix-string and the suffix-string
    mutants of that function."""
    from aimsflow.evidence.redact import secret_values

    for name in list(__import__("os").environ):
        monkeypatch.delenv(name)
    secret = {
        "AIMSFLOW_SIGNING_KEY": "seed-value-1",
        "AIMSFLOW_PSEUDONYM_KEY": "pseudo-value-2",
        "AIRFLOW_CONN_WAREHOUSE": "postgres://u:p@h/db",
        "SERVICE_API_TOKEN": "exactly8",
    }
    kept = {
        "HOME": "/home/someone/long",
        "SERVICE_API_TOKEN_ID": "token-id-value",
        "SERVICE_SECRET_PATH": "/run/secrets/x",
        "SERVICE_SECRET_FILE": "/run/secrets/y",
        "WAREHOUSE_PASSWORD_CONN_ID": "warehouse-conn",
        "SHORT_TOKEN": "seven77",
    }
    for name, value in {**secret, **kept}.items():
        monkeypatch.setenv(name, value)
    assert sorted(secret_values()) == sorted(secret.values())


def test_redact_text_uses_the_secrets_given(monkeypatch):
    """evidence/redact.py ``redact_text``: secrets passed in are masked even when the environment has
    none (kills ``secrets is None`` -> ``... or True``, which would read the environment instead)."""
    from aimsflow.evidence.redact import MASK, redact_text

    monkeypatch.delenv("AIMSFLOW_SIGNING_KEY", raising=False)
    assert redact_text("token=s3cr3t-value!", secrets=["s3cr3t-value"]) == f"token={MASK}!"


def test_pseudonym_is_the_keyed_hmac_of_the_value():
    """evidence/redact.py ``pseudonymise``: exactly ``hmac:`` + the first 16 hex digits of
    HMAC-SHA256(key, value). Kills the mutants that hash ``None`` or nothing, or keep 17 digits."""
    import hashlib
    import hmac

    from aimsflow.evidence.redact import pseudonymise

    expected = "hmac:" + hmac.new(b"k", b"1990-01-01", hashlib.sha256).hexdigest()[:16]
    assert pseudonymise("1990-01-01", b"k") == expected
    assert pseudonymise("1990-01-02", b"k") != expected


def test_redact_suppress_small_groups_at_the_boundary():
    """evidence/redact.py ``suppress_small_groups``: ``counts >= min_size`` keeps a figure. Kills
    ``>=`` -> ``>`` (the minimum suppressed) and ``min_size is None`` -> ``... or True`` (the minimum
    given ignored for the setting: 5 here, the default is 10)."""
    low = 5
    counts = {"A": low - 1, "B": low, "C": low + 1}
    out = suppress_small_groups(counts, {"A": 1, "B": 2, "C": 3}, low)
    assert out == {"A": {"suppressed": f"group size < {low}"}, "B": 2, "C": 3}


def test_redact_a_group_without_a_count_is_suppressed():
    """evidence/redact.py ``suppress_small_groups``: a figure whose group has no count is suppressed
    even with a minimum of 1 (kills ``counts.get(group, 0)`` -> ``counts.get(group, 1)``)."""
    assert suppress_small_groups({}, {"Z": 0.5}, 1) == {"Z": {"suppressed": "group size < 1"}}


def test_redact_suppress_small_groups_default_minimum_is_the_setting():
    """evidence/redact.py ``suppress_small_groups`` without a minimum uses AIMSFLOW_MIN_GROUP_SIZE
    (kills ``min_size is None`` -> ``... and False`` and ``is not None``)."""
    counts = {"A": 11, "B": 12}
    with settings.overridden(AIMSFLOW_MIN_GROUP_SIZE="12"):
        out = suppress_small_groups(counts, {"A": 1, "B": 2})
    assert out == {"A": {"suppressed": "group size < 12"}, "B": 2}


# --- who produced a record (evidence/record.py) ----------------------------------------------------


def test_command_producer_says_command_and_user():
    """evidence/record.py ``Producer.command_run``: the manifest's producer of a command run (seal,
    retention, closing a nonconformity) is kind ``command`` with the command, the user and a fresh
    invocation id. Kills the mutants that drop or change kind, command or user."""
    from aimsflow.evidence.record import Producer

    a = Producer.command_run("evidence_seal", user="alice")
    b = Producer.command_run("evidence_seal", user="alice")
    assert a.as_dict() == {
        "kind": "command",
        "map_index": -1,
        "command": "evidence_seal",
        "invocation": a.invocation,
        "user": "alice",
    }
    assert len(a.invocation) == 32 and a.invocation != b.invocation
    assert a.record_id().startswith("evidence_seal-") and a.record_id() != b.record_id()
    assert a.is_final_try


def _fake_git(tmp_path, script: str):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    return bin_dir


def test_failed_git_status_means_dirty_unknown_not_clean(tmp_path, monkeypatch):
    """evidence/record.py ``_git``/``git_state``: when ``git status`` fails, ``git_dirty`` is None
    (unknown), never False (clean), and nothing raises. Kills ``returncode == 0`` -> ``... or True``
    (a failed status read as clean) and ``status is None`` -> ``... and False`` (a crash)."""
    from aimsflow.evidence.record import git_state

    commit = "a" * 40
    bin_dir = _fake_git(tmp_path, f'[ "$1" = rev-parse ] && {{ echo {commit}; exit 0; }}\nexit 128\n')
    monkeypatch.setenv("PATH", str(bin_dir))
    assert git_state(tmp_path) == (commit, None)


def test_a_hanging_git_status_times_out_too(tmp_path, monkeypatch):
    """evidence/record.py ``git_state``: the timeout also bounds ``git status`` (kills its ``timeout``
    -> ``None``): a commit is known, the dirty flag unknown, and the record is not held up."""
    import time

    from aimsflow.evidence.record import git_state

    commit = "b" * 40
    bin_dir = _fake_git(
        tmp_path, f'[ "$1" = rev-parse ] && {{ echo {commit}; exit 0; }}\nexec /bin/sleep 5\n'
    )
    monkeypatch.setenv("PATH", str(bin_dir))
    started = time.monotonic()
    assert git_state(tmp_path, timeout=0.3) == (commit, None)
    assert time.monotonic() - started < 3


# --- the store (evidence/storage.py, evidence/specs.py) --------------------------------------------


def test_put_once_writes_then_refuses_to_overwrite(storage):
    """evidence/storage.py ``LocalStorage.put_once``: the first write stores the bytes, the second
    raises WriteOnceError naming the object and leaves the first bytes. Kills ``not atomic_write`` ->
    ``atomic_write``, ``overwrite=False`` -> ``True``/``None``/default and the ``None`` message."""
    from aimsflow.evidence.storage import WriteOnceError

    storage.put_once("specs/sha256/x", b"first")
    with pytest.raises(WriteOnceError, match="specs/sha256/x already exists; evidence is write-once"):
        storage.put_once("specs/sha256/x", b"second")
    assert storage.get("specs/sha256/x") == b"first"


def test_blob_key_refuses_what_is_not_a_sha256():
    """evidence/specs.py ``blob_key``: the error names the value (kills ``ValueError(None)``)."""
    from aimsflow.evidence.specs import blob_key

    assert blob_key("0" * 64) == "specs/sha256/" + "0" * 64
    with pytest.raises(ValueError, match="invalid spec SHA-256 'ABC'"):
        blob_key("ABC")


def test_spec_name_under_a_configured_expectations_dir(aims_env, tmp_path):
    """evidence/specs.py ``_roots``: a spec in AIMSFLOW_EXPECTATIONS_DIR outside the project is named
    ``$AIMSFLOW_EXPECTATIONS_DIR/<rel>`` in the manifest, never by its machine path (kills the mutants
    of that prefix string)."""
    from aimsflow import settings
    from aimsflow.evidence.specs import spec_name

    folder = tmp_path / "suites"
    (folder / "loans").mkdir(parents=True)
    suite = folder / "loans" / "suite.json"
    suite.write_text("{}")
    with settings.overridden(AIMSFLOW_EXPECTATIONS_DIR=str(folder)):
        assert spec_name(suite) == "$AIMSFLOW_EXPECTATIONS_DIR/loans/suite.json"


# --- demo keys (evidence/keys.py): what `make run` signs and verifies with ---------------------------


def test_demo_key_is_private_trusted_now_and_stable(tmp_path):
    """evidence/keys.py ``ensure_demo_key``/``_write_private``: the seed file is mode 0600 in a folder
    created with its parents, holds ``<key id> <seed>``; its public key is trusted in
    ``trusted_keys.json`` from before now, so a record signed now verifies; a second call keeps the
    key. Kills the mode (``0o600`` -> default, ``385``), ``parents=True`` -> ``None``/``False``, the
    key-id format, ``seed = None``, the file-name and the ``now - 1 min`` -> ``now + 1 min`` mutants."""
    import re
    import stat

    from aimsflow.evidence.keys import ensure_demo_key

    keys_dir = tmp_path / "a" / "b" / "keys"
    key_id, key_file = ensure_demo_key(keys_dir)
    assert key_file == keys_dir / "demo-signing.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert re.fullmatch(r"demo-[a-z2-7]{8}", key_id)
    file_id, seed = key_file.read_text().split()
    signer = Signer.from_seed_b64(file_id, seed)
    assert file_id == key_id
    doc = json.loads((keys_dir / "trusted_keys.json").read_text())
    assert [(k["key_id"], k["public_key"]) for k in doc["keys"]] == [(key_id, signer.public_key_b64)]
    assert doc["keys"][0]["valid_until"] is None  # add_trusted_key: the documented field, open-ended
    data = pae(PAYLOAD_TYPE, b"{}")
    assert (
        TrustedKeys.load(keys_dir / "trusted_keys.json").check(
            key_id, data, signer.sign(data), dt.datetime.now(dt.UTC)
        )
        is None
    )
    assert ensure_demo_key(keys_dir) == (key_id, key_file)
    assert key_file.read_text().split() == [file_id, seed]


def test_demo_pseudonym_key_is_private_random_and_stable(tmp_path):
    """evidence/keys.py ``ensure_demo_pseudonym_key``: 64 hex digits (32 random bytes), mode 0600,
    written once. Kills ``not path.exists()`` -> ``path.exists()``, ``token_hex(32)`` -> 33/None and the
    file-name mutants."""
    import re
    import stat

    from aimsflow.evidence.keys import ensure_demo_pseudonym_key

    path = ensure_demo_pseudonym_key(tmp_path / "keys")
    assert path == tmp_path / "keys" / "demo-pseudonym.key"
    text = path.read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", text)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_demo_pseudonym_key(tmp_path / "keys").read_text() == text


# --- the lock holder named to a waiter (evidence/lock.py) -------------------------------------------


def test_a_waiter_is_told_who_holds_the_store_lock(tmp_path):
    """evidence/lock.py ``_holder``: ``<holder> (pid <pid>, since <ISO time>)`` while held; an empty
    lock file (a holder that has not written yet) gives ``unknown holder (pid None, since None)``, an
    unreadable one ``unknown holder``. Kills the key-string and default-string mutants of ``_holder``."""
    import os
    import re

    from aimsflow.evidence.lock import LOCK_FILE, is_locked, store_lock

    with store_lock(tmp_path, "evidence_seal run r1", timeout=1):
        held = is_locked(tmp_path)
        assert held is not None
        assert re.fullmatch(rf"evidence_seal run r1 \(pid {os.getpid()}, since \d{{4}}-\d\d-\d\dT.+\)", held)
        (tmp_path / LOCK_FILE).write_text("")
        assert is_locked(tmp_path) == "unknown holder (pid None, since None)"
        (tmp_path / LOCK_FILE).write_text('{"pid": 7}')
        assert is_locked(tmp_path) == "unknown holder (pid 7, since None)"
        (tmp_path / LOCK_FILE).write_text("not json")
        assert is_locked(tmp_path) == "unknown holder"


# --- what verify --json tells (evidence/verify.py, record part) --------------------------------------


def test_verify_json_counts_every_byte_and_names_every_field(storage, make_record, capsys):
    """evidence/verify.py ``_check_batch`` and ``VerifyReport.as_dict``: ``bytes_hashed`` is the sum of
    the sizes of all record files (kills ``out.bytes += size`` -> ``=``), and the document has the
    fields an auditor's script reads (kills the key-string mutants of ``as_dict``)."""
    refs = [make_record(run=f"r{i}", files={"a.txt": b"x" * (10 + i), "b.txt": b"yy"}) for i in range(3)]
    report = _verify_json(capsys)
    assert report["ok"] and report["records_checked"] == 3 and report["files_checked"] == 6
    assert report["bytes_hashed"] == sum(10 + i + 2 for i in range(3))
    assert {"spec_blobs_checked", "disposed", "bytes_hashed", "pending", "problems"} <= report.keys()
    assert report["spec_blobs_checked"] == 0 and report["disposed"] == []
    assert sorted(report["pending"]) == sorted(r.key for r in refs)


# --- envelopes and signatures (evidence/dsse.py, evidence/trust.py) ---------------------------------


def _envelope(payload_b64: str, signatures) -> bytes:
    return json.dumps(
        {"payloadType": PAYLOAD_TYPE, "payload": payload_b64, "signatures": signatures}
    ).encode()


def test_a_malformed_signature_entry_is_a_problem_not_a_pass(aims_env):
    """evidence/trust.py ``check_signature``: a signature entry without ``sig`` (or with a ``sig`` that
    is not base64) is a problem. Kills ``problem = f"malformed signature entry: ..."`` -> ``None``,
    under which such an envelope VERIFIED."""
    body = b'{"predicate": {}}\n'
    keys = TrustedKeys.load()
    now = dt.datetime.now(dt.UTC)
    for entry in ({"keyid": TRUSTED}, {"keyid": TRUSTED, "sig": "not base64!"}, {"sig": "AAAA"}):
        envelope = _envelope(base64.b64encode(body).decode(), [entry])
        problem = check_signature(envelope, body, PAYLOAD_TYPE, keys, now)
        assert problem is not None and problem.startswith("malformed signature entry: "), (entry, problem)


def test_envelope_problems_are_named(aims_env):
    """evidence/trust.py ``check_signature`` and evidence/dsse.py ``parse_envelope``: a payload that is
    not strict base64 is malformed (kills ``validate=True`` -> ``False``/default, which would read
    ``e30=!!`` as ``{}``), the message says so (kills ``ValueError(None)`` and ``str(exc)`` ->
    ``str(None)``), and an envelope without signatures says that, exactly."""
    keys = TrustedKeys.load()
    now = dt.datetime.now(dt.UTC)
    lenient = _envelope(base64.b64encode(b"{}").decode() + "!!", [{"keyid": TRUSTED, "sig": "AAAA"}])
    problem = check_signature(lenient, b"{}", PAYLOAD_TYPE, keys, now)
    assert problem is not None and problem.startswith("malformed DSSE envelope: ")
    unsigned = _envelope(base64.b64encode(b"{}").decode(), [])
    assert check_signature(unsigned, b"{}", PAYLOAD_TYPE, keys, now) == "envelope carries no signature"


def test_an_unreadable_trusted_keys_file_is_named(tmp_path):
    """evidence/keys.py ``TrustedKeys.load``: the error names the file (kills ``KeyError_(None)``)."""
    from aimsflow.evidence.keys import KeyError_

    path = tmp_path / "trusted_keys.json"
    path.write_text('{"keys": [{"key_id": "k"}]}')
    with pytest.raises(KeyError_, match=f"{path}: invalid trusted-keys file: KeyError"):
        TrustedKeys.load(path)


# --- listing what is in the store (evidence/listing.py, evidence/storage.py) -------------------------


def test_an_unreadable_record_does_not_hide_the_records_after_it(storage, make_record):
    """evidence/listing.py ``load_summaries``: an unreadable manifest is skipped and the listing goes on
    (kills ``continue`` -> ``break``, under which `evidence list` showed no record sorted after it);
    each summary carries its predicate's summary (kills the ``summary`` mutants)."""
    from aimsflow.evidence.listing import load_summaries

    early = make_record(dt.date(2026, 11, 1), run="r1")
    late = make_record(dt.date(2026, 11, 2), run="r2")
    storage.path(f"{early.key}/{MANIFEST}").write_text("{not json")
    listed = load_summaries(storage)
    assert [s.key for s in listed] == [late.key]
    assert listed[0].summary == {"rows": 10}


def test_list_json_names_every_field(storage, make_record, capsys):
    """evidence/listing.py ``RecordSummary.as_dict``: what `evidence list --json` prints under each
    name (kills the key-string mutants of ``started_at``, ``ended_at`` and ``summary``)."""
    ref = make_record()
    assert main(["evidence", "list", "--json"]) == 0
    (doc,) = json.loads(capsys.readouterr().out)
    assert doc["key"] == ref.key and doc["summary"] == {"rows": 10}
    for name in ("started_at", "ended_at"):
        assert dt.datetime.fromisoformat(doc[name]).tzinfo is not None


def test_storage_lists_no_file_of_a_linked_folder_and_describes_by_path(storage, make_record, tmp_path):
    """evidence/storage.py ``LocalStorage.list_files``: a symlinked folder is not entered, so verify
    never hashes files from outside the store as if they were in it (kills ``follow_symlinks=False``
    -> ``True``/``None``); ``describe`` is the file path (kills ``str(None)``)."""
    ref = make_record()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.txt").write_text("x")
    (storage.path(ref.key) / "linked").symlink_to(outside, target_is_directory=True)
    files = storage.list_files(ref.key)
    assert "linked/x.txt" not in files and "summary.json" in files
    assert storage.describe(f"{ref.key}/summary.json") == str(storage.root / ref.key / "summary.json")


# --- the record format as documented (docs/evidence-format.md), which an outside verifier reads ------

PREDICATE_FIELDS = {
    "format",
    "record_id",
    "check",
    "subject",
    "status",
    "controls",
    "period",
    "started_at",
    "ended_at",
    "producer",
    "triggered_by",
    "summary",
    "message",
    "error",
    "inputs",
    "outputs",
    "specs",
    "code",
    "openlineage",
    "files",
}


def test_manifest_has_the_documented_statement_and_fields(storage, tmp_path):
    """evidence/record.py ``build_manifest``/``_file_entry``/``write_record``: the in-toto statement
    and the predicate carry exactly the documented names (kills the key-string mutants of
    ``format``, ``summary``, ``message``, ``error``, ``inputs``, ``outputs``, ``openlineage``,
    ``subject``/``name``/``digest``/``sha256``, ``predicateType``); a result file given as a path is
    listed with its own SHA-256 and size (kills the ``Path`` branch mutants of ``_file_entry``); a
    summary value JSON cannot hold is written as text, not a crash (kills ``default=str`` ->
    ``None``/default); the returned reference carries the manifest's SHA-256 and the status (kills
    their ``None`` mutants)."""
    from aimsflow.evidence.record import Producer, RunContext, write_record
    from aimsflow.periods import Period
    from aimsflow.results import JobResult, Status, Subject, sha256_bytes

    source = tmp_path / "report.html"
    source.write_bytes(b"<html>report</html>")
    result = JobResult(
        Subject("loan_approval", "loans", "2026-11-19"),
        Status.warning,
        check="data_quality/validate",
        controls=("A.7.4",),
        summary={"day": dt.date(2026, 11, 19)},
        files={"report.html": source, "summary.json": b"{}"},
        message="one line",
    )
    producer = Producer(kind="task", dag_id="d", run_id="r", task_id="validate", try_number=1, max_tries=2)
    now = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
    ctx = RunContext(Period.day(dt.date(2026, 11, 19)), producer, now, now, error={"type": "X"})
    ref = write_record(storage, result, ctx, Signer.from_settings())
    manifest = storage.get(f"{ref.key}/{MANIFEST}")
    assert ref.manifest_sha256 == sha256_bytes(manifest) and ref.status is Status.warning
    statement = json.loads(manifest)
    assert statement.keys() == {"_type", "subject", "predicateType", "predicate"}
    assert statement["predicateType"] == "https://aimsflow.dev/evidence/record/v1"
    html = {"path": "report.html", "sha256": sha256_bytes(source.read_bytes()), "size": 19}
    assert statement["subject"][0] == {"name": "report.html", "digest": {"sha256": html["sha256"]}}
    predicate = statement["predicate"]
    assert predicate.keys() == PREDICATE_FIELDS
    assert predicate["format"] == "aimsflow-evidence/1" and predicate["files"][0] == html
    assert predicate["summary"] == {"day": "2026-11-19"} and predicate["message"] == "one line"
    assert predicate["error"] == {"type": "X"} and predicate["inputs"] == [] == predicate["outputs"]
    assert predicate["openlineage"] is None


def test_pae_is_the_dsse_v1_encoding():
    """evidence/dsse.py ``pae``: the exact DSSE v1 pre-authentication encoding, so that stock DSSE
    tools verify our envelopes (kills ``DSSEv1`` -> ``dssev1``/``XXDSSEv1 ...XX``: signing and
    checking with the same wrong encoding passes every round-trip test)."""
    assert pae(PAYLOAD_TYPE, b"{}") == b"DSSEv1 28 application/vnd.in-toto+json 2 {}"


def test_record_id_is_the_documented_derivation():
    """evidence/record.py ``Producer.record_id``/``identity``: ``<task_id>[.<map_index>].try<n>-<h>``
    with ``<h>`` the first 12 hex digits of SHA-256 over the identity JSON with sorted keys. Kills
    ``sort_keys=True`` -> ``False``/``None``/default, ``[:12]`` -> ``[:13]``, ``map_index < 0`` ->
    ``<= 0``/``< 1``/``or True`` (map index 0 dropped) and the ``_SAFE.sub('_', ...)`` mutant."""
    import hashlib

    from aimsflow.evidence.record import Producer, record_key
    from aimsflow.periods import Period

    p = Producer(kind="task", dag_id="d", run_id="r", task_id="check rows", map_index=0, try_number=2)
    identity = {
        "command": None,
        "dag_id": "d",
        "invocation": None,
        "kind": "task",
        "map_index": 0,
        "run_id": "r",
        "task_id": "check rows",
        "try_number": 2,
    }
    h = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    assert p.identity() == json.dumps(identity, sort_keys=True)
    assert p.record_id() == f"check_rows.0.try2-{h}"
    assert (
        record_key(Period.day(dt.date(2026, 11, 19)), "data quality/x", "id")
        == "records/2026-11-19/data_quality/x/id"
    )


@pytest.mark.parametrize("name", [".hidden", "/abs.txt", "a/../b.txt", "..", "a/.."])
def test_unsafe_result_file_names_are_refused(make_record, name):
    """evidence/record.py ``write_record``: a name starting with ``.`` or ``/`` or with a ``..`` part
    is refused (kills ``or`` -> ``and``, ``split("/")`` -> ``split()``/``split("XX/XX")`` and the
    ``"XX.XX"``/``"XX/XX"``/``"XX..XX"`` mutants)."""
    with pytest.raises(ValueError, match=f"invalid result file name {name!r}"):
        make_record(files={name: b"x"})


@pytest.mark.parametrize("key", ["../outside", "/etc/passwd", "records/../../outside", ".."])
def test_storage_keys_cannot_leave_the_store(storage, key):
    """evidence/storage.py ``LocalStorage._fspath``: an absolute key or one with a ``..`` part is
    refused with the key named (kills ``or`` -> ``and``, the ``split`` and string mutants and
    ``ValueError(None)``)."""
    with pytest.raises(ValueError, match=f"invalid storage key {key!r}"):
        storage.get(key)


def test_a_record_with_nested_folders_is_written_and_not_twice(storage, make_record):
    """evidence/storage.py ``_write_file``/``put_dir_once``: result files two folders deep are written
    (kills ``parents=True`` -> ``None``/``False``/default); a second write of the folder is refused with
    the folder named (kills the ``WriteOnceError(None)`` mutants)."""
    from aimsflow.evidence.storage import WriteOnceError

    ref = make_record(files={"charts/by/day.txt": b"d"})
    assert storage.get(f"{ref.key}/charts/by/day.txt") == b"d"
    with pytest.raises(WriteOnceError, match=f"{ref.key} already exists; evidence is write-once"):
        storage.put_dir_once(ref.key, {"x.txt": b"x"})


# --- the reader's door (evidence/trust.py read_verified) -------------------------------------------


def test_read_verified_returns_the_record_it_checked(storage, make_record):
    """evidence/trust.py ``read_verified``: a good record comes back with its key, its exact manifest
    bytes and its predicate (kills the ``None``/dropped-argument mutants of ``VerifiedRecord``, of the
    reads and of the ``check_signature`` call; none of the evidence tests called it)."""
    ref = make_record()
    got = read_verified(storage, ref.key, TrustedKeys.load())
    assert got.key == ref.key and got.manifest == storage.get(f"{ref.key}/{MANIFEST}")
    assert got.predicate == json.loads(got.manifest)["predicate"] and got.predicate["status"] == "passed"


def test_read_verified_names_what_is_wrong(storage, make_record):
    """evidence/trust.py ``read_verified`` and ``UntrustedRecord``: a missing envelope and an
    unreadable manifest are refused with the key and the problem (kills the ``UntrustedRecord``
    argument mutants, ``exc.strerror or exc`` -> ``and`` and the ``problem is not None`` inversion)."""
    keys = TrustedKeys.load()
    gone = make_record(run="r1")
    storage.path(f"{gone.key}/{ENVELOPE}").unlink()
    with pytest.raises(UntrustedRecord) as caught:
        read_verified(storage, gone.key, keys)
    assert caught.value.key == gone.key
    assert caught.value.problem == "unreadable record: No such file or directory"
    assert str(caught.value) == f"{gone.key}: unreadable record: No such file or directory"
    garbled = make_record(run="r2")
    storage.path(f"{garbled.key}/{MANIFEST}").write_text('{"predicate": {}}')
    with pytest.raises(UntrustedRecord) as caught:
        read_verified(storage, garbled.key, keys)
    assert (
        caught.value.key == garbled.key
        and caught.value.problem == "unreadable manifest: KeyError('ended_at')"
    )


def test_read_verified_judges_key_validity_at_the_time_given(storage, make_record, aims_env):
    """evidence/trust.py ``read_verified``: validity is judged at ``judged_at`` when given, else at the
    moment of reading — never at the record's own ``ended_at`` (a retired key backdates that; found in
    review). Kills ``judged_at or now`` -> ``and``/``None``/dropped and a return to ``ended_at``."""
    early = dt.datetime(2019, 6, 1, tzinfo=dt.UTC)  # aims_env's key is valid from 2020-01-01
    ref = make_record(ended_at=early)
    keys = TrustedKeys.load()
    assert read_verified(storage, ref.key, keys).key == ref.key  # judged now, not at its own 2019 end
    with pytest.raises(UntrustedRecord, match="outside the validity"):
        read_verified(storage, ref.key, keys, judged_at=early)
    assert (
        read_verified(storage, ref.key, keys, judged_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).key == ref.key
    )


def test_every_signature_problem_is_named(aims_env):
    """evidence/trust.py ``check_signature``: two failing signatures give both problems joined by
    ``; `` and an edited payload says so (kills the string mutants of those messages)."""
    keys = TrustedKeys.load()
    now = dt.datetime.now(dt.UTC)
    body = b"{}"
    entries = [{"keyid": "a", "sig": "AAAA"}, {"keyid": "b", "sig": "AAAA"}]
    envelope = _envelope(base64.b64encode(body).decode(), entries)
    assert check_signature(envelope, body, PAYLOAD_TYPE, keys, now) == (
        "signed by unknown key 'a'; signed by unknown key 'b'"
    )
    assert check_signature(envelope, b"{ }", PAYLOAD_TYPE, keys, now) == (
        "signed payload differs from the stored file (edited after signing)"
    )


# --- where the signing key comes from (evidence/keys.py Signer) ------------------------------------


class _Conn:
    def __init__(self, login, password):
        self.login, self.password = login, password


def _fake_airflow(monkeypatch, conn=None, error=None):
    """``airflow.sdk.BaseHook`` as a stub that records the connection id asked for."""
    import sys
    import types

    asked = []

    class BaseHook:
        @staticmethod
        def get_connection(conn_id):
            asked.append(conn_id)
            if error:
                raise error
            return conn

    module = types.ModuleType("airflow.sdk")
    module.BaseHook = BaseHook
    monkeypatch.setitem(sys.modules, "airflow.sdk", module)
    monkeypatch.delenv("AIMSFLOW_SIGNING_KEY", raising=False)
    return asked


def test_signer_from_the_airflow_connection(aims_env, monkeypatch):
    """evidence/keys.py ``Signer.from_settings``: with no key in the environment the connection named
    by AIMSFLOW_SIGNING_CONN_ID gives key id (login) and seed (password). Kills ``conn_id = None``,
    ``conn = None``, ``get_connection(None)`` and the swapped/dropped arguments of ``from_seed_b64``."""
    _, seed, public = new_key("conn-key")
    asked = _fake_airflow(monkeypatch, _Conn("conn-key", seed))
    with settings.overridden(AIMSFLOW_SIGNING_CONN_ID="my_signing"):
        signer = Signer.from_settings()
    assert asked == ["my_signing"]
    assert signer.key_id == "conn-key" and signer.public_key_b64 == public


@pytest.mark.parametrize(("login", "password"), [("k", ""), ("", "c2VlZA=="), (None, None)])
def test_a_connection_without_login_or_password_is_refused(aims_env, monkeypatch, login, password):
    """evidence/keys.py ``Signer.from_settings``: login AND password are needed (kills ``or`` ->
    ``and`` and the dropped ``not`` mutants); the error names the connection (kills ``KeyError_(None)``)."""
    from aimsflow.evidence.keys import KeyError_

    _fake_airflow(monkeypatch, _Conn(login, password))
    with settings.overridden(AIMSFLOW_SIGNING_CONN_ID="my_signing"):
        with pytest.raises(KeyError_, match="Airflow connection 'my_signing' needs login"):
            Signer.from_settings()


def test_no_connection_and_no_key_id_are_named(aims_env, monkeypatch):
    """evidence/keys.py ``Signer.from_settings``: the messages say what to set (kills their ``None``
    and string mutants)."""
    from aimsflow.evidence.keys import KeyError_

    _fake_airflow(monkeypatch, error=LookupError("no such connection"))
    with settings.overridden(AIMSFLOW_SIGNING_CONN_ID="my_signing"):
        with pytest.raises(KeyError_, match="no signing key: set AIMSFLOW_SIGNING_KEY and .*'my_signing'"):
            Signer.from_settings()
    monkeypatch.setenv("AIMSFLOW_SIGNING_KEY", new_key("x")[1])
    monkeypatch.delenv("AIMSFLOW_SIGNING_KEY_ID")
    with pytest.raises(KeyError_, match="^AIMSFLOW_SIGNING_KEY is set but AIMSFLOW_SIGNING_KEY_ID is not$"):
        Signer.from_settings()


def test_a_seed_that_is_not_strict_base64_is_refused():
    """evidence/keys.py ``Signer.from_seed_b64``: junk in the seed is refused, not skipped (kills
    ``validate=True`` -> ``False``/default), and the error names the key (kills ``KeyError_(None)``)."""
    from aimsflow.evidence.keys import KeyError_

    seed = new_key("k")[1]
    with pytest.raises(KeyError_, match="signing key 'k' is not a base64 32-byte Ed25519 seed"):
        Signer.from_seed_b64("k", seed[:10] + "!" + seed[10:])


# --- control ids (evidence/controls.py) ------------------------------------------------------------


def test_control_errors_say_what_is_wrong():
    """evidence/controls.py: an empty list and an unknown id are refused with their messages; the
    hint lists at most three near ids joined by ", " and nothing when none is near (kills the string,
    ``n=3`` -> ``n=4`` and ``if near`` -> ``or True`` mutants)."""
    from aimsflow.evidence.controls import UnknownControlError, canonical_control, validate_controls

    with pytest.raises(UnknownControlError, match="^a record must name at least one control$"):
        validate_controls([])
    with pytest.raises(UnknownControlError) as caught:
        canonical_control("A.6.2")
    hint = str(caught.value).split("did you mean ")[1].rstrip("?)")
    assert len(hint.split(", ")) == 3 and all(h.startswith("A.") for h in hint.split(", "))
    with pytest.raises(UnknownControlError, match=r"^unknown control id 'zzzzzz'$"):
        canonical_control("zzzzzz")


# --- what verify finds in the records (evidence/verify.py: the record checks, not the seal part) ----


def _problems(capsys) -> set[tuple[str, str]]:
    return {(p["object"], p["problem"]) for p in _verify_json(capsys)["problems"]}


def _resign(storage, key: str, edit) -> None:
    """Rewrite ``key``'s manifest with ``edit(statement)`` and sign it again with the trusted key: a
    record an insider with the signing key could write, which verify must still judge."""
    from aimsflow.evidence.dsse import sign_envelope

    statement = json.loads(storage.get(f"{key}/{MANIFEST}"))
    edit(statement)
    manifest = (json.dumps(statement, indent=2) + "\n").encode()
    storage.path(f"{key}/{MANIFEST}").write_bytes(manifest)
    storage.path(f"{key}/{ENVELOPE}").write_bytes(sign_envelope(manifest, Signer.from_settings()))


def test_verify_goes_on_after_each_broken_record(storage, make_record, capsys):
    """evidence/verify.py ``verify_store``: a record without its manifest, one without its envelope,
    one with an unreadable manifest and one with a missing file are each reported, with the exact
    problem, and the records and files after them are still checked. Kills ``continue`` -> ``break``
    at each of the four (a first broken record hid every later tamper), ``or`` -> ``and`` in the
    record test and in ``record_folders``, the ``MANIFEST if ... else ENVELOPE`` mutants and the
    ``report.add`` argument mutants."""
    day = [dt.date(2026, 11, d) for d in range(1, 7)]
    no_manifest, no_envelope, garbled, missing, changed, last = (
        make_record(d, run=f"r{i}") for i, d in enumerate(day)
    )
    storage.path(f"{no_manifest.key}/{MANIFEST}").unlink()
    storage.path(f"{no_envelope.key}/{ENVELOPE}").unlink()
    storage.path(f"{garbled.key}/{MANIFEST}").write_text("{")
    storage.path(f"{missing.key}/charts/a.txt").unlink()
    storage.path(f"{missing.key}/summary.json").write_text("{}")
    storage.path(f"{changed.key}/summary.json").write_text("{}")
    storage.path(f"{last.key}/extra.csv").write_text("x")
    problems = _problems(capsys)
    expected = {
        (no_manifest.key, "record lacks manifest.json (deleted file)"),
        (no_envelope.key, "record lacks manifest.dsse.json (deleted file)"),
        (f"{missing.key}/charts/a.txt", "file listed in the manifest is missing (deleted)"),
        (f"{missing.key}/summary.json", "content differs from the manifest's SHA-256 (changed)"),
        (f"{changed.key}/summary.json", "content differs from the manifest's SHA-256 (changed)"),
        (f"{last.key}/extra.csv", "file not listed in the manifest (added)"),
    }
    assert expected <= problems
    assert any(o == garbled.key and p.startswith("unreadable manifest: JSONDecodeError") for o, p in problems)


def test_verify_checks_every_batch(storage, make_record, capsys):
    """evidence/verify.py ``verify_store``: signatures and hashes go to the pool in batches of 8; with
    11 records a tamper in the first batch and in the last is found, and every file is counted.
    Kills the mutants of the batch hand-off (``futures.append(None)``, the ``pool.submit`` argument
    mutants, ``batch = None``) and ``report.bytes_hashed +=`` -> ``=``."""
    refs = [make_record(dt.date(2026, 10, d), run=f"r{d}") for d in range(1, 12)]
    storage.path(f"{refs[1].key}/summary.json").write_text('{"rows": 99}\n')
    storage.path(f"{refs[10].key}/charts/a.txt").write_bytes(b"CHART")
    report = _verify_json(capsys)
    objects = {p["object"] for p in report["problems"]}
    assert {f"{refs[1].key}/summary.json", f"{refs[10].key}/charts/a.txt"} <= objects
    assert report["records_checked"] == 11 and report["files_checked"] == 22
    assert report["bytes_hashed"] == 11 * (len(b'{"rows": 10}\n') + len(b"chart"))  # the same sizes


def test_verify_names_a_moved_record_and_files_outside_records(storage, make_record, capsys):
    """evidence/verify.py ``verify_store``: a record renamed to another folder and a file lying in no
    record are named with their exact problems (kills the ``report.add`` mutants of both)."""
    ref = make_record()
    moved = ref.key.rsplit("/", 1)[0] + "/validate.try9-000000000000"
    storage.path(ref.key).rename(storage.path(moved))
    storage.path("records/2026-11-19/stray.txt").write_text("x")
    problems = _problems(capsys)
    assert (moved, "record is not at the place its manifest names (moved or renamed)") in problems
    assert ("records/2026-11-19", "files outside any record: ['stray.txt']") in problems


def test_verify_reads_a_record_folder_whose_name_starts_with_x(storage, make_record, capsys):
    """evidence/verify.py ``verify_store``: files in a sub-folder are named relative to their record
    (kills ``lstrip("/")`` -> ``lstrip("XX/XX")``, which ate the ``X`` of ``Xdata/``)."""
    make_record(files={"Xdata/a.txt": b"a", "summary.json": b"{}"})
    assert _verify_json(capsys)["ok"]


def test_a_signed_manifest_without_check_record_id_or_files(storage, make_record, capsys):
    """evidence/verify.py ``verify_store``: a validly signed manifest that lacks ``check``,
    ``record_id`` or ``files`` is judged, not a crash: it is not where such a manifest puts it, and
    its files are not listed (kills the ``predicate.get(..., "")``/``get("files", [])`` default
    mutants)."""
    ref = make_record()

    def strip(statement):
        for name in ("check", "record_id", "files"):
            del statement["predicate"][name]

    _resign(storage, ref.key, strip)
    problems = _problems(capsys)
    assert (ref.key, "record is not at the place its manifest names (moved or renamed)") in problems
    assert (f"{ref.key}/summary.json", "file not listed in the manifest (added)") in problems


def _spec_record(storage, make_record, tmp_path, name: str, run: str):
    """A record naming one spec file (its blob stored by write_record)."""
    from aimsflow.evidence.record import Producer, RunContext, write_record
    from aimsflow.periods import Period
    from aimsflow.results import JobResult, SpecRef, Status, Subject

    path = tmp_path / name
    if not path.exists():
        path.write_text(f"spec {name}\n")
    spec = SpecRef.of_file(path)
    result = JobResult(
        Subject("s", "d", None), Status.passed, "data_quality/validate", ("A.7.4",), specs=[spec]
    )
    now = dt.datetime.now(dt.UTC)
    producer = Producer(kind="task", dag_id="d", run_id=run, task_id="t", try_number=1, max_tries=1)
    ref = write_record(
        storage,
        result,
        RunContext(Period.day(dt.date(2026, 11, 19)), producer, now, now),
        Signer.from_settings(),
    )
    return ref, spec.sha256


def test_verify_checks_every_spec_blob(storage, make_record, tmp_path, capsys):
    """evidence/verify.py ``_verify_spec_blobs``: objects that are not blobs are reported and the
    blobs after them still hashed (kills both ``continue`` -> ``break``); ``spec_blobs_checked``
    counts each blob once (kills ``+= 1`` -> ``= 1``/``-= 1``/``+= 2``); the messages are exact."""
    _, first = _spec_record(storage, make_record, tmp_path, "a.yaml", "r1")
    _, second = _spec_record(storage, make_record, tmp_path, "b.yaml", "r2")
    storage.path("specs/sha256/0-not-a-blob").write_text("x")
    storage.path("specs/other.txt").write_text("x")
    storage.path("specs/zz.txt").write_text("x")
    last = max(first, second)
    storage.path(f"specs/sha256/{last}").write_text("changed")
    report = _verify_json(capsys)
    problems = {(p["object"], p["problem"]) for p in report["problems"]}
    unexpected = "unexpected object among the spec blobs (expected specs/sha256/<64 hex>)"
    assert {
        ("specs/sha256/0-not-a-blob", unexpected),
        ("specs/other.txt", unexpected),
        ("specs/zz.txt", unexpected),
        (f"specs/sha256/{last}", "spec blob content does not hash to its name (changed)"),
    } <= problems
    assert report["spec_blobs_checked"] == 2


def sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def test_a_deleted_spec_blob_names_its_records(storage, make_record, tmp_path, capsys):
    """evidence/verify.py ``_verify_spec_blobs``: a missing blob named by two records says "and 1 other
    reference(s)"; named by one, nothing more; a spec whose SHA-256 is not one says so; a present blob
    before them does not end the check (kills the ``others``/``what`` mutants, the ``None`` object and
    ``continue`` -> ``break``)."""
    ref, sha = _spec_record(storage, make_record, tmp_path, "a.yaml", "r1")
    _spec_record(storage, make_record, tmp_path, "a.yaml", "r2")
    lone, lone_sha = _spec_record(storage, make_record, tmp_path, "b.yaml", "r3")
    storage.path(f"specs/sha256/{sha}").unlink()
    storage.path(f"specs/sha256/{lone_sha}").unlink()

    def bad_sha(statement):
        statement["predicate"]["specs"] = [{"path": "c.yaml", "sha256": "XYZ"}]

    odd, _ = _spec_record(storage, make_record, tmp_path, "c.yaml", "r4")
    _resign(storage, odd.key, bad_sha)
    # A blob that is present and sorts before the missing ones: checking goes on past it (kills
    # ``continue`` -> ``break`` in the loop over the named blobs).
    content = next(f"present {i}\n" for i in range(10_000) if sha256(f"present {i}\n") < min(sha, lone_sha))
    (tmp_path / "p.yaml").write_text(content)
    _spec_record(storage, make_record, tmp_path, "p.yaml", "r5")
    problems = dict(_problems(capsys))
    shared = problems[f"specs/sha256/{sha}"]
    assert shared.startswith("spec blob is missing (deleted): spec a.yaml of records/2026-11-19/")
    assert shared.endswith(" and 1 other reference(s) can no longer be retrieved by its hash")
    assert problems[f"specs/sha256/{lone_sha}"] == (
        f"spec blob is missing (deleted): spec b.yaml of {lone.key} can no longer be retrieved by its hash"
    )
    assert problems["specs/sha256/XYZ"] == (
        f"spec blob is not a SHA-256: spec c.yaml of {odd.key} can no longer be retrieved by its hash"
    )
