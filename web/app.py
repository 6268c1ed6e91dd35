"""The FastAPI app factory. Routes only translate HTTP; the Container comes from the composition root."""

from __future__ import annotations

import asyncio
import gc
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import DomainError, NotPermitted
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.db import RETRY_AFTER_SECONDS, UNAVAILABLE, DatabaseUnavailable
from infrastructure.retention import RetentionJob
from infrastructure.settings import Settings
from infrastructure.vision.worker import camera_metrics
from web import api, i18n
from web.access import PUBLIC, CsrfRefused, Forbidden, SignInRequired, sign_in_url
from web.deps import container_of
from web.live import BoardFeed
from web.middleware import WebMiddleware
from web.pages import is_htmx, message_of, nearest_page, render
from web.report_editions import AutoPublisher
from web.routes import (
    accounts,
    alerts,
    audit_exports,
    audit_history,
    auth,
    board,
    camera_setup,
    cameras,
    docs,
    incident_actions,
    incident_search,
    incidents,
    kpi,
    ledger,
    redboxes,
    reports,
    units,
)
from web.routes import audit as audit_routes
from web.routes import handover as handover_routes
from web.routes import map as zone_map_routes
from web.routes import personal_data as personal_data_pages

log = structlog.get_logger()
STATIC = Path(__file__).resolve().parent / "static"
# The cyclic collector's thresholds in a serving process (Python's default: 700, 10, 10). Requests free almost all
# they make by reference counting; what stays (the aggregate cache, up to 20,000 aggregates) is long-lived, and with
# the defaults every full collection walks all of it.
GC_THRESHOLDS = (50_000, 20, 100)
READY_SECONDS = 0.8


