"""Review finding 5 in the compliance report: a sealed failing record deleted from the store made the
report show the older pass as A.7.4's verdict and end ``warning`` at best, as if nothing had happened.
The deleted leaf is now an untrusted finding: the report names it and ends ``failed``."""

from __future__ import annotations

import datetime as dt
import shutil

from aimsflow.evidence.keys import Signer
from aimsflow.evidence.seal import Witness, seal_pending
from aimsflow.results import Status
from tests.compliance import test_report
from tests.compliance.test_report import NOW, Tables, run_report

known, config = test_report.known, test_report.config  # the report tests' fixtures


def seal_before_the_report(store) -> None:
    """Seal what the fixture wrote, an hour before the report's run (the daily seal)."""
    result = seal_pending(store, Signer.from_settings(), Witness(), NOW - dt.timedelta(hours=1))
    assert result.records_sealed


def test_a_deleted_sealed_failing_record_fails_the_report_and_is_named(known, store, config):
    seal_before_the_report(store)
    result, doc, _ = run_report(store, config, write=False)
    assert result.status == Status.warning and doc["coverage"]["untrusted_records"] == []  # the boundary

    shutil.rmtree(store.root / known["dq_fail"])
    result, doc, page = run_report(store, config, write=False)
    assert result.status == Status.failed
    (untrusted,) = doc["coverage"]["untrusted_records"]
    assert untrusted == {
        "record": known["dq_fail"],
        "problem": "sealed in seal 1, missing from the store (deleted record)",
    }
    assert result.summary["untrusted_records"][0]["record"] == known["dq_fail"]
    parsed = Tables()
    parsed.feed(page)
    (rows,) = [rows for section, rows in parsed.tables if section == "untrusted"]
    assert rows[1][0] == known["dq_fail"] and "missing from the store" in rows[1][1]


def test_the_report_record_itself_names_the_deleted_record(known, store, config):
    """What the DAG stores (the report record's JSON, read back verified) carries the finding too."""
    seal_before_the_report(store)
    shutil.rmtree(store.root / known["dq_fail"])
    result, doc, _ = run_report(store, config)
    assert result.status == Status.failed
    assert [u["record"] for u in doc["coverage"]["untrusted_records"]] == [known["dq_fail"]]
