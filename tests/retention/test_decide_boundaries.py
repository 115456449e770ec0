"""Tests that notice (issue 12, point 11): each kills a mutant of the retention decision or of the
policy loading that survived ``tests/retention/test_decide.py`` and ``test_policy.py`` (``make
mutation``; docs/mutation.md) and that changes what the plan tells an auditor: an outcome, a reason,
the holds, the expiry, the "inventory gap" flag, or which problems of a policy file are listed.
Each docstring names the mutants (file, function, operator); line numbers are in the survivors list.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from aimsflow.catalog import ConfigError
from aimsflow.retention.decide import (
    LINEAGE_NOT_ARCHIVED,
    LINEAGE_STILL_RELIED_ON,
    Outcome,
    Rules,
    decide,
    hold_covers,
    matching_holds,
)
from aimsflow.retention.objects import Candidate, Kind
from aimsflow.retention.policy import (
    EVIDENCE_CLASS,
    CountsFrom,
    LegalHold,
    PolicySet,
    RetentionPolicy,
    load_holds,
    load_policies,
)
from tests.retention.conftest import INVENTORY

LATER = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)


def _policy(data_class: str, retention: str = "1 day", counts_from: str = "created") -> RetentionPolicy:
    return RetentionPolicy(
        data_class=data_class, retention=retention, counts_from=CountsFrom(counts_from), legal_basis="t"
    )


def _rules(*policies: RetentionPolicy, holds=(), retirements=None, cycles=()) -> Rules:
    return Rules(
        PolicySet({p.data_class: p for p in policies}, "lineage_events", Path("p.yaml")),
        tuple(holds),
        {"loan_approval": None} if retirements is None else retirements,
        tuple(cycles),
        {"loans_raw": "loan_approval"},
    )


def _hold(hold_id: str = "H1", **scope) -> LegalHold:
    return LegalHold(id=hold_id, reason="litigation", set_by="legal", since=dt.date(2026, 1, 1), **scope)


def _raw(**kw) -> Candidate:
    fields = dict(datasets=("loans_raw",), ai_systems=("loan_approval",))
    fields.update(kw)
    return Candidate(
        "data/raw/date=2026-01-01/a.csv",
        Kind.dataset_file,
        "raw_personal_data",
        dt.date(2026, 1, 1),
        1,
        **fields,
    )


def _record(check: str = "data_quality/validate", **kw) -> Candidate:
    return Candidate(
        f"evidence/records/2026-01-01/{check}/r-1",
        Kind.evidence_record,
        EVIDENCE_CLASS,
        dt.date(2026, 1, 1),
        1,
        ("loans_raw",),
        ("loan_approval",),
        check=check,
        manifest_sha256="ab" * 32,
        sealed_in=kw.pop("sealed_in", 1),
        **kw,
    )


# --- the decision ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts_from", "rules_kw"),
    [
        ("created", {}),
        ("certification_cycle_end", {"cycles": [("c1", dt.date(2025, 1, 1), dt.date(2027, 1, 1))]}),
        ("ai_system_retirement", {"retirements": {"loan_approval": dt.date(2027, 1, 1)}}),
    ],
)
def test_a_known_anchor_is_no_inventory_gap_and_the_decision_names_its_policy(counts_from, rules_kw):
    """decide.py ``anchor_of``: an anchor that is known is not "unresolved" (kills the ``False`` ->
    ``True`` mutants of its three successful returns), and ``decide`` returns the policy it applied
    and the unresolved flag in their places (kills ``policy`` -> ``None`` and the dropped-argument
    mutants of the final ``Decision``)."""
    p = _policy("raw_personal_data", counts_from=counts_from)
    d = decide(_raw(), _rules(p, **rules_kw), LATER)
    assert d.outcome == Outcome.delete and d.unresolved is False and d.policy is p
    assert d.as_dict()["unresolved"] is False


def test_a_system_not_retired_or_unknown_to_the_object_is_no_inventory_gap():
    """decide.py ``anchor_of``: "not retired" and "no AI system known" keep the object but are not
    gaps in the inventory (kills their ``False`` -> ``True`` mutants); the no-system reason is exact."""
    p = _policy("raw_personal_data", counts_from="ai_system_retirement")
    in_service = decide(_raw(), _rules(p), LATER)
    assert in_service.outcome == Outcome.keep and in_service.unresolved is False
    nobody = decide(_raw(datasets=(), ai_systems=()), _rules(p), LATER)
    assert nobody.outcome == Outcome.keep and nobody.unresolved is False
    assert nobody.reasons == (
        "no AI system known for this object (retention counts from an AI system's retirement)",
    )


def test_a_protected_record_decision_is_complete():
    """decide.py ``decide``: a retention record is kept, not expired, under no hold (kills the
    ``()`` -> ``None`` and ``False`` -> ``None``/``True`` mutants of that early return) and the reason
    says why, exactly."""
    d = decide(_record("retention_disposal/certificate"), _rules(), LATER)
    assert d.outcome == Outcome.keep and d.protected and d.holds == () and d.expired is False
    assert d.reasons == (
        "retention records (plans, executions, certificates, tombstones) are never disposed of",
    )
    assert d.as_dict()["holds"] == [] and d.as_dict()["expired"] is False


def test_an_error_decision_keeps_the_holds_and_is_not_expired():
    """decide.py ``decide``: an object without a policy is an error that still lists its holds and is
    not expired (kills ``holds`` -> ``None`` and ``False`` -> ``None``/``True`` in that return); an
    object without a data class and without a note says "no data class" (kills the ``or True`` and
    string mutants of that reason)."""
    d = decide(_raw(), _rules(holds=[_hold(dataset="loans_raw")]), LATER)
    assert d.outcome == Outcome.error and d.holds == ("H1",) and d.expired is False
    assert d.reasons[0] == "no retention policy for data class 'raw_personal_data'"
    assert d.reasons[1].startswith("legal hold H1 (dataset loans_raw, since 2026-01-01, set by legal)")
    nothing = Candidate("data/x.csv", Kind.dataset_file, None, dt.date(2026, 1, 1), 1)
    assert decide(nothing, _rules(), LATER).reasons == ("no data class",)


def test_an_unsealed_record_is_kept_with_the_exact_reason():
    """decide.py ``decide``: kills the string mutants of the not-sealed reason (the plan shows it)."""
    d = decide(_record(sealed_in=None), _rules(_policy(EVIDENCE_CLASS)), LATER)
    assert d.outcome == Outcome.keep and d.expired
    assert d.reasons == ("evidence record not sealed yet (a tombstone must name the seal that covered it)",)


def test_a_lineage_record_relied_on_by_files_on_disk_is_kept():
    """decide.py ``decide``: a sealed, expired lineage record that still archives 2 event files on disk
    is KEPT (kills ``kind == evidence_record`` -> ``!=``, under which it would be deleted and the files
    left without their archive) with the exact reason (kills its ``None`` and string mutants)."""
    d = decide(
        _record("evidence_seal/lineage_events", archives_files=2), _rules(_policy(EVIDENCE_CLASS)), LATER
    )
    assert d.outcome == Outcome.keep and d.expired
    assert d.reasons == (
        f"{LINEAGE_STILL_RELIED_ON}: the archive of 2 OpenLineage event file(s) still on disk "
        "(kept until they are disposed of)",
    )


def _event(**kw) -> Candidate:
    return Candidate(
        "openlineage/staging/e.json", Kind.openlineage_event, "lineage_events", dt.date(2026, 1, 1), 1, **kw
    )


def test_an_event_file_not_archived_is_kept_with_the_days_named():
    """decide.py ``decide``/``_not_archived``: the reason names the unarchived days joined by ", " and
    an unreadable file says so (kills ``reasons.append(None)`` and the string/join mutants)."""
    r = _rules(_policy("lineage_events"))
    d = decide(
        _event(event_days=("2026-01-01", "2026-01-02"), unarchived_days=("2026-01-01", "2026-01-02")),
        r,
        LATER,
    )
    assert d.outcome == Outcome.keep
    assert d.reasons == (
        f"{LINEAGE_NOT_ARCHIVED}: no sealed evidence_seal/lineage_events record of 2026-01-01, 2026-01-02 "
        "lists this content (SHA-256) of the file",
    )
    unreadable = decide(_event(event_days=None), r, LATER)
    assert unreadable.reasons == (
        f"{LINEAGE_NOT_ARCHIVED}: its events cannot be read, so the days they belong to are unknown "
        "(the evidence_seal/lineage_events records name unparseable files)",
    )


def test_a_hold_naming_a_path_inside_the_object_covers_it():
    """decide.py ``hold_covers``: a relative prefix deeper than the object (a path inside a folder
    object, given with or without its trailing slash) covers it (kills ``rstrip("/")`` ->
    ``rstrip(None)``/``lstrip("/")``/``rstrip("XX/XX")``)."""
    folder = Candidate(
        "data/raw/date=2026-01-01/", Kind.dataset_file, "raw_personal_data", dt.date(2026, 1, 1), 1
    )
    inside = _hold(path_prefix="data/raw/date=2026-01-01/a.csv")
    assert hold_covers(inside, folder, _rules())
    assert not hold_covers(_hold(path_prefix="data/raw/date=2026-01-02/a.csv"), folder, _rules())


def test_an_absolute_hold_inside_the_object_path_covers_it():
    """decide.py ``matching_holds``: an absolute prefix naming a path inside the object's absolute path
    covers it (kills ``absolute_path + "/"`` -> ``+ "XX/XX"``)."""
    h = _hold(path_prefix="/srv/data/raw/date=2026-01-01/a.csv")
    assert matching_holds(_raw(), _rules(holds=[h]), "/srv/data/raw/date=2026-01-01") == [h]
    assert matching_holds(_raw(), _rules(holds=[h]), "/srv/data/raw/date=2026-01-0") == []


# --- loading the policy and the holds: every problem listed, in order ----------------------------


def _problems(loader, path: Path, text: str) -> list[str]:
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        loader(path)
    return err.value.problems


def test_every_duplicate_data_class_is_listed(tmp_path: Path):
    """policy.py ``load_policies``: after a duplicate the loop goes on (kills ``continue`` ->
    ``break``): a third policy of the same class is a second problem."""
    line = "  - {data_class: c, retention: 1 year, counts_from: created, legal_basis: b}\n"
    problems = _problems(load_policies, tmp_path / "p.yaml", "policies:\n" + line * 3)
    assert len(problems) == 2 and all("expected a unique data class" in p for p in problems)
    assert "policies[1]" in problems[0] and "policies[2]" in problems[1]


def test_the_policy_set_names_its_file(tmp_path: Path):
    """policy.py ``load_policies``: the PolicySet carries its path (kills ``path`` -> ``None``); the
    plan names the policy file it applied."""
    path = tmp_path / "p.yaml"
    path.write_text(
        "policies:\n  - {data_class: c, retention: 1 year, counts_from: created, legal_basis: b}\n"
    )
    assert load_policies(path).path == path


def test_an_empty_file_says_what_was_expected(tmp_path: Path):
    """policy.py ``load_policies``/``load_holds``: the message says which top-level key is expected
    (kills the ``None`` and string mutants of the ``read_mapping`` argument)."""
    assert _problems(load_policies, tmp_path / "p.yaml", "")[0].endswith(
        "value an empty file: expected a mapping with the top-level key 'policies'"
    )
    assert _problems(lambda p: load_holds(p, INVENTORY), tmp_path / "h.yaml", "")[0].endswith(
        "value an empty file: expected a mapping with the top-level key 'holds' (a list, possibly empty)"
    )


def test_a_missing_list_is_named_missing(tmp_path: Path):
    """policy.py ``_items``: a missing ``policies`` key reads ``value <missing>`` (kills the ``and
    False`` and string mutants), a present non-list shows its value."""
    assert any(
        p.endswith("policies: value <missing>: expected a list")
        for p in _problems(load_policies, tmp_path / "p.yaml", "version: 1\n")
    )


def test_unknown_keys_of_mixed_types_are_all_listed_not_a_crash(tmp_path: Path):
    """policy.py ``_items``: unknown top-level keys are sorted by their text, so a number and a string
    together do not crash (kills ``key=str`` -> ``key=None``/default)."""
    line = "  - {data_class: c, retention: 1 year, counts_from: created, legal_basis: b}\n"
    problems = _problems(load_policies, tmp_path / "p.yaml", "2026: x\nzz: y\npolicies:\n" + line)
    assert [p.split(": ", 1)[1].split(":")[0] for p in problems] == ["[2026]", "zz"]


def test_a_hold_that_is_not_a_mapping_is_a_problem_not_a_crash(tmp_path: Path):
    """policy.py ``load_holds``: an item that is a plain string is reported (kills ``isinstance(item,
    dict) or True``, under which ``item.get`` raised AttributeError)."""
    problems = _problems(lambda p: load_holds(p, INVENTORY), tmp_path / "h.yaml", "holds:\n  - H1\n")
    assert problems and all("holds[0]" in p for p in problems)


def test_hold_problems_come_in_document_order(tmp_path: Path):
    """policy.py ``load_holds``/``_order``: problems are ordered by hold index numerically (holds[2]
    before holds[10]), a problem of no hold before holds[0] (kills ``key=_order`` -> ``None``/default
    and the ``-1`` -> ``+1``, regex and ``and False`` mutants of ``_order``)."""
    bad = "  - {id: H, dataset: nope, reason: r, set_by: a, since: 2026-01-01}\n"
    good = "  - {id: G%d, dataset: loan_training_set, reason: r, set_by: a, since: 2026-01-01}\n"
    items = [bad.replace("id: H", f"id: H{i}") if i in (0, 2, 10) else good % i for i in range(11)]
    problems = _problems(
        lambda p: load_holds(p, INVENTORY), tmp_path / "h.yaml", "extra: 1\nholds:\n" + "".join(items)
    )
    order = [next((w for w in ("extra", "holds[0]", "holds[2]", "holds[10]") if w in p), p) for p in problems]
    assert order == ["extra", "holds[0]", "holds[2]", "holds[10]"]


# --- what the plan record shows of a decision, a hold and a policy ----------------------------------


def test_a_decision_as_the_plan_shows_it():
    """decide.py ``Decision.as_dict``: every field under its name, the expiry as an ISO date or null
    (kills the key-string, ``None`` and ``if`` mutants of that function, none of which the decision
    tests ran)."""
    p = _policy("raw_personal_data", retention="90 days")
    h = _hold(dataset="loans_raw")
    kept = decide(_raw(), _rules(p, holds=[h]), LATER)
    assert kept.as_dict() == {
        "outcome": "keep",
        "reasons": [kept.reasons[0]],
        "holds": ["H1"],
        "expires_on": "2026-04-01",
        "expired": True,
        "unresolved": False,
    }
    gap = decide(_raw(), _rules(_policy("raw_personal_data", counts_from="certification_cycle_end")), LATER)
    assert gap.as_dict() == {
        "outcome": "keep",
        "reasons": list(gap.reasons),
        "holds": [],
        "expires_on": None,
        "expired": False,
        "unresolved": True,
    }


def test_a_hold_and_a_policy_as_the_plan_shows_them():
    """policy.py ``LegalHold.as_dict`` (JSON values, unset scopes left out) and
    ``RetentionPolicy.as_dict`` (JSON values): kills their ``mode``/``exclude_none`` mutants."""
    assert _hold(dataset="loans_raw").as_dict() == {
        "id": "H1",
        "dataset": "loans_raw",
        "reason": "litigation",
        "set_by": "legal",
        "since": "2026-01-01",
    }
    doc = _policy("raw_personal_data", retention="90 days").as_dict()
    assert doc["data_class"] == "raw_personal_data" and doc["retention"] == "90 days"
    assert doc["counts_from"] == "created" and type(doc["counts_from"]) is str


def test_rules_from_the_inventory():
    """decide.py ``Rules.build``: retirements, certification cycles and the dataset -> AI system map come
    from the inventory, the specs are kept (kills its mutants, which no decision test ran: they build
    ``Rules`` by hand)."""
    from aimsflow.results import SpecRef

    spec = SpecRef("include/config/retention/policies.yaml", "0" * 64)
    policies = PolicySet({}, "lineage_events", Path("p.yaml"))
    rules = Rules.build(policies, [_hold(ai_system="loan_approval")], INVENTORY, [spec])
    assert rules.policies is policies and [h.id for h in rules.holds] == ["H1"]
    assert rules.retirements == {"loan_approval": None}
    assert rules.cycles == (
        ("cycle-2024", dt.date(2024, 3, 1), dt.date(2027, 3, 1)),
        ("cycle-2027", dt.date(2027, 3, 1), dt.date(2030, 3, 1)),
    )
    assert rules.dataset_systems["loan_training_set"] == "loan_approval"
    assert rules.specs == (spec,)
