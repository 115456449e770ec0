"""
### bias_assessment — fairness of every training set, on data alone (A.5.4, A.7.4, A.6.2.4)

Runs when a training dataset's `validated/<id>` Asset updates (data quality passed or warned) and
also daily, so a missed event never leaves a period unassessed. One mapped task per (AI system,
training dataset) pair in the catalog assesses the training set as of the period's last day: the
catalog's sensitive features alone and intersectionally (depth from the policy), count and share per
group against the catalog's reference population, label base rate, demographic parity difference
and ratio, missing-value rates; with a predictions column also selection rate, TPR, FPR, accuracy and
equalized odds. Computed with one groupby per grouping, equal to fairlearn's MetricFrame.

Thresholds come from the AI system's policy, `include/config/policies/fairness/<ai_system>.yaml`;
numeric sensitive features are compared in the catalog's bands. Undefined figures are "insufficient
data", never 0; any real breach makes the record `failed`. Groups below the minimum size are
suppressed in the evidence.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from aimsflow import airflow_glue as glue
from aimsflow.fairness.job import ASSESS


@dag(
    dag_id="bias_assessment",
    schedule=glue.validated_training_schedule(),
    start_date=glue.start_date(),
    catchup=True,
    max_active_runs=1,
    default_args=glue.default_args(),
    on_failure_callback=glue.on_dag_failure,
    tags=["iso42001", "fairness"],
    doc_md=__doc__,
    params={
        "period": glue.period_param(
            "The training set as of this period's last day is assessed, e.g. 2026-11-25."
        ),
    },
)
def bias_assessment():
    @task
    def pairs() -> list[dict[str, str]]:
        from aimsflow.fairness.job import pairs

        return pairs()

    @task(map_index_template="{{ pair['ai_system'] }} / {{ pair['dataset'] }}")
    def assess(pair: dict[str, str], **context):
        return glue.run_job(context, ASSESS, dataset=pair["dataset"])

    assess.expand(pair=pairs()) >> glue.seal_run_records()


bias_assessment()
