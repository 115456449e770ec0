"""The one place that knows Airflow: turns job results into evidence records inside tasks, and holds
the shared DAG wiring (timetables, default args, callbacks, Assets).

A job is declared once (:class:`aimsflow.jobs.Job`) and called as ``(period, **params) -> JobResult``.
:func:`run_job` gives every job the same semantics: ``passed``/``warning`` -> record, Asset events, task succeeds; ``failed`` -> record, then
``AirflowFailException`` (no retry, Airflow alerts once); ``error`` (any exception) -> record with the
redacted exception, then the exception is re-raised so retries apply, each try keeping its record.

Endings are errors too: Airflow 3 ends a task with a ``BaseException`` (``AirflowTaskTimeout`` at its
``execution_timeout``, ``AirflowTaskTerminated``), and a ``KeyboardInterrupt`` or ``SystemExit`` may
end ``dag.test()``; each writes its ``error`` record and the same exception object is re-raised.
SIGTERM (Airflow 3.3's task runner only calls ``on_kill()`` and SIGKILLs five seconds later) becomes
``AirflowTaskTerminated`` while the job runs (:class:`Termination`). Before the job runs, each try
writes its intent (:mod:`aimsflow.evidence.intents`), so a try killed outright is reported by verify.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from aimsflow import assets, settings
from aimsflow.evidence.intents import write_intent
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import Producer, RecordRef, RunContext, record_key, write_record
from aimsflow.evidence.redact import redact_params, redact_text
from aimsflow.evidence.storage import LocalStorage
from aimsflow.jobs import Job
from aimsflow.periods import Period, to_utc
from aimsflow.results import JobError, JobResult, Status, Subject, partial_result
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
    return dt.datetime.combine(settings.start_date(), dt.time(), tzinfo=dt.UTC)


def default_args() -> dict[str, Any]:
    return {
        "owner": "aims",
        "retries": settings.task_retries(),
        "retry_delay": dt.timedelta(seconds=settings.retry_delay_seconds()),
        "execution_timeout": dt.timedelta(seconds=settings.task_timeout_seconds()),
        "on_failure_callback": on_task_failure,
    }


def seal_run_records():
    """The run's last step: seal the records this run wrote (see :func:`aimsflow.evidence.job.seal_run`).

    A teardown, so it runs whatever the other tasks ended in and the run's state still comes from
    them: a failed check leaves a failed run. Airflow counts a teardown with ``on_failure_fail_dagrun``
    as the run's only leaf, which would turn a failed run green, so a refused seal instead fails this
    task (its failure callback alerts) and the next ``evidence_seal/seal`` refuses with a ``failed``
    record. Set it downstream of the run's final tasks."""
    from airflow.sdk import teardown

    @teardown
    def seal_run_records(**context) -> dict[str, Any]:
        from aimsflow.evidence.job import seal_run

        dag_run = context["dag_run"]
        sealed = seal_run(dag_run.dag_id, dag_run.run_id)
        head = sealed.head.as_dict() if sealed.head else None
        log.info("sealed %d record(s) of run %s; head %s", sealed.records_sealed, dag_run.run_id, head)
        return {"records_sealed": sealed.records_sealed, "head": head}

    return seal_run_records()


def period_param(description: str, title: str = "Period (manual runs)"):
    """The ``period`` Param every governance DAG takes: empty for scheduled runs, the period syntax
    (``2026-11-25``, ``2026-W48``, ``2026-11``, ``A..B``) for manual ones (:mod:`aimsflow.runperiod`)."""
    from airflow.sdk import Param

    return Param(None, type=["null", "string"], title=title, description=description)


def dataset_asset(dataset_id: str):
    """The Asset a dataset's new partitions are announced on."""
    from airflow.sdk import Asset

    name, uri = assets.dataset_asset(dataset_id)
    return Asset(name=name, uri=uri)


