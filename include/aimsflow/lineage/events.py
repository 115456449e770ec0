"""OpenLineage run events for job results, emitted by the one wrapper that knows each job's inputs,
outputs, hashes, schemas, row counts and assertions.

:func:`build_result_event` turns a :class:`~aimsflow.results.JobResult` into an OpenLineage
``RunEvent`` (client classes ``event_v2``/``facet_v2``); :func:`emit_result_event` sends it through
the same client configuration the Airflow OpenLineage provider uses and never raises: a failure is
returned (and logged) as ``EmitOutcome(sent=False, error=...)`` so the caller can put it in the record.

The OpenLineage provider is imported inside functions (it runs inside a task, through the glue): its
configuration and macros are what make our events share the provider's job names and run ids.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote, urlsplit

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    InputDatasetFacet,
    RunFacet,
    data_quality_assertions_dataset,
    dataset_version_dataset,
    error_message_run,
    input_statistics_input_dataset,
    job_type_job,
    output_statistics_output_dataset,
    parent_run,
    schema_dataset,
)

from aimsflow import __version__
from aimsflow.lineage.transport import JOB_NAMESPACE
from aimsflow.results import DataRef, JobResult, Status

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport import Transport

log = logging.getLogger(__name__)

#: ``producer`` of every event and facet aimsflow builds.
PRODUCER = f"https://aimsflow.dev/aimsflow/{__version__}"
#: JSON schema of the custom ``aimsflow`` run facet (a copy ships beside this module).
AIMSFLOW_FACET_SCHEMA_URL = (
    "https://aimsflow.dev/spec/facets/1-0-0/AimsflowRunFacet.json#/$defs/AimsflowRunFacet"
)
AIMSFLOW_FACET = "aimsflow"

_COMPLETE = (Status.passed, Status.warning)
# Object stores: dataset name is the object key without a leading slash (OpenLineage naming spec).
_OBJECT_STORES = frozenset({"s3", "s3a", "s3n", "gs", "gcs", "wasbs", "abfss", "az", "r2"})


# --- facets and identities ---------------------------------------------------------------------


@attr.define
class AimsflowRunFacet(RunFacet):
    """What the evidence record says about this run: check, subject, controls, status, record key."""

    check: str
    status: str
    controls: list[str] = attr.field(factory=list)
    ai_system: str | None = attr.field(default=None)
    dataset: str | None = attr.field(default=None)
    partition: str | None = attr.field(default=None)
    record_key: str | None = attr.field(default=None)
    message: str | None = attr.field(default=None)
    assertions_total: int = attr.field(default=0)
    assertions_failed: int = attr.field(default=0)

    _additional_skip_redact: ClassVar[list[str]] = ["check", "status", "controls", "record_key"]

    @staticmethod
    def _get_schema() -> str:
        return AIMSFLOW_FACET_SCHEMA_URL


@dataclass(frozen=True)
class ParentRun:
    """A parent (and optional root) run, as in the provider's ``lineage_parent_id`` macro."""

    namespace: str
    job_name: str
    run_id: str
    root: ParentRun | None = None

    @classmethod
    def parse(cls, parent_id: str, root_id: str | None = None) -> ParentRun:
        """From ``'{namespace}/{job_name}/{run_id}'`` (``lineage_parent_id`` / ``lineage_root_parent_id``)."""
        namespace, sep, rest = parent_id.rpartition("/")
        namespace, sep2, job_name = namespace.rpartition("/")
        if not (sep and sep2 and namespace and job_name and rest):
            raise ValueError(f"not a '{{namespace}}/{{job_name}}/{{run_id}}' parent id: {parent_id!r}")
        return cls(namespace, job_name, rest, cls.parse(root_id) if root_id else None)

    def facet(self) -> parent_run.ParentRunFacet:
        root = self.root or self
        return parent_run.ParentRunFacet(
            run=parent_run.Run(runId=self.run_id),
            job=parent_run.Job(namespace=self.namespace, name=self.job_name),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=root.run_id),
                job=parent_run.RootJob(namespace=root.namespace, name=root.job_name),
            ),
            producer=PRODUCER,
        )


