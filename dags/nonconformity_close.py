"""
### nonconformity_close — close a nonconformity with its root cause and corrective action (10.2)

Manual only: trigger it from the UI's form or with `aimsflow nc close` (Airflow's REST API), so the
person closing is authenticated and named in the record (`triggered_by.user`) and the signing key
stays with the workers. A run triggered any other way (`airflow dags trigger`, an operator, a
schedule; `dag.test()` unless `AIMSFLOW_CLOSE_ALLOWS_DAG_TEST` is on) is refused with a `failed`
record. The Task SDK does not tell a task how its run was triggered: the task reads it from the
metadata DB where it may (dag.test()), else from the REST API through the connection
`aimsflow_airflow_api`. The job closes the nonconformity only when a run of the same check on the
same subject passed *after* its last occurrence; otherwise it writes a `failed` record saying why
(no retry). A closure is a signed `nonconformity_close/close` record naming the passing record; the next
`risk_reassessment` carries it into the ledger. `aimsflow nc list` shows open and closed ones.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from aimsflow import airflow_glue as glue
from aimsflow.risk.job import CLOSE


@dag(
    dag_id="nonconformity_close",
    schedule=None,
    start_date=glue.start_date(),
    catchup=False,  # manual runs only: there is nothing to catch up
    max_active_runs=1,
    default_args=glue.default_args(),
    on_failure_callback=glue.on_dag_failure,
    tags=["iso42001", "risk", "compliance"],
    doc_md=__doc__,
    params={
        # Nullable with a None default (the job refuses empty values with a record): Airflow 3.3's
        # dag.test() cannot build the DAG failure callback's context for Params without a default.
        "nonconformity": Param(
            None,
            type=["null", "string"],
            pattern=r"^NC-\d{8}-[0-9a-f]{6}$",
            title="Nonconformity (required)",
            description="Its id, e.g. NC-20261126-0a70c3 (aimsflow nc list).",
        ),
        "root_cause": Param(
            None,
            type=["null", "string"],
            minLength=10,
            format="multiline",
            title="Root cause (required)",
            description="Why the nonconformity occurred (ISO/IEC 42001 10.2 b).",
        ),
        "corrective_action": Param(
            None,
            type=["null", "string"],
            minLength=10,
            format="multiline",
            title="Corrective action (required)",
            description="What was done so that it does not recur, and where it is documented (10.2 c, d).",
        ),
    },
)
def nonconformity_close():
    @task
    def close(**context):
        params = context["params"]
        return glue.run_job(
            context,
            CLOSE,
            nonconformity=params["nonconformity"],
            root_cause=params["root_cause"],
            corrective_action=params["corrective_action"],
            closed_by=glue.triggering_user(context),
            triggered_by=glue.trigger_type(context),
        )

    close() >> glue.seal_run_records()


nonconformity_close()
