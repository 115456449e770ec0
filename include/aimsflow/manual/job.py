"""The job ``manual_evidence/document``: one signed record per document dropped in the inbox.

The DAG ``manual_evidence`` runs three steps per run (docs/manual-evidence.md):

1. :func:`scan_drops` (a plain task, no record) lists the drops in the inbox: each document with its
   sidecar, and each lone entry (a document without sidecar, a sidecar without document, a folder, a
   link), leaving out files still being written (changed less than ``settle_minutes`` ago) and bad
   drops already reported unchanged within the last day;
2. :func:`ingest`, one mapped task per drop (Airflow's ``expand``), through
   :func:`aimsflow.airflow_glue.run_job`: so each drop gets a record of its own, written by its own
   task try, with the same status semantics as every job, and one bad drop fails only its own task;
3. :func:`file_away`, in the same task once the record is written: the record is verified (signature,
   stored copies) and the drop moves to ``.ingested/<record id>/``.

Why mapped tasks and not one task writing several records (``also_writes``, as retention writes its
certificates): the records are the job's own, each stamped by the declaration (a record narrows the
declared controls to its sidecar's), each with its intent, its try number and its ``error`` on a bad
drop re-raised, which only ``run_job`` gives; and a bad drop must not stop the good ones.

Statuses: ``passed`` (ingested); ``warning`` (ingested, but its review date or its validity has
passed: its controls are stale; or a duplicate of an earlier drop, not ingested again, whose record
evidences clause 7.5.3 only); ``error`` (bad drop: left in the inbox untouched, the task retries and
the run ends failed, after every good drop of the run is ingested).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from typing import Any

from aimsflow import settings
from aimsflow.evidence.controls import ordered_controls
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.listing import read_record_file
from aimsflow.evidence.storage import LocalStorage, Storage
from aimsflow.evidence.trust import read_verified
from aimsflow.jobs import Job, PeriodUse, SubjectKind
from aimsflow.manual.history import REPORT_AGAIN_AFTER, History, document_id, load_history
from aimsflow.manual.inbox import (
    MAX_DOCUMENT_BYTES,
    Drop,
    FilingError,
    hashes,
    is_filed,
    last_change,
    move_out,
    opened_inbox,
    processed_area_problems,
    read_entry,
    scan_inbox,
)
from aimsflow.manual.sidecar import MAX_SIDECAR_BYTES, Loaded, document_name, load_sidecar, sidecar_name
from aimsflow.periods import Period, to_utc
from aimsflow.results import DataRef, JobError, JobResult, SpecRef, Status, Subject, sha256_bytes

log = logging.getLogger(__name__)

#: Control of documented information: what a record that ingests nothing (a duplicate) evidences,
#: and what an ``error`` record evidences when its sidecar names no valid control.
DOCUMENT_CONTROL = "7.5.3"
#: Files younger than this are left for the next run by default (a copy may still be running).
SETTLE_MINUTES = 2
#: The summary fields every record of the check carries (null when unknown): the interface that the
#: coverage computation, the report and the UI read.
INTERFACE_FIELDS = (
    "title",
    "owner",
    "document",
    "document_sha256",
    "review_date",
    "valid_from",
    "valid_to",
    "ai_system",
)


def _storage(storage: Storage | None) -> Storage:
    return storage or LocalStorage(settings.evidence_root())


def _inbox(inbox: Path | None) -> Path:
    return Path(inbox) if inbox is not None else settings.manual_inbox()


def _data_ref(path: Path, data: bytes) -> DataRef:
    # The inbox resolved (the operator's link), the file's own name as read: a link swapped in for
    # it since is not followed here either.
    return DataRef((path.parent.resolve() / path.name).as_uri(), sha256_bytes(data), len(data))


def _read_drop(
    inbox: Path, drop: Drop
) -> tuple[bytes | None, str | None, bytes | None, str | None, list[str]]:
    """The drop's document and sidecar, each ``(bytes, why not)``, read once without following a
    link, and the processed area's problems (a link where a drop would be filed)."""
    try:
        with opened_inbox(inbox) as fd:
            document, why = (
                read_entry(fd, drop.document, MAX_DOCUMENT_BYTES) if drop.document else (None, None)
            )
            sidecar, side_why = (
                read_entry(fd, drop.sidecar, MAX_SIDECAR_BYTES) if drop.sidecar else (None, None)
            )
            return document, why, sidecar, side_why, processed_area_problems(fd, inbox)
    except OSError as exc:
        gone = f"cannot be read: the inbox cannot be opened: {exc.strerror or exc}"
        return None, gone if drop.document else None, None, gone if drop.sidecar else None, []


