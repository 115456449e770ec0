"""The compliance report job on signed records in a real (temporary) store: one computation, several
renderings (issue 13 point 7: the HTML and the JSON show the numbers the records give and
``Coverage.as_dict()`` gives), each section, the moment a report judges at, an empty store, a forged
record, the status rules and escaping."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from aimsflow.compliance.checks import REPORT
from aimsflow.compliance.coverage import compute_coverage
from aimsflow.compliance.crosswalk import load_crosswalk
from aimsflow.compliance.job import REPORT_JOB, report
from aimsflow.compliance.report import HTML_FILE, JSON_FILE, Sources, judged_at
from aimsflow.compliance.soa import load_soa
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.listing import load_verified, read_record_file
from aimsflow.evidence.record import Producer, RunContext, write_record
from aimsflow.jobs import Job
from aimsflow.periods import Period
from aimsflow.results import JobError, JobResult, Status
from aimsflow.risk.evidence import SNAPSHOT_FILE
from aimsflow.risk.job import REASSESS, reassess
from aimsflow.risk.nonconformity import current_nonconformities
from tests.compliance.conftest import config_with, ingested_then, small_soa, write_yaml

DQ = "data_quality/validate"
PROVENANCE = "data_provenance/version"
BIAS = "bias_assessment/assess"
MANUAL = "manual_evidence/document"
D = dt.date(2026, 11, 10)  # the report's day
NOW = dt.datetime(2026, 11, 11, 7, tzinfo=dt.UTC)  # the scheduled run: 07:00 the day after
PERIOD = Period.day(D)

SOA = small_soa(
    A_7_4={"applicable": True, "justification": "data quality", "checks": [DQ], "max_age_days": 7},
    A_6_2_6={"applicable": True, "justification": "monitoring", "checks": [DQ], "max_age_days": 3},
    A_7_5={
        "applicable": True,
        "justification": "provenance",
        "checks": [{"check": PROVENANCE, "max_age_days": 3}],
        "max_age_days": 7,
    },
    A_2_2={"applicable": True, "justification": "policy", "manual": True, "max_age_days": 365},
    **{
        "7.5.3": {
            "applicable": True,
            "justification": "records",
            "checks": ["evidence_seal/verify"],
            "max_age_days": 2,
        }
    },
)
CROSSWALK = {
    "version": 1,
    "sources": {"own": {"kind": "own_judgement", "title": "own judgement"}},
    "frameworks": {
        "eu_ai_act": {
            "title": "EU AI Act",
            "items": {"Art. 10": "Data and data governance", "Art. 12": "Record-keeping"},
        },
    },
    "mappings": {
        "A.7.4": [{"framework": "eu_ai_act", "items": ["Art. 10"], "source": "own"}],
        "A.7.5": [{"framework": "eu_ai_act", "items": ["Art. 10"], "source": "own"}],
        "7.5.3": [{"framework": "eu_ai_act", "items": ["Art. 12"], "source": "own"}],
    },
}


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def ended(day: dt.date, hours: int = 2) -> dt.datetime:
    """A daily job's record of ``day``, written the day after."""
    return day_start(day) + dt.timedelta(days=1, hours=hours)


@pytest.fixture
def config(tmp_path) -> Path:
    return config_with(tmp_path / "config", soa=SOA, crosswalk=CROSSWALK)


def dq(write, day: dt.date, status: Status = Status.passed, **kw):
    return write(DQ, day, status, controls=("A.7.4", "A.6.2.6"), ended_at=ended(day), **kw)


def write_result(store, job: Job, result: JobResult, period: Period, at: dt.datetime):
    """A job's result as ``glue.run_job`` writes it (a scheduled task try run at ``at``)."""
    job.stamp(result)
    producer = Producer(
        kind="task",
        dag_id=job.dag_id,
        run_id=f"scheduled__{at.isoformat()}",
        task_id=job.name,
        try_number=1,
        max_tries=2,
        run_type="scheduled",
        run_after=at.isoformat(),
    )
    return write_record(store, result, RunContext(period, producer, at, at), Signer.from_settings())


