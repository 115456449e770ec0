"""A small client of Airflow 3's REST API for ``aimsflow nc close``: log in (a JWT from
``POST /auth/token``, the simple auth manager's and FAB's login endpoint), trigger a DAG run with a
``conf`` (``POST /api/v2/dags/{dag_id}/dagRuns``) and follow it. The person who logs in is the one
the run's records name (``triggered_by.user``); the signing key stays with the workers.

Before triggering, :meth:`AirflowApi.ensure_triggerable` refuses a DAG that is missing, hidden from
the user (HTTP 404/403) or paused: a run of a paused DAG would sit queued until someone unpauses it,
and the caller would wait out its timeout without learning why.

Options (environment): ``AIMSFLOW_AIRFLOW_URL`` (default ``http://127.0.0.1:8080``),
``AIMSFLOW_AIRFLOW_USERNAME``, ``AIMSFLOW_AIRFLOW_PASSWORD`` (else asked for on the terminal).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TERMINAL_STATES = frozenset({"success", "failed"})


class AirflowApiError(RuntimeError):
    """The API refused or failed; the message names the endpoint and Airflow's answer, ``status`` its
    HTTP status (None when there was no answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class AirflowApi:
    base_url: str
    opener: Callable[..., Any] = urllib.request.urlopen
    token: str | None = None
    timeout: float = 30.0
    username: str | None = None

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with self.opener(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise AirflowApiError(f"{method} {path}: HTTP {exc.code}: {detail}", exc.code) from None
        except urllib.error.URLError as exc:
            raise AirflowApiError(f"{method} {self.base_url}{path}: {exc.reason}") from None
        return json.loads(raw) if raw else None

    def login(self, username: str, password: str) -> None:
        answer = self._call("POST", "/auth/token", {"username": username, "password": password})
        token = (answer or {}).get("access_token")
        if not token:
            raise AirflowApiError("POST /auth/token: no access_token in the answer")
        self.token = token
        self.username = username

    def dag(self, dag_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/v2/dags/{urllib.parse.quote(dag_id)}")

    def ensure_triggerable(self, dag_id: str) -> dict[str, Any]:
        """The DAG's details when a run of it would start now; else :class:`AirflowApiError` saying why
        and what to do (no such DAG, no permission to see it, paused)."""
        who = self.username or "the logged-in user"
        try:
            dag = self.dag(dag_id)
        except AirflowApiError as exc:
            if exc.status == 404:
                raise AirflowApiError(
                    f"no DAG {dag_id} in the Airflow at {self.base_url} (is it the one running aimsflow's "
                    f"dags/ folder? `airflow dags list-import-errors` shows DAGs that failed to parse): {exc}",
                    404,
                ) from None
            if exc.status == 403:
                raise AirflowApiError(
                    f"{who} may not read the DAG {dag_id}: ask an Airflow admin for permission to read and "
                    f"trigger it: {exc}",
                    403,
                ) from None
            raise
        if dag.get("is_paused"):
            raise AirflowApiError(
                f"{dag_id} is paused: a run would wait in the queue until it is unpaused. Unpause it with "
                f"the toggle in the Airflow UI or `airflow dags unpause {dag_id}`, then run this again"
            )
        return dag

    def trigger(self, dag_id: str, conf: dict[str, Any], note: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"logical_date": None, "conf": conf}
        if note:
            body["note"] = note
        try:
            return self._call("POST", f"/api/v2/dags/{urllib.parse.quote(dag_id)}/dagRuns", body)
        except AirflowApiError as exc:
            if exc.status == 403:
                who = self.username or "the logged-in user"
                raise AirflowApiError(
                    f"{who} may not trigger {dag_id}: ask an Airflow admin for permission: {exc}", 403
                ) from None
            raise

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        path = f"/api/v2/dags/{urllib.parse.quote(dag_id)}/dagRuns/{urllib.parse.quote(run_id, safe='')}"
        return self._call("GET", path)

    def trigger_type(self, dag_id: str, run_id: str) -> str | None:
        """How the run was triggered, as Airflow stored it (``triggered_by``: ``"ui"``, ``"rest_api"``,
        ``"cli"``, ``"test"``, ...); the closing job needs it and the Task SDK does not hand it over."""
        value = self.dag_run(dag_id, run_id).get("triggered_by")
        return None if value is None else str(value)

    def wait(
        self,
        dag_id: str,
        run_id: str,
        timeout: float,
        poll: float = 2.0,
        sleep: Callable[[float], None] | None = None,
    ) -> dict[str, Any]:
        """Poll the run until it ends or ``timeout`` seconds pass; returns the last answer."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.dag_run(dag_id, run_id)
            if run.get("state") in TERMINAL_STATES or time.monotonic() >= deadline:
                return run
            (sleep or time.sleep)(poll)  # looked up per call, so a test can replace time.sleep
