"""The reassessment job on a real store: snapshot, diff against the previous snapshot, ledger, status,
pinned inputs and specs; bad configuration is an ``error`` listing every problem."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import Producer, RunContext, write_record
from aimsflow.periods import Period
from aimsflow.results import JobError, JobResult, Status
from aimsflow.risk.evidence import DIFF_FILE, LEDGER_FILE, SNAPSHOT_FILE
from aimsflow.risk.job import REASSESS as _REASSESS
from aimsflow.risk.job import reassess
from tests.conftest import declared
from tests.risk.conftest import AI, CLEAN, RAW, add_ai_system, dq_risk, write_config

reassess = declared(_REASSESS, reassess)

END = dt.date(2026, 11, 27)
CLEAN_DAY, DEFECT_DAY, DRIFT_DAY = END - dt.timedelta(days=2), END - dt.timedelta(days=1), END
NOW = dt.datetime(2026, 11, 28, 9, tzinfo=dt.UTC)


def _dq_summary(critical: int = 0, drifted: tuple[str, ...] = ()) -> dict:
    return {
        "failed_by_severity": {"critical": critical, "warning": 0, "info": 0},
        "missing_columns": [],
        "drift": {"verdict": "failed" if drifted else "passed", "drifted": list(drifted)},
    }


def _write(snapshot: JobResult, period: Period, store, run: str) -> str:
    """Write a reassessment result as run_job would, so the next run finds it."""
    producer = Producer(
        kind="task",
        dag_id="risk_reassessment",
        run_id=run,
        task_id="reassess",
        try_number=1,
        max_tries=2,
        run_type="manual",
        run_after=dt.datetime.now(dt.UTC).isoformat(),
    )
    now = dt.datetime.now(dt.UTC)
    return write_record(store, snapshot, RunContext(period, producer, now, now), Signer.from_settings()).key


@pytest.fixture
def demo_window(write):
    """The demo's window as data_quality records it: a clean day, the defect day, the drift day."""
    keys = {
        "clean": write(f"data_quality/{CLEAN}", CLEAN_DAY, Status.passed, summary=_dq_summary()),
        "defect": write(
            f"data_quality/{CLEAN}", DEFECT_DAY, Status.failed, summary=_dq_summary(3, ("loan_purpose",))
        ),
        "drift": write(
            f"data_quality/{CLEAN}", DRIFT_DAY, Status.failed, summary=_dq_summary(0, ("credit_score",))
        ),
    }
    for day in (CLEAN_DAY, DEFECT_DAY, DRIFT_DAY):
        write(f"data_quality/{RAW}", day, Status.passed, dataset=RAW, summary=_dq_summary())
        for step, dataset, status in (
            ("ingest", RAW, Status.passed),
            ("clean", CLEAN, Status.passed),
            ("training_set", "loan_training_set", Status.warning),
        ):
            write(
                f"data_preparation/{step}",
                day,
                status,
                dataset=dataset,
                dag_id="data_preparation",
                task_id=step,
            )
            write(
                f"data_provenance/{dataset}",
                day,
                Status.passed,
                dataset=dataset,
                summary={"gaps": 0},
                dag_id="data_provenance",
                task_id=f"provenance.{step}",
            )
    write(
        "evidence_seal/verify",
        DRIFT_DAY,
        Status.passed,
        dataset=None,
        controls=("7.5.3", "9.1"),
        dag_id="evidence_seal",
        task_id="verify",
    )
    return {name: ref.key for name, ref in keys.items()}


def _risk(result: JobResult, rid: str) -> dict:
    return next(r for r in json.loads(result.files[SNAPSHOT_FILE])["risks"] if r["id"] == rid)


def test_the_defect_day_raises_the_data_quality_risk_of_the_window(store, demo_window):
    before = reassess(Period.day(CLEAN_DAY), storage=store, now=NOW)
    dq = _risk(before, "R-DQ-01")
    assert dq["current"] == dq["assessed"] == {"likelihood": 2, "impact": 4, "score": 8, "level": "medium"}
    _write(before, Period.day(CLEAN_DAY), store, "run-1")

    window = Period.days(CLEAN_DAY, DRIFT_DAY)
    after = reassess(window, storage=store, now=NOW)
    dq = _risk(after, "R-DQ-01")
    assert dq["current"] == {"likelihood": 4, "impact": 4, "score": 16, "level": "high"}
    assert dq["above_appetite"] and not dq["accepted"] and "above_appetite_unaccepted" in dq["flags"]
    assert dq["records"] == [demo_window["defect"]]  # the drift day has no critical expectation failure
    assert after.status == Status.failed and "R-DQ-01" in after.summary["unaccepted_above_appetite"]

    diff = json.loads(after.files[DIFF_FILE])
    assert diff["previous"].startswith(f"records/{CLEAN_DAY.isoformat()}/risk_reassessment/reassess/")
    change = next(c for c in diff["risks"] if c["id"] == "R-DQ-01")
    assert change["fields"]["score"] == {"from": 8, "to": 16}
    assert change["fields"]["level"] == {"from": "medium", "to": "high"}
    assert change["records"] == [demo_window["defect"]]
    assert any(
        w.startswith("signal critical_expectation_days: ok -> critical: 1 of 3") for w in change["why"]
    )
    drift = next(c for c in diff["risks"] if c["id"] == "R-REL-01")
    assert drift["records"] == sorted([demo_window["defect"], demo_window["drift"]])
    # Only what changed is listed; a new high risk and a new nonconformity are announced.
    assert "R-PRIV-01" in diff["unchanged"]
    assert {r["id"] for r in after.summary["notify"]["new_high_risks"]} >= {"R-DQ-01", "R-REL-01"}
    (nc,) = after.summary["notify"]["new_nonconformities"]
    assert nc["cause"]["dataset"] == CLEAN and nc["occurrences"] == 2


