"""How verify judges a disposal (tombstone, certificate, plan), pinned where mutation testing found it
unchecked: survivors of ``make mutation`` (target evidence) in ``verify._check_disposals``,
``_tombstones``, ``_disposal_basis``, ``_plan_document``, ``_signed_predicate`` and
``_leaf_in_period``. What is at stake is the verdict on a missing sealed record (lawful disposal or
deletion) and the problem verify names. Each test names the mutants it kills (function, change)."""

from __future__ import annotations

import datetime as dt
import json
import shutil

from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import Producer, RunContext, write_record
from aimsflow.evidence.storage import LocalStorage
from aimsflow.evidence.verify import _leaf_in_period
from aimsflow.periods import Period
from aimsflow.results import JobResult, Status, Subject
from aimsflow.retention.dispose import TOMBSTONE_CHECK
from tests.conftest import new_key
from tests.retention import test_verify_tombstones as tombstones
from tests.retention.conftest import write_evidence
from tests.retention.test_verify_tombstones import (
    DAY,
    forge_tombstone,
    genuine_disposal,
    rewrite_tombstone,
    unlawful,
    verify,
)

sealed_record = tombstones.sealed_record  # the fixture: a sealed record of DAY, and a held one

EARLIER = dt.date(2024, 4, 30)  # sorts before DAY: what verify meets first


def _lawful(report, record: str) -> bool:
    return any(d["record"] == record for d in report.disposed)


def _tombstone_at(storage: LocalStorage, day: dt.date, summary: dict, signer: Signer):
    now = dt.datetime.now(dt.UTC)
    result = JobResult(Subject(), Status.passed, check=TOMBSTONE_CHECK, controls=("7.5.3",), summary=summary)
    ctx = RunContext(Period.day(day), Producer.command_run("retention"), now, now)
    return write_record(storage, result, ctx, signer)


def test_bad_tombstones_met_first_do_not_hide_a_lawful_one(sealed_record, storage):
    """Three folders under the tombstone path that sort before the genuine tombstone: one unreadable,
    one that is another kind of record, one signed by an untrusted key. Verify skips each and still
    finds the lawful disposal. Kills verify._tombstones ``continue`` -> ``break`` after a record of
    another check, after an unreadable manifest and after a bad place or signature (the lawful
    disposal would be reported as a deletion)."""
    genuine_disposal(storage)
    assert _lawful(verify(), sealed_record.key)
    base = storage.root / "records" / EARLIER.isoformat() / TOMBSTONE_CHECK
    (base / "0-unreadable").mkdir(parents=True)
    (base / "0-unreadable" / "manifest.json").write_bytes(b"not json")
    other = write_evidence(storage, Signer.from_settings(), EARLIER, name="moved")
    shutil.copytree(storage.root / other.key, base / "1-another-check")
    key_id, seed, _ = new_key("intruder")
    summary = {"disposed_record": sealed_record.key, "manifest_sha256": "0" * 64, "sealed_in": 1}
    _tombstone_at(storage, EARLIER, summary, Signer.from_seed_b64(key_id, seed))
    assert sorted(p.name for p in base.iterdir())[:2] == ["0-unreadable", "1-another-check"]
    assert _lawful(verify(), sealed_record.key)


def test_a_disposal_at_the_very_time_its_plan_was_signed_is_lawful(sealed_record, storage):
    """The plan must be signed no later than the disposal: at the same instant it is (``>``, not
    ``>=``). Kills verify._disposal_basis ``planned_at > disposed_at`` -> ``>=``."""
    tomb = genuine_disposal(storage)
    plan = json.loads((storage.root / tomb["plan_record"] / "manifest.json").read_bytes())["predicate"]
    rewrite_tombstone(storage, tomb, disposed_at=plan["ended_at"])
    report = verify()
    assert report.ok and _lawful(report, sealed_record.key)
    one_before = dt.datetime.fromisoformat(plan["ended_at"]) - dt.timedelta(microseconds=1)
    rewrite_tombstone(storage, tomb, disposed_at=one_before.isoformat())
    assert "after the disposal" in unlawful(verify(), sealed_record.key)


