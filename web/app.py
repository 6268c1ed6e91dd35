"""The FastAPI app factory. Routes only translate HTTP; the Container comes from the composition root."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from infrastructure.bootstrap import Container, bootstrap

log = structlog.get_logger()


def create_app(container: Container | None = None) -> FastAPI:
    owned = container is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.container = container or await run_in_threadpool(bootstrap)
        yield
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
        zone = request.app.state.container.app
        try:
            head = zone.recorder.max_notification_id() or 0
        except Exception as error:  # any failure to reach the store means "not ready", never a 500
            log.warning("readyz.event_store_unreachable", error=str(error))
            return JSONResponse({"status": "unavailable", "event_store": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "event_store": "reachable", "log_head": head})

    return app
