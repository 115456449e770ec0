"""Attack (issue 12): readers act on records they never verified. The risk jobs read only records whose
signature verifies against the trusted keys; a forged or unsigned folder is a finding in the reader's
own record (``failed``, naming the folder and the problem), never a verdict, a ledger or a closure."""

from __future__ import annotations

import datetime as dt
import json

from aimsflow.results import Status
from aimsflow.risk.evidence import LEDGER_FILE, load_evidence
from aimsflow.risk.job import CLOSE as _CLOSE
from aimsflow.risk.job import close_nonconformity
from aimsflow.risk.nonconformity import current_nonconformities
from tests.conftest import declared
from tests.risk.conftest import CLEAN

close_nonconformity = declared(_CLOSE, close_nonconformity)

D1, D2 = dt.date(2026, 11, 24), dt.date(2026, 11, 25)
CHECK = f"data_quality/{CLEAN}"
WHO = {"triggered_by": "ui"}


def _close(store, nc_id):
    return close_nonconformity(
        nc_id, "null incomes in the export", "export fixed", "alice", storage=store, **WHO
    )


def test_a_forged_passed_record_does_not_satisfy_a_closure(store, write, forger):
    """Attack: a forged "passed" record (signed with the insider's own key under the trusted key id)
    was counted as the later pass that closing needs. It is not counted: closing is refused with a
    ``failed`` record naming the forged folder and its problem, even once a genuine pass exists."""
    write(CHECK, D1, Status.failed)
    (nc,) = current_nonconformities(store)[0]
    forged = write(CHECK, D2, Status.passed, signer=forger)
    refused = _close(store, nc.id)
    assert refused.status == Status.failed
    assert refused.summary["untrusted_records"] == [
        {"record": forged.key, "problem": "signature by key 'test-key-1' does not match"}
    ]
    assert forged.key in refused.message and "evidence_of_pass" not in refused.summary
    # A genuine pass does not make the forged folder acceptable: closing waits until it is resolved.
    write(CHECK, D2, Status.passed, run_after=dt.datetime.now(dt.UTC))
    assert _close(store, nc.id).status == Status.failed
    # The forged folder removed (the incident handled), the same request is granted.
    store.remove_dir(forged.key)
    granted = _close(store, nc.id)
    assert granted.status == Status.passed and "untrusted_records" not in granted.summary


def test_a_forged_reassessment_with_a_future_ended_at_does_not_close_nonconformities(store, write, forger):
    """Attack: a forged reassessment record whose ledger shows the nonconformity closed, dated a year
    ahead so it stayed "the newest ledger", closed it for every later derivation. It is not read."""
    write(CHECK, D1, Status.failed)
    (nc,) = current_nonconformities(store)[0]
    closed = {
        **nc.as_dict(),
        "status": "closed",
        "closure": {
            "record": "records/2026-11-25/nonconformity_close/close/x",
            "closed_at": "2027-11-25T00:00:00+00:00",
            "closed_by": "mallory",
            "root_cause": "nothing",
            "corrective_action": "nothing",
            "evidence_of_pass": "records/2026-11-25/x",
        },
    }
    forged = write(
        "risk_reassessment/reassess",
        D1,
        Status.passed,
        dataset=None,
        dag_id="risk_reassessment",
        task_id="reassess",
        files={LEDGER_FILE: json.dumps({"nonconformities": [closed]}).encode()},
        signer=forger,
        ended_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=365),
    )
    ledger, _, source = current_nonconformities(store)
    assert source is None and [n.id for n in ledger] == [nc.id] and ledger[0].is_open
    evidence = load_evidence(store)
    assert forged.key not in {r.key for r in evidence.records}
    assert [u.key for u in evidence.rejected] == [forged.key]


def test_a_genuine_record_dated_in_the_future_is_not_read(store, write):
    """Boundary of the attack above: even under the trusted key, a record not sealed yet that claims
    to have ended after the moment it is read is refused (key validity cannot be judged at a moment
    that has not come); one that ended now is read."""
    now = dt.datetime.now(dt.UTC)
    future = write(CHECK, D1, Status.failed, ended_at=now + dt.timedelta(hours=1))
    present = write(CHECK, D2, Status.failed, ended_at=now)
    evidence = load_evidence(store)
    assert [r.key for r in evidence.records] == [present.key]
    (finding,) = evidence.rejected
    assert finding.key == future.key and "in the future" in finding.problem


