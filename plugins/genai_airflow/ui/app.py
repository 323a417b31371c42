"""The ``/genai`` app the API server mounts (plugin ``fastapi_apps``): Reports and Models pages.

Routes (below the mount prefix ``/genai``)::

    /reports                          every DAG with reports: latest one, count
    /reports/<dag_id>                 that DAG's reports, newest first
    /reports/<dag_id>/<path>.md       one report rendered (Markdown → HTML, charts inline, tables sortable)
    /reports/<dag_id>/<path>.png      a chart (or .csv/.json/.txt) from the report's folder
    /run/<dag_id>/<run_id>            the report(s) one DAG run wrote (the task's "Report" link)
    /models                           registry: versions, status, metrics, aliases, decision history

Auth: every route depends on the API server's own user resolution
(:data:`airflow.api_fastapi.core_api.security.GetUserDep`: the JWT in ``Authorization: Bearer`` or the
``_token`` cookie the UI sets), and reports/run routes on ``requires_access_dag("GET")`` for the DAG in
the path, so a user sees the reports of the DAGs they may read, no more. Without a token the answer
is 401 (a browser asking for HTML is sent to the login page instead). In the local "everyone is
admin" mode the auth manager's middleware supplies the token, so the pages just work.

Paths: every ``<path>`` goes through the project's one path guard (``reports_view.report_path`` →
``storage.lake_path``): ``..``, absolute or percent-encoded traversal is refused with 404, and only
report-side file types are served (no HTML/SVG). Pages carry a strict Content-Security-Policy.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_asset, requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

log = logging.getLogger(__name__)

_READ_DAG = Depends(requires_access_dag("GET"))


#: Nav icons: a page with a rising chart (Reports) and a stacked cube (Models).
_ICONS = {
    "reports": '<path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z"/><path d="M14 2v6h6"/>'
               '<path d="M8 18v-3M12 18v-6M16 18v-4"/>',
    "models": '<path d="M12 2 3 7l9 5 9-5-9-5z"/><path d="m3 12 9 5 9-5"/><path d="m3 17 9 5 9-5"/>',
}


def _csp(nonce: str) -> str:
    # Same-origin only; the one script and style element carry the nonce. Style *attributes* are
    # allowed: markdown-it writes them for table column alignment, and data cannot add any (raw HTML is
    # escaped). frame-ancestors 'self' lets the Airflow UI (same origin) embed the page, nothing else.
    return (f"default-src 'none'; img-src 'self' data:; style-src 'nonce-{nonce}'; "
            f"style-src-attr 'unsafe-inline'; script-src 'nonce-{nonce}'; "
            "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


def _page(request: Request, page: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    from include.platform import ui_pages

    nonce = secrets.token_urlsafe(16)
    html = ui_pages.render(page, base=request.scope.get("root_path", "").rstrip("/"), nonce=nonce, **values)
    return HTMLResponse(html, status_code=status_code,
                        headers={"Content-Security-Policy": _csp(nonce), "X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "no-store"})


def _lake() -> str:
    from include.platform import storage

    return str(storage.zone("reports").parent)


def _authorized(user: Any, dag_ids: list[str]) -> set[str]:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    manager = get_auth_manager()
    return {d for d in dag_ids if manager.is_authorized_dag(method="GET", details=DagDetails(id=d), user=user)}


def _refused(exc: Exception) -> HTTPException:
    # A refused path is reported as "not found": the page does not confirm what exists outside.
    log.info("reports path refused: %s", exc)
    return HTTPException(status.HTTP_404_NOT_FOUND, "no such report")


def _create_app() -> FastAPI:
    app = FastAPI(title="GenAI reports and models", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        """401 to a browser page request → the auth manager's login page, coming back here after."""
        if exc.status_code == status.HTTP_401_UNAUTHORIZED and "text/html" in request.headers.get("accept", ""):
            from airflow.api_fastapi.app import get_auth_manager

            back = request.url.path  # relative: the login page only follows same-site "next" URLs
            return RedirectResponse(get_auth_manager().get_url_login(next_url=back), status.HTTP_303_SEE_OTHER)
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    @app.get("/icons/{name}.svg", include_in_schema=False)
    def icon(name: str, user: GetUserDep) -> Response:  # noqa: ARG001 - auth only
        """The nav icons (stroke drawings in the UI's style; no script, served as images only)."""
        if name not in _ICONS:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such icon")
        svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24" fill="none" '
               f'stroke="#4a5568" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">{_ICONS[name]}</svg>')
        return Response(svg, media_type="image/svg+xml",
                        headers={"Content-Security-Policy": "default-src 'none'; sandbox", "Cache-Control": "max-age=3600"})

    @app.get("/", include_in_schema=False)
    def home(request: Request, user: GetUserDep) -> RedirectResponse:  # noqa: ARG001 - auth only
        return RedirectResponse(request.scope.get("root_path", "") + "/reports", status.HTTP_303_SEE_OTHER)

    @app.get("/reports", response_class=HTMLResponse)
    def reports_index(request: Request, user: GetUserDep) -> HTMLResponse:
        from include.platform import reports_view

        dags = reports_view.list_reports()
        allowed = _authorized(user, list(dags))
        return _page(request, "index", title="Reports", lake=_lake(),
                     dags={d: r for d, r in dags.items() if d in allowed})

    @app.get("/reports/{dag_id}", response_class=HTMLResponse, dependencies=[_READ_DAG])
    def dag_reports(request: Request, dag_id: str) -> HTMLResponse:
        from include.platform import reports_view
        from include.platform.errors import PathRefused

        try:
            reports = reports_view.list_reports(dag_id).get(dag_id, [])
        except PathRefused as exc:
            raise _refused(exc) from exc
        return _page(request, "dag", title=dag_id, dag_id=dag_id, reports=reports, note=None)

    @app.get("/reports/{dag_id}/{rel:path}", dependencies=[_READ_DAG])
    def report_file(request: Request, dag_id: str, rel: str) -> Response:
        from include.platform import reports_view, storage
        from include.platform.errors import PathRefused

        try:
            path = reports_view.report_path(dag_id, rel)
        except PathRefused as exc:
            raise _refused(exc) from exc
        media = reports_view.asset_type(rel)
        if media is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such report")
        if storage.is_symlink(path):  # a local symlink could point anywhere on the server
            raise _refused(PathRefused(f"{path} is a symlink", "write real files into the lake"))
        try:
            data = storage.read_bytes(path)
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such report") from exc
        if not rel.endswith(".md") or request.query_params.get("raw") == "1":
            return Response(data, media_type=media,
                            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
                                     "Content-Security-Policy": "default-src 'none'; sandbox"})
        reports = reports_view.list_reports(dag_id).get(dag_id, [])
        report = next((r for r in reports if r.rel == rel), None) or reports_view.Report(dag_id, "", rel, None)
        others = [r for r in reports if r.rel != rel][:20]
        body = reports_view.render_markdown(data.decode("utf-8", errors="replace"))
        return _page(request, "report", title=f"{dag_id} · {report.title}", report=report, body=body,
                     others=others, location=str(path))

    @app.get("/run/{dag_id}/{run_id:path}", response_class=HTMLResponse, dependencies=[_READ_DAG])
    def run_report(request: Request, dag_id: str, run_id: str, session: SessionDep) -> Response:
        """The "Report" extra link: the report the run wrote (one → open it; several → list them)."""
        from airflow.models import DagRun
        from sqlalchemy import select

        from include.platform import reports_view
        from include.platform.errors import PathRefused
        from include.platform.runtime import run_date

        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        if run is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such DAG run")
        day = run_date({"logical_date": run.logical_date, "dag_run": run}).isoformat()  # the tasks' own rule
        try:
            found = reports_view.reports_for_run(dag_id, run.start_date, run.end_date, day)
        except PathRefused as exc:
            raise _refused(exc) from exc
        base = request.scope.get("root_path", "")
        if len(found) == 1:
            return RedirectResponse(f"{base}/reports/{found[0].url}", status.HTTP_303_SEE_OTHER)
        note = (f"Reports written by run {run_id}:" if found else
                f"Run {run_id} wrote no report (yet); all reports of {dag_id} below.")
        reports = found or reports_view.list_reports(dag_id).get(dag_id, [])
        return _page(request, "dag", title=dag_id, dag_id=dag_id, reports=reports, note=note)

    @app.get("/models", response_class=HTMLResponse, dependencies=[Depends(requires_access_asset("GET"))])
    def models(request: Request) -> HTMLResponse:
        from include.platform import models_view

        return _page(request, "models", title="Models", lake=_lake(), models=models_view.list_models())

    return app


#: What ``plugins/genai_plugin.py`` registers (plugin ``fastapi_apps``; the API server mounts it at start).
app = _create_app()
