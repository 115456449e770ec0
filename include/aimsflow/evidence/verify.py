"""Verify the store: every file hash, every signature, the transparency log (every seal, checkpoint
and consistency proof, rebuilt from the leaves), coverage, the witness and the spec blobs. Key
validity is judged at a time the signer does not choose alone: a sealed record's checkpoint time, a
pending record's now.

Exit-worthy problems name the broken object; records not yet in a seal are reported as pending,
not as problems (the next ``evidence_seal`` run covers them).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from aimsflow import settings
from aimsflow.evidence.dsse import PAYLOAD_TYPE
from aimsflow.evidence.intents import check_intents
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.record import ENVELOPE, MANIFEST, record_key
from aimsflow.evidence.specs import SPECS_PREFIX, is_blob_name
from aimsflow.evidence.storage import Storage
from aimsflow.evidence.tlog import LogScan, SealHead, scan_log, seal_key
from aimsflow.evidence.trust import check_signature
from aimsflow.evidence.witness import Witness, WitnessState
from aimsflow.evidence.witness import compare as compare_witness
from aimsflow.jobs import Check
from aimsflow.periods import Period, to_utc
from aimsflow.results import sha256_bytes

#: The tombstone records ``retention_disposal`` writes for each evidence record it disposes of; declared
#: here because verify reads them (and must not import the retention package).
TOMBSTONE = Check(
    "retention_disposal/tombstone",
    ("7.5.3",),
    "a sealed evidence record lawfully disposed of: its manifest hash, seal and certificate",
)
TOMBSTONE_CHECK = TOMBSTONE.id


@dataclass(frozen=True)
class Problem:
    object: str
    problem: str

    def __str__(self) -> str:
        return f"{self.object}: {self.problem}"


@dataclass
class VerifyReport:
    records_checked: int = 0
    files_checked: int = 0
    bytes_hashed: int = 0
    seals_checked: int = 0
    spec_blobs_checked: int = 0
    pending: list[str] = field(default_factory=list)
    # Sealed records that are gone because a valid tombstone names them: lawfully disposed of.
    disposed: list[dict[str, str | int | bool]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    head: SealHead | None = None
    witness: WitnessState | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, obj: str, problem: str) -> None:
        self.problems.append(Problem(obj, problem))

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "records_checked": self.records_checked,
            "files_checked": self.files_checked,
            "bytes_hashed": self.bytes_hashed,
            "seals_checked": self.seals_checked,
            "spec_blobs_checked": self.spec_blobs_checked,
            "head": self.head.as_dict() if self.head else None,
            "witness": self.witness.as_dict() if self.witness else None,
            "pending": self.pending,
            "disposed": self.disposed,
            "problems": [{"object": p.object, "problem": p.problem} for p in self.problems],
        }


def _group_files(storage: Storage, prefix: str) -> dict[str, set[str]]:
    """Folder key -> names of the files directly in it, for every folder under ``prefix``."""
    if not storage.exists(prefix):
        return {}
    out: dict[str, set[str]] = defaultdict(set)
    for rel in storage.list_files(prefix):
        folder, _, name = f"{prefix}/{rel}".rpartition("/")
        out[folder].add(name)
    return out


def _verify_seals(
    scan: LogScan, report: VerifyReport
) -> tuple[dict[str, list[tuple[int, str]]], dict[int, dt.datetime]]:
    """Report the log's problems (:func:`scan_log` checks every seal); return record key -> [(seal
    sequence, manifest sha256)] from every leaf, and seal sequence -> its checkpoint time."""
    for obj, problem in scan.problems:
        report.add(obj, problem)
    leaves: dict[str, list[tuple[int, str]]] = defaultdict(list)
    times: dict[int, dt.datetime] = {}
    for entry in scan.entries:
        report.seals_checked += 1
        times[entry.sequence] = entry.sealed_at
        for record, sha in entry.leaves:
            leaves[record].append((entry.sequence, sha))
    report.head = scan.head
    return leaves, times


def _verify_witness(
    witness: Witness, scan: LogScan, report: VerifyReport, oldest: dt.datetime | None, now: dt.datetime
) -> None:
    """The store must hold what the witness accepted (else: rolled back, truncated or rewritten), and
    every seal must be witnessed. A missing or empty witness is a problem once the store has seals or
    records older than one seal interval: by then they should have been sealed and witnessed."""
    try:
        state = witness.read()
    except ValueError as exc:
        report.add("witness", str(exc))
        return
    report.witness = state
    interval = dt.timedelta(hours=settings.seal_interval_hours())
    if state is None or state.empty:
        what = f"no witness at {witness.describe()}" if state is None else "the witness is empty"
        if scan.last_sequence and state is None:
            report.add(
                "witness",
                f"{what} while the store has seals: the witness was deleted or never started "
                "(`aimsflow witness init` starts one; restore a deleted one from its backup)",
            )
            return
        if not scan.last_sequence and oldest is not None and oldest < now - interval:
            report.add(
                "witness",
                f"{what} while the store holds records older than one seal interval "
                f"({interval.total_seconds() / 3600:g} h, since {oldest.isoformat()}) and no seal: seals were "
                "deleted with the witness, or sealing never started",
            )
            return
    if state is None:
        return
    found = compare_witness(state, scan)
    if found:
        report.add(*found)
    elif scan.last_sequence > state.sequence:
        report.add(seal_key(scan.last_sequence), f"seals after {state.sequence} are not witnessed yet")


#: The records a tombstone must be backed by (declared by ``retention_disposal``; verify reads them and
#: must not import the retention package, so the ids are derived here from the tombstone's DAG).
DISPOSAL_CERTIFICATE_CHECK = f"{TOMBSTONE.dag_id}/certificate"
DISPOSAL_PLAN_CHECK = f"{TOMBSTONE.dag_id}/plan"
DISPOSAL_PLAN_FILE = "plan.json"
_EXECUTABLE_PLAN = {"passed", "warning"}


@dataclass(frozen=True)
class Tombstone:
    key: str
    record: str
    manifest_sha256: str
    sealed_in: int
    plan_record: str = ""
    certificate: str = ""
    disposed_at: str = ""
    # Why this tombstone cannot make a deletion lawful (no verified certificate, or no verified plan
    # that listed the record as expired before the disposal); None: it can.
    problem: str | None = None


def _signed_predicate(
    storage: Storage, keys: TrustedKeys, key: str, check: str, record_folders: set[str]
) -> tuple[dict, bytes]:
    """(predicate, manifest) of a record whose signature verifies, of check ``check``, at the place its
    manifest names; raises ValueError naming the problem."""
    if key not in record_folders:
        raise ValueError(f"{key} is not in the store")
    try:
        manifest = storage.get(f"{key}/{MANIFEST}")
        predicate = json.loads(manifest)["predicate"]
        ended_at = dt.datetime.fromisoformat(predicate["ended_at"])
        where = record_key(
            Period.from_dict(predicate["period"]), str(predicate["check"]), predicate["record_id"]
        )
        envelope = storage.get(f"{key}/{ENVELOPE}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{key} is unreadable: {exc!r}") from None
    if predicate.get("check") != check:
        raise ValueError(f"{key} is a {predicate.get('check')!r} record, not {check}")
    if where != key:
        raise ValueError(f"{key} is not at the place its manifest names")
    problem = check_signature(envelope, manifest, PAYLOAD_TYPE, keys, ended_at)
    if problem is not None:
        raise ValueError(f"{key} does not verify: {problem}")
    return predicate, manifest


def _plan_document(
    storage: Storage, keys: TrustedKeys, key: str, record_folders: set[str], cache: dict
) -> tuple[dict, str, dt.datetime]:
    """(plan.json, manifest SHA-256, signed at) of a verified plan record (cached per verify run)."""
    if key not in cache:
        try:
            predicate, manifest = _signed_predicate(storage, keys, key, DISPOSAL_PLAN_CHECK, record_folders)
            if predicate.get("status") not in _EXECUTABLE_PLAN:
                raise ValueError(f"{key} is a {predicate.get('status')!r} plan: nothing of it is executed")
            body = storage.get(f"{key}/{DISPOSAL_PLAN_FILE}")
            listed = {f["path"]: f["sha256"] for f in predicate.get("files", [])}
            if listed.get(DISPOSAL_PLAN_FILE) != sha256_bytes(body):
                raise ValueError(f"{key}/{DISPOSAL_PLAN_FILE} differs from its signed manifest")
            doc = json.loads(body)
            cache[key] = (doc, sha256_bytes(manifest), dt.datetime.fromisoformat(predicate["ended_at"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            cache[key] = ValueError(str(exc))
    found = cache[key]
    if isinstance(found, ValueError):
        raise found
    return found


def _disposal_basis(
    storage: Storage, keys: TrustedKeys, tomb: Tombstone, record_folders: set[str], plans: dict
) -> str | None:
    """None when ``tomb`` is backed by a verified certificate of this disposal and a verified plan that
    listed the record, with the sealed manifest hash, as expired and approved before the disposal;
    else what is missing."""
    obj = f"evidence/{tomb.record}"
    try:
        if not tomb.certificate:
            raise ValueError("the tombstone names no certificate")
        certificate, _ = _signed_predicate(
            storage, keys, tomb.certificate, DISPOSAL_CERTIFICATE_CHECK, record_folders
        )
        cert = certificate.get("summary") or {}
        approved = cert.get("approved_by") or {}
        wrong = [
            name
            for name, got, want in (
                ("object", cert.get("object"), obj),
                ("sha256_before", cert.get("sha256_before"), tomb.manifest_sha256),
                ("tombstone", cert.get("tombstone"), tomb.key),
                ("plan_record", approved.get("plan_record"), tomb.plan_record),
            )
            if got != want
        ]
        if wrong:
            raise ValueError(f"certificate {tomb.certificate} is about another disposal ({', '.join(wrong)})")
    except ValueError as exc:
        return f"no verified certificate: {exc}"
    try:
        if not tomb.plan_record:
            raise ValueError("the tombstone names no plan")
        doc, plan_sha, planned_at = _plan_document(storage, keys, tomb.plan_record, record_folders, plans)
        if approved.get("plan_manifest_sha256") != plan_sha:
            raise ValueError(f"the certificate approves another version of plan {tomb.plan_record}")
        item = next((i for i in doc.get("delete") or [] if i.get("object_id") == obj), None)
        if item is None or item.get("sha256") != tomb.manifest_sha256:
            raise ValueError(
                f"plan {tomb.plan_record} does not list {obj} with the sealed manifest for deletion"
            )
        if not (item.get("expired") and item.get("approved")):
            raise ValueError(f"plan {tomb.plan_record} does not list {obj} as expired and approved")
        disposed_at = dt.datetime.fromisoformat(tomb.disposed_at)
        if planned_at > disposed_at:
            raise ValueError(
                f"plan {tomb.plan_record} was signed at {planned_at.isoformat()}, after the disposal "
                f"({disposed_at.isoformat()}): it did not list the record as expired before the disposal"
            )
    except (ValueError, KeyError, TypeError) as exc:
        return f"no verified plan: {exc}"
    return None


def _tombstones(storage: Storage, keys: TrustedKeys, record_folders: set[str]) -> dict[str, list[Tombstone]]:
    """Disposed record -> the tombstones naming it. Only a tombstone that is where its manifest puts it
    and is signed by a key trusted at its ``ended_at`` counts; sealed or still pending (its run's seal
    or the next daily one covers it; the record checks judge a pending record's key at verify time,
    so a backdated one is reported there). Each carries whether it is backed by a
    verified certificate and plan (:func:`_disposal_basis`); whatever is wrong with the tombstone
    record itself is reported by the record checks like for any record."""
    out: dict[str, list[Tombstone]] = defaultdict(list)
    plans: dict = {}
    marker = "/" + TOMBSTONE_CHECK + "/"
    for key in sorted(record_folders):
        if marker not in key:
            continue
        try:
            manifest = storage.get(f"{key}/{MANIFEST}")
            predicate = json.loads(manifest)["predicate"]
            if predicate.get("check") != TOMBSTONE_CHECK:
                continue
            ended_at = dt.datetime.fromisoformat(predicate["ended_at"])
            where = record_key(Period.from_dict(predicate["period"]), TOMBSTONE_CHECK, predicate["record_id"])
            summary = predicate["summary"]
            tomb = Tombstone(
                key,
                str(summary["disposed_record"]),
                str(summary["manifest_sha256"]),
                int(summary["sealed_in"]),
                str(summary.get("plan_record") or ""),
                str(summary.get("certificate") or ""),
                str(summary.get("disposed_at") or ""),
            )
            envelope = storage.get(f"{key}/{ENVELOPE}")
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if where != key or check_signature(envelope, manifest, PAYLOAD_TYPE, keys, ended_at) is not None:
            continue
        problem = _disposal_basis(storage, keys, tomb, record_folders, plans)
        out[tomb.record].append(replace(tomb, problem=problem))
    return out


def disposal_tombstones(
    storage: Storage, keys: TrustedKeys, record_folders: set[str]
) -> dict[str, list[Tombstone]]:
    """Disposed record -> the trusted tombstones naming it, each with :attr:`Tombstone.problem` (None:
    backed by a verified certificate and plan). Verify's own acceptance, for the verified readers
    (:func:`aimsflow.evidence.listing.load_verified`) that must tell a lawful disposal from a deletion."""
    return _tombstones(storage, keys, record_folders)


def _check_disposals(
    leaves: dict[str, list[tuple[int, str]]],
    tombstones: dict[str, list[Tombstone]],
    record_folders: set[str],
    pending: set[str],
    period: Period | None,
    report: VerifyReport,
) -> None:
    """A sealed record that is gone is a deleted record, unless a tombstone names it with the manifest
    SHA-256 and the seal its leaf has, backed by a verified certificate and a verified plan that
    listed it as expired before the disposal: then it was lawfully disposed of. A tombstone naming a
    record that is still there, or one no seal covers, is a problem (a forged or misplaced tombstone)."""
    for record, seals in sorted(leaves.items()):
        if record in record_folders or not (period is None or _leaf_in_period(record, period)):
            continue
        seq, sealed_sha = seals[0]
        named = tombstones.get(record, [])
        match = [t for t in named if t.manifest_sha256 == sealed_sha and t.sealed_in == seq]
        lawful = [t for t in match if t.problem is None]
        if lawful:
            tomb = lawful[0]
            report.disposed.append(
                {
                    "record": record,
                    "sealed_in": seq,
                    "tombstone": tomb.key,
                    "tombstone_sealed": tomb.key not in pending,
                }
            )
        elif match:
            report.add(
                record,
                f"sealed in seal {seq} but missing from the store; tombstone {match[0].key} is not a lawful "
                f"disposal: {match[0].problem}",
            )
        elif named:
            report.add(
                record,
                f"sealed in seal {seq} but missing from the store; tombstone {named[0].key} names manifest "
                f"{named[0].manifest_sha256[:12]} in seal {named[0].sealed_in}, not the sealed {sealed_sha[:12]} "
                f"in seal {seq} (not a lawful disposal)",
            )
        else:
            report.add(record, f"sealed in seal {seq} but missing from the store (deleted record)")
    for record, named in sorted(tombstones.items()):
        if period is not None and not _leaf_in_period(record, period):
            continue
        for tomb in named:
            if record in record_folders:
                report.add(tomb.key, f"tombstone names {record}, which is still in the store")
            elif record not in leaves:
                report.add(tomb.key, f"tombstone names {record}, which no seal covers")


def verify_store(
    storage: Storage,
    keys: TrustedKeys,
    witness: Witness,
    period: Period | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    now: dt.datetime | None = None,
) -> VerifyReport:
    """Verify the whole store (records restricted to ``period`` when given). ``now`` is the time
    pending records' keys are judged at and records are aged by (default: the clock)."""
    report = VerifyReport()
    now = to_utc(now) if now is not None else dt.datetime.now(dt.UTC)
    scan = scan_log(storage, keys)
    leaves, seal_times = _verify_seals(scan, report)
    oldest: dt.datetime | None = None

    folders = _group_files(storage, "records")
    record_folders = {f for f, names in folders.items() if ENVELOPE in names or MANIFEST in names}
    record_files: dict[str, set[str]] = defaultdict(set)
    for folder, names in folders.items():
        owner = next((a for a in _ancestors(folder) if a in record_folders), None)
        if owner is None:
            report.add(folder, f"files outside any record: {sorted(names)}")
            continue
        prefix = folder.removeprefix(owner).lstrip("/")
        record_files[owner].update(f"{prefix}/{n}" if prefix else n for n in names)

    # Signatures and file hashes go to the pool in batches while this thread goes on listing, reading
    # and parsing manifests: Ed25519 and SHA-256 both release the GIL, so the three overlap instead of
    # running one phase after the other.
    pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2)
    futures: list[Future[_BatchResult]] = []
    batch = _Batch()
    total = 0
    checked_records: list[str] = []
    # Spec SHA-256 -> (record, spec path) of every checked record naming it.
    spec_refs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    try:
        for key in sorted(record_folders):
            names = record_files[key]
            if MANIFEST not in names or ENVELOPE not in names:
                report.add(
                    key, f"record lacks {MANIFEST if MANIFEST not in names else ENVELOPE} (deleted file)"
                )
                continue
            manifest = storage.get(f"{key}/{MANIFEST}")
            try:
                predicate = json.loads(manifest)["predicate"]
                record_period = Period.from_dict(predicate["period"])
                ended_at = to_utc(dt.datetime.fromisoformat(predicate["ended_at"]))
            except (ValueError, KeyError, TypeError) as exc:
                report.add(key, f"unreadable manifest: {exc!r}")
                continue
            oldest = ended_at if oldest is None or ended_at < oldest else oldest
            if period is not None and not record_period.overlaps(period):
                continue
            checked_records.append(key)
            sealed_in = leaves.get(key, [])
            # Key validity is judged at the checkpoint that first took the record in (a time the
            # witness holds in order), a pending record's now: never at the signer's own ended_at.
            judged_at = seal_times[sealed_in[0][0]] if sealed_in else now
            if sealed_in and ended_at > judged_at:
                report.add(
                    key,
                    f"ended_at {ended_at.isoformat()} is after the time of seal {sealed_in[0][0]} that "
                    f"took it in ({judged_at.isoformat()}): signed after sealing, or backdated",
                )
            batch.signatures.append((key, storage.get(f"{key}/{ENVELOPE}"), manifest, judged_at))
            if record_key(record_period, predicate.get("check", ""), predicate.get("record_id", "")) != key:
                report.add(key, "record is not at the place its manifest names (moved or renamed)")
            listed = {entry["path"]: entry for entry in predicate.get("files", [])}
            for extra in sorted(names - listed.keys() - {MANIFEST, ENVELOPE}):
                report.add(f"{key}/{extra}", "file not listed in the manifest (added)")
            for path, entry in sorted(listed.items()):
                if path not in names:
                    report.add(f"{key}/{path}", "file listed in the manifest is missing (deleted)")
                    continue
                batch.files.append((key, path, int(entry["size"]), entry["sha256"]))
                total += 1
            for spec in predicate.get("specs") or []:
                spec_refs[str(spec.get("sha256"))].append((key, str(spec.get("path"))))
            if not sealed_in:
                report.pending.append(key)
            elif len(sealed_in) > 1:
                report.add(
                    key, f"record is in {len(sealed_in)} seals {[s for s, _ in sealed_in]}; expected one"
                )
            elif sealed_in[0][1] != sha256_bytes(manifest):
                report.add(key, f"manifest differs from the one sealed in seal {sealed_in[0][0]}")
            if len(batch.signatures) >= _BATCH_RECORDS:
                futures.append(pool.submit(_check_batch, storage, keys, batch))
                batch = _Batch()
        if batch.signatures:
            futures.append(pool.submit(_check_batch, storage, keys, batch))
        report.records_checked = len(checked_records)
        _verify_witness(witness, scan, report, oldest, now)

        _verify_spec_blobs(storage, spec_refs, report)
        tombstones = _tombstones(storage, keys, record_folders)
        _check_disposals(leaves, tombstones, record_folders, set(report.pending), period, report)
        check_intents(storage, record_folders, report, now, period=period)

        for future in futures:
            result = future.result()
            report.problems.extend(result.problems)
            before, report.files_checked = report.files_checked, report.files_checked + result.files
            report.bytes_hashed += result.bytes
            if progress is not None and (
                report.files_checked // 200 > before // 200 or report.files_checked == total
            ):
                progress(report.files_checked, total)
    finally:
        pool.shutdown(cancel_futures=True)
    report.problems.sort(key=lambda p: (p.object, p.problem))
    return report