def settle_gc() -> None:
    """For a serving process once it has started: what startup made (modules, templates, the container) is frozen out
    of the collector's scans, and collections come less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_app(
    container: Container | None = None, *, run_projections: bool = False, auto_publish: bool = False
) -> FastAPI:
    """`run_projections`: follow the log in this process (the embedded default of `ssz serve`);
    in production, `ssz projections run` runs them as separate worker processes. `auto_publish`: publish each
    month's partner report when due (`ssz serve`; SSZ_REPORTS_AUTO_PUBLISH=false turns it off)."""
    owned = container is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.container = container or await run_in_threadpool(bootstrap)
        if owned:  # a server of its own (`ssz serve`, uvicorn's factory), not an app a test or a tool embeds
            settle_gc()
        warn_about_configuration(app.state.container.settings)
        if run_projections:
            app.state.container.projections.start()
        if getattr(app.state, "feed", None) is None:
            app.state.feed = BoardFeed(app.state.container)
        retention = RetentionJob(app.state.container.app, app.state.container.settings)
        retention.start()  # only when SSZ_CONTACT_RETENTION_DAYS is set
        publisher = AutoPublisher(app.state.container) if auto_publish else None
        if publisher is not None:
            publisher.start()
        yield
        if publisher is not None:
            publisher.stop()
        retention.stop()
        app.state.feed.stop()
        app.state.container.projections.stop()
        if owned:
            app.state.container.close()

    # No CDN: FastAPI's Swagger UI pages are off; a vendored one is at /api/v1/docs (web/routes/docs.py). FastAPI's
    # own OpenTelemetry is off: nothing here configures a provider, and it would still look for one on every request
    # (the logs are structlog's, web/middleware.py).
    app = FastAPI(
        title="Smart Safety Zone 4.0 — CCOC",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=f"{api.PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    if container is not None:
        app.state.container = container  # usable before the lifespan ran (tests without it)
        app.state.feed = BoardFeed(container)
    app.add_middleware(WebMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        board,
        auth,
        incident_search,  # before incidents: /incidents/export.csv is not an incident's reference
        incidents,
        incident_actions,
        units,
        accounts,
        alerts,
        camera_setup,
        cameras,
        redboxes,
        kpi,
        reports,
        ledger,
        docs,
    ):
        # The routes themselves, not include_router: FastAPI matches an included router's routes through an
        # extra layer on every request.
        app.router.routes.extend(module.router.routes)
    for audit_module in (audit_routes, audit_history, audit_exports):  # the auditor's workspace (/audit)
        app.router.routes.extend(audit_module.router.routes)
    app.router.routes.extend(personal_data_pages.router.routes)
    app.router.routes.extend(handover_routes.router.routes)  # the shift handover (issue 18)
    app.router.routes.extend(zone_map_routes.router.routes)  # the zone map, positions, the live phone (issue 18)
    _operations_routes(app)
    _error_pages(app)
    api.install(app)  # after the error pages: under /api, every error is a problem+json instead
    return app


def warn_about_configuration(settings: Settings) -> None:
    """What a server should not start quietly with."""
    if not settings.public_url:
        log.warning(
            "config.public_url_unset",
            message="SSZ_PUBLIC_URL is not set: red-box QR sheets will carry the address the printing browser used "
            "(127.0.0.1 on this machine), which phones cannot reach. Set it to the address phones use.",
        )


def _operations_routes(app: FastAPI) -> None:
    @app.get("/healthz", dependencies=[Depends(PUBLIC)], include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", dependencies=[Depends(PUBLIC)], include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        container = container_of(request)
        projections = container.projections
        unreachable = JSONResponse(
            {"status": "unavailable", "event_store": "unreachable"},
            status_code=503,
            headers={"retry-after": str(RETRY_AFTER_SECONDS)},
        )
        if container.gate is not None and container.gate.down:
            return unreachable
        try:  # a load balancer asks often: it is told within a second, however the database fails
            head, positions = await asyncio.wait_for(
                run_in_threadpool(lambda: (projections.head(), projections.positions())), READY_SECONDS
            )
        except Exception as error:  # any failure to reach the stores means "not ready", never a 500
            log.warning("readyz.store_unreachable", error=repr(error))
            if container.gate is not None and not isinstance(error, DatabaseUnavailable):
                container.gate.suspect(error)
            return unreachable
        return JSONResponse(
            {
                "status": "ok",
                "event_store": "reachable",
                "log_head": head,
                "projection_lag": {name: head - position for name, position in positions.items()},
            }
        )

    @app.get("/metrics", response_class=PlainTextResponse, dependencies=[Depends(PUBLIC)], include_in_schema=False)
    def metrics(request: Request) -> Response:
        token = container_of(request).settings.metrics_token
        if token is None:
            raise StarletteHTTPException(404)
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token.get_secret_value()}".encode()):
            return PlainTextResponse(
                "A metrics token is required.\n",
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="metrics"'},
            )
        projections = container_of(request).projections
        head, positions = projections.head(), projections.positions()
        lines = [
            "# HELP ssz_log_head Notification id of the newest event in the log.",
            "# TYPE ssz_log_head gauge",
            f"ssz_log_head {head}",
            "# HELP ssz_projection_position Last notification id a projection has applied.",
            "# TYPE ssz_projection_position gauge",
        ]
        lines += [f'ssz_projection_position{{projection="{n}"}} {p}' for n, p in positions.items()]
        lines += [
            "# HELP ssz_projection_lag_events Events in the log that a projection has not applied yet.",
            "# TYPE ssz_projection_lag_events gauge",
        ]
        lines += [f'ssz_projection_lag_events{{projection="{n}"}} {head - p}' for n, p in positions.items()]
        lines += camera_metrics(container_of(request).engine)
        return PlainTextResponse("\n".join(lines) + "\n")


def _error_pages(app: FastAPI) -> None:
    def page(request: Request, status: int, title: str, message: str) -> Response:
        if request.url.path.startswith(("/healthz", "/readyz", "/metrics")):
            return JSONResponse({"detail": message}, status_code=status)
        return render(request, "error.html", status_code=status, title=title, message=message)

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, _: Exception) -> Response:
        if is_htmx(request) or "text/event-stream" in request.headers.get("accept", ""):
            response = Response(status_code=401)
            response.headers["hx-redirect"] = "/login"
            return response
        if request.method != "GET":  # a plain form sent after the session ended: say so, not a blank page
            response = render(request, "signed_out.html", status_code=401)
            response.headers["hx-redirect"] = "/login"
            return response
        return RedirectResponse(sign_in_url(request), status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _: Exception) -> Response:
        return page(
            request, 403, i18n.gettext("Not allowed"), i18n.gettext("Your role does not give access to this page.")
        )

    @app.exception_handler(NotPermitted)
    async def not_permitted(request: Request, error: NotPermitted) -> Response:
        return page(request, 403, i18n.gettext("Not allowed"), message_of(error))

    @app.exception_handler(CsrfRefused)
    async def csrf(request: Request, _: Exception) -> Response:
        return page(
            request,
            403,
            i18n.gettext("Form expired"),
            i18n.gettext("This form is no longer valid. Reload the page and try again; nothing was changed."),
        )

    @app.exception_handler(DomainError)
    async def refused(request: Request, error: DomainError) -> Response:
        return page(request, 422, i18n.gettext("Not done"), message_of(error))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, _: RequestValidationError) -> Response:
        return page(
            request, 422, i18n.gettext("Not done"), i18n.gettext("The request was not understood; nothing was changed.")
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404:
            return page(
                request,
                404,
                i18n.gettext("Not found"),
                str(error.detail) if error.detail != "Not Found" else i18n.gettext("There is no such page."),
            )
        if error.status_code == 405 and (target := nearest_page(request)):
            return RedirectResponse(target, status_code=303)  # a form's address opened as a page: its page
        if error.status_code == 405:
            return page(request, 405, i18n.gettext("Not done"), i18n.gettext("This page cannot be used that way."))
        return page(request, error.status_code, i18n.gettext("Not done"), str(error.detail))

    async def unavailable(request: Request, error: Exception) -> Response:
        log.warning("http.database_unavailable", error=repr(error))
        response = page(
            request,
            503,
            i18n.gettext("Database unreachable"),
            i18n.gettext("The system cannot reach its database; nothing was saved. Try again in a moment."),
        )
        response.headers["retry-after"] = str(RETRY_AFTER_SECONDS)
        return response

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, unavailable)

    @app.exception_handler(Exception)
    async def crashed(request: Request, error: Exception) -> Response:
        log.exception("http.unhandled_error", error=repr(error))
        return page(
            request,
            500,
            i18n.gettext("Something went wrong"),
            i18n.gettext("The system could not finish this. Nothing half-done was saved; please try again."),
        )
