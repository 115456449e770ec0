"""OSCAL: the assessment of a period as OSCAL Assessment Results, with the plan, system security plan,
profile and catalog they rest on (``aimsflow oscal export --period P -o ar.json``).

Five JSON documents, OSCAL :data:`OSCAL_VERSION` (the version compliance-trestle's models implement;
a test loads every document with them), linked by relative file names, all in one folder:

* ``ar.json`` (the name given): **Assessment Results**, one ``result`` for the period: the reviewed
  controls (the SoA's applicable Annex A controls), one observation per evidence record (method
  ``TEST`` for a job's record, ``EXAMINE`` for a manual document, ``manual_evidence/document``), with
  when it was collected, when it expires and a link to the record carrying its manifest's SHA-256,
  and one finding per reviewed control whose target is ``satisfied`` or ``not-satisfied``;
* ``assessment-plan.json``: the plan the results import (``import-ap``): the same reviewed controls,
  the system as the subject, aimsflow as the assessment platform;
* ``ssp.json``: a system security plan stub the plan imports (``import-ssp``): the AIMS scope and one
  implemented requirement per applicable control (how the SoA says it is implemented and evidenced);
* ``iso42001-soa-profile.json``: the SoA as an OSCAL profile (``import-profile`` of the SSP): the
  applicable controls selected from the catalog, the exclusions and their justifications in remarks;
* ``iso42001-annex-a-catalog.json``: the 38 Annex A controls, grouped by clause (titles only: the
  control text is ISO's; each control's statement part names where to read it).

Everything the findings say comes from :class:`aimsflow.compliance.coverage.Coverage` (the one
computation ``aimsflow soa`` renders): a control is ``satisfied`` exactly when coverage reports no gap
for it (fresh evidence, a passing latest verdict, no open nonconformity), ``not-satisfied`` with the
gap in words otherwise. Observations are the records coverage reads (verified, existing at ``as_of``,
their period overlapping the assessed one, the current verdict of their check, subject and period)
that a reviewed control counts: they name it and a check the SoA lists for it (or it is evidenced
manually and they are manual documents). A record that does not verify is never an observation.

Control ids: an OSCAL id is a token; Annex A ids are lower-cased (``A.7.4`` -> ``a.7.4``, as NIST
writes ``ac-1``) and the original is kept as the control's ``label`` property; a finding targets the
control's statement part ``a.7.4_smt``. Identifiers are UUIDv5 of stable names (the document, the
period, the control, the record key) under a namespace of the evidence log's origin, so exporting the
same period of the same store again gives the same identifiers and a diff shows only what changed.

Links to records (``relevant-evidence``, back-matter ``rlinks``) are record keys, relative to the
root of the evidence store (or of an export bundle, which keeps the same layout): the rlink names the
record's ``manifest.json`` with its SHA-256, the leaf data of the record in the evidence log.

The package never imports an OSCAL library: the documents are plain JSON built here;
compliance-trestle is a test dependency only (the tests load every document with its models).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aimsflow.compliance.coverage import Coverage, current_records, fresh_until
from aimsflow.compliance.soa import MANUAL_CHECK, Soa, SoaControl
from aimsflow.evidence.controls import ANNEX_A
from aimsflow.periods import Period

if TYPE_CHECKING:
    from aimsflow.evidence.listing import RecordSummary
    from aimsflow.evidence.storage import Storage
    from aimsflow.risk.evidence import Evidence

OSCAL_VERSION = "1.2.1"
#: Namespace of aimsflow's own properties (OSCAL: a property outside NIST's names carries an ``ns``).
NS = "https://aimsflow.dev/ns/oscal"
CATALOG_FILE = "iso42001-annex-a-catalog.json"
PROFILE_FILE = "iso42001-soa-profile.json"
SSP_FILE = "ssp.json"
AP_FILE = "assessment-plan.json"
#: The documents written beside the assessment results, in import order (AR -> AP -> SSP -> ...).
SUPPORT_FILES = {
    "assessment-plan": AP_FILE,
    "system-security-plan": SSP_FILE,
    "profile": PROFILE_FILE,
    "catalog": CATALOG_FILE,
}

#: Annex A's clauses (the groups of the catalog); A.6 has two sub-clauses.
GROUPS = {
    "A.2": "Policies related to AI",
    "A.3": "Internal organization",
    "A.4": "Resources for AI systems",
    "A.5": "Assessing impacts of AI systems",
    "A.6": "AI system life cycle",
    "A.6.1": "Management guidance for AI system development",
    "A.6.2": "AI system life cycle",
    "A.7": "Data for AI systems",
    "A.8": "Information for interested parties of AI systems",
    "A.9": "Use of AI systems",
    "A.10": "Third-party and customer relationships",
}


class OscalRefused(RuntimeError):
    """Nothing written: the request cannot give valid documents (exit 2)."""


# --- ids -------------------------------------------------------------------------------------------


def oscal_id(control: str) -> str:
    """The OSCAL token of an Annex A control id: ``A.7.4`` -> ``a.7.4``."""
    if control not in ANNEX_A:
        raise ValueError(f"{control!r} is not an Annex A control id")
    return control.lower()


def control_of(token: str) -> str:
    """The Annex A control id of an OSCAL token: ``a.7.4`` -> ``A.7.4``."""
    control = "A" + token[1:] if token.startswith("a.") else token
    if control not in ANNEX_A:
        raise ValueError(f"{token!r} is not the OSCAL id of an Annex A control")
    return control


def statement_id(control: str) -> str:
    """The id of the control's statement part, the target of its finding."""
    return f"{oscal_id(control)}_smt"


