"""``aimsflow evidence verify`` and ``aimsflow evidence list``, run in-process against a temporary store."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest

from aimsflow.cli import main
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import RecordRef
from aimsflow.evidence.seal import Witness, seal_pending
from aimsflow.results import Status

T0 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)


@dataclass
class Store:
    storage: object
    a: RecordRef  # 2026-11-18 data_quality/loans passed
    b_old: RecordRef  # 2026-11-19 data_quality/loans failed, superseded by b
    b: RecordRef  # 2026-11-19 data_quality/loans passed (a later run)
    c: RecordRef  # 2026-11-20 bias_assessment/assess warning, dataset loans_clean


@pytest.fixture
def store(storage, make_record) -> Store:
    a = make_record(dt.date(2026, 11, 18), run="r1", run_after=T0 - dt.timedelta(days=1))
    b_old = make_record(dt.date(2026, 11, 19), run="r2", run_after=T0, status=Status.failed)
    b = make_record(dt.date(2026, 11, 19), run="r3", run_after=T0 + dt.timedelta(hours=2))
    c = make_record(
        dt.date(2026, 11, 20),
        check="bias_assessment/assess",
        dataset="loans_clean",
        run="r4",
        run_after=T0 + dt.timedelta(days=1),
        status=Status.warning,
        task_id="fairness",
    )
    seal_pending(storage, Signer.from_settings(), Witness())
    return Store(storage, a, b_old, b, c)


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, _ = capsys.readouterr()
    return code, out


def run_json(capsys, *argv: str):
    code, out = run(capsys, *argv, "--json")
    return code, json.loads(out)


def refused(capsys, *argv: str, code: int = 2) -> str:
    """The one-line stderr message of a command that exits with ``code``; stdout stays empty."""
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    assert exc.value.code == code
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("aimsflow: ") and err.count("\n") == 1
    return err.strip()


def _tamper(store: Store, ref: RecordRef, name: str = "summary.json") -> str:
    key = f"{ref.key}/{name}"
    path = store.storage.path(key)
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01  # one bit, same size
    path.write_bytes(bytes(data))
    return key


# --- verify ---------------------------------------------------------------------------------------


def test_verify_intact_store(store, capsys):
    code, out = run(capsys, "evidence", "verify")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"{store.storage.root}: 4 records, 8 files (0.0 MB), 1 seals, head seal 1"
    assert lines[-1] == "OK: evidence intact"
    assert "BROKEN" not in out and "pending" not in out


def test_verify_tampered_file(store, capsys):
    key = _tamper(store, store.b)
    code, out = run(capsys, "evidence", "verify")
    assert code == 1
    assert f"BROKEN {key}: content differs from the manifest's SHA-256 (changed)" in out.splitlines()
    assert out.splitlines()[-1] == "FAILED: 1 problem(s)"


def test_verify_json(store, capsys):
    code, report = run_json(capsys, "evidence", "verify")
    assert code == 0
    assert report["ok"] is True and report["problems"] == [] and report["pending"] == []
    assert report["records_checked"] == 4 and report["files_checked"] == 8 and report["seals_checked"] == 1
    assert report["head"]["sequence"] == 1 == report["witness"]["sequence"]

    key = _tamper(store, store.a, "charts/a.txt")
    (store.storage.path(store.c.key) / "added.txt").write_text("x")
    code, report = run_json(capsys, "evidence", "verify")
    assert code == 1 and report["ok"] is False
    assert [p["object"] for p in report["problems"]] == [key, f"{store.c.key}/added.txt"]
    assert all(p["problem"] for p in report["problems"])


def test_verify_period_restricts_the_records(store, capsys):
    _tamper(store, store.a)  # 2026-11-18
    code, report = run_json(capsys, "evidence", "verify", "--period", "2026-11-19")
    assert code == 0 and report["ok"] and report["records_checked"] == 2
    code, report = run_json(capsys, "evidence", "verify", "--since", "2026-11-19", "--until", "2026-11-20")
    assert code == 0 and report["records_checked"] == 3
    code, report = run_json(capsys, "evidence", "verify", "--since", "2026-11-19")
    assert code == 0 and report["records_checked"] == 3
    code, report = run_json(capsys, "evidence", "verify", "--period", "2026-W47")  # 16..22 November
    assert code == 1 and report["records_checked"] == 4
    assert [p["object"] for p in report["problems"]] == [f"{store.a.key}/summary.json"]
    code, out = run(capsys, "evidence", "verify", "--period", "2026-11-18")
    assert code == 1 and f"BROKEN {store.a.key}/summary.json" in out


def test_verify_period_without_records(store, capsys):
    code, out = run(capsys, "evidence", "verify", "--period", "2025")
    assert code == 0 and ": 0 records, 0 files" in out and out.splitlines()[-1] == "OK: evidence intact"


def test_verify_reports_pending_records(store, make_record, capsys):
    d = make_record(dt.date(2026, 11, 21), run="r5")
    code, out = run(capsys, "evidence", "verify")
    assert code == 0
    assert "pending (not sealed yet, sealed by the next evidence_seal run): 1" in out.splitlines()
    assert out.splitlines()[-1] == "OK: evidence intact"
    code, report = run_json(capsys, "evidence", "verify")
    assert code == 0 and report["pending"] == [d.key] and report["records_checked"] == 5
    code, report = run_json(capsys, "evidence", "verify", "--period", "2026-11-20")
    assert report["pending"] == []


def test_verify_unsealed_store(storage, make_record, capsys):
    ref = make_record()
    code, out = run(capsys, "evidence", "verify")
    assert code == 0 and "no seal yet" in out.splitlines()[0]
    assert "pending (not sealed yet, sealed by the next evidence_seal run): 1" in out
    code, report = run_json(capsys, "evidence", "verify")
    assert report["pending"] == [ref.key] and report["head"] is None


def test_verify_root_option(store, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("AIMSFLOW_EVIDENCE_ROOT", str(tmp_path / "nowhere"))
    assert "nowhere does not exist" in refused(capsys, "evidence", "verify", code=3)
    code, report = run_json(capsys, "evidence", "verify", "--root", str(store.storage.root))
    assert code == 0 and report["records_checked"] == 4


def test_verify_without_trusted_keys(store, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("AIMSFLOW_TRUSTED_KEYS", str(tmp_path / "missing.json"))
    assert "trusted-keys file not found" in refused(capsys, "evidence", "verify", code=3)


@pytest.mark.parametrize("command", ["verify", "list"])
def test_bad_period_syntax(store, capsys, command):
    assert refused(capsys, "evidence", command, "--period", "2026-13") == (
        "aimsflow: invalid period '2026-13': month must be in 1..12"
    )
    message = refused(capsys, "evidence", command, "--since", "last week")
    assert message.startswith("aimsflow: invalid period 'last week': expected YYYY-MM-DD")
    message = refused(capsys, "evidence", command, "--since", "2026-12", "--until", "2026-11")
    assert message.startswith("aimsflow: period end") and "must be after start" in message


@pytest.mark.parametrize("command", ["verify", "list"])
@pytest.mark.parametrize("other", ["--since", "--until"])
def test_period_with_since_or_until_is_refused(store, capsys, command, other):
    message = refused(capsys, "evidence", command, "--period", "2026-11", other, "2026-11-19")
    assert message == "aimsflow: use --period or --since/--until, not both"


# --- list -----------------------------------------------------------------------------------------


def _keys(records) -> list[str]:
    return [r["key"] for r in records]


def test_list_current_verdicts(store, capsys):
    code, out = run(capsys, "evidence", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["period", "status", "check", "subject", "controls", "record"]
    assert lines[-1] == "3 record(s) (current verdicts; --history for all)"
    body = lines[1:-1]
    assert [line.split()[0] for line in body] == ["2026-11-18", "2026-11-19", "2026-11-20"]
    assert [line.split()[-1] for line in body] == [store.a.key, store.b.key, store.c.key]
    assert store.b_old.key not in out and "(superseded)" not in out and "[pending seal]" not in out
    assert body[2].split()[:5] == [
        "2026-11-20",
        "warning",
        "bias_assessment/assess",
        "loans_clean/2026-11-20",
        "A.7.4",
    ]


def test_list_history_includes_superseded(store, capsys):
    code, out = run(capsys, "evidence", "list", "--history")
    assert code == 0
    lines = out.splitlines()
    assert lines[-1] == "4 record(s)"
    assert f"{store.b_old.key} (superseded)" in out
    assert [line for line in lines if "(superseded)" in line] == [
        line for line in lines if store.b_old.key in line
    ]
    code, records = run_json(capsys, "evidence", "list", "--history")
    assert _keys(records) == [store.a.key, store.b_old.key, store.b.key, store.c.key]
    assert [r["superseded"] for r in records] == [False, True, False, False]


def test_list_json(store, capsys):
    code, records = run_json(capsys, "evidence", "list")
    assert code == 0 and _keys(records) == [store.a.key, store.b.key, store.c.key]
    first = records[0]
    assert first["check"] == "data_quality/validate" and first["status"] == "passed"
    assert first["period"] == {
        "start": "2026-11-18T00:00:00+00:00",
        "end": "2026-11-19T00:00:00+00:00",
        "label": "2026-11-18",
    }
    assert first["subject"] == {"ai_system": "loan_approval", "dataset": "loans", "partition": "2026-11-18"}
    assert first["controls"] == ["A.7.4"] and first["sealed_in"] == 1 and first["superseded"] is False
    assert first["record_id"] == store.a.record_id and first["producer"]["run_id"] == "r1"


def test_list_status(store, capsys):
    _, records = run_json(capsys, "evidence", "list", "--status", "failed")
    assert records == []  # the failed verdict was superseded by a later pass
    _, records = run_json(capsys, "evidence", "list", "--status", "failed", "--history")
    assert _keys(records) == [store.b_old.key]
    _, records = run_json(capsys, "evidence", "list", "--status", "warning")
    assert _keys(records) == [store.c.key]
    _, records = run_json(capsys, "evidence", "list", "--status", "passed")
    assert _keys(records) == [store.a.key, store.b.key]
    with pytest.raises(SystemExit) as exc:
        main(["evidence", "list", "--status", "broken"])
    assert exc.value.code == 2 and "invalid choice: 'broken'" in capsys.readouterr().err


def test_list_control(store, capsys):
    _, records = run_json(capsys, "evidence", "list", "--control", "A.7.4")
    assert len(records) == 3
    _, records = run_json(capsys, "evidence", "list", "--control", "A.6.2.4")
    assert records == []
    code, out = run(capsys, "evidence", "list", "--control", "A.6.2.4")
    assert code == 0 and out.splitlines()[-1] == "0 record(s) (current verdicts; --history for all)"


def test_list_check(store, capsys):
    _, records = run_json(capsys, "evidence", "list", "--check", "data_quality/validate")
    assert _keys(records) == [store.a.key, store.b.key]
    _, records = run_json(capsys, "evidence", "list", "--check", "data_quality")  # a prefix of whole parts
    assert _keys(records) == [store.a.key, store.b.key]
    _, records = run_json(capsys, "evidence", "list", "--check", "bias_assessment/")
    assert _keys(records) == [store.c.key]
    _, records = run_json(
        capsys, "evidence", "list", "--check", "bias_assessment/assess", "--status", "passed"
    )
    assert records == []


def test_list_dataset_and_ai_system(store, capsys):
    _, records = run_json(capsys, "evidence", "list", "--dataset", "loans_clean")
    assert _keys(records) == [store.c.key]
    _, records = run_json(capsys, "evidence", "list", "--dataset", "loans", "--history")
    assert _keys(records) == [store.a.key, store.b_old.key, store.b.key]
    _, records = run_json(capsys, "evidence", "list", "--ai-system", "loan_approval")
    assert len(records) == 3
    _, records = run_json(capsys, "evidence", "list", "--ai-system", "other")
    assert records == []


def test_list_dag(store, capsys):
    _, records = run_json(capsys, "evidence", "list", "--dag", "data_quality")
    assert len(records) == 3
    _, records = run_json(capsys, "evidence", "list", "--dag", "fairness")
    assert records == []


def test_list_filters_combine(store, capsys):
    _, records = run_json(
        capsys,
        "evidence",
        "list",
        "--check",
        "data_quality",
        "--period",
        "2026-11-19",
        "--history",
        "--status",
        "passed",
    )
    assert _keys(records) == [store.b.key]


def test_list_period(store, capsys):
    _, records = run_json(capsys, "evidence", "list", "--period", "2026-11-19")
    assert _keys(records) == [store.b.key]
    _, records = run_json(capsys, "evidence", "list", "--period", "2026-11-19", "--history")
    assert _keys(records) == [store.b_old.key, store.b.key]
    _, records = run_json(capsys, "evidence", "list", "--period", "2026-11-19..2026-11-20")
    assert _keys(records) == [store.b.key, store.c.key]
    _, records = run_json(capsys, "evidence", "list", "--since", "2026-11-19")
    assert _keys(records) == [store.b.key, store.c.key]
    _, records = run_json(capsys, "evidence", "list", "--until", "2026-11-18")
    assert _keys(records) == [store.a.key]
    _, records = run_json(capsys, "evidence", "list", "--period", "2026-11")
    assert len(records) == 3
    _, records = run_json(capsys, "evidence", "list", "--period", "2026-12")
    assert records == []


def test_list_since_accepts_a_range(store, capsys):
    """Regression at the command line for the ``period_between`` bug: ``--since A..B`` was refused."""
    _, records = run_json(
        capsys, "evidence", "list", "--since", "2026-11-19..2026-11-20", "--until", "2026-11-20"
    )
    assert _keys(records) == [store.b.key, store.c.key]


def test_list_marks_pending_records(store, make_record, capsys):
    d = make_record(dt.date(2026, 11, 21), run="r5")
    code, out = run(capsys, "evidence", "list")
    assert code == 0
    [line] = [line for line in out.splitlines() if d.key in line]
    assert line.endswith(f"{d.key} [pending seal]")
    assert sum("[pending seal]" in line for line in out.splitlines()) == 1
    _, records = run_json(capsys, "evidence", "list", "--period", "2026-11-21")
    assert records[0]["sealed_in"] is None


def test_list_flags_folders_that_do_not_verify(store, make_record, capsys):
    """Attack (issue 12): `evidence list` showed any folder with a manifest as a record. A forged
    record (signed with another key under the trusted key id) and an unsigned folder are not listed
    as records: each is flagged on stderr with its problem, and the exit code is 1 (a problem found)."""
    from tests.conftest import new_key

    _, seed, _ = new_key("forger")
    forger = Signer.from_seed_b64("test-key-1", seed)
    forged = make_record(dt.date(2026, 11, 20), run="r8", status=Status.passed, signer=forger)
    unsigned = make_record(dt.date(2026, 11, 20), run="r9")
    store.storage.path(f"{unsigned.key}/manifest.dsse.json").unlink()
    code = main(["evidence", "list"])
    out, err = capsys.readouterr()
    assert code == 1
    listed = [line for line in out.splitlines() if not line.startswith("UNTRUSTED ")]
    assert not any(forged.key in line or unsigned.key in line for line in listed)
    assert out.splitlines()[-1] == "3 record(s) (current verdicts; --history for all)"
    assert f"UNTRUSTED {forged.key}: signature by key 'test-key-1' does not match" in out
    assert f"UNTRUSTED {unsigned.key}: unreadable record: no manifest.dsse.json" in out
    assert "2 record folder(s) do not verify against the trusted keys and are not listed" in err
    code = main(["evidence", "list", "--json"])
    out, err = capsys.readouterr()
    assert code == 1 and [r["key"] for r in json.loads(out)] == [store.a.key, store.b.key, store.c.key]
    assert forged.key in err and unsigned.key in err


def test_list_without_trusted_keys_cannot_run(store, capsys, monkeypatch, tmp_path):
    """Listing decides nothing without verifying: with no trusted-keys file it cannot run (exit 3)."""
    monkeypatch.setenv("AIMSFLOW_TRUSTED_KEYS", str(tmp_path / "none.json"))
    assert "trusted-keys file not found" in refused(capsys, "evidence", "list", code=3)


def test_list_missing_store(aims_env, capsys):
    assert refused(capsys, "evidence", "list", code=3).endswith("evidence does not exist")


# --- control ids ----------------------------------------------------------------------------------


def test_list_unknown_control_is_an_error(store, capsys):
    """Regression (issue 11, point 12): `evidence list --control A.99` silently listed nothing, which
    reads as "no evidence for this control". An unknown id now exits 2 and says where the valid ids are."""
    message = refused(capsys, "evidence", "list", "--control", "A.99")
    assert message.startswith("aimsflow: unknown control id 'A.99' (did you mean A.9.")
    assert message.endswith("`aimsflow evidence controls` lists the valid ids")
    for bad in ("A7.4", "A.7.44", "7.5", ""):
        assert "unknown control id" in refused(capsys, "evidence", "list", "--control", bad)
    refused(capsys, "evidence", "list", "--control", "A.99", "--json")  # stdout stays empty with --json


def test_list_control_ignores_letter_case(store, capsys):
    """`a.7.4` is `A.7.4`: no two ids differ only in case, so this cannot pick a wrong control."""
    _, upper = run_json(capsys, "evidence", "list", "--control", "A.7.4")
    _, lower = run_json(capsys, "evidence", "list", "--control", "a.7.4")
    assert len(upper) == 3 and lower == upper
    code, records = run_json(capsys, "evidence", "list", "--control", "7.5.3")  # a clause: valid, no record
    assert code == 0 and records == []


def test_evidence_controls(capsys):
    from aimsflow.evidence.controls import ANNEX_A, CLAUSES

    code, out = run(capsys, "evidence", "controls")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["id", "kind", "title"] and len(lines) == 1 + len(ANNEX_A) + len(CLAUSES) + 1
    assert lines[1].split()[:2] == ["6.1.2", "clause"] and lines[-2].split()[:2] == ["A.10.4", "annex_a"]
    code, rows = run_json(capsys, "evidence", "controls")
    assert code == 0 and [set(r) for r in rows] == [{"id", "kind", "title"}] * len(rows)
    assert {r["id"] for r in rows} == set(ANNEX_A) | set(CLAUSES)
    assert {"id": "A.7.4", "kind": "annex_a", "title": "Quality of data for AI systems"} in rows


# --- tables ---------------------------------------------------------------------------------------

LONG_CHECK = "data_quality/loan_applications_clean_expectations"  # 50 characters


@pytest.fixture
def long_check_store(storage, make_record):
    a = make_record(dt.date(2026, 11, 18), check=LONG_CHECK, dataset="loan_applications_clean")
    b = make_record(dt.date(2026, 11, 19))
    return a, b


def test_list_columns_fit_a_long_check_id(long_check_store, capsys):
    """Regression (issue 11, point 10): columns had fixed widths (34 for the check), so a check id of
    36 or more characters pushed the rest of its row out of line with the header."""
    a, b = long_check_store
    code, out = run(capsys, "evidence", "list")
    header, first, second, _ = out.splitlines()
    starts = [header.index(h) for h in ("period", "status", "check", "subject", "controls", "record")]
    expected = {
        first: ["2026-11-18", "passed", LONG_CHECK, "loan_applications_clean/2026-11-18", "A.7.4", a.key],
        second: ["2026-11-19", "passed", "data_quality/validate", "loans/2026-11-19", "A.7.4", b.key],
    }
    for line, cells in expected.items():
        assert [line.index(cell, start) for cell, start in zip(cells, starts, strict=True)] == starts
    assert "…" not in out


def test_list_cuts_with_an_ellipsis_only_on_a_narrower_terminal(long_check_store, capsys, monkeypatch):
    a, _ = long_check_store
    _, out = run(capsys, "evidence", "list")
    natural = max(len(line) for line in out.splitlines()[:-1])
    monkeypatch.setattr("aimsflow.tables.terminal_width", lambda stream=None: natural - 10)
    _, out = run(capsys, "evidence", "list")
    lines = out.splitlines()
    assert max(len(line) for line in lines[:-1]) == natural - 10
    check = lines[1].split()[2]
    assert check.endswith("…") and LONG_CHECK.startswith(check[:-1]) and len(check) < len(LONG_CHECK)
    assert lines[1].endswith(f"{a.key} [pending seal]")  # the record key is never cut
    _, records = run_json(capsys, "evidence", "list")  # --json is never cut
    assert records[0]["check"] == LONG_CHECK


# --- --json on every command, progress on stderr, --version, exit codes in --help ------------------

NO_JSON = {"completion": "prints a shell script"}


def _leaf_commands(parser=None, path=()):
    import argparse

    from aimsflow.cli import build_parser

    parser = parser or build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _leaf_commands(child, (*path, name))
    if parser.get_default("func"):
        yield " ".join(path), parser


def test_every_command_has_json_and_documents_its_exit_codes():
    leaves = dict(_leaf_commands())
    assert {"evidence verify", "evidence list", "evidence controls", "nc close", "cycle"} <= set(leaves)
    for name, parser in leaves.items():
        options = {o for a in parser._actions for o in a.option_strings}
        assert ("--json" in options) is (name not in NO_JSON), name
        assert parser.epilog.startswith("exit codes:\n  0  "), name
        assert "exit codes:" in parser.format_help()


def test_json_commands_print_one_document_and_nothing_else(aims_env, capsys):
    docs = {}
    for argv in (["keys", "demo"], ["demo", "generate", "--days", "2", "--end", "2026-01-10"]):
        assert main([*argv, "--json"]) == 0
        out, err = capsys.readouterr()
        docs[argv[0]] = json.loads(out)  # the whole of stdout is one JSON document
        assert err == ""
    keys = docs["keys"]
    assert set(keys) == {"signing_key_id", "signing_key_file", "pseudonym_key_file", "trusted_keys"}
    assert keys["signing_key_id"].startswith("demo-") and str(aims_env) in keys["signing_key_file"]
    demo = docs["demo"]
    assert demo["end"] == "2026-01-10" and [b["date"] for b in demo["batches"]] == [
        "2026-01-09",
        "2026-01-10",
    ]
    assert set(demo["batches"][0]) == {"date", "path", "rows", "defects", "created"}


def test_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"aimsflow {version('aimsflow')}\n"


def test_progress_goes_to_stderr_only(store, capsys):
    code = main(["evidence", "verify", "--json", "--progress"])
    out, err = capsys.readouterr()
    assert code == 0 and json.loads(out)["ok"] is True
    assert err.splitlines()[-1] == "verifying 8/8 (100%) files hashed"
    assert main(["evidence", "list", "--progress"]) == 0
    out, err = capsys.readouterr()
    assert "reading records" not in out and err.splitlines()[-1] == "reading records 4/4 (100%)"
    assert main(["evidence", "verify", "--no-progress"]) == 0
    assert capsys.readouterr().err == ""


def test_progress_by_default_only_on_a_terminal(store, capsys, monkeypatch):
    import io

    assert main(["evidence", "verify"]) == 0
    assert capsys.readouterr().err == ""  # stderr is not a terminal under pytest

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["evidence", "verify"]) == 0
    assert "\rverifying" in terminal.getvalue() and terminal.getvalue().endswith("\r")  # drawn, then cleared
    assert "verifying" not in capsys.readouterr().out


@pytest.mark.parametrize("check", ["data_qualty", "retention/plan", "data_quality/loans"])
def test_list_refuses_a_check_that_no_job_declares(aims_env, check, capsys):
    """An old or misspelt check id listed nothing and exited 0; it is now a usage error."""
    with pytest.raises(SystemExit) as exc:
        main(["evidence", "list", "--check", check])
    assert exc.value.code == 2 and "names no declared check" in capsys.readouterr().err


@pytest.mark.parametrize("check", ["data_quality", "data_quality/", "retention_disposal/certificate"])
def test_list_accepts_a_declared_check_or_a_prefix_of_whole_parts(aims_env, check, capsys):
    (aims_env / "evidence").mkdir(exist_ok=True)
    assert main(["evidence", "list", "--check", check, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
