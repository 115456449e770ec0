"""OpenLineage for aimsflow: who emits lineage events, how they travel, and how they are read back.

Mechanism
---------
Every aimsflow task is a plain function ``period -> JobResult`` run by one wrapper,
:func:`aimsflow.airflow_glue.run_job`. The result already names each input and output by URI with its
SHA-256, size, row count and schema, the check, the subject and the ISO/IEC 42001 controls. So the
wrapper emits one OpenLineage run event per task try with the OpenLineage client
(:func:`aimsflow.lineage.events.emit_result_event`) together with the evidence record (the record key
is deterministic, so the event names the record and the record states whether the event went out):

* datasets named by the OpenLineage naming spec (local files: namespace ``file``, name = path), with
  ``schema``, ``version`` (= SHA-256), ``inputStatistics``/``outputStatistics`` (rows, bytes) and
  ``dataQualityAssertions`` facets, and a custom ``aimsflow`` run facet (check, status, controls,
  subject, record key);
* job namespace ``aimsflow``, job name ``<dag_id>.<task_id>`` and run id = the provider's run id for
  the task try (its ``lineage_run_id`` macro), parent = the DAG run. The Airflow provider's own
  START/COMPLETE/FAIL events for the same task carry the same three ids, so a lineage backend (Marquez)
  merges them into one run: the provider contributes the Airflow facets (task, DAG run, nominal time,
  owners, tags), aimsflow the datasets and evidence. This needs the provider's namespace to be
  ``aimsflow`` too (``AIRFLOW__OPENLINEAGE__NAMESPACE``; :func:`aimsflow.lineage.transport.airflow_env`).
* the client is built from the provider's configuration (``[openlineage] transport`` / config file /
  config connection), so both emitters always share a transport.

Why not the alternatives:

* **A custom operator implementing ``get_openlineage_facets_on_complete``.** Every job would have to
  become an operator class, with lineage logic per operator instead of once in the wrapper, and jobs
  would stop being plain functions testable without Airflow. The provider calls the method from its
  listener *after* the task finished (in a forked child by default, killed after
  ``[openlineage] execution_timeout``) and turns any failure into a log line: the signed record,
  already written, could not say whether its event went out.
* **Hook-level lineage** (``get_hook_lineage_collector().add_input_asset(...)``). aimsflow jobs read and
  write files with pandas/pyarrow, not through Airflow hooks, so nothing would be collected without
  calling the collector by hand; it carries assets, not hashes, row counts, schemas or assertions,
  and it is also emitted later by the listener, with the same silent-failure behaviour.
* **Only the provider's automatic events.** For ``@task`` tasks they carry no datasets at all (inputs
  and outputs are empty; an ``unknownSourceAttribute`` run facet marks the unknown operator).

Emitting from the wrapper makes a missing event *reported, never fatal, never silent*:
:class:`~aimsflow.lineage.events.EmitOutcome` goes into the record summary, and the provenance DAG
reads the events back (:func:`~aimsflow.lineage.transport.read_events`) to link each record's
``openlineage.run_id`` to its events and to list records whose events are missing.

Transport
---------
The embedded default writes each event to its own file in a staging folder
(:class:`~aimsflow.lineage.transport.StagingFileTransport`, folder ``AIMSFLOW_OPENLINEAGE_DIR``, default
``<project>/openlineage/staging``): temp file in the same folder, fsync, rename, so readers never see a
half-written event and parallel tasks never share a file. The OpenLineage client loads it from
configuration alone, its ``type`` being a fully qualified class path::

    AIRFLOW__OPENLINEAGE__TRANSPORT='{"type": "aimsflow.lineage.transport.StagingFileTransport"}'

The docker-compose scale-out sends every event to the staging files and to Marquez, by configuration
only: the OpenLineage client's composite transport
(:func:`~aimsflow.lineage.transport.composite_transport_config_json`). HTTP alone would leave nothing
on disk for provenance's event check and the daily lineage record.

Event logs as evidence
----------------------
:func:`aimsflow.lineage.archive.archive_day` writes the events of each closed UTC day (by
``eventTime``), redacted, as one record; retention disposes of an event file only once a sealed
record of every day of its events lists its content (docs/lineage.md).
"""

from __future__ import annotations

from aimsflow.lineage.events import (
    EmitOutcome,
    LineageIds,
    ParentRun,
    build_result_event,
    dataset_identity,
    emit_result_event,
    lineage_ids_from_context,
)
from aimsflow.lineage.transport import (
    DEFAULT_TRANSPORT_CONFIG_JSON,
    JOB_NAMESPACE,
    MARQUEZ_TRANSPORT_CONFIG_JSON,
    EventFileError,
    StagingFileTransport,
    airflow_env,
    events_by_run_id,
    read_events,
    transport_config_json,
)

__all__ = [
    "DEFAULT_TRANSPORT_CONFIG_JSON",
    "JOB_NAMESPACE",
    "MARQUEZ_TRANSPORT_CONFIG_JSON",
    "EmitOutcome",
    "EventFileError",
    "LineageIds",
    "ParentRun",
    "StagingFileTransport",
    "airflow_env",
    "build_result_event",
    "dataset_identity",
    "emit_result_event",
    "events_by_run_id",
    "lineage_ids_from_context",
    "read_events",
    "transport_config_json",
]
