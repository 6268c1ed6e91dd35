"""The one place where text the web app receives (form fields, query strings, path parts) becomes a number or a
date. Each function returns the value or raises `Unreadable` with a message in the user's language; nothing
else may reach `int()` or `fromisoformat()`: `'²'.isdigit()` is true but `int('²')` fails, and a year 1 or 9999
date overflows once it is moved to another time zone or a day is added."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from domain.values import BANGKOK
from web import i18n

FIRST_YEAR, LAST_YEAR = 1900, 2200  # the same bounds as the JSON API's instants (web/api/models.py)
MAX_VERSION = 1_000_000_000
_DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII digits only: str.isdigit() also takes '²' and Thai digits
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LOCAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?")


class Unreadable(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def whole_number(text: str, *, low: int = 0, high: int = MAX_VERSION) -> int:
    value = text.strip()
    if not _DIGITS.fullmatch(value):
        raise Unreadable(i18n.gettext("Please give a whole number."))
    number = int(value)
    if not low <= number <= high:
        raise Unreadable(
            i18n.gettext("Please give a whole number from %(low)s to %(high)s.")
            % {"low": i18n.current().number(low), "high": i18n.current().number(high)}
        )
    return number


def _in_range(day: date) -> None:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise Unreadable(
            i18n.gettext("Please give a date between the years %(first)s and %(last)s.")
            % {"first": i18n.current().year(FIRST_YEAR), "last": i18n.current().year(LAST_YEAR)}
        )


def day(text: str) -> date:
    """A calendar day written `YYYY-MM-DD` (an HTML date input's value)."""
    value = text.strip()
    try:
        if not _DAY.fullmatch(value):
            raise ValueError
        parsed = date.fromisoformat(value)
    except ValueError:
        raise Unreadable(i18n.gettext("Please give a date.")) from None
    _in_range(parsed)
    return parsed


def local_instant(text: str) -> datetime:
    """A `datetime-local` value, meant in Asia/Bangkok unless it names its offset; returned in UTC."""
    value = text.strip()
    try:
        if not _LOCAL.match(value):
            raise ValueError
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Unreadable(i18n.gettext("Please give a date and time.")) from None
    _in_range(parsed.date())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BANGKOK)
    return parsed.astimezone(UTC)
