"""Spec blobs (a record's specs stay retrievable by their hash) and the code version's dirty flag.

Bug (issue 11, point 12): specs were referenced by absolute path plus hash, so the content of an
old spec could not be recovered and the manifest named a path on the writing machine; and
``code.git_commit`` did not say whether the tree had uncommitted changes."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from aimsflow import settings
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.record import MANIFEST, Producer, RunContext, code_version, git_state, write_record
from aimsflow.evidence.seal import Witness
from aimsflow.evidence.specs import SPECS_PREFIX, SpecChangedError, blob_key, spec_name
from aimsflow.evidence.storage import LocalStorage
from aimsflow.evidence.verify import verify_store
from aimsflow.periods import Period
from aimsflow.results import JobResult, SpecRef, Status, Subject, sha256_bytes
from tests.conftest import PROJECT

DAY = dt.date(2026, 11, 19)


def _write(storage: LocalStorage, specs: list[SpecRef], name: str = "job") -> dict:
    result = JobResult(
        Subject(dataset="loans"),
        Status.passed,
        check="data_quality/validate",
        controls=("A.7.4",),
        specs=specs,
    )
    now = dt.datetime.now(dt.UTC)
    ref = write_record(
        storage,
        result,
        RunContext(Period.day(DAY), Producer.command_run(name), now, now),
        Signer.from_settings(),
    )
    return json.loads(storage.get(f"{ref.key}/{MANIFEST}"))["predicate"]


def _verify(storage: LocalStorage) -> list[str]:
    return [str(p) for p in verify_store(storage, TrustedKeys.load(), Witness()).problems]


@pytest.fixture
def config(aims_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config folder outside the project, as a deployment would have."""
    folder = aims_env / "etc-aimsflow"
    (folder / "policies").mkdir(parents=True)
    (folder / "policies" / "drift.yaml").write_text("psi_warning: 0.1\n")
    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(folder))
    return folder


def test_spec_content_is_stored_once_by_its_hash(storage, config):
    drift = config / "policies" / "drift.yaml"
    first = _write(storage, [SpecRef.of_file(drift)], "one")
    second = _write(storage, [SpecRef.of_file(drift)], "two")
    digest = sha256_bytes(drift.read_bytes())
    assert (
        first["specs"]
        == second["specs"]
        == [{"path": "$AIMSFLOW_CONFIG_DIR/policies/drift.yaml", "sha256": digest}]
    )
    assert storage.list_files(SPECS_PREFIX) == [digest]  # two records, one blob
    assert storage.get(blob_key(digest)) == drift.read_bytes()
    assert _verify(storage) == []


def test_manifest_names_specs_by_portable_paths_never_machine_paths(storage, config):
    """Project files relative to the project root; configured folders by their variable; anything
    else by its file name. No absolute path of the writing machine enters the manifest."""
    stray = config.parent / "elsewhere" / "fairness.yaml"
    stray.parent.mkdir()
    stray.write_text("max_gap: 0.1\n")
    specs = [
        SpecRef.of_file(PROJECT / "include" / "config" / "datasets.yaml"),
        SpecRef.of_file(config / "policies" / "drift.yaml"),
        SpecRef.of_file(settings.trusted_keys_path()),
        SpecRef.of_file(stray),
    ]
    predicate = _write(storage, specs)
    assert [s["path"] for s in predicate["specs"]] == [
        "include/config/datasets.yaml",
        "$AIMSFLOW_CONFIG_DIR/policies/drift.yaml",
        "$AIMSFLOW_TRUSTED_KEYS",
        "fairness.yaml",
    ]
    text = json.dumps(predicate["specs"])
    assert str(PROJECT) not in text and str(config.parent) not in text
    assert len(storage.list_files(SPECS_PREFIX)) == 4


def test_spec_name_of_a_keys_dir_file(aims_env):
    assert spec_name(settings.keys_dir() / "other.json") == "$AIMSFLOW_KEYS_DIR/other.json"


def test_verify_detects_a_tampered_spec_blob(storage, config):
    drift = config / "policies" / "drift.yaml"
    _write(storage, [SpecRef.of_file(drift)])
    blob = storage.path(blob_key(sha256_bytes(drift.read_bytes())))
    blob.write_text("psi_warning: 9.9\n")
    (problem,) = _verify(storage)
    assert problem.startswith(f"{blob_key(sha256_bytes(drift.read_bytes()))}: ")
    assert "does not hash to its name (changed)" in problem


