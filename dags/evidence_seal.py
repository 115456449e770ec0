"""
### evidence_seal — verify the evidence store, then seal new records into the hash chain

Daily. `verify` re-hashes every record, checks every signature against the trusted keys, the seal
chain and the witness head, and writes its own record (`evidence_seal/verify`). Only if the store is intact, `lineage_events`
archives the day's OpenLineage events as one redacted record (A.6.2.8; docs/lineage.md), then `seal`
writes one signed seal over every record not yet sealed: an RFC 6962 Merkle root of their manifest
hashes, chained to the previous seal, and updates the witness outside the store.

This DAG is the only writer of the chain (`max_active_runs=1`). See `docs/evidence-format.md`.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from aimsflow import airflow_glue as glue
from aimsflow.evidence.job import SEAL, VERIFY
from aimsflow.lineage.job import LINEAGE


@dag(
    dag_id="evidence_seal",
    schedule=glue.daily_timetable(),
    start_date=glue.start_date(),
    catchup=True,
    max_active_runs=1,
    default_args=glue.default_args(),
    on_failure_callback=glue.on_dag_failure,
    tags=["iso42001", "evidence"],
    doc_md=__doc__,
    params={
        "period": glue.period_param("Period label for the verify record, e.g. 2026-11-25."),
    },
)
def evidence_seal():
    @task
    def verify(**context):
        return glue.run_job(context, VERIFY)

    @task
    def lineage_events(**context):
        return glue.run_job(context, LINEAGE)

    @task
    def seal(**context):
        return glue.run_job(context, SEAL)

    verify() >> lineage_events() >> seal()


evidence_seal()