def test_a_ledger_file_edited_in_a_genuine_reassessment_record_is_not_read(store, write):
    """Attack, variant: the signature covers the manifest only, so the ledger file beside it could be
    edited to show the nonconformity closed. A result file is read only when its SHA-256 is the one
    the signed manifest lists; the edited ledger is skipped and named as a finding."""
    write(CHECK, D1, Status.failed)
    ledger, _, _ = current_nonconformities(store)
    genuine = json.dumps({"nonconformities": [nc.as_dict() for nc in ledger]}).encode()
    record = write(
        "risk_reassessment/reassess",
        D1,
        Status.warning,
        dataset=None,
        dag_id="risk_reassessment",
        task_id="reassess",
        files={LEDGER_FILE: genuine},
    )
    assert current_nonconformities(store)[2] == record.key  # the genuine file is read
    edited = json.loads(genuine)
    edited["nonconformities"][0]["closure"] = {
        "record": "x",
        "closed_at": "2026-11-26T00:00:00+00:00",
        "closed_by": "mallory",
        "root_cause": "-",
        "corrective_action": "-",
        "evidence_of_pass": "y",
    }
    store.path(f"{record.key}/{LEDGER_FILE}").write_text(json.dumps(edited))
    evidence = load_evidence(store)
    ledger, _, source = current_nonconformities(store, evidence)
    assert source is None and ledger[0].is_open
    assert evidence.untrusted() == [
        {
            "record": f"{record.key}/{LEDGER_FILE}",
            "problem": "file differs from the SHA-256 in the signed manifest (edited)",
        }
    ]


def test_an_unsigned_seal_zero_does_not_reorder_the_log_for_readers(store, write):
    """Attack (found in review): one unsigned file ``seals/00000000/seal.json`` listing an earlier
    failure and a failure recorded after a closure put that later failure before the closure for every
    reader (readers took seal positions from unverified seal bodies, lowest sequence first), so it
    was silently attached to the closed nonconformity; verify, which reads seals 1..n, said intact.
    Readers now take positions from the verified log only, and verify reports the stray seal."""
    from aimsflow.evidence.keys import Signer, TrustedKeys
    from aimsflow.evidence.record import MANIFEST
    from aimsflow.evidence.seal import Witness, seal_pending
    from aimsflow.evidence.verify import verify_store
    from aimsflow.results import sha256_bytes

    def seal():
        seal_pending(store, Signer.from_settings(), Witness())

    d3 = D2 + dt.timedelta(days=1)
    first = write(CHECK, D2, Status.failed)
    seal()
    (nc,) = current_nonconformities(store)[0]
    write(CHECK, d3, Status.passed, run_after=dt.datetime.now(dt.UTC))
    assert _close(store, nc.id).status == Status.passed
    seal()
    later = write(CHECK, d3, Status.failed, run_after=dt.datetime.now(dt.UTC))
    seal()
    assert sum(n.is_open for n in current_nonconformities(store)[0]) == 1
    assert verify_store(store, TrustedKeys.load(), Witness()).ok

    leaves = [
        {"record": k, "manifest_sha256": sha256_bytes(store.get(f"{k}/{MANIFEST}"))}
        for k in (first.key, later.key)
    ]
    planted = store.root / "seals" / "00000000"
    planted.mkdir()
    (planted / "seal.json").write_text(
        json.dumps({"sealed_at": dt.datetime.now(dt.UTC).isoformat(), "leaves": leaves})
    )
    assert sum(n.is_open for n in current_nonconformities(store)[0]) == 1
    report = verify_store(store, TrustedKeys.load(), Witness())
    assert not report.ok and any(p.object.startswith("seals/00000000") for p in report.problems)
    loaded = load_evidence(store)
    assert any(u["record"].startswith("seals/00000000") for u in loaded.untrusted())


def test_a_pending_record_backdated_by_a_retired_key_does_not_close(store, write):
    """Attack (found in review): readers judged a pending record's key at its own, self-declared
    ``ended_at``, so a retired (stolen) key signing a "passed" record backdated into its window
    satisfied a closure, although the seal refuses it and verify flags it. Pending records are now
    judged at the moment they are read."""
    from aimsflow import settings
    from aimsflow.evidence.keys import Signer
    from tests.conftest import new_key

    path = settings.trusted_keys_path()
    doc = json.loads(path.read_text())
    kid, seed, pub = new_key("retired-2024")
    doc["keys"].append(
        {
            "key_id": kid,
            "public_key": pub,
            "valid_from": "2020-01-01T00:00:00+00:00",
            "valid_until": "2025-01-01T00:00:00+00:00",
        }
    )
    path.write_text(json.dumps(doc))
    stolen = Signer.from_seed_b64(kid, seed)

    write(CHECK, D1, Status.failed)
    (nc,) = current_nonconformities(store)[0]
    forged = write(
        CHECK,
        D2,
        Status.passed,
        run_after=dt.datetime.now(dt.UTC),
        signer=stolen,
        ended_at=dt.datetime(2024, 6, 1, tzinfo=dt.UTC),
    )
    refused = _close(store, nc.id)
    assert refused.status == Status.failed
    assert forged.key in [u["record"] for u in refused.summary["untrusted_records"]]
