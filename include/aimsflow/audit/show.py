"""A record, or a nonconformity, as a person reads it: one view model, rendered as a few lines of text
(:mod:`aimsflow.audit.text`), as JSON (``view.as_dict()``) and as an HTML page
(:mod:`aimsflow.audit.html`), so the three never disagree.

An auditor asks of a record: which controls, which period, which run (and who started it), which
inputs, which spec, which code version, which lineage run, did it supersede another or was it
superseded, did it open or close a nonconformity, is it sealed, and which files it holds.
:func:`describe_record` answers from the record's *verified* manifest only: the store is read with
:func:`aimsflow.risk.evidence.load_evidence` (every signature checked against the trusted keys, judged
at the time of the seal that covers it), and a folder that does not verify raises
:class:`RecordNotTrusted` with the reason instead of being described. The files are hashed again
here (one record is cheap), so a file edited beside a signed manifest shows up as a problem.

:func:`read_store` reads the store once (records, log, nonconformity ledger); callers describing many
records (the export bundle) pass the snapshot to every call.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aimsflow.evidence.controls import CONTROLS
from aimsflow.evidence.dsse import PAYLOAD_TYPE, pae, parse_envelope
from aimsflow.evidence.listing import RecordSummary, record_folders
from aimsflow.evidence.record import ENVELOPE, MANIFEST, RESERVED
from aimsflow.evidence.specs import blob_key
from aimsflow.evidence.storage import Storage
from aimsflow.results import Status, sha256_bytes

if TYPE_CHECKING:
    from aimsflow.evidence.keys import TrustedKeys
    from aimsflow.evidence.tlog import LogScan, SealEntry
    from aimsflow.risk.evidence import Evidence
    from aimsflow.risk.nonconformity import Nonconformity

TOMBSTONE_CHECK = "retention_disposal/tombstone"
MANUAL_CHECK = "manual_evidence/document"


# --- errors -------------------------------------------------------------------------------------


class RecordNotTrusted(ValueError):
    """The folder exists but does not verify (forged, unsigned, edited, misplaced): not described."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.key, "verified": False, "problem": self.problem}


class UnknownRecord(LookupError):
    """The argument names no record folder of the store."""


class AmbiguousRecord(LookupError):
    """A record id that several record folders carry (one producer writing under several checks)."""

    def __init__(self, text: str, candidates: list[str]):
        super().__init__(
            f"record id {text!r} is ambiguous: {len(candidates)} records carry it; give the key: "
            + ", ".join(candidates)
        )
        self.candidates = candidates


class UnknownNonconformity(LookupError):
    """No nonconformity of the ledger has that id."""


# --- reading the store once ---------------------------------------------------------------------