def test_record_files_inputs_and_specs(store, demo_window):
    result = reassess(Period.days(CLEAN_DAY, DRIFT_DAY), storage=store, now=NOW)
    assert set(result.files) == {SNAPSHOT_FILE, DIFF_FILE, LEDGER_FILE, "report.md"}
    assert result.controls == _REASSESS.controls and result.check == "risk_reassessment/reassess"
    snapshot = json.loads(result.files[SNAPSHOT_FILE])
    assert (
        snapshot["period"]["label"] == "2026-11-25..2026-11-27"
        and snapshot["as_of"] == "2026-11-28T00:00:00+00:00"
    )
    assert len(snapshot["risks"]) == 8 and snapshot["open_nonconformities"] == 1
    ledger = json.loads(result.files[LEDGER_FILE])
    assert (
        ledger["open"] == 1
        and ledger["nonconformities"][0]["occurrences"][0]["record"] == demo_window["defect"]
    )
    # Every record that drove a signal is pinned by its manifest's SHA-256.
    pinned = {i.uri for i in result.inputs}
    assert any(demo_window["defect"] in uri for uri in pinned)
    assert all(len(i.sha256) == 64 for i in result.inputs)
    assert {Path(s.path).name for s in result.specs} >= {"register.yaml", "methodology.yaml", "datasets.yaml"}
    report = result.files["report.md"].decode()
    assert (
        "| R-DQ-01 Defective application data reaches the model | data_quality | 2x4=8 | 4x4=16 | high |"
        in report
    )


def test_rerun_without_new_evidence_changes_nothing_and_announces_nothing(store, demo_window):
    window = Period.days(CLEAN_DAY, DRIFT_DAY)
    first = reassess(window, storage=store, now=NOW)
    key = _write(first, window, store, "run-1")
    second = reassess(window, storage=store, now=NOW)
    diff = json.loads(second.files[DIFF_FILE])
    assert diff["previous"] == key and diff["risks"] == [] and len(diff["unchanged"]) == 8
    assert second.summary["notify"] == {"new_high_risks": [], "new_nonconformities": []}
    assert diff["nonconformities"]["previous_ledger"] == key and diff["nonconformities"]["opened"] == []


