"""Seeded, reproducible samples of evidence records, themselves recorded as evidence.

``aimsflow evidence sample --period P --n 25 --seed S`` draws records the way an auditor can repeat
by hand in any language (method ``sha256-rank/1``):

1. **Population**: every record that verifies against the trusted keys (forged, edited or unsigned
   folders are left out and reported), whose period overlaps P, that matches the filters, that is
   not a sample record itself and that no sample of ``--exclude-sampled`` drew. Superseded records
   are part of it (every run is evidence) unless ``--current-only``.
2. **Rank**: each record's rank hash is the SHA-256 of the UTF-8 seed, one newline byte (0x0A) and
   the UTF-8 record key (``printf '%s\\n%s' "$SEED" "$KEY" | sha256sum``); records are ordered by it,
   lowest first (ties, which SHA-256 makes practically impossible, by record key).
3. **Draw**: with ``--per-control K``, for every control in scope (the controls the population's
   records carry, narrowed by ``--control``/``--framework``) the K lowest-ranked records carrying that
   control are drawn — all of them when the control has fewer than K (the control is reported as
   *short*). Then records are drawn in rank order until at least n are drawn, or the population is
   exhausted. The sample can exceed n when the strata alone need more; it never depends on the
   order records were listed in, nor on the machine or Python version.

The sample is written as a signed record (check ``evidence_sample/sample``, producer the command
``sample``) filed under P: ``population.tsv`` lists the population (record key, manifest SHA-256,
controls, rank hash; sorted by key) and the manifest's summary holds the filters, seed, method, n,
strata and the drawn records with their manifest and rank hashes. The command then seals that record
(the store lock, the witness) so that an export can prove it at once. The draw itself is
:func:`aimsflow.audit.verify_bundle.draw`: the same function the offline bundle checker re-runs.
"""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aimsflow.audit.verify_bundle import SAMPLE_CHECK, SAMPLE_METHOD, draw, rank_hash
from aimsflow.jobs import Check

if TYPE_CHECKING:
    from aimsflow.evidence.keys import Signer
    from aimsflow.evidence.listing import Loaded, RecordSummary, Untrusted
    from aimsflow.evidence.record import RecordRef
    from aimsflow.evidence.seal import SealResult
    from aimsflow.evidence.storage import Storage
    from aimsflow.periods import Period

#: The record ``aimsflow evidence sample`` writes (a command, not a DAG task; declared here).
SAMPLE = Check(
    SAMPLE_CHECK,
    ("9.2",),
    "an auditor's seeded sample: population (population.tsv), filters, seed, method sha256-rank/1, "
    "drawn records with their manifest and rank hashes",
)
SAMPLE_FORMAT = "aimsflow-sample/1"
COMMAND = "sample"
POPULATION_FILE = "population.tsv"
METHOD_DESCRIPTION = (
    "rank hash = SHA-256(UTF-8 seed || 0x0A || UTF-8 record key); records ordered by it, lowest "
    "first (ties by key); with per_control K, the K lowest-ranked records of every control in scope "
    "(all of a control with fewer); then records in rank order until at least n are drawn"
)


class SampleError(ValueError):
    """The sample cannot be drawn as asked (bad n, seed or framework): nothing is written."""


@dataclass(frozen=True)
class SampleRequest:
    period: Period
    seed: str
    n: int
    per_control: int | None = None
    control: str | None = None
    framework: str | None = None
    dag: str | None = None
    ai_system: str | None = None
    dataset: str | None = None
    status: str | None = None
    exclude_sampled: Period | None = None
    current_only: bool = False

    def __post_init__(self) -> None:
        if not self.seed:
            raise SampleError("--seed: give a non-empty seed (any text, e.g. the audit's reference)")
        if self.n < 1:
            raise SampleError(f"--n {self.n}: expected at least 1")
        if self.per_control is not None and self.per_control < 1:
            raise SampleError(f"--per-control {self.per_control}: expected at least 1")

    def filters(self) -> dict[str, Any]:
        return {
            "period": self.period.label,
            "control": self.control,
            "framework": self.framework,
            "dag": self.dag,
            "ai_system": self.ai_system,
            "dataset": self.dataset,
            "status": self.status,
            "current_only": self.current_only,
            "exclude_sampled": self.exclude_sampled.label if self.exclude_sampled else None,
        }