@dataclass
class StoreSnapshot:
    """What the describe functions read from the store, read once: the verified records (and the
    refused folders), the log as the trusted keys verify it, and the nonconformity ledger."""

    storage: Storage
    keys: TrustedKeys
    evidence: Evidence
    scan: LogScan
    ledger: list[Nonconformity]
    ledger_source: str | None  # the reassessment record whose ledger the current one starts from
    not_in_reassessment: frozenset[str]  # nonconformities no reassessment has recorded yet
    folders: list[str]  # every record folder, verified or not
    now: dt.datetime
    by_key: dict[str, RecordSummary] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # folder key -> why it was not read
    crosswalk: Any = None  # aimsflow.compliance.crosswalk.Crosswalk, or None where it is not installed
    groups: dict[tuple[str, ...], list[RecordSummary]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_key = {r.key: r for r in self.evidence.records}
        self.refused = {u.key: u.problem for u in self.evidence.rejected}
        groups: dict[tuple[str, ...], list[RecordSummary]] = {}
        for r in self.evidence.records:
            groups.setdefault(r.verdict_key, []).append(r)
        # check, subject and period -> its records in run order (the last one counts)
        self.groups = {k: sorted(v, key=lambda r: r.order) for k, v in groups.items()}


def read_store(storage: Storage, keys: TrustedKeys, now: dt.datetime | None = None) -> StoreSnapshot:
    """Read ``storage`` once: verified records, the verified log and the current nonconformity ledger."""
    from aimsflow.evidence.tlog import scan_log
    from aimsflow.risk.evidence import load_evidence
    from aimsflow.risk.nonconformity import current_nonconformities

    evidence = load_evidence(storage, keys)
    ledger, changes, source = current_nonconformities(storage, evidence)
    crosswalk = load_crosswalk_if_installed()
    return StoreSnapshot(
        storage=storage,
        keys=keys,
        evidence=evidence,
        scan=scan_log(storage, keys),
        ledger=ledger,
        ledger_source=source,
        not_in_reassessment=frozenset(changes.opened),
        folders=record_folders(storage)[0],
        now=now or dt.datetime.now(dt.UTC),
        crosswalk=crosswalk,
    )


def load_crosswalk_if_installed() -> Any:
    """The crosswalk (``aimsflow.compliance.crosswalk.load_crosswalk``: ISO/IEC 42001 control -> EU AI
    Act, NIST AI RMF, ISO/IEC 27001 items), or None where that package is not part of this install
    (issue 13 adds it). A crosswalk file that does not load raises its ConfigError: never ignored."""
    try:
        from aimsflow.compliance.crosswalk import load_crosswalk
    except ImportError:
        return None
    return load_crosswalk()


def control_refs(controls: Iterable[str], crosswalk: Any = None) -> list[ControlRef]:
    """Control ids with their titles and, when a crosswalk is given, their counterparts in the other
    frameworks (``crosswalk.of_control(id)`` links: framework, item, source, published)."""
    out = []
    for c in controls:
        links = crosswalk.of_control(c) if crosswalk is not None else []
        counterparts = [
            Counterpart(
                link.framework,
                crosswalk.title(link.framework),
                link.item,
                crosswalk.item_title(link.framework, link.item),
                link.source,
                link.published,
            )
            for link in links
        ]
        out.append(ControlRef(c, CONTROLS.get(c, "(not an ISO/IEC 42001 control id)"), counterparts))
    return out


def resolve_record(snapshot: StoreSnapshot, text: str) -> str:
    """The record key ``text`` names: a key (``records/<period>/<check>/<id>``, a trailing ``/``
    allowed), the same without ``records/``, the record's folder path (inside the store), or the record
    id alone when exactly one folder carries it. Raises :class:`UnknownRecord` or
    :class:`AmbiguousRecord`. Folders that do not verify are found too (the caller reports them)."""
    folders = set(snapshot.folders)
    given = text.strip().rstrip("/")
    candidates = [given, f"records/{given}"]
    root = getattr(snapshot.storage, "root", None)
    if root is not None and given:
        path = Path(given)
        try:
            candidates.insert(0, path.resolve().relative_to(Path(root).resolve()).as_posix())
        except (ValueError, OSError):
            pass
    for key in candidates:
        if key in folders:
            return key
    if given and "/" not in given:
        matches = sorted(k for k in folders if k.rsplit("/", 1)[-1] == given)
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise AmbiguousRecord(given, matches)
    disposed = _tombstone_for(snapshot, given)
    if disposed:
        raise UnknownRecord(f"{given} is no longer in the store: lawfully disposed of (tombstone {disposed})")
    raise UnknownRecord(
        f"no record {given!r} in {snapshot.storage.describe('records')}: give a record key as "
        "`aimsflow evidence list` shows it (records/<period>/<check>/<id>) or a unique record id"
    )


def _tombstone_for(snapshot: StoreSnapshot, key: str) -> str | None:
    for rec in snapshot.evidence.records:
        if rec.check == TOMBSTONE_CHECK and rec.summary.get("disposed_record") in (key, f"records/{key}"):
            return rec.key
    return None


# --- the record view ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Counterpart:
    """An item of another framework an ISO/IEC 42001 control maps to, per the crosswalk, and the
    source that says so (a published crosswalk, or own judgement)."""

    framework: str
    framework_title: str
    item: str
    item_title: str
    source: str
    published: bool


@dataclass(frozen=True)
class ControlRef:
    id: str
    title: str
    # EU AI Act / NIST AI RMF / ISO 27001 items from the current crosswalk (issue 13), when it is installed
    counterparts: list[Counterpart] = field(default_factory=list)


@dataclass(frozen=True)
class PeriodView:
    label: str
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class RunView:
    """Who produced the record: a task try of a DAG run, or a command invocation, and who started it."""

    kind: str  # "task" or "command"
    dag_id: str | None
    run_id: str | None
    task_id: str | None
    map_index: int | None  # None when the task is not mapped
    try_number: int | None
    max_tries: int | None
    run_type: str | None  # scheduled, manual, asset_triggered, backfill, ...
    run_after: dt.datetime | None
    command: str | None
    invocation: str | None
    user: str | None  # the user who triggered the run (Airflow's triggering user), or ran the command
    params: dict[str, Any]  # the run's Params, secret-looking values masked at write time


@dataclass(frozen=True)
class DataRef:
    uri: str
    sha256: str | None
    size: int | None
    rows: int | None
    dataset: str | None


@dataclass(frozen=True)
class SpecView:
    path: str
    sha256: str
    stored: bool  # the store holds the spec's content under specs/sha256/<sha256>, and it hashes so


@dataclass(frozen=True)
class CodeView:
    git_commit: str | None
    git_dirty: bool | None
    aimsflow: str | None
    packages: dict[str, str]


@dataclass(frozen=True)
class LineageView:
    run_id: str | None
    sent: bool | None
    event_type: str | None
    transport: str | None
    error: str | None


@dataclass(frozen=True)
class ErrorView:
    type: str | None
    message: str | None
    final_try: bool | None
    traceback: str | None


@dataclass(frozen=True)
class RelatedRecord:
    """Another record, briefly. ``state``: ``verified``, ``untrusted`` (its folder does not verify:
    nothing of it is shown) or ``absent`` (not in the store: disposed of, or never written)."""

    key: str
    state: str
    status: str | None = None
    period: str | None = None
    run_id: str | None = None
    try_number: int | None = None
    ran_at: dt.datetime | None = None  # the run's run_after (tasks) or start (commands)


@dataclass(frozen=True)
class NcLink:
    """A nonconformity this record is part of, and how."""

    id: str
    relation: str  # opened, occurrence, rerun, closed, passing_run
    status: str  # open / closed
    cause: str


@dataclass(frozen=True)
class SealView:
    """Where the record is in the evidence log: ``sealed`` (in seal ``sequence``, leaf ``leaf_index``
    of the tree of ``tree_size`` leaves that seal's checkpoint signs) or ``pending`` (the next seal
    takes it in)."""

    state: str
    sequence: int | None = None
    sealed_at: dt.datetime | None = None
    leaf_index: int | None = None
    tree_size: int | None = None
    root_hash: str | None = None
    checkpoint: str | None = None  # the seal's signed checkpoint note (format-2 seals)
    log_head: int | None = None  # the latest seal of the log
    log_problems: int = 0  # problems of the log found while reading it (`evidence verify` names them)


@dataclass(frozen=True)
class SignatureView:
    key_ids: list[str]  # keys whose signature verified
    judged_at: dt.datetime  # the time key validity was judged at (the seal's, else the reading)
    manifest_sha256: str  # the leaf data of the record in the log


@dataclass(frozen=True)
class FileView:
    path: str
    size: int
    sha256: str
    state: str  # ok, missing, changed (differs from the signed size or SHA-256)


#: Relations of a record to a nonconformity, in words.
NC_RELATIONS = {
    "opened": "opened",
    "occurrence": "occurrence of",
    "rerun": "failing re-run in",
    "closed": "closed",
    "passing_run": "passing run that closed",
}


@dataclass
class RecordView:
    key: str
    record_id: str
    check: str
    check_title: str | None
    subject: dict[str, str | None]
    status: str
    message: str
    controls: list[ControlRef]
    period: PeriodView
    started_at: dt.datetime
    ended_at: dt.datetime
    run: RunView
    inputs: list[DataRef]
    outputs: list[DataRef]
    specs: list[SpecView]
    code: CodeView
    lineage: LineageView | None
    error: ErrorView | None
    document: dict[str, Any] | None  # manual evidence: the document's title, owner, hash, review date
    summary: dict[str, Any]
    current: bool  # the current verdict of its check, subject and period (else superseded)
    superseded_by: RelatedRecord | None
    supersedes: list[RelatedRecord]
    nonconformities: list[NcLink]
    seal: SealView
    signature: SignatureView
    files: list[FileView]
    problems: list[str]  # files missing, changed or unlisted, a sealed hash that differs, ...
    # Other objects of the store (record folders, seals) that do not verify: left out of the supersession and
    # nonconformity links above (which consider verified records only); `evidence verify` names them.
    untrusted_elsewhere: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"format": "aimsflow-record-view/1", "verified": True, **_plain(dataclasses.asdict(self))}