def test_the_previous_snapshot_is_the_newest_one_ending_no_later(store, demo_window):
    november = Period(dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    early = _write(
        reassess(Period.day(CLEAN_DAY), storage=store, now=NOW), Period.day(CLEAN_DAY), store, "r1"
    )
    _write(reassess(november, storage=store, now=NOW), november, store, "r2")
    # An on-demand run for the window compares with the day before, not with the later month.
    diff = json.loads(reassess(Period.days(CLEAN_DAY, DRIFT_DAY), storage=store, now=NOW).files[DIFF_FILE])
    assert diff["previous"] == early


def test_passed_when_every_risk_is_within_appetite(store, write, tmp_path):
    folder = write_config(tmp_path / "config", [dq_risk()])
    write(f"data_quality/{CLEAN}", CLEAN_DAY, Status.passed, summary=_dq_summary())
    result = reassess(Period.day(CLEAN_DAY), storage=store, config_dir=folder, now=NOW)
    assert result.status == Status.passed and result.summary["above_appetite"] == []
    assert result.summary["notify"]["new_high_risks"] == []


def test_bad_configuration_is_an_error_with_every_problem(store, tmp_path):
    folder = write_config(tmp_path / "config", [dq_risk(category="vibes"), dq_risk(likelihood=9)])
    with pytest.raises(JobError) as exc:
        reassess(Period.day(CLEAN_DAY), storage=store, config_dir=folder, now=NOW)
    message = str(exc.value)
    assert "risks[0].category" in message and "risks[1].likelihood: value 9" in message
    assert message.count("\n") == 2  # one error, listing both
    partial = exc.value.result
    assert partial is not None and partial.check == "risk_reassessment/reassess"
    assert {Path(s.path).name for s in partial.specs} == {"methodology.yaml", "register.yaml"}


def _scope_signals() -> list[dict]:
    return [
        {
            "id": "provenance_gaps",
            "kind": "summary_value",
            "check": "data_provenance/*",
            "field": "gaps",
            "aggregate": "share_nonzero",
            "window_days": 30,
            "critical": 0.05,
            "moves": "likelihood",
        },
        {
            "id": "verification_failures",
            "kind": "status_rate",
            "check": "evidence_seal/verify",
            "statuses": ["failed"],
            "window_days": 30,
            "critical": 0.01,
            "moves": "likelihood",
        },
        {"id": "open_ncs", "kind": "open_nonconformities", "critical": 1, "moves": "impact"},
    ]


def test_signals_read_only_the_records_of_the_risks_ai_system(store, write, tmp_path):
    """Bug: risk signals were not scoped to the risk's AI system, so a provenance gap in another
    system's dataset raised the loan system's data-quality risk. Records of another AI system (by
    subject, or by the catalog when the subject names only the dataset) are not read; store-wide
    records (no AI system, no dataset) count for every risk whose signal selects them."""
    other, other_ds = "credit_scoring", "credit_applications"
    folder = write_config(
        tmp_path / "config",
        [
            dq_risk(signals=_scope_signals()),
            dq_risk(id="R-CR-01", ai_system=other, signals=_scope_signals()),
        ],
    )
    add_ai_system(folder, other, other_ds)
    prov = {"dag_id": "data_provenance", "task_id": "provenance"}
    write(f"data_provenance/{RAW}", CLEAN_DAY, Status.passed, dataset=RAW, summary={"gaps": 0}, **prov)
    # The other system's gaps: one record naming its AI system, one naming only its dataset (as the
    # provenance DAG's error path writes it): the catalog says whose dataset it is.
    write(
        f"data_provenance/{other_ds}",
        CLEAN_DAY,
        Status.failed,
        dataset=other_ds,
        ai_system=other,
        summary={"gaps": 2},
        **prov,
    )
    write(
        f"data_provenance/{other_ds}",
        DEFECT_DAY,
        Status.failed,
        dataset=other_ds,
        ai_system=None,
        summary={"gaps": 1},
        **prov,
    )
    verify = write(
        "evidence_seal/verify",
        DEFECT_DAY,
        Status.failed,
        dataset=None,
        ai_system=None,
        controls=("7.5.3",),
        dag_id="evidence_seal",
        task_id="verify",
    )
    result = reassess(Period.days(CLEAN_DAY, DEFECT_DAY), storage=store, config_dir=folder, now=NOW)

    def signals(rid: str) -> dict[str, tuple]:
        return {s["id"]: (s["value"], s["state"], s["records"]) for s in _risk(result, rid)["signals"]}

    loan, credit = signals("R-DQ-01"), signals("R-CR-01")
    assert loan["provenance_gaps"] == (0.0, "ok", [])  # was 0.666667 critical: 2 of 3 records
    assert credit["provenance_gaps"][:2] == (1.0, "critical") and len(credit["provenance_gaps"][2]) == 2
    # The store-wide verification failure counts for both systems' risks.
    assert loan["verification_failures"] == credit["verification_failures"] == (1.0, "critical", [verify.key])
    # Nonconformities too: the other system's failures are not the loan system's (was 3 for both).
    assert loan["open_ncs"][:2] == (1.0, "critical") and loan["open_ncs"][2] == [verify.key]
    assert credit["open_ncs"][1] == "critical" and verify.key in credit["open_ncs"][2]
    assert AI != other and len(credit["open_ncs"][2]) == 3


def test_forged_records_are_not_counted_and_fail_the_reassessment(store, demo_window, write, forger):
    """Attack (issue 12): risk signals counted any folder with a manifest. A forged "passed" re-run of
    the defect day (a later run, so it superseded the genuine failure) brought the data quality risk
    back to its assessed level. It is not counted: the risk stays raised by the genuine failure, and
    the reassessment is ``failed``, naming the forged folder and its problem."""
    forged = write(
        f"data_quality/{CLEAN}",
        DEFECT_DAY,
        Status.passed,
        summary=_dq_summary(),
        run_after=dt.datetime.combine(DRIFT_DAY, dt.time(12), dt.UTC),
        signer=forger,
    )
    result = reassess(Period.days(CLEAN_DAY, DRIFT_DAY), storage=store, now=NOW)
    dq = _risk(result, "R-DQ-01")
    assert dq["current"]["score"] == 16 and dq["records"] == [demo_window["defect"]]
    assert result.status == Status.failed
    assert result.summary["untrusted_records"] == [
        {"record": forged.key, "problem": "signature by key 'test-key-1' does not match"}
    ]
    assert f"1 record folder(s) do not verify and were not read: {forged.key}" in result.message


def test_without_untrusted_folders_the_summary_says_none(store, demo_window):
    """The negative case: a store of genuine records only lists no untrusted folder."""
    result = reassess(Period.days(CLEAN_DAY, DRIFT_DAY), storage=store, now=NOW)
    assert result.summary["untrusted_records"] == [] and "do not verify" not in result.message
