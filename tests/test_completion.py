"""``aimsflow completion bash|zsh``: scripts generated from the parser, run by a real shell."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from aimsflow.cli import build_parser, main
from aimsflow.completion import command_specs


@pytest.fixture
def script(capsys, tmp_path):
    assert main(["completion", "bash"]) == 0
    path = tmp_path / "aimsflow.bash"
    path.write_text(capsys.readouterr().out)
    return path


def complete(script, *words: str) -> list[str]:
    """What bash offers for the last word of ``aimsflow <words>``."""
    line = f"aimsflow {' '.join(shlex.quote(w) for w in words)}"
    code = (
        f"source {shlex.quote(str(script))}; COMP_WORDS=({line}); COMP_CWORD={len(words)}; "
        '_aimsflow; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    proc = subprocess.run(["bash", "--norc", "-c", code], capture_output=True, text=True, check=True)
    return [w for w in proc.stdout.splitlines() if w]


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completes_commands_options_and_choices(script):
    assert set(complete(script, "")) >= {"evidence", "nc", "cycle", "completion", "--version", "--help"}
    assert complete(script, "ev") == ["evidence"]
    assert complete(script, "evidence", "li") == ["list"]
    assert complete(script, "evidence", "list", "--st") == ["--status"]
    assert complete(script, "evidence", "list", "--status", "") == ["passed", "warning", "failed", "error"]
    assert complete(script, "completion", "") == ["-h", "--help", "bash", "zsh"]
    # An option's value is not taken for a command: after `--root evidence` we are still in `list`.
    assert "--history" in complete(script, "evidence", "list", "--root", "evidence", "")
    # A free value (a folder) is left to the shell's file completion (complete -o default).
    assert complete(script, "evidence", "verify", "--root", "") == []
    assert complete(script, "nosuch", "") == complete(script, "")


def test_every_option_of_every_command_is_in_the_script(script):
    text = script.read_text()
    specs = command_specs(build_parser())
    assert {"", "evidence", "evidence verify", "evidence list", "nc close", "completion"} <= set(specs)
    for path, spec in specs.items():
        assert f"'{path}')" in text or f"{path})" in text or path == ""
        for word in spec.words:
            assert word in text


@pytest.mark.skipif(shutil.which("zsh") is None, reason="no zsh")
def test_zsh_script_loads(capsys, tmp_path):
    assert main(["completion", "zsh"]) == 0
    path = tmp_path / "aimsflow.zsh"
    path.write_text(capsys.readouterr().out)
    proc = subprocess.run(
        ["zsh", "-f", "-c", f"source {shlex.quote(str(path))} && print -r -- ${{_comps[aimsflow]}}"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()  # a completion function is registered for aimsflow
