"""The job contract: every governance job is declared once, here in shape and in its package's
``job.py`` in substance.

A :class:`Job` owns its check id (``<dag_id>/<name>``), its controls, the kind of subject its records
are about, how it uses the run's period, which records it reads, and its callable
``(period, **params) -> JobResult``. DAG files, :func:`aimsflow.airflow_glue.run_job`, the cycle, the
risk register's check globs, the controls table in ``docs/controls.md`` and the tests read the
declarations; nothing else spells a check id or a control list. Records a job writes besides its own
(certificates, tombstones, acquisition records) are declared as :class:`Check`.

Discovery is by module shape: every subpackage of :mod:`aimsflow` with a ``job`` module exporting
``JOBS`` (and optionally ``CHECKS``). Job modules import pandas, GX and fairlearn inside functions, so
a DAG file can import its declarations at parse time.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimsflow.periods import Period
    from aimsflow.results import JobResult, Subject


class SubjectKind(StrEnum):
    """What a job's records are about."""

    aims = "aims"  # the management system or the evidence store as a whole: no AI system, no dataset
    dataset = "dataset"  # one dataset (or one version of it); its AI system from the catalog
    partition = "partition"  # one dataset partition (one day of it)


class PeriodUse(StrEnum):
    """How a job uses the run's period."""

    day = "day"  # exactly one UTC day; the scheduler runs it daily, the cycle once per day
    span = "span"  # the whole period, any length (a month's reassessment, a week's provenance)
    as_of = "as_of"  # the period's end is the clock the job decides at (retention)
    label = "label"  # the period only dates the record; the job acts on the whole store


@dataclass(frozen=True)
class Check:
    """A kind of record: its check id and the controls it evidences."""

    id: str
    controls: tuple[str, ...]
    title: str

    def __post_init__(self) -> None:
        family, _, name = self.id.partition("/")
        if not family or not name or "/" in name or not self.id.replace("/", "").replace("_", "").isalnum():
            raise ValueError(f"check id {self.id!r}: expected '<dag_id>/<name>' in snake_case")
        if not self.controls:
            raise ValueError(f"check {self.id}: no controls declared")

    @property
    def dag_id(self) -> str:
        """The DAG (or command family) whose records these are: the id's first part."""
        return self.id.split("/")[0]


@dataclass(frozen=True)
class Job:
    """One governance job, run by the task ``name`` of DAG ``dag_id``."""

    dag_id: str
    name: str
    controls: tuple[str, ...]
    subject: SubjectKind
    period: PeriodUse
    func: Callable[..., JobResult]
    title: str
    # Check globs of the records this job decides from (the cycle runs their DAGs first; "*": all).
    reads: tuple[str, ...] = ()
    # Records the job writes besides its own (each is also a Check).
    also_writes: tuple[Check, ...] = ()
    # Dataset ids whose ``dataset/<id>`` Asset gets an event after a passed/warning record.
    announces: tuple[str, ...] = ()
    # The job writes the seal chain: the cycle ends with the DAG that holds it.
    seals: bool = False
    own_check: Check = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "own_check", Check(f"{self.dag_id}/{self.name}", self.controls, self.title))

    @classmethod
    def for_check(
        cls, check: Check, subject: SubjectKind, period: PeriodUse, func: Callable[..., Any], **kw: Any
    ) -> Job:
        """The job whose own records are ``check`` (declared where modules that read those records
        can import it without importing the job)."""
        dag_id, name = check.id.split("/")
        return cls(dag_id, name, check.controls, subject, period, func, check.title, **kw)

    @property
    def check(self) -> str:
        return self.own_check.id

    @property
    def checks(self) -> tuple[Check, ...]:
        return (self.own_check, *self.also_writes)

    def __call__(self, period: Period, **params: Any) -> JobResult:
        """Run the job and stamp its result with the declared check and controls."""
        return self.stamp(self.func(period, **params))

    def stamp(self, result: JobResult) -> JobResult:
        """Give a result this job's check id and controls (a job may narrow its controls, never add)."""
        if result.check and result.check != self.check:
            raise ValueError(f"job {self.check} returned a result for {result.check}")
        extra = set(result.controls) - set(self.controls)
        if extra:
            raise ValueError(f"job {self.check} reported undeclared controls {sorted(extra)}")
        result.check = self.check
        result.controls = tuple(result.controls) or self.controls
        return result

    def subject_of(self, params: dict[str, Any], period: Period) -> Subject:
        """The subject of this job's record from its parameters and period (used for ``error``
        records, when the job broke before it could say)."""
        from aimsflow.results import Subject

        if self.subject == SubjectKind.aims:
            return Subject()
        dataset = params.get("dataset") or (self.announces[0] if self.announces else None)
        partition = None
        if self.subject == SubjectKind.partition and period == type(period).day(period.start.date()):
            partition = period.start.date().isoformat()
        return Subject(_ai_system_of(dataset), dataset, partition)


