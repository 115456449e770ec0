"""View models of the evidence pages: plain functions from one verified read of the store to
dataclasses, so the pages unit-test without a server and the FastAPI app stays wiring.

Everything shown as evidence comes from :func:`aimsflow.evidence.listing.load_verified`: a record
folder whose signature does not verify against the trusted keys is never listed, counted or served;
it is shown as *untrusted*, with the problem. A record file is served only when its bytes hash to
what the signed manifest lists (:func:`~aimsflow.evidence.listing.read_record_file`), and never
through a symbolic link. Ids in requests are looked up among the verified keys and listed file
names: nothing a request names becomes a path unless it is one of them.
"""

from __future__ import annotations

import datetime as dt
import json
import mimetypes
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from aimsflow import settings
from aimsflow.evidence.controls import CONTROLS, UnknownControlError, canonical_control, ordered_controls
from aimsflow.evidence.dsse import parse_envelope
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.listing import Loaded, RecordSummary, Untrusted, filter_records, load_verified
from aimsflow.evidence.listing import read_record_file as _read_verified_file
from aimsflow.evidence.record import ENVELOPE, MANIFEST
from aimsflow.evidence.redact import redact_text, secret_values
from aimsflow.evidence.storage import LocalStorage
from aimsflow.evidence.trust import UntrustedRecord
from aimsflow.periods import parse_period
from aimsflow.results import Status

STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
#: Rows per page of the record list (a year of daily runs is thousands of records).
PAGE_SIZE = 200


class NotFound(LookupError):
    """An id the store does not hold as verified evidence (unknown record, file, run): a 404."""


class BadRequest(ValueError):
    """A request parameter that is not valid (unknown status or control, bad period): a 400."""


# --- one read of the store ---------------------------------------------------------------------------


@dataclass
class Evidence:
    """One verified read of the store. ``by_key`` indexes the verified records; ``untrusted`` holds
    every record folder or log object that did not verify (never shown as evidence)."""

    storage: LocalStorage
    keys: TrustedKeys
    loaded: Loaded
    read_at: dt.datetime
    #: Set by :func:`restricted`: which DAGs' records the user may read, and how many verified
    #: records of the others were left out (coverage counts neither).
    can_read_dag: Callable[[str], bool] | None = None
    hidden: int = 0
    by_key: dict[str, RecordSummary] = field(init=False)

    def __post_init__(self) -> None:
        self.by_key = {r.key: r for r in self.loaded.records}

    @property
    def records(self) -> list[RecordSummary]:
        return self.loaded.records

    @property
    def untrusted(self) -> list[Untrusted]:
        return self.loaded.rejected

    @property
    def log_problems(self) -> list[Untrusted]:
        """Problems of the evidence log itself (seals, checkpoints), not of one record."""
        return [u for u in self.loaded.rejected if not u.key.startswith("records/")]

    def predicate(self, key: str) -> dict[str, Any]:
        return self.loaded.predicates[key]


def read_evidence(
    storage: LocalStorage | None = None, keys: TrustedKeys | None = None, now: dt.datetime | None = None
) -> Evidence:
    """Verify and read the store (default: ``AIMSFLOW_EVIDENCE_ROOT`` against
    ``AIMSFLOW_TRUSTED_KEYS``; raises :class:`aimsflow.evidence.keys.KeyError_` without that file)."""
    storage = storage or LocalStorage(settings.evidence_root())
    keys = keys or TrustedKeys.load()
    now = now or dt.datetime.now(dt.UTC)
    return Evidence(storage, keys, load_verified(storage, keys, now=now), now)


def dag_of(key_or_check: str) -> str:
    """The DAG a record belongs to: the first part of its check id (``<dag_id>/<name>``); from a key
    ``records/<period>/<dag>/...`` the part after the period."""
    parts = key_or_check.split("/")
    return parts[2] if parts[0] == "records" and len(parts) > 2 else parts[0]


