"""``aimsflow evidence show`` and ``aimsflow nc show``, run in-process: text, --json and --html from one
view, and the documented exit codes; every auditor command's --help, --json and exit codes, as the
auditors' guide and the README state them."""

from __future__ import annotations

import json

import pytest

from aimsflow.audit.show import describe_nonconformity, describe_record
from aimsflow.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_UNAVAILABLE, EXIT_USAGE, main
from aimsflow.evidence.record import Producer
from aimsflow.results import Status
from tests.audit.conftest import D2


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, *argv: str, code: int = EXIT_USAGE) -> str:
    """The one-line stderr message of a command that exits with ``code``; stdout stays empty."""
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    assert exc.value.code == code
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("aimsflow: ") and err.count("\n") == 1
    return err.strip()


def test_show_text(capsys, scenario):
    code, out, err = run(capsys, "evidence", "show", scenario.first.key)
    assert (code, err) == (EXIT_OK, "")
    lines = out.splitlines()
    assert lines[0] == scenario.first.key and lines[1] == "  status     FAILED  4 of 15 expectations failed"
    assert f"opened {scenario.nc_id}" in out and "sealed in seal 1" in out


def test_show_json_is_the_view(capsys, store, keys, scenario):
    code, out, err = run(capsys, "evidence", "show", scenario.first.record_id, "--json")
    assert (code, err) == (EXIT_OK, "")
    doc = json.loads(out)  # the whole of stdout is one JSON document
    expected = json.loads(json.dumps(describe_record(store, scenario.first.key, keys).as_dict()))
    assert doc == expected


def test_show_html_writes_the_page(capsys, scenario, tmp_path):
    page = tmp_path / "record.html"
    code, out, err = run(capsys, "evidence", "show", scenario.passed.key, "--html", str(page), "--json")
    assert code == EXIT_OK and json.loads(out)["key"] == scenario.passed.key
    assert err == f"aimsflow: wrote {page}\n"
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and scenario.passed.key.split("/")[-1] in html
    refused(capsys, "evidence", "show", scenario.passed.key, "--html", str(tmp_path / "no" / "x.html"))


def test_show_a_forged_record(capsys, write, forger, tmp_path):
    """A forged record is never described: UNTRUSTED and the reason, exit 1; no page is written."""
    forged = write(signer=forger)
    page = tmp_path / "forged.html"
    code, out, err = run(capsys, "evidence", "show", forged.key, "--html", str(page))
    assert code == EXIT_PROBLEMS and err == ""
    assert out.splitlines() == [
        f"UNTRUSTED {forged.key}: signature by key 'test-key-1' does not match",
        "not shown: only a record whose signature verifies is described (aimsflow evidence verify)",
    ]
    assert not page.exists()
    code, out, _ = run(capsys, "evidence", "show", forged.record_id, "--json")
    assert code == EXIT_PROBLEMS
    assert json.loads(out) == {
        "record": forged.key,
        "verified": False,
        "problem": "signature by key 'test-key-1' does not match",
    }


def test_show_a_record_whose_file_changed(capsys, scenario):
    path = f"{scenario.first.key}/charts/rows.txt"
    from aimsflow import settings

    (settings.evidence_root() / path).write_bytes(b"edited\n")
    code, out, _ = run(capsys, "evidence", "show", scenario.first.key)
    assert code == EXIT_PROBLEMS and "PROBLEM file charts/rows.txt: changed" in out
    code, out, _ = run(capsys, "evidence", "show", scenario.first.key, "--json")
    assert code == EXIT_PROBLEMS and json.loads(out)["problems"][0].startswith(
        "file charts/rows.txt: changed"
    )


def test_show_unknown_and_ambiguous_records(capsys, scenario, write):
    message = refused(capsys, "evidence", "show", "validate.try9-000000000000")
    assert "no record 'validate.try9-000000000000'" in message and "records/<period>/<check>/<id>" in message
    producer = Producer(kind="task", dag_id="d", run_id="r", task_id="t", try_number=1, max_tries=0)
    a = write(check="data_quality/validate", producer=producer, day=D2)
    b = write(check="bias_assessment/assess", producer=producer, day=D2)
    message = refused(capsys, "evidence", "show", a.record_id, "--json")
    assert "ambiguous" in message and a.key in message and b.key in message
    assert run(capsys, "evidence", "show", a.key)[0] == EXIT_OK  # the key names one


def test_show_without_store_or_keys(capsys, aims_env, monkeypatch, tmp_path):
    refused(capsys, "evidence", "show", "x", "--root", str(tmp_path / "nowhere"), code=EXIT_UNAVAILABLE)
    (tmp_path / "evidence").mkdir(exist_ok=True)
    monkeypatch.setenv("AIMSFLOW_TRUSTED_KEYS", str(tmp_path / "missing.json"))
    assert "trusted-keys file not found" in refused(capsys, "evidence", "show", "x", code=EXIT_UNAVAILABLE)


