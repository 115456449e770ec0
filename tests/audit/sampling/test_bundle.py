"""Export bundles, checked as an auditor checks them: unzipped, with the bundle's own verify_bundle.py
run by the stock interpreter in isolated mode (``python -I``, environment scrubbed), on a good bundle
and on bundles tampered with one way each, every verdict checked."""

from __future__ import annotations

import ast
import base64
import contextlib
import datetime as dt
import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from aimsflow.audit import bundle as bundle_module
from aimsflow.audit import verify_bundle
from aimsflow.cli import main
from aimsflow.evidence import merkle
from aimsflow.evidence.checkpoint import note_key_hash
from aimsflow.evidence.dsse import sign_envelope
from aimsflow.evidence.keys import Signer, add_trusted_key
from tests.audit.sampling.conftest import build_store, record_maker
from tests.conftest import PROJECT, new_key, start_witness

#: The stock interpreter (not the venv's), run isolated: no site-packages, no PYTHON* variables.
STOCK_PYTHON = getattr(sys, "_base_executable", None) or sys.executable
CLEAN_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = int(exc.code)
    return code, out.getvalue(), err.getvalue()


@dataclass
class Exported:
    root: Path
    folder: Path  # the unzipped good bundle
    zip_path: Path
    sample: dict
    other_folder: Path  # another sample's bundle of the same store (records this one did not draw)
    keys_file: Path
    seeds: dict[str, str]  # key id -> seed: the test plays the organisation that holds them
    store: object


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Exported:
    """Records signed by ``rec-key``, seals and samples by ``seal-key``; a sample of 6 of the 25 Q3
    records exported and unzipped, and another sample's bundle for its records."""
    root = tmp_path_factory.mktemp("bundle")
    mp = pytest.MonkeyPatch()
    keys_file = root / "keys" / "trusted_keys.json"
    for name, value in {
        "AIMSFLOW_EVIDENCE_ROOT": root / "evidence",
        "AIMSFLOW_WITNESS": root / "witness",
        "AIMSFLOW_DATA_ROOT": root / "data",
        "AIMSFLOW_KEYS_DIR": root / "keys",
        "AIMSFLOW_TRUSTED_KEYS": keys_file,
        "AIMSFLOW_PSEUDONYM_KEY": "test-pseudonym-key-not-secret",
    }.items():
        mp.setenv(name, str(value))
    seeds = {}
    for key_id in ("seal-key", "rec-key"):
        _, seed, public = new_key(key_id)
        seeds[key_id] = seed
        add_trusted_key(keys_file, key_id, public, dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    mp.setenv("AIMSFLOW_SIGNING_KEY", seeds["seal-key"])
    mp.setenv("AIMSFLOW_SIGNING_KEY_ID", "seal-key")
    start_witness(root)
    store = build_store(root, record_maker(root, Signer.from_seed_b64("rec-key", seeds["rec-key"])))
    folders = []
    samples = []
    for seed in ("audit-2026-Q3", "another"):
        code, out, err = _cli(
            "evidence", "sample", "--period", "2026-Q3", "--n", "6", "--seed", seed, "--json"
        )
        assert code == 0, err
        samples.append(json.loads(out))
        zip_path = root / f"{seed}.zip"
        code, out, err = _cli("evidence", "export", "--sample", samples[-1]["record"], "-o", str(zip_path))
        assert code == 0, err
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root / f"unzipped-{seed}")
        (folder,) = (root / f"unzipped-{seed}").iterdir()
        folders.append(folder)
    # the second sample was sealed later: export the first again so its witness is the latest
    zip_path = root / "bundle.zip"
    code, _, err = _cli("evidence", "export", "--sample", samples[0]["record"], "-o", str(zip_path))
    assert code == 0, err
    shutil.rmtree(root / "unzipped-audit-2026-Q3")
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "unzipped")
    (folder,) = (root / "unzipped").iterdir()
    yield Exported(root, folder, zip_path, samples[0], folders[1], keys_file, seeds, store)
    mp.undo()


