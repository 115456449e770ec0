"""``aimsflow oscal export``: the five OSCAL documents load with compliance-trestle's models (and its
validators), link up (AR -> AP -> SSP -> profile -> catalog), say what Coverage says, carry the
manifests' hashes, leave out what does not verify or lies outside the period, and re-export the same."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from aimsflow import settings
from aimsflow.audit import oscal
from aimsflow.cli import main
from aimsflow.compliance.coverage import Freshness, load_coverage
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.periods import Period, parse_period
from aimsflow.results import Status
from tests.compliance.conftest import config_with, small_soa

DQ = "data_quality/validate"
BIAS = "bias_assessment/assess"
MANUAL = "manual_evidence/document"
D = dt.date(2026, 10, 10)
PERIOD = "2026-10"
AS_OF = dt.datetime(2026, 10, 11, 12, tzinfo=dt.UTC)

SOA = small_soa(
    A_7_4={"applicable": True, "justification": "data", "checks": [DQ], "max_age_days": 7},
    A_5_4={"applicable": True, "justification": "fairness", "checks": [BIAS], "max_age_days": 7},
    A_6_2_6={
        "applicable": True,
        "justification": "monitoring",
        "implementation": "Daily drift checks of operational data.",
        "checks": [DQ],
        "max_age_days": 2,
    },
    A_2_2={"applicable": True, "justification": "policy", "manual": True, "max_age_days": 365},
    A_5_3={"applicable": True, "justification": "impact", "manual": True, "max_age_days": 365},
)
REVIEWED = ["A.2.2", "A.5.3", "A.5.4", "A.6.2.6", "A.7.4"]
MODELS = {
    "assessment-results": ("trestle.oscal.assessment_results", "AssessmentResults"),
    "assessment-plan": ("trestle.oscal.assessment_plan", "AssessmentPlan"),
    "system-security-plan": ("trestle.oscal.ssp", "SystemSecurityPlan"),
    "profile": ("trestle.oscal.profile", "Profile"),
    "catalog": ("trestle.oscal.catalog", "Catalog"),
}


def ended(day: dt.date, hours: int = 2) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(days=1, hours=hours)


def document(write, valid_from, valid_to, review_date, controls, title):
    return write(
        MANUAL,
        valid_from,
        Status.passed,
        dataset=None,
        ai_system=None,
        controls=controls,
        dag_id="manual_evidence",
        task_id="ingest",
        period=Period.days(valid_from, valid_to),
        summary={
            "title": title,
            "owner": "aims-manager@example.com",
            "document": f"{title.lower().replace(' ', '-')}.pdf",
            "document_sha256": "ab" * 32,
            "review_date": review_date.isoformat(),
        },
        ended_at=ended(valid_from),
    )


@pytest.fixture
def config(tmp_path, monkeypatch):
    folder = config_with(tmp_path / "config", soa=SOA)
    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def records(config, write):
    """A control that passes (A.7.4), one that failed (A.5.4), one whose evidence is stale (A.6.2.6),
    one evidenced by a current document (A.2.2) and one by a document past its review date (A.5.3)."""
    return {
        "passed": write(DQ, D, controls=("A.7.4",), ended_at=ended(D)),
        "failed": write(BIAS, D, Status.failed, controls=("A.5.4",), ended_at=ended(D)),
        "stale": write(DQ, D - dt.timedelta(days=5), controls=("A.6.2.6",), ended_at=ended(D, -90)),
        "policy": document(
            write, dt.date(2026, 1, 1), dt.date(2026, 12, 31), dt.date(2026, 12, 1), ("A.2.2",), "AI policy"
        ),
        "impact": document(
            write,
            dt.date(2026, 2, 1),
            dt.date(2026, 12, 31),
            dt.date(2026, 10, 1),
            ("A.5.3",),
            "Impact assessment",
        ),
    }


def export(store, out: Path, period: str = PERIOD, as_of: dt.datetime = AS_OF):
    return oscal.export_oscal(store, TrustedKeys.load(), parse_period(period), out, as_of=as_of)


def load(out: Path) -> dict[str, dict]:
    """Every document of the export by role, as JSON."""
    paths = {"assessment-results": out} | {r: out.parent / n for r, n in oscal.SUPPORT_FILES.items()}
    return {role: json.loads(path.read_text())[role] for role, path in paths.items()}


def results(out: Path) -> dict:
    return load(out)["assessment-results"]["results"][0]


def by_label(items: list[dict], name: str = "control") -> dict[str, dict]:
    return {next(p["value"] for p in item["props"] if p["name"] == name): item for item in items}


# --- trestle loads every document; the chain links ------------------------------------------------


def test_every_document_loads_with_trestles_models_and_passes_its_validators(
    store, records, tmp_path, monkeypatch
):
    import importlib

    import trestle.core.validator_factory as factory

    out = tmp_path / "oscal" / "ar.json"
    export(store, out)
    paths = {"assessment-results": out} | {r: out.parent / n for r, n in oscal.SUPPORT_FILES.items()}
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(p.name for p in paths.values())
    monkeypatch.chdir(out.parent)  # trestle resolves a relative href against the working folder
    (out.parent / ".trestle").mkdir()  # a trestle workspace (the rules validator resolves the profile)
    for role, (module, name) in MODELS.items():
        model = getattr(importlib.import_module(module), name)
        loaded = model.oscal_read(paths[role])
        assert loaded is not None and loaded.metadata.oscal_version.root.root == oscal.OSCAL_VERSION
        # also from the dict, as trestle's model_validate (parse_obj) reads it
        model.model_validate(json.loads(paths[role].read_text())[role])
        validator = factory.validator_factory.get(argparse.Namespace(mode="all"))
        assert validator.model_is_valid(loaded, True, out.parent), (role, validator.error_msg())


def test_the_documents_import_each_other_down_to_the_catalog(store, records, tmp_path, monkeypatch):
    from trestle.core.profile_resolver import ProfileResolver

    out = tmp_path / "ar.json"
    export(store, out)
    docs = load(out)
    assert docs["assessment-results"]["import-ap"]["href"] == oscal.AP_FILE
    assert docs["assessment-plan"]["import-ssp"]["href"] == oscal.SSP_FILE
    assert docs["system-security-plan"]["import-profile"]["href"] == oscal.PROFILE_FILE
    assert [i["href"] for i in docs["profile"]["imports"]] == [oscal.CATALOG_FILE]
    # The profile resolved against the catalog gives exactly the SoA's applicable controls.
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".trestle").mkdir()
    resolved = ProfileResolver.get_resolved_profile_catalog(tmp_path, tmp_path / oscal.PROFILE_FILE)
    controls = [c for g in resolved.groups or [] for c in _controls(g)]
    assert sorted(oscal.control_of(c.id) for c in controls) == REVIEWED
    # Every control the SSP implements and every id the plan and results review is in the catalog.
    catalog_ids = {c["id"] for g in docs["catalog"]["groups"] for c in _controls_json(g)}
    assert len(catalog_ids) == 38
    implemented = [
        r["control-id"]
        for r in docs["system-security-plan"]["control-implementation"]["implemented-requirements"]
    ]
    reviewed = [
        [
            s["control-id"]
            for s in docs[role]["reviewed-controls"]["control-selections"][0]["include-controls"]
        ]
        for role in ("assessment-plan",)
    ] + [
        [
            s["control-id"]
            for s in results(out)["reviewed-controls"]["control-selections"][0]["include-controls"]
        ]
    ]
    for ids in [implemented, *reviewed]:
        assert sorted(map(oscal.control_of, ids)) == REVIEWED and set(ids) <= catalog_ids


def _controls(group):
    for sub in getattr(group, "groups", None) or []:
        yield from _controls(sub)
    yield from group.controls or []


def _controls_json(group):
    for sub in group.get("groups", []):
        yield from _controls_json(sub)
    yield from group.get("controls", [])


def test_control_ids_are_tokens_that_keep_the_original_as_label(tmp_path):
    from aimsflow.evidence.controls import ANNEX_A

    doc = oscal.catalog(oscal.Ids("test"), dt.datetime(2026, 1, 1, tzinfo=dt.UTC))["catalog"]
    controls = {c["id"]: c for g in doc["groups"] for c in _controls_json(g)}
    assert set(controls) == {c.lower() for c in ANNEX_A}
    assert controls["a.10.2"]["props"][0] == {"name": "label", "value": "A.10.2"}
    assert controls["a.6.2.4"]["parts"][0]["id"] == oscal.statement_id("A.6.2.4") == "a.6.2.4_smt"
    assert [oscal.control_of(oscal.oscal_id(c)) for c in ANNEX_A] == list(ANNEX_A)
    for bad in ("7.5.3", "A.1.1"):
        with pytest.raises(ValueError):
            oscal.oscal_id(bad)
    with pytest.raises(ValueError):
        oscal.control_of("a.1.1")


# --- what the results say ----------------------------------------------------------------------------


def test_findings_say_what_coverage_says(store, records, tmp_path):
    out = tmp_path / "ar.json"
    export(store, out)
    findings = by_label(results(out)["findings"])
    assert sorted(findings) == REVIEWED
    state = {c: f["target"]["status"]["state"] for c, f in findings.items()}
    assert state == {
        "A.7.4": "satisfied",  # passed, 1 day old
        "A.5.4": "not-satisfied",  # failed
        "A.6.2.6": "not-satisfied",  # stale: 6 days old, max 2
        "A.2.2": "satisfied",  # a current document
        "A.5.3": "not-satisfied",  # its document is past its review date
    }
    coverage = load_coverage(store, TrustedKeys.load(), as_of=AS_OF, period=parse_period(PERIOD))
    for control, f in findings.items():
        row = coverage.control(control)
        assert (state[control] == "satisfied") is (row.gap is None), control
        assert f["target"]["target-id"] == oscal.statement_id(control)
        assert f.get("target", {}).get("remarks") == row.gap
        assert f["description"] == (row.gap or f["description"])
        props = {p["name"]: p["value"] for p in f["props"]}
        assert props["freshness"] == str(row.freshness)
    assert coverage.control("A.6.2.6").freshness == Freshness.stale
    assert "past its review date 2026-10-01" in findings["A.5.3"]["target"]["remarks"]


def test_observations_are_test_for_jobs_and_examine_for_documents(store, records, tmp_path):
    out = tmp_path / "ar.json"
    export(store, out)
    observations = by_label(results(out)["observations"], "record")
    assert set(observations) == {r.key for r in records.values()}
    for name, ref in records.items():
        o = observations[ref.key]
        assert o["methods"] == (["EXAMINE"] if name in ("policy", "impact") else ["TEST"]), name
    # Each finding relates the observations of the records its control counts, and only those.
    findings = by_label(results(out)["findings"])
    uuids = {o["uuid"]: key for key, o in observations.items()}
    related = {
        c: {uuids[r["observation-uuid"]] for r in f.get("related-observations", [])}
        for c, f in findings.items()
    }
    assert related == {
        "A.7.4": {records["passed"].key},
        "A.5.4": {records["failed"].key},
        "A.6.2.6": {records["stale"].key},
        "A.2.2": {records["policy"].key},
        "A.5.3": {records["impact"].key},
    }
    policy = {p["name"]: p["value"] for p in observations[records["policy"].key]["props"]}
    assert policy["document"] == "ai-policy.pdf" and policy["review-date"] == "2026-12-01"


def test_collected_and_expires_follow_coverages_rules(store, records, tmp_path, config):
    out = tmp_path / "ar.json"
    export(store, out)
    observations = by_label(results(out)["observations"], "record")

    def stamps(name):
        o = observations[records[name].key]
        return o["collected"], o["expires"]

    # A job record: collected when it ended; fresh until max_age_days after the last day it covers.
    assert stamps("passed") == ("2026-10-11T02:00:00Z", "2026-10-18T00:00:00Z")  # D + 7 days, then stale
    assert stamps("stale")[1] == "2026-10-08T00:00:00Z"  # D-5 + 2 days: already expired at as-of
    # A document: the earliest of its age limit, its review date and its validity.
    assert stamps("policy")[1] == "2026-12-02T00:00:00Z"  # the day after its review date
    assert stamps("impact")[1] == "2026-10-02T00:00:00Z"
    # The boundary is coverage's own: the instant before expiry fresh, at expiry stale.
    expires = dt.datetime(2026, 10, 18, tzinfo=dt.UTC)
    keys = TrustedKeys.load()
    period = parse_period(PERIOD)
    before = load_coverage(store, keys, as_of=expires - dt.timedelta(microseconds=1), period=period)
    at = load_coverage(store, keys, as_of=expires, period=period)
    assert (
        before.control("A.7.4").freshness == Freshness.fresh
        and at.control("A.7.4").freshness == Freshness.stale
    )
    review = dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
    before = load_coverage(store, keys, as_of=review - dt.timedelta(microseconds=1), period=period)
    at = load_coverage(store, keys, as_of=review, period=period)
    assert (
        before.control("A.2.2").freshness == Freshness.fresh
        and at.control("A.2.2").freshness == Freshness.stale
    )


def test_evidence_links_carry_the_manifests_sha256(store, records, tmp_path):
    out = tmp_path / "ar.json"
    export(store, out)
    doc = load(out)["assessment-results"]
    resources = {r["uuid"]: r for r in doc["back-matter"]["resources"]}
    for o in results(out)["observations"]:
        (evidence,) = o["relevant-evidence"]
        key = evidence["href"]
        actual = hashlib.sha256(
            (Path(settings.evidence_root()) / key / "manifest.json").read_bytes()
        ).hexdigest()
        assert evidence["props"] == [{"name": "manifest-sha256", "value": actual, "ns": oscal.NS}]
        (link,) = evidence["links"]
        (rlink,) = resources[link["href"].removeprefix("#")]["rlinks"]
        assert rlink["href"] == f"{key}/manifest.json"
        assert rlink["hashes"] == [{"algorithm": "SHA-256", "value": actual}]
    assert len(resources) == len(results(out)["observations"]) == 5


def test_a_forged_record_is_not_an_observation(store, records, write, forger, tmp_path):
    forged = write(DQ, D, controls=("A.7.4",), ended_at=ended(D, 3), run_after=ended(D, 3), signer=forger)
    out = tmp_path / "ar.json"
    result = export(store, out)
    keys = {o["relevant-evidence"][0]["href"] for o in results(out)["observations"]}
    assert forged.key not in keys and records["passed"].key in keys
    assert forged.key not in out.read_text().replace(f"{forged.key} (", "")  # named only as not read
    assert [u.key for u in result.rejected] == [forged.key]
    assert f"{forged.key} (" in results(out)["remarks"]
    assert by_label(results(out)["findings"])["A.7.4"]["target"]["status"]["state"] == "satisfied"


def test_the_period_boundary(store, config, write, tmp_path):
    def dq(day, **kw):
        return write(DQ, day, controls=("A.7.4",), ended_at=ended(kw.pop("written", day)), **kw)

    first, last = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
    # a week from September into October overlaps the month
    week = dq(dt.date(2026, 9, 28), period=parse_period("2026-W40"), written=dt.date(2026, 10, 4))
    inside = [dq(first), dq(last), week]
    outside = [dq(first - dt.timedelta(days=1)), dq(last + dt.timedelta(days=1))]
    out = tmp_path / "out" / "ar.json"
    export(store, out, as_of=dt.datetime(2026, 11, 5, tzinfo=dt.UTC))
    result = results(out)
    observed = set(by_label(result["observations"], "record"))
    assert observed == {r.key for r in inside} and not observed & {r.key for r in outside}
    assert (result["start"], result["end"]) == ("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
    # A record written after --as-of is not an observation yet; an as-of inside the period ends the result.
    export(store, out, as_of=dt.datetime(2026, 10, 20, tzinfo=dt.UTC))
    result = results(out)
    assert set(by_label(result["observations"], "record")) == {inside[0].key, week.key}
    assert result["end"] == "2026-10-20T00:00:00Z"


def test_a_re_export_gives_the_same_documents_and_ids(store, records, write, tmp_path):
    out = tmp_path / "out" / "ar.json"
    first = export(store, out)
    assert [f.state for f in first.files] == ["written"] * 5
    before = {p.name: p.read_bytes() for p in out.parent.iterdir()}
    again = export(store, out)
    assert [f.state for f in again.files] == ["kept"] * 5
    assert {p.name: p.read_bytes() for p in out.parent.iterdir()} == before
    # A new record adds an observation; every id already there stays.
    old = results(out)
    write(DQ, D + dt.timedelta(days=1), controls=("A.7.4",), ended_at=ended(D, 5))
    export(store, out, as_of=AS_OF + dt.timedelta(hours=6))
    new = results(out)
    assert [f.state for f in export(store, out, as_of=AS_OF + dt.timedelta(hours=6)).files] == ["kept"] * 5
    assert new["uuid"] == old["uuid"] and {f["uuid"] for f in new["findings"]} == {
        f["uuid"] for f in old["findings"]
    }
    assert {o["uuid"] for o in old["observations"]} < {o["uuid"] for o in new["observations"]}
    assert len(new["observations"]) == len(old["observations"]) + 1


def test_a_file_of_a_documents_name_that_is_not_ours_is_refused(store, records, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / oscal.SSP_FILE).write_text('{"system-security-plan": {"uuid": "someone-else"}}')
    with pytest.raises(oscal.OscalRefused, match="is not this store's system security plan"):
        export(store, tmp_path / "out" / "ar.json")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [oscal.SSP_FILE]  # nothing written
    with pytest.raises(oscal.OscalRefused, match="the name of a document the results import"):
        export(store, tmp_path / "out" / oscal.AP_FILE)


# --- the command ---------------------------------------------------------------------------------------


def run(capsys, *argv):
    code = main(["oscal", "export", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_text_json_and_exit_codes(store, records, write, forger, tmp_path, capsys, monkeypatch):
    import aimsflow.tables

    monkeypatch.setattr(aimsflow.tables, "terminal_width", lambda stream=None: 100)
    out = tmp_path / "oscal" / "ar.json"
    code, text, err = run(capsys, "--period", PERIOD, "--as-of", "2026-10-11T12:00", "-o", str(out))
    assert code == 0 and err == ""
    lines = text.splitlines()
    assert lines[0] == f"OSCAL assessment results of 2026-10, as of 2026-10-11 12:00 UTC: {out}"
    assert lines[1] == "  1 result: 5 reviewed controls; findings 2 satisfied, 3 not satisfied"
    assert lines[2] == "  5 observations: 3 TEST (job records), 2 EXAMINE (manual documents)"
    assert lines[5] == "satisfied: A.2.2, A.7.4"
    assert lines[3:5] == [
        f"imports, each the next, beside it: {oscal.AP_FILE} (written), {oscal.SSP_FILE} (written),",
        f"  {oscal.PROFILE_FILE} (written), {oscal.CATALOG_FILE} (written)",
    ]
    assert any(
        line.startswith("  A.6.2.6  no passing data_quality/validate record since 2026-10-05")
        for line in lines
    )
    assert max(map(len, lines[1:])) <= 100  # the first line names the file given, whole
    code, text, err = run(capsys, "--period", PERIOD, "--as-of", "2026-10-11T12:00", "-o", str(out), "--json")
    doc = json.loads(text)
    assert code == 0 and err == ""
    assert doc["observations"] == {"total": 5, "TEST": 3, "EXAMINE": 2}
    assert doc["findings"]["satisfied"] == ["A.2.2", "A.7.4"] and doc["results"] == 1
    assert [f["state"] for f in doc["files"]] == ["kept"] * 5
    # 1: a record folder that does not verify was left out
    forged = write(DQ, D, controls=("A.7.4",), run_after=ended(D, 3), signer=forger)
    code, text, err = run(capsys, "--period", PERIOD, "-o", str(out), "--json")
    assert code == 1 and json.loads(text)["untrusted_records"][0]["record"] == forged.key
    assert forged.key in err
    # 2: usage errors, nothing written
    other = tmp_path / "other" / "ar.json"
    for argv, message in (
        (["--period", "2026-13"], "2026-13"),
        (["--period", PERIOD, "--as-of", "2026-09-30"], "before the period 2026-10 starts"),
        (["--period", PERIOD, "--as-of", "yesterday"], "--as-of 'yesterday'"),
    ):
        with pytest.raises(SystemExit) as exc:
            run(capsys, *argv, "-o", str(other))
        assert exc.value.code == 2 and message in capsys.readouterr().err
    assert not other.parent.exists()


def test_an_invalid_soa_or_a_missing_store_or_keys(store, config, records, tmp_path, capsys, monkeypatch):
    (config / "soa.yaml").write_text((config / "soa.yaml").read_text().replace("A.7.4:", "A.7.44:"))
    code, _, err = run(capsys, "--period", PERIOD, "-o", str(tmp_path / "ar.json"))
    assert code == 2 and "invalid" in err and "A.7.44" in err
    with pytest.raises(SystemExit) as exc:
        run(capsys, "--period", PERIOD, "-o", str(tmp_path / "ar.json"), "--root", str(tmp_path / "nowhere"))
    assert exc.value.code == 3
    monkeypatch.setenv("AIMSFLOW_TRUSTED_KEYS", str(tmp_path / "no-keys.json"))
    with pytest.raises(SystemExit) as exc:
        run(capsys, "--period", PERIOD, "-o", str(tmp_path / "ar.json"))
    assert exc.value.code == 3 and not (tmp_path / "ar.json").exists()


def test_an_soa_that_excludes_every_control_is_refused(store, tmp_path, monkeypatch):
    folder = config_with(tmp_path / "config", soa=small_soa())
    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(folder))
    with pytest.raises(oscal.OscalRefused, match="no Annex A control is applicable"):
        export(store, tmp_path / "out" / "ar.json")
    assert not (tmp_path / "out").exists()
