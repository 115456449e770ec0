"""Nonconformities derived from records: one per cause, repeats attach, retries that pass open
nothing, the risk process opens none for itself, closing only after a later pass, and the ledger
surviving in the store."""

from __future__ import annotations

import datetime as dt
import json

from aimsflow.results import Status
from aimsflow.risk.evidence import LEDGER_FILE, load_evidence, run_time
from aimsflow.risk.job import CLOSE as _CLOSE
from aimsflow.risk.job import close_nonconformity
from aimsflow.risk.nonconformity import (
    Nonconformity,
    closing_evidence,
    current_nonconformities,
    derive_nonconformities,
    nonconformity_id,
)
from tests.conftest import declared
from tests.risk.conftest import CLEAN, RAW, at, marked, summary_record

close_nonconformity = declared(_CLOSE, close_nonconformity)

D1, D2, D3 = dt.date(2026, 11, 24), dt.date(2026, 11, 25), dt.date(2026, 11, 26)
CHECK = f"data_quality/{CLEAN}"


def failing(day, dataset=CLEAN, **kw):
    return summary_record(f"data_quality/{dataset}", day, Status.failed, dataset=dataset, **kw)


def test_one_nonconformity_per_cause_and_repeats_attach():
    a, b = failing(D1), failing(D2)  # same check and dataset, two partitions
    other = failing(D2, dataset=RAW)
    ledger, changes = derive_nonconformities([], marked([b, other, a]), frozenset())
    assert len(ledger) == 2
    clean = next(nc for nc in ledger if nc.cause.dataset == CLEAN)
    assert [o.record for o in clean.occurrences] == [a.key, b.key]  # in the order they happened
    assert clean.id == nonconformity_id(clean.cause, clean.occurrences[0])
    assert sorted(changes.opened) == sorted(nc.id for nc in ledger) and changes.attached == {}
    # A later derivation from that ledger attaches a new repeat instead of opening another.
    c = failing(D3)
    again, changes = derive_nonconformities(ledger, marked([a, b, other, c]), frozenset())
    assert [nc.id for nc in again] == [nc.id for nc in ledger]
    assert changes.opened == [] and changes.attached == {clean.id: [c.key]}


def test_ids_do_not_depend_on_the_order_of_derivation():
    a, b = failing(D1), failing(D2)
    one, _ = derive_nonconformities([], marked([a, b]), frozenset())
    two, _ = derive_nonconformities([], marked([b, a]), frozenset())
    assert [nc.as_dict() for nc in one] == [nc.as_dict() for nc in two]
    assert one[0].id.startswith(f"NC-{at(D1):%Y%m%d}-")


def test_a_reassessment_opens_nothing_for_later_periods():
    a, b = failing(D1), failing(D3)
    ledger, _ = derive_nonconformities([], marked([a, b]), frozenset(), until=at(D2) - dt.timedelta(hours=1))
    assert [[o.record for o in nc.occurrences] for nc in ledger] == [[a.key]]


def test_a_retry_that_passes_opens_nothing():
    error = summary_record(CHECK, D1, Status.error, try_number=1)
    retry = summary_record(CHECK, D1, Status.passed, try_number=2, run_after=at(D1))
    ledger, _ = derive_nonconformities([], marked([error, retry]), frozenset())
    assert ledger == []


def test_an_error_opens_one_only_on_the_final_try():
    error = summary_record(CHECK, D1, Status.error, try_number=1)
    # Current (its retry has not run yet) but not final: nothing.
    assert derive_nonconformities([], marked([error]), frozenset())[0] == []
    ledger, _ = derive_nonconformities([], marked([error]), frozenset({error.key}))
    assert len(ledger) == 1 and ledger[0].occurrences[0].status == "error"


def test_warnings_and_passes_open_nothing():
    records = [summary_record(CHECK, D1, Status.warning), summary_record(CHECK, D2, Status.passed)]
    assert derive_nonconformities([], marked(records), frozenset())[0] == []


def test_the_reassessments_own_failed_status_opens_none():
    own = summary_record("risk_reassessment/reassess", D1, Status.failed, dataset=None)
    refused = summary_record("nonconformity_close/close", D1, Status.failed, dataset=None)
    assert derive_nonconformities([], marked([own, refused]), frozenset({own.key}))[0] == []


