"""The demo pipeline's steps as jobs of one period (one UTC day), bound to the configured catalog,
data root and pseudonym key: what the data_preparation DAG runs."""

from __future__ import annotations

from aimsflow import settings
from aimsflow.catalog import load_inventory
from aimsflow.periods import Period
from aimsflow.prep import CLEAN, RAW, TRAIN
from aimsflow.prep.steps import build_training_set, clean_batch, ingest_batch
from aimsflow.results import JobResult


def ingest_job(period: Period) -> JobResult:
    return ingest_batch(load_inventory(), RAW, period.single_day(), settings.data_root())


def clean_job(period: Period) -> JobResult:
    key = settings.pseudonym_key() or b""  # an empty key is refused by clean_batch with a clear error
    return clean_batch(load_inventory(), RAW, CLEAN, period.single_day(), settings.data_root(), key)


def training_set_job(period: Period) -> JobResult:
    return build_training_set(load_inventory(), CLEAN, TRAIN, period.single_day(), settings.data_root())
