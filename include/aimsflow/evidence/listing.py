"""Which record counts: for one check, subject and period the latest final try of the latest run is
the current verdict; earlier records stay as history, marked superseded, never removed.

Readers that decide something from records (risk signals, the nonconformity ledger and closing,
custody, ``aimsflow evidence list``) load them with :func:`load_verified`: only records whose DSSE
signature verifies against the trusted keys are read, and every other record folder (forged,
unsigned, edited, copied elsewhere, dated in the future) is returned as an :class:`Untrusted`
finding for the reader to report. Key validity is judged at the time of the seal that covers the
record, else at the moment of reading (never at the record's own, self-declared end). Seal positions
come from the verified log only: a seal that does not verify, or a stray object under ``seals/``,
is a finding too and places nothing. A leaf of the verified log whose folder is gone (unless a tombstone
verify accepts names it) or whose manifest is not the sealed one is a finding as well: deleting a record
must not change a verdict. :func:`load_summaries` reads without verifying: for counting (the driver's
table), never for deciding.

Records also carry their place in the evidence log (:attr:`RecordSummary.log_position`): sealed
records by seal sequence and place among the seal's leaves, then records not sealed yet by the time
they ended. Orderings that must not depend on a self-declared ``run_after`` use it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aimsflow.evidence.record import ENVELOPE, MANIFEST, record_key
from aimsflow.evidence.seal import read_seal, record_keys, sealed_keys
from aimsflow.evidence.storage import Storage
from aimsflow.evidence.trust import UntrustedRecord, read_verified
from aimsflow.periods import Period
from aimsflow.results import Status, sha256_bytes

if TYPE_CHECKING:
    from aimsflow.evidence.keys import TrustedKeys

#: How far a record's end may lie ahead of the reader's clock (workers' clocks differ a little).
CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass
class RecordSummary:
    key: str
    record_id: str
    check: str
    subject: dict[str, str | None]
    period: Period
    status: Status
    controls: list[str]
    producer: dict[str, Any]
    started_at: dt.datetime
    ended_at: dt.datetime
    summary: dict[str, Any]
    sealed_in: int | None = None
    superseded: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    leaf: int | None = None  # place among the leaves of the seal that covers it

    @property
    def log_position(self) -> tuple[int, int, int, float, str]:
        """Where the record stands in the evidence log: sealed records first, by seal sequence and
        place among the seal's leaves; records not sealed yet after them, by the time they ended."""
        if self.sealed_in is not None:
            return (0, self.sealed_in, self.leaf or 0, 0.0, self.key)
        return (1, 0, 0, self.ended_at.timestamp(), self.key)

    @property
    def dag_id(self) -> str | None:
        return self.producer.get("dag_id")

    @property
    def verdict_key(self) -> tuple[str, str, str, str, str, str]:
        """What one verdict is about. Records of documents (manual evidence: ``summary.document_id``)
        are one verdict per document: two documents ingested in one run are both current, and a
        newer version of a document supersedes the earlier one in its period."""
        s = self.subject
        return (
            self.check,
            s.get("ai_system") or "",
            s.get("dataset") or "",
            s.get("partition") or "",
            self.period.label,
            str(self.summary.get("document_id") or ""),
        )

    @property
    def order(self) -> tuple[str, int, str]:
        """Later runs win; within a run the higher try wins. Runs are ordered by ``run_after``."""
        p = self.producer
        return (
            p.get("run_after") or self.started_at.isoformat(),
            p.get("try_number") or 0,
            self.ended_at.isoformat(),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "record_id": self.record_id,
            "check": self.check,
            "subject": self.subject,
            "period": self.period.as_dict(),
            "status": str(self.status),
            "controls": self.controls,
            "producer": self.producer,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "summary": self.summary,
            "sealed_in": self.sealed_in,
            "superseded": self.superseded,
        }


@dataclass(frozen=True)
class SealPosition:
    sequence: int
    leaf: int
    sealed_at: dt.datetime | None
    manifest_sha256: str | None = None  # the leaf's data: SHA-256 of the sealed manifest.json