def describe_record(
    storage: Storage,
    key: str,
    keys: TrustedKeys,
    *,
    snapshot: StoreSnapshot | None = None,
) -> RecordView:
    """The view of record ``key`` (a key as :func:`resolve_record` returns it) from its verified
    manifest; raises :class:`RecordNotTrusted` when its folder does not verify and
    :class:`UnknownRecord` when there is no such folder."""
    snap = snapshot or read_store(storage, keys)
    rec = snap.by_key.get(key)
    if rec is None:
        if key in snap.refused:
            raise RecordNotTrusted(key, snap.refused[key])
        raise UnknownRecord(f"no record {key!r} in {storage.describe('records')}")
    p = snap.evidence.predicates[key]
    problems: list[str] = []
    files = _files(storage, key, p, problems)
    manifest = storage.get(f"{key}/{MANIFEST}")
    manifest_sha256 = sha256_bytes(manifest)
    seal = _seal(snap, rec, manifest_sha256, problems)
    judged_at = seal.sealed_at if seal.state == "sealed" and seal.sealed_at else snap.now
    return RecordView(
        key=key,
        record_id=rec.record_id,
        check=rec.check,
        check_title=_check_title(rec.check),
        subject=dict(rec.subject),
        status=str(rec.status),
        message=str(p.get("message") or ""),
        controls=control_refs(rec.controls, snap.crosswalk),
        period=PeriodView(rec.period.label, rec.period.start, rec.period.end),
        started_at=rec.started_at,
        ended_at=rec.ended_at,
        run=_run(p),
        inputs=[_data_ref(i) for i in p.get("inputs") or []],
        outputs=[_data_ref(o) for o in p.get("outputs") or []],
        specs=[_spec(storage, s) for s in p.get("specs") or []],
        code=_code(p.get("code") or {}),
        lineage=_lineage(p.get("openlineage")),
        error=_error(p.get("error")),
        document=_document(rec),
        summary=dict(rec.summary),
        current=not rec.superseded,
        superseded_by=_superseded_by(snap, rec),
        supersedes=_supersedes(snap, rec),
        nonconformities=_nc_links(snap, key),
        seal=seal,
        signature=SignatureView(
            _signers(storage, key, manifest, snap.keys, judged_at), judged_at, manifest_sha256
        ),
        files=files,
        problems=problems,
        untrusted_elsewhere=len(snap.refused),  # the record itself verified: it is not among them
    )


