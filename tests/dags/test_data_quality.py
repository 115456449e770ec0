"""dag.test() runs of data_quality: mapped validation per partition, Asset events, onboarding."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from aimsflow import settings
from aimsflow.evidence.listing import filter_records, load_summaries
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from tests.conftest import PROJECT
from tests.quality.conftest import END

pytestmark = pytest.mark.slow


def _records():
    return filter_records(load_summaries(LocalStorage(settings.evidence_root())))


def test_defect_day_fails_and_validated_assets_are_announced(aims_env, monkeypatch, prepared_data, dagbag):
    monkeypatch.setenv("AIMSFLOW_DATA_ROOT", str(prepared_data))
    day = END - dt.timedelta(days=1)
    run = dagbag.get_dag("data_quality").test(
        logical_date=Period.day(day).end, run_conf={"period": day.isoformat()}
    )
    assert str(run.state) == "failed"  # the clean dataset's finding fails its mapped task, once
    status = {r.subject["dataset"]: str(r.status) for r in _records()}
    assert status["loan_applications_clean"] == "failed"
    assert status["loan_applications_raw"] == "passed"
    clean = next(r for r in _records() if r.subject["dataset"] == "loan_applications_clean")
    assert clean.producer["try_number"] == 1 and clean.producer["map_index"] >= 0

    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.query(AssetEvent).filter(AssetEvent.source_run_id == run.run_id).all()
        names = {e.asset.name: e.extra for e in events}
    assert set(names) == {"validated/loan_applications_raw", "validated/loan_training_set"}
    assert names["validated/loan_training_set"]["period"]["start"] == f"{day}T00:00:00+00:00"


def test_onboarding_a_dataset_is_configuration_only(aims_env, monkeypatch, tmp_path):
    """A catalog entry and a suite, no code: the next run validates the new dataset."""
    config, suites = tmp_path / "config", tmp_path / "expectations"
    shutil.copytree(PROJECT / "include" / "config", config)
    shutil.copytree(PROJECT / "expectations", suites)
    with (config / "datasets.yaml").open("a") as fh:
        fh.write(
            """
  - id: branch_footfall
    description: Daily visitors per branch (made up by this test).
    uri: "{data}/footfall/date={date}.csv"
    format: csv
    owner: ops@example.com
    ai_system: loan_approval
    role: operational
    data_class: operational_data
    suite: branch_footfall.json
    provenance: {source: door counters, collection_method: sensor, legal_basis: legitimate interest}
    columns:
      branch: {type: string}
      visitors: {type: integer}
"""
        )
    (suites / "branch_footfall.json").write_text(
        json.dumps(
            {
                "name": "branch_footfall",
                "expectations": [
                    {
                        "type": "expect_column_values_to_be_between",
                        "kwargs": {"column": "visitors", "min_value": 0},
                    },
                    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "branch"}},
                ],
            }
        )
    )
    day = dt.date(2026, 11, 20)
    data = tmp_path / "data"
    (data / "footfall").mkdir(parents=True)
    (data / f"footfall/date={day}.csv").write_text("branch,visitors\nleeds,120\nyork,-3\n")
    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(config))
    monkeypatch.setenv("AIMSFLOW_EXPECTATIONS_DIR", str(suites))
    monkeypatch.setenv("AIMSFLOW_DATA_ROOT", str(data))

    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(str(PROJECT / "dags")).get_dag("data_quality")
    assert "dataset/branch_footfall" in {a.name for a in dag.timetable.asset_condition.objects}
    dag.test(logical_date=Period.day(day).end, run_conf={"period": day.isoformat()})
    footfall = [r for r in _records() if r.subject["dataset"] == "branch_footfall"]
    assert len(footfall) == 1 and str(footfall[0].status) == "failed"
    assert footfall[0].summary["failed_expectations"][0]["column"] == "visitors"
