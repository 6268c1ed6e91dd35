from uuid import UUID

from domain.errors import DomainError


class NotFound(DomainError):
    pass


class ConflictError(DomainError):
    """Someone else changed the same thing first. `current_version` is the version now stored."""

    def __init__(self, message: str, *, aggregate_id: UUID | None = None, current_version: int | None = None):
        super().__init__(message)
        self.aggregate_id = aggregate_id
        self.current_version = current_version