def _verify_spec_blobs(
    storage: Storage, refs: dict[str, list[tuple[str, str]]], report: VerifyReport
) -> None:
    """Every blob under ``specs/sha256/`` hashes to its name, and every spec a checked record names has
    its blob. Blobs are few and small (one per distinct spec content), so all of them are hashed even
    when the records are restricted to a period. Hidden files are temp files of an interrupted write."""
    present: set[str] = set()
    if storage.exists(SPECS_PREFIX):
        for name in storage.list_files(SPECS_PREFIX):
            if name.rsplit("/", 1)[-1].startswith("."):
                continue
            key = f"{SPECS_PREFIX}/{name}"
            if not is_blob_name(name):
                report.add(key, "unexpected object among the spec blobs (expected specs/sha256/<64 hex>)")
                continue
            report.spec_blobs_checked += 1
            if storage.sha256(key) != name:
                report.add(key, "spec blob content does not hash to its name (changed)")
            present.add(name)
    if storage.exists("specs"):
        for name in storage.list_files("specs"):
            if not name.startswith("sha256/"):
                report.add(
                    f"specs/{name}", "unexpected object among the spec blobs (expected specs/sha256/<64 hex>)"
                )
    for sha, users in sorted(refs.items()):
        if sha in present:
            continue
        record, path = users[0]
        others = f" and {len(users) - 1} other reference(s)" if len(users) > 1 else ""
        what = "is not a SHA-256" if not is_blob_name(sha) else "is missing (deleted)"
        report.add(
            f"{SPECS_PREFIX}/{sha}",
            f"spec blob {what}: spec {path} of {record}{others} can no longer be retrieved by its hash",
        )


