"""Fill the end-to-end test's store, in its own process (its own Airflow home and metadata DB):
records of a few checks over three days written with the test helpers, then a real run of the DAG
``evidence_seal`` (``dag.test()``: verify, lineage_events, seal), which verifies the store and seals
every record; then one record more, still pending. Prints what it did as one JSON line.

    python -m tests.ui.e2e_seed      (environment: the test's AIRFLOW_HOME and AIMSFLOW_* variables)
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from aimsflow import settings
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.storage import LocalStorage
from aimsflow.results import Status
from tests.ui.records import write

PROJECT = Path(__file__).resolve().parents[2]

TODAY = dt.datetime.now(dt.UTC).date()
#: The last three days, so the daily checks' evidence is fresh as the Statement of Applicability asks.
DAYS = tuple(TODAY - dt.timedelta(days=n) for n in (3, 2, 1))
#: Documents staff dropped in the manual-evidence inbox: (controls, title, owner, file).
DOCUMENTS = (
    (("A.2.2", "A.2.3", "A.2.4"), "AI policy", "Chief Risk Officer", "ai-policy.pdf"),
    (("A.3.2", "A.10.2"), "AI roles and responsibilities", "Head of Data Science", "raci.xlsx"),
    (("A.5.2", "A.5.3", "A.5.4", "A.5.5"), "Impact assessment: loan approval", "AI Ethics Board", "aiia.pdf"),
)


def helper_records(storage: LocalStorage, signer: Signer) -> int:
    """Three days of a loan-approval pipeline's evidence, with one finding, one warning and one
    broken job on the last day."""
    n = 0
    for i, day in enumerate(DAYS):
        after = f"{day + dt.timedelta(days=1)}T00:00:00+00:00"
        task = {"run_id": f"scheduled__{after}", "day": day, "run_after": after}
        last = i == len(DAYS) - 1
        steps = (
            ("ingest", ("A.7.3", "A.7.5"), "loan_applications_raw", "400 rows acquired"),
            ("clean", ("A.7.5", "A.7.6"), "loan_applications_clean", "396 rows, 4 duplicates removed"),
        )
        for step, controls, dataset, message in steps:
            write(
                storage,
                signer,
                dag_id="data_preparation",
                task_id=step,
                check=f"data_preparation/{step}",
                status=Status.passed,
                controls=controls,
                dataset=dataset,
                message=message,
                **task,
            )
        write(
            storage,
            signer,
            dag_id="data_quality",
            task_id="validate",
            map_index=0,
            check="data_quality/validate",
            status=Status.failed if last else Status.passed,
            controls=("A.6.2.6", "A.7.4"),
            message="4 of 15 expectations failed; drift in ['credit_score']"
            if last
            else "all expectations met",
            **task,
        )
        write(
            storage,
            signer,
            dag_id="bias_assessment",
            task_id="assess",
            check="bias_assessment/assess",
            status=Status.warning if last else Status.passed,
            controls=("A.5.4", "A.6.2.4", "A.7.4"),
            dataset="loan_training_set",
            message="1 warning: demographic parity difference 0.08 for age_band (bound 0.1)"
            if last
            else "fairness policy met",
            **task,
        )
        n += 4
    write(
        storage,
        signer,
        dag_id="risk_reassessment",
        task_id="reassess",
        check="risk_reassessment/reassess",
        status=Status.error,
        controls=("6.1.2", "8.2"),
        dataset=None,
        run_id=f"manual__{TODAY}T09:00:00+00:00",
        day=DAYS[-1],
        run_after=f"{TODAY}T09:00:00+00:00",
        message="risk/register.yaml: risks[3].owner: field required",
    )
    return n + 1


def manual_documents() -> int:
    """Documents dropped in the inbox with their sidecars (valid this year, reviewed next year) and
    ingested by the ``manual_evidence`` job itself: its mapped task as a scheduled run of yesterday
    runs it (``glue.run_job``, then filing), so the records are exactly what the DAG writes."""
    from aimsflow import airflow_glue as glue
    from aimsflow.manual.job import DOCUMENT, file_away
    from tests.manual.conftest import drop, task_context

    inbox = settings.manual_inbox()
    inbox.mkdir(parents=True, exist_ok=True)
    for i, (controls, title, owner, document) in enumerate(DOCUMENTS):
        sidecar = "\n".join(
            (
                f"title: {json.dumps(title)}",  # quoted: a colon in a title is YAML syntax
                f"owner: {json.dumps(owner)}",
                f"controls: [{', '.join(controls)}]",
                f"valid_from: {dt.date(TODAY.year, 1, 1 + 7 * i).isoformat()}",
                f"valid_to: {TODAY.year}-12-31",
                f"review_date: {TODAY.year + 1}-01-31",
                "ai_system: loan_approval",
                "",
            )
        )
        item = drop(inbox, document, f"%PDF-1.7 stand-in for {title}\n", sidecar)
        file_away(glue.run_job(task_context(i, day=DAYS[-1]), DOCUMENT, item=item), item)
    return len(DOCUMENTS)


def main() -> None:
    from airflow.dag_processing.dagbag import DagBag

    storage, signer = LocalStorage(settings.evidence_root()), Signer.from_settings()
    from aimsflow.evidence.keys import TrustedKeys
    from aimsflow.evidence.witness import Witness, init_witness

    init_witness(Witness(settings.witness_dir()), storage, TrustedKeys.load(), settings.log_origin())
    written = helper_records(storage, signer) + manual_documents()
    dag = DagBag(str(PROJECT / "dags")).get_dag("evidence_seal")
    run = dag.test(run_conf={"period": DAYS[-1].isoformat()})
    pending = write(
        storage,
        signer,
        dag_id="data_quality",
        task_id="validate",
        map_index=1,
        check="data_quality/validate",
        status=Status.passed,
        controls=("A.7.4",),
        dataset="loan_training_set",
        day=DAYS[-1],
        run_id=f"manual__{TODAY}T10:00:00+00:00",
        run_after=f"{TODAY}T10:00:00+00:00",
    )
    print(
        json.dumps(
            {
                "helper_records": written,
                "dag_id": dag.dag_id,
                "run_id": run.run_id,
                "state": str(run.state),
                "pending": pending.key,
            }
        )
    )


if __name__ == "__main__":
    main()