def ingest(
    period: Period,
    *,
    item: dict[str, Any],
    inbox: Path | None = None,
    storage: Storage | None = None,
    keys: TrustedKeys | None = None,
    config: Path | None = None,
    now: dt.datetime | None = None,
) -> JobResult:
    """The record of one drop (``item``: ``{"document", "sidecar"}``, file names in the inbox).

    Raises :class:`JobError` for a bad drop, naming every problem (file, line, field, value); its
    partial result carries the drop's files' hashes and the sidecar, and the drop stays in the inbox.
    Nothing here moves or changes a file: :func:`file_away` does, once the record verifies."""
    from aimsflow.catalog import ConfigError, load_inventory

    now = to_utc(now or dt.datetime.now(dt.UTC))
    inbox = _inbox(inbox)
    try:
        drop = Drop.from_item(item)
    except ValueError as exc:
        raise JobError.partial(
            f"refused the task's input {item!r}: {exc}",
            Subject(),
            controls=(DOCUMENT_CONTROL,),
            summary={**dict.fromkeys(INTERFACE_FIELDS), "document_id": f"inbox/{item!r}"},
        ) from exc
    try:
        inventory = load_inventory(config)
    except ConfigError as exc:  # an error of its own, not of the drop: the drop is not judged
        raise JobError.partial(
            f"drop {drop.name!r} not judged, left in the inbox: the catalog cannot be read: {exc}",
            Subject(),
            controls=(DOCUMENT_CONTROL,),
            summary={
                **dict.fromkeys(INTERFACE_FIELDS),
                "document": drop.document,
                "sidecar": drop.sidecar,
                "document_id": _drop_id(drop),
            },
        ) from exc
    specs = [SpecRef.of_file(inventory.files["ai_systems"])]
    problems: list[str] = []
    doc_path = inbox / drop.document if drop.document else None
    side_path = inbox / drop.sidecar if drop.sidecar else None
    document, why, sidecar_bytes, side_why, area_problems = _read_drop(inbox, drop)
    for path, reason in ((doc_path, why), (side_path, side_why)):
        if reason is not None:
            problems.append(f"{path}: {reason}")
    if drop.document is None and side_why is None:
        problems.append(
            f"{side_path}: a sidecar without its document {document_name(str(drop.sidecar))!r}: drop the "
            "document beside it, or remove the sidecar"
        )
    if drop.sidecar is None and why is None:
        problems.append(
            f"{doc_path}: a document without its sidecar: add {sidecar_name(str(drop.document))!r} beside it "
            "(docs/manual-evidence.md)"
        )
    loaded: Loaded | None = None
    if side_path is not None and side_why is None:
        loaded = load_sidecar(side_path, list(inventory.ai_systems), data=sidecar_bytes)
        problems.extend(loaded.problems)
    problems.extend(area_problems)

    summary: dict[str, Any] = {f: None for f in INTERFACE_FIELDS}
    summary.update(
        document=drop.document,
        document_sha256=sha256_bytes(document) if document is not None else None,
        document_size=len(document) if document is not None else None,
        sidecar=drop.sidecar,
        sidecar_sha256=sha256_bytes(sidecar_bytes) if sidecar_bytes is not None else None,
        controls=None,
        document_id=None,
        supersedes=None,
        duplicate_of=None,
        ingested_at=now.isoformat(),
    )
    inputs = [
        _data_ref(p, b) for p, b in ((doc_path, document), (side_path, sidecar_bytes)) if p and b is not None
    ]
    files: dict[str, bytes | Path] = {}
    if sidecar_bytes is not None:
        files[f"sidecar/{drop.sidecar}"] = sidecar_bytes

    if problems or loaded is None or loaded.sidecar is None:
        # File names as staff see them in the inbox (the record's inputs hold the full paths).
        problems = [p.replace(f"{inbox}{os.sep}", "") for p in problems]
        partial = loaded.partial if loaded is not None else {}
        summary.update(problems=problems, left_in_inbox=drop.names(), **partial)
        # One verdict per drop (listing's key): the document it would be, else the drop itself.
        summary["document_id"] = (
            document_id(partial["title"], partial.get("ai_system"))
            if partial.get("title")
            else _drop_id(drop)
        )
        message = f"drop {drop.name!r} refused, left in the inbox untouched: " + "; ".join(problems)
        raise JobError.partial(
            message,
            Subject(ai_system=partial.get("ai_system")),
            controls=tuple(partial.get("controls") or (DOCUMENT_CONTROL,)),
            summary=summary,
            files=files,
            inputs=inputs,
            specs=specs,
        )

    assert document is not None and drop.document is not None and sidecar_bytes is not None
    sidecar = loaded.sidecar
    meta = sidecar.metadata()
    doc_id = document_id(sidecar.title, sidecar.ai_system)
    history = load_history(DOCUMENT.check, _storage(storage), keys, now)
    summary.update(meta, document_id=doc_id, validity=_validity_label(meta))
    if history.rejected:
        summary["earlier_records_not_verified"] = len(history.rejected)
    subject = Subject(ai_system=sidecar.ai_system)

    same = history.same_drop(summary["document_sha256"], meta)
    if same is not None:
        return _duplicate(drop, same, history, subject, summary, files, inputs, specs)

    files[f"document/{drop.document}"] = document
    previous = history.latest_version(doc_id)
    summary["supersedes"] = previous.key if previous is not None else None
    today = now.date()
    first, last = sidecar.validity
    overdue = sidecar.review_date < today
    expired = last is not None and last < today
    summary.update(review_overdue=overdue, validity_ended=expired)
    controls = sidecar.sorted_controls
    said = (
        f"ingested {sidecar.title!r} ({drop.document}, {len(document)} bytes) for {', '.join(controls)}; "
        f"valid {summary['validity']}; review due {sidecar.review_date.isoformat()}"
    )
    if previous is not None:
        said += f"; supersedes {previous.key}"
    findings = []
    if overdue:
        findings.append(f"its review date {sidecar.review_date.isoformat()} has passed")
    if expired and last is not None:
        findings.append(f"its validity ended on {last.isoformat()}")
    if first is not None and first > today:
        said += f"; in force from {first.isoformat()}"
    if findings:
        said += f" — but {' and '.join(findings)}: its controls are stale until a reviewed version is dropped"
    return JobResult(
        subject=subject,
        status=Status.warning if findings else Status.passed,
        controls=controls,
        summary=summary,
        files=files,
        inputs=inputs,
        specs=specs,
        message=said,
    )


