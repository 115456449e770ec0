"""Quarantined raw files (``data/quarantine/<dataset>/date=<day>/``, where the ingest step copies a
rejected batch beside its ``reason.json``) have a data class and a retention policy: retention plans,
holds and disposes of them like any other object, instead of keeping them forever."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from aimsflow.catalog import load_inventory
from aimsflow.periods import Period
from aimsflow.prep.steps import ingest_batch
from aimsflow.results import JobError
from aimsflow.retention.job import PLAN as _PLAN
from aimsflow.retention.job import load_rules, plan_job
from aimsflow.retention.objects import Locations
from aimsflow.retention.policy import QUARANTINE_CLASS
from tests.conftest import declared
from tests.retention.conftest import add_hold, put_partition

plan_job = declared(_PLAN, plan_job)

DAY = dt.date(2027, 1, 1)
FOLDER = f"data/quarantine/loan_applications_raw/date={DAY}"


@pytest.fixture
def quarantined(loc: Locations, config: Path) -> list[str]:
    """A raw batch the ingest step rejects (bad encoding): copied to quarantine with its reason."""
    path = put_partition(loc, "loan_applications_raw", DAY, b"application_id,name\nA-1,J\xfcrgen\n")
    with pytest.raises(JobError):
        ingest_batch(load_inventory(config), "loan_applications_raw", DAY, loc.data_root)
    path.unlink()  # the source's own file is not part of this test
    return [f"{FOLDER}/applications.csv", f"{FOLDER}/reason.json"]


def plan_at(day: dt.date):
    return plan_job(Period.day(day - dt.timedelta(days=1)), True, now=Period.day(day).start)


def test_quarantined_files_have_a_data_class_with_a_policy(config):
    rules = load_rules(config)
    policy = rules.policies.get(QUARANTINE_CLASS)
    assert policy is not None and policy.counts_from == "created" and policy.retention == "90 days"


def test_quarantined_files_are_kept_until_their_retention_ends_then_planned_for_deletion(quarantined):
    before = plan_at(DAY + dt.timedelta(days=89))
    assert before.summary["to_delete"] == 0
    assert before.summary["retained"][QUARANTINE_CLASS]["objects"] == 2
    assert before.summary["retained"][QUARANTINE_CLASS]["next_expiry"] == str(DAY + dt.timedelta(days=90))
    due = plan_at(DAY + dt.timedelta(days=90))
    assert due.summary["to_delete_by_class"] == {QUARANTINE_CLASS: 2}
    assert sorted(r.uri.rsplit("/", 1)[-1] for r in due.inputs) == ["applications.csv", "reason.json"]
    assert {r.dataset for r in due.inputs} == {"loan_applications_raw"}


def test_a_hold_on_the_dataset_keeps_its_quarantined_files(quarantined, config):
    add_hold(config, "LH-9", "dataset: loan_applications_raw")
    result = plan_at(DAY + dt.timedelta(days=400))
    assert result.summary["to_delete"] == 0 and result.summary["holds_applied"] == ["LH-9"]
    assert result.summary["excluded_by_class"] == {QUARANTINE_CLASS: 2}
