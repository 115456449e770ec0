"""Attack "retention follows symlinks": a glob or walk entered a linked folder and the rename moved
the link's target. Retention now never follows a symbolic link: one found where it would act — in
the data root, the OpenLineage folder, the evidence store, a work area or a disposal folder — is
refused and reported (the record is ``failed``), never followed, renamed or deleted."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from aimsflow.evidence.keys import Signer
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from aimsflow.results import Status
from aimsflow.retention.dispose import CERTIFICATE_CHECK, markers
from aimsflow.retention.job import EXECUTE as _EXECUTE
from aimsflow.retention.job import PLAN as _PLAN
from aimsflow.retention.job import RECOVER as _RECOVER
from aimsflow.retention.job import execute_job, plan_job, recover_job
from tests.conftest import declared
from tests.retention._crash import SimulatedCrash, crash_at
from tests.retention.conftest import as_task_record, executor, put_events, put_partition, seal, write_evidence

plan_job = declared(_PLAN, plan_job)
execute_job = declared(_EXECUTE, execute_job)
recover_job = declared(_RECOVER, recover_job)

PERIOD = Period.day(dt.date(2028, 2, 29))
DAY = dt.date(2027, 1, 1)
RUN = "scheduled__2028-02-29"
RAW_DIR = f"raw/loan_applications/date={DAY}"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside every area root, with a file retention must never touch."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "applications.csv").write_bytes(b"not retention's to delete")
    return folder


def plan_and_record(storage: LocalStorage, execute: bool = True):
    result = plan_job(PERIOD, execute, now=PERIOD.end)
    as_task_record(storage, result, PERIOD, "plan", execute=execute, run_id=RUN)
    return result


def certificates(storage: LocalStorage) -> list:
    return [r for r in load_summaries(storage) if r.check == CERTIFICATE_CHECK]


def assert_plan_refuses(result, path: str) -> None:
    assert result.status == Status.failed, result.summary
    assert path in [s["object"] for s in result.summary["symlinks"]], result.summary["symlinks"]
    assert "symbolic link" in result.message


def test_a_linked_partition_folder_is_refused_and_its_target_untouched(loc, storage, config, outside):
    (loc.data_root / RAW_DIR).parent.mkdir(parents=True)
    os.symlink(outside, loc.data_root / RAW_DIR)
    put_partition(loc, "loan_applications_raw", dt.date(2027, 1, 2))  # an ordinary neighbour
    result = plan_and_record(storage)
    assert_plan_refuses(result, f"data/{RAW_DIR}")
    assert all("date=2027-01-01" not in i.uri for i in result.inputs)
    execute_job(PERIOD, executor(RUN))
    assert (outside / "applications.csv").read_bytes() == b"not retention's to delete"


def test_a_linked_file_is_refused(loc, storage, config, outside):
    (loc.data_root / RAW_DIR).mkdir(parents=True)
    os.symlink(outside / "applications.csv", loc.data_root / RAW_DIR / "applications.csv")
    result = plan_and_record(storage)
    assert_plan_refuses(result, f"data/{RAW_DIR}/applications.csv")
    assert result.summary["to_delete"] == 0
    assert (outside / "applications.csv").exists()
    assert (loc.data_root / RAW_DIR / "applications.csv").is_symlink()  # not renamed either


def test_a_linked_dataset_folder_is_refused_even_when_it_points_inside_the_data_root(loc, storage, config):
    """The link sits higher up: the dataset's whole folder, linked to another folder of the data root
    (the catalog accepts a link that stays under the data root; retention follows none: a rename
    through it would move the target's files)."""
    target = loc.data_root / "archive" / "loan_applications"
    (target / f"date={DAY}").mkdir(parents=True)
    (target / f"date={DAY}" / "applications.csv").write_bytes(b"x")
    (loc.data_root / "raw").mkdir(parents=True)
    os.symlink(target, loc.data_root / "raw" / "loan_applications")
    result = plan_and_record(storage)
    assert_plan_refuses(result, "data/raw/loan_applications")
    assert result.summary["to_delete"] == 0
    execute_job(PERIOD, executor(RUN))
    assert (target / f"date={DAY}" / "applications.csv").exists()


def test_linked_openlineage_files_and_folders_are_refused(loc, storage, config, outside):
    put_events(loc, "real.json")
    os.symlink(outside / "applications.csv", loc.openlineage_root / "staging" / "linked.json")
    os.symlink(outside, loc.openlineage_root / "linked-folder")
    result = plan_and_record(storage)
    refused = {s["object"] for s in result.summary["symlinks"]}
    assert refused == {"openlineage/staging/linked.json", "openlineage/linked-folder"}
    assert result.status == Status.failed


def test_a_linked_folder_in_the_evidence_store_is_refused(rt_env, loc, storage, config, tmp_path):
    signer = Signer.from_settings()
    ref = write_evidence(storage, signer, dt.date(2024, 5, 1))
    seal(storage, signer, rt_env / "witness")
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(storage.root / "records" / "2024-05-01", elsewhere)
    os.symlink(elsewhere, storage.root / "records" / "2024-05-02")
    result = plan_and_record(storage)
    assert_plan_refuses(result, "evidence/records/2024-05-02")
    assert result.summary["to_delete"] == 1  # the genuine record only: nothing behind the link counts
    assert [r.uri for r in result.inputs] == [(storage.root / ref.key).as_uri()]


def test_a_link_swapped_in_after_planning_is_refused_at_execution(loc, storage, config, outside):
    """Time of check, time of use: the plan saw a folder, execution finds a link to identical bytes."""
    path = put_partition(loc, "loan_applications_raw", DAY, b"not retention's to delete")
    assert plan_and_record(storage).status == Status.passed
    shutil.rmtree(path.parent)
    os.symlink(outside, path.parent)
    result = execute_job(PERIOD, executor(RUN))
    assert result.status == Status.failed
    (refused,) = result.summary["refusals"]
    assert refused["object"] == f"data/{RAW_DIR}/applications.csv" and "symbolic link" in refused["reason"]
    assert (outside / "applications.csv").exists() and certificates(storage) == [] and markers(loc) == []


def test_a_linked_work_area_is_refused_by_recovery(loc, storage, config, outside):
    loc.data_root.mkdir(parents=True)
    (outside / "0123456789abcdef0123456789abcdef").mkdir()
    os.symlink(outside, loc.work_dir("data"))
    result = recover_job(PERIOD, executor(RUN))
    assert result.status == Status.failed
    (refused,) = result.summary["refusals"]
    assert refused["marker"] == str(loc.work_dir("data")) and "symbolic link" in refused["reason"]
    assert (outside / "0123456789abcdef0123456789abcdef").is_dir()


def test_a_payload_replaced_by_a_link_is_neither_purged_nor_put_back(loc, storage, config, outside):
    path = put_partition(loc, "loan_applications_raw", DAY, b"batch")
    with crash_at("take", 1, "after"), pytest.raises(SimulatedCrash):
        recover_job(PERIOD, executor(RUN))
        plan_and_record(storage)
        execute_job(PERIOD, executor(RUN))
    (marker,) = markers(loc)
    (marker / "payload").unlink()
    os.symlink(outside / "applications.csv", marker / "payload")
    result = recover_job(PERIOD, executor("scheduled__next"))
    assert result.status == Status.failed and "symbolic link" in result.summary["refusals"][0]["reason"]
    assert (outside / "applications.csv").read_bytes() == b"not retention's to delete"
    assert not path.exists() and certificates(storage) == []


def test_a_link_inside_an_expired_record_folder_is_refused(rt_env, loc, storage, config, outside):
    signer = Signer.from_settings()
    ref = write_evidence(storage, signer, dt.date(2024, 5, 1))
    seal(storage, signer, rt_env / "witness")
    os.symlink(outside / "applications.csv", storage.root / ref.key / "extra.csv")
    result = plan_and_record(storage)
    assert_plan_refuses(result, f"evidence/{ref.key}/extra.csv")
    assert result.summary["to_delete"] == 0
