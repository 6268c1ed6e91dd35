"""What the application needs from the outside world, as protocols; infrastructure implements them."""

from dataclasses import dataclass
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
