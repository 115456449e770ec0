"""The witness: the last checkpoint of the log it accepted, kept outside the store.

A witness accepts a newer checkpoint only when it is signed by a trusted key valid at its time, names
the same origin, is not smaller, not earlier (nor later than the witness's own clock allows) and a
consistency proof leads from the witness's tree to it. So a store rolled back, truncated, forked or
rewritten no longer matches what the witness holds, whoever wrote the store.

It starts explicitly (``aimsflow witness init``: the store's current checkpoint, or the empty tree)
and advances with ``aimsflow witness update`` or with each seal. The state is one JSON file,
``witness.json``; a ``head.json`` of the format-1 witness (sequence and seal hash only) is still
read, and replaced at the next advance.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimsflow import settings
from aimsflow.evidence.checkpoint import NoteError, open_checkpoint
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.merkle import EMPTY_ROOT, ProofError, verify_consistency
from aimsflow.evidence.storage import LocalStorage, Storage
from aimsflow.evidence.tlog import SEAL_FORMAT_1, LogScan, SealEntry, scan_log, seal_key
from aimsflow.periods import to_utc

WITNESS_FORMAT = "aimsflow-witness/1"
WITNESS_STATE = "witness.json"
LEGACY_HEAD = "head.json"
#: How far a checkpoint's time may lie ahead of the witness's clock (clocks of two machines differ).
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)


class WitnessRefused(RuntimeError):
    """The witness does not accept the store's log (or cannot start); ``object`` names where."""

    def __init__(self, obj: str, problem: str):
        super().__init__(f"{obj}: {problem}")
        self.object = obj
        self.problem = problem


@dataclass(frozen=True)
class WitnessState:
    """What the witness accepted last. ``tree_size``/``root_hash`` are None only for a format-1
    ``head.json`` (then the seal hash pins the tree); ``checkpoint`` is None for the empty tree and
    for a tree that ends in a format-1 seal (no checkpoint exists for it)."""

    sequence: int
    seal_sha256: str | None
    tree_size: int | None
    root_hash: bytes | None
    origin: str | None = None
    checkpoint: str | None = None
    checkpoint_time: dt.datetime | None = None
    accepted_at: dt.datetime | None = None
    legacy: bool = False

    @property
    def empty(self) -> bool:
        return self.sequence == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": WITNESS_FORMAT,
            "sequence": self.sequence,
            "seal_sha256": self.seal_sha256,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex() if self.root_hash is not None else None,
            "origin": self.origin,
            "checkpoint": self.checkpoint,
            "checkpoint_time": self.checkpoint_time.isoformat() if self.checkpoint_time else None,
            "accepted_at": self.accepted_at.isoformat() if self.accepted_at else None,
            "legacy_head": self.legacy,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> WitnessState:
        def when(value: Any) -> dt.datetime | None:
            return to_utc(dt.datetime.fromisoformat(value)) if value else None

        if doc.get("format") != WITNESS_FORMAT:
            raise ValueError(f"format {doc.get('format')!r}, expected {WITNESS_FORMAT!r}")
        return cls(
            sequence=int(doc["sequence"]),
            seal_sha256=doc.get("seal_sha256"),
            tree_size=int(doc["tree_size"]),
            root_hash=bytes.fromhex(doc["root_hash"]),
            origin=doc.get("origin"),
            checkpoint=doc.get("checkpoint"),
            checkpoint_time=when(doc.get("checkpoint_time")),
            accepted_at=when(doc.get("accepted_at")),
        )


def empty_state(origin: str, now: dt.datetime) -> WitnessState:
    return WitnessState(0, None, 0, EMPTY_ROOT, origin, None, None, now)


def _state_of(entry: SealEntry, origin: str | None, now: dt.datetime) -> WitnessState:
    fmt2 = entry.format != SEAL_FORMAT_1
    return WitnessState(
        sequence=entry.sequence,
        seal_sha256=entry.sha256,
        tree_size=entry.tree_size,
        root_hash=entry.root,
        origin=origin,
        checkpoint=entry.note if fmt2 else None,
        checkpoint_time=entry.sealed_at,
        accepted_at=now,
    )