@dataclass
class Sample:
    """A drawn sample, not yet written: the population (sorted by key) and what was drawn."""

    request: SampleRequest
    population: list[RecordSummary]
    manifests: dict[str, str]  # record key -> SHA-256 of its manifest.json
    scope: list[str]
    drawn: list[dict[str, Any]]
    excluded_samples: list[str] = field(default_factory=list)
    excluded_records: int = 0
    rejected: list[Untrusted] = field(default_factory=list)

    def strata(self) -> list[dict[str, Any]]:
        """Per control in scope: records of the population carrying it, drawn ones, and whether it
        had fewer than ``per_control`` (all of them drawn, still short of K)."""
        k = self.request.per_control
        out = []
        for control in self.scope:
            population = sum(control in r.controls for r in self.population)
            drawn = sum(control in d["controls"] for d in self.drawn)
            out.append(
                {
                    "control": control,
                    "population": population,
                    "drawn": drawn,
                    "short": bool(k) and population < (k or 0),
                }
            )
        return out

    def population_tsv(self) -> bytes:
        seed = self.request.seed
        lines = ["# record\tmanifest_sha256\tcontrols\trank_sha256 (method sha256-rank/1)"]
        for r in self.population:
            lines.append(
                f"{r.key}\t{self.manifests[r.key]}\t{','.join(r.controls)}\t{rank_hash(seed, r.key)}"
            )
        return ("\n".join(lines) + "\n").encode("utf-8")

    def summary(self) -> dict[str, Any]:
        from aimsflow.results import sha256_bytes

        req = self.request
        return {
            "format": SAMPLE_FORMAT,
            "method": SAMPLE_METHOD,
            "method_description": METHOD_DESCRIPTION,
            "seed": req.seed,
            "n": req.n,
            "per_control": req.per_control,
            "filters": req.filters(),
            "population": {
                "size": len(self.population),
                "file": POPULATION_FILE,
                "sha256": sha256_bytes(self.population_tsv()),
            },
            "excluded_by_earlier_samples": {
                "samples": self.excluded_samples,
                "records": self.excluded_records,
            },
            "untrusted_folders_left_out": len(self.rejected),
            "untrusted_in_period": [u.as_dict() for u in self.rejected if _key_in_period(u.key, req.period)],
            "controls_in_scope": self.scope,
            "strata": self.strata() if req.per_control else [],
            "drawn": [{**d, "manifest_sha256": self.manifests[d["record"]]} for d in self.drawn],
        }


def _key_in_period(key: str, period: Period) -> bool:
    """A refused record key (``records/<label>/...``, including a sealed record that is gone) whose
    period overlaps ``period``: the population may lack it, so the sample record names it."""
    from aimsflow.periods import parse_period

    parts = key.split("/")
    try:
        return parts[0] == "records" and parse_period(parts[1]).overlaps(period)
    except (ValueError, IndexError):
        return False


def _in_framework(record: RecordSummary, controls: frozenset[str] | None) -> bool:
    return controls is None or bool(controls.intersection(record.controls))


def earlier_draws(loaded: Loaded, period: Period) -> tuple[list[str], set[str]]:
    """(sample records whose period overlaps ``period``, the record keys they drew), from verified
    sample records only: a forged sample cannot hide records from a later draw."""
    samples = sorted(
        (r for r in loaded.records if r.check == SAMPLE_CHECK and r.period.overlaps(period)),
        key=lambda r: r.key,
    )
    drawn: set[str] = set()
    for rec in samples:
        drawn |= {str(d["record"]) for d in (rec.summary.get("drawn") or []) if isinstance(d, dict)}
    return [r.key for r in samples], drawn