def _check_title(check: str) -> str | None:
    """What the check does, from its declaration (None for a check no job declares any more, or where
    the job side is not installed)."""
    try:
        from aimsflow.jobs import all_checks

        return next((c.title for c in all_checks() if c.id == check), None)
    except ImportError:
        return None


def _run(p: dict[str, Any]) -> RunView:
    producer = p.get("producer") or {}
    trigger = p.get("triggered_by") or {}
    map_index = producer.get("map_index")
    run_after = producer.get("run_after")
    return RunView(
        kind=str(producer.get("kind") or "?"),
        dag_id=producer.get("dag_id"),
        run_id=producer.get("run_id"),
        task_id=producer.get("task_id"),
        map_index=map_index if isinstance(map_index, int) and map_index >= 0 else None,
        try_number=producer.get("try_number"),
        max_tries=producer.get("max_tries"),
        run_type=producer.get("run_type"),
        run_after=dt.datetime.fromisoformat(run_after) if run_after else None,
        command=producer.get("command"),
        invocation=producer.get("invocation"),
        user=trigger.get("user") or producer.get("user"),
        params=dict(trigger.get("params") or {}),
    )


def _data_ref(d: dict[str, Any]) -> DataRef:
    return DataRef(str(d.get("uri")), d.get("sha256"), d.get("size"), d.get("rows"), d.get("dataset"))


