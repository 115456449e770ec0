"""The store's own recurring jobs and their declarations: verify (a record) and seal (the chain)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aimsflow import settings
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.record import MANIFEST, RecordRef, predicate_of
from aimsflow.evidence.seal import SealPlan, SealRefused, SealResult, Witness, seal_pending
from aimsflow.evidence.storage import LocalStorage
from aimsflow.evidence.verify import verify_store
from aimsflow.jobs import Job, PeriodUse, SubjectKind
from aimsflow.periods import Period
from aimsflow.results import JobResult, SpecRef, Status, Subject

log = logging.getLogger(__name__)


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
    """Seal every unsealed record, this job's own record included.

    Under the store lock, once the witness has accepted the store as it is, the job writes its
    record (naming what the seal takes in and what it refuses), then the seal covers it: a cycle
    that ends with a seal leaves nothing pending. When the witness does not accept the store
    (behind it, forked, rewritten, or a witness never started) nothing is sealed and the record is
    ``failed``; records the seal leaves out (signature not valid at the checkpoint time, ended after
    it) make it ``failed`` too, while the rest is sealed."""
    storage = LocalStorage(settings.evidence_root())
    written: list[JobResult] = []

    def announce(plan: SealPlan) -> None:
        refused = [r.as_dict() for r in plan.refused]
        result = JobResult(
            subject=Subject(),
            status=Status.failed if refused else Status.passed,
            summary={"records_to_seal": len(plan.pending) - len(refused) + 1, "refused": refused},
            message=(
                f"sealing {len(plan.pending) - len(refused)} record(s) and this one"
                + (
                    f"; refused {len(refused)}: {refused[0]['record']}: {refused[0]['problem']}"
                    if refused
                    else ""
                )
            ),
        )
        write_record(result)
        written.append(result)

    try:
        outcome = seal_pending(storage, Signer.from_settings(), Witness(), before_seal=announce)
    except SealRefused as exc:
        if written:  # refused after this job's record was written (the clock went back meanwhile)
            raise
        return JobResult(
            subject=Subject(),
            status=Status.failed,
            summary={"records_to_seal": 0, "refused_seal": {"object": exc.object, "problem": exc.problem}},
            message=f"nothing sealed: {exc}",
        )
    late = {r.key for r in outcome.refused} - {r["record"] for r in written[0].summary["refused"]}
    if late:
        log.warning(
            "the seal also left out %s (refused at the checkpoint time); they stay pending", sorted(late)
        )
    return written[0]


def seal_run(dag_id: str, run_id: str) -> SealResult:
    """Seal the records one DAG run wrote (every task and try), as that run's last step, so a record
    stays unsealed for about the length of its run instead of until the next daily seal. Not a job
    with a record of its own: the signed, witnessed checkpoint is the evidence of this step. A refused
    seal raises :class:`SealRefused`; records of the run the seal leaves out stay pending and raise
    too, so the task fails and alerts; the next ``evidence_seal/seal`` records either as ``failed``."""
    storage = LocalStorage(settings.evidence_root())

    def own(key: str) -> bool:
        try:
            producer = predicate_of(storage.get(f"{key}/{MANIFEST}")).get("producer") or {}
        except (OSError, ValueError, KeyError):
            return False  # unreadable: not this run's to seal; verify and the daily seal report it
        return producer.get("dag_id") == dag_id and producer.get("run_id") == run_id

    outcome = seal_pending(storage, Signer.from_settings(), Witness(), select=own)
    if outcome.refused:
        first = outcome.refused[0]
        raise SealRefused(
            first.key, f"{len(outcome.refused)} record(s) of this run left out of the seal: {first.problem}"
        )
    return outcome


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
