"""
### data_quality — Great Expectations suites on every new dataset partition, and drift (A.7.4, A.6.2.6)

Triggered by the Assets `data_preparation` emits for each new partition (`dataset/<id>`, with the
period in the event's `extra`), so it never races the data it checks. One mapped task per dataset
partition validates it against its suite in `expectations/` (named by the catalog), GX called
directly in the task. Operational datasets are also compared with their training set for drift
(PSI and Kolmogorov–Smirnov, thresholds in `include/config/policies/drift.yaml`).

Severity comes from each expectation's GX `severity`: a critical failure or a declared column missing
from the data gives a `failed` record; milder failures give `warning`. On `passed`/`warning` the task
announces `validated/<dataset id>` (through the `validated` AssetAlias) for the bias assessment.
Onboarding a dataset is configuration only: a catalog entry naming a suite, and the suite.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from aimsflow import airflow_glue as glue
from aimsflow.quality.job import VALIDATE


@dag(
    dag_id="data_quality",
    schedule=glue.suite_assets(),
    start_date=glue.start_date(),
    catchup=True,
    max_active_runs=1,
    default_args=glue.default_args(),
    on_failure_callback=glue.on_dag_failure,
    tags=["iso42001", "data-quality"],
    doc_md=__doc__,
    params={
        "period": glue.period_param(
            "Days to validate for every dataset with a suite, e.g. 2026-11-25 or 2026-11-20..2026-11-25."
        ),
    },
)
def data_quality():
    @task
    def targets(**context) -> list[dict[str, str]]:
        from aimsflow.catalog import load_inventory
        from aimsflow.quality.targets import plan_targets

        return plan_targets(
            load_inventory(), glue.period_from_context(context), glue.consumed_events(context)
        )

    @task(outlets=[glue.validated_alias()], map_index_template="{{ target['dataset'] }} {{ target['day'] }}")
    def validate(target: dict[str, str], **context):
        return glue.run_job(context, VALIDATE, dataset=target["dataset"], day=target["day"])

    validate.expand(target=targets()) >> glue.seal_run_records()


data_quality()
