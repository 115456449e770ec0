"""Seeded sampling: the same population and seed give the same sample whatever order the records
are listed in; the population is the verified records matching the filters, never a sample record or
a forged one; strata, exclusion of earlier draws and the written, sealed sample record."""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess

import pytest

from aimsflow.audit.sample import SAMPLE, SampleError, SampleRequest, draw_sample
from aimsflow.audit.verify_bundle import draw, rank_hash, read_population
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.listing import load_verified
from aimsflow.periods import parse_period
from aimsflow.results import Status
from tests.audit.sampling.conftest import run
from tests.conftest import new_key

Q3 = parse_period("2026-Q3")


def _loaded(store):
    return load_verified(store.storage, TrustedKeys.load())


def _keys(sample) -> list[str]:
    return [d["record"] for d in sample.drawn]


def test_same_seed_same_sample_whatever_the_listing_order(store):
    loaded = _loaded(store)
    first = draw_sample(store.storage, loaded, SampleRequest(Q3, "audit-2026", 7))
    assert len(first.drawn) == 7 and len(first.population) == 25
    for shuffle_seed in range(5):
        random.Random(shuffle_seed).shuffle(loaded.records)
        again = draw_sample(store.storage, loaded, SampleRequest(Q3, "audit-2026", 7, per_control=2))
        assert _keys(draw_sample(store.storage, loaded, SampleRequest(Q3, "audit-2026", 7))) == _keys(first)
        assert (
            again.drawn
            == draw_sample(
                store.storage, _loaded(store), SampleRequest(Q3, "audit-2026", 7, per_control=2)
            ).drawn
        )
    # the draw itself, on a population and a scope given in any order
    population = [(r.key, r.controls) for r in first.population]
    expected = draw(population, "s", 9, 2, ["A.7.4", "A.7.5"])
    for shuffle_seed in range(5):
        random.Random(shuffle_seed).shuffle(population)
        assert draw(population, "s", 9, 2, ["A.7.5", "A.7.4"]) == expected


def test_the_sample_is_the_n_lowest_rank_hashes(store):
    sample = draw_sample(store.storage, _loaded(store), SampleRequest(Q3, "audit-2026", 5))
    ranked = sorted((rank_hash("audit-2026", r.key), r.key) for r in sample.population)
    assert _keys(sample) == [key for _, key in ranked[:5]]
    assert [d["rank"] for d in sample.drawn] == [1, 2, 3, 4, 5]


def test_a_different_seed_draws_a_different_sample(store):
    loaded = _loaded(store)
    a = draw_sample(store.storage, loaded, SampleRequest(Q3, "seed-a", 5))
    b = draw_sample(store.storage, loaded, SampleRequest(Q3, "seed-b", 5))
    assert set(_keys(a)) != set(_keys(b))