@dataclass(frozen=True)
class Ids:
    """UUIDv5 of stable names under the namespace of one evidence log."""

    origin: str

    @property
    def namespace(self) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"https://aimsflow.dev/oscal/{self.origin}")

    def __call__(self, *name: str) -> str:
        return str(uuid.uuid5(self.namespace, "/".join(name)))


# --- small builders ------------------------------------------------------------------------------------


def _line(text: Any) -> str:
    """A value OSCAL accepts where one line is expected: no line breaks, no outer whitespace."""
    return " ".join(str(text).split())


def prop(name: str, value: Any, *, ours: bool = True, **extra: Any) -> dict[str, Any] | None:
    """An OSCAL property (None for an empty value: OSCAL allows none)."""
    text = _line(value) if value is not None else ""
    if not text:
        return None
    out: dict[str, Any] = {"name": name, "value": text}
    if ours:
        out["ns"] = NS
    out.update(extra)
    return out


def props(*items: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [p for p in items if p is not None]


def _some(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` without empty lists and None values (OSCAL lists hold at least one item)."""
    return {k: v for k, v in doc.items() if v is not None and v != []}


def when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def metadata(title: str, modified: dt.datetime, version: str, **more: Any) -> dict[str, Any]:
    return _some(
        {
            "title": _line(title),
            "last-modified": when(modified),
            "version": _line(version),
            "oscal-version": OSCAL_VERSION,
            **more,
        }
    )


def _tool_version() -> str:
    from aimsflow.cli import package_version

    return package_version()


# --- the catalog, profile, SSP and plan (from the SoA) ----------------------------------------------------


def _group_of(control: str) -> str:
    parts = control.split(".")
    return ".".join(parts[:3]) if control.startswith("A.6.") else ".".join(parts[:2])


def _control(control: str) -> dict[str, Any]:
    return {
        "id": oscal_id(control),
        "title": ANNEX_A[control],
        "props": [
            {"name": "label", "value": control},
            {"name": "sort-id", "value": _sort_id(control)},
        ],
        "parts": [
            {
                "id": statement_id(control),
                "name": "statement",
                "prose": f"The requirement of ISO/IEC 42001:2023 Annex A control {control} ({ANNEX_A[control]}): "
                "see the standard (its text is not reproduced here).",
            }
        ],
    }


def _sort_id(control: str) -> str:
    """``A.10.2`` sorts after ``A.9.4``: every number zero-padded."""
    return "a." + ".".join(f"{int(n):02d}" for n in control.split(".")[1:])


def catalog(ids: Ids, modified: dt.datetime) -> dict[str, Any]:
    """The 38 Annex A controls, grouped by clause (A.6 in its two sub-clauses)."""
    by_group: dict[str, list[str]] = {}
    for control in ANNEX_A:
        by_group.setdefault(_group_of(control), []).append(control)

    def group(gid: str) -> dict[str, Any]:
        g: dict[str, Any] = {"id": gid.lower(), "class": "clause", "title": GROUPS[gid]}
        g["props"] = [{"name": "label", "value": gid}]
        if gid == "A.6":
            g["groups"] = [group("A.6.1"), group("A.6.2")]
        else:
            g["controls"] = [_control(c) for c in by_group[gid]]
        return g

    return {
        "catalog": {
            "uuid": ids("catalog"),
            "metadata": metadata(
                "ISO/IEC 42001:2023 Annex A: reference control objectives and controls",
                modified,
                "2023",
                props=[prop("source", "ISO/IEC 42001:2023, Annex A (normative)")],
                remarks="Control identifiers and titles only: the text of each control is the "
                "standard's. OSCAL ids are the Annex A ids in lower case (A.7.4 is a.7.4); the "
                "original id is each control's label.",
            ),
            "groups": [group(g) for g in GROUPS if g.count(".") == 1],
        }
    }


def _applicable(soa: Soa) -> list[SoaControl]:
    rows = [c for c in soa.annex_a if c.applicable]
    if not rows:
        raise OscalRefused(f"{soa.path}: no Annex A control is applicable: there is nothing to assess")
    return rows


def _soa_version(soa: Soa) -> str:
    return f"SoA approved {soa.approved_on.isoformat()} by {soa.approved_by}"


def profile(ids: Ids, soa: Soa, modified: dt.datetime) -> dict[str, Any]:
    """The Statement of Applicability as a profile: the applicable controls of the catalog."""
    excluded = [c for c in soa.annex_a if not c.applicable]
    remarks = "Controls excluded by the Statement of Applicability (ISO/IEC 42001 6.1.3 d), with the "
    remarks += "justification of each:\n\n" + "\n".join(
        f"* {c.id}: {_line(c.justification)}" for c in excluded
    )
    return {
        "profile": {
            "uuid": ids("profile"),
            "metadata": metadata(
                f"Statement of Applicability: {len(_applicable(soa))} of {len(soa.annex_a)} Annex A "
                "controls applicable",
                modified,
                _soa_version(soa),
                props=props(prop("scope", soa.scope), prop("soa-file", soa.path.name)),
                remarks=remarks if excluded else None,
            ),
            "imports": [
                {
                    "href": CATALOG_FILE,
                    "include-controls": [{"with-ids": [oscal_id(c.id) for c in _applicable(soa)]}],
                }
            ],
            "merge": {"as-is": True},
        }
    }


def _evidenced_by(c: SoaControl) -> list[dict[str, Any]]:
    if c.manual:
        return props(prop("evidenced-by", MANUAL_CHECK), prop("max-age-days", c.max_age_days))
    return props(
        *(prop("evidenced-by", r.pattern, remarks=f"max age {r.max_age_days} days") for r in c.requirements),
        prop("max-age-days", c.max_age_days),
    )


def system_security_plan(ids: Ids, soa: Soa, modified: dt.datetime) -> dict[str, Any]:
    """A stub: the AIMS (the SoA's scope) as the system, and per applicable control how it is
    implemented and evidenced, as the SoA says."""
    approver = ids("party", soa.approved_by)
    this_system = ids("component", "this-system")
    rows = _applicable(soa)
    return {
        "system-security-plan": {
            "uuid": ids("system-security-plan"),
            "metadata": metadata(
                "AI management system: system security plan (stub from the Statement of Applicability)",
                modified,
                _soa_version(soa),
                roles=[{"id": "approver", "title": "Approver of the Statement of Applicability"}],
                parties=[{"uuid": approver, "type": "person", "name": _line(soa.approved_by)}],
                **{"responsible-parties": [{"role-id": "approver", "party-uuids": [approver]}]},
                remarks="A stub for the assessment plan to import: the system's scope and, per applicable "
                "Annex A control, its implementation and evidence as the Statement of Applicability "
                "states them. aimsflow writes it; it is not the organisation's complete SSP.",
            ),
            "import-profile": {"href": PROFILE_FILE},
            "system-characteristics": {
                "system-ids": [{"identifier-type": NS, "id": ids.origin}],
                "system-name": "AI management system (ISO/IEC 42001)",
                "system-name-short": "AIMS",
                "description": soa.scope,
                "system-information": {
                    "information-types": [
                        {
                            "title": "AI management system evidence",
                            "description": "Signed, sealed evidence records of the governance jobs and "
                            "manually ingested documents, mapped to ISO/IEC 42001 controls.",
                        }
                    ]
                },
                "status": {"state": "operational"},
                "authorization-boundary": {"description": soa.scope},
            },
            "system-implementation": {
                "components": [
                    {
                        "uuid": this_system,
                        "type": "this-system",
                        "title": "AI management system",
                        "description": soa.scope,
                        "status": {"state": "operational"},
                    }
                ]
            },
            "control-implementation": {
                "description": f"{len(rows)} of {len(soa.annex_a)} Annex A controls are applicable "
                f"({soa.path.name}); each is evidenced by the checks listed, or by documents "
                "(manual_evidence/document), within max-age-days.",
                "implemented-requirements": [
                    _some(
                        {
                            "uuid": ids("implemented-requirement", c.id),
                            "control-id": oscal_id(c.id),
                            "props": [{"name": "label", "value": c.id}, *_evidenced_by(c)],
                            "remarks": c.justification or None,
                            "by-components": [
                                {
                                    "component-uuid": this_system,
                                    "uuid": ids("by-component", c.id),
                                    "description": c.implementation
                                    or c.justification
                                    or f"Evidenced by {c.evidenced_by}.",
                                }
                            ],
                        }
                    )
                    for c in rows
                ],
            },
        }
    }


def _reviewed_controls(soa: Soa, what: str) -> dict[str, Any]:
    return {
        "description": what,
        "control-selections": [
            {"include-controls": [{"control-id": oscal_id(c.id)} for c in _applicable(soa)]}
        ],
    }


def tool_component(ids: Ids) -> dict[str, Any]:
    return {
        "uuid": ids("component", "aimsflow"),
        "type": "software",
        "title": "aimsflow",
        "description": "The governance jobs (Airflow DAGs) and the evidence store they write: signed, "
        "sealed records, each the result of an automated test of controls, or a manually ingested "
        "document.",
        "props": [prop("version", _tool_version(), ours=False)],
        "status": {"state": "operational"},
    }


def assessment_plan(ids: Ids, soa: Soa, modified: dt.datetime) -> dict[str, Any]:
    """The plan: the applicable controls are assessed continuously from the evidence store."""
    tool = tool_component(ids)
    return {
        "assessment-plan": {
            "uuid": ids("assessment-plan"),
            "metadata": metadata(
                "AI management system: assessment plan (continuous, from the evidence store)",
                modified,
                _soa_version(soa),
            ),
            "import-ssp": {"href": SSP_FILE},
            "reviewed-controls": _reviewed_controls(
                soa, "The applicable Annex A controls of the Statement of Applicability."
            ),
            "assessment-subjects": [
                {
                    "type": "component",
                    "include-subjects": [
                        {"subject-uuid": ids("component", "this-system"), "type": "component"}
                    ],
                }
            ],
            "assessment-assets": {
                "components": [tool],
                "assessment-platforms": [
                    {
                        "uuid": ids("assessment-platform", "aimsflow"),
                        "title": "aimsflow evidence store",
                        "uses-components": [{"component-uuid": tool["uuid"]}],
                    }
                ],
            },
        }
    }


# --- the assessment results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Observed:
    """A record as an observation: the record, its manifest's SHA-256, and the reviewed controls
    (Annex A ids) that count it, each with the cadence it is judged by."""

    record: RecordSummary
    predicate: dict[str, Any]
    manifest_sha256: str
    cadences: dict[str, int]  # control -> max_age_days

    @property
    def method(self) -> str:
        return "EXAMINE" if self.record.check == MANUAL_CHECK else "TEST"

    @property
    def expires(self) -> dt.datetime:
        """The first moment it is stale evidence for any control counting it (coverage's rule)."""
        last = min(fresh_until(self.record, days) for days in self.cadences.values())
        return midnight(last + dt.timedelta(days=1))


def _cadences(entry: SoaControl, check: str) -> list[int]:
    """The max ages the SoA judges a record of ``check`` by, for control ``entry`` (none: not counted)."""
    if entry.manual:
        return [int(entry.max_age_days or 0)] if check == MANUAL_CHECK else []
    return [r.max_age_days for r in entry.requirements if r.covers(check)]


def observed_records(
    coverage: Coverage, evidence: Evidence, storage: Storage
) -> tuple[list[Observed], dict[str, list[str]]]:
    """The records that are observations, in log order, and per reviewed control the keys of those
    it counts."""
    reviewed = {c.id: c for c in _applicable(coverage.soa)}
    counted: dict[str, list[str]] = {c: [] for c in reviewed}
    out = []
    for r in sorted(current_records(evidence.records, coverage.as_of, coverage.period), key=_log_order):
        cadences: dict[str, int] = {}
        for control in r.controls:
            entry = reviewed.get(control)
            ages = _cadences(entry, r.check) if entry is not None else []
            if ages:
                cadences[control] = min(ages)
                counted[control].append(r.key)
        if cadences:
            sha = storage.sha256(f"{r.key}/manifest.json")
            out.append(Observed(r, evidence.predicates[r.key], sha, cadences))
    return out, counted


def _log_order(r: RecordSummary) -> tuple[Any, ...]:
    return r.log_position


def observation(ids: Ids, o: Observed, tool: str) -> dict[str, Any]:
    r, p = o.record, o.predicate
    subject = r.subject
    about = ", ".join(
        v for v in (subject.get("dataset") or subject.get("ai_system"), subject.get("partition")) if v
    )
    producer = r.producer
    document = r.summary if o.method == "EXAMINE" else {}
    return _some(
        {
            "uuid": ids("observation", r.key),
            "title": _line(f"{r.check}: {r.status}, {r.period.label}" + (f" ({about})" if about else "")),
            "description": _line(p.get("message")) or f"{r.check} {r.status}",
            "props": props(
                prop("record", r.key),
                prop("check", r.check),
                prop("status", str(r.status)),
                prop("period", r.period.label),
                *(prop("control", c) for c in sorted(o.cadences, key=_sort_id)),
                prop("ai-system", subject.get("ai_system")),
                prop("dataset", subject.get("dataset")),
                prop("partition", subject.get("partition")),
                prop("dag-id", producer.get("dag_id")),
                prop("run-id", producer.get("run_id") or producer.get("invocation")),
                prop("try-number", producer.get("try_number")),
                prop("document", document.get("document")),
                prop("document-sha256", document.get("document_sha256")),
                prop("review-date", document.get("review_date")),
                prop("superseded", "true") if r.superseded else None,
            ),
            "methods": [o.method],
            "types": ["control-objective"],
            "origins": [{"actors": [{"type": "tool", "actor-uuid": tool}]}],
            "relevant-evidence": [
                {
                    "href": r.key,
                    "description": f"The signed evidence record {r.key} (its signed manifest.json has "
                    f"SHA-256 {o.manifest_sha256}, the record's leaf data in the evidence log).",
                    "props": [prop("manifest-sha256", o.manifest_sha256)],
                    "links": [
                        {"href": f"#{ids('resource', r.key)}", "rel": "reference", "text": "manifest.json"}
                    ],
                }
            ],
            "collected": when(r.ended_at),
            "expires": when(o.expires),
        }
    )


def _resource(ids: Ids, o: Observed) -> dict[str, Any]:
    r = o.record
    return {
        "uuid": ids("resource", r.key),
        "title": f"{r.key}/manifest.json",
        "description": "The record's signed manifest (in-toto statement; signed in manifest.dsse.json).",
        "props": props(prop("record", r.key), prop("check", r.check)),
        "rlinks": [
            {
                "href": f"{r.key}/manifest.json",
                "media-type": "application/json",
                "hashes": [{"algorithm": "SHA-256", "value": o.manifest_sha256}],
            }
        ],
    }


def finding(ids: Ids, coverage: Coverage, control: str, related: Iterable[str], tool: str) -> dict[str, Any]:
    row = coverage.control(control)
    label = "period " + coverage.period.label if coverage.period else "all periods"
    satisfied = row.gap is None
    verdict = row.verdict
    return _some(
        {
            "uuid": ids("finding", label, control),
            "title": _line(f"{control} {row.title}"),
            "description": row.gap or _satisfied_in_words(row),
            "props": props(
                prop("control", control),
                prop("freshness", str(row.freshness)),
                prop("age-days", row.age_days),
                prop("max-age-days", row.max_age_days),
                prop("latest-verdict", verdict.status if verdict else None),
                prop("latest-verdict-record", verdict.record if verdict else None),
                *(prop("open-nonconformity", nc.id) for nc in row.nonconformities),
            ),
            "origins": [{"actors": [{"type": "tool", "actor-uuid": tool}]}],
            "target": _some(
                {
                    "type": "statement-id",
                    "target-id": statement_id(control),
                    "title": _line(f"{control} {row.title}"),
                    "status": {
                        "state": "satisfied" if satisfied else "not-satisfied",
                        "reason": "pass" if satisfied else "fail",
                    },
                    "remarks": row.gap,
                }
            ),
            "related-observations": [{"observation-uuid": ids("observation", key)} for key in related],
        }
    )


def _satisfied_in_words(row: Any) -> str:
    age = f"{row.age_days} of at most {row.max_age_days} days old" if row.age_days is not None else "fresh"
    verdict = row.verdict.status if row.verdict else "-"
    return f"Fresh evidence ({age}), latest verdict {verdict}, no open nonconformity."


def assessment_results(
    ids: Ids, coverage: Coverage, observed: list[Observed], counted: dict[str, list[str]]
) -> dict[str, Any]:
    period = coverage.period
    assert period is not None
    tool = ids("component", "aimsflow")
    rows = _applicable(coverage.soa)
    satisfied = sum(coverage.control(c.id).gap is None for c in rows)
    rejected = coverage.rejected
    remarks = (
        "Findings are aimsflow's coverage of each applicable control at the as-of time (what `aimsflow "
        "soa` shows): satisfied when its evidence is fresh, its latest verdict passing and no "
        "nonconformity is open; observations are the verified records those controls count. "
        "Record links are relative to the evidence store's root."
    )
    if rejected:
        remarks += (
            f"\n\n{len(rejected)} record folder(s) do not verify against the trusted keys and were not read: "
        )
        remarks += "; ".join(f"{u.key} ({_line(u.problem)})" for u in rejected)
    end = min(period.end, coverage.as_of)
    return {
        "assessment-results": _some(
            {
                "uuid": ids("assessment-results", period.label),
                "metadata": metadata(
                    f"ISO/IEC 42001 Annex A assessment results, {period.label}",
                    coverage.as_of,
                    f"{period.label} as of {when(coverage.as_of)}",
                    props=props(
                        prop("period", period.label),
                        prop("as-of", when(coverage.as_of)),
                        prop("evidence-log", ids.origin),
                        prop("generator", f"aimsflow {_tool_version()}"),
                    ),
                ),
                "import-ap": {"href": AP_FILE},
                "results": [
                    _some(
                        {
                            "uuid": ids("result", period.label),
                            "title": f"Annex A controls, {period.label}",
                            "description": f"The evidence of {period.label} ({when(period.start)} to "
                            f"{when(period.end)}, end excluded), judged as of {when(coverage.as_of)}: "
                            f"{satisfied} of {len(rows)} reviewed controls satisfied.",
                            "start": when(period.start),
                            "end": when(max(end, period.start)),
                            "props": props(
                                prop("as-of", when(coverage.as_of)),
                                prop("satisfied", satisfied),
                                prop("not-satisfied", len(rows) - satisfied),
                                prop("untrusted-record-folders", len(rejected)),
                            ),
                            "reviewed-controls": _reviewed_controls(
                                coverage.soa,
                                "The applicable Annex A controls of the Statement of Applicability.",
                            ),
                            "observations": [observation(ids, o, tool) for o in observed],
                            "findings": [finding(ids, coverage, c.id, counted[c.id], tool) for c in rows],
                            "remarks": remarks,
                        }
                    )
                ],
                "back-matter": {"resources": [_resource(ids, o) for o in observed]} if observed else None,
            }
        )
    }


# --- the export ---------------------------------------------------------------------------------------


@dataclass
class Written:
    role: str
    path: Path
    state: str  # written (new), updated (was different), kept (unchanged)

    def as_dict(self) -> dict[str, Any]:
        return {"document": self.role, "path": str(self.path), "state": self.state}


@dataclass
class OscalExport:
    path: Path
    period: Period
    as_of: dt.datetime
    files: list[Written]
    reviewed: list[str]
    observations: dict[str, int]  # TEST / EXAMINE -> count
    satisfied: list[str]
    not_satisfied: list[tuple[str, str]]  # control, gap
    rejected: list[Any] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "assessment_results": str(self.path),
            "oscal_version": OSCAL_VERSION,
            "period": self.period.as_dict(),
            "as_of": self.as_of.isoformat(),
            "files": [f.as_dict() for f in self.files],
            "results": 1,
            "reviewed_controls": self.reviewed,
            "observations": {"total": sum(self.observations.values()), **self.observations},
            "findings": {
                "total": len(self.satisfied) + len(self.not_satisfied),
                "satisfied": self.satisfied,
                "not_satisfied": [{"control": c, "gap": gap} for c, gap in self.not_satisfied],
            },
            "untrusted_records": [u.as_dict() for u in self.rejected],
        }


