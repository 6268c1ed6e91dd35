"""An integration talking to one server over the JSON API (`/api/v1`), and the key it acts with."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from domain.values import Role
from infrastructure.api_keys import IssuedKey, Scope, issue_key
from infrastructure.bootstrap import Container
from testkit.world import World

INCIDENT = {
    "channel": "mobile_sos",
    "category": "assault",
    "priority": "P1",
    "community": "ko_loi",
    "location": "Soi 3, near the market",
    "description": "SOS pressed; two men are fighting outside the shop.",
}


def new_key(
    container: Container, world: World, name: str, scopes: Iterable[Scope] = tuple(Scope), role: Role = Role.SUPERVISOR
) -> IssuedKey:
    """A key for a new integration account; returns once the servers can resolve it (the accounts read model
    shows the account: this process brings the read models up to date itself)."""
    return issue_key(
        container.app,
        container.api_keys,
        name=name,
        scopes=scopes,
        role=role,
        by=world.admin,
        wait=lambda _: container.projections.catch_up(),
    )


class Integration:
    def __init__(self, base_url: str, key: IssuedKey | str, *, timeout: float = 30.0):
        secret = key.key if isinstance(key, IssuedKey) else key
        self.http = httpx.Client(base_url=base_url, timeout=timeout, headers={"authorization": f"Bearer {secret}"})

    def close(self) -> None:
        self.http.close()

    def report(self, idempotency_key: str | None = None, **fields: Any) -> httpx.Response:
        headers = {"idempotency-key": idempotency_key} if idempotency_key else {}
        return self.http.post("/api/v1/incidents", json={**INCIDENT, **fields}, headers=headers)

    def reported(self, **fields: Any) -> str:
        """Reports an incident and returns its reference (the report must succeed)."""
        answer = self.report(**fields)
        assert answer.status_code == 201, answer.text
        return answer.json()["reference"]

    def dispatch(self, reference: str, call_sign: str, **fields: Any) -> httpx.Response:
        return self.http.post(f"/api/v1/incidents/{reference}/dispatch", json={"call_sign": call_sign, **fields})

    def resolve(self, reference: str, **fields: Any) -> httpx.Response:
        return self.http.post(
            f"/api/v1/incidents/{reference}/resolve",
            json={"outcome": "warning_given", "summary": "The men were separated and warned.", **fields},
        )