def test_the_rank_hash_is_what_a_shell_computes(store):
    """An auditor re-draws by hand in another language: the documented recipe gives the same hash."""
    key = store.refs[0].key
    seed = "Q3 audit, dice 4711 \\ ü"
    shell = subprocess.run(
        ["bash", "-c", 'printf \'%s\\n%s\' "$SEED" "$KEY" | sha256sum'],
        env={"SEED": seed, "KEY": key, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout.split()[0] == rank_hash(seed, key)


def test_n_larger_than_the_population_draws_all_of_it(store):
    sample = draw_sample(store.storage, _loaded(store), SampleRequest(Q3, "s", 1000, control="A.7.5"))
    assert len(sample.population) == 5 and len(sample.drawn) == 5
    assert sample.summary()["n"] == 1000 and sample.summary()["population"]["size"] == 5


def test_per_control_takes_k_of_every_control_and_all_of_a_control_with_fewer(store):
    """A.5.4 has 5 records (bias), 7.5.3 has 5, A.7.5 has 5, A.7.4 has 15: K = 5 takes every record of
    the small controls; one more record of 7.5.3 in scope with K = 6 makes it short."""
    loaded = _loaded(store)
    sample = draw_sample(store.storage, loaded, SampleRequest(Q3, "s", 1, per_control=2))
    strata = {s["control"]: s for s in sample.strata()}
    assert set(strata) == {"7.5.3", "A.5.4", "A.7.4", "A.7.5"}
    for control, s in strata.items():
        assert s["drawn"] >= 2 and not s["short"], control
        lowest = sorted((rank_hash("s", r.key), r.key) for r in sample.population if control in r.controls)[
            :2
        ]
        assert {k for _, k in lowest} <= set(_keys(sample))
    assert len(sample.drawn) > 1  # the strata need more than n = 1

    boundary = draw_sample(store.storage, loaded, SampleRequest(Q3, "s", 1, per_control=5))
    strata = {s["control"]: s for s in boundary.strata()}
    assert strata["A.7.5"] == {"control": "A.7.5", "population": 5, "drawn": 5, "short": False}
    short = draw_sample(store.storage, loaded, SampleRequest(Q3, "s", 1, per_control=6))
    strata = {s["control"]: s for s in short.strata()}
    assert strata["A.7.5"] == {"control": "A.7.5", "population": 5, "drawn": 5, "short": True}
    assert strata["A.7.4"]["drawn"] >= 6 and not strata["A.7.4"]["short"]


def test_per_control_with_a_control_filter_stratifies_that_control_only(store):
    sample = draw_sample(
        store.storage, _loaded(store), SampleRequest(Q3, "s", 1, per_control=3, control="A.7.4")
    )
    assert sample.scope == ["A.7.4"] and len(sample.drawn) == 3


@pytest.mark.parametrize(
    ("request_kw", "expected"),
    [
        ({"control": "A.7.5"}, 5),
        ({"dag": "bias_assessment"}, 5),
        ({"dataset": "scores"}, 5),
        ({"status": "failed"}, 5),
        ({"ai_system": "loan_approval"}, 20),
        ({"ai_system": "nobody"}, 0),
        ({"framework": "iso42001"}, 25),
        ({"framework": "ISO 42001", "control": "7.5.3"}, 5),
    ],
)
def test_filters_narrow_the_population(store, request_kw, expected):
    sample = draw_sample(store.storage, _loaded(store), SampleRequest(Q3, "s", 3, **request_kw))
    assert len(sample.population) == expected
    assert len(sample.drawn) == min(3, expected)


def test_the_period_filter_uses_the_period_syntax(store):
    loaded = _loaded(store)
    assert (
        len(draw_sample(store.storage, loaded, SampleRequest(parse_period("2026-07"), "s", 1)).population)
        == 10
    )
    assert (
        len(
            draw_sample(
                store.storage, loaded, SampleRequest(parse_period("2026-06-30..2026-07-03"), "s", 1)
            ).population
        )
        == 6
    )
    assert (
        len(draw_sample(store.storage, loaded, SampleRequest(parse_period("2026-W27"), "s", 1)).population)
        == 6  # 2026-06-29..2026-07-05: the June record too
    )


def test_current_only_leaves_out_superseded_records(store):
    day = dt.date(2026, 7, 3)
    store.make(day, try_number=2, run_after=dt.datetime(2026, 7, 4, 1, tzinfo=dt.UTC))  # supersedes try 1
    loaded = _loaded(store)
    assert len(draw_sample(store.storage, loaded, SampleRequest(Q3, "s", 1)).population) == 26
    assert (
        len(draw_sample(store.storage, loaded, SampleRequest(Q3, "s", 1, current_only=True)).population) == 25
    )


def test_an_unknown_framework_is_refused_naming_the_known_ones(store, capsys):
    with pytest.raises(SampleError, match="unknown; the crosswalk knows"):
        draw_sample(store.storage, _loaded(store), SampleRequest(Q3, "s", 3, framework="sox"))
    code, out, err = run(
        capsys, "evidence", "sample", "--period", "2026-Q3", "--n", "3", "--seed", "s", "--framework", "sox"
    )
    assert code == 2 and out == "" and "eu_ai_act" in err


def test_bad_arguments_are_refused(store, capsys):
    for argv, message in [
        (["--n", "0"], "--n 0"),
        (["--n", "3", "--per-control", "0"], "--per-control 0"),
        (["--n", "3", "--control", "A.99"], "unknown control"),
        (["--n", "3", "--exclude-sampled", "2026-Q5"], "2026-Q5"),
    ]:
        code, out, err = run(capsys, "evidence", "sample", "--period", "2026-Q3", "--seed", "s", *argv)
        assert code == 2 and out == "" and message in err, (argv, err)
    code, _, err = run(capsys, "evidence", "sample", "--period", "2026-Q9", "--seed", "s", "--n", "1")
    assert code == 2 and "2026-Q9" in err
    code, _, err = run(capsys, "evidence", "sample", "--period", "2026-Q3", "--seed", "", "--n", "1")
    assert code == 2 and "--seed" in err


def test_the_sample_is_written_sealed_and_verifies(store, capsys):
    code, out, err = run(
        capsys, "evidence", "sample", "--period", "2026-Q3", "--n", "6", "--seed", "audit", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    key = doc["record"]
    assert key.startswith("records/2026-Q3/evidence_sample/sample/sample-") and doc["sealed_in"] == 3
    assert doc["method"] == "sha256-rank/1" and doc["seed"] == "audit" and len(doc["drawn"]) == 6
    assert doc["population"]["size"] == 25 and doc["filters"]["period"] == "2026-Q3"
    manifest = json.loads(store.storage.get(f"{key}/manifest.json"))["predicate"]
    assert (
        manifest["check"] == SAMPLE.id and manifest["controls"] == ["9.2"] and manifest["status"] == "passed"
    )
    assert manifest["producer"]["kind"] == "command" and manifest["producer"]["command"] == "sample"
    assert manifest["summary"]["drawn"] == doc["drawn"]
    rows = read_population(store.storage.get(f"{key}/population.tsv"))
    assert [r[0] for r in rows] == sorted(r[0] for r in rows) and len(rows) == 25
    for k, manifest_sha, _, rank in rows:
        assert manifest_sha == store.storage.sha256(f"{k}/manifest.json") and rank == rank_hash("audit", k)
    drawn = {d["record"]: d for d in doc["drawn"]}
    assert all(drawn[k]["manifest_sha256"] == m for k, m, _, _ in rows if k in drawn)
    code, out, _ = run(capsys, "evidence", "verify")
    assert code == 0 and out.splitlines()[-1] == "OK: evidence intact"
    # text output
    code, out, _ = run(
        capsys, "evidence", "sample", "--period", "2026-Q3", "--n", "2", "--seed", "x", "--per-control", "1"
    )
    assert code == 0 and "sealed in seal 4" in out and "A.5.4: " in out
    lines = out.splitlines()
    assert lines[-2:] == [
        "export it:",
        f"  aimsflow evidence export --sample {lines[0].split()[1]} -o bundle.zip",
    ]
    # each drawn record on a line of its own (rank, key); the controls it was drawn for below it,
    # in the controls' order
    drawn = lines.index(next(line for line in lines if line.startswith("drawn: ")))
    first = lines[drawn + 1].split()
    assert first[0] == "1" and first[1].startswith("records/") and len(first) == 2
    assert lines[drawn + 2].startswith(" " * 10 + "lowest of ")


def test_sample_records_are_never_in_the_population(store, capsys):
    run(capsys, "evidence", "sample", "--period", "2026-Q3", "--n", "3", "--seed", "one")
    loaded = _loaded(store)
    assert sum(r.check == SAMPLE.id for r in loaded.records) == 1
    sample = draw_sample(store.storage, loaded, SampleRequest(Q3, "two", 100))
    assert len(sample.population) == 25 and all(r.check != SAMPLE.id for r in sample.population)


def test_exclude_sampled_leaves_out_what_earlier_samples_drew(store, capsys):
    code, out, _ = run(
        capsys, "evidence", "sample", "--period", "2026-Q3", "--n", "4", "--seed", "one", "--json"
    )
    first = {d["record"] for d in json.loads(out)["drawn"]}
    code, out, _ = run(
        capsys,
        "evidence",
        "sample",
        "--period",
        "2026-Q3",
        "--n",
        "4",
        "--seed",
        "two",
        "--json",
        "--exclude-sampled",
        "2026-Q3",
    )
    second = json.loads(out)
    assert code == 0 and not first & {d["record"] for d in second["drawn"]}
    assert second["population"]["size"] == 21
    assert second["excluded_by_earlier_samples"]["records"] == 4
    assert len(second["excluded_by_earlier_samples"]["samples"]) == 1
    # another period's samples exclude nothing here
    code, out, _ = run(
        capsys,
        "evidence",
        "sample",
        "--period",
        "2026-Q3",
        "--n",
        "4",
        "--seed",
        "one",
        "--json",
        "--exclude-sampled",
        "2026-Q4",
    )
    assert (
        json.loads(out)["population"]["size"] == 25
        and {d["record"] for d in json.loads(out)["drawn"]} == first
    )


def test_forged_and_edited_records_are_not_in_the_population(store, capsys):
    _, seed, _ = new_key("intruder")
    forged = store.make(dt.date(2026, 8, 10), signer=Signer.from_seed_b64("intruder", seed))
    edited = store.refs[3]
    path = store.storage.path(f"{edited.key}/manifest.json")
    path.write_text(path.read_text().replace('"status": "passed"', '"status": "failed"'))
    code, out, err = run(
        capsys, "evidence", "sample", "--period", "2026-Q3", "--n", "100", "--seed", "s", "--json"
    )
    assert code == 1  # written, but the store holds folders that do not verify
    doc = json.loads(out)
    drawn = {d["record"] for d in doc["drawn"]}
    assert forged.key not in drawn and edited.key not in drawn
    assert doc["population"]["size"] == 24 and doc["untrusted_folders_left_out"] == 2
    assert {u["record"] for u in doc["untrusted_records"]} == {forged.key, edited.key}
    assert forged.key in err and edited.key in err


def test_a_sample_that_cannot_be_sealed_stays_pending_and_says_so(store, capsys, monkeypatch):
    code, out, err = run(
        capsys, "evidence", "sample", "--period", "2026-Q3", "--n", "2", "--seed", "s", "--no-seal"
    )
    assert code == 0 and "pending: not sealed yet" in out
    monkeypatch.setenv("AIMSFLOW_WITNESS", str(store.root / "no-witness"))
    code, out, err = run(capsys, "evidence", "sample", "--period", "2026-Q3", "--n", "2", "--seed", "s")
    assert code == 1 and "pending" in out and "not sealed" in err and "witness never started" in err


def test_sampling_needs_a_signing_key(store, capsys, monkeypatch):
    monkeypatch.delenv("AIMSFLOW_SIGNING_KEY_ID")
    code, out, err = run(capsys, "evidence", "sample", "--period", "2026-Q3", "--n", "2", "--seed", "s")
    assert code == 3 and out == "" and "signed record" in err


def test_help_documents_the_method_and_the_exit_codes(capsys):
    for command in ("sample", "export"):
        code, out, _ = run(capsys, "evidence", command, "--help")
        assert code == 0 and "exit codes:" in out and "  3  " in out
    code, out, _ = run(capsys, "evidence", "sample", "--help")
    assert "sha256-rank/1" in out and "printf" in out


def test_the_status_filter_takes_the_four_statuses(store):
    sample = draw_sample(store.storage, _loaded(store), SampleRequest(Q3, "s", 100, status="warning"))
    assert {str(r.status) for r in sample.population} == {str(Status.warning)} and len(sample.drawn) == 5


def test_a_forged_sample_cannot_hide_records_from_a_later_draw(store, capsys):
    """--exclude-sampled reads earlier samples verified: one signed by an unknown key excludes nothing."""
    from aimsflow.audit.sample import write_sample

    loaded = _loaded(store)
    everything = draw_sample(store.storage, loaded, SampleRequest(Q3, "forged", 100))
    _, seed, _ = new_key("intruder")
    forged = write_sample(store.storage, everything, Signer.from_seed_b64("intruder", seed))
    code, out, err = run(
        capsys,
        "evidence",
        "sample",
        "--period",
        "2026-Q3",
        "--n",
        "3",
        "--seed",
        "s",
        "--json",
        "--exclude-sampled",
        "2026-Q3",
    )
    doc = json.loads(out)
    assert code == 1 and forged.key in err  # reported as a folder that does not verify
    assert doc["population"]["size"] == 25 and doc["excluded_by_earlier_samples"] == {
        "samples": [],
        "records": 0,
    }
