"""Readers verify (issue 12, point 6) for retention planning: the plan counts only records whose
signature verifies against the trusted keys, and a record counts as sealed only when a seal whose
signature verifies lists it. Anything else is listed as untrusted, never counted, and makes the plan
``failed`` (nothing of it is executed)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from aimsflow.evidence.keys import Signer
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from aimsflow.results import Status
from aimsflow.retention.job import PLAN as _PLAN
from aimsflow.retention.job import plan_job
from tests.conftest import declared, new_key
from tests.retention.conftest import seal, write_evidence

plan_job = declared(_PLAN, plan_job)
PERIOD = Period.day(dt.date(2028, 2, 29))  # clock 2028-03-01: evidence of cycle-2024 has expired
DAY = dt.date(2024, 5, 1)


def objects(result, kind: str) -> list[str]:
    plan = json.loads(result.files["plan.json"])
    return [i["object_id"] for i in plan[kind]]


@pytest.fixture
def sealed(rt_env, storage: LocalStorage):
    signer = Signer.from_settings()
    refs = [write_evidence(storage, signer, DAY, name=f"r{n}") for n in range(2)]
    seal(storage, signer, rt_env / "witness")
    return refs


def test_a_record_edited_after_signing_is_untrusted_never_a_candidate(sealed, storage, config):
    edited, genuine = sealed
    manifest = storage.root / edited.key / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"loan_applications_raw"', b'"loan_training_set"'))
    result = plan_job(PERIOD, True, now=PERIOD.end)
    assert result.status == Status.failed
    assert [u["key"] for u in result.summary["untrusted_records"]] == [edited.key]
    assert "signed payload differs" in result.summary["untrusted_records"][0]["problem"]
    assert f"evidence/{edited.key}" not in objects(result, "delete") + objects(result, "excluded")
    assert objects(result, "delete") == [f"evidence/{genuine.key}"]  # the boundary: the genuine one


def test_a_record_signed_by_an_untrusted_key_is_untrusted(rt_env, storage, config):
    key_id, seed, _ = new_key("intruder")
    forged = write_evidence(storage, Signer.from_seed_b64(key_id, seed), DAY)
    result = plan_job(PERIOD, True, now=PERIOD.end)
    assert result.status == Status.failed and result.summary["to_delete"] == 0
    (untrusted,) = result.summary["untrusted_records"]
    assert untrusted["key"] == forged.key and "unknown key 'intruder'" in untrusted["problem"]


def test_a_forged_seal_does_not_make_a_record_sealed_hence_disposable(rt_env, storage, config):
    """An insider copies seal 1 as seal 2 listing an unsealed record: the forged seal does not verify,
    so the record stays 'not sealed yet' (a tombstone must name a real seal)."""
    signer = Signer.from_settings()
    write_evidence(storage, signer, DAY, name="sealed")
    seal(storage, signer, rt_env / "witness")
    unsealed = write_evidence(storage, signer, DAY, name="late")
    forged = storage.root / "seals" / "00000002"
    forged.mkdir()
    body = json.loads((storage.root / "seals" / "00000001" / "seal.json").read_bytes())
    body.update(sequence=2, leaves=[{"record": unsealed.key, "manifest_sha256": unsealed.manifest_sha256}])
    (forged / "seal.json").write_text(json.dumps(body))
    (forged / "seal.dsse.json").write_bytes(
        (storage.root / "seals" / "00000001" / "seal.dsse.json").read_bytes()
    )
    result = plan_job(PERIOD, True, now=PERIOD.end)
    assert result.status == Status.failed
    assert "seals/00000002" in [u["key"] for u in result.summary["untrusted_records"]]
    assert f"evidence/{unsealed.key}" not in objects(result, "delete")
    plan = json.loads(result.files["plan.json"])
    (kept,) = [i for i in plan["excluded"] if i["object_id"] == f"evidence/{unsealed.key}"]
    assert any("not sealed yet" in r for r in kept["reasons"])
