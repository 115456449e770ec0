"""The store's own jobs (``evidence/job.py``) tested directly, without ``dag.test()``.

Mutation testing found ``job.verify`` and ``job.seal_run`` run by no fast test at all (their DAGs run
only in the slow ``tests/dags`` suites, outside the mutation run) and ``job.seal``'s passing case,
its message and its witness refusal unchecked. What these return is what the record of the run says:
its status, its summary and its message. Each test names the mutants it kills (function, change).
"""

from __future__ import annotations

import datetime as dt

import pytest

from aimsflow import settings
from aimsflow.evidence import job
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.seal import SealRefused, Witness, seal_pending, seal_sequences, sealed_keys
from aimsflow.periods import Period
from aimsflow.results import SpecRef, Subject
from tests.conftest import new_key

DAY = Period.day(dt.date(2026, 11, 20))


def _writer(storage, written):
    """``write_record`` as the glue gives it to the seal job: a command record of today."""
    from aimsflow.evidence.record import Producer, RunContext, write_record

    def write(result):
        result.check, result.controls = "evidence_seal/seal", ("7.5.3",)
        now = dt.datetime.now(dt.UTC)
        ctx = RunContext(Period.day(now.date()), Producer.command_run("seal-test"), now, now)
        written.append(result)
        return write_record(storage, result, ctx, Signer.from_settings())

    return write


def test_verify_job_passes_an_intact_store_and_counts_what_is_pending(storage, make_record):
    """An intact store: ``passed``, "store intact", the store's figures, the number (not the list) of
    pending records, the trusted keys file as the spec, the AIMS as the subject. Kills job.verify
    ``storage`` / ``TrustedKeys.load(keys_path)`` / ``Witness()`` -> ``None`` or dropped, ``summary`` ->
    ``None``, ``summary["pending"]`` -> ``None`` / another key, ``Status.passed if report.ok`` swapped,
    the message and the spec."""
    make_record(run="r1")
    seal_pending(storage, Signer.from_settings(), Witness())
    make_record(dt.date(2026, 11, 20), run="r2")
    result = job.verify(DAY)
    assert str(result.status) == "passed" and result.message == "store intact"
    assert result.summary["ok"] is True and result.summary["pending"] == 1
    assert result.summary["records_checked"] == 2 and result.summary["seals_checked"] == 1
    assert result.summary["witness"] is not None and result.summary["problems"] == []
    assert result.specs == [SpecRef.of_file(settings.trusted_keys_path())]
    assert result.subject == Subject()


def test_verify_job_fails_a_broken_store_naming_the_first_problem(storage, make_record, aims_env):
    """A record file changed after sealing: ``failed``, "1 problem(s): <object>: <problem>". Kills
    job.verify ``Status.failed`` when not ok -> ``passed`` and the message's count and first problem."""
    ref = make_record(run="r1")
    seal_pending(storage, Signer.from_settings(), Witness())
    (settings.evidence_root() / ref.key / "summary.json").write_bytes(b'{"rows": 11}\n')
    result = job.verify(DAY)
    assert str(result.status) == "failed" and result.summary["ok"] is False
    problems = result.summary["problems"]
    assert len(problems) >= 1 and ref.key in problems[0]["object"]
    assert result.message.startswith(f"{len(problems)} problem(s): ")
    assert problems[0]["object"] in result.message and problems[0]["problem"] in result.message


def test_seal_job_passes_when_nothing_is_refused(storage, make_record):
    """Nothing refused: ``passed``, "sealing 2 record(s) and this one" (no "refused" part), an empty
    ``refused``. Kills job.seal ``Status.failed if refused`` -> ``or True``, ``if refused`` -> ``or
    True`` / ``else ""`` -> ``"XXXX"``, the message -> ``None``, the subject -> ``None``."""
    make_record(run="r1")
    make_record(dt.date(2026, 11, 20), run="r2")
    written: list = []
    result = job.seal(DAY, write_record=_writer(storage, written))
    assert result is written[0]
    assert str(result.status) == "passed" and result.summary == {"records_to_seal": 3, "refused": []}
    assert result.message == "sealing 2 record(s) and this one"
    assert result.subject == Subject()
    assert len(sealed_keys(storage)) == 3


