"""Intents: a task try says in the store that it has started, before its job runs, so that a try which
ends without writing its record (killed with SIGKILL, out of memory, machine lost) is reported by
verify instead of leaving no trace.

Layout (keys relative to the store root, outside ``records/``, never part of a record or a seal)::

    intents/<UTC date the try started>/<SHA-256 of the expected record key>.json

An intent is written once (a second write of the same try is a no-op) and names the task try and the
record key it will write. It is not signed: it can only make verify report more, never less, and an
insider who deletes it together with an unsealed record is the unsealed-window problem the seal
covers, not something an intent could.

:func:`check_intents` reports every intent older than the grace
(:func:`aimsflow.settings.intent_grace_seconds`) whose task instance has no record: neither the try's
own record nor that of a later try of the same task instance (a retry, or the try an operator starts
by clearing the task), and none lawfully disposed of.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from aimsflow.evidence.record import Producer
from aimsflow.evidence.storage import Storage, WriteOnceError
from aimsflow.results import sha256_bytes

if TYPE_CHECKING:
    from aimsflow.evidence.verify import VerifyReport
    from aimsflow.periods import Period

INTENTS_PREFIX = "intents"
INTENT_FORMAT = "aimsflow-intent/1"
_TRY = re.compile(r"\.try(\d+)-[0-9a-f]{12}$")


@dataclass(frozen=True)
class Intent:
    """One task try's announcement: who it is and which record key it will write."""

    record: str
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    started_at: dt.datetime

    @property
    def key(self) -> str:
        return intent_key(self.record, self.started_at)

    def producer(self, try_number: int | None = None) -> Producer:
        """The producer of this try (or of another try of the same task instance)."""
        return Producer(
            kind="task",
            dag_id=self.dag_id,
            run_id=self.run_id,
            task_id=self.task_id,
            map_index=self.map_index,
            try_number=self.try_number if try_number is None else try_number,
        )

    def as_json(self) -> bytes:
        doc = {"format": INTENT_FORMAT, **asdict(self), "started_at": self.started_at.isoformat()}
        return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes) -> Intent:
        doc = json.loads(data)
        if doc.get("format") != INTENT_FORMAT:
            raise ValueError(f"format {doc.get('format')!r}, expected {INTENT_FORMAT!r}")
        started_at = dt.datetime.fromisoformat(doc["started_at"])
        if started_at.tzinfo is None:
            raise ValueError(f"started_at {doc['started_at']!r} has no time zone")
        return cls(
            record=str(doc["record"]),
            dag_id=str(doc["dag_id"]),
            run_id=str(doc["run_id"]),
            task_id=str(doc["task_id"]),
            map_index=int(doc["map_index"]),
            try_number=int(doc["try_number"]),
            started_at=started_at,
        )


def intent_key(record: str, started_at: dt.datetime) -> str:
    day = started_at.astimezone(dt.UTC).date().isoformat()
    return f"{INTENTS_PREFIX}/{day}/{sha256_bytes(record.encode())}.json"


def write_intent(storage: Storage, producer: Producer, record: str, started_at: dt.datetime) -> Intent:
    """Write the intent of a task try about to produce ``record`` (write-once; present already: kept)."""
    if producer.kind != "task" or producer.try_number is None:
        raise ValueError(f"intents are written by task tries, not {producer.kind} producers")
    intent = Intent(
        record=record,
        dag_id=str(producer.dag_id),
        run_id=str(producer.run_id),
        task_id=str(producer.task_id),
        map_index=producer.map_index,
        try_number=producer.try_number,
        started_at=started_at,
    )
    try:
        storage.put_once(intent.key, intent.as_json())
    except WriteOnceError:
        pass  # the same try again (dag.test of one run id): its record key is taken too, and says so
    return intent


@dataclass(frozen=True)
class IntentCheck:
    intents: int
    unrecorded: tuple[str, ...]  # intent keys whose task instance has no record


def _later_tries(intent: Intent, siblings: Iterable[str]) -> list[str]:
    """Keys among ``siblings`` (record keys in the intent's record folder) of later tries of the same
    task instance: the record id names the try, its hash pins dag, run, task and map index."""
    parent = intent.record.rpartition("/")[0]
    out = []
    for key in siblings:
        match = _TRY.search(key)
        if match is None or int(match[1]) <= intent.try_number:
            continue
        if key == f"{parent}/{intent.producer(int(match[1])).record_id()}":
            out.append(key)
    return out


def check_intents(
    storage: Storage,
    record_folders: set[str],
    report: VerifyReport,
    now: dt.datetime,
    grace: dt.timedelta | None = None,
    period: Period | None = None,
) -> IntentCheck:
    """Report (``report.add``) every intent older than ``grace`` (default: the setting) whose task
    instance left no record: a try ended by SIGKILL, an out-of-memory kill or a lost machine before it
    could write its ``error`` record. Records lawfully disposed of (``report.disposed``, so call this
    after the disposals are checked) count as written. ``period``: only intents whose record falls in
    it. Unreadable intents and stray objects under ``intents/`` are reported too."""
    from aimsflow import settings
    from aimsflow.periods import parse_period

    if grace is None:
        grace = dt.timedelta(seconds=settings.intent_grace_seconds())
    disposed = {str(d["record"]) for d in report.disposed}
    present = record_folders | disposed
    by_parent: dict[str, list[str]] = defaultdict(list)
    for key in present:
        by_parent[key.rpartition("/")[0]].append(key)
    files = storage.list_files(INTENTS_PREFIX) if storage.exists(INTENTS_PREFIX) else []
    checked = 0
    unrecorded: list[str] = []
    for name in files:
        key = f"{INTENTS_PREFIX}/{name}"
        if name.rsplit("/", 1)[-1].startswith("."):
            continue  # temp file of an interrupted write
        try:
            intent = Intent.from_json(storage.get(key))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            report.add(key, f"unreadable intent: {exc!r}")
            continue
        if key != intent.key:
            report.add(key, f"intent is not at the place its content names ({intent.key})")
            continue
        if period is not None:
            try:
                if not parse_period(intent.record.split("/")[1]).overlaps(period):
                    continue
            except (ValueError, IndexError):
                pass
        checked += 1
        if now - intent.started_at < grace or intent.record in present:
            continue
        if _later_tries(intent, by_parent.get(intent.record.rpartition("/")[0], [])):
            continue
        unrecorded.append(key)
        report.add(
            intent.record,
            f"task {intent.dag_id}.{intent.task_id}"
            + (f"[{intent.map_index}]" if intent.map_index >= 0 else "")
            + f" of run {intent.run_id}, try {intent.try_number}, started {intent.started_at.isoformat()} "
            f"and left no record (killed before it could write one?); intent {key}. Clear the task in "
            "Airflow to run it again: the new try's record settles this",
        )
    return IntentCheck(checked, tuple(unrecorded))
