"""dag.test() runs of manual_evidence: the good drops of a run ingested, filed away and sealed, the bad
one refused on every try and left untouched, the run failed; the next run does not report it again."""

from __future__ import annotations

import os

import pytest

from aimsflow import settings
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.storage import LocalStorage
from aimsflow.results import Status
from tests.manual.conftest import GOOD, drop

pytestmark = pytest.mark.slow


def _records(run_id: str) -> list:
    storage = LocalStorage(settings.evidence_root())
    return [r for r in load_summaries(storage) if r.producer.get("run_id") == run_id]


def test_a_run_ingests_the_good_drops_refuses_the_bad_one_and_seals_them_all(aims_env, dagbag):
    inbox = settings.manual_inbox()
    inbox.mkdir()
    drop(inbox, "ai-policy.md", b"# AI policy\n", GOOD)
    drop(
        inbox,
        "roles.md",
        b"# Roles\n",
        GOOD.replace("AI policy", "AI roles").replace("[A.2.2, A.2.4]", "[A.3.2]"),
    )
    drop(
        inbox,
        "supplier.md",
        b"# Supplier\n",
        GOOD.replace("review_date: 2099-01-15", "review_date: 2026-13-01"),
    )
    bad = {
        n: ((inbox / n).read_bytes(), (inbox / n).stat().st_mtime_ns)
        for n in ("supplier.md", "supplier.md.evidence.yaml")
    }
    dag = dagbag.get_dag("manual_evidence")

    run = dag.test(run_conf={"period": "2026-11-25", "settle_minutes": 0})
    assert str(run.state) == "failed"  # the bad drop's task failed after its retries
    records = _records(run.run_id)
    by_status = sorted((str(r.status), r.summary["document"], r.producer["try_number"]) for r in records)
    assert by_status == [
        ("error", "supplier.md", 1),
        ("error", "supplier.md", 2),
        ("error", "supplier.md", 3),  # every try keeps its record
        ("passed", "ai-policy.md", 1),
        ("passed", "roles.md", 1),
    ]
    assert {r.period.label for r in records} == {"2026-11-25"}
    assert all(r.sealed_in is not None for r in records)  # the run's teardown sealed them
    errors = [r for r in records if r.status == Status.error]
    assert all("review_date: value '2026-13-01'" in "".join(r.summary["problems"]) for r in errors)
    # the good drops left the inbox, the bad one did not move or change
    assert sorted(os.listdir(inbox)) == [".ingested", "supplier.md", "supplier.md.evidence.yaml"]
    filed = sorted(os.listdir(inbox / ".ingested"))
    assert filed == sorted(r.record_id for r in records if r.status == Status.passed)
    assert {n: ((inbox / n).read_bytes(), (inbox / n).stat().st_mtime_ns) for n in bad} == bad

    again = dag.test(run_conf={"period": "2026-11-25", "settle_minutes": 0})
    assert str(again.state) == "success" and _records(again.run_id) == []  # reported already today
    assert sorted(os.listdir(inbox)) == [".ingested", "supplier.md", "supplier.md.evidence.yaml"]
