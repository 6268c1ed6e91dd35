"""The one place where text the web app receives (form fields, query strings, path parts) becomes a number or a
date. Each function returns the value or raises `Unreadable` with a message in the user's language; nothing
else may reach `int()` or `fromisoformat()`: `'²'.isdigit()` is true but `int('²')` fails, and a year 1 or 9999
date overflows once it is moved to another time zone or a day is added."""

from __future__ import annotations

import calendar
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


def _common_era(value: str) -> str:
    """A date input's value whose year a Thai user typed in the Buddhist era (the year box of Chromium's date and
    datetime-local inputs takes 2569 as readily as 2026) moved to CE: years 2443-2743 are never meant as CE here,
    and the refusal used to ask for "a year between 2443 and 2743" of the very person who had typed 2569."""
    year = value[:4]
    if len(value) >= 4 and year.isascii() and year.isdigit():
        be = int(year)
        if FIRST_YEAR + BE_OFFSET <= be <= LAST_YEAR + BE_OFFSET:
            return f"{be - BE_OFFSET:04d}{value[4:]}"
    return value


def day(text: str) -> date:
    """A calendar day written `YYYY-MM-DD` (an HTML date input's value), the year CE or Buddhist era."""
    value = _common_era(text.strip())
    try:
        if not _DAY.fullmatch(value):
            raise ValueError
        parsed = date.fromisoformat(value)
    except ValueError:
        raise Unreadable(i18n.gettext("Please give a date.")) from None
    _in_range(parsed)
    return parsed


def local_instant(text: str) -> datetime:
    """A `datetime-local` value, meant in Asia/Bangkok unless it names its offset; returned in UTC. The year may be
    CE or Buddhist era."""
    value = _common_era(text.strip())
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


# --- the search box and its dates ---------------------------------------------------------------------------
MAX_SEARCH = 200  # characters of the search box
MAX_WORDS = 8
BE_OFFSET = 543  # Buddhist era = CE + 543
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_DMY = re.compile(r"([0-9]{1,2})[/.\-]([0-9]{1,2})[/.\-]([0-9]{4})")
_MY = re.compile(r"([0-9]{1,2})[/.\-]([0-9]{4})")
_YEAR = re.compile(r"[0-9]{4}")


def search_words(text: str) -> tuple[str, ...]:
    """The words of the search box: at most MAX_SEARCH characters; words of punctuation alone are dropped, and a
    search that keeps no word is refused (it would match everything, or nothing, without saying why)."""
    if len(text) > MAX_SEARCH:
        raise Unreadable(
            i18n.gettext("The search text is too long: at most %(max)s characters.")
            % {"max": i18n.current().number(MAX_SEARCH)}
        )
    words = [w for w in text.split() if any(ch.isalnum() for ch in w)]
    if text.strip() and not words:
        raise Unreadable(i18n.gettext("Type letters or numbers to search: punctuation alone finds nothing."))
    return tuple(dict.fromkeys(words))[:MAX_WORDS]


def _year_ce(year: int) -> int:
    return year - BE_OFFSET if year >= 2400 else year  # 2569 is a Buddhist-era year, 2026 a CE one


def day_range(text: str) -> tuple[date, date]:
    """A day, a month or a year as typed in Thai or English, with a Buddhist-era or CE year: `8/12/2569`,
    `2569-12-08`, `12/2569`, `2569`, `2026-12-08`, in Thai digits too. Returns the first and the last day."""
    value = text.strip().translate(_THAI_DIGITS)
    try:
        if _DAY.fullmatch(value):
            y, m, d = value.split("-")
            first = last = date(_year_ce(int(y)), int(m), int(d))
        elif found := _DMY.fullmatch(value):
            first = last = date(_year_ce(int(found[3])), int(found[2]), int(found[1]))
        elif found := _MY.fullmatch(value):
            year, month = _year_ce(int(found[2])), int(found[1])
            first = date(year, month, 1)
            last = date(year, month, calendar.monthrange(year, month)[1])
        elif _YEAR.fullmatch(value):
            year = _year_ce(int(value))
            first, last = date(year, 1, 1), date(year, 12, 31)
        else:
            raise ValueError
    except ValueError:
        raise Unreadable(
            i18n.gettext("Please give a date as day/month/year, e.g. %(example)s, or a month or a year alone.")
            % {"example": f"8/12/{i18n.current().year(2026)}"}
        ) from None
    _in_range(first)
    _in_range(last)
    return first, last