def validated_alias():
    """The AssetAlias data_quality's mapped tasks announce ``validated/<id>`` through."""
    from airflow.sdk import AssetAlias

    return AssetAlias(assets.VALIDATED_ALIAS)


def job_outlets(job: Job) -> list:
    """The Assets a job's task declares: its announced datasets."""
    return [dataset_asset(d) for d in job.announces]


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
    validated = [Asset(name=n, uri=u) for n, u in map(assets.validated_asset, ids)]
    return AssetOrTimeSchedule(timetable=daily_timetable(), assets=functools.reduce(operator.or_, validated))


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


def triggering_user(context: Mapping[str, Any]) -> str | None:
    """Who triggered the run (the UI or REST API user), or None."""
    return getattr(context["dag_run"], "triggering_user_name", None)


#: Airflow connection (host = API server URL, login/password of a user that may read DAG runs) the
#: trigger type of a run is asked through when the task cannot read it otherwise.
TRIGGER_API_CONN_ID = "aimsflow_airflow_api"


def trigger_value(value: Any) -> str | None:
    """A trigger type as Airflow's ``DagRunTriggeredByType`` value (``"ui"``, ``"rest_api"``, ``"cli"``,
    ``"test"``, ...): the enum is a plain ``Enum`` whose ``str()`` is ``"DagRunTriggeredByType.UI"``,
    and the REST API answers with the value itself. None stays None."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def trigger_type(
    context: Mapping[str, Any], lookup: Callable[[str, str], str | None] | None = None
) -> str | None:
    """How the run was triggered (:func:`trigger_value`), or None when it cannot be established.

    Airflow 3.3's Task SDK hands a task the run's ``triggering_user_name`` but not its
    ``triggered_by`` (the DagRun it receives has no such field), so when the run object lacks it the
    value is read where Airflow stores it (``lookup``, default :func:`stored_trigger_type`)."""
    value = getattr(context["dag_run"], "triggered_by", None)
    if value is None:
        ti = context["ti"]
        value = (lookup or stored_trigger_type)(ti.dag_id, ti.run_id)
    return trigger_value(value)


def stored_trigger_type(dag_id: str, run_id: str) -> str | None:
    """The run's trigger type from Airflow's metadata DB when this process may use it (``dag.test()``
    runs tasks in-process), else from the REST API through :data:`TRIGGER_API_CONN_ID` (a task
    process of a real deployment may not touch the DB); None when neither answers."""
    return _trigger_type_from_db(dag_id, run_id) or _trigger_type_from_api(dag_id, run_id)


def _trigger_type_from_db(dag_id: str, run_id: str) -> str | None:
    try:
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session

        with create_session() as session:
            runs = DagRun.find(dag_id=dag_id, run_id=[run_id], session=session)
            value = runs[0].triggered_by if runs else None
    except Exception as exc:  # Airflow 3 blocks the metadata DB in task processes
        log.info("trigger type of %s %s not readable from the metadata DB: %s", dag_id, run_id, exc)
        return None
    return trigger_value(value)


def api_url(conn: Any) -> str:
    """The API server's base URL from a connection: its extra ``url``, else host (with scheme, or the
    ``schema`` field as scheme, default http) and port."""
    extra = getattr(conn, "extra_dejson", None) or {}
    if extra.get("url"):
        return str(extra["url"]).rstrip("/")
    host = str(conn.host or "")
    base = host if host.startswith(("http://", "https://")) else f"{conn.schema or 'http'}://{host}"
    return base.rstrip("/") + (f":{conn.port}" if conn.port else "")


def _trigger_type_from_api(dag_id: str, run_id: str) -> str | None:
    from aimsflow.risk.airflow_api import AirflowApi, AirflowApiError

    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(TRIGGER_API_CONN_ID)
    except Exception as exc:  # AirflowNotFoundException: the connection is not configured
        log.warning(
            "trigger type of %s %s unknown: no connection %s (%s)", dag_id, run_id, TRIGGER_API_CONN_ID, exc
        )
        return None
    if not conn.login or not conn.password:
        log.warning("connection %s needs login and password: trigger type unknown", TRIGGER_API_CONN_ID)
        return None
    api = AirflowApi(api_url(conn))
    try:
        api.login(conn.login, conn.password)
        return trigger_value(api.trigger_type(dag_id, run_id))
    except AirflowApiError as exc:
        log.warning("trigger type of %s %s unknown: %s", dag_id, run_id, redact_text(str(exc)))
        return None


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


def run_job(context: Mapping[str, Any], job: Job, **params: Any) -> dict[str, Any]:
    """Run the declared ``job`` for the run's period and write its record; see the module docstring.

    ``params`` go to the job's callable. A ``day`` parameter (``YYYY-MM-DD``, a mapped task's
    partition) narrows the period to that day, which must lie inside the run's period. A job that
    ``seals`` gets ``write_record``: it writes its own record before sealing, so the seal covers it.
    After a ``passed``/``warning`` record the job's ``announces`` datasets get an Asset event with the
    period in ``extra``. The task's XCom (and, on failure, its note) names the record.
    """
    started = dt.datetime.now(dt.UTC)
    producer = producer_from_context(context)
    day = params.pop("day", None)
    caught: BaseException | None = None
    try:
        period = period_from_context(context)
        if day is not None:
            narrowed = Period.day(dt.date.fromisoformat(day))
            if not (period.start <= narrowed.start and narrowed.end <= period.end):
                raise PeriodError(
                    f"task period {narrowed.label} lies outside the run's period {period.label}"
                )
            period = narrowed
    except (PeriodError, ValueError) as exc:
        period = Period.day(to_utc(context["dag_run"].run_after).date())
        caught = exc

    subject = job.subject_of(params, period)
    storage = LocalStorage(settings.evidence_root())
    written: list[RecordRef] = []
    termination = Termination()

    def write(result: JobResult, error: dict[str, Any] | None = None) -> RecordRef:
        job.stamp(result)
        if termination.received:  # SIGKILL follows in seconds: the record first, no lineage call
            lineage: dict[str, Any] | None = {"run_id": None, "sent": False, "error": _NOT_SENT_TERMINATED}
        else:
            lineage = _emit_lineage(context, result, record_key(period, result.check, producer.record_id()))
        ctx = RunContext(
            period=period,
            producer=producer,
            started_at=started,
            ended_at=dt.datetime.now(dt.UTC),
            triggered_by=getattr(context["dag_run"], "triggering_user_name", None),
            params=redact_params(dict(context.get("params") or {})),
            openlineage=lineage,
            error=error,
        )
        with termination.disarmed():  # a written record is never undone by a late SIGTERM
            ref = write_record(storage, result, ctx, Signer.from_settings())
            written.append(ref)
        log.info("evidence record %s: %s (%s)", result.status, ref.key, result.check)
        return ref

    result: JobResult | None = None
    with termination:
        if caught is None:
            try:
                write_intent(storage, producer, record_key(period, job.check, producer.record_id()), started)
                extra = {"write_record": write} if job.seals else {}
                with termination.armed():
                    result = job(period, **params, **extra)
            except BaseException as exc:
                if _is_control_flow(exc):
                    raise
                caught = exc
        if caught is not None:
            if written:  # a sealing job broke after writing its record: this try's record key is taken
                log.error("%s broke after writing its record %s: %s", job.check, written[-1].key, caught)
                raise caught
            result = error_result(job, subject, caught)
            final = producer.is_final_try or _is_terminated(caught)
            ref = write(result, error_details(caught, final))
            _note(context, ref, period, result)
            raise caught
    assert result is not None
    ref = written[-1] if written else write(result)
    if result.status == Status.failed:
        from airflow.sdk.exceptions import AirflowFailException

        _note(context, ref, period, result)
        raise AirflowFailException(
            f"{result.check} failed for {period.label}: {_short(result.message)} (record {ref.key}; "
            "full reason in XCom 'outcome')"
        )
    _emit_asset_events(context, result, period, ref, job.announces)
    return _xcom(ref, period)


def error_result(job: Job, subject: Subject, caught: BaseException) -> JobResult:
    """The ``error`` record's result: what the job knew (a :class:`JobError`'s partial result), or
    just its subject, with the redacted exception as the message (an ending names its class: a
    timeout's or an interrupt's text says little or nothing)."""
    partial = caught.result if isinstance(caught, JobError) else None
    result = partial or partial_result(subject)
    result.status = Status.error
    text = redact_text(str(caught))
    if not isinstance(caught, Exception):
        text = f"task ended by {type(caught).__name__}" + (f": {text}" if text else "")
    result.message = text
    return result


_NOT_SENT_TERMINATED = "not sent: the task was terminated (the record goes first, before SIGKILL)"


def _is_control_flow(exc: BaseException) -> bool:
    """Airflow's control flow that is no ending: a deferral, or waiting for human input."""
    return type(exc).__name__ in {"TaskDeferred", "TaskAwaitingInput"} and not isinstance(exc, Exception)