def verify(folder: Path, *args: str) -> tuple[int, dict, str]:
    """verify_bundle.py of the bundle, run as README.txt says, with --json: (exit code, report, stderr)."""
    done = subprocess.run(
        [STOCK_PYTHON, "-I", "verify_bundle.py", "--json", *args],
        cwd=folder,
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, report, done.stderr


def codes(report: dict) -> dict[str, set[str]]:
    """Record key -> problem codes of every failed record."""
    return {r["record"]: {p["code"] for p in r["problems"]} for r in report["records"] if not r["ok"]}


def bundle_codes(report: dict) -> set[str]:
    return {p["code"] for p in report["bundle_problems"]}


def org_pin() -> tuple[str, str]:
    """Pin the keys as an auditor does, with the organisation's own trusted-keys file."""
    from aimsflow import settings

    return "--trusted-keys", str(settings.trusted_keys_path())


def relist_bundle(folder: Path, key_id: str, seed: str, witness: dict | None = None) -> None:
    """What a forger holding ``key_id`` does after editing files: list them again in bundle.json and
    sign it (at the witness's checkpoint time, as the export does)."""
    doc = json.loads((folder / "bundle.json").read_text())
    files = {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name not in ("bundle.json", "bundle.dsse.json")
    }
    body = bundle_module.bundle_manifest(files, doc["sample"], witness or doc["witness"])
    (folder / "bundle.json").write_bytes(body)
    _resign_as(folder / "bundle.dsse.json", body, key_id, seed, "application/vnd.aimsflow.bundle+json")


def _resign_as(path: Path, body: bytes, key_id: str, seed: str, payload_type: str) -> None:
    path.write_bytes(sign_envelope(body, Signer.from_seed_b64(key_id, seed), payload_type))


@pytest.fixture
def copy(exported, tmp_path) -> Path:
    """A copy of the good bundle to tamper with."""
    return Path(shutil.copytree(exported.folder, tmp_path / exported.folder.name))


def drawn_keys(exported) -> list[str]:
    return [d["record"] for d in exported.sample["drawn"]]


def _resign(path: Path, manifest: bytes, key_id: str, seed: str) -> None:
    path.write_bytes(sign_envelope(manifest, Signer.from_seed_b64(key_id, seed)))


# --- the good bundle -----------------------------------------------------------------------------------
def test_a_good_bundle_verifies_in_a_clean_interpreter(exported):
    code, report, err = verify(exported.folder, "--trusted-keys", str(exported.keys_file))
    assert code == 0, err
    assert report["ok"] and report["verdict"] == "OK"
    assert report["summary"] == {"records": 7, "ok": 7, "failed": 0}
    assert [r["record"] for r in report["records"]][0] == exported.sample["record"]
    assert {r["record"] for r in report["records"][1:]} == set(drawn_keys(exported))
    assert report["sample"]["seed"] == "audit-2026-Q3" and report["sample"]["population"] == 25
    assert report["trust"]["pinned_by"].startswith("--trusted-keys") and report["bundle_problems"] == []
    assert (
        report["checker"]["sha256"] == hashlib.sha256(Path(verify_bundle.__file__).read_bytes()).hexdigest()
    )
    # the text a person reads
    done = subprocess.run(
        [STOCK_PYTHON, "-I", "verify_bundle.py", "--trusted-keys", str(exported.keys_file)],
        cwd=exported.folder,
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0 and lines[-1].startswith("OK: every record verifies (7 records: 7 OK")
    assert "NOT PINNED" not in done.stdout and sum(line.startswith("OK ") for line in lines) == 6
    assert any(line.startswith("SAMPLE OK") for line in lines)
    assert f"checker       verify_bundle.py sha256 {report['checker']['sha256']}" in lines


def test_unpinned_keys_never_give_a_plain_ok(exported):
    """Review finding 7: without --keys-sha256/--trusted-keys the checker judged the bundle by the keys
    inside it and still said "OK" with exit status 0. Now: verdict NOT PINNED, exit status 3, and no
    line says OK."""
    code, report, _ = verify(exported.folder)
    assert code == 3 and report["verdict"] == "NOT PINNED" and not report["ok"] and report["checks_passed"]
    assert report["trust"]["pinned_by"] is None and report["bundle_problems"] == []
    done = subprocess.run(
        [STOCK_PYTHON, "-I", "verify_bundle.py"],
        cwd=exported.folder,
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 3 and not any(line.startswith(("OK", "SAMPLE OK")) for line in lines)
    assert lines[-4].startswith("NOT PINNED: every record verifies, but only against the bundle's own keys")
    assert (
        sum(line.startswith("UNPINNED ") for line in lines) == 6
        and "--keys-sha256 FINGERPRINT" in done.stdout
    )


def test_pinning_the_keys(exported):
    fingerprint = hashlib.sha256((exported.folder / "keys" / "trusted_keys.json").read_bytes()).hexdigest()
    code, report, _ = verify(exported.folder, "--keys-sha256", fingerprint)
    assert code == 0 and report["trust"]["pinned_by"] == f"--keys-sha256 {fingerprint}"
    code, report, _ = verify(exported.folder, "--trusted-keys", str(exported.keys_file))
    assert code == 0 and report["trust"]["pinned_by"].startswith("--trusted-keys")
    code, report, _ = verify(exported.folder, "--keys-sha256", "0" * 64)
    assert code == 1 and bundle_codes(report) == {"foreign-key"} and not codes(report)


def test_verify_bundle_runs_on_stock_python_without_site_packages(exported):
    """-I -S: not even the interpreter's site-packages; and the script imports the stdlib only."""
    fingerprint = hashlib.sha256((exported.folder / "keys" / "trusted_keys.json").read_bytes()).hexdigest()
    done = subprocess.run(
        [STOCK_PYTHON, "-I", "-S", "verify_bundle.py", "--keys-sha256", fingerprint],
        cwd=exported.folder,
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    tree = ast.parse((exported.folder / "verify_bundle.py").read_text())
    modules = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert modules - {"__future__"} <= set(sys.stdlib_module_names)
    assert (exported.folder / "verify_bundle.py").read_bytes() == Path(verify_bundle.__file__).read_bytes()
    # the copy auditors can take from the repository is the same checker
    assert (PROJECT / "scripts" / "verify_bundle.py").read_bytes() == Path(
        verify_bundle.__file__
    ).read_bytes(), "stale: run `python -m aimsflow.audit.bundle --sync-scripts`"


def test_unreadable_trusted_keys_are_a_usage_error(exported, tmp_path):
    (tmp_path / "keys.json").write_text('{"keys": [{"key_id": "k"}]}')
    code, report, err = verify(exported.folder, "--trusted-keys", str(tmp_path / "keys.json"))
    assert (
        code == 2
        and report == {}
        and f"--trusted-keys {tmp_path / 'keys.json'}: not a trusted-keys file" in err
    )


def test_not_a_bundle_is_a_usage_error(tmp_path):
    shutil.copy(verify_bundle.__file__, tmp_path / "verify_bundle.py")
    code, report, err = verify(tmp_path)
    assert code == 2 and report == {} and "cannot verify" in err and "trusted_keys.json" in err


# --- tampered bundles: one verdict each ------------------------------------------------------------
def test_a_changed_file_fails_that_record_only(exported, copy):
    key = drawn_keys(exported)[0]
    (copy / key / "summary.json").write_text('{"rows": 3}\n')
    code, report, _ = verify(copy)
    assert code == 1 and codes(report) == {key: {"file-changed"}} and bundle_codes(report) == {"bundle-file"}
    assert report["summary"] == {"records": 7, "ok": 6, "failed": 1}


def test_an_added_or_removed_file_fails_that_record(exported, copy):
    first, second = drawn_keys(exported)[:2]
    (copy / first / "extra.txt").write_text("added\n")
    (copy / second / "detail" / "notes.txt").unlink()
    code, report, _ = verify(copy)
    assert code == 1 and codes(report) == {first: {"file-unlisted"}, second: {"file-missing"}}


def test_a_changed_manifest_fails_its_signature_its_proof_and_the_sample(exported, copy):
    key = drawn_keys(exported)[1]
    path = copy / key / "manifest.json"
    text = path.read_text()
    status = json.loads(text)["predicate"]["status"]
    path.write_text(
        text.replace(
            f'"status": "{status}"', '"status": "passed"' if status != "passed" else '"status": "failed"'
        )
    )
    code, report, _ = verify(copy)
    assert code == 1
    assert codes(report) == {key: {"signature", "proof-invalid", "not-in-sample"}}
    assert {m["message"] for r in report["records"] for m in r["problems"] if m["code"] == "signature"} == {
        "manifest signature: signed payload differs from the stored file (edited after signing)"
    }
    assert bundle_codes(report) == {"index", "bundle-file"}  # index.json no longer says what it says


def test_a_removed_proof(exported, copy):
    key = drawn_keys(exported)[2]
    (copy / "proofs" / f"{key}.json").unlink()
    code, report, _ = verify(copy)
    assert code == 1 and codes(report) == {key: {"proof-missing"}}


@pytest.mark.parametrize("how", ["path", "index", "size", "checkpoint_seal"])
def test_an_altered_proof(exported, copy, how):
    key = drawn_keys(exported)[3]
    path = copy / "proofs" / f"{key}.json"
    proof = json.loads(path.read_text())
    expected = {"proof-invalid"}
    if how == "path":
        proof["inclusion_path"][0] = f"{int(proof['inclusion_path'][0], 16) ^ 1:064x}"
    elif how == "index":
        proof["leaf_index"] += 1  # another place: the seal does not list the record there
    elif how == "size":
        proof["tree_size"] -= 1  # no checkpoint of that size
    else:
        proof["checkpoint_seal"] = 99
        expected = {"seal"}  # no such seal in the bundle
    path.write_text(json.dumps(proof))
    code, report, _ = verify(copy)
    assert code == 1 and codes(report) == {key: expected}


def test_a_record_re_signed_by_a_key_not_in_the_bundle(exported, copy):
    key = drawn_keys(exported)[0]
    _, seed, _ = new_key("intruder")
    _resign(copy / key / "manifest.dsse.json", (copy / key / "manifest.json").read_bytes(), "intruder", seed)
    code, report, _ = verify(copy)
    assert code == 1 and codes(report) == {key: {"signature"}}
    (message,) = [p["message"] for r in report["records"] for p in r["problems"]]
    assert message == "manifest signature: signed by key 'intruder', which is not a trusted key"


def test_a_key_added_to_the_bundle_but_not_in_the_trusted_set(exported, copy):
    """The intruder adds its key to the bundle's keys and signs an edited manifest with it. The edit
    still breaks the log (the leaf changed) even unpinned; pinned, the added key itself is reported."""
    key = drawn_keys(exported)[0]
    _, seed, public = new_key("intruder")
    keys_path = copy / "keys" / "trusted_keys.json"
    doc = json.loads(keys_path.read_text())
    doc["keys"].append(
        {"key_id": "intruder", "public_key": public, "valid_from": "2020-01-01T00:00:00+00:00"}
    )
    keys_path.write_text(json.dumps(doc))
    manifest = (copy / key / "manifest.json").read_bytes().replace(b'"tester"', b'"someone else"')
    (copy / key / "manifest.json").write_bytes(manifest)
    _resign(copy / key / "manifest.dsse.json", manifest, "intruder", seed)

    code, report, _ = verify(copy)  # unpinned: the bundle says the intruder is trusted, the log does not
    assert code == 1 and codes(report) == {key: {"proof-invalid", "not-in-sample"}}
    code, report, _ = verify(copy, "--trusted-keys", str(exported.keys_file))
    assert code == 1 and codes(report)[key] == {"signature", "proof-invalid", "not-in-sample"}
    assert [p["message"] for p in report["bundle_problems"] if p["code"] == "foreign-key"] == [
        "keys/trusted_keys.json lists key 'intruder' which is not in your trusted keys"
    ]
    original = hashlib.sha256((exported.folder / "keys" / "trusted_keys.json").read_bytes()).hexdigest()
    code, report, _ = verify(copy, "--keys-sha256", original)
    assert code == 1 and "foreign-key" in bundle_codes(report)


def test_an_added_key_that_only_re_signs_is_caught_by_a_pin(exported, copy):
    """The same manifest, re-signed by an added key, and bundle.json re-listed and re-signed by it:
    unpinned, nothing changed that the log covers, and the checker says so (NOT PINNED, exit 3, not
    OK); pinned, the added key is reported and the signatures fail."""
    key = drawn_keys(exported)[0]
    _, seed, public = new_key("intruder")
    keys_path = copy / "keys" / "trusted_keys.json"
    doc = json.loads(keys_path.read_text())
    doc["keys"].append(
        {"key_id": "intruder", "public_key": public, "valid_from": "2020-01-01T00:00:00+00:00"}
    )
    keys_path.write_text(json.dumps(doc))
    _resign(copy / key / "manifest.dsse.json", (copy / key / "manifest.json").read_bytes(), "intruder", seed)
    code, report, _ = verify(copy)  # bundle.json still lists the original keys and envelope
    assert code == 1 and not codes(report) and bundle_codes(report) == {"bundle-file"}
    relist_bundle(copy, "intruder", seed)
    code, report, _ = verify(copy)
    assert code == 3 and report["verdict"] == "NOT PINNED" and report["trust"]["pinned_by"] is None
    code, report, _ = verify(copy, "--trusted-keys", str(exported.keys_file))
    assert code == 1 and codes(report) == {key: {"signature"}}
    assert bundle_codes(report) == {"foreign-key", "bundle-manifest"}


def test_a_key_not_valid_at_the_checkpoint_time(exported, copy):
    """rec-key signed the drawn records; a keys file that retires it before their seals (a key known to
    be compromised since then) fails each of them, not the sample (seal-key signed it)."""
    keys_path = copy / "keys" / "trusted_keys.json"
    doc = json.loads(keys_path.read_text())
    for entry in doc["keys"]:
        if entry["key_id"] == "rec-key":
            entry["valid_until"] = "2021-01-01T00:00:00+00:00"
    keys_path.write_text(json.dumps(doc))
    code, report, _ = verify(copy)
    assert code == 1 and codes(report) == {key: {"signature"} for key in drawn_keys(exported)}
    message = next(p["message"] for r in report["records"] for p in r["problems"])
    assert (
        "key 'rec-key' was not valid at" in message
        and "(valid 2020-01-01T00:00:00+00:00 .. 2021-01-01" in message
    )


def test_a_record_from_outside_the_sample(exported, copy):
    other = next(
        k
        for k in json.loads((exported.other_folder / "index.json").read_text())["records"]
        if k["record"] not in drawn_keys(exported)
    )
    key = other["record"]
    shutil.copytree(exported.other_folder / key, copy / key)
    (copy / "proofs" / f"{key}.json").parent.mkdir(parents=True, exist_ok=True)
    (copy / "proofs" / f"{key}.json").write_bytes(
        (exported.other_folder / "proofs" / f"{key}.json").read_bytes()
    )
    code, report, _ = verify(copy)
    assert code == 1 and codes(report) == {key: {"not-in-sample"}}  # otherwise a perfectly valid record


def test_a_drawn_record_missing_from_the_bundle(exported, copy):
    key = drawn_keys(exported)[4]
    shutil.rmtree(copy / key)
    code, report, _ = verify(copy)
    assert code == 1 and codes(report) == {key: {"missing"}}
    assert bundle_codes(report) == {"index", "bundle-file"}


def test_a_checkpoint_not_matching_the_witness(exported, copy):
    """witness.json holds another tree than the bundle's seals: every record fails on the witness."""
    path = copy / "witness" / "witness.json"
    doc = json.loads(path.read_text())
    doc["root_hash"] = f"{int(doc['root_hash'], 16) ^ 1:064x}"
    path.write_text(json.dumps(doc))
    code, report, _ = verify(copy)
    assert code == 1 and bundle_codes(report) == {"witness", "bundle-manifest", "bundle-file"}
    assert all(c == {"witness"} for c in codes(report).values()) and len(codes(report)) == 7


def test_a_forked_log_re_signed_is_not_consistent_with_the_witness(exported, copy):
    """The exporter rewrites the witness's seal with another tree and re-signs seal and checkpoint with
    the log's key: the signatures verify, the proofs from the records' checkpoints do not lead there."""
    from aimsflow.evidence.checkpoint import Checkpoint, sign_note

    witness = json.loads((copy / "witness" / "witness.json").read_text())
    seq = witness["sequence"]
    folder = copy / "seals" / f"{seq:08d}"
    body = json.loads((folder / "seal.json").read_text())
    fork_root = hashlib.sha256(b"another history").digest()
    text = Checkpoint(witness["origin"], body["tree_size"], fork_root).text()
    signer = Signer.from_seed_b64("seal-key", exported.seeds["seal-key"])
    note = sign_note(text, witness["origin"], signer)
    body.update(root_hash=fork_root.hex(), checkpoint=text)
    body_bytes = (json.dumps(body, indent=1) + "\n").encode()
    (folder / "seal.json").write_bytes(body_bytes)
    (folder / "seal.dsse.json").write_bytes(
        sign_envelope(body_bytes, signer, "application/vnd.aimsflow.seal+json")
    )
    (folder / "checkpoint").write_text(note)
    (copy / "witness" / "witness.json").write_text(
        json.dumps(dict(witness, root_hash=fork_root.hex(), checkpoint=note))
    )
    forged = {"seal": seq, "tree_size": body["tree_size"], "root_hash": fork_root.hex()}
    relist_bundle(copy, "seal-key", exported.seeds["seal-key"], forged)  # the exporter holds the key
    code, report, _ = verify(copy, "--trusted-keys", str(exported.keys_file))
    assert code == 1 and len(codes(report)) == 7 and not report["bundle_problems"]
    for key, found in codes(report).items():
        proof = json.loads((copy / "proofs" / f"{key}.json").read_text())
        # checkpointed by the rewritten seal: the inclusion proof fails; by an earlier one: the witness
        assert found == ({"proof-invalid"} if proof["checkpoint_seal"] == seq else {"witness"}), key
    assert any(
        json.loads((copy / "proofs" / f"{k}.json").read_text())["checkpoint_seal"] != seq
        for k in codes(report)
    )


def test_a_tampered_sample_record(exported, copy):
    """population.tsv with one line dropped: the sample record's file and its draw both fail."""
    sample_key = exported.sample["record"]
    path = copy / "sample" / sample_key / "population.tsv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))
    code, report, _ = verify(copy)
    assert code == 1 and codes(report) == {sample_key: {"file-changed", "sample"}}


def test_a_sample_whose_drawn_list_was_edited_and_re_signed_by_an_added_key(exported, copy):
    """Swapping a drawn record for another in a re-signed sample manifest breaks its draw and its leaf."""
    sample_key = exported.sample["record"]
    folder = copy / "sample" / sample_key
    statement = json.loads((folder / "manifest.json").read_text())
    statement["predicate"]["summary"]["drawn"].pop()
    manifest = (json.dumps(statement, indent=2) + "\n").encode()
    (folder / "manifest.json").write_bytes(manifest)
    _resign(folder / "manifest.dsse.json", manifest, "seal-key", exported.seeds["seal-key"])
    code, report, _ = verify(copy)
    assert code == 1 and {"sample", "proof-invalid"} <= codes(report)[sample_key]


def test_an_edited_index_is_reported(exported, copy):
    path = copy / "index.json"
    index = json.loads(path.read_text())
    index["records"][0]["inputs"][0]["sha256"] = "0" * 64
    path.write_text(json.dumps(index))
    code, report, _ = verify(copy)
    assert code == 1 and not codes(report) and bundle_codes(report) == {"index", "bundle-file"}
    assert "inputs" in report["bundle_problems"][0]["message"]
    assert report["bundle_problems"][1]["message"] == "index.json differs from the SHA-256 bundle.json lists"


# --- the export command ----------------------------------------------------------------------------------
def test_export_is_deterministic_and_says_how_to_verify(exported, capsys, tmp_path):
    again = tmp_path / "again.zip"
    code, out, err = _cli(
        "evidence", "export", "--sample", exported.sample["record"], "-o", str(again), "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert (
        doc["sha256"]
        == hashlib.sha256(exported.zip_path.read_bytes()).hexdigest()
        == hashlib.sha256(again.read_bytes()).hexdigest()
    )
    assert doc["records"] == 6 and doc["self_check"] == {"verified": True, "records": 7, "failed": 0}
    checker = hashlib.sha256(Path(verify_bundle.__file__).read_bytes()).hexdigest()
    assert doc["checker_sha256"] == checker
    # review finding 7: the bundle must not hand the auditor its own fingerprint as a ready command
    readme = (exported.folder / "README.txt").read_text()
    index_html = (exported.folder / "index.html").read_text()
    assert doc["trusted_keys_sha256"] not in readme and doc["trusted_keys_sha256"] not in index_html
    assert "--keys-sha256 FINGERPRINT_YOU_WERE_GIVEN" in readme and "another channel" in readme
    code, out, _ = _cli(
        "evidence",
        "export",
        "--sample",
        str(exported.store.storage.path(exported.sample["record"]) / "manifest.json"),
        "-o",
        str(again),
    )
    assert code == 0 and "python3 -I verify_bundle.py --keys-sha256" in out  # the organisation's side
    assert f"checker      verify_bundle.py sha256 {checker}" in out


def test_the_bundle_holds_public_keys_only(exported):
    keys = json.loads((exported.folder / "keys" / "trusted_keys.json").read_text())
    assert {tuple(sorted(k)) for k in keys["keys"]} == {("key_id", "public_key", "valid_from", "valid_until")}
    secrets = [s.encode() for s in exported.seeds.values()] + [
        base64.b64decode(s) for s in exported.seeds.values()
    ]
    for path in exported.folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(secret in data for secret in secrets), path


def test_export_refuses_what_it_cannot_prove(exported, tmp_path):
    out = tmp_path / "b.zip"
    code, _, err = _cli("evidence", "export", "--sample", drawn_keys(exported)[0], "-o", str(out))
    assert code == 2 and "not a sample" in err
    code, _, err = _cli(
        "evidence", "export", "--sample", "records/2026-Q3/evidence_sample/sample/nothing", "-o", str(out)
    )
    assert code == 2 and "no record" in err
    code, sampled, _ = _cli(
        "evidence", "sample", "--period", "2026-Q3", "--n", "2", "--seed", "late", "--no-seal", "--json"
    )
    code, _, err = _cli("evidence", "export", "--sample", json.loads(sampled)["record"], "-o", str(out))
    assert code == 1 and "pending" in err and not out.exists()
    code, _, err = _cli(
        "evidence",
        "export",
        "--sample",
        exported.sample["record"],
        "-o",
        str(out),
        "--witness",
        str(tmp_path / "none"),
    )
    assert code == 1 and "no witness" in err and not out.exists()


def test_export_refuses_a_drawn_record_edited_in_the_store(aims_env, store, tmp_path):
    code, out, _ = _cli("evidence", "sample", "--period", "2026-Q3", "--n", "3", "--seed", "s", "--json")
    sample = json.loads(out)
    edited = sample["drawn"][0]["record"]
    path = store.storage.path(f"{edited}/manifest.json")
    path.write_text(path.read_text().replace('"tester"', '"nobody"'))
    code, _, err = _cli("evidence", "export", "--sample", sample["record"], "-o", str(tmp_path / "b.zip"))
    assert code == 1 and f"drawn record {edited} cannot be packed" in err
    assert not (tmp_path / "b.zip").exists()


def test_a_bundle_of_25_records(aims_env, store, tmp_path):
    """The size figure of the docs: a 25-record sample (every Q3 record of the test store)."""
    code, out, _ = _cli("evidence", "sample", "--period", "2026-Q3", "--n", "25", "--seed", "s", "--json")
    code, out, err = _cli(
        "evidence", "export", "--sample", json.loads(out)["record"], "-o", str(tmp_path / "b.zip"), "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["records"] == 25 and doc["self_check"]["verified"]
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        archive.extractall(tmp_path / "x")
    (folder,) = (tmp_path / "x").iterdir()
    code, report, _ = verify(folder, *org_pin())
    assert code == 0 and report["summary"]["ok"] == 26


# --- traceability (point 4) ---------------------------------------------------------------------------
def test_the_bundle_answers_traceability_without_our_tools(exported):
    index = json.loads((exported.folder / "index.json").read_text())
    assert index["format"] == "aimsflow-bundle-index/1" and len(index["records"]) == 6
    for trace in index["records"]:
        manifest = json.loads((exported.folder / trace["record"] / "manifest.json").read_text())["predicate"]
        assert [c["id"] for c in trace["controls"]] == manifest["controls"] and all(
            c["title"] for c in trace["controls"]
        )
        assert trace["run"]["dag_id"] == manifest["producer"]["dag_id"] and trace["run"]["run_id"].startswith(
            "scheduled__"
        )
        assert (
            trace["run"]["started_at"] == manifest["started_at"] and trace["run"]["triggered_by"] == "tester"
        )
        assert [(i["uri"], i["sha256"]) for i in trace["inputs"]] == [
            (i["uri"], i["sha256"]) for i in manifest["inputs"]
        ]
        assert trace["specs"][0]["sha256"] == manifest["specs"][0]["sha256"]
        blob = exported.folder / trace["specs"][0]["file"]
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == trace["specs"][0]["sha256"]
        assert trace["code"]["git_commit"] == manifest["code"]["git_commit"]
        assert trace["lineage"]["run_id"] == manifest["openlineage"]["run_id"]
        page = (exported.folder / trace["page"]).read_text()
        for fact in (
            trace["record"],
            trace["lineage"]["run_id"],
            trace["inputs"][0]["sha256"],
            trace["specs"][0]["sha256"],
        ):
            assert fact in page, (trace["page"], fact)


def test_the_nonconformity_a_record_opened_is_in_the_bundle(aims_env, store, tmp_path):
    """Every failed `scores` record is an occurrence of one nonconformity; the first opened it."""
    code, out, _ = _cli(
        "evidence",
        "sample",
        "--period",
        "2026-Q3",
        "--n",
        "1",
        "--seed",
        "s",
        "--status",
        "failed",
        "--per-control",
        "5",
        "--json",
    )
    assert code == 0
    code, out, err = _cli(
        "evidence", "export", "--sample", json.loads(out)["record"], "-o", str(tmp_path / "b.zip")
    )
    assert code == 0, err
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        index = json.loads(next(archive.read(n) for n in archive.namelist() if n.endswith("/index.json")))
        html = next(archive.read(n) for n in archive.namelist() if n.endswith("/index.html")).decode()
    by_period = sorted(index["records"], key=lambda t: t["period"]["start"])
    assert len(by_period) == 5
    (nc_id,) = {nc["id"] for t in by_period for nc in t["nonconformities"]}
    assert [nc["role"] for nc in by_period[0]["nonconformities"]] == ["opened"]
    assert all([nc["role"] for nc in t["nonconformities"]] == ["occurrence"] for t in by_period[1:])
    assert by_period[0]["nonconformities"][0]["status"] == "open"
    assert nc_id in html and "this record opened it" in html


def test_every_page_of_the_index_exists_and_links_back(exported):
    index = json.loads((exported.folder / "index.json").read_text())
    html = (exported.folder / "index.html").read_text()
    for trace in [index["sample_record"], *index["records"]]:
        assert (exported.folder / trace["page"]).is_file() and f'href="{trace["page"]}"' in html
        page = (exported.folder / trace["page"]).read_text()
        assert 'href="../index.html"' in page and "http://" not in page and "https://" not in page
        for f in trace["files"]:
            assert (exported.folder / trace["stored_at"] / f["path"]).is_file()


def test_a_record_page_is_the_evidence_show_page_and_every_link_resolves_in_the_bundle(exported):
    """One readable page per record: the bundle's pages are ``evidence show --html``'s page of the
    record (with the bundle's links), and every link on them leads to a file of the bundle."""
    import re
    from html import unescape

    from aimsflow.audit.html import BundleLinks, render_record_page
    from aimsflow.audit.show import describe_record, read_store
    from aimsflow.evidence.keys import TrustedKeys

    index = json.loads((exported.folder / "index.json").read_text())
    traces = [index["sample_record"], *index["records"]]
    pages = {t["record"]: t["page"] for t in traces}
    for trace in traces:
        path = exported.folder / trace["page"]
        page = path.read_text()
        hrefs = {unescape(h) for h in re.findall(r'href="([^"]+)"', page)}
        assert "../index.html" in hrefs and f"../proofs/{trace['record']}.json" in hrefs
        assert f"../{trace['stored_at']}/manifest.json" in hrefs
        assert {f"../{trace['stored_at']}/{f['path']}" for f in trace["files"]} <= hrefs
        assert {f"../{s['file']}" for s in trace["specs"] if s["file"]} <= hrefs
        for href in hrefs:
            assert (path.parent / href).resolve().is_file(), (trace["page"], href)
        # the same view as `evidence show`, rendered by the same template
        assert "aimsflow evidence record" in page and "The run" in page and "Seal and signature" in page
        for fact in (trace["record"], trace["manifest_sha256"], *(c["id"] for c in trace["controls"])):
            assert fact in unescape(page.replace("<wbr>", "")), fact
    # Rendered from the store, the page is byte for byte the one packed (no second template).
    storage = exported.store.storage
    snapshot = read_store(storage, TrustedKeys.load())
    trace = index["records"][0]
    view = describe_record(storage, trace["record"], snapshot.keys, snapshot=snapshot)
    links = BundleLinks(
        "../index.html",
        f"../{trace['stored_at']}",
        f"../proofs/{trace['record']}.json",
        trace["sealed"]["checkpoint_seal"],
        frozenset(s["sha256"] for s in trace["specs"] if s["file"]),
        "../specs/sha256",
    )
    href = {k: p.removeprefix("pages/") for k, p in pages.items()}.get
    expected = render_record_page(view, record_href=href, bundle=links)
    assert (exported.folder / trace["page"]).read_text() == expected


# --- one source for the stdlib code ---------------------------------------------------------------------
def test_scripts_verify_inclusion_carries_the_same_stdlib_block():
    script = (PROJECT / "scripts" / "verify_inclusion.py").read_text()
    source = Path(verify_bundle.__file__).read_text()
    assert bundle_module.shared_block(script) == bundle_module.shared_block(source), (
        "stale: run `python -m aimsflow.audit.bundle --sync-scripts`"
    )


def test_sync_scripts_repairs_a_drifted_copy(tmp_path):
    (tmp_path / "scripts").mkdir()
    script = (PROJECT / "scripts" / "verify_inclusion.py").read_text()
    block = bundle_module.shared_block(script)
    (tmp_path / "scripts" / "verify_inclusion.py").write_text(
        script.replace(block, block.replace("P = 2**255 - 19", "P = 2**255 - 17"))
    )
    assert bundle_module.sync_scripts(tmp_path)
    assert (tmp_path / "scripts" / "verify_inclusion.py").read_text() == script
    assert not bundle_module.sync_scripts(tmp_path)


def test_stdlib_proofs_agree_with_the_log_code():
    """verify_bundle's RFC 9162 checks accept every proof merkle.py gives for trees up to 33 leaves,
    and refuse each with one bit flipped."""
    hashes = [merkle.leaf_hash(bytes([i])) for i in range(33)]
    for n in range(1, 34):
        root = merkle.tree_hash(hashes[:n])
        for i in range(n):
            path = merkle.inclusion_proof(hashes, i, n)
            assert verify_bundle.root_from_inclusion(i, n, hashes[i], path) == root
            if path:
                bad = [bytes([path[0][0] ^ 1]) + path[0][1:], *path[1:]]
                assert verify_bundle.root_from_inclusion(i, n, hashes[i], bad) != root
        for m in range(0, n + 1):
            proof = merkle.consistency_proof(hashes, m, n)
            old = merkle.tree_hash(hashes[:m])
            verify_bundle.verify_consistency(m, n, old, root, proof)
            if proof:
                with pytest.raises(ValueError):
                    verify_bundle.verify_consistency(
                        m, n, old, root, [*proof[:-1], bytes([proof[-1][0] ^ 1]) + proof[-1][1:]]
                    )


def test_stdlib_note_key_hash_matches_the_log_code():
    public = base64.b64decode(new_key("k")[2])
    assert verify_bundle.key_hash("aimsflow.local/evidence", public) == note_key_hash(
        "aimsflow.local/evidence", public
    )


def test_the_documented_hand_re_draw_gives_the_sample(exported):
    """docs/auditing.md's Python re-draw, run on the bundle's population.tsv."""
    text = (PROJECT / "docs" / "auditing.md").read_text()
    snippet = text.split("Re-drawing in Python")[1].split("```python\n", 1)[1].split("```", 1)[0]
    documented = 'seed, n = "Q3 audit, ref 4711", 25'
    assert documented in snippet
    snippet = snippet.replace(documented, f"seed, n = {exported.sample['seed']!r}, {exported.sample['n']}")
    done = subprocess.run(
        [STOCK_PYTHON, "-I", "-c", snippet],
        cwd=exported.folder / "sample" / exported.sample["record"],
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    assert ast.literal_eval(done.stdout.strip()) == drawn_keys(exported)


@pytest.mark.parametrize(
    ("where", "content"),
    [
        ("proof", "[1, 2]"),
        ("proof", '{"format": "aimsflow-bundle-proof/1", "record": "x"}'),
        ("proof", "not json"),
        ("manifest", '{"predicate": {"files": [1]}}'),
        (
            "manifest",
            '{"predicate": {"files": [], "check": "a", "period": {"label": "x"}, "record_id": "y", "ended_at": "nope"}}',
        ),
        ("envelope", '{"payloadType": 3}'),
        ("seal", '{"sequence": "one", "leaves": 7}'),
        ("witness", '{"sequence": 2, "checkpoint": 5}'),
        ("index", "[]"),
        ("sample", '{"predicate": {"check": "evidence_sample/sample", "summary": {"drawn": [3]}}}'),
    ],
)
def test_malformed_files_give_verdicts_never_a_traceback(exported, copy, where, content):
    key = drawn_keys(exported)[0]
    target = {
        "proof": copy / "proofs" / f"{key}.json",
        "manifest": copy / key / "manifest.json",
        "envelope": copy / key / "manifest.dsse.json",
        "seal": copy
        / "seals"
        / f"{json.loads((copy / 'proofs' / f'{key}.json').read_text())['sealed_in']:08d}"
        / "seal.json",
        "witness": copy / "witness" / "witness.json",
        "index": copy / "index.json",
        "sample": copy / "sample" / exported.sample["record"] / "manifest.json",
    }[where]
    target.write_text(content)
    code, report, err = verify(copy)
    assert code == 1 and "Traceback" not in err, err
    assert not report["ok"] and (codes(report) or report["bundle_problems"])


def test_an_empty_sample_exports_and_verifies(aims_env, store, tmp_path):
    """A filter that matches nothing still gives an auditable (empty) sample and bundle."""
    code, out, _ = _cli(
        "evidence",
        "sample",
        "--period",
        "2026-Q3",
        "--n",
        "5",
        "--seed",
        "s",
        "--ai-system",
        "none",
        "--json",
    )
    assert code == 0 and json.loads(out)["drawn"] == [] and json.loads(out)["population"]["size"] == 0
    code, _, err = _cli(
        "evidence", "export", "--sample", json.loads(out)["record"], "-o", str(tmp_path / "b.zip")
    )
    assert code == 0, err
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        archive.extractall(tmp_path / "x")
    (folder,) = (tmp_path / "x").iterdir()
    code, report, _ = verify(folder, *org_pin())
    assert code == 0 and report["summary"] == {"records": 1, "ok": 1, "failed": 0}


def test_export_refuses_records_sealed_after_the_witness_checkpoint(aims_env, store, tmp_path):
    """An independent witness that has not seen the sample's seal yet cannot vouch for it."""
    second = tmp_path / "second-witness"
    code, _, err = _cli("witness", "init", "--witness", str(second))
    assert code == 0, err
    code, out, _ = _cli("evidence", "sample", "--period", "2026-Q3", "--n", "2", "--seed", "s", "--json")
    key = json.loads(out)["record"]
    code, _, err = _cli(
        "evidence", "export", "--sample", key, "-o", str(tmp_path / "b.zip"), "--witness", str(second)
    )
    assert code == 1 and "after the witness's checkpoint" in err and "aimsflow witness update" in err
    assert _cli("witness", "update", "--witness", str(second))[0] == 0
    code, out, err = _cli(
        "evidence",
        "export",
        "--sample",
        key,
        "-o",
        str(tmp_path / "b.zip"),
        "--witness",
        str(second),
        "--json",
    )
    assert code == 0 and json.loads(out)["witness"]["seal"] == 3


def test_records_of_format_1_seals_are_proved_through_the_next_checkpoint(aims_env, make, tmp_path):
    """A store that began before the log had checkpoints: a record of a format-1 seal is judged at
    that seal's time and proved against the first format-2 checkpoint after it."""
    from aimsflow.evidence.seal import Witness, seal_pending
    from aimsflow.evidence.storage import LocalStorage
    from tests.evidence.test_seal_log import write_format_1_seal

    storage = LocalStorage(aims_env / "evidence")
    signer = Signer.from_settings()
    old = [make(dt.date(2026, 7, d)) for d in (1, 2)]
    write_format_1_seal(storage, signer, dt.datetime.now(dt.UTC))
    new = make(dt.date(2026, 7, 3))
    seal_pending(storage, signer, Witness(), now=dt.datetime.now(dt.UTC))
    code, out, err = _cli("evidence", "sample", "--period", "2026-Q3", "--n", "10", "--seed", "s", "--json")
    assert code == 0, err
    code, _, err = _cli(
        "evidence", "export", "--sample", json.loads(out)["record"], "-o", str(tmp_path / "b.zip")
    )
    assert code == 0, err
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        archive.extractall(tmp_path / "x")
    (folder,) = (tmp_path / "x").iterdir()
    code, report, err = verify(folder, *org_pin())
    assert code == 0 and report["summary"]["ok"] == 4, err
    proofs = {r.key: json.loads((folder / "proofs" / f"{r.key}.json").read_text()) for r in [*old, new]}
    assert {(p["sealed_in"], p["checkpoint_seal"]) for k, p in proofs.items() if k != new.key} == {(1, 2)}
    assert (proofs[new.key]["sealed_in"], proofs[new.key]["checkpoint_seal"]) == (2, 2)
    seal_1 = json.loads((folder / "seals" / "00000001" / "seal.json").read_text())
    assert (
        seal_1["format"] == "aimsflow-seal/1" and not (folder / "seals" / "00000001" / "checkpoint").exists()
    )


def test_export_signs_the_file_list_with_a_key_the_auditor_can_check(aims_env, store, tmp_path, monkeypatch):
    """bundle.json is signed with the configured signing key: none, exit 3; a key the trusted keys do
    not hold (or not valid at the witness's checkpoint), exit 1; nothing written either way."""
    code, out, _ = _cli("evidence", "sample", "--period", "2026-Q3", "--n", "2", "--seed", "s", "--json")
    key = json.loads(out)["record"]
    out_zip = tmp_path / "b.zip"
    _, seed, _ = new_key("stranger")
    monkeypatch.setenv("AIMSFLOW_SIGNING_KEY", seed)
    monkeypatch.setenv("AIMSFLOW_SIGNING_KEY_ID", "stranger")
    code, _, err = _cli("evidence", "export", "--sample", key, "-o", str(out_zip))
    assert code == 1 and not out_zip.exists()
    assert (
        "the signing key cannot sign bundle.json so that the auditor can check it (signed by unknown key"
        in err
    )
    monkeypatch.delenv("AIMSFLOW_SIGNING_KEY")
    monkeypatch.setenv("AIMSFLOW_SIGNING_CONN_ID", "no_such_connection")
    code, _, err = _cli("evidence", "export", "--sample", key, "-o", str(out_zip))
    assert code == 3 and not out_zip.exists() and "the bundle's file list is signed" in err