def test_a_tombstone_must_name_the_sealed_manifest_and_its_seal(sealed_record, storage):
    """Right manifest hash, wrong seal number: not the sealed leaf, so not a lawful disposal, and the
    problem says which manifest and seal it names against the sealed ones (12 hex digits each).
    Kills verify._check_disposals ``t.manifest_sha256 == sealed_sha and t.sealed_in == seq`` ->
    ``or``, and the prefix lengths ``[:12]`` -> ``[:13]`` in that message."""
    tomb = genuine_disposal(storage)
    rewrite_tombstone(storage, tomb, sealed_in=2)
    sha = tomb["manifest_sha256"]
    assert unlawful(verify(), sealed_record.key) == (
        f"sealed in seal 1 but missing from the store; tombstone {tomb['key']} names manifest "
        f"{sha[:12]} in seal 2, not the sealed {sha[:12]} in seal 1 (not a lawful disposal)"
    )


def test_tombstone_problems_follow_the_period_verified(rt_env, sealed_record, storage):
    """A tombstone naming a record still in the store is reported when its record's period is verified,
    and not when another period is; one of a later period is reported even though an earlier one is
    skipped first. Kills verify._check_disposals ``not _leaf_in_period(record, period)`` -> ``_leaf_in_
    period`` and its ``continue`` -> ``break``."""
    signer = Signer.from_settings()
    later_day = dt.date(2024, 5, 2)
    later = write_evidence(storage, signer, later_day, name="later")
    first = forge_tombstone(storage, sealed_record.key, sealed_record.manifest_sha256, 1, signer)
    second = forge_tombstone(storage, later.key, later.manifest_sha256, 1, signer)

    def still_there(report) -> set[str]:
        return {p.object for p in report.problems if "which is still in the store" in p.problem}

    assert still_there(verify()) == {first.key, second.key}
    assert still_there(verify(Period.day(DAY))) == {first.key}
    assert still_there(verify(Period.day(later_day))) == {second.key}


def test_a_tombstone_no_seal_covers_is_named(sealed_record, storage):
    """A tombstone naming a record that was never sealed (and is not in the store): the tombstone is
    reported, by its key. Kills verify._check_disposals ``report.add(tomb.key, "... which no seal
    covers")`` -> object ``None``, message ``None``, either dropped."""
    ghost = sealed_record.key.rsplit("/", 1)[0] + "/never-sealed-0000"
    tomb = forge_tombstone(storage, ghost, "0" * 64, 1, Signer.from_settings())
    problems = [(p.object, p.problem) for p in verify().problems]
    assert (tomb.key, f"tombstone names {ghost}, which no seal covers") in problems


def test_leaf_in_period_reads_the_period_from_the_record_key():
    """``records/<period>/...``: in the period or not; a key whose period cannot be read counts as in
    every period (checked rather than skipped). Kills verify._leaf_in_period ``split("/")`` ->
    ``split(None)`` / ``split("XX/XX")``, ``[1]`` -> ``[2]``, ``return True`` -> ``False``."""
    key = "records/2024-05-01/data_quality/validate/x-1"
    assert _leaf_in_period(key, Period.day(dt.date(2024, 5, 1)))
    assert not _leaf_in_period(key, Period.day(dt.date(2024, 5, 2)))
    assert _leaf_in_period("records/not-a-period/x/y", Period.day(dt.date(2024, 5, 2)))


# --- the problem verify names for a tombstone without a verified certificate or plan ---------------


def test_a_tombstone_without_certificate_says_so(sealed_record, storage):
    """Kills verify._disposal_basis ``"the tombstone names no certificate"`` -> ``None`` / another
    wording."""
    tomb = forge_tombstone(
        storage, sealed_record.key, sealed_record.manifest_sha256, 1, Signer.from_settings()
    )
    shutil.rmtree(storage.root / sealed_record.key)
    assert unlawful(verify(), sealed_record.key) == (
        f"sealed in seal 1 but missing from the store; tombstone {tomb.key} is not a lawful disposal: "
        "no verified certificate: the tombstone names no certificate"
    )


def _problem(storage, record: str) -> str:
    return unlawful(verify(), record).split("is not a lawful disposal: ", 1)[1]