def test_seal_job_message_names_the_count_and_the_first_refused_record(storage, make_record):
    """One record signed by an unknown key: "sealing 1 record(s) and this one; refused 1: <record>:
    signed by unknown key 'rogue'". Kills job.seal ``len(plan.pending) - len(refused)`` -> ``+`` and
    ``if refused`` -> ``and False`` (the refusal left out of the message)."""
    _, seed, _ = new_key("rogue")
    make_record(run="r1")
    rogue = make_record(dt.date(2026, 11, 20), run="r2", signer=Signer.from_seed_b64("rogue", seed))
    result = job.seal(DAY, write_record=_writer(storage, []))
    assert str(result.status) == "failed"
    assert result.message == (
        f"sealing 1 record(s) and this one; refused 1: {rogue.key}: signed by unknown key 'rogue'"
    )


def test_seal_job_refused_by_the_witness_says_what_and_why(storage, make_record, aims_env):
    """The witness is ahead of the store: nothing sealed, a ``failed`` result whose message starts
    "nothing sealed: " and whose summary names the refused object and problem. Kills job.seal
    ``subject=Subject()`` -> ``None``, the message -> ``None``, ``{"object": ...}`` -> another key."""
    make_record(run="r1")
    seal_pending(storage, Signer.from_settings(), Witness())
    state = aims_env / "witness" / "witness.json"
    state.write_text(state.read_text().replace('"sequence": 1', '"sequence": 2'))
    result = job.seal(DAY, write_record=lambda r: pytest.fail("no record is written"))
    refused = result.summary["refused_seal"]
    assert set(refused) == {"object", "problem"} and refused["object"] and refused["problem"]
    assert result.message == f"nothing sealed: {refused['object']}: {refused['problem']}"
    assert result.subject == Subject() and str(result.status) == "failed"
    assert seal_sequences(storage) == [1]


def test_seal_run_seals_exactly_the_records_of_its_own_dag_run(storage, make_record):
    """The run's last step seals its own records: another run of the same DAG stays pending. Kills job.seal_run ``storage`` /
    ``Signer`` / ``Witness()`` / ``select=own`` -> ``None`` or dropped, ``.get("producer")`` -> another
    key, ``and`` -> ``or``, ``== dag_id`` / ``== run_id`` -> ``!=`` or another key."""
    mine = [make_record(run="r1"), make_record(dt.date(2026, 11, 20), run="r1")]
    other_run = make_record(dt.date(2026, 11, 21), run="r2")
    outcome = job.seal_run("data_quality", "r1")
    assert outcome.records_sealed == 2 and outcome.new_seal
    assert set(sealed_keys(storage)) == {r.key for r in mine}
    assert job.seal_run("evidence_seal", "r2").records_sealed == 0
    assert other_run.key not in sealed_keys(storage)


def test_seal_run_tells_dags_apart(storage, make_record):
    """Same run id, another DAG: not this run's. Kills job.seal_run ``producer.get("dag_id") == dag_id
    and ...`` -> ``or`` (another DAG's record of the same run id sealed by this run)."""
    ref = make_record(run="manual__1")
    assert job.seal_run("bias_assessment", "manual__1").records_sealed == 0
    assert ref.key not in sealed_keys(storage)
    assert job.seal_run("data_quality", "manual__1").records_sealed == 1


def test_seal_run_leaves_an_unreadable_manifest_alone(storage, make_record, aims_env):
    """A folder whose manifest is not JSON is not this run's to seal (verify and the daily seal report
    it): the run's own record is sealed, no exception. Kills job.seal_run ``return False`` (unreadable)
    -> ``True``, ``or {}`` -> ``and {}``."""
    ref = make_record(run="r1")
    broken = make_record(dt.date(2026, 11, 20), run="r1")
    (settings.evidence_root() / broken.key / "manifest.json").write_bytes(b"not json")
    outcome = job.seal_run("data_quality", "r1")
    assert set(sealed_keys(storage)) == {ref.key} and outcome.records_sealed == 1


def test_seal_run_raises_naming_the_first_record_it_left_out(storage, make_record):
    """A record of the run signed by an unknown key: the rest is sealed, then ``SealRefused`` names that
    record and says how many were left out and why. Kills job.seal_run ``outcome.refused[0]`` ->
    ``[1]`` / ``None``, ``first.key`` -> ``None``, the problem -> ``None`` or dropped."""
    _, seed, _ = new_key("rogue")
    good = make_record(run="r1")
    rogue = make_record(dt.date(2026, 11, 20), run="r1", signer=Signer.from_seed_b64("rogue", seed))
    with pytest.raises(SealRefused) as caught:
        job.seal_run("data_quality", "r1")
    assert caught.value.object == rogue.key
    assert (
        caught.value.problem == "1 record(s) of this run left out of the seal: signed by unknown key 'rogue'"
    )
    assert good.key in sealed_keys(storage) and rogue.key not in sealed_keys(storage)
