"""The demo's documents: realistic drops the job ingests, one of them past its review date, each
dropped once however often the demo runs."""

from __future__ import annotations

import datetime as dt
import os

from aimsflow.catalog import load_inventory
from aimsflow.demo.documents import demo_documents, drop_demo_documents
from aimsflow.manual.job import scan_drops
from aimsflow.manual.sidecar import load_sidecar
from aimsflow.results import Status
from tests.manual.conftest import manual_records, run_drops

END = dt.date(2026, 11, 28)


def test_every_demo_sidecar_is_valid_and_evidences_what_the_demo_promises(tmp_path):
    ids = list(load_inventory().ai_systems)
    got = {}
    for doc in demo_documents(END):
        path = tmp_path / f"{doc.name}.evidence.yaml"
        path.write_text(doc.sidecar)
        loaded = load_sidecar(path, ids)
        assert loaded.problems == [], loaded.problems
        got[doc.name] = (loaded.sidecar.sorted_controls, loaded.sidecar.ai_system)
    assert got == {
        "ai-policy.md": (("A.2.2", "A.2.3"), None),
        "ai-roles-and-responsibilities.md": (("A.3.2",), None),
        "loan-approval-impact-assessment.md": (("A.5.2", "A.5.3", "A.5.4", "A.5.5"), "loan_approval"),
        "credit-bureau-data-agreement.md": (("A.10.3",), "loan_approval"),
    }


def test_demo_documents_are_dropped_once(tmp_path):
    first = drop_demo_documents(tmp_path, END)
    assert [d.created for d in first] == [True] * 4
    assert len([n for n in os.listdir(tmp_path) if n.endswith(".evidence.yaml")]) == 4
    (tmp_path / "ai-policy.md").write_text("edited by hand")
    assert [d.created for d in drop_demo_documents(tmp_path, END + dt.timedelta(days=1))] == [False] * 4
    assert (tmp_path / "ai-policy.md").read_text() == "edited by hand"


def test_the_demo_drops_are_ingested_and_the_supplier_agreement_is_stale(inbox):
    end = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    drop_demo_documents(inbox, end)
    outs = run_drops(scan_drops(settle_minutes=0))
    assert all(isinstance(o, dict) for o in outs), outs
    statuses = {r.summary["document"]: r.status for r in manual_records()}
    assert statuses == {
        "ai-policy.md": Status.passed,
        "ai-roles-and-responsibilities.md": Status.passed,
        "loan-approval-impact-assessment.md": Status.passed,
        "credit-bureau-data-agreement.md": Status.warning,  # review date passed: A.10.3 stale
    }
    assert sorted(os.listdir(inbox)) == [".ingested"]
    # filed away, the documents are not dropped again by a later demo run
    assert not any(d.created for d in drop_demo_documents(inbox, end))
    assert scan_drops(settle_minutes=0) == []