def test_a_certificate_that_is_not_in_the_store_or_not_a_certificate_is_named(sealed_record, storage):
    """The tombstone names a certificate that is missing, then one that is the plan record (another
    check), then a copy of the certificate at another place. Kills verify._signed_predicate's messages
    ``"{key} is not in the store"``, ``"{key} is a {check!r} record, not {check}"`` (and
    ``predicate.get('check')`` -> another key), ``"{key} is not at the place its manifest names"`` ->
    ``None``."""
    tomb = genuine_disposal(storage)
    missing = tomb["certificate"] + "-gone"
    rewrite_tombstone(storage, tomb, certificate=missing)
    assert _problem(storage, sealed_record.key) == f"no verified certificate: {missing} is not in the store"
    plan = tomb["plan_record"]
    rewrite_tombstone(storage, tomb, certificate=plan)
    assert _problem(storage, sealed_record.key) == (
        f"no verified certificate: {plan} is a 'retention_disposal/plan' record, "
        "not retention_disposal/certificate"
    )
    moved = tomb["certificate"] + "-copy"
    shutil.copytree(storage.root / tomb["certificate"], storage.root / moved)
    rewrite_tombstone(storage, tomb, certificate=moved)
    assert _problem(storage, sealed_record.key) == (
        f"no verified certificate: {moved} is not at the place its manifest names"
    )


def test_an_unreadable_or_edited_certificate_is_named(sealed_record, storage):
    """Kills verify._signed_predicate ``"{key} is unreadable: ..."`` and ``"{key} does not verify:
    {problem}"`` -> ``None``."""
    tomb = genuine_disposal(storage)
    manifest = storage.root / tomb["certificate"] / "manifest.json"
    original = manifest.read_bytes()
    manifest.write_bytes(original.replace(b'"passed"', b'"passed" '))
    assert _problem(storage, sealed_record.key).startswith(
        f"no verified certificate: {tomb['certificate']} does not verify: "
    )
    manifest.write_bytes(b"not json")
    assert _problem(storage, sealed_record.key).startswith(
        f"no verified certificate: {tomb['certificate']} is unreadable: "
    )


def test_a_certificate_about_another_disposal_names_the_fields(sealed_record, storage):
    """The tombstone names another plan than the one its certificate approves: "certificate ... is
    about another disposal (plan_record)". Kills verify._disposal_basis ``"plan_record"`` -> another
    label, ``", ".join`` -> ``"XX, XX".join``, the message -> ``None``."""
    tomb = genuine_disposal(storage)
    rewrite_tombstone(storage, tomb, plan_record="records/x/plan")
    assert _problem(storage, sealed_record.key) == (
        f"no verified certificate: certificate {tomb['certificate']} is about another disposal (plan_record)"
    )


def test_a_plan_edited_after_signing_or_not_executable_is_named(sealed_record, storage):
    """plan.json changed after signing: "…/plan.json differs from its signed manifest"; the plan
    record re-signed as ``failed`` at its place: "… is a 'failed' plan: nothing of it is executed".
    Kills verify._plan_document those messages -> ``None`` (and ``predicate.get('status')`` -> another
    key), ``cache[key] = ValueError(str(exc))`` -> ``None`` / ``ValueError(None)`` /
    ``str(None)``."""
    tomb = genuine_disposal(storage)
    plan = tomb["plan_record"]
    body = storage.root / plan / "plan.json"
    original = body.read_bytes()
    body.write_bytes(original + b" ")
    assert (
        _problem(storage, sealed_record.key)
        == f"no verified plan: {plan}/plan.json differs from its signed manifest"
    )
    body.write_bytes(original)
    assert verify().ok
    manifest = json.loads((storage.root / plan / "manifest.json").read_bytes())
    predicate = manifest["predicate"]
    from aimsflow.evidence.record import Producer as P

    producer = P(**{k: v for k, v in predicate["producer"].items() if k in P.__dataclass_fields__})
    result = JobResult(
        Subject(**predicate["subject"]),
        Status.failed,
        check=predicate["check"],
        controls=tuple(predicate["controls"]),
        summary=predicate["summary"],
        files={"plan.json": original},
    )
    ended = dt.datetime.fromisoformat(predicate["ended_at"])
    started = dt.datetime.fromisoformat(predicate["started_at"])
    shutil.rmtree(storage.root / plan)
    ctx = RunContext(Period.from_dict(predicate["period"]), producer, started, ended)
    ref = write_record(storage, result, ctx, Signer.from_settings())
    assert ref.key == plan
    assert _problem(storage, sealed_record.key) == (
        f"no verified plan: {plan} is a 'failed' plan: nothing of it is executed"
    )
