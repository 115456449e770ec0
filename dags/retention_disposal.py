"""
### retention_disposal — dispose of data on time, never of what must be kept, and prove every disposal (7.5.3)

Weekly. Policies per data class and legal holds are data: `include/config/retention/policies.yaml`
and `legal_holds.yaml`.

1. `recover` finishes disposals an interrupted run left behind: each is certified exactly once, or
   put back if a hold or policy now keeps it (`retention_disposal/recover` record).
2. `plan` writes the plan record (`retention_disposal/plan`): every object past retention — dataset partitions,
   OpenLineage event files, evidence records — what keeps each excluded one (legal hold, not sealed,
   no anchor), and what would be deleted with its SHA-256 and size. An object whose data class has no
   policy makes the plan an `error`, and nothing executes.
3. `execute` deletes only when the run's `execute` Param is true or the policy says `auto_execute`;
   the default is a dry run. Each deletion is re-checked, verified gone and certified in a signed
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
    schedule=CronDataIntervalTimetable("0 0 * * 1", timezone="UTC"),
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
    def execute(planned: dict, **context):
        executed_by = glue.producer_from_context(context).as_dict()
        return glue.run_job(context, EXECUTE, plan_record=planned["record"], executed_by=executed_by)

    planned = plan()
    recover() >> planned
    execute(planned) >> glue.seal_run_records()


retention_disposal()
