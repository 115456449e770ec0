"""dag.test() runs of retention_disposal: a dry run plans and deletes nothing; `execute` deletes,
verifies and certifies; a data class without policy fails the plan and nothing executes."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
import yaml

from aimsflow import settings
from aimsflow.catalog import load_inventory
from aimsflow.demo.generator import generate_source_batches
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.seal import Witness
from aimsflow.evidence.storage import LocalStorage
from aimsflow.evidence.verify import verify_store
from aimsflow.periods import Period
from tests.conftest import PROJECT

pytestmark = pytest.mark.slow
END = dt.date(2026, 6, 30)
EXPIRED = 31  # batches END-119..END-89 are past the 90-day raw retention at END + 1 day


@pytest.fixture
def demo(aims_env, monkeypatch):
    monkeypatch.setenv("AIMSFLOW_OPENLINEAGE_ROOT", str(aims_env / "openlineage"))
    generate_source_batches(settings.data_root(), end=END, rows_per_day=5)
    training = load_inventory().dataset("loan_training_set")
    for back in range(3):
        folder = training.partition_path(END - dt.timedelta(days=back))
        folder.mkdir(parents=True)
        (folder / "part-1.parquet").write_bytes(b"training set version")
    return aims_env


def run(dagbag, **conf):
    return dagbag.get_dag("retention_disposal").test(
        logical_date=Period.day(END).end, run_conf={"period": END.isoformat(), **conf}
    )


def records(check: str):
    return [r for r in load_summaries(LocalStorage(settings.evidence_root())) if r.check == check]


def raw_batches() -> int:
    return len(list((settings.data_root() / "raw" / "loan_applications").glob("date=*/applications.csv")))


def test_a_dry_run_writes_the_plan_and_deletes_nothing(demo, dagbag):
    run_ = run(dagbag)
    assert str(run_.state) == "success"
    (plan,) = records("retention_disposal/plan")
    assert plan.summary["to_delete"] == EXPIRED and plan.summary["approved"] == 0
    assert plan.summary["holds_applied"] == ["LH-2026-007"] and plan.summary["held"] == 3
    assert plan.producer["dag_id"] == "retention_disposal" and plan.producer["task_id"] == "plan"
    (execution,) = records("retention_disposal/execute")
    assert execution.summary["deleted"] == 0 and execution.summary["not_approved"] == EXPIRED
    assert len(records("retention_disposal/recover")) == 1 and records("retention_disposal/certificate") == []
    assert raw_batches() == 120


def test_execute_deletes_verifies_certifies_and_the_seal_covers_the_certificates(demo, dagbag):
    assert str(run(dagbag, execute=True).state) == "success"
    assert raw_batches() == 120 - EXPIRED
    certificates = records("retention_disposal/certificate")
    assert len(certificates) == EXPIRED
    plan = records("retention_disposal/plan")[0]
    assert {c.summary["approved_by"]["plan_record"] for c in certificates} == {plan.key}
    assert {c.summary["approved_by"]["run_id"] for c in certificates} == {plan.producer["run_id"]}
    assert {c.summary["executed_by"]["task_id"] for c in certificates} == {"execute"}

    seal_run = dagbag.get_dag("evidence_seal").test(logical_date=Period.day(END).end)
    assert str(seal_run.state) == "success"
    report = verify_store(LocalStorage(settings.evidence_root()), TrustedKeys.load(), Witness())
    assert report.ok and report.pending == []


def test_a_data_class_without_policy_fails_the_plan_and_nothing_executes(demo, dagbag, tmp_path, monkeypatch):
    config = tmp_path / "config"
    shutil.copytree(PROJECT / "include" / "config", config)
    path = config / "retention" / "policies.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["policies"] = [p for p in doc["policies"] if p["data_class"] != "training_data"]
    path.write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(config))
    assert str(run(dagbag, execute=True).state) == "failed"
    plans = records("retention_disposal/plan")
    assert plans and {str(p.status) for p in plans} == {"error"}
    assert plans[0].summary["error_classes"] == ["training_data"] and plans[0].summary["errors"] == 3
    manifest = json.loads(LocalStorage(settings.evidence_root()).get(f"{plans[0].key}/manifest.json"))
    assert "have no retention policy" in manifest["predicate"]["message"]
    assert records("retention_disposal/execute") == [] and raw_batches() == 120


def test_disposing_of_an_evidence_record_keeps_the_seal_run_green(demo, dagbag, tmp_path, monkeypatch):
    """The tombstone is pending until the next seal; that seal's verify must accept it, or the chain
    would never cover it."""
    from aimsflow.evidence.keys import Signer
    from aimsflow.evidence.seal import seal_pending
    from tests.retention.conftest import write_evidence

    config = tmp_path / "config"
    shutil.copytree(PROJECT / "include" / "config", config)
    path = config / "retention" / "policies.yaml"
    doc = yaml.safe_load(path.read_text())
    evidence = next(p for p in doc["policies"] if p["data_class"] == "evidence")
    evidence.update(retention="30 days", counts_from="created")
    path.write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(config))
    storage = LocalStorage(settings.evidence_root())
    old = write_evidence(storage, Signer.from_settings(), dt.date(2024, 5, 1))
    seal_pending(storage, Signer.from_settings(), Witness())

    assert str(run(dagbag, execute=True).state) == "success"
    assert not (storage.root / old.key).exists()
    (tombstone,) = records("retention_disposal/tombstone")
    assert tombstone.summary["disposed_record"] == old.key
    seal_run = dagbag.get_dag("evidence_seal").test(logical_date=Period.day(END).end)
    assert str(seal_run.state) == "success"
    report = verify_store(storage, TrustedKeys.load(), Witness())
    assert report.ok and [d["record"] for d in report.disposed] == [old.key]


def test_make_retention_runner_executes_and_seals(demo, airflow_db, capsys):
    """What `make retention EXECUTE=true` runs: retention_disposal with execute, then evidence_seal."""
    from aimsflow.retention.__main__ import main

    assert main(["--day", END.isoformat(), "--execute"]) == 0
    out = capsys.readouterr().out
    assert f"plan: {EXPIRED} to delete ({EXPIRED} approved)" in out and "store intact" in out
    assert raw_batches() == 120 - EXPIRED and len(records("retention_disposal/certificate")) == EXPIRED
    report = verify_store(LocalStorage(settings.evidence_root()), TrustedKeys.load(), Witness())
    assert report.ok and report.pending == []
