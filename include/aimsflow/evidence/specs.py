"""Spec blobs: the content of every suite, policy and config file a record ran against, kept in the
store by its SHA-256, so that the hash in a manifest can always be turned back into the text.

    specs/sha256/<hex>      the exact bytes whose SHA-256 is <hex>; written once, shared by records

A manifest names a spec by a portable path (relative to the project root, else to the configured
folder it lives in) and its SHA-256; the blob is written before the record, so a crash leaves at most
an unreferenced blob, never a record whose spec is gone. Blobs are never disposed of: they are small,
shared between records, and a kept record may need any of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aimsflow import settings
from aimsflow.evidence.storage import Storage, WriteOnceError
from aimsflow.results import SpecRef, sha256_bytes

SPECS_PREFIX = "specs/sha256"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class SpecChangedError(ValueError):
    """A spec's file no longer holds the bytes the job pinned: the record would name content that
    nobody could retrieve, so it is not written (the task's retry runs against the current file)."""


@dataclass(frozen=True)
class StoredSpec:
    name: str  # portable path written to the manifest
    sha256: str
    blob: str  # store key of the content


def blob_key(sha256: str) -> str:
    if not _HEX64.match(sha256):
        raise ValueError(f"invalid spec SHA-256 {sha256!r}: expected 64 lower-case hex digits")
    return f"{SPECS_PREFIX}/{sha256}"


def is_blob_name(name: str) -> bool:
    return bool(_HEX64.match(name))


def _roots() -> list[tuple[str, Path]]:
    """Folders a spec may live in, most readable first. The project root comes first because a path
    relative to it plus ``code.git_commit`` (and ``git_dirty: false``) names the file in the repo."""
    return [
        ("", settings.project_root()),
        ("$AIMSFLOW_CONFIG_DIR", settings.config_dir()),
        ("$AIMSFLOW_EXPECTATIONS_DIR", settings.expectations_dir()),
        ("$AIMSFLOW_KEYS_DIR", settings.keys_dir()),
    ]


def spec_name(path: str | Path) -> str:
    """The spec's name in a manifest: never an absolute machine path.

    ``include/config/datasets.yaml`` (relative to the project root), else ``$AIMSFLOW_CONFIG_DIR/x.yaml``
    (relative to the configured folder it lies in), ``$AIMSFLOW_TRUSTED_KEYS`` for the trusted-keys file,
    else the file name alone. The SHA-256, not the name, identifies the content."""
    p = Path(path).expanduser().resolve()
    if p == settings.trusted_keys_path():
        return "$AIMSFLOW_TRUSTED_KEYS"
    for prefix, root in _roots():
        if p.is_relative_to(root):
            rel = p.relative_to(root).as_posix()
            return f"{prefix}/{rel}" if prefix else rel
    return p.name


def read_pinned(spec: SpecRef) -> bytes:
    """The spec's bytes, which must still hash to the pinned SHA-256."""
    try:
        content = Path(spec.path).read_bytes()
    except OSError as exc:
        raise SpecChangedError(
            f"spec {spec.path} (sha256 {spec.sha256[:12]}) cannot be read to store its content: {exc.strerror}"
        ) from None
    actual = sha256_bytes(content)
    if actual != spec.sha256:
        raise SpecChangedError(
            f"spec {spec.path} changed while the job ran: it pinned sha256 {spec.sha256[:12]}, the file "
            f"now has {actual[:12]}; the record is not written (a retry runs against the current file)"
        )
    return content


def store_specs(storage: Storage, specs: Iterable[SpecRef]) -> list[StoredSpec]:
    """Write each spec's content once under ``specs/sha256/<hex>`` (skipped when present: identical
    content is stored once) and return the manifest entries in the job's order. Every spec is read and
    checked before any blob is written, so a refusal leaves nothing behind."""
    pinned = [(spec, read_pinned(spec)) for spec in specs]
    out: list[StoredSpec] = []
    for spec, content in pinned:
        key = blob_key(spec.sha256)
        if not storage.exists(key):
            try:
                storage.put_once(key, content)
            except WriteOnceError:
                pass  # another writer stored the same bytes first
        out.append(StoredSpec(spec_name(spec.path), spec.sha256, key))
    return out
