"""The signed tokens of red-box QR codes: `<version>-<signature>`, the signature an HMAC of the box and the
version under the deployment's secret. Only this system can print a code that verifies; rotating a box's
token (a new version in its history) voids every code printed before."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from uuid import UUID

_TOKEN = re.compile(r"^([1-9][0-9]{0,5})-([A-Za-z0-9_-]{16})$")


class HmacCodeSigner:
    def __init__(self, secret: bytes):
        self._key = hmac.new(secret, b"ssz/red-box-qr", hashlib.sha256).digest()

    def _signature(self, box_id: UUID, version: int) -> str:
        mac = hmac.new(self._key, box_id.bytes + version.to_bytes(4, "big"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:12]).decode()  # 96 bits, 16 characters: a small QR code

    def token(self, box_id: UUID, version: int) -> str:
        return f"{version}-{self._signature(box_id, version)}"

    def version_of(self, box_id: UUID, token: str) -> int | None:
        match = _TOKEN.match(token or "")
        if match is None:
            return None
        version = int(match.group(1))
        return version if hmac.compare_digest(match.group(2), self._signature(box_id, version)) else None
