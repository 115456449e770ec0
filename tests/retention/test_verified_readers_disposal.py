"""The verified readers (``load_verified``) tell a lawful disposal from a deletion the way verify does
(review finding 5): a sealed record that retention disposed of — a trusted tombstone names it with the
sealed manifest hash and seal, backed by a verified certificate and plan — is no finding; a deletion
dressed up with a tombstone that is not all of that is still named as a sealed record gone."""

from __future__ import annotations

import shutil

from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.listing import load_verified
from aimsflow.evidence.storage import LocalStorage
from aimsflow.retention.dispose import TOMBSTONE_CHECK
from tests.conftest import new_key
from tests.retention import test_verify_tombstones
from tests.retention.test_verify_tombstones import dispose, forge_tombstone, verify

sealed_record = test_verify_tombstones.sealed_record  # the fixture: one sealed record of 2024-05-01


def refused(storage: LocalStorage) -> dict[str, str]:
    return {u.key: u.problem for u in load_verified(storage, TrustedKeys.load()).rejected}


def test_a_lawfully_disposed_record_is_no_finding_for_the_readers(sealed_record, storage):
    dispose(storage)
    assert verify().disposed[0]["record"] == sealed_record.key  # verify agrees it was lawful
    loaded = load_verified(storage, TrustedKeys.load())
    assert sealed_record.key not in {u.key for u in loaded.rejected}, loaded.rejected
    assert any(r.check == TOMBSTONE_CHECK for r in loaded.records)
    assert sealed_record.key not in {r.key for r in loaded.records}


def test_a_deletion_without_tombstone_is_a_finding(sealed_record, storage):
    shutil.rmtree(storage.root / sealed_record.key)
    assert refused(storage)[sealed_record.key] == "sealed in seal 1, missing from the store (deleted record)"


def test_a_trusted_tombstone_without_certificate_or_plan_does_not_excuse_a_deletion(sealed_record, storage):
    """Signed with the trusted key, right hash and seal, but backed by nothing: not a lawful disposal."""
    tomb = forge_tombstone(
        storage, sealed_record.key, sealed_record.manifest_sha256, 1, Signer.from_settings()
    )
    shutil.rmtree(storage.root / sealed_record.key)
    problem = refused(storage)[sealed_record.key]
    assert problem.startswith(
        f"sealed in seal 1, missing from the store; tombstone {tomb.key} is not a lawful"
    )
    assert "no verified certificate" in problem


def test_a_tombstone_naming_another_manifest_does_not_excuse_a_deletion(sealed_record, storage):
    forge_tombstone(storage, sealed_record.key, "0" * 64, 1, Signer.from_settings())
    shutil.rmtree(storage.root / sealed_record.key)
    problem = refused(storage)[sealed_record.key]
    assert "names manifest 000000000000 in seal 1, not the sealed" in problem


def test_a_tombstone_signed_by_an_untrusted_key_does_not_excuse_a_deletion(sealed_record, storage):
    key_id, seed, _ = new_key("intruder")
    tomb = forge_tombstone(
        storage, sealed_record.key, sealed_record.manifest_sha256, 1, Signer.from_seed_b64(key_id, seed)
    )
    shutil.rmtree(storage.root / sealed_record.key)
    found = refused(storage)
    assert found[sealed_record.key].endswith("(deleted record)")
    assert tomb.key in found  # the forged tombstone itself does not verify either
