"""A message for the page a form redirects to (post, then redirect, then get): what an action says once, such as
a one-time password or a new API key. It travels in a short-lived cookie sealed (AES-GCM) under the app's secret
and bound to the browser's session, so it is readable only by this server, for this session, and only once."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import Request
from fastapi.responses import Response

from web.access import SESSION_COOKIE
from web.middleware import secure_request

FLASH_COOKIE = "ssz_flash"
FLASH_SECONDS = 120


def _aead(request: Request) -> AESGCM:
    secret = request.app.state.container.settings.secret_key.get_secret_value().encode()
    return AESGCM(hashlib.sha256(b"ssz-flash\0" + secret).digest())


def _bound_to(request: Request) -> bytes:
    return hashlib.sha256((request.cookies.get(SESSION_COOKIE) or "").encode()).digest()


def put(request: Request, response: Response, path: str, **message: Any) -> None:
    nonce = os.urandom(12)
    sealed = _aead(request).encrypt(nonce, json.dumps(message).encode(), _bound_to(request))
    response.set_cookie(
        FLASH_COOKIE,
        base64.urlsafe_b64encode(nonce + sealed).decode(),
        max_age=FLASH_SECONDS,
        httponly=True,
        samesite="strict",
        secure=secure_request(request),
        path=path,
    )


def take(request: Request, response: Response, path: str) -> dict[str, Any]:
    """The message for this page, if any; the cookie is removed, so a reload shows it no more."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return {}
    response.delete_cookie(FLASH_COOKIE, path=path)
    try:
        blob = base64.urlsafe_b64decode(raw.encode())
        found = json.loads(_aead(request).decrypt(blob[:12], blob[12:], _bound_to(request)))
    except (ValueError, InvalidTag):
        return {}
    return found if isinstance(found, dict) else {}