def restricted(evidence: Evidence, can_read_dag: Callable[[str], bool]) -> Evidence:
    """``evidence`` without the records (and untrusted folders) of DAGs the user may not read, so the
    plugin never shows more than Airflow's own pages would. Supersession stays as computed over the
    whole store (which record is a current verdict does not depend on who looks)."""
    allowed: dict[str, bool] = {}

    def ok(dag: str) -> bool:
        if dag not in allowed:
            allowed[dag] = bool(can_read_dag(dag))
        return allowed[dag]

    records = [r for r in evidence.records if ok(r.dag_id or dag_of(r.check))]
    keep = {r.key for r in records}
    rejected = [u for u in evidence.untrusted if not u.key.startswith("records/") or ok(dag_of(u.key))]
    predicates = {k: v for k, v in evidence.loaded.predicates.items() if k in keep}
    hidden = evidence.hidden + len(evidence.records) - len(records)
    earlier = evidence.can_read_dag
    can_read = ok if earlier is None else (lambda dag: earlier(dag) and ok(dag))
    return replace(
        evidence, loaded=Loaded(records, rejected, predicates), can_read_dag=can_read, hidden=hidden
    )


# --- rows ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordRow:
    """One verified record as a line of a table."""

    key: str
    record_id: str
    period: str
    check: str
    dag_id: str | None
    run_id: str | None
    task_id: str | None
    map_index: int
    try_number: int | None
    producer: str  # "task" or the command's name
    ai_system: str | None
    dataset: str | None
    partition: str | None
    status: str
    controls: tuple[str, ...]
    ended_at: dt.datetime
    sealed_in: int | None
    superseded: bool
    message: str

    @classmethod
    def of(cls, r: RecordSummary, predicate: Mapping[str, Any]) -> RecordRow:
        p = r.producer
        map_index = p.get("map_index")
        return cls(
            key=r.key,
            record_id=r.record_id,
            period=r.period.label,
            check=r.check,
            dag_id=p.get("dag_id"),
            run_id=p.get("run_id"),
            task_id=p.get("task_id"),
            map_index=map_index if isinstance(map_index, int) else -1,
            try_number=p.get("try_number"),
            producer="task" if p.get("kind") == "task" else str(p.get("command") or p.get("kind")),
            ai_system=r.subject.get("ai_system"),
            dataset=r.subject.get("dataset"),
            partition=r.subject.get("partition"),
            status=str(r.status),
            controls=tuple(r.controls),
            ended_at=r.ended_at,
            sealed_in=r.sealed_in,
            superseded=r.superseded,
            message=str(predicate.get("message") or ""),
        )


def _row(evidence: Evidence, r: RecordSummary) -> RecordRow:
    return RecordRow.of(r, evidence.predicate(r.key))


def status_counts(rows: list[RecordRow]) -> dict[str, int]:
    """Rows per status, every status present (zero included), best to worst."""
    counts = Counter(row.status for row in rows)
    return {s: counts.get(s, 0) for s in STATUSES}


# --- the record list -------------------------------------------------------------------------------------

FILTERS = ("control", "dag", "check", "ai_system", "dataset", "status", "period")


@dataclass(frozen=True)
class Filters:
    control: str | None = None
    dag: str | None = None
    check: str | None = None
    ai_system: str | None = None
    dataset: str | None = None
    status: str | None = None
    period: str | None = None
    history: bool = False
    page: int = 1

    def active(self) -> dict[str, str]:
        """The filters set, as query parameters (page excluded)."""
        out = {name: v for name in FILTERS if (v := getattr(self, name))}
        if self.history:
            out["history"] = "1"
        return out


def parse_filters(params: Mapping[str, str]) -> Filters:
    """Filters from query parameters; blank means unset. Raises :class:`BadRequest` naming the
    parameter and value for an unknown status or control, a period outside the period syntax
    (:mod:`aimsflow.periods`) or a bad page number: a typo must not read as "no evidence"."""

    def text(name: str) -> str | None:
        value = (params.get(name) or "").strip()
        return value or None

    status = text("status")
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status={status!r} is not one of {', '.join(STATUSES)}")
    control = text("control")
    if control is not None:
        try:
            control = canonical_control(control)
        except UnknownControlError as exc:
            raise BadRequest(f"control: {exc}") from None
    period = text("period")
    if period is not None:
        try:
            parse_period(period)
        except ValueError as exc:
            raise BadRequest(f"period={period!r}: {exc}") from None
    page_text = text("page") or "1"
    if not page_text.isdigit() or int(page_text) < 1:
        raise BadRequest(f"page={page_text!r} is not a page number (1, 2, ...)")
    return Filters(
        control=control,
        dag=text("dag"),
        check=text("check"),
        ai_system=text("ai_system"),
        dataset=text("dataset"),
        status=status,
        period=period,
        history=(params.get("history") or "") in ("1", "true", "on", "yes"),
        page=int(page_text),
    )


