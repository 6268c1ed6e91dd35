"""What the application needs from the outside world, as protocols; infrastructure implements them."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.values import SealedContact


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str


class ContactVault(Protocol):
    """Encrypts each reporter's contact with a key of their own, kept outside the log.
    Destroying the key erases the contact everywhere without touching the log."""

    def seal(self, contact: Contact) -> SealedContact: ...

    def seal_many(self, contacts: list[Contact]) -> list[SealedContact]:
        """Each contact sealed, in order; one reporter's contacts with the same key."""

    def unseal(self, sealed: SealedContact) -> Contact | None:
        """The contact, or None when its key was destroyed."""

    def erase(self, phone: str, *, reason: str, erased_by: UUID) -> int:
        """Destroys the key of the reporter with this phone; returns how many keys were destroyed."""

    def key_ids_for_phone(self, phone: str) -> list[str]:
        """The live key of the reporter with this phone, matched without decrypting anyone's contact ([] if none)."""

    def live_keys(self, key_ids: list[str]) -> set[str]:
        """Those of these keys that were not destroyed."""

    def is_erased(self, sealed: SealedContact) -> bool: ...

    def erase_keys(self, key_ids: list[str], *, reason: str, erased_by: UUID, purge: bool = True) -> int:
        """Destroys these keys; returns how many were destroyed now. `purge`: also clear the older copies the
        database's files may keep (else call `purge_old_versions` once after several erasures)."""

    def purge_old_versions(self) -> None: ...


@dataclass(frozen=True)
class SealedIncident:
    """An incident whose report left a contact: which reporter's key seals it, and whether it is closed (since when)."""

    incident_id: UUID
    reference: str
    key_id: str
    reported_at: datetime
    closed_at: datetime | None


class ContactIndex(Protocol):
    """Which incidents each reporter's key seals (a read model of the log's reports)."""

    def incidents_for_keys(self, key_ids: list[str]) -> list[SealedIncident]: ...

    def incident(self, reference: str) -> SealedIncident | None: ...

    def keys_closed_before(self, cutoff: datetime) -> list[str]:
        """The keys all of whose incidents were closed (or cancelled) before `cutoff`."""


class Credentials(Protocol):
    def set_password(self, user_id: UUID, username: str, password: str, *, one_time: bool = False) -> None: ...

    def verify(self, username: str, password: str) -> UUID | None: ...

    def any_users(self) -> bool: ...

    def is_one_time(self, user_id: UUID) -> bool: ...

    def user_ids(self) -> list[UUID]: ...


class CodeSigner(Protocol):
    """Signs the token printed in a red box's QR code, and checks one scanned back: only this system can
    make a valid code, and rotating a box's token (a new version) makes its printed older codes void."""

    def token(self, box_id: UUID, version: int) -> str: ...

    def version_of(self, box_id: UUID, token: str) -> int | None:
        """The version a token of this box was signed for, or None when it is not one this system signed."""


class CameraSecrets(Protocol):
    """Keeps the secret part of a camera's video source (a URL's password, the values of credential-like query
    parameters) outside the log, encrypted: the log records the source without it."""

    def split(self, source: str) -> tuple[str, str]:
        """The source as the log may record it, and its secret part ("" when it has none)."""

    def keep(self, camera_id: UUID, secret: str) -> None:
        """Stores the camera's secret part (replacing one kept before)."""
