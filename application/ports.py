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

    def unseal(self, sealed: SealedContact) -> Contact | None:
        """The contact, or None when its key was destroyed."""

    def erase(self, phone: str, *, reason: str, erased_by: UUID) -> int:
        """Destroys the key of the reporter with this phone; returns how many keys were destroyed."""


class Credentials(Protocol):
    def set_password(self, user_id: UUID, username: str, password: str) -> None: ...

    def verify(self, username: str, password: str) -> UUID | None: ...

    def any_users(self) -> bool: ...