def _drop_id(drop: Drop) -> str:
    """The verdict identity of a drop that names no document: the inbox entry itself."""
    return f"inbox/{drop.name}"


def _validity_label(meta: dict[str, Any]) -> str:
    first, last = meta["valid_from"], meta["valid_to"]
    if last is None:
        return f"from {first}, until superseded"
    return Period.days(dt.date.fromisoformat(first), dt.date.fromisoformat(last)).label


def _duplicate(
    drop: Drop,
    same: Any,
    history: History,
    subject: Subject,
    summary: dict[str, Any],
    files: dict[str, bytes | Path],
    inputs: list[DataRef],
    specs: list[SpecRef],
) -> JobResult:
    """A drop identical to an earlier one (document bytes and sidecar fields): not ingested again.
    Its ``warning`` record (clause 7.5.3 only, so that it changes no other control's verdict) names
    the record that holds the document; the drop leaves the inbox all the same."""
    later = history.superseded_by(same.key)
    summary.update(duplicate_of=same.key, supersedes=None, review_overdue=None)
    message = (
        f"duplicate: {drop.document} with this sidecar was ingested already as {same.key}; not ingested again"
    )
    if later is not None:
        message += f" (that version has since been superseded by {later.key})"
    return JobResult(
        subject=subject,
        status=Status.warning,
        controls=(DOCUMENT_CONTROL,),
        summary=summary,
        files=files,
        inputs=inputs,
        specs=specs,
        message=message,
    )


