"""
### retention_disposal — dispose of data on time, never of what must be kept, and prove every disposal (7.5.3)

Weekly, Mondays 06:00 UTC (the daily `evidence_seal` verifies and seals at 00:00; six hours apart,
a disposal never takes a record out while the daily verify reads the store). Policies per data class
and legal holds are data: `include/config/retention/policies.yaml` and `legal_holds.yaml`.

1. `recover` finishes disposals an interrupted run left behind, but only through a verified plan that
   approved them: each is certified exactly once, or put back if a hold or policy now keeps it; a
   folder that matches no verified plan, or a symbolic link, is refused (`failed` record).
2. `plan` writes the plan record (`retention_disposal/plan`): every object past retention — dataset partitions,
   OpenLineage event files, evidence records — what keeps each excluded one (legal hold, not sealed,
   no anchor), and what would be deleted with its SHA-256 and size. Quarantined raw files are objects
   too (data class `quarantined_raw_data`). An object whose data class has no
   policy makes the plan an `error`; a symbolic link, or a record folder whose signature does not
   verify, makes it `failed`. Either way nothing executes.
3. `execute` reads this run's plan record from the store (never a key from XCom) and acts only once
   its signature verifies; it deletes only when the run's `execute` Param is true or the policy says
   `auto_execute`; the default is a dry run. Recovery and execution hold the store lock sealing
   holds. Each deletion is re-checked, verified gone and certified in a signed
   `retention_disposal/certificate` record (NIST SP 800-88 certificate of sanitization fields); an evidence
   record also leaves a `retention_disposal/tombstone` record that the next seal covers. Seals, tombstones,
   certificates and the witness are never disposed of.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from aimsflow import airflow_glue as glue
from aimsflow.retention.job import EXECUTE, PLAN, RECOVER


@dag(
    dag_id="retention_disposal",
    schedule=CronDataIntervalTimetable("0 6 * * 1", timezone="UTC"),
    start_date=glue.start_date(),
    catchup=True,
    max_active_runs=1,
    default_args=glue.default_args(),
    on_failure_callback=glue.on_dag_failure,
    tags=["iso42001", "retention"],
    doc_md=__doc__,
    params={
        "period": glue.period_param(
            "The run's period, e.g. 2026-W48; its end (or now, if earlier) is the clock "
            "retention is decided at."
        ),
        "execute": Param(
            False,
            type="boolean",
            title="Execute the plan",
            description="Delete, verify and certify every object the plan lists for deletion. "
            "Off (the default): a dry run that only writes the plan, except for policies with auto_execute.",
        ),
    },
)
def retention_disposal():
    @task
    def recover(**context):
        return glue.run_job(context, RECOVER, executed_by=glue.producer_from_context(context).as_dict())

    @task
    def plan(**context):
        return glue.run_job(context, PLAN, execute=bool(context["params"].get("execute")))

    @task
    def execute(**context):
        # No plan key from XCom: the job finds this run's plan record in the store and verifies it.
        return glue.run_job(context, EXECUTE, executed_by=glue.producer_from_context(context).as_dict())

    recover() >> plan() >> execute() >> glue.seal_run_records()


retention_disposal()
