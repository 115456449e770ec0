"""Lineage event logs as evidence: the events of one closed UTC day, by eventTime, redacted, in one
record with deterministic bytes, that verifies like any other."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest

from aimsflow import settings
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.record import Producer, RunContext, write_record
from aimsflow.evidence.redact import MASK
from aimsflow.evidence.seal import Witness
from aimsflow.evidence.storage import LocalStorage
from aimsflow.evidence.verify import verify_store
from aimsflow.lineage.archive import (
    CHECK,
    CONF_MARKER,
    CONTROLS,
    EVENTS_FILE,
    SUMMARY_FILE,
    archive_day,
    exception_line,
)
from aimsflow.lineage.events import build_result_event
from aimsflow.lineage.transport import StagingFileConfig, StagingFileTransport
from aimsflow.periods import Period, parse_period
from aimsflow.results import JobError, JobResult, Status

UTC = dt.UTC
DAY = dt.date(2026, 11, 20)
NEXT = DAY + dt.timedelta(days=1)
AFTER = dt.datetime(2026, 12, 1, tzinfo=UTC)  # a clock long after both days
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
TRACE = """Traceback (most recent call last):
  File "/opt/airflow/include/aimsflow/prep/steps.py", line 88, in clean_batch
    engine = connect("postgresql://etl:{secret}@db:5432/loans")
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/opt/airflow/include/aimsflow/prep/steps.py", line 12, in connect
    raise ValueError(f"cannot reach {{url}}")
