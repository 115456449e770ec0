"""Seals: a signed, hash-chained digest over the records written since the previous seal.

Each seal is a folder ``seals/<sequence:08d>/`` with ``seal.json`` (the body) and
``seal.dsse.json`` (its DSSE envelope). The body holds the sorted leaves (record key, manifest
SHA-256), their RFC 6962 Merkle root and the SHA-256 of the previous seal body, like AWS
CloudTrail's digest chain. After each seal its head is written to the witness folder outside the
store, so a store rolled back or truncated to an earlier seal is caught.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimsflow import settings
from aimsflow.evidence.dsse import parse_envelope, sign_envelope
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.merkle import merkle_root
from aimsflow.evidence.record import ENVELOPE, MANIFEST
from aimsflow.evidence.storage import LocalStorage, Storage
from aimsflow.results import sha256_bytes

SEAL_FORMAT = "aimsflow-seal/1"
SEAL_PAYLOAD_TYPE = "application/vnd.aimsflow.seal+json"
SEAL_BODY = "seal.json"
SEAL_ENVELOPE = "seal.dsse.json"
WITNESS_HEAD = "head.json"


def seal_key(sequence: int) -> str:
    return f"seals/{sequence:08d}"


@dataclass(frozen=True)
class SealHead:
    sequence: int
    seal_sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"sequence": self.sequence, "seal_sha256": self.seal_sha256}


@dataclass(frozen=True)
class SealResult:
    head: SealHead | None
    records_sealed: int
    new_seal: bool


def seal_sequences(storage: Storage) -> list[int]:
    out = []
    for key in storage.iter_dirs_with("seals", SEAL_BODY):
        name = key.rsplit("/", 1)[-1]
        if name.isdigit():
            out.append(int(name))
    return sorted(out)


def read_seal(storage: Storage, sequence: int) -> tuple[bytes, dict[str, Any]]:
    body = storage.get(f"{seal_key(sequence)}/{SEAL_BODY}")
    return body, json.loads(body)


def record_keys(storage: Storage) -> list[str]:
    """Every complete record (a folder holding a signed manifest)."""
    return sorted(storage.iter_dirs_with("records", ENVELOPE))


def sealed_keys(storage: Storage) -> dict[str, int]:
    """Record key -> sequence of the seal that covers it (first one if, wrongly, several)."""
    out: dict[str, int] = {}
    for seq in seal_sequences(storage):
        _, body = read_seal(storage, seq)
        for leaf in body.get("leaves", []):
            out.setdefault(leaf["record"], seq)
    return out


class Witness:
    """The latest seal head, kept outside the store (``AIMSFLOW_WITNESS``)."""

    def __init__(self, folder: Path | None = None):
        self.storage = LocalStorage(folder or settings.witness_dir())

    def read(self) -> SealHead | None:
        if not self.storage.exists(WITNESS_HEAD):
            return None
        doc = json.loads(self.storage.get(WITNESS_HEAD))
        return SealHead(int(doc["sequence"]), doc["seal_sha256"])

    def write(self, head: SealHead, store_root: str) -> None:
        doc = {**head.as_dict(), "store": store_root, "witnessed_at": dt.datetime.now(dt.UTC).isoformat()}
        self.storage.replace(WITNESS_HEAD, (json.dumps(doc, indent=2) + "\n").encode())


def current_head(storage: Storage) -> SealHead | None:
    sequences = seal_sequences(storage)
    if not sequences:
        return None
    body, _ = read_seal(storage, sequences[-1])
    return SealHead(sequences[-1], sha256_bytes(body))


def seal_pending(
    storage: Storage,
    signer: Signer,
    witness: Witness,
    now: dt.datetime | None = None,
    *,
    select: Callable[[str], bool] | None = None,
) -> SealResult:
    """Seal every unsealed record (those ``select`` accepts, when given: one DAG run's own records).
    A seal written but not yet witnessed (crash) is witnessed first."""
    head = current_head(storage)
    if head is not None:
        witnessed = witness.read()
        if witnessed is None or witnessed.sequence < head.sequence:
            witness.write(head, storage.describe(""))
    sealed = sealed_keys(storage)
    pending = [key for key in record_keys(storage) if key not in sealed and (select is None or select(key))]
    if not pending:
        return SealResult(head, 0, False)
    leaves = [
        {"record": key, "manifest_sha256": storage.sha256(f"{key}/{MANIFEST}")} for key in sorted(pending)
    ]
    sequence = 1 if head is None else head.sequence + 1
    body = {
        "format": SEAL_FORMAT,
        "sequence": sequence,
        "sealed_at": (now or dt.datetime.now(dt.UTC)).isoformat(),
        "previous_seal_sha256": head.seal_sha256 if head else None,
        "tree_size": len(leaves),
        "merkle_root": merkle_root([bytes.fromhex(leaf["manifest_sha256"]) for leaf in leaves]).hex(),
        "key_id": signer.key_id,
        "leaves": leaves,
    }
    body_bytes = (json.dumps(body, indent=1) + "\n").encode()
    storage.put_dir_once(
        seal_key(sequence),
        {SEAL_BODY: body_bytes, SEAL_ENVELOPE: sign_envelope(body_bytes, signer, SEAL_PAYLOAD_TYPE)},
        last=(SEAL_ENVELOPE,),
    )
    new_head = SealHead(sequence, sha256_bytes(body_bytes))
    witness.write(new_head, storage.describe(""))
    return SealResult(new_head, len(leaves), True)


def seal_signature(storage: Storage, sequence: int) -> tuple[str, bytes, list[dict[str, Any]]]:
    return parse_envelope(storage.get(f"{seal_key(sequence)}/{SEAL_ENVELOPE}"))
