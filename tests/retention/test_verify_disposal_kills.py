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


# --- a certificate and a plan that disagree, both signed by the trusted key --------------------------
# What a bug, or a stolen key in a recovering run, could produce (like ``rewrite_tombstone``): the
# records stay where they are, their manifests re-signed with the trusted key.


def _resign(storage: LocalStorage, key: str, change, files: dict[str, bytes] | None = None) -> str:
    """Re-sign record ``key`` in place after ``change(predicate)`` (and new content for ``files``);
    returns the new manifest's SHA-256."""
    from aimsflow.evidence.dsse import PAYLOAD_TYPE, sign_envelope
    from aimsflow.results import sha256_bytes

    folder = storage.root / key
    manifest = json.loads((folder / "manifest.json").read_bytes())
    for name, data in (files or {}).items():
        (folder / name).write_bytes(data)
        for entry in manifest["predicate"]["files"]:
            if entry["path"] == name:
                entry["sha256"], entry["size"] = sha256_bytes(data), len(data)
    change(manifest["predicate"])
    data = json.dumps(manifest, indent=2).encode()
    (folder / "manifest.json").write_bytes(data)
    (folder / "manifest.dsse.json").write_bytes(sign_envelope(data, Signer.from_settings(), PAYLOAD_TYPE))
    return sha256_bytes(data)


def _approve(storage: LocalStorage, tomb: dict, plan_sha: str) -> None:
    _resign(
        storage,
        tomb["certificate"],
        lambda p: p["summary"]["approved_by"].update(plan_manifest_sha256=plan_sha),
    )


def test_a_certificate_approving_another_version_of_the_plan_is_named(sealed_record, storage):
    """Kills verify._disposal_basis ``"the certificate approves another version of plan ..."`` ->
    ``None``."""
    tomb = genuine_disposal(storage)
    _approve(storage, tomb, "0" * 64)
    assert _problem(storage, sealed_record.key) == (
        f"no verified plan: the certificate approves another version of plan {tomb['plan_record']}"
    )


def test_a_certificate_about_another_object_hash_and_tombstone_names_each_field(sealed_record, storage):
    """Kills verify._disposal_basis the labels ``"object"``, ``"sha256_before"``, ``"tombstone"`` ->
    ``"XX...XX"`` / upper case (the message names which fields disagree)."""
    tomb = genuine_disposal(storage)
    _resign(
        storage,
        tomb["certificate"],
        lambda p: p["summary"].update(object="evidence/x", sha256_before="0" * 64, tombstone="records/x"),
    )
    assert _problem(storage, sealed_record.key) == (
        f"no verified certificate: certificate {tomb['certificate']} is about another disposal "
        "(object, sha256_before, tombstone)"
    )


def _plan_without(storage: LocalStorage, tomb: dict, edit) -> None:
    """plan.json edited by ``edit(item of the disposed record)`` (None: the item removed), the plan
    re-signed and the certificate re-signed to approve exactly that plan."""
    plan_json = storage.root / tomb["plan_record"] / "plan.json"
    doc = json.loads(plan_json.read_bytes())
    obj = f"evidence/{tomb['disposed_record']}"
    items = [i for i in doc["delete"] if i.get("object_id") == obj]
    assert len(items) == 1
    if edit is None:
        doc["delete"] = [i for i in doc["delete"] if i.get("object_id") != obj]
    else:
        edit(items[0])
    plan_sha = _resign(storage, tomb["plan_record"], lambda p: None, {"plan.json": json.dumps(doc).encode()})
    _approve(storage, tomb, plan_sha)


def test_a_plan_that_does_not_list_the_object_for_deletion_is_named(sealed_record, storage):
    """The certificate approves a plan that does not list the record (removed), then one that lists
    it with another manifest hash. Kills verify._disposal_basis ``next(..., None)`` -> no default,
    ``item is None or item.get("sha256") != ...`` -> ``and``, the message -> ``None``."""
    tomb = genuine_disposal(storage)
    expected = (
        f"no verified plan: plan {tomb['plan_record']} does not list evidence/{sealed_record.key} with the "
        "sealed manifest for deletion"
    )
    _plan_without(storage, tomb, lambda item: item.update(sha256="0" * 64))
    assert _problem(storage, sealed_record.key) == expected
    _plan_without(storage, tomb, None)
    assert _problem(storage, sealed_record.key) == expected


def test_a_plan_that_lists_the_object_as_not_expired_is_named(sealed_record, storage):
    """Listed, approved, but not expired. Kills verify._disposal_basis ``not (item.get("expired") and
    item.get("approved"))`` -> ``or``, its message -> ``None``."""
    tomb = genuine_disposal(storage)
    _plan_without(storage, tomb, lambda item: item.update(expired=False))
    assert _problem(storage, sealed_record.key) == (
        f"no verified plan: plan {tomb['plan_record']} does not list evidence/{sealed_record.key} as "
        "expired and approved"
    )
