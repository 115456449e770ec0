"""What the risk jobs read from the evidence store: every record's summary, which ``error`` records
were on a final try, the manifests of closure records, and the result files of earlier
reassessments (register snapshot, nonconformity ledger)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from aimsflow.evidence.listing import RecordSummary, load_summaries
from aimsflow.evidence.record import MANIFEST
from aimsflow.evidence.storage import Storage
from aimsflow.jobs import Check
from aimsflow.results import Status

# Declared here, where the readers of these records need them; the jobs are declared in risk/job.py.
REASSESSMENT = Check(
    "risk_reassessment/reassess",
    ("6.1.2", "6.1.3", "8.2", "8.3", "10.2", "A.5.2"),
    "re-score the AI risk register from current verdicts; snapshot, diff, nonconformity ledger",
)
CLOSURE = Check(
    "nonconformity_close/close",
    ("10.2",),
    "close a nonconformity with root cause and corrective action after a later passing run",
)
REASSESS_CHECK = REASSESSMENT.id
CLOSE_CHECK = CLOSURE.id
# Checks of the risk process itself: never signals, never causes of nonconformities (they would feed
# themselves: a failed reassessment would open a nonconformity that raises a risk that fails it).
SELF_CHECKS = frozenset({REASSESS_CHECK, CLOSE_CHECK})

SNAPSHOT_FILE = "register.json"
DIFF_FILE = "diff.json"
LEDGER_FILE = "nonconformities.json"


def run_time(record: RecordSummary) -> dt.datetime:
    """When the record's run happened: ``run_after`` for tasks, ``started_at`` for commands."""
    return dt.datetime.fromisoformat(record.order[0])


def predicate(storage: Storage, key: str) -> dict[str, Any]:
    return json.loads(storage.get(f"{key}/{MANIFEST}"))["predicate"]


def read_result_json(storage: Storage, key: str, name: str) -> Any | None:
    """A JSON result file of a record, or None when the record has no such file."""
    if not storage.exists(f"{key}/{name}"):
        return None
    return json.loads(storage.get(f"{key}/{name}"))


@dataclass
class Evidence:
    """Every record of the store, with the facts the risk jobs need beyond the listing."""

    records: list[RecordSummary]
    final_errors: frozenset[str]
    # key -> triggered_by.user of closure records (the person named by Airflow's authentication)
    closers: dict[str, str | None]

    @property
    def current(self) -> list[RecordSummary]:
        return [r for r in self.records if not r.superseded]

    def reassessments(self) -> list[RecordSummary]:
        """Reassessment records that hold a snapshot (``error`` records hold none), oldest first."""
        found = [r for r in self.records if r.check == REASSESS_CHECK and r.status != Status.error]
        return sorted(found, key=lambda r: r.ended_at)

    def closures(self) -> list[RecordSummary]:
        """Closure records that closed something (refusals are ``failed``), oldest first."""
        found = [r for r in self.records if r.check == CLOSE_CHECK and r.status == Status.passed]
        return sorted(found, key=lambda r: r.ended_at)


def load_evidence(storage: Storage) -> Evidence:
    records = load_summaries(storage)
    final_errors = set()
    closers: dict[str, str | None] = {}
    for rec in records:
        if rec.status == Status.error:
            error = predicate(storage, rec.key).get("error") or {}
            # An error record without error details (written outside the wrapper) counts as final.
            if error.get("final_try", True):
                final_errors.add(rec.key)
        elif rec.check == CLOSE_CHECK:
            closers[rec.key] = (predicate(storage, rec.key).get("triggered_by") or {}).get("user")
    return Evidence(records, frozenset(final_errors), closers)
