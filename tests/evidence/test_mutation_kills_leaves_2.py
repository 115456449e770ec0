"""How the verified readers (``listing.load_verified`` and its ``missing_leaves``, with
``verify.disposal_tombstones``) judge a sealed record whose folder is gone, pinned where mutation
testing found it unchecked (survivors of ``make mutation``, target evidence): a lawful disposal (the
retention job's signed tombstone, certificate and plan) is no finding, an unlawful or mismatching
tombstone is a finding with its exact text and the tombstone it names, ``only`` restricts the folders
read, ``progress`` counts the folders read, and a record with one of its two files left is not a gone
leaf. Each test names the mutants it kills (function, change). Real lawful disposals come from
tests/retention/test_verify_tombstones.py."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from aimsflow.evidence import listing
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.listing import SealPosition, Untrusted, load_verified, missing_leaves, record_folders
from aimsflow.evidence.record import ENVELOPE, MANIFEST
from aimsflow.evidence.storage import LocalStorage
from tests.retention import test_verify_tombstones as tombstones
from tests.retention.conftest import rt_env, seal, storage, write_evidence
from tests.retention.test_verify_tombstones import forge_tombstone, genuine_disposal, rewrite_tombstone

sealed_record = tombstones.sealed_record  # the fixture: a sealed record of DAY, and a held one
__all__ = ["rt_env", "sealed_record", "storage"]  # fixtures used by name

LATER = dt.date(2024, 5, 2)  # sorts after DAY: what the readers meet after the disposed record


def rejected(storage: LocalStorage, **kw) -> list[tuple[str, str]]:
    return [(u.key, u.problem) for u in load_verified(storage, TrustedKeys.load(), **kw).rejected]


def _gone_after_a_lawful_disposal(rt_env, storage: LocalStorage):
    """The sealed record of DAY lawfully disposed of, then a record of LATER sealed (seal 2) and
    deleted: (the disposed record's key, the deleted record's key)."""
    tomb = genuine_disposal(storage)
    signer = Signer.from_settings()
    later = write_evidence(storage, signer, LATER, name="later")
    seal(storage, signer, rt_env / "witness")
    shutil.rmtree(storage.root / later.key)
    return tomb["disposed_record"], later.key


def test_a_lawful_disposal_is_no_finding_and_a_deletion_after_it_still_is(rt_env, sealed_record, storage):
    """The lawfully disposed record is no finding; a sealed record deleted after it (in key order) is
    still named, as a deletion. Kills ``missing_leaves``: ``disposal_tombstones(None, ...)`` /
    ``(storage, None, ...)``, ``tombstones.get(None, ...)``, ``manifest_sha256 != sha``,
    ``t.problem is not None``, ``continue`` -> ``break`` (the deletion after the lawful disposal would
    be dropped); ``load_verified``: ``missing_leaves(None, ...)`` / ``(storage, None, ...)``;
    ``verify.disposal_tombstones``: ``_tombstones(None, ...)`` / ``(storage, None, ...)``."""
    disposed, deleted = _gone_after_a_lawful_disposal(rt_env, storage)
    assert disposed == sealed_record.key and disposed < deleted
    assert rejected(storage) == [(deleted, "sealed in seal 2, missing from the store (deleted record)")]


def test_a_trusted_tombstone_without_certificate_names_itself_and_why(sealed_record, storage):
    """A tombstone with the sealed hash and seal but no certificate or plan: the exact finding, naming
    that tombstone and its problem. Kills ``missing_leaves``: ``problem = None`` and ``match[1]`` for
    its key or its problem (one match only)."""
    tomb = forge_tombstone(
        storage, sealed_record.key, sealed_record.manifest_sha256, 1, Signer.from_settings()
    )
    shutil.rmtree(storage.root / sealed_record.key)
    assert rejected(storage) == [
        (
            sealed_record.key,
            f"sealed in seal 1, missing from the store; tombstone {tomb.key} is not a lawful disposal: "
            "no verified certificate: the tombstone names no certificate",
        )
    ]


def test_a_lawful_tombstone_naming_another_seal_is_not_a_disposal(sealed_record, storage):
    """The genuine tombstone (certificate and plan verified) rewritten to name seal 2: the sealed hash,
    but not the seal of the leaf, so not a lawful disposal, and the finding names both manifests (12
    hex digits each) and the seal the tombstone names. Kills ``missing_leaves``: ``manifest_sha256 ==
    sha and sealed_in == seq`` -> ``or``, ``sealed_in != seq``, and ``[:12]`` -> ``[:13]`` on either
    hash."""
    tomb = genuine_disposal(storage)
    rewrite_tombstone(storage, tomb, sealed_in=2)
    sha = sealed_record.manifest_sha256
    assert rejected(storage) == [
        (
            sealed_record.key,
            f"sealed in seal 1, missing from the store; tombstone {tomb['key']} names manifest {sha[:12]} "
            f"in seal 2, not the sealed {sha[:12]} (not a lawful disposal)",
        )
    ]


def test_of_two_mismatching_tombstones_the_first_in_key_order_is_named(sealed_record, storage):
    """Two trusted tombstones naming the gone record, neither with the sealed hash: the finding names
    the first in key order with its own hash and seal. Kills ``missing_leaves``: the mismatch text
    ``problem = None``, ``named[1]`` for the key, the hash or the seal, ``(sha and '')``."""
    signer = Signer.from_settings()
    one = forge_tombstone(storage, sealed_record.key, "a" * 64, 3, signer)
    two = forge_tombstone(storage, sealed_record.key, "b" * 64, 4, signer)
    shutil.rmtree(storage.root / sealed_record.key)
    (first_key, first_sha, first_seal) = min((one.key, "a" * 64, 3), (two.key, "b" * 64, 4))
    sha = sealed_record.manifest_sha256
    assert rejected(storage) == [
        (
            sealed_record.key,
            f"sealed in seal 1, missing from the store; tombstone {first_key} names manifest "
            f"{first_sha[:12]} in seal {first_seal}, not the sealed {sha[:12]} (not a lawful disposal)",
        )
    ]


def test_only_restricts_the_folders_read_and_the_gone_leaves_reported(rt_env, sealed_record, storage):
    """``only``: the records of the accepted folders only, and only their gone leaves. Kills
    ``load_verified``: ``only(f)`` -> ``only(None)``."""
    _, deleted = _gone_after_a_lawful_disposal(rt_env, storage)
    loaded = load_verified(storage, TrustedKeys.load(), only=lambda k: k.startswith("records/2024-05-01/"))
    assert loaded.rejected == []
    assert loaded.records and all(r.key.startswith("records/2024-05-01/") for r in loaded.records)
    later = load_verified(storage, TrustedKeys.load(), only=lambda k: k.startswith("records/2024-05-02/"))
    assert later.records == []
    assert [(u.key, u.problem) for u in later.rejected] == [
        (deleted, "sealed in seal 2, missing from the store (deleted record)")
    ]


def test_progress_counts_the_folders_read_over_several_batches(sealed_record, storage, monkeypatch):
    """One folder per batch: progress says 1, 2, ... of all. Kills ``load_verified``: ``done +=
    len(results)`` -> ``done = len(results)``."""
    monkeypatch.setattr(listing, "VERIFY_BATCH", 1)
    calls: list[tuple[int, int]] = []
    loaded = load_verified(storage, TrustedKeys.load(), progress=lambda d, n: calls.append((d, n)), workers=1)
    assert len(loaded.records) == 2
    assert calls == [(1, 2), (2, 2)]


@pytest.mark.parametrize("left", [MANIFEST, ENVELOPE])
def test_a_sealed_record_with_one_of_its_files_left_is_not_a_gone_leaf(sealed_record, storage, left):
    """A sealed record folder with only its manifest or only its envelope: one finding, the missing
    file, not also a deletion. Kills ``load_verified``: ``manifests | envelopes`` -> ``&``."""
    gone = ENVELOPE if left == MANIFEST else MANIFEST
    (storage.root / sealed_record.key / gone).unlink()
    assert load_verified(storage, TrustedKeys.load()).rejected == [
        Untrusted(sealed_record.key, f"unreadable record: no {gone}")
    ]


def test_a_position_without_a_sealed_hash_names_none_in_the_mismatch(sealed_record, storage):
    """``missing_leaves`` takes any :class:`SealPosition`, whose ``manifest_sha256`` may be None (the
    unverified ``seal_positions`` gives none): no tombstone matches it, and the finding names the
    tombstone's hash against an empty sealed one. Kills ``missing_leaves``: ``(sha or '')`` ->
    ``(sha or 'XXXX')``."""
    tomb = forge_tombstone(storage, sealed_record.key, "c" * 64, 1, Signer.from_settings())
    shutil.rmtree(storage.root / sealed_record.key)
    _, manifests, envelopes = record_folders(storage)
    positions = {sealed_record.key: SealPosition(1, 0, None, None)}
    found = missing_leaves(storage, TrustedKeys.load(), positions, manifests | envelopes)
    assert found == [
        Untrusted(
            sealed_record.key,
            f"sealed in seal 1, missing from the store; tombstone {tomb.key} names manifest {'c' * 12} "
            "in seal 1, not the sealed  (not a lawful disposal)",
        )
    ]


def test_the_result_does_not_depend_on_the_number_of_threads(rt_env, sealed_record, storage, monkeypatch):
    """What backs the disposition of the thread-pool size mutants of ``load_verified`` (``_69`` ..
    ``_72``, harmless): one folder per batch, read on 1, 3 or the default number of threads, gives
    the same records in the same order, the same findings and the same predicates."""
    _gone_after_a_lawful_disposal(rt_env, storage)
    monkeypatch.setattr(listing, "VERIFY_BATCH", 1)

    def read(workers: int | None):
        loaded = load_verified(storage, TrustedKeys.load(), workers=workers)
        return [r.key for r in loaded.records], loaded.rejected, loaded.predicates

    one = read(1)
    assert len(one[0]) > 3 and len(one[1]) == 1
    assert read(3) == one and read(None) == one
