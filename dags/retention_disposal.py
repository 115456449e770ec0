"""
### retention_disposal — dispose of data on time, never of what must be kept, and prove every disposal (7.5.3)

Weekly. Policies per data class and legal holds are data: `include/config/retention/policies.yaml`
and `legal_holds.yaml`.

1. `recover` finishes disposals an interrupted run left behind: each is certified exactly once, or
   put back if a hold or policy now keeps it (`retention/recovery` record).
2. `plan` writes the plan record (`retention/plan`): every object past retention — dataset partitions,
   OpenLineage event files, evidence records — what keeps each excluded one (legal hold, not sealed,
   no anchor), and what would be deleted with its SHA-256 and size. An object whose data class has no
   policy makes the plan an `error`, and nothing executes.
3. `execute` deletes only when the run's `execute` Param is true or the policy says `auto_execute`;
   the default is a dry run. Each deletion is re-checked, verified gone and certified in a signed
   `retention/certificate` record (NIST SP 800-88 certificate of sanitization fields); an evidence
   record also leaves a `retention/tombstone` record that the next seal covers. Seals, tombstones,
   certificates and the witness are never disposed of.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from aimsflow import airflow_glue as glue
from aimsflow.results import Subject

CONTROLS = ("7.5.3",)


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
        from aimsflow.retention.jobs import RECOVERY_CHECK, recover_job

        executor = glue.producer_from_context(context).as_dict()
        job = lambda period: recover_job(period, executor)  # noqa: E731
        return glue.run_job(context, job, check=RECOVERY_CHECK, controls=CONTROLS, subject=Subject())

    @task
    def plan(**context):
        from aimsflow.retention.jobs import PLAN_CHECK, plan_job

        execute = bool(context["params"].get("execute"))
        job = lambda period: plan_job(period, execute)  # noqa: E731
        return glue.run_job(context, job, check=PLAN_CHECK, controls=CONTROLS, subject=Subject())

    @task
    def execute(planned: dict, **context):
        from aimsflow.retention.jobs import EXECUTION_CHECK, execute_job

        executor = glue.producer_from_context(context).as_dict()
        job = lambda period: execute_job(period, planned["record"], executor)  # noqa: E731
        return glue.run_job(context, job, check=EXECUTION_CHECK, controls=CONTROLS, subject=Subject())

    planned = plan()
    recover() >> planned
    execute(planned)


retention_disposal()
