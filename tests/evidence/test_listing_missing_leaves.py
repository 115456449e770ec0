"""Review finding 5: deleting a sealed (failing) record went unnoticed by every reader built on
``load_verified`` — coverage (``aimsflow soa``), the compliance report, the UI, OSCAL, the sample and
the risk readers — because it never compared the record folders with the verified log's leaves: the
older passing record silently became the current verdict. Every leaf of the verified log whose folder
is gone (unless lawfully disposed of: tests/retention/test_verified_readers_disposal.py) or whose
manifest is not the sealed one is now an ``Untrusted`` finding in ``Loaded.rejected``."""

from __future__ import annotations

import datetime as dt
import shutil

from aimsflow.cli import main
from aimsflow.compliance.coverage import compute_coverage
from aimsflow.compliance.crosswalk import load_crosswalk
from aimsflow.compliance.soa import load_soa
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.listing import load_verified
from aimsflow.evidence.seal import Witness, seal_pending
from aimsflow.results import Status
from tests.compliance.conftest import config_with, small_soa
from tests.compliance.test_coverage import CROSSWALK, DQ
from tests.risk import conftest as risk

store, write = risk.store, risk.write  # the risk tests' fixtures: a store and a task try's record writer

SOA = small_soa(A_7_4={"applicable": True, "justification": "data", "checks": [DQ], "max_age_days": 7})
TODAY = dt.datetime.now(dt.UTC).date()
D1, D2 = TODAY - dt.timedelta(days=3), TODAY - dt.timedelta(days=2)


def seal(store) -> int:
    result = seal_pending(store, Signer.from_settings(), Witness())
    assert result.head is not None
    return result.head.sequence


def rejected(store, **kw) -> dict[str, str]:
    return {u.key: u.problem for u in load_verified(store, TrustedKeys.load(), **kw).rejected}


def test_deleting_a_sealed_failing_record_is_noticed_by_coverage(store, write, tmp_path):
    """The reviewer's reproduction: the failing verdict of A.7.4 turned into the older pass once the
    sealed failing record was deleted, and coverage said ok."""
    folder = config_with(tmp_path / "config", soa=SOA, crosswalk=CROSSWALK)
    soa, crosswalk = load_soa(folder), load_crosswalk(folder)
    write(DQ, D1, Status.passed)
    bad = write(DQ, D2, Status.failed)
    seal(store)
    as_of = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)

    before = compute_coverage(load_verified(store, TrustedKeys.load()), soa, crosswalk, (), as_of)
    assert before.control("A.7.4").verdict.status == "failed"

    shutil.rmtree(store.root / bad.key)  # the insider removes the sealed failing record
    loaded = load_verified(store, TrustedKeys.load())
    after = compute_coverage(loaded, soa, crosswalk, (), as_of)
    assert any(bad.key in u.key or bad.key in u.problem for u in loaded.rejected), (
        f"deleted sealed record went unnoticed: verdict {after.control('A.7.4').verdict.status}, ok={after.ok}"
    )
    assert not after.ok


def test_a_deleted_sealed_record_is_named_with_its_seal(store, write):
    kept = write(DQ, D1, Status.passed)
    seal(store)
    bad = write(DQ, D2, Status.failed)
    sequence = seal(store)
    assert rejected(store) == {}  # nothing gone: nothing reported
    shutil.rmtree(store.root / bad.key)
    assert rejected(store) == {bad.key: f"sealed in seal {sequence}, missing from the store (deleted record)"}
    loaded = load_verified(store, TrustedKeys.load())
    assert [r.key for r in loaded.records] == [kept.key]


def test_a_pending_record_that_is_gone_is_no_leaf_and_no_finding(store, write):
    """The boundary: only leaves of the verified log are expected in the store. A record no seal took
    in yet leaves no trace when it is gone (verify's intents report a task try that left no record)."""
    write(DQ, D1, Status.passed)
    seal(store)
    pending = write(DQ, D2, Status.failed)
    shutil.rmtree(store.root / pending.key)
    assert rejected(store) == {}


def test_only_restricts_the_missing_leaves_too(store, write):
    """A reader of one check (``only``) is told about the missing leaves of that check only."""
    bad = write(DQ, D2, Status.failed)
    other = write("bias_assessment/assess", D2, Status.failed, dag_id="bias_assessment", task_id="assess")
    seal(store)
    shutil.rmtree(store.root / bad.key)
    shutil.rmtree(store.root / other.key)
    assert set(rejected(store)) == {bad.key, other.key}
    assert set(rejected(store, only=lambda k: f"/{DQ}/" in k)) == {bad.key}


def test_a_sealed_record_replaced_by_another_signed_one_is_refused(store, write):
    """A sealed failing record deleted and written again at the same place — same producer, so the
    same key — as a pass, signed with the trusted key (a re-run by someone holding the key, or a bug):
    its signature verifies, but its manifest is not the sealed leaf, so it is not read."""
    bad = write(DQ, D2, Status.failed)
    seal(store)
    shutil.rmtree(store.root / bad.key)
    again = write(DQ, D2, Status.passed)
    assert again.key == bad.key and again.manifest_sha256 != bad.manifest_sha256
    loaded = load_verified(store, TrustedKeys.load())
    assert loaded.records == []
    assert [(u.key, u.problem) for u in loaded.rejected] == [
        (bad.key, "manifest differs from the one sealed in seal 1")
    ]


def test_soa_exits_1_and_names_a_deleted_sealed_record(store, write, tmp_path, monkeypatch, capsys):
    folder = config_with(tmp_path / "config", soa=SOA, crosswalk=CROSSWALK)
    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(folder))
    write(DQ, D1, Status.passed)
    bad = write(DQ, D2, Status.failed)
    seal(store)
    assert main(["soa"]) == 1  # the failing verdict is a gap
    capsys.readouterr()
    shutil.rmtree(store.root / bad.key)
    code = main(["soa"])
    out, err = capsys.readouterr()
    assert code == 1 and f"UNTRUSTED {bad.key}" in out
    assert f"{bad.key}: sealed in seal 1, missing from the store" in err
