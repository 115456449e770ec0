"""
### data_provenance — provenance and chain of custody of every dataset version used (A.7.3, A.7.5, A.7.6, A.6.2.8)

Daily. For every dataset version read or written by the period's current records, one mapped task
writes a provenance record: the catalog's source, collection method and legal basis with the
ingestion record that acquired the data (A.7.3), the preparation steps (A.7.6), and the chain of
custody — each transformation with its input and output SHA-256, its run and its OpenLineage run id
(A.7.5). `lineage_graph` writes the period's lineage as JSON and SVG.

The chain rests on the signed records, not on OpenLineage events (which the provider may drop): a
record whose event is missing is reported (`warning`), never fatal. Gaps fail loudly: a dataset with
an empty provenance field, or a version that no recorded transformation or ingestion produced, gives a
`failed` record listing each gap.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from aimsflow import airflow_glue as glue
from aimsflow.provenance.job import GRAPH, VERSION


@dag(
    dag_id="data_provenance",
    schedule=glue.daily_timetable(),
    start_date=glue.start_date(),
    catchup=True,
    max_active_runs=1,
    default_args=glue.default_args(),
    on_failure_callback=glue.on_dag_failure,
    tags=["iso42001", "lineage"],
    doc_md=__doc__,
    params={
        "period": glue.period_param("Period whose dataset versions are traced, e.g. 2026-11-25 or 2026-11."),
    },
)
def data_provenance():
    @task
    def versions(**context) -> list[dict[str, str | None]]:
        from aimsflow.provenance.job import versions

        return versions(glue.period_from_context(context))

    @task(map_index_template="{{ version['dataset'] }} {{ version['sha256'][:10] }}")
    def version(version: dict[str, str], **context):
        return glue.run_job(context, VERSION, **version)

    @task
    def lineage_graph(**context):
        return glue.run_job(context, GRAPH)

    [version.expand(version=versions()), lineage_graph()] >> glue.seal_run_records()


data_provenance()