@pytest.fixture
def known(write, store, config):
    """The known records (see the expectations below): returns the keys by name."""
    keys = {
        "dq_pass": dq(write, D - dt.timedelta(days=3)).key,
        "dq_fail": dq(write, D, Status.failed).key,
        "provenance": write(
            PROVENANCE,
            D - dt.timedelta(days=5),
            controls=("A.7.5",),
            dag_id="data_provenance",
            task_id="version",
            ended_at=ended(D - dt.timedelta(days=5)),
        ).key,
        "policy": ingested_then(
            write,
            D - dt.timedelta(days=30),
            D + dt.timedelta(days=334),
            review_date=D + dt.timedelta(days=100),
        ).key,
        # an old failure: a nonconformity 40 days old at the report, on an excluded control
        "bias_fail": write(
            BIAS,
            D - dt.timedelta(days=40),
            Status.failed,
            dataset="loan_training_set",
            controls=("A.5.4",),
            dag_id="bias_assessment",
            task_id="assess",
            ended_at=ended(D - dt.timedelta(days=40)),
        ).key,
    }
    # the month's reassessment, run for real on these records with the shipped register
    period = Period.days(D - dt.timedelta(days=9), D)
    result = reassess(period, storage=store, config_dir=config, now=ended(D, 5))
    keys["reassessment"] = write_result(store, REASSESS, result, period, ended(D, 5)).key
    return keys


# What the records above give at NOW (today is D+1): the expectations a person derives by hand.
EXPECTED_CONTROLS = {
    # latest verdict: the failure of D; last pass D-3 is 4 days old, max 7: fresh (the failure is a gap)
    "A.7.4": {"freshness": "fresh", "verdict": "failed", "age_days": 4, "max_age_days": 7},
    # the same records, max 3: stale
    "A.6.2.6": {"freshness": "stale", "verdict": "failed", "age_days": 4, "max_age_days": 3},
    # provenance of D-5 is 6 days old, its requirement allows 3
    "A.7.5": {"freshness": "stale", "verdict": "passed", "age_days": 6, "max_age_days": 3},
    # the policy took effect 31 days ago, reviewed by D+100
    "A.2.2": {"freshness": "fresh", "verdict": "passed", "age_days": 31, "max_age_days": 365},
    # no verify record at all
    "7.5.3": {"freshness": "missing", "verdict": None, "age_days": None, "max_age_days": 2},
}
EXPECTED_SUMMARY = {"applicable": 4, "fresh": 2, "stale": 2, "missing": 0, "failing": 2}


def run_report(store, config, period: Period = PERIOD, now: dt.datetime = NOW, write: bool = True):
    """Run the job; with ``write``, store its result as the DAG would. Returns (result, doc, html)."""
    result = REPORT_JOB(period, storage=store, config_dir=config, now=now)
    if not write:
        return result, json.loads(result.files[JSON_FILE]), result.files[HTML_FILE].decode()
    ref = write_result(store, REPORT_JOB, result, period, now + dt.timedelta(minutes=1))
    loaded = load_verified(store, TrustedKeys.load())
    predicate = loaded.predicates[ref.key]
    doc = json.loads(read_record_file(store, ref.key, JSON_FILE, predicate))
    page = read_record_file(store, ref.key, HTML_FILE, predicate).decode()
    return result, doc, page


# --- reading the renderings back ----------------------------------------------------------------


class Tables(HTMLParser):
    """Every table of a page as rows of cell texts, under the id of the ``h2`` it follows; nested
    tables are tables of their own (their text stays out of the enclosing cell)."""

    def __init__(self) -> None:
        super().__init__()
        self.section = ""
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.stack: list[list[list[str]]] = []
        self.cell: list[list[str]] = []
        self.tiles: dict[str, str] = {}
        self._tile: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "h2":
            self.section = a.get("id") or ""
        elif tag == "table":
            self.stack.append([])
            self.tables.append((self.section, self.stack[-1]))
        elif tag == "tr" and self.stack:
            self.stack[-1].append([])
        elif tag in ("td", "th") and self.stack:
            self.cell.append([])
        elif tag == "div" and "tile" in (a.get("class") or "").split():
            self._tile = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.stack.pop()
        elif tag in ("td", "th") and self.cell:
            text = " ".join(" ".join(self.cell.pop()).split())
            self.stack[-1][-1].append(text)
        elif tag == "div" and self._tile is not None and len(self._tile) >= 2:
            self.tiles[self._tile[1]] = self._tile[0]
            self._tile = None

    def handle_data(self, data: str) -> None:
        if self.cell:
            self.cell[-1].append(data)
        if self._tile is not None and data.strip():
            self._tile.append(" ".join(data.split()))

    def section_rows(self, section: str) -> list[list[str]]:
        (rows,) = [rows for s, rows in self.tables if s == section and rows and rows[0][0] == "Control"]
        return rows[1:]


