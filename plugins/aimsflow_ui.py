"""The aimsflow evidence pages in the Airflow UI: wiring only (the app is ``aimsflow.ui.app``).

* **Compliance** in the navigation: coverage, the filterable record list, record detail, downloads;
* an **Evidence** tab on every DAG run and task instance page, and on the DAG page (its records).

The app is mounted at ``/aimsflow`` below the API server's base path and enforces Airflow's own
authentication itself (plugin apps are not protected otherwise). The Airflow UI fills ``{DAG_ID}``,
``{RUN_ID}``, ``{TASK_ID}`` and ``{MAP_INDEX}`` into an external view's ``href`` (no try number: the
task tab lists every try). Restart the API server after changing this file or the app.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/aimsflow"  # aimsflow.ui.app.URL_PREFIX (not imported here: see LazyApp)


class LazyApp:
    """The FastAPI app, built on the first request. Every Airflow process loads plugins (scheduler,
    each task's process), and importing the app (FastAPI, the API server's security module) takes
    seconds; only the API server ever calls it."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from aimsflow.ui.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


def base_path() -> str:
    """The app's path under the API server's base path (``[api] base_url``), as the API server
    mounts it, so the links hold behind a reverse proxy's sub-path."""
    root = urlsplit(conf.get("api", "base_url", fallback="") or "/").path
    return root.rstrip("/") + URL_PREFIX


BASE = base_path()
ICON = f"{BASE}/icon.svg"


class AimsflowEvidencePlugin(AirflowPlugin):
    name = "aimsflow_evidence"
    fastapi_apps = [{"app": LazyApp(), "url_prefix": URL_PREFIX, "name": "aimsflow evidence"}]
    external_views = [
        {
            "name": "Compliance",
            "href": f"{BASE}/",
            "destination": "nav",
            "url_route": "compliance",
            "icon": ICON,
            "nav_top_level": True,
        },
        {
            "name": "Evidence",
            "href": f"{BASE}/run?dag_id={{DAG_ID}}&run_id={{RUN_ID}}",
            "destination": "dag_run",
            "url_route": "evidence-run",
            "icon": ICON,
        },
        {
            "name": "Evidence",
            "href": f"{BASE}/task?dag_id={{DAG_ID}}&run_id={{RUN_ID}}&task_id={{TASK_ID}}&map_index={{MAP_INDEX}}",
            "destination": "task_instance",
            "url_route": "evidence-task",
            "icon": ICON,
        },
        {
            "name": "Evidence",
            "href": f"{BASE}/records?dag={{DAG_ID}}",
            "destination": "dag",
            "url_route": "evidence-dag",
            "icon": ICON,
        },
    ]
