"""A camera's video source may carry credentials: rtsp://admin:S3cret@10.71.1.11:554/stream1, …?token=…. The log
records the source without them (`split_source`); their secret part is kept here, outside the log, sealed with
AES-GCM under a key derived from the settings' secret key, and put back (`join_source`) only where a camera worker
opens the source. Cameras registered before this recorded the whole source in the log: theirs opens as recorded,
and what the read side shows of it is masked (`masked_source`)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from infrastructure.settings import Settings
from infrastructure.tables import camera_secrets

MASK = "***"
# Query parameters that commonly carry credentials in camera URLs (…?user=admin&password=…, ?token=…).
_SECRET_PARAMETER = re.compile(
    r"([?&;#])([^=&;#]*(?:user|login|pass|pwd|secret|token|key|auth|sig|cred)[^=&;#]*)=([^&;#]*)", re.IGNORECASE
)


def masked_source(address: str) -> str:
    """A camera's source fit to be shown: a URL's userinfo (user and password) replaced by ***, and so the
    values of credential-like query parameters; a file path as it is. Everything up to a URL's last "@" counts
    as userinfo, so that a password holding "/", "?" or "#" unescaped is masked too (at worst, more is hidden)."""
    scheme, separator, rest = address.partition("://")
    if not separator:
        return address
    if "@" in rest:
        rest = f"{MASK}@{rest.rpartition('@')[2]}"
    return f"{scheme}://{_SECRET_PARAMETER.sub(lambda m: f'{m[1]}{m[2]}={MASK}', rest)}"


def split_source(source: str) -> tuple[str, str]:
    """The source as the log may record it, and its secret part ("" when it has none). The secret part is a URL's
    password (its userinfo after the first ":"; the userinfo runs to the URL's last "@", as `masked_source` reads
    it) and the values of its credential-like query parameters; the user name and the parameters' names stay.
    A file path has no secret part."""
    scheme, separator, rest = source.partition("://")
    if not separator:
        return source, ""
    userinfo, at, location = rest.rpartition("@")
    user, _, password = userinfo.partition(":")
    values = [m[3] for m in _SECRET_PARAMETER.finditer(location)]
    if not password and not any(values):
        return source, ""
    location = _SECRET_PARAMETER.sub(r"\1\2=", location)
    return f"{scheme}://{user if password else userinfo}{at}{location}", json.dumps(
        {"password": password, "values": values}
    )


def join_source(address: str, secret: str, *, mask: str | None = None) -> str:
    """The source that `split_source` took apart, from the address it gave and its secret part; with `mask`,
    the secrets shown as that instead (for logs)."""
    if not secret:
        return address
    parts = json.loads(secret)
    scheme, _, rest = address.partition("://")
    userinfo, at, location = rest.rpartition("@")
    password, values = parts["password"], parts["values"]
    emptied = [m[3] for m in _SECRET_PARAMETER.finditer(location)]
    if (password and not at) or len(emptied) != len(values) or any(emptied):
        raise ValueError("This secret part was not taken from this camera source.")
    if password:
        userinfo = f"{userinfo}:{mask or password}"
    filled = iter(values)

    def fill(m: re.Match[str]) -> str:
        value = next(filled)
        return f"{m[1]}{m[2]}={mask if mask and value else value}"

    return f"{scheme}://{userinfo}{at}{_SECRET_PARAMETER.sub(fill, location)}"


def redact(address: str) -> str:
    """The address with its password and its credential-like query values as ***, fit for logs and messages."""
    recorded, secret = split_source(address)
    return join_source(recorded, secret, mask=MASK)


class SqlCameraSecrets:
    """The secret part of each camera's source, in `camera_secrets`: sealed with AES-GCM under one key, with the
    camera's id as associated data, so that a sealed secret moved to another camera does not open."""

    def __init__(self, engine: Engine, key: bytes):
        self.engine = engine
        self._aead = AESGCM(key)

    @classmethod
    def for_settings(cls, engine: Engine, settings: Settings) -> SqlCameraSecrets:
        secret = settings.secret_key.get_secret_value().encode()
        return cls(engine, hashlib.sha256(b"ssz/camera-source-secrets/" + secret).digest())

    split = staticmethod(split_source)

    def keep(self, camera_id: UUID, secret: str) -> None:
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, secret.encode(), camera_id.bytes)
        with self.engine.begin() as conn:
            insert = _insert(conn)
            conn.execute(
                insert.values(camera_id=camera_id, sealed=sealed, updated_at=datetime.now(UTC)).on_conflict_do_update(
                    index_elements=["camera_id"], set_={"sealed": sealed, "updated_at": insert.excluded.updated_at}
                )
            )

    def secret_of(self, camera_id: UUID) -> str:
        """The camera's secret part; "" when none was kept (no secret, or registered before secrets were kept apart)."""
        with self.engine.connect() as conn:
            sealed = conn.execute(
                select(camera_secrets.c.sealed).where(camera_secrets.c.camera_id == camera_id)
            ).scalar()
        if sealed is None:
            return ""
        return self._aead.decrypt(sealed[:12], sealed[12:], camera_id.bytes).decode()

    def full_source(self, camera_id: UUID, recorded: str) -> str:
        """The address to open: the recorded one with the camera's secret part put back."""
        return join_source(recorded, self.secret_of(camera_id))


def _insert(conn: Connection):  # noqa: ANN202
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(camera_secrets)
