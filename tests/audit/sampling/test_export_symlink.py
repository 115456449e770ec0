"""Review finding 3: ``aimsflow evidence export`` packed ``specs/sha256/<hex>`` from the store unchecked.

An insider with write access to the store (not to the signing key) replaces a spec blob a drawn
record names, by other content or by a symbolic link to any file the exporting user can read (e.g.
the signing key file). The export packed it (it followed the link), the self-check and
verify_bundle.py passed, and the auditor got a "spec the record ran against" that is not the one
its SHA-256 names -- or the target of the link. Now the export refuses (exit 1, nothing written,
the reason named)."""

from __future__ import annotations

import json
import os

from tests.audit.sampling.conftest import run


def _sample(capsys) -> dict:
    code, out, err = run(
        capsys, "evidence", "sample", "--period", "2026-Q3", "--n", "25", "--seed", "s", "--json"
    )
    assert code == 0, err
    return json.loads(out)


def test_export_packs_only_spec_blobs_that_hash_to_their_name(store, capsys, tmp_path):
    """Bug: a spec blob replaced by a symbolic link to a secret was followed and the secret packed."""
    secret = tmp_path / "outside-the-store.key"
    secret.write_bytes(b"TOP-SECRET-SIGNING-SEED\n")
    sample = _sample(capsys)
    blobs = sorted((store.storage.root / "specs" / "sha256").iterdir())
    assert blobs, "the store holds no spec blobs"
    for blob in blobs:
        blob.unlink()
        os.symlink(secret, blob)
    bundle = tmp_path / "bundle.zip"
    code, _, err = run(capsys, "evidence", "export", "--sample", sample["record"], "-o", str(bundle))
    assert code == 1 and not bundle.exists(), err
    assert f"specs/sha256/{blobs[0].name}) is a symbolic link, not the spec's content" in err
    assert "TOP-SECRET" not in err


def test_export_refuses_a_spec_blob_whose_content_is_not_its_hash(store, capsys, tmp_path):
    """Bug: a spec blob whose content was swapped in the store (a regular file) was packed as is."""
    sample = _sample(capsys)
    (blob,) = sorted((store.storage.root / "specs" / "sha256").iterdir())
    blob.write_bytes(b"expectations: []\n")
    bundle = tmp_path / "bundle.zip"
    code, _, err = run(capsys, "evidence", "export", "--sample", sample["record"], "-o", str(bundle))
    assert code == 1 and not bundle.exists()
    assert f"specs/sha256/{blob.name}): its content does not hash to its name" in err


def test_export_refuses_a_missing_spec_blob(store, capsys, tmp_path):
    """A spec a packed record names must be in the bundle: a blob gone from the store is refused, not
    silently left out."""
    sample = _sample(capsys)
    (blob,) = sorted((store.storage.root / "specs" / "sha256").iterdir())
    blob.unlink()
    bundle = tmp_path / "bundle.zip"
    code, _, err = run(capsys, "evidence", "export", "--sample", sample["record"], "-o", str(bundle))
    assert code == 1 and not bundle.exists()
    assert f"specs/sha256/{blob.name}) is missing from the store" in err