def numbers_from_coverage_dict(cov: dict[str, Any]) -> dict[str, Any]:
    """The numbers point 7 compares, from ``Coverage.as_dict()`` (and anything that prints it)."""

    def cadence(c: dict[str, Any]) -> int:
        """The cadence the row's age is held against: its deciding requirement's (the oldest of the
        worst freshness; a requirement may set its own), as ``ControlCoverage.deciding``."""
        worst = [e for e in c["evidence"] if e["freshness"] == c["freshness"]]
        return max(worst, key=lambda e: -1 if e["age_days"] is None else e["age_days"])["max_age_days"]

    controls = {
        c["id"]: {
            "freshness": c["freshness"],
            "verdict": (c["verdict"] or {}).get("status"),
            "age_days": c["age_days"],
            "max_age_days": cadence(c),
            "nonconformities": sorted(n["id"] for n in c["nonconformities"]),
        }
        for c in cov["controls"]
        if c["applicable"]
    }
    summary = {k: cov["summary"][k] for k in EXPECTED_SUMMARY}
    return {"controls": controls, "summary": summary}


def numbers_from_json(doc: dict[str, Any], page: str) -> dict[str, Any]:
    return numbers_from_coverage_dict(doc["coverage"])


def numbers_from_html(doc: dict[str, Any], page: str) -> dict[str, Any]:
    """What a person reads on the page: the ISO/IEC 42001 table and the tiles at the top."""
    parsed = Tables()
    parsed.feed(page)
    controls = {}
    for cells in parsed.section_rows("fw-iso42001"):
        if cells[2] != "yes":  # an excluded row: its justification spans the other columns
            continue
        cid, _, _, _, verdict, freshness, age, ncs = cells[:8]
        days, max_days = re.fullmatch(r"(\S+) / (\d+) d", age).groups()
        controls[cid] = {
            "freshness": "missing" if freshness == "no evidence" else freshness,
            "verdict": None if verdict == "—" else verdict.split()[0],
            "age_days": None if days == "—" else int(days),
            "max_age_days": int(max_days),
            "nonconformities": sorted(n for n in ncs.split(", ") if n != "—"),
        }
    fresh, applicable = parsed.tiles["Annex A controls evidenced and fresh"].split(" / ")
    summary = {
        "applicable": int(applicable),
        "fresh": int(fresh),
        "stale": int(parsed.tiles["stale"]),
        "missing": int(parsed.tiles["without evidence"]),
        "failing": int(parsed.tiles["failing latest verdict"]),
    }
    return {"controls": controls, "summary": summary}


#: Every rendering of the one computation, read back into the same shape. One more rendering (the
#: CLI's `aimsflow soa --json`, the UI's page) is one more line here.
RENDERINGS: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "report.json": numbers_from_json,
    "report.html": numbers_from_html,
}


@pytest.mark.parametrize("rendering", sorted(RENDERINGS))
def test_every_rendering_shows_the_numbers_of_the_records_and_of_coverage(
    rendering, known, store, config, write
):
    """Issue 13 point 7: the report's JSON and HTML show, per applicable control, the freshness,
    latest verdict, age, cadence and open nonconformities the records give (derived by hand above),
    and the same as ``Coverage.as_dict()`` of the one computation at the report's moment."""
    _, doc, page = run_report(store, config)
    shown = RENDERINGS[rendering](doc, page)

    ledger, _, _ = current_nonconformities(store)
    (dq_nc,) = [nc.id for nc in ledger if nc.cause.check == DQ]
    expected = {
        "controls": {
            cid: {**row, "nonconformities": [dq_nc] if cid in ("A.7.4", "A.6.2.6") else []}
            for cid, row in EXPECTED_CONTROLS.items()
        },
        "summary": EXPECTED_SUMMARY,
    }
    assert shown == expected

    loaded = load_verified(store, TrustedKeys.load(), now=NOW)
    soa, crosswalk = load_soa(config), load_crosswalk(config)
    live = compute_coverage(loaded, soa, crosswalk, ledger, NOW)  # what `aimsflow soa` computes at NOW
    assert shown == numbers_from_coverage_dict(live.as_dict())


