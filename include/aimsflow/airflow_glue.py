"""The one place that knows Airflow: turns job results into evidence records inside tasks, and holds
the shared DAG wiring (timetables, default args, callbacks, Assets).

A job is a plain function ``period -> JobResult``. :func:`run_job` gives every job the same
semantics: ``passed``/``warning`` -> record, Asset events, task succeeds; ``failed`` -> record, then
``AirflowFailException`` (no retry, Airflow alerts once); ``error`` (any exception) -> record with the
redacted exception, then the exception is re-raised so retries apply, each try keeping its record.
A task that fails pushes the XCom ``outcome`` (record, status, period, full message): the UI shows
it in full, where the exception line is cut off.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aimsflow import settings
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import Producer, RecordRef, RunContext, record_key, write_record
from aimsflow.evidence.redact import redact_params, redact_text
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period, to_utc
from aimsflow.results import JobError, JobResult, Status, Subject
from aimsflow.runperiod import PeriodError, period_extra, resolve_period

log = logging.getLogger(__name__)

APPROVED_TAGS = frozenset(
    {"iso42001", "data-quality", "lineage", "fairness", "risk", "retention", "evidence", "compliance", "demo"}
)


# --- DAG wiring -------------------------------------------------------------------------------


def daily_timetable():
    """Daily UTC data intervals (CronDataIntervalTimetable: a real interval, unlike CronTrigger)."""
    from airflow.sdk import CronDataIntervalTimetable

    return CronDataIntervalTimetable("0 0 * * *", timezone="UTC")


def start_date() -> dt.datetime:
    """First period governance DAGs cover (``AIMSFLOW_START_DATE``, default 2026-11-01); with
    ``catchup=True`` the scheduler fills every period from here, so downtime leaves no gap."""
    return dt.datetime.fromisoformat(os.environ.get("AIMSFLOW_START_DATE", "2026-11-01")).replace(
        tzinfo=dt.UTC
    )


def default_args() -> dict[str, Any]:
    return {
        "owner": "aims",
        "retries": settings.task_retries(),
        "retry_delay": dt.timedelta(seconds=settings.retry_delay_seconds()),
        "on_failure_callback": on_task_failure,
    }


def period_param(description: str, title: str = "Period (manual runs)"):
    """The ``period`` Param every governance DAG takes: empty for scheduled runs, the period syntax
    (``2026-11-25``, ``2026-W48``, ``2026-11``, ``A..B``) for manual ones (:mod:`aimsflow.runperiod`)."""
    from airflow.sdk import Param

    return Param(None, type=["null", "string"], title=title, description=description)


def dataset_asset(dataset_id: str):
    """The Asset a dataset's new partitions are announced on."""
    from airflow.sdk import Asset

    return Asset(name=f"dataset/{dataset_id}", uri=f"aimsflow://dataset/{dataset_id}")


def suite_assets():
    """Assets of every catalog dataset that names a suite, combined with ``|`` (any one triggers).

    Read at parse time: the catalog is small YAML, and this is what makes onboarding a dataset a
    configuration change only. Events of datasets without a suite never trigger data_quality.
    """
    import functools
    import operator

    from aimsflow.catalog import load_inventory

    ids = sorted(d.id for d in load_inventory().datasets.values() if d.suite)
    return functools.reduce(operator.or_, [dataset_asset(i) for i in ids])


def validated_training_schedule():
    """Daily, and also whenever any training dataset's ``validated/<id>`` Asset updates (``|``:
    one failing dataset never blocks the others). Read from the catalog at parse time."""
    import functools
    import operator

    from airflow.sdk import Asset, AssetOrTimeSchedule

    from aimsflow.catalog import Role, load_inventory

    ids = sorted(d.id for d in load_inventory().datasets.values() if d.role == Role.train and d.suite)
    assets = [Asset(name=f"validated/{i}", uri=f"aimsflow://validated/{i}") for i in ids]
    return AssetOrTimeSchedule(timetable=daily_timetable(), assets=functools.reduce(operator.or_, assets))


