"""The store's own recurring jobs and their declarations: verify (a record) and seal (the chain)."""

from __future__ import annotations

from collections.abc import Callable

from aimsflow import settings
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.record import MANIFEST, RecordRef, predicate_of
from aimsflow.evidence.seal import SealResult, Witness, record_keys, seal_pending, sealed_keys
from aimsflow.evidence.storage import LocalStorage
from aimsflow.evidence.verify import verify_store
from aimsflow.jobs import Job, PeriodUse, SubjectKind
from aimsflow.periods import Period
from aimsflow.results import JobResult, SpecRef, Status, Subject


def verify(period: Period) -> JobResult:
    """Verify the whole store (not just ``period``): a broken chain anywhere is a finding today."""
    storage = LocalStorage(settings.evidence_root())
    keys_path = settings.trusted_keys_path()
    report = verify_store(storage, TrustedKeys.load(keys_path), Witness())
    summary = report.as_dict()
    summary["pending"] = len(report.pending)
    return JobResult(
        subject=Subject(),
        status=Status.passed if report.ok else Status.failed,
        summary=summary,
        specs=[SpecRef.of_file(keys_path)],
        message="store intact" if report.ok else f"{len(report.problems)} problem(s): {report.problems[0]}",
    )


def seal(period: Period, *, write_record: Callable[[JobResult], RecordRef]) -> JobResult:
    """Seal every unsealed record, this job's own record included: the record is written first
    (naming how many records the seal takes in), then the seal covers it, so a cycle that ends with
    a seal leaves nothing pending."""
    storage = LocalStorage(settings.evidence_root())
    sealed = sealed_keys(storage)
    pending = sum(1 for key in record_keys(storage) if key not in sealed)
    result = JobResult(
        subject=Subject(),
        status=Status.passed,
        summary={"records_to_seal": pending + 1},
        message=f"sealing {pending} record(s) and this one",
    )
    write_record(result)
    seal_pending(storage, Signer.from_settings(), Witness())
    return result


def seal_run(dag_id: str, run_id: str) -> SealResult:
    """Seal the records one DAG run wrote (every task and try), as that run's last step, so a record
    stays unsealed for about the length of its run instead of until the next daily seal. Not a job
    with a record of its own: the signed, witnessed checkpoint is the evidence of this step, and a
    refusal fails the run and is recorded by the next ``evidence_seal/seal``."""
    storage = LocalStorage(settings.evidence_root())

    def own(key: str) -> bool:
        try:
            producer = predicate_of(storage.get(f"{key}/{MANIFEST}")).get("producer") or {}
        except (OSError, ValueError, KeyError):
            return False  # unreadable: not this run's to seal; verify and the daily seal report it
        return producer.get("dag_id") == dag_id and producer.get("run_id") == run_id

    return seal_pending(storage, Signer.from_settings(), Witness(), select=own)


_DAG = "evidence_seal"
VERIFY = Job(
    _DAG,
    "verify",
    ("7.5.3", "9.1", "A.6.2.8"),
    SubjectKind.aims,
    PeriodUse.label,
    verify,
    "re-hash every record, check every signature, the seal chain and the witness",
)
SEAL = Job(
    _DAG,
    "seal",
    ("7.5.3", "A.6.2.8"),
    SubjectKind.aims,
    PeriodUse.label,
    seal,
    "seal every new record into the signed hash chain and update the witness",
    reads=("*",),
    seals=True,
)
JOBS = (VERIFY, SEAL)