def test_the_json_holds_the_one_computation_verbatim(known, store, config):
    _, doc, _ = run_report(store, config)
    loaded = load_verified(store, TrustedKeys.load())
    sources = Sources(
        loaded, load_soa(config), load_crosswalk(config), tuple(current_nonconformities(store)[0]), NOW
    )
    expected = json.loads(json.dumps(sources.coverage_until(Period.day(D).end).as_dict()))
    # the report's own record is in the store now; it is about D and names no control of the SoA
    assert doc["coverage"] == expected
    assert doc["summary"]["counts"] == doc["coverage"]["summary"]


def test_management_review_input(known, store, config):
    """Open nonconformities by age, risks above appetite from the reassessment's snapshot, stale and
    missing controls: each against the records."""
    result, doc, page = run_report(store, config)
    review = doc["management_review"]
    ncs = {n["check"]: n for n in review["open_nonconformities"]}
    assert set(ncs) == {DQ, BIAS}
    assert (ncs[DQ]["age_days"], ncs[DQ]["age_bucket"], ncs[DQ]["controls"]) == (
        0,
        "up to 7 days",
        ["A.6.2.6", "A.7.4"],
    )
    # the failure of D-40 ran on D-39 at 01:00: 40 days before D+1
    assert (ncs[BIAS]["age_days"], ncs[BIAS]["age_bucket"], ncs[BIAS]["controls"]) == (
        40,
        "31 to 90 days",
        ["A.5.4"],
    )
    assert review["by_age"] == {"up to 7 days": 1, "8 to 30 days": 0, "31 to 90 days": 1, "over 90 days": 0}
    assert review["stale_controls"] == ["A.6.2.6", "A.7.5"]
    assert review["missing_controls"] == ["7.5.3"]
    assert review["failing_controls"] == ["A.6.2.6", "A.7.4"]

    loaded = load_verified(store, TrustedKeys.load())
    snapshot = json.loads(
        read_record_file(
            store, known["reassessment"], SNAPSHOT_FILE, loaded.predicates[known["reassessment"]]
        )
    )
    risks = review["risks"]
    assert risks["record"] == known["reassessment"]
    assert [(r["id"], r["current"]) for r in risks["risks"]] == [
        (r["id"], {"score": r["current"]["score"], "level": r["current"]["level"]}) for r in snapshot["risks"]
    ]
    above = [r for r in snapshot["risks"] if r["above_appetite"]]
    assert above, "the shipped register scores some risk above appetite on these records"
    assert sorted(risks["above_appetite"]) == sorted(r["id"] for r in above)
    assert risks["by_level"] == {
        name: sum(r["current"]["level"] == name for r in snapshot["risks"])
        for name in snapshot["methodology"]["levels"]
    }
    # ... and in words, at the top of the page
    text = html.unescape(page)
    assert "2 open nonconformities, the oldest 40 days old, 1 older than 30 days." in text
    assert "2 stale: A.6.2.6 (4 days, max 3); A.7.5 (6 days, max 3)." in text
    for r in above:
        assert f"{r['id']} ({r['current']['score']}, {r['current']['level']}" in text
    assert result.status == Status.warning


