"""
### compliance_report — coverage of the controls, run history, trends, risks: one page for management (9.1, 9.3)

Daily at 07:00 UTC for yesterday, and on demand for any period (`period` Param: `2026-11-27`,
`2026-W48`, `2026-11`, `2026-Q4`, `2026-11-01..2026-11-15`). 07:00 leaves the day's jobs time to
finish: the daily DAGs start at midnight (data preparation, data quality on its Assets, bias,
provenance, the seal) and retry with delays, retention runs on Mondays at 06:00; and the report is
ready before the working day in Europe.

From the verified records of every other job it computes, per control of the Statement of
Applicability (`include/config/soa.yaml`) and per framework of the crosswalk (ISO/IEC 42001, ISO/IEC
27001, EU AI Act, NIST AI RMF): the latest verdict, freshness against the cadence, gaps and open
nonconformities; plus the input to management review (clause 9.3): open nonconformities by age,
risks above appetite (latest `risk_reassessment` record), stale controls, changes since the last
report. The record holds `report.html` (one self-contained page, charts included) and `report.json`
(the same numbers).

Status: `failed` when record folders of the store do not verify (named in the report, not counted);
`warning` when the report found gaps, open nonconformities or unaccepted risks above appetite;
`passed` when every applicable control is fresh and passing and nothing is open. See
`docs/compliance-report.md`.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag, task

from aimsflow import airflow_glue as glue
from aimsflow.compliance.job import REPORT_JOB


@dag(
    dag_id="compliance_report",
    schedule=CronDataIntervalTimetable("0 7 * * *", timezone="UTC"),
    start_date=glue.start_date(),
    catchup=True,
    max_active_runs=1,
    default_args=glue.default_args(),
    on_failure_callback=glue.on_dag_failure,
    tags=["iso42001", "compliance"],
    doc_md=__doc__,
    params={
        "period": glue.period_param(
            "Period to report on, e.g. 2026-11-27, 2026-W48, 2026-11 or 2026-11-01..2026-11-15. "
            "Empty: the last day the schedule completed (yesterday, once 07:00 UTC has passed)."
        ),
    },
)
def compliance_report():
    @task
    def report(**context):
        return glue.run_job(context, REPORT_JOB)

    report() >> glue.seal_run_records()


compliance_report()
