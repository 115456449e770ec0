"""``aimsflow evidence prove``, ``aimsflow witness init|update``, ``evidence verify --witness`` and the
stock-Python ``scripts/verify_inclusion.py`` (run with ``python -I``: no aimsflow, no site packages)."""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from aimsflow.cli import main
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.seal import Witness, seal_pending
from tests.conftest import PROJECT, new_key

SCRIPT = PROJECT / "scripts" / "verify_inclusion.py"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def sealed(storage, make_record):
    refs = [make_record(dt.date(2026, 11, d), run=f"r{d}") for d in (18, 19, 20)]
    seal_pending(storage, Signer.from_settings(), Witness())
    refs.append(make_record(dt.date(2026, 11, 21), run="r21"))
    seal_pending(storage, Signer.from_settings(), Witness())
    return storage, refs


def test_prove_prints_an_inclusion_proof_against_the_latest_checkpoint(sealed, capsys):
    storage, refs = sealed
    code, out, _ = run(capsys, "evidence", "prove", refs[1].key, "--json")
    assert code == 0
    proof = json.loads(out)
    assert proof["record"] == refs[1].key and proof["tree_size"] == 4 and proof["seal"] == 2
    assert proof["manifest_sha256"] == storage.sha256(f"{refs[1].key}/manifest.json")
    assert proof["checkpoint"] == storage.get("seals/00000002/checkpoint").decode()
    assert len(proof["inclusion_path"]) == 2  # a leaf of a 4-leaf tree
    code, text, _ = run(capsys, "evidence", "prove", str(storage.path(refs[1].key)) + "/")
    assert code == 0 and f"record:     {refs[1].key}" in text and "audit path:" in text


def test_prove_refuses_a_pending_record(sealed, make_record, capsys):
    storage, _ = sealed
    pending = make_record(dt.date(2026, 11, 22), run="r22")
    code, out, err = run(capsys, "evidence", "prove", pending.key)
    assert code == 1 and out == "" and "in no seal" in err


def _proof_file(capsys, tmp_path, key) -> Path:
    code, out, _ = run(capsys, "evidence", "prove", key, "--json")
    assert code == 0
    path = tmp_path / "proof.json"
    path.write_text(out)
    return path


def _script(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), *map(str, args)], capture_output=True, text=True
    )


def test_stock_python_script_checks_a_good_proof_and_refuses_a_tampered_one(
    sealed, capsys, tmp_path, aims_env
):
    storage, refs = sealed
    proof_path = _proof_file(capsys, tmp_path, refs[0].key)
    manifest = storage.path(f"{refs[0].key}/manifest.json")
    keys_file = aims_env / "keys" / "trusted_keys.json"

    ok = _script(proof_path, manifest, "--trusted-keys", keys_file)
    assert ok.returncode == 0, ok.stderr
    assert (
        ok.stdout.startswith(f"OK: {refs[0].key} is leaf ") and "checkpoint signature verified" in ok.stdout
    )
    assert _script(proof_path, manifest).returncode == 0  # the audit path alone

    proof = json.loads(proof_path.read_text())
    tampered = dict(
        proof,
        inclusion_path=[("%064x" % (int(proof["inclusion_path"][0], 16) ^ 1))] + proof["inclusion_path"][1:],
    )
    proof_path.write_text(json.dumps(tampered))
    bad = _script(proof_path, manifest)
    assert bad.returncode == 1 and "does not lead to the checkpoint's root" in bad.stderr

    proof_path.write_text(json.dumps(dict(proof, leaf_index=proof["leaf_index"] + 1)))
    assert _script(proof_path, manifest).returncode == 1  # another position

    proof_path.write_text(json.dumps(proof))
    other = storage.path(f"{refs[1].key}/manifest.json")
    wrong_manifest = _script(proof_path, other)
    assert wrong_manifest.returncode == 1 and "not the proof's leaf" in wrong_manifest.stderr


