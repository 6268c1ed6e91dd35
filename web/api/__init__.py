"""The JSON API for integrations, under /api/v1, described by the app's OpenAPI (/api/v1/openapi.json).

Integrations authenticate with API keys (`Authorization: Bearer ssz_…`), never cookies; each key has scopes
and acts as its integration's own account. Errors are RFC 9457 problem details. The officers' HTML pages
are not part of the description."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from web.api import alerts, cameras, contacts, incidents, ledger, lifecycle, problems, reads
from web.api.models import PREFIX, FieldError, Problem

__all__ = ["PREFIX", "install"]
DESCRIPTION = """\
The CCOC's JSON API for integrations: the national police app's SOS button and partners' systems report
incidents; camera workers raise alerts; dispatch systems follow and act on incidents.

* **Keys.** An administrator creates one key per integration at `/admin/api-keys` (or `ssz apikey create`); it
  is shown once. Send it as `Authorization: Bearer <key>`. Each key has scopes (`intake`, `alerts`, `lifecycle`,
  `read`, `contacts`, `cameras`) and acts as the integration's own account, whose role the domain checks like a person's.
* **Retries.** Send `Idempotency-Key` with an intake or an alert: a retry answers 200 with the same body and
  never reports twice.
* **Conflicts.** Decisions may carry `expected_version`; if the incident changed since, the answer is 409 with
  `current_version`.
* **Errors** are problem details (`application/problem+json`); a 422 lists each input at fault in `errors`.
* **Rate limits** are per key; a 429 says how long to wait in `Retry-After`.
* **Personal data.** Answers never carry a reporter's name or phone, except `POST /incidents/{reference}/contact`
  for a key with the `contacts` scope: it takes the purpose of the reading, which is recorded as an event.
"""
TAGS = [
    {"name": "intake", "description": "Report incidents (scope `intake`)"},
    {"name": "camera alerts", "description": "Raise camera alerts (scope `alerts`)"},
    {"name": "lifecycle", "description": "Act on incidents (scope `lifecycle`)"},
    {"name": "reads", "description": "Incidents and their timelines (scope `read`)"},
    {"name": "ledger", "description": "Signed checkpoints and Merkle proofs of the log (scope `read`)"},
    {
        "name": "cameras",
        "description": "Set cameras up: zones and rules (scope `cameras`; administrators' keys change, supervisors' read)",
    },
]


def install(app: FastAPI) -> None:
    """Mounts the API, turns every error under /api into problem details, and completes the OpenAPI description.
    Call it after the app's own error handlers are registered."""
    # Flat, like the pages' routes (web/app.py says why), and first: an integration's request is matched without
    # trying every page's route before it (no page's path starts with /api).
    app.router.routes[0:0] = [
        route
        for module in (incidents, lifecycle, reads, alerts, ledger, contacts, cameras)
        for route in module.router.routes
    ]
    problems.install(app)
    app.description = DESCRIPTION
    app.openapi_tags = TAGS
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (Problem, FieldError):
                definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
                definition.pop("$defs", None)
                schemas[model.__name__] = definition
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
