"""The FastAPI app of the evidence pages, mounted by the Airflow plugin (``plugins/aimsflow_ui.py``)
under :data:`URL_PREFIX` of the API server.

Plugin apps are not protected by Airflow's authentication on their own: every route here depends on
the API server's own ``requires_authenticated()`` (the JWT of the UI login's ``_token`` cookie, or an
``Authorization: Bearer`` token, checked as every ``/api/v2`` route checks it), so an anonymous
request is refused with 401 (403 for a token that does not verify). A run's or task's page also
needs read access to that DAG's task instances, and every list shows only the records of DAGs the
user may read (``is_authorized_dag``), so the plugin never shows more than Airflow itself would.

Read-only: GET routes only. Ids in requests are looked up among verified record keys and the file
names their signed manifests list (:mod:`aimsflow.ui.views`); anything else is a 404.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations (Annotated
# dependencies and query parameters) at runtime, from this module's globals.
from typing import Annotated, Any
from urllib.parse import quote

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag, requires_authenticated
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response

from aimsflow.evidence.keys import KeyError_
from aimsflow.evidence.trust import UntrustedRecord
from aimsflow.ui import pages, views

#: Where the plugin mounts the app in the API server (below the API's own base path).
URL_PREFIX = "/aimsflow"

#: Our pages load nothing from anywhere (inline CSS, no script); record files shown inline are
#: sandboxed further (a stored HTML report must not run in the Airflow origin).
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'self'"
)
FILE_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
#: Record files a browser may show inline (under FILE_CSP); anything else is downloaded.
INLINE_TYPES = ("text/", "application/json", "image/png", "image/svg+xml", "application/pdf")

ICON_SVG = b"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#1a7f37"
 stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M12 2 4 5v6c0 5 3.4 9.4 8 11
 4.6-1.6 8-6 8-11V5l-8-3z"/><path d="m8.5 12 2.5 2.5 4.5-5"/></svg>"""

REASONS = {400: "Bad request", 401: "Not logged in", 403: "Forbidden", 404: "Not found", 409: "Not served"}


def create_app() -> FastAPI:
    """The app; Airflow (its auth manager, metadata DB) must be configured in this process."""
    from fastapi import FastAPI

    app = FastAPI(
        title="aimsflow evidence",
        dependencies=[Depends(requires_authenticated())],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    def read_evidence(user: GetUserDep) -> views.Evidence:
        """The store, verified, restricted to the DAGs whose task instances ``user`` may read."""
        manager = get_auth_manager()

        def can_read(dag_id: str) -> bool:
            return manager.is_authorized_dag(
                method="GET",
                access_entity=DagAccessEntity.TASK_INSTANCE,
                details=DagDetails(id=dag_id),
                user=user,
            )

        return views.restricted(views.read_evidence(), can_read)

    EvidenceDep = Annotated[views.Evidence, Depends(read_evidence)]
    dag_access = [Depends(requires_access_dag("GET", DagAccessEntity.TASK_INSTANCE))]

    def html(text: str, status_code: int = 200) -> HTMLResponse:
        return HTMLResponse(text, status_code=status_code)

    def error(request: Request, status_code: int, message: str) -> Response:
        if "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": message}, status_code=status_code)
        login = None
        if status_code == 401:
            try:
                login = get_auth_manager().get_url_login(next_url=str(request.url))
            except Exception:  # no auth manager in this process: the page still says what happened
                login = None
        reason = REASONS.get(status_code, "Error")
        return html(pages.error_page(status_code, reason, message, login), status_code)

    @app.exception_handler(HTTPException)  # the auth dependencies' 401/403
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        missing = ", ".join(".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors())
        return error(request, 400, f"missing or invalid parameter: {missing}")

    @app.exception_handler(views.NotFound)
    async def not_found(request: Request, exc: views.NotFound) -> Response:
        return error(request, 404, str(exc))

    @app.exception_handler(views.BadRequest)
    async def bad_request(request: Request, exc: views.BadRequest) -> Response:
        return error(request, 400, str(exc))

    @app.exception_handler(UntrustedRecord)
    async def untrusted(request: Request, exc: UntrustedRecord) -> Response:
        return error(request, 409, f"{exc.key}: {exc.problem}; run `aimsflow evidence verify`")

    @app.exception_handler(KeyError_)
    async def no_keys(request: Request, exc: KeyError_) -> Response:
        return error(request, 503, f"cannot verify the evidence store: {exc}")

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/", response_class=HTMLResponse)
    def compliance(evidence: EvidenceDep, framework: Annotated[str, Query()] = "") -> HTMLResponse:
        coverage = views.coverage_view(evidence, framework or None)
        return html(pages.compliance_page(evidence, views.overview(evidence), coverage))

    @app.get("/records", response_class=HTMLResponse)
    def records(request: Request, evidence: EvidenceDep) -> HTMLResponse:
        filters = views.parse_filters(request.query_params)
        return html(pages.records_page(evidence, views.record_list(evidence, filters)))

    @app.get("/record", response_class=HTMLResponse)
    def record(evidence: EvidenceDep, key: Annotated[str, Query()]) -> HTMLResponse:
        return html(pages.record_page(evidence, views.record_detail(evidence, key)))

    @app.get("/file")
    def file(
        evidence: EvidenceDep,
        key: Annotated[str, Query()],
        name: Annotated[str, Query()],
        download: Annotated[str, Query()] = "",
    ) -> Response:
        got = views.download(evidence, key, name)
        inline = not download and got.media_type.startswith(INLINE_TYPES)
        media_type = got.media_type
        if inline and media_type.startswith("text/") and media_type != "text/html":
            media_type = "text/plain"  # Markdown, CSV, ...: shown as text, not offered as a download
        if media_type.startswith("text/"):
            media_type += "; charset=utf-8"
        disposition = "inline" if inline else "attachment"
        return Response(
            got.content,
            media_type=media_type,
            headers={
                "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(got.filename, safe='')}",
                "Content-Security-Policy": FILE_CSP,
            },
        )

    @app.get("/proof")
    def proof(evidence: EvidenceDep, key: Annotated[str, Query()]) -> JSONResponse:
        return JSONResponse(
            views.proof_document(evidence, key),
            headers={"Content-Disposition": "attachment; filename=proof.json"},
        )

    @app.get("/run", response_class=HTMLResponse, dependencies=dag_access)
    def run(
        evidence: EvidenceDep, dag_id: Annotated[str, Query()], run_id: Annotated[str, Query()]
    ) -> HTMLResponse:
        return html(pages.run_page(evidence, views.run_evidence(evidence, dag_id, run_id)))

    @app.get("/task", response_class=HTMLResponse, dependencies=dag_access)
    def task(
        evidence: EvidenceDep,
        dag_id: Annotated[str, Query()],
        run_id: Annotated[str, Query()],
        task_id: Annotated[str, Query()],
        map_index: Annotated[str, Query()] = "",
    ) -> HTMLResponse:
        index = views.parse_map_index(map_index)
        return html(pages.run_page(evidence, views.run_evidence(evidence, dag_id, run_id, task_id, index)))

    @app.get("/icon.svg")
    def icon() -> Response:
        return Response(ICON_SVG, media_type="image/svg+xml")

    return app
