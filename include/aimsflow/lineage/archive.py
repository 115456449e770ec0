"""Lineage event logs as evidence (ISO/IEC 42001 A.6.2.8): one sealed record per closed UTC day.

:func:`archive_day` collects every OpenLineage event whose ``eventTime`` falls in the day — whatever
file it sits in, whatever the file's name or modification time says — redacts it and returns a
:class:`~aimsflow.results.JobResult` whose record holds:

* ``events.jsonl``: the day's redacted events, one JSON object per line (keys sorted, no spaces),
  sorted by ``eventTime`` (as an instant), then ``run.runId``, then event type and content, so the
  same events always give the same bytes;
* ``summary.json``: counts (by job, by event type, runs by their last state in the day), first and
  last ``eventTime``, the redactions made, every source file with its SHA-256, and every file that
  could not be parsed with the reason.

Every source file holding an event of the day is an *input* of the record (URI, SHA-256, size): that
signed list is what lets retention dispose of a raw event file (see
:mod:`aimsflow.retention.objects`) — a file whose content no sealed record of each of its days lists
is never disposed of.

Redaction (the event log is a copy of what Airflow and aimsflow said about runs, not of their data):

* secrets: every string is passed through :func:`~aimsflow.evidence.redact.redact_text` (configured
  key values, connection URIs, passwords in URLs), and the value of any key with a secret-looking
  name (:func:`~aimsflow.evidence.redact.is_secret_name`) is masked, as for a run's Params;
* run conf: the value of every ``conf`` key (the Airflow provider puts ``dag_run.conf`` in the
  ``airflow`` and ``airflowDagRun`` run facets) keeps its keys, each value replaced by
  :data:`CONF_MARKER` — a trigger's conf is free-form user input;
* stack traces: the ``errorMessage`` facet's ``stackTrace`` is cut to the exception line
  (``ValueError: ...``): frames and source lines add nothing an auditor needs and may quote data.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aimsflow.evidence.redact import MASK, is_secret_name, redact_text, secret_values
from aimsflow.jobs import Check
from aimsflow.periods import Period, to_utc
from aimsflow.results import (
    DataRef,
    JobError,
    JobResult,
    Status,
    Subject,
    partial_result,
    record_json,
    sha256_bytes,
)

#: The day's lineage record; declared here because retention reads these records (the job that
#: writes them is declared in :mod:`aimsflow.lineage.job`).
LINEAGE_EVENTS = Check(
    "evidence_seal/lineage_events",
    ("A.6.2.8", "7.5.3"),
    "the OpenLineage events of one closed UTC day, redacted, with the SHA-256 of every event file",
)
CHECK = LINEAGE_EVENTS.id
CONTROLS = LINEAGE_EVENTS.controls

EVENTS_FILE = "events.jsonl"
SUMMARY_FILE = "summary.json"
SUMMARY_FORMAT = "aimsflow-lineage-events/1"
#: What replaces each value of a run's conf (the keys stay: they say which options were set).
CONF_MARKER = "[run conf value withheld]"
#: Record statuses whose inputs count as archived for retention (``error`` records hold no events).
ARCHIVING_STATUSES = (Status.passed, Status.warning)
#: How many unparseable files the manifest summary names (``summary.json`` names every one).
MANIFEST_UNPARSEABLE = 20


class EventParseError(ValueError):
    """An event (or a whole file) that is not an OpenLineage event with a usable ``eventTime``."""


# --- reading ------------------------------------------------------------------------------------


def event_instant(event: Any) -> dt.datetime:
    """The event's ``eventTime`` as an aware UTC datetime. A time without a UTC offset is refused:
    its day would depend on where it is read."""
    if not isinstance(event, dict):
        raise EventParseError(f"not a JSON object but {type(event).__name__}")
    raw = event.get("eventTime")
    if not isinstance(raw, str) or "T" not in raw:
        raise EventParseError(f"eventTime {raw!r} is not an ISO 8601 date-time")
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise EventParseError(f"eventTime {raw!r} is not an ISO 8601 date-time ({exc})") from None
    if moment.tzinfo is None:
        raise EventParseError(f"eventTime {raw!r} has no UTC offset")
    return to_utc(moment)


def event_day(event: Any) -> dt.date:
    """The UTC day an event belongs to (``00:00:00Z`` opens the new day)."""
    return event_instant(event).date()


def decode_values(data: bytes) -> tuple[list[tuple[str, Any]], list[str]]:
    """``([(where, JSON value)], problems)`` of one file: one JSON value (the staging transport
    writes one event per file) or JSON lines (the OpenLineage file transport in append mode);
    ``where`` is ``"line <n>: "`` for JSON lines, so that every problem names its line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [f"not UTF-8 text ({exc})"]
    if not text.strip():
        return [], ["empty file"]
    try:
        return [("", json.loads(text))], []
    except json.JSONDecodeError as whole:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        if len(lines) < 2:
            return [], [f"not valid JSON ({whole})"]
    units, problems = [], []
    for n, line in lines:
        try:
            units.append((f"line {n}: ", json.loads(line)))
        except json.JSONDecodeError as exc:
            problems.append(f"line {n}: not valid JSON ({exc})")
    return units, problems