def consumed_events(context: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(asset name, extra) of every Asset event that triggered this run."""
    out = []
    for asset, events in (context.get("triggering_asset_events") or {}).items():
        name = getattr(asset, "name", None) or str(asset)
        out.extend((name, dict(getattr(e, "extra", None) or {})) for e in events)
    return out


def on_task_failure(context: Mapping[str, Any]) -> None:
    """Task failure callback: one log line naming the task, try and cause (records are already written)."""
    ti = context.get("ti") or context.get("task_instance")
    exc = context.get("exception")
    log.error(
        "aimsflow task failed: dag=%s task=%s run=%s try=%s: %s",
        getattr(ti, "dag_id", "?"),
        getattr(ti, "task_id", "?"),
        getattr(ti, "run_id", "?"),
        getattr(ti, "try_number", "?"),
        redact_text(str(exc)) if exc else "",
    )


def on_dag_failure(context: Mapping[str, Any]) -> None:
    dag_run = context.get("dag_run")
    log.error(
        "aimsflow DAG run failed: %s %s", getattr(dag_run, "dag_id", "?"), getattr(dag_run, "run_id", "?")
    )


# --- context -> period, producer ---------------------------------------------------------------


def run_type_of(dag_run: Any) -> str:
    """``"scheduled"``, ``"manual"``, ``"asset_triggered"``, ...: the Task SDK's DagRunType is a
    ``(str, Enum)`` whose ``str()`` is ``"DagRunType.ASSET_TRIGGERED"``, not its value."""
    run_type = dag_run.run_type
    return str(getattr(run_type, "value", run_type))


def period_from_context(context: Mapping[str, Any]) -> Period:
    dag_run = context["dag_run"]
    extras = []
    events = context.get("triggering_asset_events") or {}
    for asset_events in events.values():
        extras.extend(getattr(e, "extra", None) for e in asset_events)
    params = context.get("params") or {}

    def infer(run_after: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
        try:
            from airflow.serialization.encoders import coerce_to_core_timetable

            interval = coerce_to_core_timetable(context["dag"].timetable).infer_manual_data_interval(
                run_after=run_after
            )
            return interval.start, interval.end
        except Exception:  # pragma: no cover - depends on the timetable class
            return None

    return resolve_period(
        run_type=run_type_of(dag_run),
        run_after=to_utc(dag_run.run_after),
        data_interval_start=dag_run.data_interval_start,
        data_interval_end=dag_run.data_interval_end,
        asset_event_extras=extras,
        param_period=params.get("period") or None,
        infer_manual=infer,
    )


def producer_from_context(context: Mapping[str, Any]) -> Producer:
    ti = context["ti"]
    dag_run = context["dag_run"]
    return Producer(
        kind="task",
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        map_index=ti.map_index if ti.map_index is not None else -1,
        try_number=ti.try_number,
        max_tries=getattr(ti, "max_tries", None),
        run_type=run_type_of(dag_run),
        run_after=to_utc(dag_run.run_after).isoformat(),
        user=getattr(dag_run, "triggering_user_name", None),
    )


def _emit_lineage(context: Mapping[str, Any], result: JobResult, record_key: str) -> dict[str, Any] | None:
    """Send the task's OpenLineage event (datasets with schema, version = SHA-256, row counts and
    assertions). The outcome goes into the manifest's ``openlineage`` field, so a missing event is
    reported, never fatal and never silent. None when OpenLineage is switched off."""
    from aimsflow.lineage.events import emit_result_event, lineage_ids_from_context

    try:
        ids = lineage_ids_from_context(context)
    except Exception as exc:  # the provider's macros need a real task instance
        return {"run_id": None, "sent": False, "error": redact_text(repr(exc))}
    if ids is None:
        return None
    outcome = emit_result_event(
        result,
        run_id=ids.run_id,
        job_name=ids.job_name,
        record_key=record_key,
        assertions=result.assertions,
        parent=ids.parent,
        namespace=ids.namespace,
    )
    return {k: v for k, v in outcome.as_dict().items() if v is not None}


# --- the wrapper -------------------------------------------------------------------------------


def run_job(
    context: Mapping[str, Any],
    job: Callable[[Period], JobResult],
    *,
    check: str,
    controls: Sequence[str],
    subject: Subject,
    announce: Sequence[str] = (),
    period: Period | None = None,
) -> dict[str, Any]:
    """Run ``job`` for the run's period and write its record; see the module docstring.

    ``announce`` names datasets whose Asset (:func:`dataset_asset`, declared in the task's
    ``outlets``) gets an event after a ``passed``/``warning`` record, with the period in ``extra``.
    ``period`` narrows the run's period for a mapped task that covers one part of it (one day).
    """
    started = dt.datetime.now(dt.UTC)
    producer = producer_from_context(context)
    error: dict[str, Any] | None = None
    caught: BaseException | None = None
    try:
        run_period = period_from_context(context)
        if period is not None and not (run_period.start <= period.start and period.end <= run_period.end):
            raise PeriodError(f"task period {period.label} lies outside the run's period {run_period.label}")
        period = period or run_period
    except PeriodError as exc:
        period = period or Period.day(to_utc(context["dag_run"].run_after).date())
        caught = exc
    result: JobResult
    if caught is None:
        try:
            result = job(period)
        except Exception as exc:
            caught = exc
    if caught is not None:
        partial = caught.result if isinstance(caught, JobError) else None
        result = partial or JobResult(
            check=check, subject=subject, status=Status.error, controls=tuple(controls)
        )
        result.status = Status.error
        result.message = redact_text(str(caught))
        error = {
            "type": type(caught).__name__,
            "message": redact_text(str(caught)),
            "traceback": redact_text("".join(traceback.format_exception(caught))[-8000:]),
            "final_try": producer.is_final_try,
        }
    dag_run = context["dag_run"]
    lineage = _emit_lineage(context, result, record_key(period, result.check, producer.record_id()))
    ctx = RunContext(
        period=period,
        producer=producer,
        started_at=started,
        ended_at=dt.datetime.now(dt.UTC),
        triggered_by=getattr(dag_run, "triggering_user_name", None),
        params=redact_params(dict(context.get("params") or {})),
        openlineage=lineage,
        error=error,
    )
    ref = write_record(LocalStorage(settings.evidence_root()), result, ctx, Signer.from_settings())
    log.info("evidence record %s: %s (%s)", result.status, ref.key, result.check)
    if caught is not None or result.status == Status.failed:
        _push_outcome(context, ref, period, result.message)
    if caught is not None:
        raise caught
    if result.status == Status.failed:
        from airflow.sdk.exceptions import AirflowFailException

        # The UI shows an exception as one unwrapped line: the full reason goes on its own (wrapped)
        # log line and into the ``outcome`` XCom; the exception stays short and names the record.
        log.warning("%s failed for %s: %s", result.check, period.label, result.message)
        raise AirflowFailException(
            f"{result.check} failed for {period.label}: {_short(result.message)} (record {ref.key}; "
            "full reason in XCom 'outcome')"
        )
    _emit_asset_events(context, result, period, ref, announce)
    return _xcom(ref, period)


def _emit_asset_events(
    context: Mapping[str, Any], result: JobResult, period: Period, ref: RecordRef, announce: Sequence[str]
) -> None:
    from airflow.sdk import Asset, AssetAlias

    outlet_events = context["outlet_events"]
    for spec in result.asset_events:
        extra = {**spec.extra, "record": ref.key, **period_extra(period)}
        if spec.alias:
            outlet_events[AssetAlias(spec.alias)].add(Asset(name=spec.name, uri=spec.uri), extra=extra)
        else:
            outlet_events[Asset(name=spec.name, uri=spec.uri)].extra = extra
    for dataset_id in announce:
        versions = [o.as_dict() for o in result.outputs if o.dataset == dataset_id]
        versions = versions or [i.as_dict() for i in result.inputs if i.dataset == dataset_id]
        extra = {"record": ref.key, "versions": [{"uri": v["uri"], "sha256": v["sha256"]} for v in versions]}
        outlet_events[dataset_asset(dataset_id)].extra = {**extra, **period_extra(period)}


def _xcom(ref: RecordRef, period: Period) -> dict[str, Any]:
    return {"record": ref.key, "status": str(ref.status), "period": period.label}


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _push_outcome(context: Mapping[str, Any], ref: RecordRef, period: Period, message: str) -> None:
    """XCom ``outcome`` of a task that fails: its record, status and full message (a failed task has
    no return value to say where its record is). Never masks the failure itself."""
    push = getattr(context.get("ti"), "xcom_push", None)
    if push is None:  # a hand-built context (tests)
        return
    try:
        push(key="outcome", value={**_xcom(ref, period), "message": message})
    except Exception as exc:  # the record is written; the failure is what the task must report
        log.warning("could not push the outcome XCom of %s: %s", ref.key, redact_text(repr(exc)))
