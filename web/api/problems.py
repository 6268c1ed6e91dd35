"""Every error under /api as RFC 9457 problem details (`application/problem+json`): type, title, status,
detail, instance, and the extensions `errors` (422/400: each input at fault) and `current_version` (409).

The app's own error handlers (HTML pages) stay as they are for the pages; `install` wraps each of them so that
a request under /api gets a problem instead."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from application.errors import ConflictError, IdempotencyKeyReused, NotFound
from domain.errors import DomainError, NotPermitted, TransitionRefused
from infrastructure.db import RETRY_AFTER_SECONDS, UNAVAILABLE
from web.access import ApiKeyRefused, ApiRateLimited, ApiScopeRefused

log = structlog.get_logger()

MEDIA_TYPE = "application/problem+json"
API_PREFIX = "/api/"


class ApiProblem(Exception):
    """A problem a route decides on itself (an unknown incident, a conflict with the version now)."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        current_version: int | None = None,
    ):
        super().__init__(detail)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail
        self.errors, self.current_version = errors, current_version


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE


def problem(
    request: Request,
    status: int,
    kind: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    current_version: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:ssz:problem:{kind}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = errors
    if current_version is not None:
        body["current_version"] = current_version
    return ProblemResponse(body, status_code=status, headers=headers)


def field_errors(error: RequestValidationError) -> list[dict[str, str]]:
    """Pydantic's errors, each named by the input as the client sent it (`reporter.phone`, `page`, `Idempotency-Key`)."""
    out = []
    for e in error.errors():
        where, *path = e.get("loc") or ("body",)
        name = ".".join(str(p) for p in path) or where
        out.append({"field": name, "message": str(e.get("msg", "is not valid"))})
    return out


def domain_field(error: DomainError, aliases: dict[str, str] | None = None) -> str:
    field = error.field or ""
    return (aliases or {}).get(field, field)


_QUERY_NAMES: dict[int, frozenset[str]] = {}


def _query_names(dependant: Any) -> frozenset[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


async def known_query_only(request: Request) -> None:
    """A query parameter the operation does not have is refused (a misspelt filter would otherwise quietly
    match everything)."""
    route = request.scope.get("route")
    if route is None or not request.url.query:
        return
    known = _QUERY_NAMES.get(id(route))
    if known is None:
        known = _QUERY_NAMES[id(route)] = _query_names(route.dependant)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        raise ApiProblem(
            422,
            "invalid",
            "The request was not valid",
            "This operation has no such query parameter.",
            errors=[{"field": name[:100], "message": "is not a parameter of this operation"} for name in unknown],
        )


def problem_for(request: Request, error: Exception) -> Response:
    if isinstance(error, ApiProblem):
        return problem(
            request,
            error.status,
            error.kind,
            error.title,
            error.detail,
            errors=error.errors,
            current_version=error.current_version,
        )
    if isinstance(error, ApiKeyRefused):
        return problem(
            request,
            401,
            "unauthorized",
            "A valid API key is required",
            "Send a live API key as 'Authorization: Bearer <key>'.",
            headers={"www-authenticate": 'Bearer realm="ssz", error="invalid_token"'},
        )
    if isinstance(error, ApiScopeRefused):
        return problem(request, 403, "forbidden", "Not allowed", error.detail)
    if isinstance(error, ApiRateLimited):
        seconds = max(1, math.ceil(error.retry_after))
        return problem(
            request,
            429,
            "rate-limited",
            "Too many requests",
            f"This API key has used its requests for now; try again in {seconds} s.",
            headers={"retry-after": str(seconds)},
        )
    if isinstance(error, NotPermitted):
        return problem(request, 403, "not-permitted", "Not allowed", error.message)
    if isinstance(error, (ConflictError, TransitionRefused)):
        return problem(
            request,
            409,
            "conflict",
            "Refused in the incident's current state",
            error.message,
            current_version=getattr(error, "current_version", None),
        )
    if isinstance(error, IdempotencyKeyReused):  # as the IETF Idempotency-Key draft answers a reused key
        return problem(
            request,
            422,
            "idempotency-key-reused",
            "Idempotency-Key is already used",
            error.message,
            errors=[{"field": "Idempotency-Key", "message": error.message}],
        )
    if isinstance(error, NotFound):
        return problem(
            request,
            422,
            "invalid",
            "The request was not valid",
            error.message,
            errors=[{"field": error.field or "", "message": error.message}],
        )
    if isinstance(error, DomainError):
        return problem(
            request,
            422,
            "invalid",
            "The request was not valid",
            error.message,
            errors=[{"field": error.field or "", "message": error.message}],
        )
    if isinstance(error, RequestValidationError):
        errors = field_errors(error)
        if any(e.get("type") == "json_invalid" for e in error.errors()):
            return problem(
                request,
                400,
                "malformed",
                "The body is not valid JSON",
                "The request's body could not be read as JSON; nothing was changed.",
                errors=errors,
            )
        return problem(
            request,
            422,
            "invalid",
            "The request was not valid",
            "Some inputs are missing or not valid; nothing was changed.",
            errors=errors,
        )
    if isinstance(error, StarletteHTTPException):
        if error.status_code == 404:
            return problem(request, 404, "not-found", "Not found", "There is no such resource in this API.")
        if error.status_code == 405:
            allow = ", ".join(allowed_methods(request))
            if request.method == "OPTIONS":
                return Response(status_code=204, headers={"allow": allow})
            return problem(
                request,
                405,
                "method-not-allowed",
                "Method not allowed",
                "This resource cannot be used that way.",
                headers={"allow": allow},
            )
        return problem(
            request, error.status_code, "http", "Not done", str(error.detail), headers=dict(error.headers or {})
        )
    if isinstance(error, UNAVAILABLE):
        log.warning("api.database_unavailable", error=repr(error))
        return problem(
            request,
            503,
            "unavailable",
            "The database cannot be reached",
            "The system cannot reach its database; nothing was saved. Try again in a moment.",
            headers={"retry-after": str(RETRY_AFTER_SECONDS)},
        )
    log.exception("api.unhandled_error", error=repr(error))
    return problem(
        request,
        500,
        "internal",
        "Something went wrong",
        "The system could not finish this. Nothing half-done was saved; please try again.",
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method of every route at this path (Starlette's 405 names only the first route's)."""
    scope = {**request.scope, "method": "OPTIONS"}
    methods = {"OPTIONS"}
    for route in request.app.router.routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")


def _for_api_paths(handler: Callable[..., Any]) -> Callable[..., Any]:
    async def either(request: Request, error: Exception) -> Response:
        if is_api(request):
            return problem_for(request, error)
        response = handler(request, error)
        return await response if hasattr(response, "__await__") else response

    return either


def install(app: FastAPI) -> None:
    """Call after the app's own handlers are registered: each one answers problems under /api."""
    for cls, handler in list(app.exception_handlers.items()):
        app.exception_handlers[cls] = _for_api_paths(handler)

    async def api_only(request: Request, error: Exception) -> Response:
        return problem_for(request, error)

    for cls in (ApiProblem, ApiKeyRefused, ApiScopeRefused, ApiRateLimited):
        app.add_exception_handler(cls, api_only)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI description of these problem responses (the schema is added under application/problem+json)."""
    words = {
        400: "The body is not valid JSON",
        401: "No live API key",
        403: "The key's scopes, or its account's role, do not allow this; or the domain refused it to this account",
        404: "No such incident",
        409: "The incident changed since `expected_version`, or is not in a state that allows this",
        422: "An input is missing or not valid (each in `errors`)",
        429: "Rate limit: wait `Retry-After` seconds",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "description": words[status],
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if status == 429:
            entry["headers"] = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
        if status == 401:
            entry["headers"] = {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}
        out[status] = entry
    return out
