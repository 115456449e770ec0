"""What the risk jobs read from the evidence store: every record whose signature verifies (the others
are findings, :attr:`Evidence.rejected`), which ``error`` records were on a final try, who closed
what, and the result files of earlier reassessments (register snapshot, nonconformity ledger)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aimsflow.compliance.checks import REPORT as COMPLIANCE_REPORT
from aimsflow.evidence.listing import RecordSummary, Untrusted, load_verified, read_record_file
from aimsflow.evidence.storage import Storage
from aimsflow.evidence.trust import UntrustedRecord
from aimsflow.jobs import Check
from aimsflow.results import Status

if TYPE_CHECKING:
    from aimsflow.evidence.keys import TrustedKeys

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
# Checks of the risk process itself, and the compliance report that aggregates every other record:
# never signals, never causes of nonconformities (they would feed themselves: a failed reassessment
# would open a nonconformity that raises a risk that fails it; a report restates other records).
SELF_CHECKS = frozenset({REASSESS_CHECK, CLOSE_CHECK, COMPLIANCE_REPORT.id})

SNAPSHOT_FILE = "register.json"
DIFF_FILE = "diff.json"
LEDGER_FILE = "nonconformities.json"


def run_time(record: RecordSummary) -> dt.datetime:
    """When the record's run happened: ``run_after`` for tasks, ``started_at`` for commands."""
    return dt.datetime.fromisoformat(record.order[0])


@dataclass
class Evidence:
    """Every verified record of the store, with the facts the risk jobs need beyond the listing, and
    the record folders that did not verify (reported by the jobs, never read)."""

    records: list[RecordSummary]
    final_errors: frozenset[str]
    # key -> triggered_by.user of closure records (the person named by Airflow's authentication)
    closers: dict[str, str | None]
    rejected: list[Untrusted] = field(default_factory=list)
    predicates: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def current(self) -> list[RecordSummary]:
        return [r for r in self.records if not r.superseded]

    def reassessments(self) -> list[RecordSummary]:
        """Reassessment records that hold a snapshot (``error`` records hold none), in log order
        (seal, then place in the seal; not by their own ``ended_at``)."""
        found = [r for r in self.records if r.check == REASSESS_CHECK and r.status != Status.error]
        return sorted(found, key=lambda r: r.log_position)

    def closures(self) -> list[RecordSummary]:
        """Closure records that closed something (refusals are ``failed``), in log order."""
        found = [r for r in self.records if r.check == CLOSE_CHECK and r.status == Status.passed]
        return sorted(found, key=lambda r: r.log_position)

    def result_json(self, storage: Storage, key: str, name: str) -> Any | None:
        """A JSON result file of a verified record; None when the record has no such file. A file
        that does not match its signed manifest is added to :attr:`rejected` and not read."""
        predicate = self.predicates.get(key)
        if predicate is None or not any(f.get("path") == name for f in predicate.get("files") or []):
            return None
        try:
            return json.loads(read_record_file(storage, key, name, predicate))
        except UntrustedRecord as exc:
            if all(u.key != exc.key for u in self.rejected):
                self.rejected.append(Untrusted(exc.key, exc.problem))
            return None
        except ValueError as exc:  # signed, yet not JSON: the record is broken, not forged
            raise ValueError(f"{key}/{name}: not JSON: {exc}") from None

    def untrusted(self) -> list[dict[str, str]]:
        """The refused folders as a reader's record lists them."""
        return [u.as_dict() for u in self.rejected]


def untrusted_message(rejected: list[Untrusted]) -> str:
    """One sentence for a reader's record message naming the refused folders."""
    keys = ", ".join(u.key for u in rejected[:5]) + (" ..." if len(rejected) > 5 else "")
    return f"{len(rejected)} record folder(s) do not verify and were not read: {keys}"


def load_evidence(storage: Storage, keys: TrustedKeys | None = None) -> Evidence:
    """The verified records of ``storage`` (``keys``: the trusted keys, default the configured file)."""
    from aimsflow.evidence.keys import TrustedKeys

    loaded = load_verified(storage, keys or TrustedKeys.load())
    final_errors = set()
    closers: dict[str, str | None] = {}
    for rec in loaded.records:
        predicate = loaded.predicates[rec.key]
        if rec.status == Status.error:
            error = predicate.get("error") or {}
            # An error record without error details (written outside the wrapper) counts as final.
            if error.get("final_try", True):
                final_errors.add(rec.key)
        elif rec.check == CLOSE_CHECK:
            closers[rec.key] = (predicate.get("triggered_by") or {}).get("user")
    return Evidence(loaded.records, frozenset(final_errors), closers, loaded.rejected, loaded.predicates)