def test_stock_python_script_refuses_a_checkpoint_no_listed_key_signed(sealed, capsys, tmp_path):
    storage, refs = sealed
    proof_path = _proof_file(capsys, tmp_path, refs[2].key)
    manifest = storage.path(f"{refs[2].key}/manifest.json")
    _, _, public = new_key("other")
    other_keys = tmp_path / "other.json"
    other_keys.write_text(json.dumps({"keys": [{"key_id": "other", "public_key": public}]}))
    refused = _script(proof_path, manifest, "--trusted-keys", other_keys)
    assert refused.returncode == 1 and "NOT VERIFIED" in refused.stderr
    # the right key, one bit of the checkpoint's signature flipped
    proof = json.loads(proof_path.read_text())
    head, _, line = proof["checkpoint"][:-1].rpartition("\n")
    dash, name, blob = line.split(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[9] ^= 0x40
    proof["checkpoint"] = f"{head}\n{dash} {name} {base64.b64encode(bytes(raw)).decode()}\n"
    proof_path.write_text(json.dumps(proof))
    vkey_keys = storage.root.parent / "keys" / "trusted_keys.json"
    assert _script(proof_path, manifest, "--trusted-keys", vkey_keys).returncode == 1


def test_stock_python_ed25519_matches_the_go_note_vector():
    """The script's pure-Python Ed25519 (RFC 8032) on golang.org/x/mod sumdb/note's published note."""
    spec = importlib.util.spec_from_file_location("verify_inclusion", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = b"If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    public = base64.b64decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")[1:]
    blob = base64.b64decode(
        "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
    )
    assert blob[:4].hex() == "c74f20a3" == module.key_hash("PeterNeumann", public).hex()
    assert module.ed25519_verify(public, text, blob[4:])
    assert not module.ed25519_verify(public, text.replace(b"cryptography", b"cryptographY"), blob[4:])
    flipped = bytearray(blob[4:])
    flipped[0] ^= 1
    assert not module.ed25519_verify(public, text, bytes(flipped))


def test_script_help_says_what_it_leaves_to_full_verify():
    helped = _script("--help")
    assert helped.returncode == 0
    assert "Not checked here" in helped.stdout and "aimsflow evidence verify" in helped.stdout


def test_witness_init_and_update_for_a_second_witness(sealed, make_record, capsys, tmp_path):
    storage, _ = sealed
    second = tmp_path / "second-witness"
    code, out, _ = run(
        capsys, "witness", "init", "--witness", str(second), "--store", str(storage.root), "--json"
    )
    assert code == 0 and json.loads(out)["after"]["sequence"] == 2
    code, _, err = run(capsys, "witness", "init", "--witness", str(second))
    assert code == 1 and "already started" in err
    make_record(dt.date(2026, 11, 22), run="r22")
    seal_pending(storage, Signer.from_settings(), Witness())
    code, out, _ = run(capsys, "witness", "update", "--witness", str(second), "--store", str(storage.root))
    assert code == 0 and out.strip() == "witness is at seal 3, tree size 5; accepted seal(s) 3..3"
    code, out, _ = run(capsys, "evidence", "verify", "--witness", str(second))
    assert code == 0 and out.splitlines()[-1] == "OK: evidence intact"


def test_witness_update_refuses_a_rolled_back_store_and_a_never_started_witness(sealed, capsys, tmp_path):
    storage, _ = sealed
    import shutil

    code, _, err = run(capsys, "witness", "update", "--witness", str(tmp_path / "nothing"))
    assert code == 3 and "never started" in err
    shutil.rmtree(storage.path("seals/00000002"))
    code, out, err = run(capsys, "witness", "update")
    assert code == 1 and out == "" and "truncated or rolled back" in err
    code, out, _ = run(capsys, "evidence", "verify")
    assert code == 1 and "BROKEN seals/00000002" in out


def test_script_imports_the_standard_library_only():
    import ast

    tree = ast.parse(SCRIPT.read_text())
    modules = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert modules - {"__future__"} <= set(sys.stdlib_module_names)