def _is_terminated(exc: BaseException) -> bool:
    """A terminated try is failed by Airflow without retry (``AirflowTaskTerminated``)."""
    return type(exc).__name__ == "AirflowTaskTerminated"


class Termination:
    """SIGTERM as an ending the job can record, installed for one ``run_job`` (main thread only).

    Airflow 3.3's task runner answers SIGTERM by calling ``on_kill()`` only; the supervisor sends
    SIGKILL five seconds later, so a terminated task ran on and died without a record. While
    :meth:`armed` (the job runs), the handler calls the previous handler (Airflow's ``on_kill``), then
    raises ``AirflowTaskTerminated``, which ``run_job`` records and re-raises. Outside it (the record
    is being written) it only notes the signal: a late SIGTERM never undoes a written record. When the
    previous handler was the default (terminate the process), the signal is sent again on exit, after
    the record is written.
    """

    def __init__(self) -> None:
        self.received = False
        self._armed = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> Termination:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._installed:
            return
        default = self._previous in (signal.SIG_DFL, None)  # None: a handler not set from Python
        signal.signal(signal.SIGTERM, signal.SIG_DFL if self._previous is None else self._previous)
        self._installed = False
        if self.received and default:
            import os

            os.kill(os.getpid(), signal.SIGTERM)

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        self._armed = True
        try:
            yield
        finally:
            self._armed = False

    @contextlib.contextmanager
    def disarmed(self) -> Iterator[None]:
        was, self._armed = self._armed, False
        try:
            yield
        finally:
            self._armed = was

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = True
        if callable(self._previous):
            self._previous(signum, frame)
        if self._armed:
            from airflow.sdk.exceptions import AirflowTaskTerminated

            self._armed = False
            raise AirflowTaskTerminated(f"task received {signal.Signals(signum).name}")


def error_details(caught: BaseException, final_try: bool) -> dict[str, Any]:
    return {
        "type": type(caught).__name__,
        "message": redact_text(str(caught)),
        "traceback": redact_text("".join(traceback.format_exception(caught))[-8000:]),
        "final_try": final_try,
    }


def _note(context: Mapping[str, Any], ref: RecordRef, period: Period, result: JobResult) -> None:
    """Say on a failing task where its record is and why: the XCom ``outcome`` (record, status,
    period, full message; a failed task has no return value) and the full reason on its own log
    line, which the log view wraps (it shows an exception as one unwrapped line)."""
    push = getattr(context.get("ti"), "xcom_push", None)
    if push is not None:
        try:
            push(key="outcome", value={**_xcom(ref, period), "message": result.message})
        except Exception as exc:  # the record is written; the failure is what the task must report
            log.warning("could not push the outcome XCom of %s: %s", ref.key, redact_text(repr(exc)))
    log.warning(
        "%s %s for %s: %s (record %s)", result.check, result.status, period.label, result.message, ref.key
    )


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