def _spec(storage: Storage, s: dict[str, Any]) -> SpecView:
    sha = str(s.get("sha256"))
    try:
        stored = storage.sha256(blob_key(sha)) == sha
    except (OSError, ValueError):
        stored = False
    return SpecView(str(s.get("path")), sha, stored)


def _code(c: dict[str, Any]) -> CodeView:
    return CodeView(c.get("git_commit"), c.get("git_dirty"), c.get("aimsflow"), dict(c.get("packages") or {}))


def _lineage(ol: dict[str, Any] | None) -> LineageView | None:
    if not ol:
        return None
    return LineageView(
        ol.get("run_id"), ol.get("sent"), ol.get("event_type"), ol.get("transport"), ol.get("error")
    )


def _error(e: dict[str, Any] | None) -> ErrorView | None:
    if not e:
        return None
    return ErrorView(e.get("type"), e.get("message"), e.get("final_try"), e.get("traceback") or None)


def _document(rec: RecordSummary) -> dict[str, Any] | None:
    """Manual evidence (issue 13): the document the record stands for, from its signed summary."""
    if rec.check != MANUAL_CHECK:
        return None
    fields = ("title", "owner", "document", "document_sha256", "review_date", "valid_from", "valid_to")
    return {k: rec.summary.get(k) for k in fields if k in rec.summary}


def _files(storage: Storage, key: str, p: dict[str, Any], problems: list[str]) -> list[FileView]:
    """The signed file list, each file hashed again; unlisted files are problems too."""
    out = []
    listed = set()
    for f in sorted(p.get("files") or [], key=lambda f: str(f.get("path"))):
        path, size, sha = str(f.get("path")), int(f.get("size") or 0), str(f.get("sha256"))
        listed.add(path)
        where = f"{key}/{path}"
        try:
            actual_size, actual_sha = storage.size(where), storage.sha256(where)
        except OSError:
            state = "missing"
        else:
            state = "ok" if (actual_size, actual_sha) == (size, sha) else "changed"
        if state != "ok":
            problems.append(f"file {path}: {state} (the signed manifest lists {size} bytes, SHA-256 {sha})")
        out.append(FileView(path, size, sha, state))
    for extra in storage.list_files(key):
        if extra not in listed and extra not in RESERVED:
            problems.append(f"file {extra}: not listed in the signed manifest")
    return out


