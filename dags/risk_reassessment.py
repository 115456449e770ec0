"""
### risk_reassessment — the AI risk register re-scored from evidence (6.1.2, 6.1.3, 8.2, 8.3, 10.2, A.5.2)

Monthly (one UTC month per run), and on demand for any period (`period` Param). Reads the current
verdicts of every evidence record, evaluates each risk's signals over its own window (data quality
failure rates, drift, fairness ratios, provenance gaps, controls without a passing record, open
nonconformities), and re-scores likelihood and impact by the rules of
`include/config/risk/methodology.yaml` from the owner's assessment in `include/config/risk/register.yaml`.

The record holds `register.json` (the dated snapshot), `diff.json` (what changed since the previous
snapshot, why, and the records that drove it), `nonconformities.json` (the clause 10.2 ledger derived
from failed and final-error verdicts) and `report.md`. It is `failed` while any unaccepted risk is
above appetite, `warning` for accepted risks above appetite or overdue reviews.

A new high risk or a new nonconformity fires the `RiskNotifier` (log; SMTP with the connection
`aimsflow_smtp`; Slack with `aimsflow_slack`). Close nonconformities with the `nonconformity_close` DAG.
See `docs/risk-methodology.md`.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag, task

from aimsflow import airflow_glue as glue
from aimsflow.risk.job import REASSESS
from aimsflow.risk.notify import RiskNotifier


@dag(
    dag_id="risk_reassessment",
    schedule=CronDataIntervalTimetable("0 0 1 * *", timezone="UTC"),
    start_date=glue.start_date(),
    catchup=True,
    max_active_runs=1,
    default_args=glue.default_args(),
    on_failure_callback=glue.on_dag_failure,
    tags=["iso42001", "risk", "compliance"],
    doc_md=__doc__,
    params={
        "period": glue.period_param(
            "Period to reassess, e.g. 2026-11, 2026-Q4 or 2026-11-25..2026-11-27. "
            "Empty: the month before the run."
        ),
    },
)
def risk_reassessment():
    @task(
        on_success_callback=RiskNotifier(),
        on_failure_callback=[glue.on_task_failure, RiskNotifier()],
    )
    def reassess(**context):
        return glue.run_job(context, REASSESS)

    reassess() >> glue.seal_run_records()


risk_reassessment()
