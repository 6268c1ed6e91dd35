"""Domain errors: each says, in words a person understands, why a command was refused.

An error is raised with a *template* — a literal English sentence with named placeholders — and the
values for them, e.g. ``TransitionRefused("Incident {reference} is already closed.", reference=...)``.
`message` is the English sentence, formatted; the web layer looks `template` up in its catalog and
formats `params` in the reader's language. Templates are literals so that they can be extracted.

How a value reads in the English `message`:
* an Enum member reads as its value with underscores as spaces (``IncidentStatus.ON_SCENE`` → "on scene");
* the placeholder ``{field}`` is the error's `field` (the input at fault), with underscores as spaces;
* another DomainError reads as its own message; a datetime as ISO 8601;
* anything else as ``str.format`` renders it.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any


def english(value: Any) -> Any:
    """How a parameter reads in the English message."""
    if isinstance(value, Enum):
        return str(value.value).replace("_", " ")
    if isinstance(value, DomainError):
        return value.message
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class DomainError(Exception):
    """A command was refused. `field` names the input at fault, when there is one; the template's
    ``{field}`` placeholder, when it has one, stands for it."""

    def __init__(self, template: str, *, field: str | None = None, **params: Any):
        self.template = template
        self.field = field
        self.params = params
        values = {name: english(value) for name, value in params.items()}
        if field is not None:
            values.setdefault("field", field.replace("_", " "))
        try:
            self.message = template.format_map(values)
        except (KeyError, IndexError, ValueError):
            if params:
                raise
            self.message = template  # a sentence written before templates, e.g. an f-string holding braces
        super().__init__(self.message)

    def __reduce__(self):  # keeps template and params across pickling (Exception pickles only `args`)
        return _rebuild, (type(self), self.message, self.__dict__.copy())


def _rebuild(cls: type[DomainError], message: str, state: dict[str, Any]) -> DomainError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


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
