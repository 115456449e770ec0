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
from aimsflow.prep.job import CLEAN_JOB, INGEST, TRAINING_SET


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
    @task(outlets=glue.job_outlets(INGEST))
    def ingest(**context):
        return glue.run_job(context, INGEST)

    @task(outlets=glue.job_outlets(CLEAN_JOB))
    def clean(**context):
        return glue.run_job(context, CLEAN_JOB)

    @task(outlets=glue.job_outlets(TRAINING_SET))
    def training_set(**context):
        return glue.run_job(context, TRAINING_SET)

    ingest() >> clean() >> training_set() >> glue.seal_run_records()


data_preparation()
