"""Crypto-shredding of reporters' contacts: AES-GCM with a key per reporter, kept in `reporter_keys`,
outside the log. A reporter is recognised by a keyed hash of their phone, so an erasure request by
phone destroys the one key that opens every report they made."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from datetime import datetime, timezone
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from application.ports import Contact
from domain.values import SealedContact
from infrastructure.tables import reporter_keys


def normalise_phone(phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    return "0" + digits[2:] if digits.startswith("66") else digits


class SqlContactVault:
    def __init__(self, engine: Engine, secret: bytes):
        self.engine = engine
        self.secret = secret

    def _subject(self, phone: str) -> str | None:
        digits = normalise_phone(phone)
        return hmac.new(self.secret, digits.encode(), hashlib.sha256).hexdigest() if digits else None

    def _key_for(self, subject: str | None) -> tuple[str, bytes]:
        with self.engine.begin() as conn:
            if subject is not None:
                row = conn.execute(select(reporter_keys.c.key_id, reporter_keys.c.key).where(reporter_keys.c.subject == subject)).first()
                if row is not None and row.key is not None:
                    return row.key_id, row.key
                if row is not None:  # erased before: the reporter starts afresh under a new key
                    conn.execute(update(reporter_keys).where(reporter_keys.c.key_id == row.key_id).values(subject=None))
            key_id, key = uuid.uuid4().hex, AESGCM.generate_key(bit_length=256)
            try:
                conn.execute(insert(reporter_keys).values(key_id=key_id, subject=subject, key=key, created_at=datetime.now(timezone.utc)))
            except IntegrityError:  # the same reporter, sealed at the same moment elsewhere
                conn.rollback()
                return self._key_for(subject)
        return key_id, key

    def seal(self, contact: Contact) -> SealedContact:
        key_id, key = self._key_for(self._subject(contact.phone))
        nonce = os.urandom(12)
        plaintext = json.dumps({"name": contact.name, "phone": contact.phone}, ensure_ascii=False).encode()
        ciphertext = AESGCM(key).encrypt(nonce, plaintext, key_id.encode())
        return SealedContact(key_id=key_id, ciphertext=base64.b64encode(nonce + ciphertext).decode())

    def unseal(self, sealed: SealedContact) -> Contact | None:
        with self.engine.connect() as conn:
            key = conn.execute(select(reporter_keys.c.key).where(reporter_keys.c.key_id == sealed.key_id)).scalar()
        if key is None:
            return None
        blob = base64.b64decode(sealed.ciphertext)
        try:
            data = json.loads(AESGCM(key).decrypt(blob[:12], blob[12:], sealed.key_id.encode()))
        except InvalidTag:
            return None
        return Contact(name=data["name"], phone=data["phone"])

    def erase(self, phone: str, *, reason: str, erased_by: UUID) -> int:
        subject = self._subject(phone)
        if subject is None:
            return 0
        with self.engine.begin() as conn:
            result = conn.execute(
                update(reporter_keys).where(reporter_keys.c.subject == subject, reporter_keys.c.key.is_not(None))
                .values(key=None, erased_at=datetime.now(timezone.utc), erased_by=erased_by, erasure_reason=reason)
            )
        return result.rowcount
