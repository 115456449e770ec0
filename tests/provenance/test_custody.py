"""Chain of custody from records alone; gaps fail loudly; missing OpenLineage events are reported."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from aimsflow import settings
from aimsflow.catalog import load_inventory
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import Producer, RunContext, write_record
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from aimsflow.prep.job import CLEAN_JOB as _CLEAN_JOB
from aimsflow.prep.job import INGEST as _INGEST
from aimsflow.prep.job import TRAINING_SET as _TRAINING_SET
from aimsflow.prep.steps import build_training_set, clean_batch, ingest_batch
from aimsflow.provenance.custody import Version, load_index
from aimsflow.provenance.graph import build_graph
from aimsflow.provenance.job import GRAPH as _GRAPH
from aimsflow.provenance.job import VERSION as _VERSION
from aimsflow.provenance.job import lineage_graph, provenance_of_version
from aimsflow.quality.job import VALIDATE as _VALIDATE
from aimsflow.quality.validate import validate_partition
from aimsflow.results import DataRef, JobResult, Status, Subject
from tests.conftest import END, PROJECT, declared

validate_partition = declared(_VALIDATE, validate_partition)
provenance_of_version = declared(_VERSION, provenance_of_version)
lineage_graph = declared(_GRAPH, lineage_graph)
ingest_batch = declared(_INGEST, ingest_batch)
clean_batch = declared(_CLEAN_JOB, clean_batch)
build_training_set = declared(_TRAINING_SET, build_training_set)

DAY = END - dt.timedelta(days=2)


def _record(
    result: JobResult, day: dt.date, task: str, run_id: str | None = None, signer: Signer | None = None
) -> str:
    now = dt.datetime.now(dt.UTC)
    producer = Producer(
        kind="task", dag_id="data_preparation", run_id=f"manual__{day}", task_id=task, try_number=1
    )
    ctx = RunContext(
        Period.day(day), producer, now, now, openlineage={"run_id": run_id, "sent": True} if run_id else None
    )
    return write_record(
        LocalStorage(settings.evidence_root()), result, ctx, signer or Signer.from_settings()
    ).key


@pytest.fixture
def chain(aims_env, prepared_data, tmp_path):
    """Records of ingest, clean and training for two days, and a data quality record using them."""
    data = tmp_path / "prov-data"
    shutil.copytree(prepared_data, data)
    inventory = load_inventory()
    for day in (DAY - dt.timedelta(days=1), DAY):
        _record(
            ingest_batch(inventory, "loan_applications_raw", day, data), day, "ingest", f"run-ingest-{day}"
        )
        _record(
            clean_batch(inventory, "loan_applications_raw", "loan_applications_clean", day, data, b"k"),
            day,
            "clean",
            f"run-clean-{day}",
        )
    training = build_training_set(
        inventory, "loan_applications_clean", "loan_training_set", DAY, data, window_days=2
    )
    _record(training, DAY, "training_set", f"run-training-{DAY}")
    return data, inventory, training


def test_training_version_traces_back_to_both_acquisitions(chain):
    data, inventory, training = chain
    index = load_index(LocalStorage(settings.evidence_root()))
    (out,) = training.outputs
    result = provenance_of_version(index, inventory, Version(out.dataset, out.sha256, out.uri), None)
    assert result.status == Status.passed, result.message
    doc = json.loads(result.files["provenance.json"])
    assert [t["check"] for t in doc["chain_of_custody"]].count("data_preparation/ingest") == 2
    assert len(doc["chain_of_custody"]) == 5  # 2 ingest + 2 clean + 1 training
    assert doc["provenance"]["legal_basis"].startswith("GDPR Art. 6(1)(f)")
    assert "drop_direct_identifiers" in doc["preparation_steps"][0]["steps"] or any(
        "drop_direct_identifiers" in s["steps"] for s in doc["preparation_steps"]
    )
    hops = {t["check"]: t for t in doc["chain_of_custody"]}
    assert hops["data_preparation/training_set"]["outputs"][0]["sha256"] == out.sha256
    assert hops["data_preparation/training_set"]["openlineage_run_id"] == f"run-training-{DAY}"


def test_version_no_record_produced_is_a_gap(chain):
    """Manufactured gap: a clean version written outside the pipeline and then used by a check."""
    data, inventory, _ = chain
    import pandas as pd
    import pyarrow as pa

    from aimsflow.prep.partitions import latest_version, write_version

    folder = data / f"clean/loan_applications/date={DAY}"
    frame = pd.read_parquet(latest_version(folder))
    rogue, _ = write_version(pa.Table.from_pandas(frame.head(300), preserve_index=False), folder)
    dq = validate_partition(inventory, "loan_applications_clean", DAY, data)
    _record(dq, DAY, "validate")
    index = load_index(LocalStorage(settings.evidence_root()))
    rogue_sha = DataRef.of_file(rogue).sha256
    used = {v.sha256 for v in index.versions_used(Period.day(DAY))}
    assert rogue_sha in used
    result = provenance_of_version(
        index, inventory, Version("loan_applications_clean", rogue_sha, rogue.as_uri()), None
    )
    assert result.status == Status.failed
    (gap,) = json.loads(result.files["provenance.json"])["gaps"]
    assert (
        gap["gap"] == "version produced by no recorded transformation or ingestion"
        and gap["sha256"] == rogue_sha
    )


def test_a_forged_acquisition_accounts_for_nothing(chain):
    """Attack (issue 12): custody counted any folder with a manifest. A forged ingestion record
    (signed with the insider's own key under the trusted key id) naming a version written outside
    the pipeline made that version "acquired". It is not read: the version stays a gap, and the
    provenance record names the forged folder and its problem."""
    data, inventory, _ = chain
    import pandas as pd
    import pyarrow as pa

    from aimsflow.prep.partitions import latest_version, write_version
    from tests.conftest import new_key

    folder = data / f"clean/loan_applications/date={DAY}"
    frame = pd.read_parquet(latest_version(folder))
    rogue, _ = write_version(pa.Table.from_pandas(frame.head(300), preserve_index=False), folder)
    rogue_ref = DataRef.of_file(rogue, dataset="loan_applications_clean")
    forged_result = JobResult(
        Subject("loan_approval", "loan_applications_clean", DAY.isoformat()),
        Status.passed,
        check="data_preparation/ingest",
        controls=("A.7.3",),
        inputs=[rogue_ref],
    )
    _, seed, _ = new_key("forger")
    forged = _record(
        forged_result, DAY, "ingest_forged", signer=Signer.from_seed_b64(str(settings.signing_key_id()), seed)
    )
    index = load_index(LocalStorage(settings.evidence_root()))
    assert index.origin(rogue_ref.sha256) is None and forged not in {r.key for r in index.records}
    result = provenance_of_version(
        index, inventory, Version("loan_applications_clean", rogue_ref.sha256, rogue_ref.uri), None
    )
    assert result.status == Status.failed
    doc = json.loads(result.files["provenance.json"])
    assert doc["untrusted_records"] == [
        {"record": forged, "problem": "signature by key 'test-key-1' does not match"}
    ]
    assert {g["gap"] for g in doc["gaps"]} == {
        "version produced by no recorded transformation or ingestion",
        "record folder does not verify against the trusted keys",
    }
    assert result.summary["untrusted_records"] == 1
    graph = lineage_graph(index, Period.day(DAY))
    assert graph.status == Status.failed and forged in graph.message


def test_empty_provenance_field_is_a_gap(chain, tmp_path):
    data, _, training = chain
    config = tmp_path / "config"
    shutil.copytree(PROJECT / "include" / "config", config)
    path = config / "datasets.yaml"
    path.write_text(
        path.read_text().replace(
            "legal_basis: GDPR Art. 6(1)(f) legitimate interest in a sound, non-discriminatory credit model",
            'legal_basis: " "',
        )
    )
    inventory = load_inventory(config)
    index = load_index(LocalStorage(settings.evidence_root()))
    (out,) = training.outputs
    result = provenance_of_version(index, inventory, Version(out.dataset, out.sha256, out.uri), None)
    assert result.status == Status.failed and "provenance field 'legal_basis' is empty" in result.message


def test_missing_openlineage_events_are_reported_not_fatal(chain):
    data, inventory, training = chain
    index = load_index(LocalStorage(settings.evidence_root()))
    (out,) = training.outputs
    events = {f"run-ingest-{DAY}": [{}], f"run-clean-{DAY}": [{}]}  # three of five runs lost their events
    result = provenance_of_version(index, inventory, Version(out.dataset, out.sha256, out.uri), events)
    assert result.status == Status.warning and result.summary["records_without_events"] == 3


def test_lineage_graph_json_and_svg(chain):
    index = load_index(LocalStorage(settings.evidence_root()))
    result = lineage_graph(index, Period.day(DAY))
    graph = json.loads(result.files["lineage.json"])
    kinds = {n["kind"] for n in graph["nodes"]}
    assert kinds == {"source", "version"} and len(graph["edges"]) >= 5
    svg = result.files["lineage.svg"].decode()
    assert (
        svg.startswith("<svg")
        and "loan_training_set" in svg
        and "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    )


def test_graph_of_a_cycle_free_chain_has_one_edge_per_hop():
    from aimsflow.provenance.custody import Transformation

    ingest = Transformation(
        "r1",
        "data_preparation/ingest",
        "passed",
        "d",
        {"partition": "d"},
        {},
        None,
        [{"sha256": "a", "dataset": "raw", "uri": "u"}],
        [],
    )
    clean = Transformation(
        "r2",
        "data_preparation/clean",
        "passed",
        "d",
        {"partition": "d"},
        {},
        None,
        [{"sha256": "a", "dataset": "raw", "uri": "u"}],
        [{"sha256": "b", "dataset": "clean", "uri": "v"}],
    )
    graph = build_graph([ingest, clean])
    assert {(e["from"], e["to"]) for e in graph["edges"]} == {("source:raw", "a"), ("a", "b")}


def test_a_retention_plan_listing_old_batches_is_not_a_use_of_them(chain):
    """Bug: the second `make run` of a day failed data_provenance with 31 gaps, because the retention
    plan record of that day lists the expired raw batches (never ingested) among its inputs and
    versions_used counted them as dataset versions used by the AI system."""
    data, inventory, _ = chain
    old = data / "raw/loan_applications/date=2026-01-02/applications.csv"
    old.parent.mkdir(parents=True)
    old.write_text("application_id\nA1\n")
    plan = JobResult(
        Subject(),
        Status.passed,
        check="retention_disposal/plan",
        controls=("7.5.3",),
        inputs=[DataRef.of_file(old, dataset="loan_applications_raw")],
    )
    _record(plan, DAY, "plan")
    index = load_index(LocalStorage(settings.evidence_root()))
    assert DataRef.of_file(old).sha256 not in {v.sha256 for v in index.versions_used(Period.day(DAY))}
