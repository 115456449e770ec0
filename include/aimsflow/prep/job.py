"""The demo pipeline's steps as jobs of one UTC day, bound to the configured catalog, data root and
pseudonym key, and their declarations: what the data_preparation DAG runs.

The steps themselves (pyarrow, pandas) live in :mod:`aimsflow.prep.steps`, imported when a job runs.
"""

from __future__ import annotations

from aimsflow import settings
from aimsflow.jobs import Job, PeriodUse, SubjectKind
from aimsflow.periods import Period
from aimsflow.prep import CLEAN, RAW, TRAIN
from aimsflow.results import JobResult


def ingest(period: Period) -> JobResult:
    from aimsflow.catalog import load_inventory
    from aimsflow.prep.steps import ingest_batch

    return ingest_batch(load_inventory(), RAW, period.single_day(), settings.data_root())


def clean(period: Period) -> JobResult:
    from aimsflow.catalog import load_inventory
    from aimsflow.prep.steps import clean_batch

    key = settings.pseudonym_key() or b""  # an empty key is refused by clean_batch with a clear error
    return clean_batch(load_inventory(), RAW, CLEAN, period.single_day(), settings.data_root(), key)


def training_set(period: Period) -> JobResult:
    from aimsflow.catalog import load_inventory
    from aimsflow.prep.steps import build_training_set

    return build_training_set(load_inventory(), CLEAN, TRAIN, period.single_day(), settings.data_root())


_DAG = "data_preparation"
INGEST = Job(
    _DAG,
    "ingest",
    ("A.7.3", "A.7.5"),
    SubjectKind.partition,
    PeriodUse.day,
    ingest,
    "acquire the day's raw batch (quarantined if unreadable), with its SHA-256",
    announces=(RAW,),
)
CLEAN_JOB = Job(
    _DAG,
    "clean",
    ("A.7.6", "A.7.5"),
    SubjectKind.partition,
    PeriodUse.day,
    clean,
    "type, de-duplicate and pseudonymise into a new write-once version",
    announces=(CLEAN,),
)
TRAINING_SET = Job(
    _DAG,
    "training_set",
    ("A.7.6", "A.7.2", "A.7.5"),
    SubjectKind.partition,
    PeriodUse.day,
    training_set,
    "a trailing window of clean days with features and label",
    announces=(TRAIN,),
)
JOBS = (INGEST, CLEAN_JOB, TRAINING_SET)