_BATCH_RECORDS = 8  # records per pool task: large enough to amortise the hand-off, small enough to overlap


@dataclass
class _Batch:
    """Pool work for a few records: (key, envelope, manifest, signed at) and (key, path, size, sha256)."""

    signatures: list[tuple[str, bytes, bytes, dt.datetime]] = field(default_factory=list)
    files: list[tuple[str, str, int, str]] = field(default_factory=list)


@dataclass
class _BatchResult:
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    bytes: int = 0


def _check_batch(storage: Storage, keys: TrustedKeys, batch: _Batch) -> _BatchResult:
    out = _BatchResult()
    for key, envelope, manifest, signed_at in batch.signatures:
        problem = check_signature(envelope, manifest, PAYLOAD_TYPE, keys, signed_at)
        if problem:
            out.problems.append(Problem(key, problem))
    for key, path, size, sha256 in batch.files:
        full = f"{key}/{path}"
        digest, actual_size = storage.sha256(full), storage.size(full)
        out.files += 1
        out.bytes += actual_size
        if actual_size != size or digest != sha256:
            out.problems.append(Problem(full, "content differs from the manifest's SHA-256 (changed)"))
    return out


def _ancestors(folder: str) -> list[str]:
    """``a/b/c`` -> ``[a/b/c, a/b, a]``."""
    parts = folder.split("/")
    return ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]


def _leaf_in_period(record: str, period: Period) -> bool:
    """A sealed record's period from its key (``records/<label>/...``), for period-filtered runs."""
    from aimsflow.periods import parse_period

    try:
        return parse_period(record.split("/")[1]).overlaps(period)
    except (ValueError, IndexError):
        return True
