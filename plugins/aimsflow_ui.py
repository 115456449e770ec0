"""The aimsflow evidence pages in the Airflow UI: wiring only (the app is aimsflow.ui.app).

* **Compliance** in the navigation: coverage, the filterable record list, record detail and downloads;
* an **Evidence** tab on every DAG run and task instance page (and on the DAG page: its records).

The app is mounted at ``/aimsflow`` below the API server's base path and enforces Airflow's own
authentication itself (plugin apps are not protected otherwise). The Airflow UI fills ``{DAG_ID}``,
``{RUN_ID}``, ``{TASK_ID}`` and ``{MAP_INDEX}`` into an external view's ``href`` (no try number: the
task tab lists every try); restart the API server after changing this file.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from aimsflow.ui.app import URL_PREFIX, create_app


def _base() -> str:
    """The API server's base path (``[api] base_url``), so the links hold behind a sub-path."""
    from airflow.api_fastapi.app import API_ROOT_PATH

    return API_ROOT_PATH.rstrip("/") + URL_PREFIX


BASE = _base()
ICON = f"{BASE}/icon.svg"


class AimsflowEvidencePlugin(AirflowPlugin):
    name = "aimsflow_evidence"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "aimsflow evidence"}]
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