def _seal(snap: StoreSnapshot, rec: RecordSummary, manifest_sha256: str, problems: list[str]) -> SealView:
    scan = snap.scan
    head = scan.latest.sequence if scan.latest else None
    entry: SealEntry | None = scan.entry(rec.sealed_in) if rec.sealed_in is not None else None
    if entry is None:
        return SealView("pending", log_head=head, log_problems=len(scan.problems))
    place = rec.leaf or 0
    sealed_hash = entry.leaves[place][1] if place < len(entry.leaves) else None
    if sealed_hash != manifest_sha256:
        problems.append(
            f"manifest SHA-256 {manifest_sha256} differs from the one seal {entry.sequence} took in"
        )
    leaf_index = entry.tree_size - len(entry.leaves) + place if entry.tree_size is not None else None
    return SealView(
        "sealed",
        sequence=entry.sequence,
        sealed_at=entry.sealed_at,
        leaf_index=leaf_index,
        tree_size=entry.tree_size,
        root_hash=entry.root.hex() if entry.root is not None else None,
        checkpoint=entry.note,
        log_head=head,
        log_problems=len(scan.problems),
    )


def _signers(storage: Storage, key: str, manifest: bytes, keys: TrustedKeys, at: dt.datetime) -> list[str]:
    """The ids of the trusted keys whose signature in the envelope verifies at ``at``."""
    _, payload, signatures = parse_envelope(storage.get(f"{key}/{ENVELOPE}"))
    out = []
    for sig in signatures:
        try:
            if (
                keys.check(sig["keyid"], pae(PAYLOAD_TYPE, manifest), base64.b64decode(sig["sig"]), at)
                is None
            ):
                out.append(str(sig["keyid"]))
        except (KeyError, ValueError, TypeError):
            continue
    return out


def related(snap: StoreSnapshot, key: str, status: str | None = None) -> RelatedRecord:
    """``key`` briefly; ``status`` is what the caller knows of it when the store no longer has it."""
    rec = snap.by_key.get(key)
    if rec is None:
        return RelatedRecord(key, "untrusted" if key in snap.refused else "absent", status)
    run_after = rec.producer.get("run_after")
    return RelatedRecord(
        key,
        "verified",
        str(rec.status),
        rec.period.label,
        rec.producer.get("run_id") or rec.producer.get("invocation"),
        rec.producer.get("try_number"),
        dt.datetime.fromisoformat(run_after) if run_after else rec.started_at,
    )


def _group(snap: StoreSnapshot, rec: RecordSummary) -> list[RecordSummary]:
    return snap.groups[rec.verdict_key]


def _superseded_by(snap: StoreSnapshot, rec: RecordSummary) -> RelatedRecord | None:
    """The current verdict of the record's check, subject and period, when this one is superseded."""
    if not rec.superseded:
        return None
    current = next((r for r in _group(snap, rec) if not r.superseded), None)
    return related(snap, current.key) if current else None


def _supersedes(snap: StoreSnapshot, rec: RecordSummary) -> list[RelatedRecord]:
    """The earlier records of the same check, subject and period, when this one is the current verdict
    (only the latest run's highest try counts; the others stay as history)."""
    if rec.superseded:
        return []
    return [related(snap, r.key) for r in _group(snap, rec) if r is not rec]


def _nc_links(snap: StoreSnapshot, key: str) -> list[NcLink]:
    out = []
    for nc in snap.ledger:
        relations = []
        for i, o in enumerate(nc.occurrences):
            if o.record == key:
                relations.append("opened" if i == 0 else "occurrence")
            if any(r.record == key for r in o.reruns):
                relations.append("rerun")
        if nc.closure is not None:
            if nc.closure.record == key:
                relations.append("closed")
            if nc.closure.evidence_of_pass == key:
                relations.append("passing_run")
        out.extend(NcLink(nc.id, rel, nc.status, nc.cause.label()) for rel in relations)
    return out


# --- the nonconformity view ---------------------------------------------------------------------


@dataclass(frozen=True)
class OccurrenceView:
    period: str
    status: str
    at: dt.datetime  # when its first failing run happened
    record: RelatedRecord
    reruns: list[RelatedRecord]


@dataclass(frozen=True)
class ClosureView:
    record: RelatedRecord  # the closure record (nonconformity_close/close)
    closed_at: dt.datetime
    closed_by: str | None
    run: RunView | None  # the closing DAG run (None when the closure record is not in the store)
    root_cause: str
    corrective_action: str


