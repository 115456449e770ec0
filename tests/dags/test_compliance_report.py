"""A dag.test() run of compliance_report: the period from the Param, the record with its page and
JSON, a warning (the shipped Statement of Applicability has gaps on a small store) that leaves the run
green, and the run's seal covering the report."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from aimsflow import settings
from aimsflow.compliance.checks import REPORT
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.listing import load_verified, read_record_file
from aimsflow.evidence.storage import LocalStorage
from aimsflow.results import Status
from tests.risk.conftest import store, write  # noqa: F401  (fixtures used here)

pytestmark = pytest.mark.slow
D = dt.date(2026, 11, 27)


def test_report_run_writes_its_page_and_json_and_seals_them(aims_env, dagbag, write):  # noqa: F811
    write("data_quality/validate", D, controls=("A.7.4", "A.6.2.6"))
    write("data_quality/validate", D - dt.timedelta(days=1), Status.failed, controls=("A.7.4", "A.6.2.6"))
    run = dagbag.get_dag("compliance_report").test(run_conf={"period": D.isoformat()})
    assert str(run.state) == "success"  # gaps are the report's findings: a warning, not a failed run

    storage = LocalStorage(settings.evidence_root())
    loaded = load_verified(storage, TrustedKeys.load())
    (rec,) = [r for r in loaded.records if r.check == REPORT.id]
    assert rec.status == Status.warning and rec.period.label == D.isoformat()
    assert rec.controls == ["9.1", "9.3"] and rec.sealed_in is not None  # the run's teardown sealed it
    doc = json.loads(read_record_file(storage, rec.key, "report.json", loaded.predicates[rec.key]))
    page = read_record_file(storage, rec.key, "report.html", loaded.predicates[rec.key]).decode()
    rows = {c["id"]: c for c in doc["coverage"]["controls"]}
    assert rows["A.6.2.6"]["verdict"]["status"] == "passed" and rows["A.6.2.6"]["freshness"] == "fresh"
    assert [n["check"] for n in doc["management_review"]["open_nonconformities"]] == ["data_quality/validate"]
    assert doc["summary"]["counts"]["fresh"] == rec.summary["counts"]["fresh"] >= 1
    assert page.startswith("<!doctype html>") and f"Compliance report {D.isoformat()}" in page
