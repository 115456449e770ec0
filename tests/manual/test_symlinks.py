"""Review: the manual_evidence DAG follows a symbolic link at ``inbox/.ingested``.

Someone with write access to the inbox (only) makes ``.ingested`` a link to any folder the Airflow
worker can write (e.g. the DAGs folder); file_away then creates ``<record id>/`` there and moves the
dropped document (any bytes, any name, e.g. ``x.py``) into it, as the worker's user.

The fixed job follows no link below the inbox: a link (or a non-folder) in the processed area refuses
the drop with an ``error`` record naming it, the drop stays untouched; files of a drop are checked and
read through one descriptor, so an entry swapped for a link, a FIFO or a socket after a look is
refused, never read. The inbox path itself may be a link (the operator's setting): resolved once."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from aimsflow import settings
from aimsflow.airflow_glue import producer_from_context
from aimsflow.evidence.storage import LocalStorage
from aimsflow.manual.job import FilingError, file_away, scan_drops
from aimsflow.results import JobError, Status, sha256_bytes
from tests.manual.conftest import drop, manual_records, run_drops, task_context

SECRET = b"-----BEGIN PRIVATE KEY----- not for the evidence store\n"


def _message(rec) -> str:
    return json.loads(LocalStorage(settings.evidence_root()).get(f"{rec.key}/manifest.json"))["predicate"][
        "message"
    ]


def _state(inbox, *names):
    """Bytes and modification time (ns) of inbox files: what 'untouched' compares."""
    return {n: ((inbox / n).read_bytes(), (inbox / n).stat().st_mtime_ns) for n in names}


def _stored_bytes() -> list[bytes]:
    """Every file the evidence store holds (what a record could have carried off)."""
    root = settings.evidence_root()
    return [p.read_bytes() for p in root.rglob("*") if p.is_file()]


def _record_id(map_index: int = 0, try_number: int = 1) -> str:
    """The record id a task try will write under: predictable from the run, as an attacker may."""
    return producer_from_context(task_context(map_index, try_number)).record_id()


def test_filing_does_not_follow_a_linked_ingested_folder(inbox, tmp_path):
    """Bug (review finding 2): ``move_out`` created ``.ingested/<record id>/`` and renamed the drop
    through a symbolic link at ``inbox/.ingested``, so an inbox writer could put any file (a DAG file)
    in any folder the worker may write."""
    elsewhere = tmp_path / "dags"  # stands for any folder the worker may write
    elsewhere.mkdir()
    os.symlink(elsewhere, inbox / ".ingested")
    item = drop(inbox, "payload.py", b"print('runs in the DAG processor')\n")
    out = run_drops([item])
    landed = list(elsewhere.rglob("payload.py"))
    assert not landed, f"drop moved through the .ingested link to {landed} (outcome {out})"


def test_a_linked_ingested_folder_refuses_the_drop_with_an_error_record(inbox, tmp_path):
    elsewhere = tmp_path / "dags"
    elsewhere.mkdir()
    os.symlink(elsewhere, inbox / ".ingested")
    item = drop(inbox, "payload.py", b"print('x')\n")
    before = _state(inbox, "payload.py", "payload.py.evidence.yaml")
    (out,) = run_drops([item])
    assert isinstance(out, JobError), out
    (rec,) = manual_records()
    assert rec.status == Status.error
    assert (
        f".ingested: a symbolic link: the processed area is never reached through a link (to '{elsewhere}')"
        in (_message(rec))
    )
    assert rec.summary["left_in_inbox"] == ["payload.py", "payload.py.evidence.yaml"]
    assert _state(inbox, "payload.py", "payload.py.evidence.yaml") == before
    assert list(elsewhere.iterdir()) == [] and (inbox / ".ingested").is_symlink()


def test_an_ingested_entry_that_is_no_folder_refuses_the_drop(inbox):
    (inbox / ".ingested").write_bytes(b"a file where the processed area should be")
    item = drop(inbox, "policy.md")
    (out,) = run_drops([item])
    assert isinstance(out, JobError)
    (rec,) = manual_records()
    assert rec.status == Status.error and ".ingested: not a folder" in _message(rec)
    assert (inbox / "policy.md").exists() and (inbox / "policy.md.evidence.yaml").exists()


def test_a_record_folder_precreated_as_a_link_refuses_the_drop(inbox, tmp_path):
    """Record ids are predictable from the run (task, map index, try): an inbox writer can plant
    ``.ingested/<record id>`` as a link before the run."""
    elsewhere = tmp_path / "dags"
    elsewhere.mkdir()
    (inbox / ".ingested").mkdir()
    os.symlink(elsewhere, inbox / ".ingested" / _record_id())
    item = drop(inbox, "payload.py", b"print('x')\n")
    before = _state(inbox, "payload.py", "payload.py.evidence.yaml")
    (out,) = run_drops([item])
    assert isinstance(out, JobError), out
    (rec,) = manual_records()
    assert rec.status == Status.error
    assert f".ingested/{_record_id()}: a symbolic link" in _message(rec)
    assert _state(inbox, "payload.py", "payload.py.evidence.yaml") == before
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("where", [".ingested", "record folder"])
def test_a_link_made_between_record_and_filing_is_refused_then_recorded(inbox, tmp_path, where):
    """The link appears after the record is written: filing refuses (FilingError, nothing moved), the
    task's retry writes the ``error`` record naming the link, the next run's scan does not move it."""
    from aimsflow import airflow_glue as glue
    from aimsflow.manual.job import DOCUMENT

    elsewhere = tmp_path / "dags"
    elsewhere.mkdir()
    item = drop(inbox, "payload.py", b"print('x')\n")
    before = _state(inbox, "payload.py", "payload.py.evidence.yaml")
    outcome = glue.run_job(task_context(), DOCUMENT, item=item)
    assert outcome["status"] == "passed"
    if where == ".ingested":
        os.symlink(elsewhere, inbox / ".ingested")
        named = ".ingested"
    else:
        (inbox / ".ingested").mkdir()
        os.symlink(elsewhere, inbox / ".ingested" / _record_id())
        named = f".ingested/{_record_id()}"
    with pytest.raises(FilingError, match="a symbolic link"):
        file_away(outcome, item)
    assert _state(inbox, "payload.py", "payload.py.evidence.yaml") == before
    assert list(elsewhere.iterdir()) == []

    (retry,) = run_drops([item], try_number=2)
    assert isinstance(retry, JobError)
    (error,) = manual_records(status=Status.error)
    assert f"{named}: a symbolic link" in _message(error)

    assert scan_drops(settle_minutes=0) == []  # reported within the day; the stuck drop is not moved
    assert _state(inbox, "payload.py", "payload.py.evidence.yaml") == before
    assert list(elsewhere.iterdir()) == []


def test_a_linked_inbox_path_is_resolved_once_and_works(aims_env, tmp_path, monkeypatch):
    """The inbox setting may be a link (the operator's choice, e.g. a mounted share): it is resolved
    when the task opens the inbox; the drop is filed inside the real folder, the link left as it is."""
    real = tmp_path / "share" / "inbox"
    real.mkdir(parents=True)
    linked = aims_env / "inbox"
    os.symlink(real, linked)
    monkeypatch.setenv("AIMSFLOW_MANUAL_INBOX", str(linked))
    item = drop(real, "policy.md")
    (out,) = run_drops([item])
    assert out["status"] == "passed", out
    assert (real / ".ingested" / _record_id() / "policy.md").is_file()
    assert linked.is_symlink() and not (real / "policy.md").exists()


def _swap_after_first_look(monkeypatch, name: str, swap) -> list[str]:
    """Run ``swap()`` right after the first look at the inbox entry ``name`` that does not follow a
    link (``os.lstat``, or ``os.stat(..., follow_symlinks=False)`` as pathlib's is_symlink makes):
    the entry changes between the check and the read, as an inbox writer racing the worker can."""
    done: list[str] = []
    real_lstat, real_stat = os.lstat, os.stat

    def after(path, result):
        if (
            not done
            and os.fspath(path).endswith(name)
            and not os.fspath(path).endswith(f"{name}.evidence.yaml")
        ):
            done.append(os.fspath(path))
            swap()
        return result

    def lstat(path, *args, **kwargs):
        return after(path, real_lstat(path, *args, **kwargs))

    def stat_(path, *args, **kwargs):
        result = real_stat(path, *args, **kwargs)
        return after(path, result) if kwargs.get("follow_symlinks") is False else result

    monkeypatch.setattr(os, "lstat", lstat)
    monkeypatch.setattr(os, "stat", stat_)
    return done


def test_a_document_swapped_for_a_link_after_its_check_is_not_read(inbox, tmp_path, monkeypatch):
    """Bug (review finding 2): the job checked ``is_symlink()`` and then read the path again, so a
    document swapped for a link in between (to the signing key, say) was hashed and stored."""
    secret = tmp_path / "signing.key"
    secret.write_bytes(SECRET)
    item = drop(inbox, "policy.md", b"# AI policy\n")
    items = scan_drops(settle_minutes=0)
    assert items == [item]

    def swap():
        os.symlink(secret, inbox / "swap.tmp")
        os.replace(inbox / "swap.tmp", inbox / "policy.md")  # atomic: the name is never absent

    with monkeypatch.context() as patch:
        looked = _swap_after_first_look(patch, "policy.md", swap)
        (out,) = run_drops(items)
    assert looked, "the swap never happened: the test no longer reaches the read"
    assert isinstance(out, JobError), out
    (rec,) = manual_records()
    assert rec.status == Status.error and "policy.md: a symbolic link: links are not followed" in _message(
        rec
    )
    assert rec.summary["document_sha256"] is None
    assert sha256_bytes(SECRET) not in json.dumps(rec.summary)
    assert not [b for b in _stored_bytes() if SECRET in b]
    assert (inbox / "policy.md").is_symlink() and not (inbox / ".ingested").exists()


def test_a_sidecar_swapped_for_a_link_after_its_check_is_not_parsed(inbox, tmp_path, monkeypatch):
    """Bug (review finding 2): the sidecar was hashed and stored from one read and parsed from a
    second read by its path, so a sidecar swapped for a link in between had its target parsed (and
    its values quoted in the record). It is parsed from the very bytes hashed and stored."""
    secret = tmp_path / "secret.yaml"
    secret.write_bytes(b"password: hunter2\n")
    item = drop(inbox, "policy.md")
    before = (inbox / "policy.md.evidence.yaml").read_bytes()

    def swap():
        os.symlink(secret, inbox / "swap.tmp")
        os.replace(inbox / "swap.tmp", inbox / "policy.md.evidence.yaml")

    done = []
    real_open, real_read_bytes = os.open, Path.read_bytes

    def once():
        if not done:
            done.append(True)
            swap()

    def open_(path, flags, *args, **kwargs):  # the sidecar's descriptor is open: swap the entry
        fd = real_open(path, flags, *args, **kwargs)
        if os.fspath(path) == "policy.md.evidence.yaml":
            once()
        return fd

    def read_bytes(path):  # the sidecar was read by its path (as before the fix): swap the entry
        data = real_read_bytes(path)
        if path.name == "policy.md.evidence.yaml":
            once()
        return data

    with monkeypatch.context() as patch:
        patch.setattr(os, "open", open_)
        patch.setattr(Path, "read_bytes", read_bytes)
        (out,) = run_drops([item])
    assert done and isinstance(out, dict) and out["status"] == "passed", out
    (rec,) = manual_records()
    assert rec.summary["sidecar_sha256"] == sha256_bytes(before) and rec.summary["title"] == "AI policy"
    assert "hunter2" not in json.dumps(rec.summary)
    assert not [b for b in _stored_bytes() if b"hunter2" in b]


def _fifo(path):
    os.mkfifo(path)


def _socket(path):
    """A socket file: a non-regular file anyone may create (as a device needs privileges)."""
    cwd = os.getcwd()
    os.chdir(path.parent)  # a relative name: socket paths are limited to ~108 bytes
    try:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(path.name)
        sock.close()
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("make", [_fifo, _socket], ids=["fifo", "socket"])
def test_a_sidecar_that_is_no_regular_file_is_refused_without_blocking(inbox, make):
    item = drop(inbox, "policy.md", sidecar=None)
    make(inbox / "policy.md.evidence.yaml")
    item["sidecar"] = "policy.md.evidence.yaml"
    (out,) = run_drops([item])
    assert isinstance(out, JobError), out
    (rec,) = manual_records()
    assert "policy.md.evidence.yaml: not a regular file" in _message(rec)
    assert (inbox / "policy.md").exists() and not (inbox / ".ingested").exists()


def test_a_sidecar_swapped_for_a_fifo_after_its_check_is_refused_without_blocking(inbox, monkeypatch):
    """A FIFO opened for reading blocks until a writer comes: the job opens without blocking and
    refuses what its descriptor shows is no regular file."""
    item = drop(inbox, "policy.md")

    def swap():
        os.mkfifo(inbox / "swap.tmp")
        os.replace(inbox / "swap.tmp", inbox / "policy.md.evidence.yaml")

    real_lstat = os.lstat
    done = []

    def lstat(path, *args, **kwargs):
        result = real_lstat(path, *args, **kwargs)
        if not done and os.fspath(path).endswith("policy.md.evidence.yaml"):
            done.append(path)
            swap()
        return result

    with monkeypatch.context() as patch:
        patch.setattr(os, "lstat", lstat)
        (out,) = run_drops([item])
    assert done and isinstance(out, JobError), out
    (rec,) = manual_records()
    assert "policy.md.evidence.yaml: not a regular file" in _message(rec)