def checked_events(units: list[tuple[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The values that are OpenLineage events with a usable ``eventTime``, and a problem for each other."""
    events, problems = [], []
    for where, value in units:
        try:
            event_instant(value)
            if "schemaURL" not in value:
                raise EventParseError("no schemaURL: not an OpenLineage event")
        except EventParseError as exc:
            problems.append(f"{where}{exc}")
            continue
        events.append(value)
    return events, problems


def parse_event_bytes(data: bytes) -> tuple[list[dict[str, Any]], list[str]]:
    """``(events, problems)`` of one file's bytes (see :func:`decode_values`)."""
    units, problems = decode_values(data)
    events, more = checked_events(units)
    return events, problems + more


@dataclass(frozen=True)
class SourceFile:
    """One file of the OpenLineage folder as read now: its content hash and what it holds."""

    path: Path
    name: str  # relative to the folder, POSIX
    sha256: str
    size: int
    values: tuple[Any, ...]  # every JSON value decoded, events or not
    events: tuple[dict[str, Any], ...]
    problems: tuple[str, ...]  # non-empty: the file is not (wholly) readable
    decoded: bool = True  # every part of the file is JSON (even if not every value is an event)

    @property
    def days(self) -> frozenset[dt.date] | None:
        """The UTC days of its events; ``None`` when some part of it cannot be read."""
        if self.problems or not self.events:
            return None
        return frozenset(event_day(e) for e in self.events)

    def ref(self) -> DataRef:
        return DataRef(self.path.resolve().as_uri(), self.sha256, self.size)


def read_source(path: Path, name: str) -> SourceFile:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return SourceFile(path, name, "", 0, (), (), (f"cannot be read ({exc.strerror or exc})",), False)
    units, problems = decode_values(data)
    events, more = checked_events(units)
    values = tuple(value for _, value in units)
    return SourceFile(
        path, name, sha256_bytes(data), len(data), values, tuple(events), (*problems, *more), not problems
    )


def source_paths(folder: Path) -> Iterator[tuple[Path, str]]:
    """``(path, relative name)`` of every non-hidden file below ``folder`` (any depth), in name
    order: the transport's temp files, crashed writers' orphans and retention's work area are
    hidden, and every other file is a lineage object retention would dispose of."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            if not filename.startswith("."):
                path = Path(dirpath) / filename
                yield path, path.relative_to(folder).as_posix()


# --- redaction ----------------------------------------------------------------------------------


@dataclass
class Redactions:
    """What redaction changed, counted for the summary."""

    secret_values: int = 0
    conf_values: int = 0
    stack_traces: int = 0
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def add(self, other: Redactions) -> None:
        self.secret_values += other.secret_values
        self.conf_values += other.conf_values
        self.stack_traces += other.stack_traces

    def as_dict(self) -> dict[str, int]:
        return {
            "secret_values_masked": self.secret_values,
            "conf_values_withheld": self.conf_values,
            "stack_traces_trimmed": self.stack_traces,
        }


def exception_line(trace: str) -> str:
    """The exception line of a stack trace: the first line after the last indented (frame) line —
    ``ValueError: ...`` for a Python traceback, chained or not — else the last unindented line
    (a Java trace's last ``Caused by: ...``)."""
    lines = [line.rstrip() for line in trace.splitlines() if line.strip()]
    last_frame = max((i for i, line in enumerate(lines) if line[:1].isspace()), default=-1)
    if last_frame + 1 < len(lines):
        return lines[last_frame + 1]
    unindented = [line for line in lines if not line[:1].isspace()]
    return unindented[-1] if unindented else ""


def _withhold_conf(value: Any, counts: Redactions) -> Any:
    if isinstance(value, dict):
        counts.conf_values += len(value)
        return {str(k): CONF_MARKER for k in value}
    if value in (None, "", [], {}):
        return value
    counts.conf_values += 1
    return CONF_MARKER


def _redact(value: Any, counts: Redactions) -> Any:
    if isinstance(value, str):
        masked = redact_text(value, counts.secrets)
        counts.secret_values += masked != value
        return masked
    if isinstance(value, list):
        return [_redact(v, counts) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "conf":
            out[key] = _withhold_conf(item, counts)
        elif is_secret_name(key) and isinstance(item, str) and item and item != MASK:
            counts.secret_values += 1
            out[key] = MASK
        else:
            out[key] = _redact(item, counts)
    return out


def redact_event(event: dict[str, Any], counts: Redactions) -> dict[str, Any]:
    """A redacted copy of ``event`` (see the module docstring); ``counts`` is updated."""
    event = _redact(event, counts)
    facet = ((event.get("run") or {}).get("facets") or {}).get("errorMessage")
    if isinstance(facet, dict) and isinstance(facet.get("stackTrace"), str):
        trimmed = exception_line(facet["stackTrace"])
        if trimmed != facet["stackTrace"]:
            counts.stack_traces += 1
            facet["stackTrace"] = trimmed
    return event


def canonical(event: dict[str, Any]) -> str:
    """One event as one line: keys sorted, no spaces, UTF-8 kept, NaN refused."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _event_type(event: dict[str, Any]) -> str:
    if event.get("eventType"):
        return str(event["eventType"])
    return "DATASET" if "dataset" in event else "JOB" if "job" in event and "run" not in event else "OTHER"


def _run_id(event: dict[str, Any]) -> str:
    return str((event.get("run") or {}).get("runId") or "")


def _job(event: dict[str, Any]) -> str:
    job = event.get("job") or {}
    if not isinstance(job, dict) or not job.get("name"):
        return "(no job)"
    return f"{job.get('namespace', '')}/{job['name']}"


# --- the job ------------------------------------------------------------------------------------


def default_events_dir() -> Path:
    """The folder retention disposes of (``AIMSFLOW_OPENLINEAGE_ROOT``, else ``AIMSFLOW_OPENLINEAGE_DIR``,
    else ``<project>/openlineage``): archiving anything narrower would leave files retention keeps
    for ever as not archived."""
    # Imported here: aimsflow.retention.objects imports this module.
    from aimsflow.settings import openlineage_root

    return openlineage_root()


def _reason(problems: tuple[str, ...], shown: int = 3) -> str:
    more = len(problems) - shown
    return "; ".join(problems[:shown]) + (f" (and {more} more)" if more > 0 else "")


def _closed_day(period: Period, now: dt.datetime, base: JobResult) -> dt.date:
    try:
        day = period.single_day()
    except ValueError:
        raise JobError(
            f"lineage events are archived one UTC day at a time; got the period {period.label}", base
        ) from None
    if period.end > to_utc(now):
        raise JobError(
            f"the UTC day {day} has not ended (it ends at {period.end.isoformat()}; now is "
            f"{to_utc(now).isoformat()}): events of an open day cannot be archived yet",
            base,
        )
    return day


def archive_day(
    period: Period, *, events_dir: Path | None = None, now: dt.datetime | None = None
) -> JobResult:
    """The lineage record of one closed UTC day (see the module docstring).

    ``passed``: events found, every file readable. ``warning``: a file could not be parsed (its events
    may belong to this day), or no event at all for the day — a governance day without lineage is a
    gap to look at (OpenLineage disabled, a failing transport, lost files, or HTTP-only transport),
    not evidence that nothing ran. ``error``: not one closed day, or the folder is not a folder.
    """
    base = partial_result(Subject(), check=CHECK, controls=CONTROLS)
    day = _closed_day(period, now or dt.datetime.now(dt.UTC), base)
    folder = Path(events_dir) if events_dir is not None else default_events_dir()
    if folder.exists() and not folder.is_dir():
        raise JobError(f"OpenLineage folder {folder} is not a folder", base)
    sources = [read_source(p, name) for p, name in source_paths(folder)] if folder.is_dir() else []

    counts = Redactions(secrets=secret_values())
    keyed: dict[str, tuple[tuple[dt.datetime, str, str, str], dict[str, Any]]] = {}
    used: list[tuple[SourceFile, int]] = []
    duplicates = 0
    for source in sources:
        of_day = [e for e in source.events if event_day(e) == day]
        if not of_day:
            continue
        used.append((source, len(of_day)))
        for event in of_day:
            these = Redactions(secrets=counts.secrets)
            redacted = redact_event(event, these)
            line = canonical(redacted)
            if line in keyed:  # the same event in two files (a copy): archived once, counted
                duplicates += 1
                continue
            counts.add(these)
            keyed[line] = (
                (event_instant(event), _run_id(event), _event_type(event), line),
                redacted,
            )
    ordered = sorted(keyed.values(), key=lambda item: item[0])
    events_bytes = "".join(key[3] + "\n" for key, _ in ordered).encode("utf-8")

    unparseable = [
        {
            "file": s.name,
            "sha256": s.sha256,
            "size": s.size,
            "events_read": len(s.events),
            "reason": redact_text(_reason(s.problems), counts.secrets),
        }
        for s in sources
        if s.problems
    ]
    last_state: dict[str, str] = {}
    for _key, event in ordered:
        if _run_id(event) and event.get("eventType"):
            last_state[_run_id(event)] = str(event["eventType"])
    instants = [key[0] for key, _ in ordered]
    figures: dict[str, Any] = {
        "day": day.isoformat(),
        "events": len(ordered),
        "duplicates_dropped": duplicates,
        "runs": len(last_state),
        "by_job": dict(sorted(Counter(_job(e) for _, e in ordered).items())),
        "by_event_type": dict(sorted(Counter(_event_type(e) for _, e in ordered).items())),
        "runs_by_last_state": dict(sorted(Counter(last_state.values()).items())),
        "first_event_time": instants[0].isoformat() if instants else None,
        "last_event_time": instants[-1].isoformat() if instants else None,
        "redactions": counts.as_dict(),
        "files_scanned": len(sources),
        "source_files": len(used),
        "unparseable_files": len(unparseable),
    }
    document = {
        "format": SUMMARY_FORMAT,
        "folder": str(folder),
        **figures,
        "unparseable": unparseable,
        "sources": [
            {
                "file": s.name,
                "sha256": s.sha256,
                "size": s.size,
                "events": len(s.events),
                "events_of_day": n,
            }
            for s, n in used
        ],
    }
    summary_bytes = record_json(document)

    status = Status.passed
    notes = []
    if unparseable:
        status = Status.warning
        notes.append(
            f"{len(unparseable)} file(s) could not be parsed and may hold events of {day} "
            f"(first: {unparseable[0]['file']}: {unparseable[0]['reason']})"
        )
    if not ordered:
        status = Status.warning
        where = folder if folder.is_dir() else f"{folder} (no such folder)"
        notes.append(f"no OpenLineage event of {day} in {where}: a gap in the lineage log")
    message = f"{len(ordered)} OpenLineage event(s) of {day} from {len(used)} file(s) archived"
    # The manifest names the first unparseable files; summary.json names them all.
    figures["unparseable"] = unparseable[:MANIFEST_UNPARSEABLE]
    return JobResult(
        check=CHECK,
        subject=Subject(),
        status=status,
        controls=CONTROLS,
        summary=figures,
        files={EVENTS_FILE: events_bytes, SUMMARY_FILE: summary_bytes},
        inputs=[s.ref() for s, _ in used],
        message="; ".join([message, *notes]),
    )