def build(
    coverage: Coverage, evidence: Evidence, storage: Storage, origin: str
) -> tuple[dict[str, dict[str, Any]], list[Observed]]:
    """The five documents by role (``assessment-results`` and :data:`SUPPORT_FILES`' roles)."""
    if coverage.period is None:
        raise OscalRefused("the assessment results are of one period")
    ids = Ids(origin)
    soa = coverage.soa
    modified = midnight(soa.approved_on)
    observed, counted = observed_records(coverage, evidence, storage)
    docs = {
        "assessment-results": assessment_results(ids, coverage, observed, counted),
        "assessment-plan": assessment_plan(ids, soa, modified),
        "system-security-plan": system_security_plan(ids, soa, modified),
        "profile": profile(ids, soa, modified),
        "catalog": catalog(ids, modified),
    }
    return docs, observed


def _bytes(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def _top_uuid(data: bytes) -> str | None:
    try:
        doc = json.loads(data)
        (body,) = doc.values()
        return body.get("uuid")
    except (ValueError, AttributeError, TypeError):
        return None


def write_documents(out: Path, docs: dict[str, dict[str, Any]]) -> list[Written]:
    """Write the assessment results to ``out`` and the documents they import beside it. A document
    already there with the same bytes is kept; one of the same store (same UUID) but older content is
    updated; any other file of that name is refused before anything is written."""
    out = Path(out)
    targets = {"assessment-results": out} | {role: out.parent / name for role, name in SUPPORT_FILES.items()}
    if out.name in SUPPORT_FILES.values():
        raise OscalRefused(
            f"-o {out}: {out.name} is the name of a document the results import; choose another"
        )
    plan = []
    for role, path in targets.items():
        data = _bytes(docs[role])
        old = path.read_bytes() if path.is_file() else None
        if old is None:
            state = "written"
        elif old == data:
            state = "kept"
        elif role == "assessment-results" or _top_uuid(old) == _top_uuid(data):
            state = "updated"
        else:
            raise OscalRefused(
                f"{path} exists and is not this store's {role.replace('-', ' ')}: move it, or write elsewhere"
            )
        plan.append((role, path, data, state))
    out.parent.mkdir(parents=True, exist_ok=True)
    for _, path, data, state in plan:
        if state != "kept":
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
    return [Written(role, path, state) for role, path, _, state in plan]


def export_oscal(
    storage: Storage,
    keys: Any,
    period: Period,
    out: Path,
    *,
    as_of: dt.datetime | None = None,
    origin: str | None = None,
    config: Path | None = None,
) -> OscalExport:
    """Read the store once (verified), compute coverage of ``period`` at ``as_of`` (default now) and
    write the five documents. Raises :class:`OscalRefused` (nothing written) and
    :class:`~aimsflow.configfile.ConfigError` (a bad SoA or crosswalk)."""
    from aimsflow import settings
    from aimsflow.compliance.coverage import load_coverage
    from aimsflow.risk.evidence import load_evidence

    as_of = as_of or dt.datetime.now(dt.UTC).replace(microsecond=0)
    if as_of < period.start:
        raise OscalRefused(f"--as-of {when(as_of)} is before the period {period.label} starts")
    evidence = load_evidence(storage, keys)
    coverage = load_coverage(storage, keys, as_of=as_of, period=period, config=config, evidence=evidence)
    docs, observed = build(coverage, evidence, storage, origin or settings.log_origin())
    files = write_documents(out, docs)
    rows = _applicable(coverage.soa)
    methods = {"TEST": 0, "EXAMINE": 0}
    for o in observed:
        methods[o.method] += 1
    return OscalExport(
        path=Path(out),
        period=period,
        as_of=coverage.as_of,
        files=files,
        reviewed=[c.id for c in rows],
        observations=methods,
        satisfied=[c.id for c in rows if coverage.control(c.id).gap is None],
        not_satisfied=[(c.id, coverage.control(c.id).gap or "") for c in rows if coverage.control(c.id).gap],
        rejected=list(coverage.rejected),
    )
