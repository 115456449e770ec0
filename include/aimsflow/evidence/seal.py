"""Seals: each one appends the records written since the previous seal to the transparency log.

A seal is a folder ``seals/<sequence:08d>/`` with ``seal.json`` (the body: the leaves it adds, the
tree size and root after them, the consistency proof from the tree before, the checkpoint text, the
SHA-256 of the previous body), ``checkpoint`` (the C2SP signed note of the new tree head) and
``seal.dsse.json`` (the body's DSSE envelope). See :mod:`aimsflow.evidence.tlog` for the log and
:mod:`aimsflow.evidence.witness` for the witness that must accept every seal.

The sealer holds the store lock for its whole read-decide-write-witness sequence and seals nothing
when the witness does not accept the store as it is (behind the witness, forked, rewritten, or a
witness that never started): whatever order the tasks run in, a rolled-back store is never sealed
over. Records are judged at the checkpoint's time: one whose signature does not verify against a
key trusted then, or that ended after it, is left out and reported.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimsflow import settings
from aimsflow.evidence.checkpoint import Checkpoint, sign_note
from aimsflow.evidence.dsse import sign_envelope
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.lock import store_lock
from aimsflow.evidence.merkle import consistency_proof, leaf_hash, tree_hash
from aimsflow.evidence.record import ENVELOPE
from aimsflow.evidence.storage import Storage
from aimsflow.evidence.tlog import (
    CHECKPOINT,
    SEAL_BODY,
    SEAL_ENVELOPE,
    SEAL_FORMAT,
    SEAL_FORMAT_1,
    SEAL_PAYLOAD_TYPE,
    SealEntry,
    SealHead,
    scan_log,
    seal_key,
)
from aimsflow.evidence.trust import UntrustedRecord, read_verified
from aimsflow.evidence.witness import Witness, WitnessRefused, accept, advance
from aimsflow.periods import to_utc
from aimsflow.results import sha256_bytes

__all__ = [
    "CHECKPOINT",
    "SEAL_BODY",
    "SEAL_ENVELOPE",
    "SEAL_FORMAT",
    "SEAL_FORMAT_1",
    "SEAL_PAYLOAD_TYPE",
    "RefusedRecord",
    "SealHead",
    "SealPlan",
    "SealRefused",
    "SealResult",
    "Witness",
    "read_seal",
    "record_keys",
    "seal_key",
    "seal_pending",
    "seal_sequences",
    "sealed_keys",
]


class SealRefused(RuntimeError):
    """Nothing was sealed: the witness does not accept the store, or the log cannot grow now."""

    def __init__(self, obj: str, problem: str):
        super().__init__(f"{obj}: {problem}")
        self.object = obj
        self.problem = problem


@dataclass(frozen=True)
class RefusedRecord:
    """A pending record the seal left out, and why (it stays pending and is reported again)."""

    key: str
    problem: str

    def as_dict(self) -> dict[str, str]:
        return {"record": self.key, "problem": self.problem}


@dataclass(frozen=True)
class SealPlan:
    """What a seal is about to take in, judged at ``checkpoint_time`` (provisional: the seal's own
    time is taken after the ``before_seal`` callback, which may add a record)."""

    pending: tuple[str, ...]
    refused: tuple[RefusedRecord, ...]
    checkpoint_time: dt.datetime


@dataclass(frozen=True)
class SealResult:
    head: SealHead | None
    records_sealed: int
    new_seal: bool
    refused: tuple[RefusedRecord, ...] = ()
    checkpoint: str | None = None  # the signed note of the log's latest tree head, if any
    tree_size: int = 0


def is_seal_name(name: str) -> bool:
    return len(name) == 8 and name.isascii() and name.isdigit() and int(name) >= 1


def seal_sequences(storage: Storage) -> list[int]:
    """Sequences of the seal folders, ``seals/<8 ASCII digits, from 00000001>``: anything else (seal 0,
    other digits) is no seal, and verify reports it."""
    out = []
    for key in storage.iter_dirs_with("seals", SEAL_BODY):
        name = key.rsplit("/", 1)[-1]
        if key.count("/") == 1 and is_seal_name(name):
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


def judge_records(
    storage: Storage, keys_: list[str], trusted: TrustedKeys, at: dt.datetime
) -> tuple[list[tuple[str, str]], list[RefusedRecord]]:
    """(record, manifest SHA-256) of the records that may enter a checkpoint of time ``at``, and the
    refused ones: a signature that does not verify against a key trusted at ``at``, or an
    ``ended_at`` after it (a record cannot be sealed before it ended)."""
    accepted: list[tuple[str, str]] = []
    refused: list[RefusedRecord] = []
    for key in keys_:
        try:
            record = read_verified(storage, key, trusted, judged_at=at)
        except UntrustedRecord as exc:
            refused.append(RefusedRecord(key, exc.problem))
            continue
        ended_at = to_utc(dt.datetime.fromisoformat(record.predicate["ended_at"]))
        if ended_at > at:
            refused.append(
                RefusedRecord(
                    key, f"ended_at {ended_at.isoformat()} is after the checkpoint time {at.isoformat()}"
                )
            )
            continue
        accepted.append((key, sha256_bytes(record.manifest)))
    return accepted, refused


def seal_pending(
    storage: Storage,
    signer: Signer,
    witness: Witness,
    now: dt.datetime | None = None,
    *,
    select: Callable[[str], bool] | None = None,
    keys: TrustedKeys | None = None,
    before_seal: Callable[[SealPlan], None] | None = None,
) -> SealResult:
    """Append every pending record (only those ``select`` returns True for, when given) to the log
    as one new seal whose checkpoint the witness accepts; raises :class:`SealRefused` with nothing
    sealed when the witness does not accept the store.

    ``now`` is the checkpoint time (default: the clock, read after ``before_seal``). ``keys`` are the
    trusted keys (default: ``AIMSFLOW_TRUSTED_KEYS``). ``before_seal`` is called, under the store
    lock, once the store is known to be sealable: the seal job writes its own record there, so the
    seal takes it in."""
    keys = keys or TrustedKeys.load()
    with store_lock(Path(storage.root), "evidence seal"):
        return _seal_locked(storage, signer, witness, now, select, keys, before_seal)


def _seal_locked(
    storage: Storage,
    signer: Signer,
    witness: Witness,
    now: dt.datetime | None,
    select: Callable[[str], bool] | None,
    keys: TrustedKeys,
    before_seal: Callable[[SealPlan], None] | None,
) -> SealResult:
    def clock() -> dt.datetime:
        return to_utc(now) if now is not None else dt.datetime.now(dt.UTC)

    store = storage.describe("")
    try:
        state = witness.read()
    except ValueError as exc:
        raise SealRefused(witness.describe(), str(exc)) from None
    if state is None:
        raise SealRefused(
            witness.describe(),
            "the witness never started, so nothing is sealed (a missing witness may be a deleted one): "
            "start it once with `aimsflow witness init`",
        )
    scan = scan_log(storage, keys)
    try:
        witnessed = advance(state, scan, keys, clock())  # a seal a crash left unwitnessed is accepted first
    except WitnessRefused as exc:
        raise SealRefused(exc.object, exc.problem) from None
    if witnessed != state:
        witness.write(witnessed, store)
    origin = settings.log_origin()
    if (scan.origin or witnessed.origin or origin) != origin:
        raise SealRefused(
            witness.describe(),
            f"AIMSFLOW_LOG_ORIGIN is {origin!r} but the log is {scan.origin or witnessed.origin!r}: "
            "a log's origin never changes",
        )

    sealed = {record for record, _ in scan.leaves}

    def pending() -> list[str]:
        return [k for k in record_keys(storage) if k not in sealed and (select is None or select(k))]

    if before_seal is not None:
        provisional = clock()
        waiting = pending()
        before_seal(
            SealPlan(
                tuple(waiting), tuple(judge_records(storage, waiting, keys, provisional)[1]), provisional
            )
        )
    sealed_at = clock()
    next_key = seal_key(scan.last_sequence + 1)
    if scan.last_time is not None and sealed_at <= scan.last_time:
        raise SealRefused(
            next_key,
            f"checkpoint time {sealed_at.isoformat()} is not after the last seal's {scan.last_time.isoformat()}: "
            "checkpoint times must increase (is the clock behind?)",
        )
    accepted, refused = judge_records(storage, pending(), keys, sealed_at)
    head = scan.head
    if not accepted:
        return SealResult(head, 0, False, tuple(refused), witnessed.checkpoint, scan.tree_size)

    leaves = sorted(accepted)
    hashes = [*scan.leaf_hashes, *(leaf_hash(bytes.fromhex(sha)) for _, sha in leaves)]
    size_before, size = scan.tree_size, len(hashes)
    root = tree_hash(hashes)
    text = Checkpoint(origin, size, root).text()
    body = {
        "format": SEAL_FORMAT,
        "sequence": scan.last_sequence + 1,
        "sealed_at": sealed_at.isoformat(),
        "previous_seal_sha256": head.seal_sha256 if head else None,
        "key_id": signer.key_id,
        "tree_size_before": size_before,
        "tree_size": size,
        "root_hash": root.hex(),
        "consistency_proof": [h.hex() for h in consistency_proof(hashes, size_before, size)],
        "checkpoint": text,
        "leaves": [{"record": record, "manifest_sha256": sha} for record, sha in leaves],
    }
    body_bytes = (json.dumps(body, indent=1) + "\n").encode()
    note = sign_note(text, origin, signer)
    entry = SealEntry(
        scan.last_sequence + 1,
        SEAL_FORMAT,
        body_bytes,
        body,
        sha256_bytes(body_bytes),
        sealed_at,
        leaves,
        size,
        root,
        note,
    )
    try:  # the witness checks the new checkpoint before anything is written
        after = accept(witnessed, entry, keys, clock())
    except WitnessRefused as exc:
        raise SealRefused(exc.object, f"the witness would not accept this seal: {exc.problem}") from None
    storage.put_dir_once(
        next_key,
        {
            SEAL_BODY: body_bytes,
            CHECKPOINT: note.encode(),
            SEAL_ENVELOPE: sign_envelope(body_bytes, signer, SEAL_PAYLOAD_TYPE),
        },
        last=(SEAL_ENVELOPE,),
    )
    witness.write(after, store)
    return SealResult(SealHead(entry.sequence, entry.sha256), len(leaves), True, tuple(refused), note, size)
