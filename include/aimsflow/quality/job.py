"""The data quality job and its declaration: what the data_quality DAG runs for each new partition.

The work (GX, pandas, drift) is in :mod:`aimsflow.quality.validate`, imported when the job runs.
"""

from __future__ import annotations

from aimsflow.jobs import Job, PeriodUse, SubjectKind
from aimsflow.periods import Period
from aimsflow.results import JobResult


def validate(period: Period, *, dataset: str) -> JobResult:
    """One dataset partition (one day) against its suite, and drift for operational data."""
    from aimsflow.catalog import load_inventory
    from aimsflow.quality.validate import validate_partition

    return validate_partition(load_inventory(), dataset, period.single_day())


VALIDATE = Job(
    "data_quality",
    "validate",
    ("A.7.4", "A.6.2.6"),
    SubjectKind.partition,
    PeriodUse.day,
    validate,
    "the partition's GX suite and declared types; drift against the training set for operational data",
    reads=("data_preparation/*",),
)
JOBS = (VALIDATE,)
