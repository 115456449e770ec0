"""Acquisition records for external datasets: an honest external source passes provenance, a real
custody gap stays ``failed``.

Bug (issue 11, point 12): an external dataset onboarded by configuration always failed provenance
(no ingest job ever recorded its bytes) and there was no documented way to record how it came in."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from aimsflow import settings
from aimsflow.catalog import Inventory, load_inventory
from aimsflow.cli import main
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.record import MANIFEST, Producer, RunContext, write_record
from aimsflow.evidence.seal import Witness
from aimsflow.evidence.storage import LocalStorage
from aimsflow.evidence.verify import verify_store
from aimsflow.periods import Period
from aimsflow.provenance import job as provenance_job
from aimsflow.provenance.acquisition import (
    ACQUISITION_CHECK,
    Acquisition,
    AcquisitionError,
    parse_received_at,
    record_acquisition,
)
from aimsflow.provenance.custody import Version, load_index
from aimsflow.provenance.graph import build_graph
from aimsflow.provenance.job import provenance_of_version
from aimsflow.results import DataRef, JobResult, Status, Subject
from tests.conftest import PROJECT

DAY = dt.date(2026, 6, 28)
DATASET = "credit_applications"
EXTERNAL = f"""
  - id: {DATASET}
    description: Credit applications bought from a data broker (external, onboarded by configuration).
    uri: "{{data}}/external/credit/date={{date}}/credit.csv"
    format: csv
    owner: lending-platform-team@example.com
    ai_system: loan_approval
    role: operational
    data_class: raw_personal_data
    provenance:
      source: Example Data Broker Ltd., monthly delivery
      collection_method: Broker survey of consenting applicants
      legal_basis: GDPR Art. 6(1)(a) consent collected by the broker
    columns:
      application_id: {{type: string}}
      amount: {{type: float}}