def dataset_identity(uri: str) -> tuple[str, str]:
    """OpenLineage ``(namespace, name)`` of a data URI, following the dataset naming spec: local files
    ``('file', '/abs/path')``; remote files ``('file://host', path)``; object stores
    ``('s3://bucket', 'key')``; other schemes ``('scheme://authority', path)``; bare paths are local."""
    parts = urlsplit(uri)
    if not parts.scheme or len(parts.scheme) == 1:  # a bare (or Windows drive) path
        return "file", os.path.abspath(uri)
    scheme = parts.scheme.lower()
    path = unquote(parts.path)
    if scheme == "file":
        if parts.netloc in ("", "localhost"):
            return "file", path
        return f"file://{parts.netloc}", path
    if scheme in _OBJECT_STORES:
        return f"{scheme}://{parts.netloc}", path.lstrip("/") or "/"
    return f"{scheme}://{parts.netloc}", path or "/"


def _schema_facet(ref: DataRef) -> schema_dataset.SchemaDatasetFacet | None:
    if not ref.schema:
        return None
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name=name, type=str(type_), ordinal_position=i)
            for i, (name, type_) in enumerate(ref.schema.items(), start=1)
        ],
        producer=PRODUCER,
    )


def _dataset_facets(ref: DataRef) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=ref.sha256, producer=PRODUCER
        )
    }
    if schema := _schema_facet(ref):
        facets["schema"] = schema
    return facets


def _assertion(spec: Mapping[str, Any]) -> data_quality_assertions_dataset.Assertion:
    """An OpenLineage assertion from ``{assertion|name, success, column?, severity?, description?,
    expected?, actual?, params?}``; ``dataset`` (if present) only selects the target dataset."""
    known = {"assertion", "name", "success", "column", "severity", "description", "expected", "actual"}
    unknown = set(spec) - known - {"params", "dataset"}
    if unknown:
        raise ValueError(f"unknown assertion key(s) {sorted(unknown)} in {dict(spec)!r}")
    kind = spec.get("assertion") or spec.get("name")
    if not kind or not isinstance(spec.get("success"), bool):
        raise ValueError(
            f"an assertion needs 'assertion' (or 'name') and a boolean 'success': {dict(spec)!r}"
        )
    return data_quality_assertions_dataset.Assertion(
        assertion=str(kind),
        success=spec["success"],
        column=spec.get("column"),
        severity=spec.get("severity"),
        name=spec.get("name"),
        description=spec.get("description"),
        expected=None if spec.get("expected") is None else str(spec["expected"]),
        actual=None if spec.get("actual") is None else str(spec["actual"]),
        params=dict(spec.get("params") or {}),
    )


def assertions_from_gx(validation: Mapping[str, Any], dataset: str | None = None) -> list[dict[str, Any]]:
    """Assertion dicts for :func:`emit_result_event` from a Great Expectations validation result
    (``to_json_dict()``): expectation type, success, column, severity, and the suite's scalar
    kwargs as ``params``. Observed values are never copied (they may be personal data)."""
    out = []
    for item in validation.get("results") or []:
        config = item.get("expectation_config") or {}
        kwargs = config.get("kwargs") or {}
        spec: dict[str, Any] = {
            "assertion": config.get("type") or config.get("expectation_type") or "unknown",
            "success": bool(item.get("success")),
            "column": kwargs.get("column"),
            "severity": config.get("severity"),
            "params": {
                k: v
                for k, v in kwargs.items()
                if k not in ("batch_id", "column") and isinstance(v, str | int | float | bool)
            },
        }
        if dataset:
            spec["dataset"] = dataset
        out.append(spec)
    return out


def _matches(ref: DataRef, selector: str) -> bool:
    return selector in (ref.dataset, ref.uri, dataset_identity(ref.uri)[1])


def _place_assertions(
    result: JobResult, assertions: Iterable[Mapping[str, Any]]
) -> tuple[dict[int, list[Any]], dict[int, list[Any]], int, int]:
    """Assertions per input index and per output index, plus (total, failed). An assertion goes to
    the datasets its ``dataset`` key names (dataset id, URI or OpenLineage name), else to every
    input, else (a job without inputs) to every output."""
    on_inputs: dict[int, list[Any]] = {}
    on_outputs: dict[int, list[Any]] = {}
    total = failed = 0
    for spec in assertions:
        item = _assertion(spec)
        total += 1
        failed += not item.success
        selector = spec.get("dataset")
        if selector:
            ins = [i for i, ref in enumerate(result.inputs) if _matches(ref, selector)]
            outs = [] if ins else [i for i, ref in enumerate(result.outputs) if _matches(ref, selector)]
            if not ins and not outs:
                raise ValueError(f"assertion {item.assertion!r} names unknown dataset {selector!r}")
        else:
            ins = list(range(len(result.inputs)))
            outs = [] if ins else list(range(len(result.outputs)))
        for i in ins:
            on_inputs.setdefault(i, []).append(item)
        for i in outs:
            on_outputs.setdefault(i, []).append(item)
    if total and not result.inputs and not result.outputs:
        log.warning("%d assertion(s) of %s have no dataset to attach to", total, result.check)
    return on_inputs, on_outputs, total, failed


