"""
### data_preparation — the loan approval system's data pipeline (demo source system -> training set)

Daily, one UTC day per run. Each step is a job whose result becomes a signed evidence record with the
SHA-256 of what it read and wrote, so the chain of custody rests on records (A.7.5):

1. `ingest` — acquire the day's raw batch from the loan origination system's drop zone (A.7.3).
   A batch that cannot be read is copied to `data/quarantine/` and the run errors (never skipped).
2. `clean` — type, normalise, de-duplicate and pseudonymise into a new write-once version (A.7.6).
3. `training_set` — a 28-day trailing window of clean days with features and label (A.7.6, A.7.2).

Each step announces its dataset's Asset with the period in `extra`, so checks run on new data only.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from aimsflow import airflow_glue as glue
from aimsflow.prep import AI_SYSTEM, CLEAN, RAW, TRAIN
from aimsflow.results import Subject


@dag(
    dag_id="data_preparation",
    schedule=glue.daily_timetable(),
    start_date=glue.start_date(),
    catchup=True,
    max_active_runs=1,
    default_args=glue.default_args(),
    on_failure_callback=glue.on_dag_failure,
    tags=["iso42001", "demo", "lineage"],
    doc_md=__doc__,
    params={
        "period": glue.period_param(
            "UTC day to prepare, YYYY-MM-DD. Empty: the day before the run.", title="Day (manual runs)"
        ),
    },
)
def data_preparation():
    @task(outlets=[glue.dataset_asset(RAW)])
    def ingest(**context):
        from aimsflow.prep.jobs import ingest_job

        return glue.run_job(
            context,
            ingest_job,
            check="data_preparation/ingest",
            controls=("A.7.3", "A.7.5"),
            subject=Subject(AI_SYSTEM, RAW),
            announce=[RAW],
        )

    @task(outlets=[glue.dataset_asset(CLEAN)])
    def clean(**context):
        from aimsflow.prep.jobs import clean_job

        return glue.run_job(
            context,
            clean_job,
            check="data_preparation/clean",
            controls=("A.7.6", "A.7.5"),
            subject=Subject(AI_SYSTEM, CLEAN),
            announce=[CLEAN],
        )

    @task(outlets=[glue.dataset_asset(TRAIN)])
    def training_set(**context):
        from aimsflow.prep.jobs import training_set_job

        return glue.run_job(
            context,
            training_set_job,
            check="data_preparation/training_set",
            controls=("A.7.6", "A.7.2", "A.7.5"),
            subject=Subject(AI_SYSTEM, TRAIN),
            announce=[TRAIN],
        )

    ingest() >> clean() >> training_set()


data_preparation()
