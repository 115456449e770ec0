"""
### manual_evidence — documents staff drop in the inbox, one signed record each (any control)

Hourly (one UTC hour per run), and on demand. Staff drop a document (PDF, DOCX, Markdown, ...) in
the inbox (`AIMSFLOW_MANUAL_INBOX`, default `inbox/`) with its sidecar
`<document>.evidence.yaml`: title, owner, controls (Annex A ids or clauses), validity (`valid_from`
/`valid_to`, or `period`), `review_date`, and optionally `ai_system` and `version`.

`scan` lists the drops (files changed in the last `settle_minutes` wait for the next run); one mapped
`document` task per drop validates the sidecar and writes the record `manual_evidence/document`: a
copy of the document and of the sidecar with their SHA-256, and in its summary title, owner,
document, document_sha256, review_date, valid_from, valid_to and ai_system. Once the record
verifies, the drop moves to `inbox/.ingested/<record id>/`.

* `passed`: ingested (a new version of a document with the same title supersedes the earlier one);
* `warning`: ingested, but the review date (or the validity) has passed: its controls are stale; or
  a duplicate of an earlier drop, not ingested again (that record evidences clause 7.5.3 only);
* `error`: a bad drop (a problem in the sidecar, a document without sidecar, ...): every problem
  named with file, line, field and value; the drop stays in the inbox untouched and is reported
  again daily while unchanged. The run ends failed, after every good drop of the run is ingested.

See `docs/manual-evidence.md`.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from aimsflow import airflow_glue as glue
from aimsflow.manual.job import DOCUMENT, SETTLE_MINUTES, file_away, scan_drops


@dag(
    dag_id="manual_evidence",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=glue.start_date(),
    catchup=True,
    max_active_runs=1,
    default_args=glue.default_args(),
    on_failure_callback=glue.on_dag_failure,
    tags=["iso42001", "evidence", "compliance"],
    doc_md=__doc__,
    params={
        "period": glue.period_param(
            "Period the records are dated by, e.g. 2026-11-25. Empty: the hour before the run."
        ),
        "settle_minutes": Param(
            SETTLE_MINUTES,
            type="number",
            minimum=0,
            title="Settle minutes",
            description="Leave files changed less than this many minutes ago for the next run "
            "(a copy into the inbox may still be running). 0: take everything now.",
        ),
    },
)
def manual_evidence():
    @task
    def scan(**context) -> list[dict]:
        return scan_drops(settle_minutes=context["params"]["settle_minutes"])

    @task(
        map_index_template="{{ item['document'] or item['sidecar'] }}",
        max_active_tis_per_dagrun=1,
    )
    def document(item: dict, **context):
        return file_away(glue.run_job(context, DOCUMENT, item=item), item)

    document.expand(item=scan()) >> glue.seal_run_records()


manual_evidence()