def _assertions_facet(items: list[Any]) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet:
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
        assertions=items, producer=PRODUCER
    )


# --- the event ----------------------------------------------------------------------------------


def event_type_for(status: Status | str) -> RunState:
    """``COMPLETE`` for passed/warning, ``FAIL`` for failed/error."""
    return RunState.COMPLETE if Status(status) in _COMPLETE else RunState.FAIL


def build_result_event(
    result: JobResult,
    *,
    run_id: str,
    job_name: str,
    record_key: str | None,
    assertions: Iterable[Mapping[str, Any]] = (),
    parent: ParentRun | None = None,
    namespace: str = JOB_NAMESPACE,
    event_time: dt.datetime | None = None,
) -> RunEvent:
    """The OpenLineage ``RunEvent`` for ``result`` (raises ``ValueError`` on bad input)."""
    on_inputs, on_outputs, total, failed = _place_assertions(result, assertions)
    inputs = []
    for i, ref in enumerate(result.inputs):
        ns, name = dataset_identity(ref.uri)
        input_facets: dict[str, InputDatasetFacet] = {
            "inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
                rowCount=ref.rows, size=ref.size, producer=PRODUCER
            )
        }
        if i in on_inputs:
            input_facets["dataQualityAssertions"] = _assertions_facet(on_inputs[i])
        inputs.append(InputDataset(ns, name, facets=_dataset_facets(ref), inputFacets=input_facets))
    outputs = []
    for i, ref in enumerate(result.outputs):
        ns, name = dataset_identity(ref.uri)
        facets = _dataset_facets(ref)
        if i in on_outputs:
            # The spec defines dataQualityAssertions as an input facet; on an output (a job that only
            # writes) it is carried as a dataset facet.
            facets["dataQualityAssertions"] = _assertions_facet(on_outputs[i])
        output_facets = {
            "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=ref.rows, size=ref.size, producer=PRODUCER
            )
        }
        outputs.append(OutputDataset(ns, name, facets=facets, outputFacets=output_facets))

    status = Status(result.status)
    run_facets: dict[str, RunFacet] = {
        AIMSFLOW_FACET: AimsflowRunFacet(
            check=result.check,
            status=str(status),
            controls=list(result.controls),
            ai_system=result.subject.ai_system,
            dataset=result.subject.dataset,
            partition=result.subject.partition,
            record_key=record_key,
            message=result.message or None,
            assertions_total=total,
            assertions_failed=failed,
            producer=PRODUCER,
        )
    }
    if parent is not None:
        run_facets["parent"] = parent.facet()
    if status not in _COMPLETE:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=result.message or f"{result.check}: {status}",
            programmingLanguage="python",
            producer=PRODUCER,
        )
    job_facets = {
        # The same job facet the Airflow provider sends for the task, so neither overrides the other.
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="AIRFLOW", jobType="TASK", producer=PRODUCER
        )
    }
    return RunEvent(
        eventType=event_type_for(status),
        eventTime=(event_time or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(),
        run=Run(runId=run_id, facets=run_facets),
        job=Job(namespace=namespace, name=job_name, facets=job_facets),
        inputs=inputs,
        outputs=outputs,
        producer=PRODUCER,
    )


# --- sending ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmitOutcome:
    """Whether the event went out. ``disabled``: OpenLineage is off (nothing was attempted);
    ``error``: the event could not be built or sent. Put :meth:`as_dict` in the record summary."""

    sent: bool
    run_id: str | None = None
    event_type: str | None = None
    transport: str | None = None
    error: str | None = None
    disabled: bool = False
    event: RunEvent | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sent": self.sent, "run_id": self.run_id, "event_type": self.event_type}
        if self.transport:
            out["transport"] = self.transport
        if self.disabled:
            out["disabled"] = True
        if self.error:
            out["error"] = self.error
        return out


_clients: dict[str, OpenLineageClient] = {}


def provider_client() -> OpenLineageClient | None:
    """An OpenLineage client built exactly as the Airflow provider builds its own (config connection,
    ``[openlineage] config_path`` or ``[openlineage] transport``, else the client's own env/YAML
    lookup), or ``None`` if the provider reports OpenLineage disabled. Cached per configuration.
    Outside Airflow (provider not importable) the client configures itself (``OPENLINEAGE__*``)."""
    import json

    from openlineage.client import OpenLineageClient

    try:
        from airflow.providers.openlineage import conf
        from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter
    except ImportError:
        return _clients.setdefault("<client-env>", OpenLineageClient())
    if conf.is_disabled():
        return None
    adapter = OpenLineageAdapter()
    key = json.dumps(adapter.get_openlineage_config(), sort_keys=True, default=str)
    if key not in _clients:
        _clients[key] = adapter.get_or_create_openlineage_client()
    return _clients[key]


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 500 else text[:497] + "..."


def emit_result_event(
    result: JobResult,
    *,
    run_id: str | None,
    job_name: str,
    record_key: str | None,
    assertions: Iterable[Mapping[str, Any]] = (),
    transport: Transport | None = None,
    client: OpenLineageClient | None = None,
    parent: ParentRun | None = None,
    namespace: str = JOB_NAMESPACE,
) -> EmitOutcome:
    """Build and send the event for ``result``; never raises.

    The event goes to ``transport`` if given (tests), else to ``client``, else to
    :func:`provider_client`. ``run_id`` is the provider's run id for this task try (``None`` when
    OpenLineage is disabled, which is reported as ``disabled``, not as an error).
    """
    if run_id is None:
        return EmitOutcome(sent=False, disabled=True)
    event_type = None
    kind = None
    try:
        event = build_result_event(
            result,
            run_id=run_id,
            job_name=job_name,
            record_key=record_key,
            assertions=assertions,
            parent=parent,
            namespace=namespace,
        )
        event_type = event.eventType.value if event.eventType else None
        if transport is not None:
            kind = transport.kind or type(transport).__name__
            transport.emit(event)
        else:
            client = client or provider_client()
            if client is None:
                return EmitOutcome(sent=False, run_id=run_id, event_type=event_type, disabled=True)
            kind = client.transport.kind if client.transport else None
            if kind == "noop":  # OPENLINEAGE_DISABLED=true: the client drops events silently
                return EmitOutcome(
                    sent=False, run_id=run_id, event_type=event_type, transport=kind, disabled=True
                )
            client.emit(event)
    except Exception as exc:
        error = _describe(exc)
        log.warning("OpenLineage event for %s (run %s) not sent: %s", job_name, run_id, error)
        return EmitOutcome(sent=False, run_id=run_id, event_type=event_type, transport=kind, error=error)
    log.info("OpenLineage %s event for %s (run %s) sent via %s", event_type, job_name, run_id, kind)
    return EmitOutcome(sent=True, run_id=run_id, event_type=event_type, transport=kind, event=event)


# --- Airflow task context -> ids ----------------------------------------------------------------


@dataclass(frozen=True)
class LineageIds:
    """The provider's OpenLineage identity of a task try: namespace, ``<dag_id>.<task_id>``, run id,
    and the DAG run as parent (root from the DAG run conf if another system triggered it)."""

    namespace: str
    job_name: str
    run_id: str
    parent: ParentRun | None


def lineage_ids_from_context(context: Mapping[str, Any]) -> LineageIds | None:
    """The ids the provider's own events use for this task try (its macros), or ``None`` if
    OpenLineage is disabled or the provider is unavailable."""
    try:
        from airflow.providers.openlineage import conf
        from airflow.providers.openlineage.plugins import macros
        from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter
    except ImportError:
        return None
    if conf.is_disabled():
        return None
    ti = context["ti"]
    dag_run = context["dag_run"]
    logical_date = getattr(dag_run, "logical_date", None) or dag_run.run_after
    dag_run_id = OpenLineageAdapter.build_dag_run_id(
        dag_id=ti.dag_id, logical_date=logical_date, clear_number=getattr(dag_run, "clear_number", 0) or 0
    )
    root = ParentRun(
        macros.lineage_root_job_namespace(ti),
        macros.lineage_root_job_name(ti),
        macros.lineage_root_run_id(ti),
    )
    parent = ParentRun(conf.namespace(), ti.dag_id, dag_run_id, root)
    return LineageIds(conf.namespace(), macros.lineage_job_name(ti), macros.lineage_run_id(ti), parent)


__all__ = [
    "AIMSFLOW_FACET",
    "AIMSFLOW_FACET_SCHEMA_URL",
    "PRODUCER",
    "AimsflowRunFacet",
    "assertions_from_gx",
    "EmitOutcome",
    "LineageIds",
    "ParentRun",
    "build_result_event",
    "dataset_identity",
    "emit_result_event",
    "event_type_for",
    "lineage_ids_from_context",
    "provider_client",
]