@dataclass
class RecordList:
    filters: Filters
    rows: list[RecordRow]  # this page
    matching: int  # rows matching the filters, all pages
    counts: dict[str, int]  # rows per status matching every filter but the status (cards to switch by)
    page: int
    pages: int
    total_verified: int
    options: dict[str, list[str]]  # distinct values for the filter menus
    untrusted: list[Untrusted]


def filter_options(evidence: Evidence) -> dict[str, list[str]]:
    """Distinct values of every filter over the verified records (controls in the vocabulary's order)."""
    records = evidence.records
    used = {c for r in records for c in r.controls}
    return {
        "control": [c for c in ordered_controls() if c in used],
        "dag": sorted({r.dag_id for r in records if r.dag_id}),
        "check": sorted({r.check for r in records}),
        "ai_system": sorted({a for r in records if (a := r.subject.get("ai_system"))}),
        "dataset": sorted({d for r in records if (d := r.subject.get("dataset"))}),
        "status": list(STATUSES),
        "period": sorted({r.period.label for r in records}, reverse=True),
    }


def record_list(evidence: Evidence, filters: Filters, page_size: int = PAGE_SIZE) -> RecordList:
    """The verified records matching ``filters`` (current verdicts unless ``history``), newest period
    first, one page of them; the counts per status cover every page and every status (the status
    filter picks one of them)."""
    every_status = filter_records(
        evidence.records,
        control=filters.control,
        dag=filters.dag,
        check=filters.check,
        ai_system=filters.ai_system,
        dataset=filters.dataset,
        period=parse_period(filters.period) if filters.period else None,
        history=filters.history,
    )
    # filter_records sorts oldest first; people read the latest first.
    every_status.sort(key=lambda r: (r.period.start, r.period.end, r.ended_at), reverse=True)
    all_rows = [_row(evidence, r) for r in every_status]
    rows = [row for row in all_rows if filters.status is None or row.status == filters.status]
    pages = max(1, -(-len(rows) // page_size))
    if filters.page > pages:
        raise NotFound(f"page {filters.page} of {pages}")
    start = (filters.page - 1) * page_size
    return RecordList(
        filters=filters,
        rows=rows[start : start + page_size],
        matching=len(rows),
        counts=status_counts(all_rows),
        page=filters.page,
        pages=pages,
        total_verified=len(evidence.records),
        options=filter_options(evidence),
        untrusted=evidence.untrusted,
    )


# --- one record -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileCheck:
    path: str
    size: int
    sha256: str
    ok: bool
    problem: str | None = None


@dataclass(frozen=True)
class ProofView:
    """The inclusion proof of a sealed record against the log's latest checkpoint, or why not."""

    available: bool
    reason: str = ""
    leaf_index: int | None = None
    tree_size: int | None = None
    seal: int | None = None
    path: tuple[str, ...] = ()
    checkpoint: str = ""


@dataclass
class RecordDetail:
    row: RecordRow
    predicate: dict[str, Any]
    manifest_text: str  # the manifest as stored, known secret values masked for display
    masked: bool  # whether masking changed it (a secret reached a record: verify's and the job's bug)
    key_ids: list[str]
    files: list[FileCheck]
    proof: ProofView

    @property
    def files_ok(self) -> bool:
        return all(f.ok for f in self.files)

    @property
    def verified(self) -> bool:
        """Signature (checked when the store was read) and every listed file's SHA-256."""
        return self.files_ok

    @property
    def control_titles(self) -> list[tuple[str, str]]:
        return [(c, CONTROLS.get(c, "")) for c in self.row.controls]


@dataclass(frozen=True)
class UntrustedDetail:
    """A record folder that does not verify: only its key and the problem are shown."""

    key: str
    problem: str


def _symlink_problem(storage: LocalStorage, where: str) -> str | None:
    """A problem when ``where`` (a key) is reached through a symbolic link or leaves the store."""
    root = os.path.realpath(storage.root)
    current = str(storage.root)
    for part in where.split("/"):
        current = os.path.join(current, part)
        if os.path.islink(current):
            return "reached through a symbolic link; not served"
    real = os.path.realpath(current)
    if real != root and not real.startswith(root + os.sep):
        return "lies outside the evidence store; not served"
    return None


def read_record_file(evidence: Evidence, key: str, name: str) -> bytes:
    """A listed file of a verified record, only when it hashes to the signed manifest's SHA-256 and
    is no symbolic link; :class:`NotFound` for an unknown record or unlisted name, an
    :class:`UntrustedRecord` when the file is changed, missing or linked."""
    if key not in evidence.by_key:
        raise NotFound(f"no verified record {key!r}")
    predicate = evidence.predicate(key)
    if name not in {f.get("path") for f in predicate.get("files") or []}:
        raise NotFound(f"{key} lists no file {name!r}")
    problem = _symlink_problem(evidence.storage, f"{key}/{name}")
    if problem:
        raise UntrustedRecord(f"{key}/{name}", problem)
    return _read_verified_file(evidence.storage, key, name, predicate)


def _check_files(evidence: Evidence, key: str) -> list[FileCheck]:
    out = []
    for entry in evidence.predicate(key).get("files") or []:
        path = str(entry.get("path"))
        try:
            read_record_file(evidence, key, path)
            problem = None
        except UntrustedRecord as exc:
            problem = exc.problem
        out.append(
            FileCheck(path, int(entry.get("size") or 0), str(entry.get("sha256")), problem is None, problem)
        )
    return out


def _key_ids(evidence: Evidence, key: str) -> list[str]:
    try:
        _, _, signatures = parse_envelope(evidence.storage.get(f"{key}/{ENVELOPE}"))
    except (OSError, ValueError):
        return []
    return [str(s.get("keyid")) for s in signatures if isinstance(s, dict)]


def inclusion(evidence: Evidence, key: str) -> ProofView:
    """The proof ``aimsflow evidence prove`` gives, checked against the checkpoint before it is shown;
    none for a pending record or while the log itself does not verify."""
    from aimsflow.evidence.tlog import ProveError, prove_inclusion

    record = evidence.by_key[key]
    if record.sealed_in is None:
        return ProofView(False, "pending: no seal has taken this record in yet (the next seal does)")
    if evidence.log_problems:
        first = evidence.log_problems[0]
        return ProofView(False, f"the evidence log does not verify ({first.key}: {first.problem})")
    try:
        proof = prove_inclusion(evidence.storage, key)
    except ProveError as exc:
        return ProofView(False, str(exc))
    return ProofView(
        True,
        leaf_index=proof.leaf_index,
        tree_size=proof.tree_size,
        seal=proof.seal,
        path=tuple(h.hex() for h in proof.path),
        checkpoint=proof.checkpoint,
    )


def proof_document(evidence: Evidence, key: str) -> dict[str, Any]:
    """The ``aimsflow-inclusion-proof/1`` document of a verified, sealed record (what ``aimsflow
    evidence prove --json`` prints; ``scripts/verify_inclusion.py`` checks it offline)."""
    from aimsflow.evidence.tlog import ProveError, prove_inclusion

    if key not in evidence.by_key:
        raise NotFound(f"no verified record {key!r}")
    view = inclusion(evidence, key)
    if not view.available:
        raise NotFound(view.reason)
    try:
        return prove_inclusion(evidence.storage, key).as_dict()
    except ProveError as exc:  # the log changed between the two reads
        raise NotFound(str(exc)) from None


def record_detail(evidence: Evidence, key: str) -> RecordDetail | UntrustedDetail:
    """A verified record's manifest, files (each re-hashed), signing key and inclusion proof; for a
    folder that does not verify only the problem; :class:`NotFound` for anything else."""
    if key not in evidence.by_key:
        for u in evidence.untrusted:
            if u.key == key:
                return UntrustedDetail(u.key, u.problem)
        raise NotFound(f"no record {key!r} in the store")
    predicate = evidence.predicate(key)
    statement = {"predicate": predicate}
    try:
        statement = json.loads(evidence.storage.get(f"{key}/{MANIFEST}"))
    except (OSError, ValueError):
        pass
    raw = json.dumps(statement, indent=2, ensure_ascii=False)
    text = redact_text(raw, secret_values())
    return RecordDetail(
        row=_row(evidence, evidence.by_key[key]),
        predicate=predicate,
        manifest_text=text,
        masked=text != raw,
        key_ids=_key_ids(evidence, key),
        files=_check_files(evidence, key),
        proof=inclusion(evidence, key),
    )


@dataclass(frozen=True)
class Download:
    content: bytes
    filename: str
    media_type: str


def download(evidence: Evidence, key: str, name: str) -> Download:
    """A file of a verified record for download: a listed result file (hash-checked), or its
    ``manifest.json`` / ``manifest.dsse.json`` (the signature was checked when the store was read;
    they are re-read and must still carry that signed payload)."""
    if key not in evidence.by_key:
        raise NotFound(f"no verified record {key!r}")
    if name in (MANIFEST, ENVELOPE):
        from aimsflow.evidence.trust import read_verified

        problem = _symlink_problem(evidence.storage, f"{key}/{name}")
        if problem:
            raise UntrustedRecord(f"{key}/{name}", problem)
        position = evidence.by_key[key]
        verified = read_verified(evidence.storage, key, evidence.keys, _judged_at(evidence, position))
        if name == MANIFEST:
            content = verified.manifest
        else:
            content = evidence.storage.get(f"{key}/{ENVELOPE}")
            if parse_envelope(content)[1] != verified.manifest:
                raise UntrustedRecord(f"{key}/{ENVELOPE}", "envelope changed since it was verified")
        return Download(content, name, "application/json")
    content = read_record_file(evidence, key, name)
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Download(content, name.rsplit("/", 1)[-1], media_type)


def _judged_at(evidence: Evidence, record: RecordSummary) -> dt.datetime:
    """When a record's key validity is judged: its seal's time, else the moment the store was read."""
    from aimsflow.evidence.listing import verified_seal_positions

    if record.sealed_in is None:
        return evidence.read_at
    positions, _ = verified_seal_positions(evidence.storage, evidence.keys)
    position = positions.get(record.key)
    return position.sealed_at if position and position.sealed_at else evidence.read_at


# --- the records of one run or task try -------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    row: RecordRow
    files: list[FileCheck]

    @property
    def verified(self) -> bool:
        return all(f.ok for f in self.files)

    @property
    def problems(self) -> list[str]:
        return [f"{f.path}: {f.problem}" for f in self.files if not f.ok]


@dataclass
class RunEvidence:
    dag_id: str
    run_id: str
    task_id: str | None
    map_index: int | None
    records: list[RunRecord]
    counts: dict[str, int]
    untrusted: list[Untrusted]  # folders that claim this run (or task) but do not verify

    @property
    def verified_count(self) -> int:
        return sum(r.verified for r in self.records)


def parse_map_index(text: str | None) -> int | None:
    """The ``map_index`` of a task instance URL: None when absent (every map index), also for the
    literal ``{MAP_INDEX}`` the Airflow UI leaves in the link of an unmapped task's page."""
    text = (text or "").strip()
    if not text or text == "{MAP_INDEX}":
        return None
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"map_index={text!r} is not an integer") from None


def _claims(evidence: Evidence, key: str) -> dict[str, Any]:
    """The producer an untrusted folder's manifest claims (unverified: used only to list it as
    untrusted on that run's page, never as evidence)."""
    try:
        producer = json.loads(evidence.storage.get(f"{key}/{MANIFEST}"))["predicate"]["producer"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return producer if isinstance(producer, dict) else {}


def run_evidence(
    evidence: Evidence,
    dag_id: str,
    run_id: str,
    task_id: str | None = None,
    map_index: int | None = None,
) -> RunEvidence:
    """The verified records a DAG run (or one task, one map index of it) wrote, every try, each
    with its files re-hashed; and the folders that claim to be from it but do not verify."""

    def mine(producer: Mapping[str, Any]) -> bool:
        return (
            producer.get("dag_id") == dag_id
            and producer.get("run_id") == run_id
            and (task_id is None or producer.get("task_id") == task_id)
            and (map_index is None or producer.get("map_index", -1) == map_index)
        )

    found = [r for r in evidence.records if r.producer.get("kind") == "task" and mine(r.producer)]
    # In the order the tasks ran (every try of a task where it ran), as the run's grid shows them.
    found.sort(key=lambda r: (r.started_at, r.producer.get("map_index", -1), r.key))
    rows = [_row(evidence, r) for r in found]
    records = [RunRecord(row, _check_files(evidence, row.key)) for row in rows]
    untrusted = [
        u for u in evidence.untrusted if u.key.startswith("records/") and mine(_claims(evidence, u.key))
    ]
    return RunEvidence(dag_id, run_id, task_id, map_index, records, status_counts(rows), untrusted)


# --- the compliance overview --------------------------------------------------------------------------------


@dataclass
class Overview:
    total: int  # verified records, superseded included
    current: dict[str, int]  # current verdicts per status
    pending: int  # verified records no seal has taken in yet
    latest_seal: int | None
    attention: list[RecordRow]  # current verdicts that are not passed, worst first, newest first
    untrusted: list[Untrusted]

    @property
    def current_total(self) -> int:
        return sum(self.current.values())


def overview(evidence: Evidence, attention_limit: int = 15) -> Overview:
    """Counts of the store's verified records and the current verdicts that need a look."""
    current = [r for r in evidence.records if not r.superseded]
    rows = [_row(evidence, r) for r in current]
    worst = sorted(
        (row for row in rows if row.status != Status.passed.value),
        key=lambda row: (-Status(row.status).rank, -row.ended_at.timestamp(), row.key),
    )
    sealed = [r.sealed_in for r in evidence.records if r.sealed_in is not None]
    return Overview(
        total=len(evidence.records),
        current=status_counts(rows),
        pending=sum(r.sealed_in is None for r in evidence.records),
        latest_seal=max(sealed, default=None),
        attention=worst[:attention_limit],
        untrusted=evidence.untrusted,
    )


# --- coverage (aimsflow.compliance.coverage: the one computation) -------------------------------------------


@dataclass
class CoverageView:
    """Coverage as :func:`aimsflow.compliance.coverage.load_coverage` computes it for the CLI
    (``aimsflow soa``) and the report too, and which framework's view to show."""

    framework: str
    frameworks: list[tuple[str, str]]  # (name, title), the ISO/IEC 42001 base first
    coverage: Any = None  # aimsflow.compliance.coverage.Coverage
    rows: list[Any] = field(default_factory=list)  # ControlCoverage (base) or FrameworkItemCoverage
    summary: dict[str, int] = field(default_factory=dict)
    error: str | None = None  # the SoA or crosswalk does not load: say so, show the rest
    restricted: bool = False  # records of DAGs the user may not read exist and are not counted

    @property
    def base(self) -> bool:
        return self.framework == self.frameworks[0][0] if self.frameworks else True


def coverage_view(evidence: Evidence, framework: str | None = None) -> CoverageView:
    """Coverage per control (or per item of another framework), judged at the moment the store was
    read, from the records ``evidence`` holds: restricted evidence (:func:`restricted`) gives the
    coverage of the DAGs the user may read, so the page shows no verdict, record, gap or
    nonconformity of the others, and the cards and the coverage count the same records. An unknown
    framework is a :class:`BadRequest`; a Statement of Applicability or crosswalk that does not load
    is shown as the error it is (the rest of the page still renders)."""
    from aimsflow.compliance.coverage import load_coverage
    from aimsflow.configfile import ConfigError

    try:
        coverage = load_coverage(
            evidence.storage,
            evidence.keys,
            as_of=evidence.read_at,
            records=evidence.loaded,
            can_read_dag=evidence.can_read_dag,
        )
    except ConfigError as exc:
        return CoverageView(framework or "", [], error=str(exc), restricted=evidence.hidden > 0)
    names = [(name, coverage.crosswalk.title(name)) for name in coverage.frameworks]
    chosen = framework or names[0][0]
    if chosen not in dict(names):
        raise BadRequest(f"framework={chosen!r} is not one of {', '.join(n for n, _ in names)}")
    rows = list(coverage.controls) if chosen == names[0][0] else coverage.by_framework(chosen)
    return CoverageView(chosen, names, coverage, rows, coverage.summary(), restricted=evidence.hidden > 0)