def test_changes_since_the_previous_report(known, store, config):
    """The report of D compares with the report of D-1: a verdict that turned failed, a control that
    went stale, a nonconformity opened; a re-run of D compares with the same report again."""
    first, doc1, _ = run_report(
        store, config, Period.day(D - dt.timedelta(days=1)), NOW - dt.timedelta(days=1)
    )
    assert doc1["management_review"]["changes"]["previous_report"] is None
    # at D 07:00 the failure of D was not written yet: A.7.4 and A.6.2.6 fresh and passing
    assert {c["id"]: c["freshness"] for c in doc1["coverage"]["controls"]}["A.6.2.6"] == "fresh"

    _, doc2, page = run_report(store, config)
    changes = doc2["management_review"]["changes"]
    assert changes["previous_period"] == (D - dt.timedelta(days=1)).isoformat()
    assert {c["id"]: (c["from"], c["to"]) for c in changes["controls"]} == {
        "A.7.4": ({"freshness": "fresh", "verdict": "passed"}, {"freshness": "fresh", "verdict": "failed"}),
        "A.6.2.6": ({"freshness": "fresh", "verdict": "passed"}, {"freshness": "stale", "verdict": "failed"}),
    }
    ledger, _, _ = current_nonconformities(store)
    assert changes["nonconformities_opened"] == [nc.id for nc in ledger if nc.cause.check == DQ]
    assert changes["nonconformities_closed"] == []
    assert "Since the report of 2026-11-09: 2 controls changed" in html.unescape(page)

    _, rerun, _ = run_report(store, config, now=NOW + dt.timedelta(hours=1))
    assert rerun["management_review"]["changes"]["previous_report"] == changes["previous_report"]


def test_trend_is_the_one_computation_day_by_day(known, store, config):
    """Each day's point is compute_coverage for a report of that day; the last one is the report's
    own numbers; the per-DAG share of passing verdicts counts each day's current verdicts."""
    _, doc, _ = run_report(store, config, write=False)
    trend = doc["trend"]
    # evidence starts with the bias failure of D-40: the trend shows the last 30 days
    assert trend["days"][0] == (D - dt.timedelta(days=29)).isoformat() and trend["days"][-1] == D.isoformat()
    loaded = load_verified(store, TrustedKeys.load())
    sources = Sources(
        loaded, load_soa(config), load_crosswalk(config), tuple(current_nonconformities(store)[0]), NOW
    )
    for point in trend["coverage"]:
        day = dt.date.fromisoformat(point["day"])
        cov = sources.coverage_until(Period.day(day).end)
        assert {k: point[k] for k in cov.summary()} == cov.summary(), day
        assert point["as_of"] == judged_at(Period.day(day).end, NOW).isoformat()
    assert {k: trend["coverage"][-1][k] for k in EXPECTED_SUMMARY} == EXPECTED_SUMMARY
    # the day before: the failure of D not yet there, A.6.2.6 3 days old (max 3), A.7.5 5 (max 3)
    before = trend["coverage"][-2]
    assert (before["fresh"], before["stale"], before["failing"]) == (3, 1, 0)
    dq_share = dict(zip(trend["days"], trend["passing_share"]["data_quality"], strict=True))
    assert dq_share[D.isoformat()] == {"passing": 0, "total": 1, "share": 0.0}
    assert dq_share[(D - dt.timedelta(days=3)).isoformat()] == {"passing": 1, "total": 1, "share": 1.0}
    assert dq_share[(D - dt.timedelta(days=1)).isoformat()] == {"passing": 0, "total": 0, "share": None}


def test_run_history_counts_the_records_about_the_period(known, store, config, write):
    """Per DAG: current verdicts by status, superseded tries, runs; a record whose period ends in the
    period counts (the reassessment D-9..D), one whose period ends later does not."""
    dq(write, D, Status.failed, try_number=1, run_id="retried")  # superseded by its second try
    dq(write, D, Status.passed, try_number=2, run_id="retried")
    _, doc, _ = run_report(store, config, write=False)
    history = {h["dag_id"]: h for h in doc["run_history"]}
    assert set(history) == {"data_quality", "risk_reassessment"}
    assert history["data_quality"]["by_status"] == {"passed": 1, "warning": 0, "failed": 0, "error": 0}
    assert history["data_quality"]["superseded"] == 2 and history["data_quality"]["runs"] == 2
    assert history["data_quality"]["latest_run"]["run_id"] == "retried"
    assert history["risk_reassessment"]["verdicts"] == 1


