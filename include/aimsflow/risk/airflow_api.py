"""A small client of Airflow 3's REST API for ``aimsflow nc close``: log in (a JWT from
``POST /auth/token``, the simple auth manager's and FAB's login endpoint), trigger a DAG run with a
``conf`` (``POST /api/v2/dags/{dag_id}/dagRuns``) and follow it. The person who logs in is the one
the run's records name (``triggered_by.user``); the signing key stays with the workers.

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
    """The API refused or failed; the message names the endpoint and Airflow's answer."""


@dataclass
class AirflowApi:
    base_url: str
    opener: Callable[..., Any] = urllib.request.urlopen
    token: str | None = None
    timeout: float = 30.0

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
            raise AirflowApiError(f"{method} {path}: HTTP {exc.code}: {detail}") from None
        except urllib.error.URLError as exc:
            raise AirflowApiError(f"{method} {self.base_url}{path}: {exc.reason}") from None
        return json.loads(raw) if raw else None

    def login(self, username: str, password: str) -> None:
        answer = self._call("POST", "/auth/token", {"username": username, "password": password})
        token = (answer or {}).get("access_token")
        if not token:
            raise AirflowApiError("POST /auth/token: no access_token in the answer")
        self.token = token

    def dag(self, dag_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/v2/dags/{urllib.parse.quote(dag_id)}")

    def trigger(self, dag_id: str, conf: dict[str, Any], note: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"logical_date": None, "conf": conf}
        if note:
            body["note"] = note
        return self._call("POST", f"/api/v2/dags/{urllib.parse.quote(dag_id)}/dagRuns", body)

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        path = f"/api/v2/dags/{urllib.parse.quote(dag_id)}/dagRuns/{urllib.parse.quote(run_id, safe='')}"
        return self._call("GET", path)

    def wait(
        self,
        dag_id: str,
        run_id: str,
        timeout: float,
        poll: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> dict[str, Any]:
        """Poll the run until it ends or ``timeout`` seconds pass; returns the last answer."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.dag_run(dag_id, run_id)
            if run.get("state") in TERMINAL_STATES or time.monotonic() >= deadline:
                return run
            sleep(poll)