class Witness:
    """The witness folder (``AIMSFLOW_WITNESS``): ``witness.json``, written by atomic replace."""

    def __init__(self, folder: Path | None = None):
        self.storage = LocalStorage(folder or settings.witness_dir())

    def describe(self) -> str:
        return self.storage.describe(WITNESS_STATE)

    def read(self) -> WitnessState | None:
        """The accepted state, None when the witness never started; raises ValueError naming the
        file when it cannot be read."""
        if self.storage.exists(WITNESS_STATE):
            try:
                return WitnessState.from_dict(json.loads(self.storage.get(WITNESS_STATE)))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{self.describe()}: unreadable witness state: {exc!r}") from None
        if self.storage.exists(LEGACY_HEAD):
            try:
                doc = json.loads(self.storage.get(LEGACY_HEAD))
                return WitnessState(int(doc["sequence"]), str(doc["seal_sha256"]), None, None, legacy=True)
            except (ValueError, KeyError, TypeError) as exc:
                path = self.storage.describe(LEGACY_HEAD)
                raise ValueError(f"{path}: unreadable witness head: {exc!r}") from None
        return None

    def write(self, state: WitnessState, store: str) -> None:
        doc = {**state.as_dict(), "store": store}
        del doc["legacy_head"]
        self.storage.replace(WITNESS_STATE, (json.dumps(doc, indent=2) + "\n").encode())
        legacy = self.storage.path(LEGACY_HEAD)
        if legacy.exists():
            legacy.unlink()  # superseded by witness.json, which holds the same seal and more


def compare(state: WitnessState, scan: LogScan) -> tuple[str, str] | None:
    """(object, problem) when the store no longer holds what the witness accepted: fewer seals
    (rolled back or truncated), another seal at the same sequence, or another tree."""
    if state.sequence > scan.last_sequence:
        ends = f"seal {scan.last_sequence}" if scan.last_sequence else "no seals"
        size = f" (tree size {state.tree_size})" if state.tree_size is not None else ""
        return (
            seal_key(state.sequence),
            f"witness accepted seal {state.sequence}{size} but the store ends at {ends}: "
            "the store was truncated or rolled back",
        )
    if state.empty:
        return None
    entry = scan.entry(state.sequence)
    if entry is None:
        return (seal_key(state.sequence), "the seal the witness accepted is missing or unreadable")
    if entry.sha256 != state.seal_sha256:
        return (
            seal_key(state.sequence),
            "seal differs from the one the witness accepted (same sequence, other content): history was rewritten",
        )
    if (
        state.tree_size is not None
        and entry.tree_size is not None
        and (entry.tree_size, entry.root) != (state.tree_size, state.root_hash)
    ):
        return (
            seal_key(state.sequence),
            f"the log's tree at this seal (size {entry.tree_size}) is not the one the witness accepted "
            f"(size {state.tree_size}): the leaves before it were changed",
        )
    return None


def advance(state: WitnessState, scan: LogScan, keys: TrustedKeys, now: dt.datetime) -> WitnessState:
    """The witness's new state after every seal the store holds beyond ``state``; raises
    :class:`WitnessRefused` at the first one it cannot accept. ``scan`` must come from
    :func:`scan_log` with the trusted keys; a log with any problem is refused whole."""
    if scan.problems:
        obj, problem = scan.problems[0]
        more = f" (and {len(scan.problems) - 1} more)" if len(scan.problems) > 1 else ""
        raise WitnessRefused(obj, f"the store's log does not verify: {problem}{more}")
    found = compare(state, scan)
    if found:
        raise WitnessRefused(*found)
    current = state
    if current.legacy or current.tree_size is None:
        entry = scan.entry(current.sequence)
        assert entry is not None  # compare() found it
        current = _state_of(entry, current.origin, now)
    for entry in scan.entries:
        if entry.sequence <= current.sequence:
            continue
        current = accept(current, entry, keys, now)
    return current


