"""The store's own recurring jobs: verify (a record) and seal (the chain)."""

from __future__ import annotations

from aimsflow import settings
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.seal import SealResult, Witness, seal_pending
from aimsflow.evidence.storage import LocalStorage
from aimsflow.evidence.verify import verify_store
from aimsflow.periods import Period
from aimsflow.results import JobResult, SpecRef, Status, Subject

VERIFY_CHECK = "evidence/verify"
VERIFY_CONTROLS = ("7.5.3", "9.1", "A.6.2.8")


def verify_job(period: Period) -> JobResult:
    """Verify the whole store (not just ``period``): a broken chain anywhere is a finding today."""
    storage = LocalStorage(settings.evidence_root())
    keys_path = settings.trusted_keys_path()
    report = verify_store(storage, TrustedKeys.load(keys_path), Witness())
    summary = report.as_dict()
    summary["pending"] = len(report.pending)
    return JobResult(
        check=VERIFY_CHECK,
        subject=Subject(),
        status=Status.passed if report.ok else Status.failed,
        controls=VERIFY_CONTROLS,
        summary=summary,
        specs=[SpecRef.of_file(keys_path)],
        message="store intact" if report.ok else f"{len(report.problems)} problem(s): {report.problems[0]}",
    )


def seal_job() -> SealResult:
    return seal_pending(LocalStorage(settings.evidence_root()), Signer.from_settings(), Witness())