def _ai_system_of(dataset: str | None) -> str | None:
    if not dataset:
        return None
    try:
        from aimsflow.catalog import load_inventory

        return load_inventory().dataset(dataset).ai_system
    except Exception:  # an error record must still be written when the catalog itself is broken
        return None


@functools.cache
def _job_modules() -> tuple[Any, ...]:
    import aimsflow

    found = []
    for info in sorted(pkgutil.iter_modules(aimsflow.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"aimsflow.{info.name}.job")
        except ModuleNotFoundError as exc:
            if exc.name != f"aimsflow.{info.name}.job":
                raise
            continue
        found.append(module)
    return tuple(found)


def all_jobs() -> tuple[Job, ...]:
    """Every declared job, by DAG and name."""
    jobs = [j for m in _job_modules() for j in getattr(m, "JOBS", ())]
    return tuple(sorted(jobs, key=lambda j: (j.dag_id, j.name)))


def all_checks() -> tuple[Check, ...]:
    """Every declared kind of record: the jobs' own and those they also write."""
    checks = {c.id: c for j in all_jobs() for c in j.checks}
    for module in _job_modules():
        checks.update({c.id: c for c in getattr(module, "CHECKS", ())})
    return tuple(checks[k] for k in sorted(checks))


def check(check_id: str) -> Check:
    for c in all_checks():
        if c.id == check_id:
            return c
    raise KeyError(f"no job declares the check {check_id!r}")


def jobs_of(dag_id: str) -> tuple[Job, ...]:
    return tuple(j for j in all_jobs() if j.dag_id == dag_id)


def matching_checks(pattern: str) -> list[str]:
    """Declared check ids a glob (as used in the risk register and ``--check``) matches."""
    return [c.id for c in all_checks() if fnmatch.fnmatchcase(c.id, pattern)]


def dag_order(dag_ids: Iterable[str]) -> list[str]:
    """``dag_ids`` so that a DAG comes after every DAG whose records its jobs read.

    A job reading ``*`` reads every other DAG's records, except those of DAGs that read ``*`` too
    (they aggregate; two of them are ordered by name) and those that read its own records. Ties keep the name order, so the order is
    stable. A cycle among the declared reads is a programming error.
    """
    ids = sorted(set(dag_ids))
    reads = {d: [p for j in jobs_of(d) for p in j.reads] for d in ids}
    writes = {d: [c.id for j in jobs_of(d) for c in j.checks] for d in ids}
    aggregators = {d for d in ids if "*" in reads[d]}

    def reads_of(d: str, other: str) -> bool:
        return any(fnmatch.fnmatchcase(c, p) for p in reads[d] if p != "*" for c in writes[other])

    after: dict[str, set[str]] = {d: set() for d in ids}
    for d in ids:
        for other in ids:
            if other == d:
                continue
            if reads_of(d, other):
                after[d].add(other)
            elif d in aggregators and other not in aggregators and not reads_of(other, d):
                after[d].add(other)
    order: list[str] = []
    while len(order) < len(ids):
        ready = [d for d in ids if d not in order and after[d] <= set(order)]
        if not ready:
            raise ValueError(f"declared reads form a cycle among {sorted(set(ids) - set(order))}")
        order.append(ready[0])
    return order


TABLE_START = "<!-- declared checks: generated by `python -m aimsflow.jobs --write-docs`; do not edit -->"
TABLE_END = "<!-- end of declared checks -->"


def controls_table() -> str:
    """The declared checks as the Markdown table in ``docs/controls.md``."""
    rows = ["| check | controls | what the record holds |", "|---|---|---|"]
    for c in all_checks():
        rows.append(f"| `{c.id}` | {', '.join(c.controls)} | {c.title} |")
    return "\n".join([TABLE_START, *rows, TABLE_END])


def write_docs(path: Any) -> bool:
    """Replace the generated table in ``path``; True when it changed."""
    from pathlib import Path

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    start, end = text.index(TABLE_START), text.index(TABLE_END) + len(TABLE_END)
    new = text[:start] + controls_table() + text[end:]
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    import sys

    from aimsflow import settings

    if sys.argv[1:] == ["--write-docs"]:
        write_docs(settings.project_root() / "docs" / "controls.md")
    else:
        print(controls_table())