def test_verify_detects_a_deleted_spec_blob_and_names_the_record(storage, config):
    drift = config / "policies" / "drift.yaml"
    _write(storage, [SpecRef.of_file(drift)])
    digest = sha256_bytes(drift.read_bytes())
    storage.path(blob_key(digest)).unlink()
    (problem,) = _verify(storage)
    assert "spec blob is missing (deleted)" in problem
    assert "$AIMSFLOW_CONFIG_DIR/policies/drift.yaml of records/2026-11-19/data_quality/validate/" in problem


def test_verify_reports_unexpected_objects_among_spec_blobs_but_not_temp_files(storage, config):
    _write(storage, [SpecRef.of_file(config / "policies" / "drift.yaml")])
    (storage.root / SPECS_PREFIX / "notes.txt").write_text("x")
    (storage.root / SPECS_PREFIX / ".abc.1234.tmp").write_text("interrupted write")
    (storage.root / "specs" / "md5").mkdir()
    (storage.root / "specs" / "md5" / "x").write_text("x")
    problems = _verify(storage)
    assert len(problems) == 2 and all("unexpected object among the spec blobs" in p for p in problems)


def test_a_spec_edited_while_the_job_ran_is_refused_and_nothing_is_written(storage, config):
    drift = config / "policies" / "drift.yaml"
    pinned = SpecRef.of_file(drift)
    drift.write_text("psi_warning: 0.5\n")
    with pytest.raises(SpecChangedError, match="changed while the job ran"):
        _write(storage, [pinned])
    assert not storage.exists("records") and not storage.exists(SPECS_PREFIX)


def test_a_deleted_spec_is_refused(storage, config):
    drift = config / "policies" / "drift.yaml"
    pinned = SpecRef.of_file(drift)
    drift.unlink()
    with pytest.raises(SpecChangedError, match="cannot be read"):
        _write(storage, [pinned])


# --- the dirty flag -----------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "include").mkdir(parents=True)
    (repo / "include" / "job.py").write_text("x = 1\n")
    (repo / ".gitignore").write_text("/evidence/\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "initial")
    return repo


def test_clean_checkout_is_not_dirty(repo):
    commit, dirty = git_state(repo)
    assert commit and len(commit) == 40 and dirty is False


def test_modified_tracked_file_makes_the_checkout_dirty(repo):
    (repo / "include" / "job.py").write_text("x = 2\n")
    assert git_state(repo)[1] is True


def test_a_staged_change_is_dirty_too(repo):
    (repo / "include" / "job.py").write_text("x = 3\n")
    _git(repo, "add", "include/job.py")
    assert git_state(repo)[1] is True


def test_untracked_outputs_do_not_make_the_checkout_dirty(repo):
    """The run's own outputs (evidence/, data/, ...) are untracked: counting them would make every
    record after the first one dirty."""
    (repo / "evidence").mkdir()
    (repo / "evidence" / "x.json").write_text("{}")
    (repo / "data").mkdir()
    (repo / "data" / "batch.csv").write_text("a\n")
    assert git_state(repo)[1] is False


def test_not_a_git_checkout_gives_nulls(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # do not find an enclosing repo
    assert git_state(tmp_path) == (None, None)


def test_git_absent_gives_nulls(repo, monkeypatch):
    monkeypatch.setenv("PATH", str(repo / "no-bin-here"))
    assert git_state(repo) == (None, None)


def test_a_hanging_git_times_out_and_gives_nulls(repo, tmp_path, monkeypatch):
    """Bug: only OSError was caught, so a git that hung past the timeout (TimeoutExpired) broke the
    record it was context for."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text("#!/bin/sh\nexec /bin/sleep 5\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    started = dt.datetime.now()
    assert git_state(repo, timeout=0.3) == (None, None)
    assert (dt.datetime.now() - started).total_seconds() < 3


def test_record_carries_the_dirty_flag(storage, repo, monkeypatch):
    monkeypatch.setenv("AIMSFLOW_HOME", str(repo))
    code_version.cache_clear()
    try:
        (repo / "include" / "job.py").write_text("x = 4\n")
        code = _write(storage, [])["code"]
    finally:
        code_version.cache_clear()
    assert code["git_dirty"] is True and len(code["git_commit"]) == 40
