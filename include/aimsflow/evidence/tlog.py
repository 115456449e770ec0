"""The transparency log: every sealed record, in the order sealed, as one append-only RFC 6962 tree.

The log's leaves are the leaves of all seals in sequence order; a seal adds leaves at the end. A
format-2 seal (``aimsflow-seal/2``) carries the tree size and root after its leaves, a C2SP
checkpoint signed over them and the consistency proof from the tree before it. Format-1 seals
(``aimsflow-seal/1``, written before the log existed) carry only their own leaves and a per-seal
root: their leaves are the log's first leaves, so a store of format-1 seals simply continues with
format-2 seals, whose roots then cover the format-1 leaves too.

:func:`scan_log` reads and checks all seals in one pass; verify, the sealer and the witness use it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from aimsflow.evidence.checkpoint import NoteError, open_checkpoint, parse_checkpoint, parse_note
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.merkle import (
    CompactRange,
    ProofError,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    verify_consistency,
    verify_inclusion,
)
from aimsflow.evidence.storage import Storage
from aimsflow.evidence.trust import check_signature
from aimsflow.periods import to_utc
from aimsflow.results import sha256_bytes

SEAL_FORMAT_1 = "aimsflow-seal/1"
SEAL_FORMAT = "aimsflow-seal/2"
SEAL_PAYLOAD_TYPE = "application/vnd.aimsflow.seal+json"
SEAL_BODY = "seal.json"
SEAL_ENVELOPE = "seal.dsse.json"
CHECKPOINT = "checkpoint"
SEALS = "seals"


def seal_key(sequence: int) -> str:
    return f"{SEALS}/{sequence:08d}"


@dataclass(frozen=True)
class SealHead:
    sequence: int
    seal_sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"sequence": self.sequence, "seal_sha256": self.seal_sha256}


@dataclass
class SealEntry:
    """One readable seal and where it leaves the log. ``tree_size`` and ``root`` are computed from the
    leaves of this and every earlier seal (None after a missing or unreadable seal: unknown)."""

    sequence: int
    format: str
    body: bytes
    doc: dict[str, Any]
    sha256: str
    sealed_at: dt.datetime
    leaves: list[tuple[str, str]]  # (record key, manifest SHA-256), in log order
    tree_size: int | None = None
    root: bytes | None = None
    note: str | None = None  # the signed checkpoint (format 2)

    @property
    def key(self) -> str:
        return seal_key(self.sequence)

    @property
    def proof(self) -> list[bytes]:
        return [bytes.fromhex(h) for h in self.doc.get("consistency_proof") or []]


@dataclass
class LogScan:
    entries: list[SealEntry] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (object, problem)
    last_sequence: int = 0  # the highest sequence present, readable or not
    complete: bool = True  # every seal 1..last present and readable: the computed tree is the log
    origin: str | None = None
    leaf_hashes: list[bytes] = field(default_factory=list)  # the log's leaf hashes (when complete)
    leaves: list[tuple[str, str]] = field(default_factory=list)

    def add(self, obj: str, problem: str) -> None:
        self.problems.append((obj, problem))

    def entry(self, sequence: int) -> SealEntry | None:
        for entry in self.entries:
            if entry.sequence == sequence:
                return entry
        return None

    @property
    def latest(self) -> SealEntry | None:
        return self.entries[-1] if self.entries else None

    @property
    def head(self) -> SealHead | None:
        latest = self.latest
        return SealHead(latest.sequence, latest.sha256) if latest else None

    @property
    def last_time(self) -> dt.datetime | None:
        return self.entries[-1].sealed_at if self.entries else None

    @property
    def tree_size(self) -> int:
        return len(self.leaf_hashes)


def _folders(storage: Storage, scan: LogScan) -> dict[int, set[str]]:
    """Sequence -> names of the files in ``seals/<sequence>/``; anything else under ``seals/`` is a problem."""
    out: dict[int, set[str]] = {}
    if not storage.exists(SEALS):
        return out
    for rel in storage.list_files(SEALS):
        folder, _, name = rel.rpartition("/")
        if "/" in folder or not (
            len(folder) == 8 and folder.isascii() and folder.isdigit() and int(folder) >= 1
        ):
            scan.add(f"{SEALS}/{folder}" if folder else f"{SEALS}/{rel}", "unexpected object among the seals")
            continue
        out.setdefault(int(folder), set()).add(name)
    return out


def scan_log(storage: Storage, keys: TrustedKeys | None = None) -> LogScan:
    """Read every seal in order, rebuild the log's tree from the leaves and check each seal against
    it: signature (when ``keys`` is given), sequence, link to the previous seal, sizes, roots,
    consistency proof, checkpoint, increasing times and one origin. Problems are collected, never
    raised; an unknown (missing or unreadable) seal makes the tree unknown from there on."""
    scan = LogScan()
    folders = _folders(storage, scan)
    scan.last_sequence = max(folders, default=0)
    tree = CompactRange()
    previous: SealEntry | None = None
    previous_sha: str | None = None
    seen_format_2 = False
    seen_records: set[str] = set()
    for seq in range(1, scan.last_sequence + 1):
        key = seal_key(seq)
        files = folders.get(seq)
        entry = _read_entry(storage, seq, files, scan)
        if entry is None:
            scan.complete = False
            previous_sha = None
            continue
        doc = entry.doc
        if keys is not None:
            problem = check_signature(
                storage.get(f"{key}/{SEAL_ENVELOPE}"), entry.body, SEAL_PAYLOAD_TYPE, keys, entry.sealed_at
            )
            if problem:
                scan.add(key, problem)
        if doc.get("sequence") != seq:
            scan.add(key, f"seal says sequence {doc.get('sequence')}, stored as {seq} (reordered or moved)")
        if seq == 1 and doc.get("previous_seal_sha256") is not None:
            scan.add(key, "first seal names a previous seal: earlier seals were removed")
        elif seq > 1 and previous_sha is not None and doc.get("previous_seal_sha256") != previous_sha:
            scan.add(key, "previous_seal_sha256 does not match the seal before it: the chain is broken")
        if previous is not None and entry.sealed_at <= previous.sealed_at:
            scan.add(
                key,
                f"sealed_at {entry.sealed_at.isoformat()} is not after seal {previous.sequence}'s "
                f"{previous.sealed_at.isoformat()}: checkpoint times must increase",
            )
        for record, _ in entry.leaves:
            if record in seen_records:
                scan.add(key, f"leaf {record} is already in an earlier seal")
            seen_records.add(record)
        size_before = tree.size if scan.complete else None
        root_before = tree.root() if scan.complete else None
        for _, sha in entry.leaves:
            h = leaf_hash(bytes.fromhex(sha))
            tree.append(h)
            scan.leaf_hashes.append(h)
        scan.leaves.extend(entry.leaves)
        if scan.complete:
            entry.tree_size, entry.root = tree.size, tree.root()
        if entry.format == SEAL_FORMAT_1:
            if seen_format_2:
                scan.add(
                    key, "format-1 seal after a format-2 seal (a downgrade: format 1 carries no checkpoint)"
                )
            root = merkle_root([bytes.fromhex(sha) for _, sha in entry.leaves]).hex()
            if root != doc.get("merkle_root") or len(entry.leaves) != doc.get("tree_size"):
                scan.add(key, "Merkle root or tree size does not match the leaves")
        else:
            seen_format_2 = True
            _check_format_2(storage, entry, size_before, root_before, keys, scan)
        previous, previous_sha = entry, entry.sha256
        scan.entries.append(entry)
    if not scan.complete:
        scan.leaf_hashes = []
        scan.leaves = []
    return scan


def _read_entry(storage: Storage, seq: int, files: set[str] | None, scan: LogScan) -> SealEntry | None:
    key = seal_key(seq)
    if files is None:
        scan.add(key, "seal missing (deleted): the chain is broken here")
        return None
    if SEAL_BODY not in files or SEAL_ENVELOPE not in files:
        scan.add(key, f"incomplete seal: has {sorted(files)}")
        return None
    for extra in sorted(files - {SEAL_BODY, SEAL_ENVELOPE, CHECKPOINT}):
        scan.add(f"{key}/{extra}", "file that is not part of a seal (added)")
    body = storage.get(f"{key}/{SEAL_BODY}")
    try:
        doc = json.loads(body)
        sealed_at = to_utc(dt.datetime.fromisoformat(doc["sealed_at"]))
        fmt = doc.get("format", SEAL_FORMAT_1)
        leaves = [(str(leaf["record"]), str(leaf["manifest_sha256"])) for leaf in doc.get("leaves", [])]
        for _, sha in leaves:
            if len(bytes.fromhex(sha)) != 32:
                raise ValueError(f"manifest_sha256 {sha!r} is not 32 bytes")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        scan.add(key, f"unreadable seal body: {exc!r}")
        return None
    if fmt not in (SEAL_FORMAT_1, SEAL_FORMAT):
        scan.add(key, f"unknown seal format {fmt!r}")
        return None
    note = None
    if fmt == SEAL_FORMAT:
        if CHECKPOINT not in files:
            scan.add(key, f"incomplete seal: has {sorted(files)} (no {CHECKPOINT})")
            return None
        note = storage.get(f"{key}/{CHECKPOINT}").decode("utf-8", errors="replace")
    return SealEntry(seq, fmt, body, doc, sha256_bytes(body), sealed_at, leaves, note=note)


def _check_format_2(
    storage: Storage,
    entry: SealEntry,
    size_before: int | None,
    root_before: bytes | None,
    keys: TrustedKeys | None,
    scan: LogScan,
) -> None:
    """Sizes, root and proof of a format-2 seal against the tree rebuilt from the leaves, and its
    checkpoint against the body (same text, signed by a trusted key valid at ``sealed_at``)."""
    key, doc = entry.key, entry.doc
    try:
        stated_before, stated_size = int(doc["tree_size_before"]), int(doc["tree_size"])
        stated_root = bytes.fromhex(doc["root_hash"])
        proof = entry.proof
    except (KeyError, ValueError, TypeError) as exc:
        scan.add(key, f"unreadable seal body: {exc!r}")
        return
    if stated_size != stated_before + len(entry.leaves):
        scan.add(
            key,
            f"tree_size {stated_size} is not tree_size_before {stated_before} + {len(entry.leaves)} leaves",
        )
    if size_before is not None and stated_before != size_before:
        scan.add(key, f"tree_size_before {stated_before}, but the seals before it hold {size_before} leaves")
    if entry.root is not None and (stated_root != entry.root or stated_size != entry.tree_size):
        scan.add(key, "root_hash or tree_size does not match the log's leaves up to this seal")
    if root_before is not None and size_before == stated_before:
        try:
            verify_consistency(stated_before, stated_size, root_before, stated_root, proof)
        except ProofError as exc:
            scan.add(key, f"consistency proof from tree size {stated_before}: {exc}")
    try:
        checkpoint = parse_checkpoint(str(doc.get("checkpoint")))
    except NoteError as exc:
        scan.add(key, f"checkpoint text in seal.json: {exc}")
        return
    if (checkpoint.size, checkpoint.root) != (stated_size, stated_root):
        scan.add(key, "checkpoint in seal.json names another tree size or root than the seal")
    if scan.origin is None:
        scan.origin = checkpoint.origin
    elif checkpoint.origin != scan.origin:
        scan.add(key, f"checkpoint origin {checkpoint.origin!r}, earlier checkpoints name {scan.origin!r}")
    try:
        text, _ = parse_note(entry.note or "")
    except NoteError as exc:
        scan.add(f"{key}/{CHECKPOINT}", f"malformed checkpoint note: {exc}")
        return
    if text != doc["checkpoint"]:
        scan.add(f"{key}/{CHECKPOINT}", "checkpoint note's text differs from the checkpoint in seal.json")
    elif keys is not None:
        try:
            open_checkpoint(entry.note or "", keys, entry.sealed_at)
        except NoteError as exc:
            scan.add(f"{key}/{CHECKPOINT}", str(exc))


class ProveError(LookupError):
    """No inclusion proof can be given for that record (not sealed, no checkpoint, broken log)."""


@dataclass(frozen=True)
class InclusionProof:
    """That ``record`` (leaf data: its manifest's SHA-256) is leaf ``leaf_index`` of the tree the
    signed ``checkpoint`` of seal ``seal`` names."""

    record: str
    manifest_sha256: str
    leaf_index: int
    tree_size: int
    path: list[bytes]
    checkpoint: str
    seal: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": "aimsflow-inclusion-proof/1",
            "record": self.record,
            "manifest_sha256": self.manifest_sha256,
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "inclusion_path": [h.hex() for h in self.path],
            "checkpoint": self.checkpoint,
            "seal": self.seal,
        }


def prove_inclusion(storage: Storage, record: str) -> InclusionProof:
    """The inclusion proof of ``record`` against the log's latest checkpoint (RFC 6962 PATH), checked
    here before it is given out. Signatures are not checked: that is verify's job."""
    scan = scan_log(storage)
    if not scan.complete:
        obj, problem = scan.problems[0]
        raise ProveError(f"the log is broken ({obj}: {problem}); run `aimsflow evidence verify`")
    index = next((i for i, (key, _) in enumerate(scan.leaves) if key == record), None)
    if index is None:
        raise ProveError(f"{record} is in no seal: pending (the next seal takes it in) or not a record here")
    latest = next((e for e in reversed(scan.entries) if e.format == SEAL_FORMAT), None)
    if latest is None or latest.note is None or latest.tree_size is None or latest.root is None:
        raise ProveError("the log has no checkpoint yet (format-1 seals only): the next seal writes one")
    if index >= latest.tree_size:
        raise ProveError(f"{record} is after the latest checkpoint (tree size {latest.tree_size})")
    path = inclusion_proof(scan.leaf_hashes, index, latest.tree_size)
    try:
        verify_inclusion(index, latest.tree_size, scan.leaf_hashes[index], path, latest.root)
    except ProofError as exc:
        raise ProveError(f"the log's leaves do not give seal {latest.sequence}'s root: {exc}") from None
    return InclusionProof(
        record, scan.leaves[index][1], index, latest.tree_size, path, latest.note, latest.sequence
    )
