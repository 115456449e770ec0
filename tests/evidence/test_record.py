from __future__ import annotations

import base64
import datetime as dt
import json
import os

import pytest

from aimsflow.evidence import storage as storage_mod
from aimsflow.evidence.dsse import pae, parse_envelope
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.listing import filter_records, load_summaries
from aimsflow.evidence.record import ENVELOPE, MANIFEST, Producer
from aimsflow.evidence.storage import WriteOnceError
from aimsflow.results import Status, sha256_bytes


def test_record_folder_manifest_and_signature(storage, make_record):
    ref = make_record()
    folder = storage.path(ref.key)
    assert ref.key.startswith("records/2026-11-19/data_quality/validate/validate.try1-")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "charts/a.txt",
        ENVELOPE,
        MANIFEST,
        "summary.json",
    ]
    manifest = (folder / MANIFEST).read_bytes()
    statement = json.loads(manifest)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    p = statement["predicate"]
    assert p["check"] == "data_quality/validate" and p["status"] == "passed" and p["controls"] == ["A.7.4"]
    assert p["period"] == {
        "start": "2026-11-19T00:00:00+00:00",
        "end": "2026-11-20T00:00:00+00:00",
        "label": "2026-11-19",
    }
    assert p["producer"]["dag_id"] == "data_quality" and p["producer"]["try_number"] == 1
    assert p["triggered_by"] == {"user": "tester", "params": {"x": 1}}
    assert p["code"]["aimsflow"] and "pandas" in p["code"]["packages"]
    assert {f["path"]: f["sha256"] for f in p["files"]} == {
        "charts/a.txt": sha256_bytes(b"chart"),
        "summary.json": sha256_bytes(b'{"rows": 10}\n'),
    }
    ptype, payload, sigs = parse_envelope((folder / ENVELOPE).read_bytes())
    assert payload == manifest  # signed bytes are the stored bytes
    keys = TrustedKeys.load()
    assert sigs[0]["keyid"] == "test-key-1"
    assert (
        keys.check(
            "test-key-1", pae(ptype, payload), base64.b64decode(sigs[0]["sig"]), dt.datetime.now(dt.UTC)
        )
        is None
    )


def test_write_once_same_producer_cannot_write_twice(make_record):
    make_record()
    with pytest.raises(WriteOnceError):
        make_record()


def test_retry_writes_its_own_record_and_latest_try_is_current(storage, make_record):
    first = make_record(try_number=1, status=Status.error)
    second = make_record(try_number=2, status=Status.passed)
    assert first.key != second.key
    records = load_summaries(storage)
    assert len(records) == 2
    current = filter_records(records)
    assert [r.key for r in current] == [second.key]
    history = filter_records(records, history=True)
    assert {r.key: r.superseded for r in history} == {first.key: True, second.key: False}


def test_later_run_supersedes_earlier_run_even_with_fewer_tries(storage, make_record):
    old = make_record(run="r1", try_number=3, status=Status.failed)
    new = make_record(run="r2", try_number=1, run_after=dt.datetime(2026, 11, 21, tzinfo=dt.UTC))
    other_day = make_record(day=dt.date(2026, 11, 18), run="r3")
    current = {r.key for r in filter_records(load_summaries(storage))}
    assert current == {new.key, other_day.key}
    assert old.key not in current


def test_listing_filters(storage, make_record):
    make_record(check="data_quality/validate", status=Status.failed)
    make_record(check="bias/loans", task_id="bias", dataset="loans_train")
    records = load_summaries(storage)
    assert [r.check for r in filter_records(records, status="failed")] == ["data_quality/validate"]
    assert [r.check for r in filter_records(records, dataset="loans_train")] == ["bias/loans"]
    assert len(filter_records(records, control="A.7.4", dag="data_quality")) == 2
    assert filter_records(records, control="A.5.4") == []


def test_reserved_and_unsafe_file_names_are_refused(make_record):
    with pytest.raises(ValueError, match="reserved"):
        make_record(files={MANIFEST: b"{}"})
    with pytest.raises(ValueError, match="invalid result file name"):
        make_record(files={"../escape.txt": b"x"}, try_number=2)


@pytest.mark.parametrize("failing_step", range(6))
def test_fault_at_any_write_step_leaves_no_partial_record(storage, make_record, monkeypatch, failing_step):
    """Injects a crash at the n-th file write / fsync / rename: either no record or a whole one."""
    calls = {"n": 0}
    real_write, real_rename = storage_mod.LocalStorage._write_file, os.rename

    def counting(fn):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == failing_step + 1:
                raise OSError(f"injected fault at step {failing_step}")
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(storage_mod.LocalStorage, "_write_file", staticmethod(counting(real_write)))
    monkeypatch.setattr(storage_mod.os, "rename", counting(real_rename))
    with pytest.raises(OSError, match="injected"):
        make_record()
    assert not (storage.root / "records").exists() or not any((storage.root / "records").rglob("*.json"))
    assert not any((storage.root / ".staging").iterdir())
    monkeypatch.undo()


def test_producer_ids_distinguish_map_index_and_try():
    base = dict(kind="task", dag_id="d", run_id="r", task_id="t", try_number=1)
    ids = {
        Producer(**base).record_id(),
        Producer(**{**base, "map_index": 0}).record_id(),
        Producer(**{**base, "try_number": 2}).record_id(),
        Producer.command_run("upload").record_id(),
        Producer.command_run("upload").record_id(),
    }
    assert len(ids) == 5
    assert Producer(**{**base, "max_tries": 2, "try_number": 3}).is_final_try
    assert not Producer(**{**base, "max_tries": 2, "try_number": 2}).is_final_try
