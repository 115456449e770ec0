"""The text rendering: a few lines that fit 100 columns and carry the same numbers as the JSON."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.parse

from aimsflow.audit.show import describe_nonconformity, describe_record, read_store
from aimsflow.audit.text import cut_middle, duration, nc_lines, record_lines, short, when
from aimsflow.results import Status
from tests.audit.conftest import D2

HEX64 = re.compile(r"\b[0-9a-f]{64}\b")
SHORT = re.compile(r"\b([0-9a-f]{12})…")
WHEN = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
KEY = re.compile(r"records/[^\s()]+")


def _values(doc, found=None):
    """Every scalar of a JSON document."""
    found = [] if found is None else found
    if isinstance(doc, dict):
        for v in doc.values():
            _values(v, found)
    elif isinstance(doc, list):
        for v in doc:
            _values(v, found)
    else:
        found.append(doc)
    return found


def assert_same_numbers(lines: list[str], doc: dict, hashes: bool = True) -> None:
    """Every hash, size, row count, moment, record key and nonconformity id the text shows is in the
    JSON (hashes as prefixes of the full ones), so the two renderings cannot tell different stories."""
    text = "\n".join(lines)
    values = _values(doc)
    strings = [v for v in values if isinstance(v, str)]
    full = {h for s in strings for h in HEX64.findall(s)}
    ints = {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
    moments = set()
    for s in strings:
        try:
            moments.add(when(dt.datetime.fromisoformat(s)))
        except ValueError:
            pass
    shown = SHORT.findall(text)
    assert bool(shown) is hashes, "a record shows its hashes shortened; a nonconformity none"
    for prefix in shown:
        assert any(h.startswith(prefix) for h in full), prefix
    for number in re.findall(r"([\d,]+) (?:B|rows)\b", text):
        assert int(number.replace(",", "")) in ints, number
    for moment in WHEN.findall(text):
        assert moment in moments, moment
    for key in KEY.findall(text):
        assert key in strings, key
    for nc in re.findall(r"NC-\d{8}-[0-9a-f]{6}", text):
        assert nc in strings, nc


def test_record_text_and_json_carry_the_same_numbers(store, keys, scenario):
    snap = read_store(store, keys)
    for ref in (scenario.first, scenario.again, scenario.passed, scenario.closure, scenario.pending):
        view = describe_record(store, ref.key, keys, snapshot=snap)
        doc = json.loads(json.dumps(view.as_dict()))
        lines = record_lines(view)
        assert_same_numbers(lines, doc)
        text = "\n".join(lines)
        # ... and the other way round: what the JSON holds, the text shows.
        for f in doc["files"]:
            assert f"{f['size']:,} B  sha256 {f['sha256'][:12]}…" in text
        for i in doc["inputs"] + doc["outputs"]:
            assert f"sha256 {i['sha256'][:12]}…, {i['size']:,} B" in text
        for s in doc["specs"]:
            assert f"sha256 {s['sha256'][:12]}…  {s['path']}" in text
        for c in doc["controls"]:
            assert f"{c['id']}  {c['title']}" in text
        assert f"manifest sha256 {doc['signature']['manifest_sha256'][:12]}…" in text
        run = doc["run"]
        assert f"try {run['try_number']} of {run['max_tries'] + 1}" in text and run["run_id"] in text
        if doc["seal"]["state"] == "sealed":
            seal = doc["seal"]
            assert f"sealed in seal {seal['sequence']} at " in text
            assert f"leaf {seal['leaf_index']} of the tree of {seal['tree_size']} " in text
        else:
            assert "PENDING" in text
        for n in doc["nonconformities"]:
            assert n["id"] in text


def test_the_first_failure_reads_as_expected(store, keys, scenario):
    view = describe_record(store, scenario.first.key, keys)
    lines = record_lines(view)
    assert lines[0] == scenario.first.key
    assert lines[1] == "  status     FAILED  4 of 15 expectations failed"
    assert "  run        DAG data_quality, task validate[3], try 1 of 3" in lines
    assert "             scheduled run triggered by alice (run_after 2026-11-25 01:00:00 UTC)" in lines
    assert "             params api_token=***, period=2026-11-24" in lines
    assert (
        f"  nc         opened {scenario.nc_id} (closed): data_quality/validate [loan_applications_clean]"
        in lines
    )
    assert "  verdict    superseded by:" in lines
    assert "  lineage    OpenLineage run 01a2272b-f54e-7967-aff1-993910c87168 (FAIL, event sent)" in lines
    # The input's location is readable (percent-escapes undone) and whole when not on a terminal.
    uri = urllib.parse.unquote(scenario.input_file.resolve().as_uri())
    assert any(line.strip() == uri for line in lines)


def test_lines_fit_100_columns_on_a_terminal(store, keys, scenario):
    """On a 100-column terminal every line fits: long free text wraps, long URIs are cut in the middle
    (the full ones are in --json)."""
    snap = read_store(store, keys)
    for ref in (scenario.first, scenario.passed, scenario.closure):
        lines = record_lines(describe_record(store, ref.key, keys, snapshot=snap), 100, cut=True)
        assert max(len(line) for line in lines) <= 100, [line for line in lines if len(line) > 100]
    lines = nc_lines(describe_nonconformity(store, scenario.nc_id, keys, snapshot=snap), 100)
    assert max(len(line) for line in lines) <= 100


def test_a_long_message_wraps_without_cutting_words(store, keys, write):
    message = "11 breach(es) of the fairness policy: " + "; ".join(
        f"demographic_parity_difference group{i} (base_rate) 0.14{i}, bound <= 0.1" for i in range(4)
    )
    ref = write(message=message)
    lines = record_lines(describe_record(store, ref.key, keys), 100)
    status = [line for line in lines if line.startswith("  status") or line.startswith("               ")]
    assert all(len(line) <= 100 for line in status)
    joined = " ".join(line.strip() for line in lines[1 : 1 + len(status)])
    assert message in joined.removeprefix("FAILED  ").removeprefix("PASSED  ")


def test_problems_and_untrusted_folders_are_said(store, keys, scenario, write, forger):
    store.path(f"{scenario.first.key}/summary.json").write_bytes(b"{}")
    write(day=D2, check="bias_assessment/assess", signer=forger, status=Status.passed)
    lines = record_lines(describe_record(store, scenario.first.key, keys))
    assert any(line.startswith("PROBLEM file summary.json: changed") for line in lines)
    assert any(line.strip().startswith("summary.json") and line.endswith("CHANGED") for line in lines)
    assert lines[-1].startswith("note: 1 other object(s) of the store (records, seals) do not verify")


def test_nonconformity_text(store, keys, scenario):
    view = describe_nonconformity(store, scenario.nc_id, keys)
    lines = nc_lines(view)
    text = "\n".join(lines)
    assert lines[0] == f"{scenario.nc_id}  CLOSED"
    assert "  occurred   2026-11-24: failed, run 2026-11-25 01:00:00 UTC" in lines
    assert f"               {scenario.first.key}" in lines
    assert f"                 {scenario.again.key}" in lines
    assert (
        "root cause: null incomes in the export" in text
        and "corrective action: export fixed and re-run" in text
    )
    assert f"  closed     {when(view.closure.closed_at)} by carol" in lines
    assert "  passed     passed, run 2026-11-25 09:00:00 UTC" in lines and scenario.passed.key in text
    assert_same_numbers(lines, json.loads(json.dumps(view.as_dict())), hashes=False)


def test_helpers():
    assert short("ab" * 32) == "abababababab…" and short(None) == "-" and short("abc") == "abc"
    assert cut_middle("x" * 30, 21) == "x" * 10 + "…" + "x" * 10 and cut_middle("short", 21) == "short"
    assert len(cut_middle("y" * 200, 80)) == 80
    assert (duration(0.25), duration(75), duration(3725)) == ("0.2 s", "1 min 15 s", "1 h 02 min")
    assert when(dt.datetime(2026, 11, 29, 13, 58, 43, tzinfo=dt.timezone(dt.timedelta(hours=2)))) == (
        "2026-11-29 11:58:43 UTC"
    )


def test_counterparts_are_grouped_per_framework(store, keys, scenario):
    from tests.audit.test_show import FakeCrosswalk

    snap = read_store(store, keys)
    snap.crosswalk = FakeCrosswalk()
    lines = record_lines(describe_record(store, scenario.first.key, keys, snapshot=snap))
    i = lines.index("             A.7.4  Quality of data for AI systems")
    assert lines[i + 1] == "               = EU AI Act Art. 10; NIST AI RMF 1.0 MAP 2.3"
