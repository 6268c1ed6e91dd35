"""Driving the real app over HTTP in-process (Starlette's TestClient): a browser-like client per person,
with its own cookies, that reads the CSRF token from the pages like a browser submits it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

from fastapi import FastAPI
from fastapi.testclient import TestClient

from infrastructure.bootstrap import Container
from web.access import SESSION_COOKIE

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Browser:
    client: TestClient
    user_id: UUID | None = None

    def csrf(self, path: str = "/login") -> str:
        match = CSRF.search(self.client.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def get(self, path: str, **kwargs):  # noqa: ANN003, ANN201
        return self.client.get(path, follow_redirects=False, **kwargs)

    def post(self, path: str, data: dict | None = None, *, token: bool = True, follow: bool = False, **kwargs):  # noqa: ANN201, ANN003
        form = dict(data or {})
        if token:
            form.setdefault("csrf_token", self.csrf())
        return self.client.post(path, data=form, follow_redirects=follow, **kwargs)


def browser(app: FastAPI) -> Browser:
    return Browser(TestClient(app, base_url="http://testserver"))


def signed_in(app: FastAPI, container: Container, user_id: UUID) -> Browser:
    """A browser with a session of this user (as after a sign-in; the sign-in itself is tested on its own)."""
    b = browser(app)
    b.client.cookies.set(SESSION_COOKIE, container.sessions.start(user_id, ip="testclient", user_agent="pytest"))
    b.user_id = user_id
    return b


def head(container: Container) -> int:
    return container.app.recorder.max_notification_id() or 0
