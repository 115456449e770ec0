"""The lineage archive job and its declaration: each closed UTC day's OpenLineage events as one
sealed record (A.6.2.8), run by the evidence_seal DAG before it seals. The work is in
:mod:`aimsflow.lineage.archive`."""

from __future__ import annotations

from aimsflow.jobs import Job, PeriodUse, SubjectKind
from aimsflow.lineage.archive import LINEAGE_EVENTS
from aimsflow.periods import Period
from aimsflow.results import JobResult


def lineage_events(period: Period) -> JobResult:
    from aimsflow.lineage.archive import archive_day

    return archive_day(period)


LINEAGE = Job.for_check(LINEAGE_EVENTS, SubjectKind.aims, PeriodUse.day, lineage_events)
JOBS = (LINEAGE,)
