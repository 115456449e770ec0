"""What a record is to a nonconformity, as the bundle says it: opened, a later occurrence, closed, or
the passing run a closure rests on; and which record superseded it."""

from __future__ import annotations

import datetime as dt

from aimsflow.audit.trace import ROLES, nonconformity_links, superseded_by
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.listing import load_verified
from aimsflow.risk.nonconformity import Cause, Closure, Nonconformity, Occurrence, Rerun

T = dt.datetime(2026, 7, 4, 1, tzinfo=dt.UTC)


def _ledger() -> list[Nonconformity]:
    first = Occurrence("records/a", "2026-07-03", "failed", T, T, (Rerun("records/a2", "failed", T),))
    later = Occurrence("records/b", "2026-07-20", "failed", T + dt.timedelta(days=17), T)
    closure = Closure("records/close", T + dt.timedelta(days=30), "alice", "cause", "action", "records/pass")
    closed = Nonconformity(
        "NC-1", Cause("data_quality/validate", "loan_approval", "scores"), [first, later], closure
    )
    other = Nonconformity(
        "NC-2",
        Cause("bias_assessment/assess", None, "loans"),
        [Occurrence("records/x", "2026-08-01", "error", T, T)],
    )
    return [closed, other]


def test_each_role_a_record_plays():
    ledger = _ledger()
    assert [(n["id"], n["role"]) for n in nonconformity_links("records/a", ledger)] == [("NC-1", "opened")]
    assert [n["role"] for n in nonconformity_links("records/a2", ledger)] == ["occurrence"]  # a re-run
    assert [n["role"] for n in nonconformity_links("records/b", ledger)] == ["occurrence"]
    assert [n["role"] for n in nonconformity_links("records/close", ledger)] == ["closed"]
    assert [n["role"] for n in nonconformity_links("records/pass", ledger)] == ["passing run"]
    assert [(n["id"], n["status"]) for n in nonconformity_links("records/x", ledger)] == [("NC-2", "open")]
    assert nonconformity_links("records/unrelated", ledger) == []
    link = nonconformity_links("records/close", ledger)[0]
    assert (
        link["closed_by"] == "alice"
        and link["says"] == ROLES["closed"]
        and link["cause"] == "data_quality/validate [scores]"
    )


def test_superseded_by_names_the_current_verdict(aims_env, make):
    from aimsflow import settings
    from aimsflow.evidence.storage import LocalStorage

    day = dt.date(2026, 7, 3)
    first = make(day)
    second = make(day, try_number=2, run_after=dt.datetime(2026, 7, 4, 2, tzinfo=dt.UTC))
    records = load_verified(LocalStorage(settings.evidence_root()), TrustedKeys.load()).records
    by_key = {r.key: r for r in records}
    assert superseded_by(by_key[first.key], records) == second.key
    assert superseded_by(by_key[second.key], records) is None