def test_period_boundary(known, store, config, write):
    """A record about the day after the period is not counted, even when it exists when the report
    runs; a report of a past day judges at the end of the day after it, with that day's records."""
    dq(write, D + dt.timedelta(days=1), Status.passed)  # about D+1, written D+2 02:00
    later = NOW + dt.timedelta(days=5)
    _, doc, _ = run_report(store, config, now=later, write=False)
    assert doc["as_of"] == (day_start(D) + dt.timedelta(days=2, microseconds=-1)).isoformat()
    assert doc["known_at"] == later.isoformat()
    rows = {c["id"]: c for c in doc["coverage"]["controls"]}
    assert rows["A.7.4"]["verdict"]["status"] == "failed"  # the pass of D+1 is not this report's
    assert rows["A.7.4"]["age_days"] == 4  # judged on D+1, as the scheduled report was
    assert numbers_from_json(doc, "")["summary"] == EXPECTED_SUMMARY
    # run at 07:00 the day after: judged at its run time
    _, doc, _ = run_report(store, config, write=False)
    assert doc["as_of"] == NOW.isoformat()


def test_an_empty_store_still_renders_and_says_there_is_no_evidence(store, config):
    result, doc, page = run_report(store, config, write=False)
    assert result.status == Status.warning
    assert doc["summary"]["records_read"] == 0
    assert doc["summary"]["text"][0].startswith("No verified evidence in the store yet")
    text = html.unescape(page)
    assert "No verified evidence in the store yet: none of the 4 applicable Annex A controls" in text
    assert "No reassessment of the risk register" in text and "No verified record about 2026-11-10" in text
    assert numbers_from_html(doc, page)["summary"] == {
        "applicable": 4,
        "fresh": 0,
        "stale": 0,
        "missing": 4,
        "failing": 0,
    }


def test_a_forged_record_is_not_counted_and_is_named_as_untrusted(known, store, config, write, forger):
    """A record signed with an insider's key that claims a pass of 7.5.3 neither counts nor stays
    silent: the report names it and is failed."""
    forged = write(
        "evidence_seal/verify",
        D,
        controls=("7.5.3",),
        dataset=None,
        dag_id="evidence_seal",
        task_id="verify",
        signer=forger,
        ended_at=ended(D),
    ).key
    result, doc, page = run_report(store, config, write=False)
    assert result.status == Status.failed
    assert [u["record"] for u in doc["coverage"]["untrusted_records"]] == [forged]
    assert numbers_from_json(doc, page) == numbers_from_html(doc, page)
    assert {c["id"]: c["freshness"] for c in doc["coverage"]["controls"]}["7.5.3"] == "missing"
    assert doc["summary"]["text"][0].startswith("1 record folder of the store do not verify")
    parsed = Tables()
    parsed.feed(page)
    (rows,) = [rows for section, rows in parsed.tables if section == "untrusted"]
    assert rows[1][0] == forged and "signature" in rows[1][1]
    assert result.summary["untrusted_records"][0]["record"] == forged


def test_passed_when_every_applicable_control_is_fresh_and_passing(store, config, write):
    only = small_soa(A_7_4={"applicable": True, "justification": "dq", "checks": [DQ], "max_age_days": 7})
    write_yaml(config, "soa.yaml", only)
    dq(write, D)
    result, doc, _ = run_report(store, config, write=False)
    assert result.status == Status.passed, doc["status_reasons"]
    assert doc["status_reasons"] == [] and result.controls == REPORT.controls


def test_a_broken_soa_is_an_error_naming_the_file(store, config):
    (config / "soa.yaml").write_text("version: 1\ncontrols: {A.99: {applicable: true}}\n")
    with pytest.raises(JobError, match="soa.yaml") as caught:
        report(Period.day(D), storage=store, config_dir=config, now=NOW)
    assert caught.value.result.specs  # the error record pins the file it could not use


def test_everything_on_the_page_is_escaped_and_nothing_loads_from_a_network(store, config, known):
    """A scope and a justification from config with markup stay text; the page has no script, no
    external reference."""
    soa = dict(SOA, scope="<script>alert(1)</script> & co")
    soa["controls"] = dict(SOA["controls"])
    soa["controls"]["A.10.4"] = {"applicable": False, "justification": '<img src="https://x.example/t.png">'}
    write_yaml(config, "soa.yaml", soa)
    _, _, page = run_report(store, config, write=False)
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "&lt;img src=&#34;https://x.example/t.png&#34;&gt;" in page
    external = re.findall(r'(?:src|href)="([^"#][^"]*)"', page)
    assert external == []
    assert re.findall(r"https?://[^\s\"'<]+", page.replace("https://x.example/t.png", "")) == [
        "http://www.w3.org/2000/svg"
    ] * page.count("<svg")