ValueError: cannot reach postgresql://etl:{secret}@db:5432/loans
"""


def event(
    when: str, run_id: str = "run-a", event_type: str = "COMPLETE", job: str = "d.t", **run_facets
) -> dict:
    return {
        "eventTime": when,
        "eventType": event_type,
        "job": {"namespace": "aimsflow", "name": job},
        "run": {"runId": run_id, "facets": run_facets},
        "inputs": [],
        "outputs": [],
        "producer": "https://aimsflow.dev/test",
        "schemaURL": SCHEMA,
    }


def write(folder: Path, name: str, *events: dict) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def lines(result: JobResult) -> list[dict]:
    body = result.files[EVENTS_FILE]
    assert isinstance(body, bytes)
    return [json.loads(line) for line in body.decode().splitlines()]


def summary_doc(result: JobResult) -> dict:
    body = result.files[SUMMARY_FILE]
    assert isinstance(body, bytes)
    return json.loads(body)


def archive(folder: Path, day: dt.date = DAY) -> JobResult:
    return archive_day(Period.day(day), events_dir=folder, now=AFTER)


def test_events_around_midnight_go_to_the_day_of_their_event_time(staging):
    # File names and mtimes say nothing: one file holds both days, another is named after neither.
    write(
        staging,
        "20261125T000000.000000Z-COMPLETE-x-0.json",
        event("2026-11-20T00:00:00Z", "first"),  # the very first instant of DAY
        event("2026-11-20T23:59:59.999999Z", "last"),  # the very last instant of DAY
        event("2026-11-21T00:00:00Z", "next"),  # exactly midnight: the new day
    )
    write(staging, "other.json", event("2026-11-21T00:30:00+01:00", "offset"))  # 23:30Z on DAY
    write(staging, "nanos.json", event("2026-11-20T23:59:59.999999999Z", "nanos"))  # a Java client's time
    day, following = archive(staging), archive(staging, NEXT)
    assert [e["run"]["runId"] for e in lines(day)] == ["first", "offset", "last", "nanos"]
    assert [e["run"]["runId"] for e in lines(following)] == ["next"]
    assert day.summary["first_event_time"] == "2026-11-20T00:00:00+00:00"
    assert day.summary["last_event_time"] == "2026-11-20T23:59:59.999999+00:00"
    assert (day.check, day.controls, day.status) == (CHECK, CONTROLS, Status.passed)
    assert day.summary["source_files"] == 3 and following.summary["source_files"] == 1
    # Every file that holds an event of the day is an input, with the SHA-256 of what was read.
    assert sorted(Path(r.uri).name for r in day.inputs) == sorted(
        ["20261125T000000.000000Z-COMPLETE-x-0.json", "nanos.json", "other.json"]
    )


def test_counts_by_job_event_type_and_the_last_state_of_each_run(staging):
    write(
        staging,
        "a.json",
        event("2026-11-20T10:00:00Z", "r1", "START", "prep.clean"),
        event("2026-11-20T10:01:00Z", "r1", "COMPLETE", "prep.clean"),
        event("2026-11-20T11:00:00Z", "r2", "START", "prep.ingest"),
        event("2026-11-20T11:05:00Z", "r2", "FAIL", "prep.ingest"),
        event("2026-11-20T23:59:00Z", "r3", "START", "prep.ingest"),  # ends the next day
    )
    s = archive(staging).summary
    assert s["events"] == 5 and s["runs"] == 3
    assert s["by_job"] == {"aimsflow/prep.clean": 2, "aimsflow/prep.ingest": 3}
    assert s["by_event_type"] == {"COMPLETE": 1, "FAIL": 1, "START": 3}
    assert s["runs_by_last_state"] == {"COMPLETE": 1, "FAIL": 1, "START": 1}


def test_no_secret_and_no_run_conf_value_reaches_any_record_file(staging, aims_env, monkeypatch):
    """Canaries in a run conf value, in a secret-named conf key, in the error message and in the stack
    trace (an environment secret and a password in a URL): none is in any file of the record."""
    env_secret = "canary-env-secret-9c1f"
    url_password = "canary-url-password-77ab"
    conf_value = "canary-conf-value-4410"
    monkeypatch.setenv("AIMSFLOW_WAREHOUSE_PASSWORD", env_secret)
    airflow_facet = {
        "dagRun": {
            "conf": {"applicant_note": conf_value, "api_key": env_secret, "nested": {"x": conf_value}}
        },
        "dag": {"dag_id": "data_preparation"},
    }
    failing = event(
        "2026-11-20T08:00:00Z",
        "r1",
        "FAIL",
        airflow=airflow_facet,
        airflowDagRun={"dagRun": {"conf": {"applicant_note": conf_value}}},
        errorMessage={
            "message": f"login with {env_secret} refused; postgresql://etl:{url_password}@db/loans",
            "programmingLanguage": "python",
            "stackTrace": TRACE.format(secret=url_password),
        },
    )
    write(staging, "f.json", failing)
    result = archive(staging)
    ctx = RunContext(Period.day(DAY), Producer.command_run("lineage-archive"), AFTER, AFTER)
    storage = LocalStorage(settings.evidence_root())
    ref = write_record(storage, result, ctx, Signer.from_settings())

    record = settings.evidence_root() / ref.key
    files = [p for p in record.rglob("*") if p.is_file()]
    assert {p.name for p in files} == {EVENTS_FILE, SUMMARY_FILE, "manifest.json", "manifest.dsse.json"}
    for path in files:
        text = path.read_text()
        for canary in (env_secret, url_password, conf_value):
            assert canary not in text, f"{canary} in {path.name}"
    (archived,) = lines(result)
    facets = archived["run"]["facets"]
    assert facets["airflow"]["dagRun"]["conf"] == {
        "applicant_note": CONF_MARKER,
        "api_key": CONF_MARKER,
        "nested": CONF_MARKER,
    }  # the keys say which options were set
    assert facets["airflowDagRun"]["dagRun"]["conf"] == {"applicant_note": CONF_MARKER}
    assert facets["errorMessage"]["message"] == f"login with {MASK} refused; postgresql://etl:{MASK}@db/loans"
    assert (
        facets["errorMessage"]["stackTrace"]
        == f"ValueError: cannot reach postgresql://etl:{MASK}@db:5432/loans"
    )
    assert result.summary["redactions"] == {
        "conf_values_withheld": 4,
        "secret_values_masked": 2,  # strings changed: the message, the trace (before trimming)
        "stack_traces_trimmed": 1,
    }


def test_a_secret_named_key_outside_conf_is_masked(staging):
    write(staging, "a.json", event("2026-11-20T08:00:00Z", custom={"token": "abcd-1234", "rows": 3}))
    (archived,) = lines(archive(staging))
    assert archived["run"]["facets"]["custom"] == {"token": MASK, "rows": 3}


@pytest.mark.parametrize(
    ("trace", "line"),
    [
        (TRACE.format(secret="x"), "ValueError: cannot reach postgresql://etl:x@db:5432/loans"),
        (  # chained: the last exception raised
            "Traceback (most recent call last):\n  File \"a.py\", line 1, in f\n    g()\nKeyError: 'k'\n\n"
            "During handling of the above exception, another exception occurred:\n\n"
            'Traceback (most recent call last):\n  File "a.py", line 3, in f\n    raise ValueError("v")\n'
            "ValueError: v\n",
            "ValueError: v",
        ),
        (  # a message over two lines: the exception line is its first
            'Traceback (most recent call last):\n  File "a.py", line 1, in f\n    h()\n'
            "RuntimeError: first line\nsecond line with detail\n",
            "RuntimeError: first line",
        ),
        (  # Java: the root cause
            "java.lang.IllegalStateException: outer\n\tat a.B.c(B.java:1)\n"
            "Caused by: java.io.IOException: disk\n\tat a.B.d(B.java:2)\n",
            "Caused by: java.io.IOException: disk",
        ),
        ("ValueError: no frames at all", "ValueError: no frames at all"),
        ("", ""),
    ],
)
def test_a_stack_trace_is_cut_to_its_exception_line(trace, line):
    assert exception_line(trace) == line


def test_unparseable_files_are_named_with_the_reason_and_make_a_warning(staging):
    write(staging, "good.json", event("2026-11-20T08:00:00Z", "good"))
    (staging / "broken.json").write_text('{"eventTime": "2026-11-20T09:00:00Z", "sche')
    (staging / "naive.json").write_text(json.dumps(event("2026-11-20T09:00:00", "naive")))
    (staging / "not-an-event.json").write_text(json.dumps({"hello": "world"}))
    (staging / "empty.json").write_text("")
    jsonl = staging / "appended.jsonl"  # JSON lines with one bad line: the good ones are archived
    jsonl.write_text(json.dumps(event("2026-11-20T10:00:00Z", "jl")) + "\n{oops\n")
    (staging / ".20261120T000000.000000Z-x.json.tmp").write_text("{")  # a write in progress: skipped
    result = archive(staging)
    assert result.status == Status.warning
    assert [e["run"]["runId"] for e in lines(result)] == ["good", "jl"]
    reasons = {u["file"]: u["reason"] for u in summary_doc(result)["unparseable"]}
    assert set(reasons) == {
        "appended.jsonl",
        "broken.json",
        "empty.json",
        "naive.json",
        "not-an-event.json",
    }
    assert reasons["broken.json"].startswith("not valid JSON")
    assert reasons["naive.json"] == "eventTime '2026-11-20T09:00:00' has no UTC offset"
    assert reasons["not-an-event.json"] == "eventTime None is not an ISO 8601 date-time"
    assert reasons["appended.jsonl"].startswith("line 2: not valid JSON")
    assert reasons["empty.json"] == "empty file"
    assert result.summary["unparseable_files"] == 5 and len(result.summary["unparseable"]) == 5
    assert "5 file(s) could not be parsed" in result.message


def test_a_day_without_events_is_a_warning_that_names_the_gap(staging, tmp_path):
    write(staging, "other-day.json", event("2026-11-19T12:00:00Z"))
    result = archive(staging)
    assert result.status == Status.warning and result.summary["events"] == 0
    assert result.files[EVENTS_FILE] == b"" and result.inputs == []
    assert f"no OpenLineage event of {DAY} in {staging}: a gap in the lineage log" in result.message
    missing = archive(tmp_path / "nowhere")
    assert missing.status == Status.warning and "(no such folder)" in missing.message


def test_an_open_or_future_day_and_a_longer_period_are_refused(staging):
    write(staging, "a.json", event("2026-11-20T08:00:00Z"))
    end_of_day = dt.datetime.combine(NEXT, dt.time(0), UTC)
    with pytest.raises(JobError, match=r"the UTC day 2026-11-20 has not ended") as info:
        archive_day(Period.day(DAY), events_dir=staging, now=end_of_day - dt.timedelta(microseconds=1))
    assert info.value.result is not None and info.value.result.check == CHECK
    with pytest.raises(JobError, match="has not ended"):
        archive_day(Period.day(DAY + dt.timedelta(days=30)), events_dir=staging, now=end_of_day)
    with pytest.raises(JobError, match="one UTC day at a time; got the period 2026-11"):
        archive_day(parse_period("2026-11"), events_dir=staging, now=AFTER)
    assert archive_day(Period.day(DAY), events_dir=staging, now=end_of_day).summary["events"] == 1  # closed


def test_a_folder_that_is_a_file_is_an_error(tmp_path):
    (tmp_path / "ol").write_text("x")
    with pytest.raises(JobError, match="is not a folder"):
        archive(tmp_path / "ol")


def test_the_same_events_give_the_same_bytes_whatever_the_files(staging, tmp_path):
    events = [
        event(f"2026-11-20T{h:02d}:00:00Z", f"run-{r}", t)
        for h in range(0, 24, 3)
        for r in "ba"
        for t in ("START", "COMPLETE")
    ]
    for n, e in enumerate(events):
        write(staging, f"{n:03d}.json", e)
    first = archive(staging)
    assert archive(staging).files == first.files  # a re-run: identical record files
    shuffled = tmp_path / "shuffled"
    order = events[:]
    random.Random(7).shuffle(order)
    write(shuffled, "all.jsonl", *order[:10])  # other files, other names, other order
    for n, e in enumerate(order[10:]):
        write(shuffled, f"z{n}.json", e)
    assert archive(shuffled).files[EVENTS_FILE] == first.files[EVENTS_FILE]
    ordered = [(e["eventTime"], e["run"]["runId"]) for e in lines(first)]
    assert ordered == sorted(ordered) and ordered[:2] == [("2026-11-20T00:00:00Z", "run-a")] * 2


def test_an_event_copied_into_two_files_is_archived_once(staging):
    e = event("2026-11-20T08:00:00Z")
    write(staging, "a.json", e)
    write(staging, "copy/a.json", e)
    result = archive(staging)
    assert len(lines(result)) == 1 and result.summary["duplicates_dropped"] == 1
    assert len(result.inputs) == 2  # both files were read: both are named


def test_the_record_of_real_client_events_verifies(staging, result, aims_env):
    """Events built by the OpenLineage client and written by the staging transport; two records of
    the same day (a re-run) hold the same events.jsonl and the store verifies."""
    transport = StagingFileTransport(StagingFileConfig(directory=staging))
    for n, status in enumerate([Status.passed, Status.warning, Status.failed]):
        result.status = status
        when = dt.datetime(2026, 11, 20, 6 + n, tzinfo=UTC)
        transport.emit(
            build_result_event(
                result,
                run_id=f"01937a3c-0000-7000-8000-00000000000{n}",
                job_name="data_preparation.clean",
                record_key=None,
                event_time=when,
            )
        )
    storage = LocalStorage(settings.evidence_root())
    keys = []
    for name in ("first", "rerun"):
        archived = archive(staging)
        ctx = RunContext(Period.day(DAY), Producer.command_run(name), AFTER, AFTER)
        keys.append(write_record(storage, archived, ctx, Signer.from_settings()).key)
    assert archived.status == Status.passed and archived.summary["events"] == 3
    assert archived.summary["by_event_type"] == {"COMPLETE": 2, "FAIL": 1}
    bodies = {(settings.evidence_root() / k / EVENTS_FILE).read_bytes() for k in keys}
    assert len(bodies) == 1 and len(set(keys)) == 2  # two records, one content
    report = verify_store(storage, TrustedKeys.load(), Witness())
    assert report.ok, report.problems
    manifest = json.loads((settings.evidence_root() / keys[0] / "manifest.json").read_text())["predicate"]
    assert manifest["check"] == CHECK and manifest["period"]["label"] == "2026-11-20"
    assert len(manifest["inputs"]) == 3 and all(i["uri"].startswith("file://") for i in manifest["inputs"])


def test_the_default_folder_is_the_one_retention_disposes_of(tmp_path, monkeypatch):
    root, staging_only = tmp_path / "root", tmp_path / "staging-only"
    write(root, "deep/down/a.json", event("2026-11-20T08:00:00Z", "in-root"))
    write(staging_only, "b.json", event("2026-11-20T08:00:00Z", "in-dir"))
    monkeypatch.setenv("AIMSFLOW_OPENLINEAGE_DIR", str(staging_only))
    monkeypatch.setenv("AIMSFLOW_OPENLINEAGE_ROOT", str(root))
    ids = [e["run"]["runId"] for e in lines(archive_day(Period.day(DAY), now=AFTER))]
    assert ids == ["in-root"]  # any depth below AIMSFLOW_OPENLINEAGE_ROOT
    monkeypatch.delenv("AIMSFLOW_OPENLINEAGE_ROOT")
    assert [e["run"]["runId"] for e in lines(archive_day(Period.day(DAY), now=AFTER))] == ["in-dir"]


def test_redactions_are_counted_once_per_archived_event(staging):
    e = event("2026-11-20T08:00:00Z", airflow={"dagRun": {"conf": {"a": 1, "b": 2}}})
    write(staging, "a.json", e)
    write(staging, "b.json", e)  # a copy: archived once, its redactions counted once
    assert archive(staging).summary["redactions"]["conf_values_withheld"] == 2