def accept(current: WitnessState, entry: SealEntry, keys: TrustedKeys, now: dt.datetime) -> WitnessState:
    """Accept the seal right after ``current``, or raise :class:`WitnessRefused`."""
    key = entry.key
    if entry.sequence != current.sequence + 1:
        raise WitnessRefused(
            key, f"seal {entry.sequence} does not follow the accepted seal {current.sequence}"
        )
    if current.seal_sha256 is not None and entry.doc.get("previous_seal_sha256") != current.seal_sha256:
        raise WitnessRefused(key, "previous_seal_sha256 is not the seal the witness accepted")
    if current.checkpoint_time is not None and entry.sealed_at <= current.checkpoint_time:
        raise WitnessRefused(
            key,
            f"checkpoint time {entry.sealed_at.isoformat()} is not after the accepted "
            f"{current.checkpoint_time.isoformat()}",
        )
    if entry.sealed_at > now + MAX_CLOCK_SKEW:
        raise WitnessRefused(key, f"checkpoint time {entry.sealed_at.isoformat()} is in the future")
    if entry.format == SEAL_FORMAT_1:
        if current.checkpoint is not None:
            raise WitnessRefused(key, "format-1 seal after a checkpoint (a downgrade)")
        return _state_of(entry, current.origin, now)
    try:
        checkpoint, _ = open_checkpoint(entry.note or "", keys, entry.sealed_at)
    except NoteError as exc:
        raise WitnessRefused(key, str(exc)) from None
    if current.origin is not None and checkpoint.origin != current.origin:
        raise WitnessRefused(
            key, f"checkpoint origin {checkpoint.origin!r}, the witness follows {current.origin!r}"
        )
    size, root = current.tree_size, current.root_hash
    assert size is not None and root is not None
    if checkpoint.size < size:
        raise WitnessRefused(key, f"tree size {checkpoint.size} is smaller than the accepted {size}")
    if int(entry.doc.get("tree_size_before", -1)) != size:
        raise WitnessRefused(
            key, f"tree_size_before {entry.doc.get('tree_size_before')} is not the accepted size {size}"
        )
    try:
        verify_consistency(size, checkpoint.size, root, checkpoint.root, entry.proof)
    except (ProofError, ValueError) as exc:
        raise WitnessRefused(
            key, f"no valid consistency proof from the accepted tree (size {size}): {exc}"
        ) from None
    return WitnessState(
        sequence=entry.sequence,
        seal_sha256=entry.sha256,
        tree_size=checkpoint.size,
        root_hash=checkpoint.root,
        origin=checkpoint.origin,
        checkpoint=entry.note,
        checkpoint_time=entry.sealed_at,
        accepted_at=now,
    )


@dataclass(frozen=True)
class WitnessUpdate:
    before: WitnessState | None
    after: WitnessState
    accepted: list[int]


def _read(witness: Witness) -> WitnessState | None:
    try:
        return witness.read()
    except ValueError as exc:
        raise WitnessRefused(witness.describe(), str(exc)) from None


def init_witness(
    witness: Witness, storage: Storage, keys: TrustedKeys, origin: str, now: dt.datetime | None = None
) -> WitnessUpdate:
    """Start the witness on the store's current log (trust on first use: do it on an empty store, or
    right after the store verified). Refused when the witness already started (a format-1
    ``head.json`` is upgraded, after checking the store against it) or the log does not verify."""
    now = to_utc(now or dt.datetime.now(dt.UTC))
    before = _read(witness)
    if before is not None and not before.legacy:
        raise WitnessRefused(
            witness.describe(),
            f"the witness already started (seal {before.sequence}, tree size {before.tree_size}); "
            "it advances with `aimsflow witness update`",
        )
    scan = scan_log(storage, keys)
    if before is not None:  # a format-1 head: the store must still hold what it witnessed
        after = advance(before, scan, keys, now)
    else:
        if scan.problems:
            obj, problem = scan.problems[0]
            raise WitnessRefused(obj, f"the store's log does not verify: {problem}")
        latest = scan.latest
        if scan.origin is not None and scan.origin != origin:
            raise WitnessRefused(
                witness.describe(), f"the log's checkpoints name origin {scan.origin!r}, not {origin!r}"
            )
        after = empty_state(origin, now) if latest is None else _state_of(latest, origin, now)
    witness.write(after, storage.describe(""))
    accepted = list(range(before.sequence + 1, after.sequence + 1)) if before is not None else []
    return WitnessUpdate(before, after, accepted)


def update_witness(
    witness: Witness, storage: Storage, keys: TrustedKeys, now: dt.datetime | None = None
) -> WitnessUpdate:
    """Advance the witness to the store's latest seal, checking every seal on the way (how a second,
    independent witness runs: read access to the store is enough)."""
    now = to_utc(now or dt.datetime.now(dt.UTC))
    before = _read(witness)
    if before is None:
        raise WitnessRefused(
            witness.describe(), "the witness never started: run `aimsflow witness init` once"
        )
    after = advance(before, scan_log(storage, keys), keys, now)
    if after != before:
        witness.write(after, storage.describe(""))
    accepted = list(range(before.sequence + 1, after.sequence + 1))
    return WitnessUpdate(before, after, accepted)