def test_a_period_still_running_trends_up_to_today_and_a_future_one_is_refused(known, store, config):
    """On demand for the month while it runs: judged now, the trend stops today (no repeated future
    days); a period that has not begun is bad input, an error naming the Param."""
    month = Period.days(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    _, doc, _ = run_report(store, config, month, write=False)
    assert doc["as_of"] == NOW.isoformat()
    assert doc["trend"]["days"][-1] == (D + dt.timedelta(days=1)).isoformat()
    assert doc["trend"]["days"][0] == "2026-10-13"  # at least 30 days (evidence began earlier)
    with pytest.raises(JobError, match="Param 'period': 2026-12 starts at 2026-12-01"):
        report(
            Period.days(dt.date(2026, 12, 1), dt.date(2026, 12, 31)),
            storage=store,
            config_dir=config,
            now=NOW,
        )


def test_a_nonconformity_closed_since_the_previous_report_is_named_with_who_closed_it(
    known, store, config, write
):
    run_report(store, config, Period.day(D - dt.timedelta(days=1)), NOW - dt.timedelta(days=1))
    (bias,) = [nc for nc in current_nonconformities(store)[0] if nc.cause.check == BIAS]
    closure = write(
        "nonconformity_close/close",
        D,
        dataset=None,
        ai_system=None,
        controls=("10.2",),
        dag_id="nonconformity_close",
        task_id="close",
        user="alice@example.com",
        summary={
            "nonconformity": bias.id,
            "root_cause": "a group below the minimum size",
            "corrective_action": "policy corrected",
            "evidence_of_pass": known["dq_pass"],
        },
        ended_at=ended(D, 4),
    ).key
    result, doc, page = run_report(store, config)
    changes = doc["management_review"]["changes"]
    assert changes["nonconformities_closed"] == [
        {
            "id": bias.id,
            "closed_at": ended(D, 4).isoformat(),
            "closed_by": "alice@example.com",
            "record": closure,
        }
    ]
    assert [n["check"] for n in doc["management_review"]["open_nonconformities"]] == [DQ]
    assert f"closed {bias.id}" in html.unescape(page) and "by alice@example.com" in html.unescape(page)


def test_the_cli_and_the_ui_show_the_numbers_of_the_report(known, store, config, capsys, monkeypatch):
    """Issue 13 point 7, across renderers: `aimsflow soa --json` and the UI's Compliance page, judged
    at the report's moment, show what the report shows (and what the records give, derived by hand
    in EXPECTED_CONTROLS): the same freshness, verdicts, ages, cadences, nonconformities and counts."""
    from aimsflow.cli import main
    from aimsflow.ui import pages, views

    _, doc, page = run_report(store, config)
    report = numbers_from_json(doc, page)
    assert report == numbers_from_html(doc, page)

    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(config))
    capsys.readouterr()
    code = main(["soa", "--json", "--as-of", NOW.isoformat()])
    cli = numbers_from_coverage_dict(json.loads(capsys.readouterr().out))
    assert code == 1  # gaps: stale and failing controls
    assert cli == report

    evidence = views.read_evidence(now=NOW)
    view = views.coverage_view(evidence)
    html = pages.compliance_page(evidence, views.overview(evidence), view)
    rows = dict(re.findall(r'<tr data-control="([^"]+)" data-freshness="(\w+)">', html))
    assert {c: rows[c] for c in report["controls"]} == {
        c: row["freshness"] for c, row in report["controls"].items()
    }
    shown = {k: int(v) for k, v in re.findall(r'data-coverage="(\w+)">(\d+)<', html)}
    assert {k: shown[k] for k in ("fresh", "stale", "missing", "failing")} == {
        k: report["summary"][k] for k in ("fresh", "stale", "missing", "failing")
    }
    for cid, row in EXPECTED_CONTROLS.items():
        if cid in report["controls"]:
            assert {k: report["controls"][cid][k] for k in row} == row
