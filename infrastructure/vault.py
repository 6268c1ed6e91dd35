"""Crypto-shredding of reporters' contacts: AES-GCM with a key per reporter, kept in `reporter_keys`,
outside the log. A reporter is recognised by a keyed hash of their phone, so an erasure request by
phone destroys the one key that opens every report they made."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import unicodedata
import uuid
from datetime import UTC, datetime
from uuid import UUID

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from application.ports import Contact
from domain.values import SealedContact
from infrastructure.tables import reporter_keys

log = structlog.get_logger()


_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")


def normalise_phone(phone: str) -> str:
    """The number's digits, each read as an Arabic digit whatever script it was typed in (๐๘๑ is 081: a Thai keyboard
    gives Thai digits), with Thailand's +66 as the leading 0."""
    digits = "".join(str(unicodedata.decimal(c)) for c in phone if c.isdecimal())
    return "0" + digits[2:] if digits.startswith("66") else digits


def _legacy_forms(phone: str) -> set[str]:
    """How the number was normalised before digits were read across scripts (they were kept as typed): the keys made
    then are found by the number typed as it was then, or all in Thai digits."""
    as_typed = "".join(c for c in phone if c.isdigit())
    as_typed = "0" + as_typed[2:] if as_typed.startswith("66") else as_typed
    return {as_typed, normalise_phone(phone).translate(_THAI_DIGITS)} - {normalise_phone(phone), ""}


class SqlContactVault:
    def __init__(self, engine: Engine, secret: bytes):
        self.engine = engine
        self.secret = secret

    def _subject(self, phone: str) -> str | None:
        digits = normalise_phone(phone)
        return self._keyed(digits) if digits else None

    def _keyed(self, digits: str) -> str:
        return hmac.new(self.secret, digits.encode(), hashlib.sha256).hexdigest()

    def _subjects(self, phone: str) -> list[str]:
        """Every keyed hash under which this number's reporter may have a key: today's, and those of before."""
        subject = self._subject(phone)
        return [subject, *sorted(self._keyed(form) for form in _legacy_forms(phone))] if subject else []

    def _keys_for(self, subjects: list[str | None]) -> list[tuple[str, bytes]]:
        """Each subject's key (a reporter without a phone, None, gets a key of their own), in one transaction: the
        keys found, and new ones for the reporters not seen before or erased since (who start afresh)."""
        wanted = {s for s in subjects if s is not None}
        keys: dict[str, tuple[str, bytes]] = {}
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            if wanted:
                rows = conn.execute(
                    select(reporter_keys.c.key_id, reporter_keys.c.key, reporter_keys.c.subject).where(
                        reporter_keys.c.subject.in_(sorted(wanted))
                    )
                ).all()
                keys = {row.subject: (row.key_id, row.key) for row in rows if row.key is not None}
                erased = [row.key_id for row in rows if row.key is None]
                if erased:
                    conn.execute(update(reporter_keys).where(reporter_keys.c.key_id.in_(erased)).values(subject=None))
            found: list[tuple[str, bytes]] = []
            new: list[dict[str, object]] = []
            for subject in subjects:
                if subject is None or subject not in keys:
                    key_id, key = uuid.uuid4().hex, AESGCM.generate_key(bit_length=256)
                    new.append({"key_id": key_id, "subject": subject, "key": key, "created_at": now})
                    if subject is not None:
                        keys[subject] = (key_id, key)
                    found.append((key_id, key))
                else:
                    found.append(keys[subject])
            if new:
                try:
                    conn.execute(insert(reporter_keys), new)
                except IntegrityError:  # a reporter of these, sealed at the same moment elsewhere
                    conn.rollback()
                    return self._keys_for(subjects)
        return found

    def seal(self, contact: Contact) -> SealedContact:
        return self.seal_many([contact])[0]

    def seal_many(self, contacts: list[Contact]) -> list[SealedContact]:
        """Several contacts sealed with one transaction (the reports committed together)."""
        keys = self._keys_for([self._subject(c.phone) for c in contacts])
        return [self._sealed(contact, key_id, key) for contact, (key_id, key) in zip(contacts, keys, strict=True)]

    @staticmethod
    def _sealed(contact: Contact, key_id: str, key: bytes) -> SealedContact:
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
        subjects = self._subjects(phone)
        if not subjects:
            return 0
        with self.engine.connect() as conn:
            key_ids = list(
                conn.execute(select(reporter_keys.c.key_id).where(reporter_keys.c.subject.in_(subjects))).scalars()
            )
        return self.erase_keys(key_ids, reason=reason, erased_by=erased_by)

    def key_ids_for_phone(self, phone: str) -> list[str]:
        """The live key of the reporter with this phone (matched on the keyed hash of the normalised number, so no
        contact is decrypted to find it); [] when nobody reported from it, or their key was destroyed."""
        subjects = self._subjects(phone)
        if not subjects:
            return []
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(reporter_keys.c.key_id).where(
                        reporter_keys.c.subject.in_(subjects), reporter_keys.c.key.is_not(None)
                    )
                ).scalars()
            )

    def live_keys(self, key_ids: list[str]) -> set[str]:
        if not key_ids:
            return set()
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(reporter_keys.c.key_id).where(
                        reporter_keys.c.key_id.in_(sorted(set(key_ids))), reporter_keys.c.key.is_not(None)
                    )
                ).scalars()
            )

    def is_erased(self, sealed: SealedContact) -> bool:
        return not self.live_keys([sealed.key_id])

    def erase_keys(self, key_ids: list[str], *, reason: str, erased_by: UUID, purge: bool = True) -> int:
        """Destroys these keys, and forgets the keyed hash of the phone they were found by (after an erasure nothing
        links the number to the reports). Returns how many were destroyed now (a key destroyed before counts 0)."""
        if not key_ids:
            return 0
        sqlite = self.engine.dialect.name == "sqlite"
        with self.engine.begin() as conn:
            if sqlite:  # the page images written from now on carry no trace of the deleted bytes
                conn.exec_driver_sql("PRAGMA secure_delete = ON")
            result = conn.execute(
                update(reporter_keys)
                .where(reporter_keys.c.key_id.in_(sorted(set(key_ids))), reporter_keys.c.key.is_not(None))
                .values(key=None, subject=None, erased_at=datetime.now(UTC), erased_by=erased_by, erasure_reason=reason)
            )
        if purge:
            self.purge_old_versions()
        return result.rowcount

    def purge_old_versions(self) -> None:
        """Best effort to leave no older copy of a destroyed key in the database's files: on SQLite the write-ahead
        log still holds the page as it was until a checkpoint (then truncated); on PostgreSQL the old row version
        stays in the table's file until VACUUM (which only the table's owner may run; README, Personal data)."""
        try:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                if self.engine.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                else:
                    conn.exec_driver_sql("VACUUM reporter_keys")
        except Exception as error:  # the keys are destroyed; only the clean-up of old copies failed  # noqa: BLE001
            log.warning("vault.purge_failed", error=repr(error))