@dataclass
class NcView:
    id: str
    status: str
    cause: dict[str, str | None]  # check, ai_system, dataset
    cause_label: str
    check_title: str | None
    controls: list[ControlRef]  # the controls of the failing records
    opened_at: dt.datetime
    last_occurrence_at: dt.datetime
    occurrences: list[OccurrenceView]
    closure: ClosureView | None
    passing_record: RelatedRecord | None  # the later passing run: the closure's, or one to close on
    closable: bool  # open, and a later passing run exists (see `aimsflow nc close`)
    in_reassessment: bool  # a reassessment has recorded it in its ledger (else: derived since)
    ledger_record: str | None
    untrusted_folders: int = 0  # record folders that do not verify: not read, so not in the ledger

    def as_dict(self) -> dict[str, Any]:
        return {"format": "aimsflow-nonconformity-view/1", **_plain(dataclasses.asdict(self))}


def find_nonconformity(snap: StoreSnapshot, nc_id: str) -> Nonconformity:
    """The ledger's nonconformity ``nc_id`` (letter case ignored); raises :class:`UnknownNonconformity`."""
    wanted = nc_id.strip().casefold()
    for nc in snap.ledger:
        if nc.id.casefold() == wanted:
            return nc
    known = ", ".join(nc.id for nc in snap.ledger[-10:]) or "none"
    raise UnknownNonconformity(
        f"no nonconformity {nc_id!r} in the ledger (`aimsflow nc list`; latest: {known})"
    )


def describe_nonconformity(
    storage: Storage,
    nc_id: str,
    keys: TrustedKeys,
    *,
    snapshot: StoreSnapshot | None = None,
    closing_statuses: Iterable[Status] | None = None,
) -> NcView:
    """The view of nonconformity ``nc_id``: cause, status, occurrences with their records, closure,
    and the later passing record. ``closing_statuses`` (default: the risk methodology's) decide which
    later run of an open nonconformity would close it."""
    from aimsflow.risk.nonconformity import closing_evidence

    snap = snapshot or read_store(storage, keys)
    nc = find_nonconformity(snap, nc_id)
    occurrences = [
        OccurrenceView(
            o.period,
            o.status,
            o.at,
            related(snap, o.record, o.status),
            [related(snap, r.record, r.status) for r in o.reruns],
        )
        for o in nc.occurrences
    ]
    controls: list[str] = []
    for k in nc.records:
        rec = snap.by_key.get(k)
        controls.extend(c for c in (rec.controls if rec else []) if c not in controls)
    closure = None
    if nc.closure is not None:
        c = nc.closure
        closer = snap.evidence.predicates.get(c.record)
        closure = ClosureView(
            related(snap, c.record),
            c.closed_at,
            c.closed_by,
            _run(closer) if closer is not None else None,
            c.root_cause,
            c.corrective_action,
        )
        passing = related(snap, c.evidence_of_pass)
    else:
        if closing_statuses is None:
            from aimsflow.risk.config import load_methodology

            closing_statuses = load_methodology()[0].nonconformities.closing_statuses
        found = closing_evidence(nc, snap.evidence.records, closing_statuses)
        passing = related(snap, found.key) if found else None
    return NcView(
        id=nc.id,
        status=nc.status,
        cause=nc.cause.as_dict(),
        cause_label=nc.cause.label(),
        check_title=_check_title(nc.cause.check),
        controls=control_refs(controls, snap.crosswalk),
        opened_at=nc.opened_at,
        last_occurrence_at=nc.last_at,
        occurrences=occurrences,
        closure=closure,
        passing_record=passing,
        closable=nc.is_open and passing is not None,
        in_reassessment=nc.id not in snap.not_in_reassessment,
        ledger_record=snap.ledger_source,
        untrusted_folders=len(snap.refused),
    )


# --- plain data ------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """``dataclasses.asdict`` output made JSON-ready: datetimes as ISO 8601."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value