def seal_positions(storage: Storage) -> dict[str, SealPosition]:
    """Record key -> the seal that covers it (``sealed_keys``), its place among that seal's leaves
    and the seal's time (``read_seal(...)["sealed_at"]``; None when the seal body gives none)."""
    first = sealed_keys(storage)
    bodies: dict[int, tuple[dict[str, int], dt.datetime | None]] = {}
    for seq in sorted(set(first.values())):
        body = read_seal(storage, seq)[1]
        listed = body.get("leaves") if isinstance(body.get("leaves"), list) else []
        leaves = {leaf.get("record"): i for i, leaf in enumerate(listed) if isinstance(leaf, dict)}
        try:
            sealed_at: dt.datetime | None = dt.datetime.fromisoformat(body["sealed_at"])
        except (KeyError, TypeError, ValueError):
            sealed_at = None
        bodies[seq] = (leaves, sealed_at)
    return {key: SealPosition(seq, bodies[seq][0].get(key, 0), bodies[seq][1]) for key, seq in first.items()}


def verified_seal_positions(
    storage: Storage, keys: TrustedKeys
) -> tuple[dict[str, SealPosition], list[Untrusted]]:
    """Record key -> position, from the seals of the verified log only (:func:`tlog.scan_log` with
    ``keys``), and the log's problems as findings. A seal with any problem places nothing: a reader
    must not order by, or judge keys at the time of, a seal body nobody signed (found in review: an
    unsigned ``seals/00000000/seal.json`` reordered the nonconformity ledger)."""
    from aimsflow.evidence.tlog import scan_log

    scan = scan_log(storage, keys)
    broken = {obj for obj, _ in scan.problems}
    out: dict[str, SealPosition] = {}
    for entry in scan.entries:
        if entry.key in broken:
            continue
        for place, (record, sha) in enumerate(entry.leaves):
            out.setdefault(record, SealPosition(entry.sequence, place, entry.sealed_at, sha))
    return out, [Untrusted(obj, problem) for obj, problem in scan.problems]


def summary_of(key: str, predicate: dict[str, Any], position: SealPosition | None) -> RecordSummary:
    """A record's summary from its manifest's predicate (raises KeyError/ValueError when malformed)."""
    return RecordSummary(
        key=key,
        record_id=predicate["record_id"],
        check=predicate["check"],
        subject=predicate["subject"],
        period=Period.from_dict(predicate["period"]),
        status=Status(predicate["status"]),
        controls=predicate["controls"],
        producer=predicate["producer"],
        started_at=dt.datetime.fromisoformat(predicate["started_at"]),
        ended_at=dt.datetime.fromisoformat(predicate["ended_at"]),
        summary=predicate.get("summary") or {},
        sealed_in=position.sequence if position else None,
        leaf=position.leaf if position else None,
    )


def load_summaries(
    storage: Storage, progress: Callable[[int, int], None] | None = None
) -> list[RecordSummary]:
    """Every record's summary, with supersession and sealing marked, WITHOUT verifying signatures:
    for counting only; a reader that decides something uses :func:`load_verified`.
    ``progress(done, total)`` is called once per record read (a large store takes a while)."""
    positions = seal_positions(storage)
    out = []
    keys = record_keys(storage)
    for done, key in enumerate(keys, 1):
        if progress is not None:
            progress(done, len(keys))
        try:
            p = json.loads(storage.get(f"{key}/{MANIFEST}"))["predicate"]
            out.append(summary_of(key, p, positions.get(key)))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable records are verify's business, not the listing's
    mark_superseded(out)
    return out


@dataclass(frozen=True)
class Untrusted:
    """A record folder a reader did not read, and why: reported as a finding, never counted."""

    key: str
    problem: str

    def as_dict(self) -> dict[str, str]:
        return {"record": self.key, "problem": self.problem}


@dataclass
class Loaded:
    """What :func:`load_verified` read: the verified records (supersession marked among them only),
    their verified predicates by key, and the folders it refused."""

    records: list[RecordSummary]
    rejected: list[Untrusted]
    predicates: dict[str, dict[str, Any]]


