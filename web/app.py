"""The FastAPI app factory. Routes only translate HTTP; the Container comes from the composition root."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse

from infrastructure.bootstrap import Container, bootstrap
from infrastructure.vision.worker import camera_metrics

log = structlog.get_logger()


def create_app(container: Container | None = None, *, run_projections: bool = False) -> FastAPI:
    """`run_projections`: follow the log in this process (the embedded default of `ssz serve`);
    in production, `ssz projections run` runs them as separate worker processes."""
    owned = container is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.container = container or await run_in_threadpool(bootstrap)
        if run_projections:
            app.state.container.projections.start()
        yield
        app.state.container.projections.stop()
        if owned:
            app.state.container.close()

    app = FastAPI(title="Smart Safety Zone 4.0 — CCOC", version="0.1.0", lifespan=lifespan)

    @app.middleware("http")
    async def request_id(request: Request, call_next):  # noqa: ANN001, ANN202
        rid = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex[:16]
        with structlog.contextvars.bound_contextvars(request_id=rid, method=request.method, path=request.url.path):
            response: Response = await call_next(request)
            response.headers["x-request-id"] = rid
            log.info("http.request", status=response.status_code)
            return response

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz(request: Request) -> JSONResponse:
        projections = request.app.state.container.projections
        try:
            head = projections.head()
            positions = projections.positions()
        except Exception as error:  # any failure to reach the stores means "not ready", never a 500
            log.warning("readyz.store_unreachable", error=str(error))
            return JSONResponse({"status": "unavailable", "event_store": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "event_store": "reachable", "log_head": head,
                             "projection_lag": {name: head - position for name, position in positions.items()}})

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics(request: Request) -> str:
        projections = request.app.state.container.projections
        head, positions = projections.head(), projections.positions()
        lines = ["# HELP ssz_log_head Notification id of the newest event in the log.", "# TYPE ssz_log_head gauge",
                 f"ssz_log_head {head}",
                 "# HELP ssz_projection_position Last notification id a projection has applied.",
                 "# TYPE ssz_projection_position gauge"]
        lines += [f'ssz_projection_position{{projection="{n}"}} {p}' for n, p in positions.items()]
        lines += ["# HELP ssz_projection_lag_events Events in the log that a projection has not applied yet.",
                  "# TYPE ssz_projection_lag_events gauge"]
        lines += [f'ssz_projection_lag_events{{projection="{n}"}} {head - p}' for n, p in positions.items()]
        lines += camera_metrics(request.app.state.container.engine)
        return "\n".join(lines) + "\n"

    return app
