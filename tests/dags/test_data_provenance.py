"""dag.test() with OpenLineage on: data_preparation emits events into the staging folder, and
data_provenance links every record of the chain to its events."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from aimsflow import settings
from aimsflow.demo.generator import generate_source_batches
from aimsflow.evidence.listing import filter_records, load_summaries
from aimsflow.evidence.storage import LocalStorage
from aimsflow.lineage.transport import read_events
from aimsflow.periods import Period
from tests.conftest import END

pytestmark = pytest.mark.slow


def test_provenance_of_a_prepared_day_with_openlineage(aims_env, monkeypatch, dagbag):
    staging = aims_env / "openlineage"
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__DISABLED", "False")
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", "aimsflow")
    monkeypatch.setenv(
        "AIRFLOW__OPENLINEAGE__TRANSPORT", '{"type": "aimsflow.lineage.transport.StagingFileTransport"}'
    )
    monkeypatch.setenv("AIMSFLOW_OPENLINEAGE_DIR", str(staging))
    day = END - dt.timedelta(days=2)
    generate_source_batches(settings.data_root(), end=END, days=3)
    assert str(dagbag.get_dag("data_preparation").test(logical_date=Period.day(day).end).state) == "success"
    run = dagbag.get_dag("data_provenance").test(logical_date=Period.day(day).end)
    assert str(run.state) == "success"

    records = filter_records(load_summaries(LocalStorage(settings.evidence_root())), period=Period.day(day))
    provenance = [r for r in records if r.check.startswith("data_provenance/version")]
    assert {r.subject["dataset"] for r in provenance} == {
        "loan_applications_raw",
        "loan_applications_clean",
        "loan_training_set",
    }
    assert {str(r.status) for r in provenance} == {"passed"}
    assert all(r.summary["records_without_events"] == 0 for r in provenance)
    graph = next(r for r in records if r.check == "data_provenance/lineage_graph")
    assert graph.summary["nodes"] == 4  # source, raw, clean, training

    prep = [r for r in records if r.check.startswith("data_preparation/")]
    manifest = json.loads((settings.evidence_root() / prep[0].key / "manifest.json").read_text())["predicate"]
    assert manifest["openlineage"]["sent"] is True
    events = read_events(staging)
    ours = [
        e
        for e in events
        if e["run"]["runId"] == manifest["openlineage"]["run_id"] and "aimsflow" in e["run"]["facets"]
    ]
    assert ours and ours[0]["job"]["namespace"] == "aimsflow"