def draw_sample(storage: Storage, loaded: Loaded, request: SampleRequest) -> Sample:
    """The sample ``request`` asks for, from the verified records ``loaded`` (raises :class:`SampleError`)."""
    from aimsflow.audit.frameworks import UnknownFramework, framework_controls
    from aimsflow.evidence.controls import ordered_controls
    from aimsflow.evidence.listing import filter_records
    from aimsflow.evidence.record import MANIFEST

    try:
        in_framework = framework_controls(request.framework) if request.framework else None
    except UnknownFramework as exc:
        raise SampleError(str(exc)) from None
    candidates = filter_records(
        loaded.records,
        control=request.control,
        dag=request.dag,
        ai_system=request.ai_system,
        dataset=request.dataset,
        status=request.status,
        period=request.period,
        history=not request.current_only,
    )
    excluded_samples, excluded = (
        earlier_draws(loaded, request.exclude_sampled) if request.exclude_sampled else ([], set())
    )
    population = sorted(
        (
            r
            for r in candidates
            if r.check != SAMPLE_CHECK and _in_framework(r, in_framework) and r.key not in excluded
        ),
        key=lambda r: r.key,
    )
    carried = {c for r in population for c in r.controls}
    scope = [
        c
        for c in ordered_controls()
        if c in carried
        and (request.control is None or c == request.control)
        and (in_framework is None or c in in_framework)
    ]
    drawn = draw(
        [(r.key, r.controls) for r in population], request.seed, request.n, request.per_control, scope
    )
    manifests = {r.key: storage.sha256(f"{r.key}/{MANIFEST}") for r in population}
    return Sample(
        request,
        population,
        manifests,
        scope,
        drawn,
        excluded_samples,
        sum(1 for r in candidates if r.key in excluded),
        list(loaded.rejected),
    )


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return None


def write_sample(
    storage: Storage, sample: Sample, signer: Signer, *, now: dt.datetime | None = None
) -> RecordRef:
    """Write the sample as a signed record (producer: the command ``sample``); pending until sealed."""
    from aimsflow.evidence.record import Producer, RunContext, write_record
    from aimsflow.results import JobResult, Status, Subject

    req = sample.request
    started = now or dt.datetime.now(dt.UTC)
    summary = sample.summary()
    short = [s["control"] for s in summary["strata"] if s["short"]]
    result = JobResult(
        check=SAMPLE.id,
        subject=Subject(req.ai_system, req.dataset, None),
        status=Status.passed,
        controls=SAMPLE.controls,
        summary=summary,
        files={POPULATION_FILE: sample.population_tsv()},
        message=(
            f"{len(sample.drawn)} of {len(sample.population)} records drawn for {req.period.label} "
            f"(seed {req.seed!r}, {SAMPLE_METHOD})"
            + (f"; fewer than {req.per_control} records for {', '.join(short)}" if short else "")
        ),
    )
    producer = Producer.command_run(COMMAND, user=_user())
    params = {**req.filters(), "seed": req.seed, "n": req.n, "per_control": req.per_control}
    ctx = RunContext(
        req.period,
        producer,
        started,
        dt.datetime.now(dt.UTC) if now is None else now,
        triggered_by=producer.user,
        params=params,
    )
    return write_record(storage, result, ctx, signer)


def seal_sample(storage: Storage, key: str, signer: Signer) -> SealResult:
    """Seal the sample record alone, as a governance run seals its own records (the store lock, the
    witness's acceptance); raises ``SealRefused`` when the store cannot be sealed now."""
    from aimsflow.evidence.seal import Witness, seal_pending

    return seal_pending(storage, signer, Witness(), select=lambda k: k == key)
