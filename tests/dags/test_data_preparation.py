"""dag.test() runs of data_preparation on Airflow's own execution path: a clean day, a defect day,
an unreadable batch (quarantine + an error record per try), and the personal-data canary."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from aimsflow import settings
from aimsflow.demo.generator import generate_source_batches
from aimsflow.evidence.listing import filter_records, load_summaries
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period

pytestmark = pytest.mark.slow
END = dt.date(2026, 6, 30)  # the demo's drift day; END-1 is the defect day, END-2 clean


def _run(dagbag, day: dt.date):
    dag = dagbag.get_dag("data_preparation")
    return dag.test(logical_date=Period.day(day).end)


def _records():
    return load_summaries(LocalStorage(settings.evidence_root()))


def test_clean_and_defect_days_produce_a_record_per_step(aims_env, dagbag):
    generate_source_batches(settings.data_root(), end=END, days=5)
    for day in (END - dt.timedelta(days=2), END - dt.timedelta(days=1)):
        assert str(_run(dagbag, day).state) == "success"
    records = filter_records(_records())
    assert len(records) == 6
    assert {r.check for r in records} == {
        "data_preparation/ingest",
        "data_preparation/clean",
        "data_preparation/training_set",
    }
    assert {str(r.status) for r in records} == {"passed"}
    # each run sealed its own records as its last step: nothing waits for the daily seal
    assert all(r.sealed_in is not None for r in _records())
    clean = next(r for r in records if r.check == "data_preparation/clean" and r.period.label == "2026-06-29")
    manifest = json.loads((settings.evidence_root() / clean.key / "manifest.json").read_text())["predicate"]
    (raw_in,), (clean_out,) = manifest["inputs"], manifest["outputs"]
    assert raw_in["dataset"] == "loan_applications_raw" and len(raw_in["sha256"]) == 64
    assert clean_out["dataset"] == "loan_applications_clean" and clean_out["rows"] > 300
    assert manifest["producer"]["dag_id"] == "data_preparation" and manifest["producer"]["try_number"] == 1
    # the derived version is a write-once file in its own partition folder
    version = settings.data_root() / "clean/loan_applications/date=2026-06-29"
    assert [p.name for p in version.iterdir()] == [clean_out["uri"].rsplit("/", 1)[-1]]


def test_rerun_keeps_every_record_and_supersedes_the_older_run(aims_env, dagbag):
    generate_source_batches(settings.data_root(), end=END, days=3)
    day = END - dt.timedelta(days=2)
    _run(dagbag, day)
    _run(dagbag, day)
    everything = filter_records(_records(), history=True)
    assert len(everything) == 6 and sum(r.superseded for r in everything) == 3
    # identical input -> the same derived version, not a second copy
    assert len(list((settings.data_root() / f"clean/loan_applications/date={day}").iterdir())) == 1


def test_unreadable_batch_is_quarantined_with_an_error_record_per_try(aims_env, dagbag):
    day = END
    path = settings.data_root() / f"raw/loan_applications/date={day}/applications.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes("application_id,applicant_name\nA1,Jos\xe9\n".encode("latin-1"))
    run = _run(dagbag, day)
    # the sealing teardown succeeds, yet the run's state still comes from the failed task
    assert str(run.state) == "failed"
    records = filter_records(_records(), history=True)
    assert records and all(r.sealed_in is not None for r in records)
    ingest = [r for r in records if r.check == "data_preparation/ingest"]
    assert [r.producer["try_number"] for r in sorted(ingest, key=lambda r: r.order)] == [1, 2, 3]
    assert {str(r.status) for r in ingest} == {"error"}
    assert [r.check for r in records if r.check != "data_preparation/ingest"] == []  # downstream never ran
    manifest = json.loads((settings.evidence_root() / ingest[-1].key / "manifest.json").read_text())[
        "predicate"
    ]
    assert manifest["error"]["final_try"] is True and str(path) in manifest["message"]
    assert "UTF-8" in manifest["message"] or "utf-8" in manifest["message"]
    assert (settings.data_root() / f"quarantine/loan_applications_raw/date={day}/reason.json").exists()


CANARIES = {
    "applicant_name": "Zebedee Canarynameson",
    "email": "canary.leak@example.invalid",
    "date_of_birth": "1931-07-13",
    "postcode": "ZZ9 9ZZ",
}


def test_personal_values_never_reach_evidence(aims_env, dagbag):
    """Canary: personal values planted in the raw batch appear in no file of any record."""
    generate_source_batches(settings.data_root(), end=END, days=1)
    path = settings.data_root() / f"raw/loan_applications/date={END}/applications.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    planted = []
    for line in lines[1:40]:
        cells = line.split(",")
        for column, value in CANARIES.items():
            cells[header.index(column)] = value
        planted.append(",".join(cells))
    path.chmod(0o644)
    path.write_text("\n".join([lines[0], *planted, *lines[40:]]) + "\n")
    assert str(_run(dagbag, END).state) == "success"
    # a broken batch holding the canaries too, so error messages and quarantine notes are covered
    bad = settings.data_root() / f"raw/loan_applications/date={END - dt.timedelta(days=1)}/applications.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("\n".join([lines[0], planted[0], planted[1].replace(",", ',"', 1)]) + "\n")
    assert str(_run(dagbag, END - dt.timedelta(days=1)).state) == "failed"
    files = [p for p in settings.evidence_root().rglob("*") if p.is_file()]
    assert len(files) >= 6
    for file in files:
        text = file.read_bytes().decode("utf-8", "replace")
        for value in CANARIES.values():
            assert value not in text, f"{value!r} leaked into {file}"