"""


@pytest.fixture
def config(aims_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = aims_env / "config"
    shutil.copytree(PROJECT / "include" / "config", folder)
    with open(folder / "datasets.yaml", "a") as fh:
        fh.write(EXTERNAL)
    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def inventory(config: Path) -> Inventory:
    return load_inventory(config)


@pytest.fixture
def delivered(inventory: Inventory) -> Path:
    path = inventory.dataset(DATASET).partition_path(DAY)
    path.parent.mkdir(parents=True)
    path.write_text("application_id,amount\nC1,1000\nC2,2500\n")
    return path


def _store() -> LocalStorage:
    return LocalStorage(settings.evidence_root())


def _use(path: Path) -> DataRef:
    """A check that read the partition (as data_quality does), which makes its version one to trace."""
    ref = DataRef.of_file(path, dataset=DATASET)
    result = JobResult(
        Subject("loan_approval", DATASET, DAY.isoformat()),
        Status.passed,
        check="data_quality/validate",
        controls=("A.7.4",),
    )
    result.inputs = [ref]
    producer = Producer(
        kind="task", dag_id="data_quality", run_id=f"manual__{DAY}", task_id="validate", try_number=1
    )
    now = dt.datetime.now(dt.UTC)
    write_record(_store(), result, RunContext(Period.day(DAY), producer, now, now), Signer.from_settings())
    return ref


def _provenance(inventory: Inventory, ref: DataRef) -> tuple[JobResult, dict]:
    index = load_index(_store())
    assert ref.sha256 in {v.sha256 for v in index.versions_used(Period.day(DAY))}
    result = provenance_of_version(index, inventory, Version(DATASET, ref.sha256, ref.uri), None)
    return result, json.loads(result.files["provenance.json"])


def _acquire(inventory: Inventory, *files: Path, **stated) -> str:
    acq = Acquisition(DATASET, tuple(files), **stated)
    return record_acquisition(_store(), inventory, acq).key


def test_external_dataset_without_acquisition_record_is_a_failed_gap(inventory, delivered):
    result, doc = _provenance(inventory, _use(delivered))
    assert result.status == Status.failed
    (gap,) = doc["gaps"]
    assert gap["gap"] == "version produced by no recorded transformation or ingestion"
    assert f"aimsflow acquisition record --dataset {DATASET}" in gap["hint"]


def test_acquisition_record_starts_the_chain_and_provenance_passes(inventory, delivered):
    key = _acquire(
        inventory,
        delivered,
        agreement="DSA-2026-014",
        received_at=parse_received_at("2026-06-28T08:15:00+02:00"),
    )
    result, doc = _provenance(inventory, _use(delivered))
    assert result.status == Status.passed, result.message
    (hop,) = doc["chain_of_custody"]
    assert hop["record"] == key and hop["check"] == ACQUISITION_CHECK
    assert hop["stated"] == {
        "source": "Example Data Broker Ltd., monthly delivery",
        "collection_method": "Broker survey of consenting applicants",
        "legal_basis": "GDPR Art. 6(1)(a) consent collected by the broker",
        "agreement": "DSA-2026-014",
        "received_at": "2026-06-28T06:15:00+00:00",
    }
    assert doc["acquisition"] == doc["chain_of_custody"] and result.summary["acquisitions"] == 1

    (rec,) = [r for r in load_summaries(_store()) if r.check == ACQUISITION_CHECK]
    assert rec.controls == ["A.7.3", "A.7.5"] and rec.status == Status.passed
    assert rec.subject == {"ai_system": "loan_approval", "dataset": DATASET, "partition": DAY.isoformat()}
    assert rec.period.label == DAY.isoformat()  # filed under the partition it delivered
    assert rec.producer["command"] == "acquisition"
    report = verify_store(_store(), TrustedKeys.load(), Witness())
    assert report.ok and report.spec_blobs_checked == 1, report.problems


def test_acquisition_record_for_other_bytes_is_a_failed_gap_naming_it(inventory, delivered):
    """The delivery was edited after it was recorded: the used version matches no acquisition."""
    key = _acquire(inventory, delivered)
    delivered.write_text("application_id,amount\nC1,1000\nC2,9999\n")
    result, doc = _provenance(inventory, _use(delivered))
    assert result.status == Status.failed
    (gap,) = doc["gaps"]
    assert gap["acquisition_records"] == [key]
    assert "matches none of the 1 acquisition record(s) of credit_applications" in gap["gap"]


def test_acquisition_of_another_dataset_does_not_name_this_one(inventory, delivered, tmp_path):
    """Boundary: acquisition records of other datasets are not offered as "other bytes" of this one."""
    other = tmp_path / "other.csv"
    other.write_text("x\n1\n")
    record_acquisition(_store(), inventory, Acquisition("loan_applications_raw", (other,)))
    _, doc = _provenance(inventory, _use(delivered))
    (gap,) = doc["gaps"]
    assert "acquisition_records" not in gap and "hint" in gap


def test_empty_provenance_field_is_refused_with_the_flag_and_file_to_fix(config, delivered):
    path = config / "datasets.yaml"
    path.write_text(
        path.read_text().replace(
            "legal_basis: GDPR Art. 6(1)(a) consent collected by the broker", 'legal_basis: " "'
        )
    )
    inventory = load_inventory(config)
    with pytest.raises(AcquisitionError) as info:
        _acquire(inventory, delivered)
    message = str(info.value)
    assert f"acquisition of dataset {DATASET!r} refused" in message
    assert "provenance field 'legal_basis' is empty: give --legal-basis" in message and str(path) in message
    assert "'source'" not in message  # only the empty field is named
    assert not _store().exists("records")  # nothing written
    # Stating it for this delivery is enough.
    key = _acquire(inventory, delivered, legal_basis="GDPR Art. 6(1)(a), consent form v3")
    summary = json.loads(_store().get(f"{key}/{MANIFEST}"))["predicate"]["summary"]
    assert summary["legal_basis"] == "GDPR Art. 6(1)(a), consent form v3"


def test_a_flag_cannot_blank_a_required_field(inventory, delivered):
    with pytest.raises(AcquisitionError, match="provenance field 'source' is empty: give --source"):
        _acquire(inventory, delivered, source="  ")


def test_folder_delivery_hashes_every_visible_file(inventory, tmp_path):
    folder = tmp_path / "delivery"
    (folder / "part").mkdir(parents=True)
    (folder / "a.csv").write_text("a\n1\n")
    (folder / "part" / "b.csv").write_text("a\n2\n")
    (folder / ".partial").write_text("upload in progress")
    key = _acquire(inventory, folder)
    predicate = json.loads(_store().get(f"{key}/{MANIFEST}"))["predicate"]
    assert [Path(i["uri"]).name for i in predicate["inputs"]] == ["a.csv", "b.csv"]
    assert predicate["subject"]["partition"] is None  # outside the catalog's partition layout


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ((), "give at least one delivered file"),
        (("missing.csv",), "does not exist"),
        (("empty.csv",), "is empty"),
        (("empty-folder",), "holds no file"),
    ],
)
def test_bad_deliveries_are_refused(inventory, tmp_path, files, expected):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "empty-folder").mkdir()
    with pytest.raises(AcquisitionError, match=expected):
        _acquire(inventory, *(tmp_path / f for f in files))


def test_unknown_dataset_is_refused(inventory, delivered):
    with pytest.raises(AcquisitionError, match="unknown dataset 'credit'"):
        record_acquisition(_store(), inventory, Acquisition("credit", (delivered,)))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("yesterday", "expected an ISO 8601 date"),
        ("2026-06-28T08:00:00", "needs a UTC offset"),
        ("2999-01-01", "lies in the future"),
    ],
)
def test_bad_received_at_is_refused(value, expected):
    with pytest.raises(AcquisitionError, match=expected):
        parse_received_at(value)


def test_received_at_date_is_midnight_utc():
    assert parse_received_at("2026-06-28") == dt.datetime(2026, 6, 28, tzinfo=dt.UTC)


def test_cli_records_and_refuses(config, delivered, capsys):
    assert main(["acquisition", "record", "--dataset", DATASET, "--file", str(delivered), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "passed" and f"/{ACQUISITION_CHECK}/acquisition-" in doc["record"]
    assert doc["files"][0]["sha256"] == DataRef.of_file(delivered).sha256
    assert doc["summary"]["received_at"] is None  # not stated, not guessed
    with pytest.raises(SystemExit) as info:
        main(["acquisition", "record", "--dataset", DATASET, "--uri", delivered.as_uri(), "--source", ""])
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith(
        "aimsflow: acquisition of dataset 'credit_applications' refused"
    )


def test_a_new_acquisition_record_invalidates_the_cached_index(inventory, delivered):
    """Bug: the provenance DAG's cached custody index ignored new records under data_provenance/ (its
    own records), so an acquisition recorded while the process lived was never seen."""
    provenance_job._index_cache.clear()
    ref = _use(delivered)
    assert provenance_job.open_index().origin(ref.sha256) is None
    _acquire(inventory, delivered)
    origin = provenance_job.open_index().origin(ref.sha256)
    assert origin is not None and origin.check == ACQUISITION_CHECK
    provenance_job._index_cache.clear()


def test_lineage_graph_starts_the_external_dataset_at_its_source(inventory, delivered):
    _acquire(inventory, delivered)
    ref = _use(delivered)
    chain, _ = load_index(_store()).chain(ref.sha256)
    graph = build_graph(chain)
    assert {(e["from"], e["to"]) for e in graph["edges"]} == {(f"source:{DATASET}", ref.sha256)}
