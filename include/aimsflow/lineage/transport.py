"""The embedded default OpenLineage transport: one file per event in a staging folder.

Each event is serialised, written to a hidden temp file in the staging folder itself, fsynced, and
renamed to its final name (then the folder is fsynced). A reader therefore sees a whole event or no
event, a crash leaves at most a hidden ``.*.tmp`` orphan that :func:`read_events` never picks up, and
parallel tasks (threads, forked OpenLineage listener processes, Celery workers sharing a volume) never
share a file. File names are unique and sort by UTC write time::

    20261121T000512.123456Z-COMPLETE-<runId>-<uuid4 hex>.json

The transport is loaded by the OpenLineage client from configuration alone; the client's transport
factory accepts a fully qualified class path as ``type``. The Airflow provider reads that
configuration from ``[openlineage] transport`` (``AIRFLOW__OPENLINEAGE__TRANSPORT``)::

    AIRFLOW__OPENLINEAGE__TRANSPORT='{"type": "aimsflow.lineage.transport.StagingFileTransport", "directory": "/abs/dir"}'

Sending to Marquez as well is configuration only (:func:`composite_transport_config_json`, the
docker-compose setting).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attr
from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Config, Transport

from aimsflow.fsutil import atomic_write

if TYPE_CHECKING:
    from openlineage.client.client import Event

log = logging.getLogger(__name__)

#: Environment variable naming the staging folder (default ``<project>/openlineage/staging``).
STAGING_DIR_ENV = "AIMSFLOW_OPENLINEAGE_DIR"
#: The ``type`` the OpenLineage client's transport factory imports (a fully qualified class path).
STAGING_TRANSPORT_TYPE = "aimsflow.lineage.transport.StagingFileTransport"
#: Job namespace of every aimsflow event; the provider must use the same one (see :func:`airflow_env`).
JOB_NAMESPACE = "aimsflow"

#: The staging transport with the folder resolved by each process from ``AIMSFLOW_OPENLINEAGE_DIR``.
DEFAULT_TRANSPORT_CONFIG_JSON = json.dumps({"type": STAGING_TRANSPORT_TYPE})
#: OpenLineage over HTTP to Marquez alone (the staging files, hence provenance's event check, are lost:
#: the scale-out uses :func:`composite_transport_config_json` instead).
MARQUEZ_TRANSPORT_CONFIG_JSON = json.dumps(
    {"type": "http", "url": "http://marquez:5000", "endpoint": "api/v1/lineage"}
)

_TEMP_SUFFIX = ".tmp"
_EVENT_FILE = re.compile(
    r"^(?P<ts>\d{8}T\d{6}\.\d{6}Z)-(?P<type>[A-Z_]+)-(?P<run>[A-Za-z0-9_-]+)-(?P<uid>[0-9a-f]{32})\.json$"
)
_UNSAFE = re.compile(r"[^A-Za-z0-9-]")


def default_staging_dir() -> Path:
    """``AIMSFLOW_OPENLINEAGE_DIR``, else ``<project>/openlineage/staging`` (read on every call)."""
    from aimsflow import settings

    return settings.openlineage_dir()


def transport_config(directory: Path | str | None = None) -> dict[str, Any]:
    """The staging transport's configuration dict (the folder is made absolute if given)."""
    config: dict[str, Any] = {"type": STAGING_TRANSPORT_TYPE}
    if directory is not None:
        config["directory"] = str(Path(directory).expanduser().resolve())
    return config


def transport_config_json(directory: Path | str | None = None) -> str:
    """The exact value for ``AIRFLOW__OPENLINEAGE__TRANSPORT`` (or ``OPENLINEAGE__TRANSPORT``).

    Without ``directory`` every process resolves the folder itself from ``AIMSFLOW_OPENLINEAGE_DIR``.
    """
    return json.dumps(transport_config(directory))


def http_transport_config_json(url: str = "http://marquez:5000", endpoint: str = "api/v1/lineage") -> str:
    """The value for ``AIRFLOW__OPENLINEAGE__TRANSPORT`` that sends events over HTTP (Marquez)."""
    return json.dumps({"type": "http", "url": url, "endpoint": endpoint})


def composite_transport_config_json(
    directory: Path | str | None = None, url: str = "http://marquez:5000", endpoint: str = "api/v1/lineage"
) -> str:
    """The docker-compose value for ``AIRFLOW__OPENLINEAGE__TRANSPORT``: the OpenLineage client's
    composite transport, the staging files first, then HTTP to Marquez. Every event goes to both
    (``continue_on_success``), and one failing never stops the other (``continue_on_failure``): with
    Marquez down the staging file, which provenance and the daily lineage record read, is still
    written (the failure is logged); the composite raises, and the record says "not sent", only when
    neither got the event. A staging write that fails while Marquez succeeds shows up as a missing
    event in provenance, which reads the staging files."""
    return json.dumps(
        {
            "type": "composite",
            "continue_on_failure": True,
            "continue_on_success": True,
            "transports": {
                "staging": transport_config(directory),
                "marquez": {"type": "http", "url": url, "endpoint": endpoint},
            },
        }
    )


