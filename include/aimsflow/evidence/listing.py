"""Which record counts: for one check, subject and period the latest final try of the latest run is
the current verdict; earlier records stay as history, marked superseded, never removed."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aimsflow.evidence.record import MANIFEST
from aimsflow.evidence.seal import record_keys, sealed_keys
from aimsflow.evidence.storage import Storage
from aimsflow.periods import Period
from aimsflow.results import Status


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

    @property
    def dag_id(self) -> str | None:
        return self.producer.get("dag_id")

    @property
    def verdict_key(self) -> tuple[str, str, str, str, str]:
        s = self.subject
        return (
            self.check,
            s.get("ai_system") or "",
            s.get("dataset") or "",
            s.get("partition") or "",
            self.period.label,
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


def load_summaries(
    storage: Storage, progress: Callable[[int, int], None] | None = None
) -> list[RecordSummary]:
    """Every record's summary, with supersession and sealing marked. ``progress(done, total)`` is
    called once per record read (a large store takes a while)."""
    sealed = sealed_keys(storage)
    out = []
    keys = record_keys(storage)
    for done, key in enumerate(keys, 1):
        if progress is not None:
            progress(done, len(keys))
        try:
            p = json.loads(storage.get(f"{key}/{MANIFEST}"))["predicate"]
        except (OSError, ValueError, KeyError):
            continue  # unreadable records are verify's business, not the listing's
        out.append(
            RecordSummary(
                key=key,
                record_id=p["record_id"],
                check=p["check"],
                subject=p["subject"],
                period=Period.from_dict(p["period"]),
                status=Status(p["status"]),
                controls=p["controls"],
                producer=p["producer"],
                started_at=dt.datetime.fromisoformat(p["started_at"]),
                ended_at=dt.datetime.fromisoformat(p["ended_at"]),
                summary=p.get("summary") or {},
                sealed_in=sealed.get(key),
            )
        )
    mark_superseded(out)
    return out


def mark_superseded(records: list[RecordSummary]) -> None:
    groups: dict[tuple[str, ...], list[RecordSummary]] = defaultdict(list)
    for rec in records:
        groups[rec.verdict_key].append(rec)
    for group in groups.values():
        latest = max(group, key=lambda r: r.order)
        for rec in group:
            rec.superseded = rec is not latest


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
