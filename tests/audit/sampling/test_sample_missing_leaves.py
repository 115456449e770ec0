"""Review finding 5 in sampling: a sealed record of the period deleted from the store was silently
left out of the sample's population (the sample, and the bundle made from it, then verified OK). The
command now exits 1 naming it, and the signed sample record names every refused record of the sampled
period (``untrusted_in_period``), so the auditor sees that the population lacks it."""

from __future__ import annotations

import json
import shutil

from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.listing import load_verified
from tests.audit.sampling.conftest import run

ARGS = ("evidence", "sample", "--period", "2026-Q3", "--n", "100", "--seed", "s", "--json")


def test_a_deleted_sealed_record_of_the_period_is_named_by_the_sample(store, capsys):
    gone = store.refs[1]  # the failing data quality record of 2026-07-03, sealed in seal 1
    shutil.rmtree(store.storage.root / gone.key)
    code, out, err = run(capsys, *ARGS)
    assert code == 1
    doc = json.loads(out)
    assert doc["population"]["size"] == 24 and gone.key not in {d["record"] for d in doc["drawn"]}
    missing = {"record": gone.key, "problem": "sealed in seal 1, missing from the store (deleted record)"}
    assert doc["untrusted_in_period"] == [missing] and doc["untrusted_records"] == [missing]
    assert f"{gone.key}: sealed in seal 1, missing from the store" in err
    # the signed, sealed sample record itself names it
    loaded = load_verified(store.storage, TrustedKeys.load())
    assert loaded.predicates[doc["record"]]["summary"]["untrusted_in_period"] == [missing]


def test_a_deleted_record_outside_the_period_is_reported_but_not_named_by_the_sample(store, capsys):
    """The boundary: the June record (sealed, outside 2026-Q3) is gone. The store is not sound (exit 1,
    listed under ``untrusted_records``), but the sample's population lacks nothing of its period."""
    june = store.refs[-1]
    shutil.rmtree(store.storage.root / june.key)
    code, out, _ = run(capsys, *ARGS)
    doc = json.loads(out)
    assert code == 1 and doc["population"]["size"] == 25
    assert doc["untrusted_in_period"] == [] and [u["record"] for u in doc["untrusted_records"]] == [june.key]


def test_a_sound_store_gives_a_sample_naming_nothing(store, capsys):
    code, out, _ = run(capsys, *ARGS)
    doc = json.loads(out)
    assert code == 0 and doc["untrusted_in_period"] == [] and doc["untrusted_records"] == []