def record_folders(storage: Storage) -> tuple[list[str], set[str], set[str]]:
    """(every folder under ``records/`` holding a manifest or an envelope, those with a manifest,
    those with an envelope): a folder with only one of them is a finding too."""
    manifests = set(storage.iter_dirs_with("records", MANIFEST))
    envelopes = set(storage.iter_dirs_with("records", ENVELOPE))
    return sorted(manifests | envelopes), manifests, envelopes


def _verified_summary(
    storage: Storage,
    key: str,
    keys: TrustedKeys,
    position: SealPosition | None,
    now: dt.datetime,
) -> tuple[RecordSummary, dict[str, Any]]:
    """The summary and predicate of ``key`` once it verifies; raises :class:`UntrustedRecord`."""
    judged_at = position.sealed_at if position is not None else now
    verified = read_verified(storage, key, keys, judged_at)
    if position is not None and position.manifest_sha256 not in (None, sha256_bytes(verified.manifest)):
        raise UntrustedRecord(key, f"manifest differs from the one sealed in seal {position.sequence}")
    predicate = verified.predicate
    try:
        summary = summary_of(key, predicate, position)
        written_at = record_key(summary.period, summary.check, summary.record_id)
    except (KeyError, ValueError, TypeError) as exc:
        raise UntrustedRecord(key, f"unreadable manifest: {exc!r}") from None
    if written_at != key:
        raise UntrustedRecord(key, f"manifest names the record {written_at}, not this folder")
    if position is None and summary.ended_at > now + CLOCK_SKEW:
        raise UntrustedRecord(
            key,
            f"ended at {summary.ended_at.isoformat()}, in the future (read at {now.isoformat()}): "
            "key validity cannot be judged at a moment that has not come",
        )
    return summary, predicate


def missing_leaves(
    storage: Storage,
    keys: TrustedKeys,
    positions: dict[str, SealPosition],
    folders: set[str],
    only: Callable[[str], bool] | None = None,
) -> list[Untrusted]:
    """Every leaf of the verified log whose record folder is gone, as a finding, unless it was lawfully
    disposed of: a trusted tombstone names it with the leaf's manifest SHA-256 and seal and is backed
    by a verified certificate and plan (verify's own acceptance, :func:`verify.disposal_tombstones`).
    Without this a deleted sealed record simply vanished from every reader, and an older record of
    the same check became the current verdict (found in review: a deleted failing record turned a
    control's verdict to passed). Tombstones are read only when a leaf is gone."""
    gone = sorted(k for k in positions if k not in folders and (only is None or only(k)))
    if not gone:
        return []
    from aimsflow.evidence.verify import disposal_tombstones

    tombstones = disposal_tombstones(storage, keys, folders)
    out = []
    for key in gone:
        seq, sha = positions[key].sequence, positions[key].manifest_sha256
        named = tombstones.get(key, [])
        match = [t for t in named if t.manifest_sha256 == sha and t.sealed_in == seq]
        if any(t.problem is None for t in match):
            continue  # lawfully disposed of
        where = f"sealed in seal {seq}, missing from the store"
        if match:
            problem = f"{where}; tombstone {match[0].key} is not a lawful disposal: {match[0].problem}"
        elif named:
            problem = (
                f"{where}; tombstone {named[0].key} names manifest {named[0].manifest_sha256[:12]} in seal "
                f"{named[0].sealed_in}, not the sealed {(sha or '')[:12]} (not a lawful disposal)"
            )
        else:
            problem = f"{where} (deleted record)"
        out.append(Untrusted(key, problem))
    return out


#: Records per batch handed to a verifying thread (Ed25519 and file reads release the GIL).
VERIFY_BATCH = 256


