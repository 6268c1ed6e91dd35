"""Domain errors: each says, in words a person understands, why a command was refused."""


class DomainError(Exception):
    """A command was refused. `field` names the input at fault, when there is one."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    pass


class TransitionRefused(DomainError):
    pass


class NotPermitted(DomainError):
    pass


class UnitUnavailable(TransitionRefused):
    pass


class TokenRefused(TransitionRefused):
    pass
