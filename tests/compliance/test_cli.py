"""``aimsflow soa``: the table a person reads, the JSON document (Coverage.as_dict, the same numbers),
``--framework``, ``--as-of`` and the exit codes."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from aimsflow import settings
from aimsflow.cli import main
from aimsflow.compliance.coverage import load_coverage
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.results import Status
from tests.compliance.conftest import ingested_then, small_soa, write_yaml
from tests.compliance.test_coverage import CROSSWALK, DQ, D, dq

A74 = {"applicable": True, "justification": "data", "checks": [DQ], "max_age_days": 7}
A22 = {"applicable": True, "justification": "policy", "manual": True, "max_age_days": 365}


@pytest.fixture
def config(tmp_path, monkeypatch):
    """A config folder holding only the SoA (A.7.4 by a job, A.2.2 by a document) and a crosswalk."""
    folder = tmp_path / "config"
    write_yaml(folder, "soa.yaml", small_soa(A_7_4=A74, A_2_2=A22))
    write_yaml(folder, "crosswalk.yaml", CROSSWALK)
    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(folder))
    return folder


def run(capsys, *argv):
    code = main(["soa", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_everything_fresh_and_passing_exits_0(config, store, write, capsys, monkeypatch):
    import aimsflow.tables

    monkeypatch.setattr(aimsflow.tables, "terminal_width", lambda stream=None: 100)  # a 100-column terminal
    dq(write, D)
    ingested_then(write, dt.date(2026, 1, 1), dt.date(2026, 12, 31), review_date=dt.date(2026, 12, 1))
    code, out, err = run(capsys, "--as-of", "2026-11-12")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("Statement of Applicability, as of 2026-11-12 23:59 UTC")
    assert lines[1].split() == ["control", "title", "appl", "evidenced", "by", "latest", "freshness", "NCs"]
    row = next(line for line in lines if line.startswith("A.7.4 "))
    assert row.split()[-4:] == ["passed", "2026-11-10", "fresh", "2/7d"]
    assert "data_quality/validate" in row
    assert next(line for line in lines if line.startswith("A.2.2 ")).split()[-2:] == ["fresh", "315/365d"]
    assert next(line for line in lines if line.startswith("A.10.4 ")).split()[-4:] == [
        "no",
        "excluded",
        "-",
        "-",
    ]
    assert "gaps" not in out and "Annex A: 2 of 38 controls applicable (1 by jobs, 1 by documents)" in out
    assert max(len(line) for line in lines) <= 100, [line for line in lines if len(line) > 100]


def test_a_gap_exits_1_and_is_said_in_words(config, store, write, capsys):
    dq(write, D)
    code, out, _ = run(capsys, "--as-of", "2026-11-18")
    assert code == 1
    # Into a pipe nothing is cut: titles and check ids stay whole.
    assert "Quality of data for AI systems" in out and "data_quality/validate" in out
    assert "A.7.4    no passing data_quality/validate record since 2026-11-10 (8 days, max 7)" in out
    assert "no document ingested for 1 manual controls: A.2.2" in out
    row = next(line for line in out.splitlines() if line.startswith("A.7.4 "))
    assert row.split()[-2:] == ["stale", "8/7d"]


def test_json_is_coverage_as_dict(config, store, write, capsys):
    dq(write, D, Status.failed)
    code, out, err = run(capsys, "--json", "--as-of", "2026-11-11T12:00")
    assert code == 1 and err == ""
    doc = json.loads(out)
    expected = load_coverage(store, TrustedKeys.load(), as_of=dt.datetime(2026, 11, 11, 12, tzinfo=dt.UTC))
    assert doc == json.loads(json.dumps(expected.as_dict()))
    a74 = next(c for c in doc["controls"] if c["id"] == "A.7.4")
    assert a74["verdict"]["status"] == "failed" and a74["freshness"] == "missing"
    assert set(doc["frameworks"]) == {"iso42001", "eu_ai_act"}


def test_framework_view(config, store, write, capsys):
    dq(write, D)
    code, out, _ = run(capsys, "--framework", "eu_ai_act", "--as-of", "2026-11-12")
    assert code == 1  # A.2.2 has no document
    lines = out.splitlines()
    assert lines[0].startswith("EU AI Act, as of 2026-11-12")
    art10 = next(line for line in lines if line.startswith("Art. 10 "))
    assert art10.split()[-6:] == ["A.2.2,A.7.4", "missing", "passed", "1", "of", "2"]
    assert "crosswalk: 4 mappings, 0 from a published crosswalk, 4 own judgement" in out
    code, out, _ = run(capsys, "--framework", "eu_ai_act", "--json", "--as-of", "2026-11-12")
    doc = json.loads(out)
    assert list(doc["frameworks"]) == ["eu_ai_act"]
    items = {r["item"]: r for r in doc["frameworks"]["eu_ai_act"]["items"]}
    assert items["Art. 10"]["gaps"] == ["A.2.2"] and items["Art. 4"]["freshness"] == "excluded"


def test_untrusted_folders_exit_1_and_are_flagged(config, store, write, forger, capsys):
    forged = dq(write, D, signer=forger)
    code, out, err = run(capsys, "--as-of", "2026-11-12")
    assert code == 1 and f"UNTRUSTED {forged.key}" in out and forged.key in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--framework", "sox"], "--framework 'sox': expected one of iso42001, eu_ai_act"),
        (["--as-of", "yesterday"], "--as-of 'yesterday': expected a date"),
        (["--period", "2026-13"], "aimsflow: "),
    ],
)
def test_usage_errors_exit_2(config, store, capsys, argv, message):
    settings.evidence_root().mkdir(parents=True, exist_ok=True)
    with pytest.raises(SystemExit) as exc:
        main(["soa", *argv])
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and out == "" and message in err


def test_an_invalid_soa_exits_2_listing_every_problem(config, store, capsys):
    settings.evidence_root().mkdir(parents=True, exist_ok=True)
    write_yaml(
        config,
        "soa.yaml",
        small_soa(A_7_4={"applicable": True, "justification": "j"}, A_10_4={"applicable": False}),
    )
    code, out, err = run(capsys)
    assert code == 2 and out == ""
    assert (
        "soa.yaml" in err and "an applicable control needs evidence" in err and "needs a justification" in err
    )


def test_no_store_exits_3(config, aims_env, monkeypatch, capsys):
    monkeypatch.setenv("AIMSFLOW_EVIDENCE_ROOT", str(aims_env / "nowhere"))
    with pytest.raises(SystemExit) as exc:
        main(["soa"])
    assert exc.value.code == 3 and "does not exist" in capsys.readouterr().err
    assert settings.evidence_root() == aims_env / "nowhere"
