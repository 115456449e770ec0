"""Events built from job results: datasets, facets, event types, and sending that never raises."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Transport

import aimsflow.lineage.events as ev
from aimsflow.lineage import transport as tr
from aimsflow.lineage.events import (
    ParentRun,
    build_result_event,
    dataset_identity,
    emit_result_event,
    lineage_ids_from_context,
)
from aimsflow.lineage.transport import StagingFileTransport, read_events, transport_config_json
from aimsflow.results import DataRef, JobResult, Status, Subject

ASSERTIONS = [
    {"assertion": "not_null", "success": False, "column": "income", "expected": 0, "actual": 1},
    {"assertion": "row_count_between", "name": "rows", "success": True, "params": {"min": 1}},
]


def _staging_transport(directory: Path) -> StagingFileTransport:
    return StagingFileTransport(tr.StagingFileConfig(directory=directory))


def _emit(result, staging, **kwargs):
    run_id = kwargs.pop("run_id", str(uuid.uuid4()))
    outcome = emit_result_event(
        result,
        run_id=run_id,
        job_name="data_preparation.clean",
        record_key="records/2026-11-20/data_preparation/clean/abc",
        transport=_staging_transport(staging),
        **kwargs,
    )
    return outcome


def test_event_carries_datasets_with_schema_version_statistics_and_assertions(result, staging, tmp_path):
    outcome = _emit(result, staging, assertions=ASSERTIONS)
    assert outcome.sent and outcome.error is None and outcome.event_type == "COMPLETE"
    (event,) = read_events(staging)
    assert event["eventType"] == "COMPLETE" and event["run"]["runId"] == outcome.run_id
    assert event["job"] == {
        "namespace": "aimsflow",
        "name": "data_preparation.clean",
        "facets": {"jobType": event["job"]["facets"]["jobType"]},
    }
    assert event["job"]["facets"]["jobType"]["jobType"] == "TASK"

    (inp,), (out,) = event["inputs"], event["outputs"]
    raw, clean = result.inputs[0], result.outputs[0]
    assert (inp["namespace"], inp["name"]) == (
        "file",
        str(tmp_path.resolve() / "data" / "raw 2026-11-20.csv"),
    )
    assert (out["namespace"], out["name"]) == ("file", str(tmp_path.resolve() / "data" / "clean.csv"))
    assert inp["facets"]["version"]["datasetVersion"] == raw.sha256
    assert out["facets"]["version"]["datasetVersion"] == clean.sha256
    fields = out["facets"]["schema"]["fields"]
    assert [(f["name"], f["type"], f["ordinal_position"]) for f in fields] == [
        ("id", "int64", 1),
        ("income", "float64", 2),
    ]
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == 2
    assert out["outputFacets"]["outputStatistics"]["size"] == clean.size
    assert inp["inputFacets"]["inputStatistics"]["rowCount"] == 3
    assert inp["inputFacets"]["inputStatistics"]["size"] == raw.size
    assertions = inp["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert [(a["assertion"], a["success"], a.get("column")) for a in assertions] == [
        ("not_null", False, "income"),
        ("row_count_between", True, None),
    ]
    assert assertions[0]["expected"] == "0" and assertions[0]["actual"] == "1"
    assert assertions[1]["name"] == "rows" and assertions[1]["params"] == {"min": 1}
    assert "dataQualityAssertions" not in out.get("facets", {})
    assert inp["facets"]["schema"]["_schemaURL"].startswith("https://openlineage.io/spec/facets/")

    facet = event["run"]["facets"]["aimsflow"]
    assert facet == {
        "_producer": ev.PRODUCER,
        "_schemaURL": ev.AIMSFLOW_FACET_SCHEMA_URL,
        "check": "data_preparation/clean",
        "status": "passed",
        "controls": ["A.7.2", "A.7.4"],
        "ai_system": "credit-scoring",
        "dataset": "loan_applications",
        "partition": "2026-11-20",
        "record_key": "records/2026-11-20/data_preparation/clean/abc",
        "assertions_total": 2,
        "assertions_failed": 1,
    }
    assert "errorMessage" not in event["run"]["facets"] and "parent" not in event["run"]["facets"]


def test_custom_facet_matches_its_published_schema(result):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(ev.__file__).parent / "AimsflowRunFacet.json").read_text())
    facet_schema = schema["$defs"]["AimsflowRunFacet"]["allOf"][1]  # [0] is the remote RunFacet base
    event = build_result_event(result, run_id=str(uuid.uuid4()), job_name="d.t", record_key="k")
    facet = Serde.to_dict(event)["run"]["facets"]["aimsflow"]
    jsonschema.validate(facet, facet_schema)
    assert schema["$id"] == ev.AIMSFLOW_FACET_SCHEMA_URL.split("#")[0]


@pytest.mark.parametrize(
    ("status", "event_type"),
    [
        (Status.passed, "COMPLETE"),
        (Status.warning, "COMPLETE"),
        (Status.failed, "FAIL"),
        (Status.error, "FAIL"),
    ],
)
def test_event_type_follows_the_record_status(result, staging, status, event_type):
    result.status = status
    result.message = "" if status in (Status.passed, Status.warning) else "3 rows with missing income"
    outcome = _emit(result, staging)
    (event,) = read_events(staging)
    assert outcome.event_type == event["eventType"] == event_type
    assert event["run"]["facets"]["aimsflow"]["status"] == str(status)
    if event_type == "FAIL":
        assert event["run"]["facets"]["errorMessage"]["message"] == "3 rows with missing income"
        assert event["run"]["facets"]["errorMessage"]["programmingLanguage"] == "python"


def test_parent_run_facet_is_optional_and_parsed_from_the_macro_format(result):
    dag_run, root = str(uuid.uuid4()), str(uuid.uuid4())
    parent = ParentRun.parse(f"aimsflow/data_preparation/{dag_run}", f"upstream/other_dag/{root}")
    event = build_result_event(
        result, run_id=str(uuid.uuid4()), job_name="d.t", record_key=None, parent=parent
    )
    facet = Serde.to_dict(event)["run"]["facets"]["parent"]
    assert facet["run"]["runId"] == dag_run and facet["job"]["name"] == "data_preparation"
    assert facet["root"]["run"]["runId"] == root and facet["root"]["job"]["name"] == "other_dag"
    no_root = Serde.to_dict(ParentRun("aimsflow", "dag", dag_run).facet())
    assert no_root["root"]["run"]["runId"] == dag_run
    with pytest.raises(ValueError):
        ParentRun.parse("no-slashes")


def _build(result, assertions):
    return build_result_event(
        result, run_id=str(uuid.uuid4()), job_name="d.t", record_key=None, assertions=assertions
    )


def test_assertions_can_target_a_dataset_and_fall_back_to_outputs(result):
    targeted = [{"assertion": "unique", "success": True, "column": "id", "dataset": "loans"}]
    event = Serde.to_dict(_build(result, targeted))
    assert "dataQualityAssertions" not in event["inputs"][0].get("inputFacets", {})
    assert event["outputs"][0]["facets"]["dataQualityAssertions"]["assertions"][0]["assertion"] == "unique"

    writer = dataclasses.replace(result, inputs=[])  # a job that only writes
    event = Serde.to_dict(_build(writer, ASSERTIONS[:1]))
    assert len(event["outputs"][0]["facets"]["dataQualityAssertions"]["assertions"]) == 1

    with pytest.raises(ValueError, match="unknown dataset"):
        _build(result, [{"assertion": "x", "success": True, "dataset": "nope"}])
    with pytest.raises(ValueError, match="unknown assertion key"):
        _build(result, [{"assertion": "x", "success": True, "colum": "typo"}])


@pytest.mark.parametrize(
    ("uri", "identity"),
    [
        ("file:///data/raw/a%20b.csv", ("file", "/data/raw/a b.csv")),
        ("file://localhost/data/x.parquet", ("file", "/data/x.parquet")),
        ("file://nas01/share/x.csv", ("file://nas01", "/share/x.csv")),
        ("/data/x.csv", ("file", "/data/x.csv")),
        ("s3://bucket/raw/x.parquet", ("s3://bucket", "raw/x.parquet")),
        ("gs://bucket/raw/x.parquet", ("gs://bucket", "raw/x.parquet")),
        ("hdfs://nn:8020/warehouse/x", ("hdfs://nn:8020", "/warehouse/x")),
        ("aimsflow://dataset/loans", ("aimsflow://dataset", "/loans")),
    ],
)
def test_dataset_identity_follows_openlineage_naming(uri, identity):
    assert dataset_identity(uri) == identity


def test_dataset_identity_matches_the_file_uri_of_a_data_ref(tmp_path):
    path = tmp_path / "x y.csv"
    path.write_text("a\n1\n")
    assert dataset_identity(DataRef.of_file(path).uri) == ("file", str(path.resolve()))


class _Broken(Transport):
    kind = "broken"

    def emit(self, event):
        raise ConnectionError("marquez:5000 refused")


def test_a_failure_to_send_is_returned_not_raised(result, staging, tmp_path, caplog, monkeypatch):
    import logging

    logger = logging.getLogger("aimsflow.lineage.events")
    monkeypatch.setattr(logger, "disabled", False)  # Airflow's logging set-up may disable it in-process
    caplog.set_level(logging.WARNING, logger=logger.name)
    outcome = emit_result_event(
        result, run_id=str(uuid.uuid4()), job_name="d.t", record_key="k", transport=_Broken()
    )
    assert not outcome.sent and outcome.error == "ConnectionError: marquez:5000 refused"
    assert outcome.as_dict() == {
        "sent": False,
        "run_id": outcome.run_id,
        "event_type": "COMPLETE",
        "transport": "broken",
        "error": "ConnectionError: marquez:5000 refused",
    }
    assert "not sent" in caplog.text

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    outcome = _emit(result, blocker / "staging")  # the staging folder cannot be created
    assert not outcome.sent and outcome.error.startswith(("FileExistsError", "NotADirectoryError"))

    outcome = _emit(result, staging, assertions=[{"assertion": "x"}])  # bad input: reported, not raised
    assert not outcome.sent and "boolean 'success'" in outcome.error

    outcome = _emit(result, staging, run_id="not-a-uuid")
    assert not outcome.sent and outcome.error.startswith("ValueError")
    assert not staging.exists()


def test_an_unreachable_marquez_is_reported(ol_env, result):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = json.loads(tr.http_transport_config_json(f"http://127.0.0.1:{port}")) | {"retry": {"total": 0}}
    ol_env.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(config))
    outcome = emit_result_event(result, run_id=str(uuid.uuid4()), job_name="d.t", record_key="k")
    assert not outcome.sent and outcome.transport == "http" and "ConnectionError" in outcome.error


def test_provider_configuration_is_used_when_no_transport_is_given(ol_env, result, staging):
    ol_env.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", transport_config_json(staging))
    first = emit_result_event(result, run_id=str(uuid.uuid4()), job_name="d.t", record_key="k")
    second = emit_result_event(result, run_id=str(uuid.uuid4()), job_name="d.t", record_key="k")
    assert first.sent and second.sent and first.transport == "aimsflow_staging"
    assert [e["run"]["runId"] for e in read_events(staging)] == [first.run_id, second.run_id]
    assert len(ev._clients) == 1  # one client per configuration


def test_disabled_openlineage_is_reported_as_disabled(ol_env, result, staging):
    assert emit_result_event(result, run_id=None, job_name="d.t", record_key="k").as_dict() == {
        "sent": False,
        "run_id": None,
        "event_type": None,
        "disabled": True,
    }
    ol_env.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", transport_config_json(staging))
    ol_env.setenv("AIRFLOW__OPENLINEAGE__DISABLED", "True")
    outcome = emit_result_event(result, run_id=str(uuid.uuid4()), job_name="d.t", record_key="k")
    assert outcome.disabled and not outcome.sent and outcome.error is None
    ol_env.setenv("AIRFLOW__OPENLINEAGE__DISABLED", "False")
    ol_env.setenv("OPENLINEAGE_DISABLED", "true")  # the client's own switch
    outcome = emit_result_event(result, run_id=str(uuid.uuid4()), job_name="d.t", record_key="k")
    assert outcome.disabled and not outcome.sent
    assert not staging.exists()


def test_lineage_ids_match_the_provider_macros_and_the_wrapper(ol_env, staging):
    from airflow.providers.openlineage.plugins.macros import lineage_parent_id, lineage_run_id
    from airflow.providers.openlineage.utils.utils import (
        build_dag_run_ol_run_id,
        build_task_instance_ol_run_id,
    )

    ol_env.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", transport_config_json(staging))
    logical = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
    dag_run = SimpleNamespace(logical_date=logical, run_after=logical, clear_number=0, conf={})
    ti = SimpleNamespace(dag_id="data_preparation", task_id="clean", try_number=2, map_index=-1)
    ti.get_template_context = lambda: {"dag_run": dag_run, "ti": ti}
    context = {"ti": ti, "dag_run": dag_run}

    ids = lineage_ids_from_context(context)
    assert ids.namespace == "aimsflow" and ids.job_name == "data_preparation.clean"
    assert ids.run_id == build_task_instance_ol_run_id("data_preparation", "clean", 2, logical, -1)
    assert ids.run_id == lineage_run_id(ti)
    assert ids.parent.run_id == build_dag_run_ol_run_id("data_preparation", logical, 0)
    assert ids.parent.job_name == "data_preparation"
    assert ids.parent.root == ParentRun("aimsflow", "data_preparation", ids.parent.run_id)  # no upstream
    assert lineage_parent_id(ti) == f"aimsflow/data_preparation.clean/{ids.run_id}"

    ol_env.setenv("AIRFLOW__OPENLINEAGE__DISABLED", "True")
    assert lineage_ids_from_context(context) is None


def test_every_event_of_a_result_round_trips_as_json(result, staging):
    result.outputs.append(DataRef("s3://bucket/models/m.pkl", "f" * 64, 123))  # no rows/schema
    outcome = _emit(result, staging, assertions=ASSERTIONS)
    (event,) = read_events(staging)
    assert event == json.loads(json.dumps(Serde.to_dict(outcome.event)))
    s3 = event["outputs"][1]
    assert (s3["namespace"], s3["name"]) == ("s3://bucket", "models/m.pkl")
    assert "schema" not in s3["facets"] and s3["outputFacets"]["outputStatistics"]["size"] == 123
    assert "rowCount" not in s3["outputFacets"]["outputStatistics"]


def test_results_without_datasets_still_emit(staging):
    bare = JobResult(
        Subject("credit-scoring"), Status.warning, check="risk_reassessment/reassess", controls=("A.6.1.2",)
    )
    outcome = _emit(bare, staging, assertions=ASSERTIONS[:1])
    (event,) = read_events(staging)
    assert outcome.sent and event["inputs"] == [] and event["outputs"] == []
    assert event["run"]["facets"]["aimsflow"]["assertions_total"] == 1


def test_great_expectations_results_become_assertions_without_data_values(result):
    validation = {
        "success": False,
        "results": [
            {
                "success": False,
                "expectation_config": {
                    "type": "expect_column_values_to_not_be_null",
                    "kwargs": {"batch_id": "aimsflow-partition", "column": "income", "mostly": 0.99},
                    "severity": "critical",
                },
                "result": {"unexpected_count": 1, "partial_unexpected_list": ["Jane Doe"]},
            },
            {
                "success": True,
                "expectation_config": {
                    "type": "expect_column_values_to_be_in_set",
                    "kwargs": {"column": "id", "value_set": [1, 2, 3]},
                },
                "result": {},
            },
        ],
    }
    specs = ev.assertions_from_gx(validation, dataset="raw_loans")
    assert specs[0] == {
        "assertion": "expect_column_values_to_not_be_null",
        "success": False,
        "column": "income",
        "severity": "critical",
        "params": {"mostly": 0.99},
        "dataset": "raw_loans",
    }
    assert specs[1]["params"] == {}  # only scalar suite kwargs
    event = Serde.to_json(_build(result, specs))
    assert "Jane Doe" not in event and "expect_column_values_to_be_in_set" in event