def test_nc_show_text_json_html(capsys, store, keys, scenario, tmp_path):
    code, out, err = run(capsys, "nc", "show", scenario.nc_id)
    assert (code, err) == (EXIT_OK, "")
    assert out.splitlines()[0] == f"{scenario.nc_id}  CLOSED" and "by carol" in out
    page = tmp_path / "nc.html"
    code, out, err = run(capsys, "nc", "show", scenario.nc_id.lower(), "--json", "--html", str(page))
    assert code == EXIT_OK and err == f"aimsflow: wrote {page}\n"
    expected = describe_nonconformity(store, scenario.nc_id, keys).as_dict()
    assert json.loads(out) == json.loads(json.dumps(expected))
    assert scenario.nc_id in page.read_text(encoding="utf-8")


def test_nc_show_unknown_id(capsys, scenario):
    message = refused(capsys, "nc", "show", "NC-20990101-000000")
    assert "no nonconformity 'NC-20990101-000000'" in message and scenario.nc_id in message


def test_nc_show_flags_folders_that_do_not_verify(capsys, scenario, write, forger):
    forged = write(day=D2, status=Status.failed, run_id="forged", signer=forger)
    code, out, err = run(capsys, "nc", "show", scenario.nc_id, "--json")
    assert code == EXIT_PROBLEMS
    assert json.loads(out)["untrusted_folders"] == 1
    assert forged.key in err and "do not verify" in err


#: The auditor's commands (issue 14, point 6) and their EPILOGS key.
AUDITOR_COMMANDS = {
    "evidence show": "show",
    "nc show": "nc show",
    "evidence sample": "sample",
    "evidence export": "export",
    "oscal export": "oscal export",
    "soa": "soa",
    "evidence verify": "verify",
    "evidence prove": "prove",
}


def help_text(capsys, command: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main([*command.split(), "--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


def exit_codes(text: str) -> dict[int, str]:
    """The exit codes a --help lists under "exit codes:", each with its text (continuations joined)."""
    codes: dict[int, str] = {}
    block = text.split("\nexit codes:\n", 1)[1]
    for line in block.splitlines():
        if line[:2] == "  " and line[2:3].isdigit() and line[3:5] == "  ":
            codes[int(line[2])] = line[5:]
        elif line.startswith("     ") and codes:
            last = max(codes)
            codes[last] += " " + line.strip()
        elif line.strip():
            break
    return codes


def test_every_auditor_command_has_help_json_and_documented_exit_codes(capsys):
    for command in AUDITOR_COMMANDS:
        text = help_text(capsys, command)
        usage, after = text.split("\n\n", 1)
        assert usage.startswith(f"usage: aimsflow {command} ") and "[--json]" in usage, command
        description = after.split("\n\n", 1)[0]
        assert not description.startswith(("positional arguments:", "options:")), f"{command}: no description"
        assert max(map(len, text.splitlines())) <= 100, command
        codes = exit_codes(text)
        # every auditor command can succeed, find a problem, be misused (argparse: 2) and find no store
        assert sorted(codes) == [0, 1, 2, 3], (command, codes)
        assert all(t.strip() for t in codes.values()), (command, codes)
        assert "usage error" in codes[2] and "no such store" in codes[3], command
    assert exit_codes(help_text(capsys, "oscal export"))[1].startswith("written, but some record folders")


def test_the_auditors_guide_quotes_every_commands_exit_codes():
    """docs/auditing.md quotes each auditor command's exit codes as --help prints them: they cannot
    drift."""
    import re

    from aimsflow import settings
    from aimsflow.cli import EPILOGS

    doc = (settings.project_root() / "docs" / "auditing.md").read_text(encoding="utf-8")
    for command, key in AUDITOR_COMMANDS.items():
        quoted = re.search(rf"```\naimsflow {command}[^\n]*:\n{re.escape(EPILOGS[key])}\n```", doc)
        assert quoted, (
            f"docs/auditing.md does not quote the exit codes of `aimsflow {command}` as --help has them"
        )


def test_the_readme_has_a_section_for_auditors_with_the_exact_commands():
    from aimsflow import settings

    readme = (settings.project_root() / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## For auditors\n", 1)[1].split("\n## ", 1)[0]
    for command in (
        "aimsflow evidence sample --period",
        "aimsflow evidence export --sample",
        "python3 -I verify_bundle.py --keys-sha256",
        "aimsflow oscal export --period",
        "docs/auditing.md",
    ):
        assert command in section, command
    # the output shown is real output: the sample the export packs, the bundle the verifier reads
    key = section.split("aimsflow evidence export --sample ", 1)[1].split()[0]
    assert key.startswith("records/") and f"sample {key} (sealed in seal " in section
    assert f"SAMPLE OK     {key}" in section and "OK: every record verifies" in section
    # a newcomer still needs exactly two set-up commands
    assert readme.count("make run") >= 1 and "make test" in readme


def test_a_crosswalk_that_does_not_load_is_a_usage_error(capsys, scenario, monkeypatch):
    from aimsflow.audit import show
    from aimsflow.configfile import ConfigError

    def broken():
        raise ConfigError(["crosswalk.yaml, line 3: mappings.A.7.4: unknown framework 'eu_ai_actt'"])

    monkeypatch.setattr(show, "load_crosswalk_if_installed", broken)
    for argv in (("evidence", "show", scenario.first.key), ("nc", "show", scenario.nc_id)):
        message = refused(capsys, *argv)
        assert message == (
            "aimsflow: the configuration does not load: crosswalk.yaml, line 3: mappings.A.7.4: unknown "
            "framework 'eu_ai_actt'"
        )