def scan_drops(
    *,
    settle_minutes: float = SETTLE_MINUTES,
    inbox: Path | None = None,
    storage: Storage | None = None,
    keys: TrustedKeys | None = None,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """The drops this run ingests, as mapped-task items ``{"document", "sidecar"}``.

    Left out, each with a log line: a drop with a file changed less than ``settle_minutes`` ago (the
    next run takes it); a bad drop whose ``error`` record for exactly these files is less than
    :data:`~aimsflow.manual.history.REPORT_AGAIN_AFTER` old (reported again daily, not hourly); and a
    drop whose record exists but which never left the inbox (the task was killed between record and
    move, and the files are unchanged since): it is moved now, without a second record."""
    inbox = _inbox(inbox)
    now = to_utc(now or dt.datetime.now(dt.UTC))
    drops = scan_inbox(inbox)
    if not drops:
        return []
    history = load_history(DOCUMENT.check, _storage(storage), keys, now)
    settle = dt.timedelta(minutes=settle_minutes)
    out = []
    for drop in drops:
        changed = last_change(inbox, drop)
        if changed is not None and now - changed < settle:
            log.info("%s changed %s ago: left for the next run", drop.name, now - changed)
            continue
        doc_sha, side_sha = hashes(inbox, drop)
        if drop.document and drop.sidecar and doc_sha and side_sha:
            done = history.same_files(doc_sha, side_sha)
            if (
                done is not None
                and changed is not None
                and changed <= done.ended_at
                and not is_filed(inbox, done.record_id, drop.document)
            ):
                try:
                    target = move_out(inbox, drop, done.record_id)
                except FilingError as exc:  # its task writes the error record naming the link
                    log.error(
                        "%s: record %s was written but the drop stayed, and cannot move: %s",
                        drop.name,
                        done.key,
                        exc,
                    )
                else:
                    log.warning(
                        "%s: record %s was written but the drop stayed: moved to %s",
                        drop.name,
                        done.key,
                        target,
                    )
                    continue
        reported = history.reported(doc_sha, side_sha, now - REPORT_AGAIN_AFTER)
        if reported is not None:
            log.warning(
                "%s: unchanged since its error record %s (%s): reported again %s after it; fix the sidecar "
                "(docs/manual-evidence.md)",
                drop.name,
                reported.key,
                reported.summary.get("problems"),
                REPORT_AGAIN_AFTER,
            )
            continue
        out.append(drop.as_item())
    log.info("%d drop(s) to ingest of %d in %s", len(out), len(drops), inbox)
    return out


def file_away(
    outcome: dict[str, Any],
    item: dict[str, Any],
    *,
    inbox: Path | None = None,
    storage: Storage | None = None,
    keys: TrustedKeys | None = None,
) -> dict[str, Any]:
    """Move an ingested drop to ``.ingested/<record id>/`` once its record (``outcome["record"]``, as
    ``run_job`` returns it) verifies: its signature against the trusted keys, every stored file against
    the signed manifest, and the drop in the inbox still byte for byte what the record holds. A drop
    changed in the meantime stays (the next run takes the new content); returns ``outcome`` with
    ``filed_to`` (the folder, or None)."""
    from aimsflow.evidence.trust import UntrustedRecord

    inbox = _inbox(inbox)
    storage = _storage(storage)
    try:
        drop = Drop.from_item(item)
    except ValueError as exc:
        raise FilingError(str(exc)) from None
    key = outcome["record"]
    try:
        predicate = read_verified(storage, key, keys or TrustedKeys.load()).predicate
        for entry in predicate.get("files") or []:
            read_record_file(storage, key, entry["path"], predicate)
    except UntrustedRecord as exc:
        raise FilingError(
            f"record {exc.key} does not verify ({exc.problem}): {drop.name} stays in the inbox"
        ) from None
    summary = predicate.get("summary") or {}
    if (summary.get("document"), summary.get("sidecar")) != (drop.document, drop.sidecar):
        raise FilingError(f"record {key} is about {summary.get('document')!r}, not {drop.name!r}: it stays")
    if hashes(inbox, drop) != (summary.get("document_sha256"), summary.get("sidecar_sha256")):
        log.warning("%s changed after it was read for %s: left in the inbox for the next run", drop.name, key)
        return {**outcome, "filed_to": None}
    # Raises FilingError (the drop stays) when .ingested or its record folder is a link or no folder:
    # the task fails and its retry's record is an error naming the link (processed_area_problems).
    target = move_out(inbox, drop, predicate["record_id"])
    log.info("%s filed to %s (record %s)", drop.name, target, key)
    return {**outcome, "filed_to": str(target)}


DOCUMENT = Job(
    "manual_evidence",
    "document",
    tuple(ordered_controls()),
    SubjectKind.aims,
    PeriodUse.label,
    ingest,
    "a document dropped in the inbox with its sidecar (a copy of each, SHA-256, title, owner, validity, "
    "review date, AI system); each record narrows the declared controls to its sidecar's",
    reads=("manual_evidence/document",),
)
JOBS = (DOCUMENT,)