def test_a_superseded_occurrence_stays_attached_through_the_ledger():
    failed = failing(D1)
    rerun = summary_record(CHECK, D1, Status.passed, run_after=at(D1) + dt.timedelta(hours=5))
    ledger, _ = derive_nonconformities([], marked([failed]), frozenset())
    # The rerun supersedes the failure; the failure is no longer a current verdict...
    later, changes = derive_nonconformities(ledger, marked([failed, rerun]), frozenset())
    # ...but the nonconformity it opened is still there, still open, until a closure record.
    assert [nc.as_dict() for nc in later] == [nc.as_dict() for nc in ledger] and later[0].is_open
    assert changes.opened == [] and changes.attached == {}


def test_closing_evidence_needs_a_later_run_of_the_same_check_and_subject():
    a = failing(D1)
    nc = derive_nonconformities([], marked([a]), frozenset())[0][0]
    same_run = summary_record(CHECK, D2, Status.passed, run_after=at(D1))  # same run as the failure
    other_dataset = summary_record(f"data_quality/{RAW}", D2, Status.passed, dataset=RAW)
    warning = summary_record(CHECK, D2, Status.warning)
    assert closing_evidence(nc, [a, same_run, other_dataset, warning], [Status.passed]) is None
    assert closing_evidence(nc, [warning], [Status.passed, Status.warning]) is warning
    backfill = summary_record(CHECK, D1 - dt.timedelta(days=3), Status.passed, run_after=at(D2))  # older data
    assert closing_evidence(nc, [backfill], [Status.passed]) is None
    rerun = summary_record(
        CHECK, D1, Status.passed, run_after=at(D1) + dt.timedelta(hours=2)
    )  # same day, fixed
    assert closing_evidence(nc, [rerun], [Status.passed]) is rerun
    later = summary_record(CHECK, D2, Status.passed)
    assert closing_evidence(nc, [a, same_run, backfill, later], [Status.passed]) is later


def _ledger(store) -> list[Nonconformity]:
    return current_nonconformities(store)[0]


def test_closing_is_refused_without_a_later_pass_and_granted_after_one(store, write):
    first = write(CHECK, D1, Status.failed, summary={"failed_by_severity": {"critical": 2}})
    nc = _ledger(store)[0]
    refused = close_nonconformity(
        nc.id,
        "null incomes from the LOS export",
        "export fixed, test added",
        "alice",
        storage=store,
        triggered_by="ui",
    )
    assert refused.status == Status.failed
    assert refused.summary["refused"].startswith(
        "no run of data_quality/loan_applications_clean [loan_applications_clean] passed after the last occurrence"
    )
    assert first.key in refused.message
    # A later run of the same check passes: closing is granted, naming the pass and the person.
    passed = write(CHECK, D2, Status.passed)
    closed = close_nonconformity(
        nc.id,
        "null incomes from the LOS export",
        "export fixed, test added",
        "alice",
        storage=store,
        triggered_by="ui",
    )
    assert closed.status == Status.passed
    assert closed.summary["evidence_of_pass"] == passed.key and closed.summary["closed_by"] == "alice"
    assert closed.controls == ("10.2",) and closed.subject.dataset == CLEAN
    assert {i.uri.rsplit("/", 2)[-2] for i in closed.inputs} == {passed.record_id, first.record_id}


def test_refusals_name_the_reason(store, write):
    write(CHECK, D1, Status.failed)
    nc = _ledger(store)[0]
    write(CHECK, D2, Status.passed)

    def reason(*args) -> str:
        result = close_nonconformity(*args, storage=store, triggered_by="ui")
        assert result.status == Status.failed
        return result.summary["refused"]

    assert "no nonconformity 'NC-20260101-000000'; open ones: [" in reason(
        "NC-20260101-000000", "r" * 10, "c" * 10, "a"
    )
    assert "no authenticated user" in reason(nc.id, "r" * 10, "c" * 10, None)
    assert reason(nc.id, "  ", "c" * 10, "alice") == "empty root_cause"
    assert reason(nc.id, None, None, "alice") == "empty root_cause and corrective_action"  # Params left empty
    assert reason(None, "r" * 10, "c" * 10, "alice").startswith("no nonconformity ''")


def _close_record(store, write, nc_id, user="alice"):
    """Write the closure record as the closing DAG would (through the job's own result)."""
    result = close_nonconformity(
        nc_id, "root cause text", "corrective action", user, storage=store, triggered_by="ui"
    )
    write(
        "nonconformity_close/close",
        D3,
        result.status,
        dataset=CLEAN,
        summary=result.summary,
        dag_id="nonconformity_close",
        task_id="close",
        run_after=dt.datetime.now(dt.UTC),
        user=user,
        controls=("10.2",),
    )
    return result


