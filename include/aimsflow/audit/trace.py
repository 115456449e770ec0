"""Traceability of one record, as the bundle states it (index.json, index.html, the record pages):
which controls (and their counterparts in other frameworks), which run and when, which inputs, specs
and code version, which lineage run, which nonconformity it opened or closed, what superseded it.

Everything but the nonconformities and supersession comes from the record's own signed manifest
(``verify_bundle.py`` checks that index.json says the same); those two come from the verified store
at export time (the nonconformity ledger of :mod:`aimsflow.risk.nonconformity`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimsflow.evidence.listing import RecordSummary
    from aimsflow.risk.nonconformity import Nonconformity

#: What a record is to a nonconformity, as the pages say it.
ROLES = {
    "opened": "this record opened it",
    "occurrence": "this record is a later occurrence of it",
    "closed": "this record closed it",
    "passing run": "this record is the later passing run its closure rests on",
}

#: Fields of a trace that repeat the record's signed manifest (verify_bundle.py compares them).
FROM_MANIFEST = ("check", "status", "controls", "inputs", "specs", "code", "lineage")


def nonconformity_links(key: str, ledger: list[Nonconformity]) -> list[dict[str, Any]]:
    """The nonconformities ``key`` opened, is an occurrence of, closed, or is the passing run of."""
    out = []
    for nc in ledger:
        roles = []
        if nc.occurrences and nc.occurrences[0].record == key:
            roles.append("opened")
        elif key in nc.records:
            roles.append("occurrence")
        if nc.closure and nc.closure.record == key:
            roles.append("closed")
        if nc.closure and nc.closure.evidence_of_pass == key:
            roles.append("passing run")
        for role in roles:
            out.append(
                {
                    "id": nc.id,
                    "role": role,
                    "says": ROLES[role],
                    "status": nc.status,
                    "cause": nc.cause.label(),
                    "opened_at": nc.opened_at.isoformat(),
                    "closed_at": nc.closure.closed_at.isoformat() if nc.closure else None,
                    "closed_by": nc.closure.closed_by if nc.closure else None,
                    "closure_record": nc.closure.record if nc.closure else None,
                }
            )
    return out


def superseded_by(record: RecordSummary, records: list[RecordSummary]) -> str | None:
    """The current verdict of the record's check, subject and period when it is not this record."""
    if not record.superseded:
        return None
    return next((r.key for r in records if r.verdict_key == record.verdict_key and not r.superseded), None)


def trace_record(
    record: RecordSummary,
    predicate: dict[str, Any],
    manifest_sha256: str,
    *,
    ledger: list[Nonconformity],
    records: list[RecordSummary],
    proof: dict[str, Any],
    sealed_at: str | None,
    spec_files: set[str],
    stored_at: str,
    page: str,
) -> dict[str, Any]:
    """The trace of a verified record (``predicate`` is its verified manifest predicate)."""
    from aimsflow.audit.frameworks import counterparts
    from aimsflow.evidence.controls import CONTROLS

    producer = predicate.get("producer") or {}
    lineage = predicate.get("openlineage")
    error = predicate.get("error")
    return {
        "record": record.key,
        "manifest_sha256": manifest_sha256,
        "stored_at": stored_at,
        "page": page,
        "check": predicate["check"],
        "status": predicate["status"],
        "message": predicate.get("message") or "",
        "error": {"type": error.get("type"), "message": error.get("message")} if error else None,
        "period": predicate["period"],
        "subject": predicate.get("subject") or {},
        "controls": [
            {"id": c, "title": CONTROLS.get(c, ""), "counterparts": counterparts(c)}
            for c in predicate.get("controls") or []
        ],
        "run": {
            "kind": producer.get("kind"),
            "dag_id": producer.get("dag_id"),
            "run_id": producer.get("run_id"),
            "task_id": producer.get("task_id"),
            "map_index": producer.get("map_index"),
            "try_number": producer.get("try_number"),
            "max_tries": producer.get("max_tries"),
            "run_type": producer.get("run_type"),
            "run_after": producer.get("run_after"),
            "command": producer.get("command"),
            "invocation": producer.get("invocation"),
            "user": producer.get("user"),
            "triggered_by": (predicate.get("triggered_by") or {}).get("user"),
            "params": (predicate.get("triggered_by") or {}).get("params") or {},
            "started_at": predicate.get("started_at"),
            "ended_at": predicate.get("ended_at"),
        },
        "inputs": [
            {k: i.get(k) for k in ("uri", "sha256", "size", "rows", "dataset")}
            for i in predicate.get("inputs") or []
        ],
        "outputs": [
            {k: o.get(k) for k in ("uri", "sha256", "size", "rows", "dataset")}
            for o in predicate.get("outputs") or []
        ],
        "specs": [
            {
                "path": s.get("path"),
                "sha256": s.get("sha256"),
                "file": f"specs/sha256/{s.get('sha256')}" if s.get("sha256") in spec_files else None,
            }
            for s in predicate.get("specs") or []
        ],
        "code": predicate.get("code") or {},
        "lineage": {"run_id": lineage.get("run_id"), "sent": lineage.get("sent")} if lineage else None,
        "nonconformities": nonconformity_links(record.key, ledger),
        "superseded": record.superseded,
        "superseded_by": superseded_by(record, records),
        "sealed": {
            "seal": proof["sealed_in"],
            "sealed_at": sealed_at,
            "leaf_index": proof["leaf_index"],
            "checkpoint_seal": proof["checkpoint_seal"],
        },
        "files": predicate.get("files") or [],
    }