def airflow_env(transport_json: str | None = None, namespace: str = JOB_NAMESPACE) -> dict[str, str]:
    """Environment that enables the Airflow OpenLineage provider with ``transport_json`` (default: the
    staging transport, folder from ``AIMSFLOW_OPENLINEAGE_DIR``) and the ``aimsflow`` job namespace, so
    the provider's own task events and :func:`aimsflow.lineage.events.emit_result_event`'s events
    share job names *and* namespace (the provider's run ids are also derived from the namespace)."""
    return {
        "AIRFLOW__OPENLINEAGE__DISABLED": "False",
        "AIRFLOW__OPENLINEAGE__NAMESPACE": namespace,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": transport_json or DEFAULT_TRANSPORT_CONFIG_JSON,
    }


@attr.define
class StagingFileConfig(Config):
    """``directory``: the staging folder (default :func:`default_staging_dir` at load time)."""

    directory: Path = attr.field(factory=default_staging_dir, converter=lambda p: Path(p).expanduser())

    @classmethod
    def from_dict(cls, params: Mapping[str, Any]) -> StagingFileConfig:
        unknown = set(params) - {"type", "directory"}
        if unknown:
            raise ValueError(f"unknown {STAGING_TRANSPORT_TYPE} option(s): {sorted(unknown)}")
        directory = params.get("directory")
        return cls(directory=directory) if directory else cls()


class StagingFileTransport(Transport):
    """Writes each event atomically to its own file in ``config.directory``; raises on any failure
    (the OpenLineage client and the Airflow provider catch and log it; aimsflow reports it)."""

    kind = "aimsflow_staging"
    config_class = StagingFileConfig

    def __init__(self, config: StagingFileConfig) -> None:
        self.config = config
        self.directory = Path(config.directory)

    def emit(self, event: Event) -> Path:
        payload = (Serde.to_json(event) + "\n").encode("utf-8")
        return write_event_file(self.directory, payload, _event_type(event), _run_id(event))

    def __str__(self) -> str:
        return f"<StagingFileTransport(directory={self.directory})>"


def event_file_name(event_type: str, run_id: str | None, now: dt.datetime | None = None) -> str:
    """``<UTC ts>-<eventType>-<runId>-<uuid>.json``: unique, and sorted by UTC time of writing."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    kind = re.sub(r"[^A-Z_]", "_", event_type.upper()) or "OTHER"
    run = _UNSAFE.sub("_", run_id) if run_id else "none"
    return f"{now.strftime('%Y%m%dT%H%M%S.%fZ')}-{kind}-{run}-{uuid.uuid4().hex}.json"


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(_TEMP_SUFFIX)


def write_event_file(directory: Path, payload: bytes, event_type: str, run_id: str | None) -> Path:
    """Write ``payload`` to a new event file (:func:`aimsflow.fsutil.atomic_write`: hidden temp name,
    fsync, rename, fsync of the folder)."""
    final = Path(directory) / event_file_name(event_type, run_id)
    atomic_write(final, payload)
    log.debug("OpenLineage event written to %s", final)
    return final


def _event_type(event: Any) -> str:
    event_type = getattr(event, "eventType", None)
    if event_type is not None:
        return str(getattr(event_type, "value", event_type))
    if hasattr(event, "dataset"):
        return "DATASET"
    if hasattr(event, "job"):
        return "JOB"
    return "OTHER"


def _run_id(event: Any) -> str | None:
    run = getattr(event, "run", None)
    return str(run.runId) if run is not None and getattr(run, "runId", None) else None


# --- reading the staging folder back ------------------------------------------------------------


class EventFileError(ValueError):
    """A file in the staging folder is not a complete OpenLineage event (``path`` names it)."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path


def event_files(directory: Path | str) -> list[Path]:
    """Event files in ``directory``, sorted by name (= UTC write time). Hidden temp files of writes
    in progress or of crashed writers are skipped; any other unexpected entry raises."""
    directory = Path(directory)
    files = []
    for path in directory.iterdir():
        if is_temp_name(path.name):
            continue
        if not path.is_file() or not _EVENT_FILE.match(path.name):
            raise EventFileError(path, "unexpected entry in the OpenLineage staging folder")
        files.append(path)
    return sorted(files, key=lambda p: p.name)


def read_event_files(directory: Path | str) -> list[tuple[Path, dict[str, Any]]]:
    """``(path, event)`` for every event file, sorted by file name. A file that is not one JSON
    object with ``eventTime`` and ``schemaURL`` raises :class:`EventFileError` naming it."""
    return [(path, read_event_file(path)) for path in event_files(directory)]


def read_event_file(path: Path) -> dict[str, Any]:
    """One event file; :class:`EventFileError` naming it when it is not one OpenLineage event."""
    try:
        event = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventFileError(path, f"not valid JSON ({exc})") from exc
    if not isinstance(event, dict) or "eventTime" not in event or "schemaURL" not in event:
        raise EventFileError(path, "not an OpenLineage event object")
    return event


def read_events(directory: Path | str) -> list[dict[str, Any]]:
    """Every event in the staging folder, sorted by file name (UTC write time). Tolerates nothing:
    a missing folder raises ``FileNotFoundError``, a corrupt file :class:`EventFileError`."""
    return [event for _, event in read_event_files(directory)]


def events_by_run_id(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Group run events by ``run.runId`` (in input order); dataset/job events are left out."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        run_id = (event.get("run") or {}).get("runId")
        if run_id:
            grouped.setdefault(run_id, []).append(event)
    return grouped