def test_a_closed_nonconformity_stays_closed_and_a_new_failure_opens_a_new_one(store, write):
    write(CHECK, D1, Status.failed)
    nc = _ledger(store)[0]
    write(CHECK, D2, Status.passed)
    assert _close_record(store, write, nc.id).status == Status.passed
    ledger = _ledger(store)
    assert len(ledger) == 1 and ledger[0].closure is not None
    assert ledger[0].closure.closed_by == "alice"  # from the record's triggered_by.user
    assert (
        "already closed by alice"
        in close_nonconformity(nc.id, "x" * 10, "y" * 10, "bob", storage=store, triggered_by="ui").message
    )
    # The old failure is still the current verdict of its partition: it does not reopen anything.
    assert [n.id for n in _ledger(store)] == [nc.id]
    # A failure after the closure opens a new one.
    write(CHECK, D3, Status.failed, run_after=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    ledger = _ledger(store)
    assert len(ledger) == 2 and ledger[0].id == nc.id and ledger[1].is_open and ledger[1].id != nc.id


def test_the_ledger_in_a_reassessment_record_is_where_the_next_derivation_starts(store, write):
    failed = write(CHECK, D1, Status.failed)
    ledger, changes, source = current_nonconformities(store)
    assert source is None and len(changes.opened) == 1
    doc = {"nonconformities": [nc.as_dict() for nc in ledger]}
    write(
        "risk_reassessment/reassess",
        D1,
        Status.warning,
        dataset=None,
        dag_id="risk_reassessment",
        task_id="reassess",
        files={LEDGER_FILE: json.dumps(doc).encode()},
        run_after=dt.datetime.now(dt.UTC),
    )
    # The failure is superseded by a rerun that passed; the recorded ledger keeps the nonconformity.
    write(CHECK, D1, Status.passed, run_after=at(D1) + dt.timedelta(hours=3))
    assert failed.key not in {r.key for r in load_evidence(store).current}
    again, changes, source = current_nonconformities(store)
    assert source is not None and source.startswith("records/2026-11-24/risk_reassessment/reassess/")
    assert [nc.id for nc in again] == [nc.id for nc in ledger] and changes.opened == []


def test_retries_in_the_store_final_try_read_from_the_manifest(store, write):
    run = "manual__2026-11-25T01:00:00+00:00"
    write(CHECK, D1, Status.error, try_number=1, max_tries=2, run_id=run)  # retries left
    write(CHECK, D1, Status.passed, try_number=2, max_tries=2, run_id=run)  # the retry passed
    assert current_nonconformities(store)[0] == []
    other = "manual__2026-11-26T01:00:00+00:00"
    for n in (1, 2, 3):  # every try of another run errors; the third is the last
        last = write(CHECK, D2, Status.error, try_number=n, max_tries=2, run_id=other)
    (nc,) = current_nonconformities(store)[0]
    assert [o.record for o in nc.occurrences] == [last.key] and nc.occurrences[0].status == "error"


def test_a_rerun_of_a_period_is_the_same_occurrence():
    """Bug: a nonconformity counted re-runs as occurrences ("4 occurrences" for 3 periods). A failing
    re-run of a period already recorded attaches to that period's occurrence, listed as its evidence,
    and a pass must come after the re-run to close it."""
    a, b = failing(D1), failing(D2)
    ledger, _ = derive_nonconformities([], marked([a, b]), frozenset())  # a reassessment records these
    rerun = failing(D2, run_after=at(D2) + dt.timedelta(hours=5))  # D2 re-run, still failing
    c = failing(D3)
    later, changes = derive_nonconformities(ledger, marked([a, b, rerun, c]), frozenset())
    (nc,) = later
    assert len(nc.occurrences) == 3  # was 4: the re-run counted as an occurrence of its own
    assert [o.period for o in nc.occurrences] == ["2026-11-24", "2026-11-25", "2026-11-26"]
    assert nc.occurrences[1].records == (b.key, rerun.key)
    assert changes.attached == {nc.id: [rerun.key, c.key]}
    # The ledger keeps the re-run through a reassessment record, and a fresh derivation agrees.
    again = Nonconformity.from_dict(json.loads(json.dumps(nc.as_dict())))
    assert again.as_dict() == nc.as_dict()
    # A ledger written before the fix (the re-run as an occurrence of its own) reads per period too.
    old = nc.as_dict()
    rerun_entry = {**old["occurrences"][1], "record": rerun.key, "reruns": []}
    old["occurrences"] = [{k: v for k, v in o.items() if k != "reruns"} for o in old["occurrences"]]
    old["occurrences"].insert(2, {k: v for k, v in rerun_entry.items() if k != "reruns"})
    assert len(old["occurrences"]) == 4
    assert Nonconformity.from_dict(old).occurrences[1].records == (b.key, rerun.key)
    fresh, _ = derive_nonconformities([], marked([a, b, rerun, c]), frozenset())
    assert [len(n.occurrences) for n in fresh] == [3]
    # A pass between the first D2 run and its re-run proves nothing: the re-run failed after it.
    between = summary_record(CHECK, D3, Status.passed, run_after=at(D2) + dt.timedelta(hours=2))
    nc2 = derive_nonconformities([], marked([b, rerun]), frozenset())[0][0]
    assert nc2.last_at == run_time(rerun) and nc2.last_record == rerun.key
    assert closing_evidence(nc2, marked([b, rerun, between]), [Status.passed]) is None


def test_a_failed_verdict_superseded_before_the_reassessment_still_opens_one():
    """Attack (issue 12): a failed verdict superseded by a passing re-run before the monthly
    reassessment never became a nonconformity (only current verdicts were occurrences). Every failed
    verdict in the history is one; an error whose retry passed still opens nothing."""
    failed = failing(D1)
    rerun = summary_record(CHECK, D1, Status.passed, run_after=at(D1) + dt.timedelta(hours=5))
    ledger, changes = derive_nonconformities([], marked([failed, rerun]), frozenset())
    assert failed.superseded and [[o.record for o in nc.occurrences] for nc in ledger] == [[failed.key]]
    assert changes.opened == [ledger[0].id]
    error = summary_record(CHECK, D2, Status.error, try_number=1)
    retry = summary_record(CHECK, D2, Status.passed, try_number=2, run_after=at(D2))
    assert derive_nonconformities([], marked([error, retry]), frozenset())[0] == []


def test_a_superseded_failure_in_the_store_opens_one(store, write):
    """The same attack on a real store: the failure and the passing re-run are both signed records."""
    failed = write(CHECK, D1, Status.failed)
    write(CHECK, D1, Status.passed, run_after=at(D1) + dt.timedelta(hours=3))
    (nc,) = _ledger(store)
    assert nc.is_open and nc.records == (failed.key,)


def _seal(store):
    from aimsflow.evidence.keys import Signer
    from aimsflow.evidence.seal import Witness, seal_pending

    seal_pending(store, Signer.from_settings(), Witness())


def test_a_catch_up_failure_recorded_after_a_closure_opens_a_new_nonconformity(store, write):
    """Attack (issue 12): occurrences and closures were ordered by run_after, so a catch-up run of an
    earlier period, recorded after the closure but carrying its period's early run_after, was
    attached to the nonconformity before the closure and closed with it. They are ordered by their
    place in the evidence log (seal, place in the seal, then records not sealed yet): the catch-up
    failure happened after the closure and opens a new nonconformity."""
    first = write(CHECK, D2, Status.failed)
    _seal(store)
    (nc,) = _ledger(store)
    write(CHECK, D3, Status.passed, run_after=dt.datetime.now(dt.UTC))
    assert _close_record(store, write, nc.id).status == Status.passed
    _seal(store)
    catch_up = write(CHECK, D1, Status.failed)  # run_after at(D1): before the failure and the closure
    ledger = {n.id: n for n in _ledger(store)}
    closed = ledger.pop(nc.id)
    (new,) = ledger.values()
    assert closed.closure is not None and closed.records == (first.key,)
    assert new.is_open and new.records == (catch_up.key,)
    # The same once sealed: its seal comes after the closure's.
    _seal(store)
    assert sorted(n.records for n in _ledger(store)) == sorted([(first.key,), (catch_up.key,)])


def test_a_failure_recorded_before_a_closure_is_closed_with_it(store, write):
    """The boundary of the attack above: a failure that entered the log before the closure record is
    one of the nonconformity's occurrences, whatever its run_after says."""
    first = write(CHECK, D1, Status.failed)
    (nc,) = _ledger(store)
    second = write(CHECK, D2, Status.failed, run_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    write(CHECK, D3, Status.passed, run_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    assert _close_record(store, write, nc.id).status == Status.passed
    (closed,) = _ledger(store)
    assert closed.closure is not None and closed.records == (first.key, second.key)