def load_verified(
    storage: Storage,
    keys: TrustedKeys,
    progress: Callable[[int, int], None] | None = None,
    now: dt.datetime | None = None,
    workers: int | None = None,
    only: Callable[[str], bool] | None = None,
) -> Loaded:
    """Every record whose DSSE signature verifies against ``keys``, judged at the time of the seal
    that covers it (else at ``now``; its own end must not lie after ``now``), with supersession marked
    among the verified records only; every other record folder is an :class:`Untrusted` finding, and
    so is every leaf of the verified log whose folder is gone without a lawful disposal
    (:func:`missing_leaves`) or whose manifest is not the sealed one.
    File hashes are not re-computed: that is verify's job. Batches of records are verified on
    ``workers`` threads (default: one per CPU); the result does not depend on their number.
    ``only(key)``: read only the record folders it accepts (a reader of one check need not verify
    the whole store); the log's problems are reported all the same."""
    now = now or dt.datetime.now(dt.UTC)
    positions, log_problems = verified_seal_positions(storage, keys)
    folders, manifests, envelopes = record_folders(storage)
    if only is not None:
        folders = [f for f in folders if only(f)]

    def verify(batch: list[str]) -> list[tuple[RecordSummary, dict[str, Any]] | Untrusted]:
        out: list[tuple[RecordSummary, dict[str, Any]] | Untrusted] = []
        for key in batch:
            missing = [n for n, found in ((MANIFEST, manifests), (ENVELOPE, envelopes)) if key not in found]
            if missing:
                out.append(Untrusted(key, f"unreadable record: no {missing[0]}"))
                continue
            try:
                out.append(_verified_summary(storage, key, keys, positions.get(key), now))
            except UntrustedRecord as exc:
                out.append(Untrusted(exc.key, exc.problem))
        return out

    records: list[RecordSummary] = []
    predicates: dict[str, dict[str, Any]] = {}
    rejected: list[Untrusted] = list(log_problems)
    rejected += missing_leaves(storage, keys, positions, manifests | envelopes, only)
    batches = [folders[i : i + VERIFY_BATCH] for i in range(0, len(folders), VERIFY_BATCH)]
    done = 0
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        for results in pool.map(verify, batches):  # in order: the result is the same as serially
            for item in results:
                if isinstance(item, Untrusted):
                    rejected.append(item)
                else:
                    records.append(item[0])
                    predicates[item[0].key] = item[1]
            done += len(results)
            if progress is not None:
                progress(done, len(folders))
    mark_superseded(records)
    return Loaded(records, rejected, predicates)


def mark_superseded(records: list[RecordSummary]) -> None:
    groups: dict[tuple[str, ...], list[RecordSummary]] = defaultdict(list)
    for rec in records:
        groups[rec.verdict_key].append(rec)
    for group in groups.values():
        latest = max(group, key=lambda r: r.order)
        for rec in group:
            rec.superseded = rec is not latest


def read_record_file(storage: Storage, key: str, name: str, predicate: dict[str, Any]) -> bytes:
    """A result file of a verified record, only when its SHA-256 is the one the signed manifest lists
    for it; raises :class:`UntrustedRecord` (key ``<record>/<name>``) when it is not listed, missing
    or changed. A signature covers the manifest only: a file edited beside it must not be read."""
    listed = {f.get("path"): f.get("sha256") for f in predicate.get("files") or []}
    where = f"{key}/{name}"
    if name not in listed:
        raise UntrustedRecord(where, "file not listed in the signed manifest")
    try:
        data = storage.get(where)
    except OSError as exc:
        raise UntrustedRecord(where, f"unreadable file: {exc.strerror or exc}") from None
    if sha256_bytes(data) != listed[name]:
        raise UntrustedRecord(where, "file differs from the SHA-256 in the signed manifest (edited)")
    return data


def filter_records(
    records: list[RecordSummary],
    *,
    control: str | None = None,
    dag: str | None = None,
    check: str | None = None,
    ai_system: str | None = None,
    dataset: str | None = None,
    status: str | None = None,
    period: Period | None = None,
    history: bool = False,
) -> list[RecordSummary]:
    def keep(r: RecordSummary) -> bool:
        return (
            (history or not r.superseded)
            and (control is None or control in r.controls)
            and (dag is None or r.dag_id == dag)
            and (check is None or r.check == check or r.check.startswith(check.rstrip("/") + "/"))
            and (ai_system is None or r.subject.get("ai_system") == ai_system)
            and (dataset is None or r.subject.get("dataset") == dataset)
            and (status is None or str(r.status) == status)
            and (period is None or r.period.overlaps(period))
        )

    return sorted(filter(keep, records), key=lambda r: (r.period.start, r.check, r.order))
