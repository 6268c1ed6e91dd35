"""Languages of the web UI: Thai (the default) and English.

Two catalogs, read from their .po files at first use (no compiled .mo files are kept):
``translations/th/LC_MESSAGES/messages.po`` holds the UI's strings and the labels of domain words, and
``errors.po`` the domain errors' templates. English is the identity: every msgid is English.

A `Translator` per locale formats everything a page shows — strings, labels of enums, field names, domain
errors, instants (always in Asia/Bangkok; Buddhist-era years in Thai), durations and numbers (the msgids of
labels, field names and durations are in web/i18n_labels.py). The request's locale lives in a context variable:
`use_locale(locale)` sets it, `current()` returns its translator, and the module-level `gettext` / `ngettext` /
`pgettext` / `npgettext` use it, so that Jinja2's i18n extension can be installed with
``env.install_gettext_callables(gettext, ngettext, newstyle=True)``.

Catalogs are re-extracted and updated with ``python -m web.i18n_tools update`` (see babel.cfg).
"""

from __future__ import annotations

import gettext as _gettext
import io
import re
from contextvars import ContextVar
from datetime import UTC, timedelta
from datetime import date as Date
from datetime import datetime as DateTime
from datetime import time as Time
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import get_month_names
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from domain.errors import DomainError
from domain.values import BANGKOK, BE_OFFSET, COMMUNITY_NAMES_EN, COMMUNITY_NAMES_TH, Community
from web.i18n_labels import (
    DURATION_CONTEXT,
    DURATION_DAYS,
    DURATION_DAYS_HOURS,
    DURATION_HOURS,
    DURATION_HOURS_MINUTES,
    DURATION_MINUTES,
    DURATION_SECONDS,
    FIELD_CONTEXT,
    FIELDS,
    LABELS,
)
from web.i18n_labels import N_ as N_  # pages mark their own strings with it

LOCALES = ("th", "en")
DEFAULT_LOCALE = "th"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DOMAINS = ("messages", "errors")


# --- catalogs --------------------------------------------------------------------------------------------
def po_path(locale: str, domain: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / f"{domain}.po"


@cache
def load_catalog(locale: str, domain: str) -> Catalog | None:
    """The catalog of a locale and domain as read from its .po file; None when there is none (English)."""
    path = po_path(locale, domain)
    if not path.exists():
        return None
    with path.open("rb") as f:
        return read_po(f, locale=locale, domain=domain)


def translations_from(catalog: Catalog | None) -> _gettext.NullTranslations:
    """gettext translations built in memory from a catalog; fuzzy and empty entries are left out."""
    if catalog is None:
        return _gettext.NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def _error_templates(catalog: Catalog | None) -> dict[str, str]:
    if catalog is None:
        return {}
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


# --- the translator --------------------------------------------------------------------------------------
def _supported(tag: str | None) -> str | None:
    """The supported locale a language tag names (``th``, ``th-TH``, ``en_GB`` …), or None."""
    if not tag:
        return None
    language = tag.strip().replace("_", "-").split("-")[0].lower()
    return language if language in LOCALES else None


def _bangkok(instant: DateTime) -> DateTime:
    if instant.tzinfo is None:  # read models hold UTC instants; a naive one is taken as UTC
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(BANGKOK)


class Translator:
    """Everything a page shows, in one language."""

    def __init__(self, locale: str):
        if locale not in LOCALES:
            raise ValueError(f"Unsupported locale {locale!r}; supported: {', '.join(LOCALES)}")
        self.locale = locale
        self.thai = locale == "th"
        self._messages = translations_from(load_catalog(locale, "messages"))
        self._errors = _error_templates(load_catalog(locale, "errors"))
        self._months_abbr = dict(get_month_names("abbreviated", locale=locale))
        self._months_wide = dict(get_month_names("wide", context="stand-alone", locale=locale))

    def __repr__(self) -> str:
        return f"Translator({self.locale!r})"

    # strings
    def gettext(self, message: str) -> str:
        return self._messages.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._messages.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self._messages.pgettext(context, message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self._messages.npgettext(context, singular, plural, n)

    # domain words
    def label(self, member: Enum) -> str:
        """The human label of an enum member of the domain (priority, category, status, role, …)."""
        if isinstance(member, Community):
            return COMMUNITY_NAMES_TH[member] if self.thai else COMMUNITY_NAMES_EN[member]
        msgid = LABELS.get(member)
        if msgid is None:
            return str(member.value).replace("_", " ")
        return self.pgettext(type(member).__name__, msgid)

    def label_value(self, enum_cls: type[Enum], value: Any) -> str:
        """The label of a value as a read-model row holds it (the enum's value as a string);
        a value the enum does not know is shown as it is."""
        if value is None or value == "":
            return ""
        if isinstance(value, enum_cls):
            return self.label(value)
        try:
            return self.label(enum_cls(value))
        except ValueError:
            return str(value)

    def choices(self, enum_cls: type[Enum]) -> list[tuple[str, str]]:
        """(value, label) of every member, in declaration order: the options of a <select>."""
        return [(str(member.value), self.label(member)) for member in enum_cls]

    def field(self, name: str) -> str:
        """The name of an input field, as a form labels it and as an error names it."""
        msgid = FIELDS.get(name)
        if msgid is None:
            return name.replace("_", " ")
        return self.pgettext(FIELD_CONTEXT, msgid)

    def error(self, error: DomainError) -> str:
        """A domain error's sentence in this language. English is the error's own message; Thai looks the
        template up in the errors catalog and formats the parameters: enums by their labels, the field by
        its name, other errors by their translations, instants and numbers as this translator writes them.
        A template missing from the catalog falls back to the English message."""
        if not self.thai:
            return error.message
        template = self._errors.get(error.template)
        if template is None:
            return error.message
        values = {name: self._param(value) for name, value in error.params.items()}
        if error.field is not None:
            values.setdefault("field", self.field(error.field))
        try:
            return template.format_map(values)
        except (KeyError, IndexError, ValueError, AttributeError):
            return error.message

    def _param(self, value: Any) -> Any:
        if isinstance(value, Enum):
            return self.label(value)
        if isinstance(value, DomainError):
            return self.error(value)
        if isinstance(value, DateTime):
            return self.datetime(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return self.number(value)
        return value

    # instants, durations, numbers
    def _year(self, year: int) -> int:
        return year + BE_OFFSET if self.thai else year

    def year(self, year: int) -> int:
        """A year of the common era as this language counts it (Buddhist era in Thai)."""
        return self._year(year)

    def date(self, day: Date | DateTime) -> str:
        """``25 พ.ย. 2569`` / ``25 Nov 2026``; an instant is first taken to Bangkok."""
        if isinstance(day, DateTime):
            day = _bangkok(day).date()
        return f"{day.day} {self._months_abbr[day.month]} {self._year(day.year)}"

    def time(self, instant: DateTime | Time) -> str:
        """``14:05 น.`` / ``14:05``; an instant is first taken to Bangkok."""
        if isinstance(instant, DateTime):
            instant = _bangkok(instant).time()
        clock = f"{instant.hour:02d}:{instant.minute:02d}"
        return f"{clock} น." if self.thai else clock

    def datetime(self, instant: DateTime) -> str:
        """``25 พ.ย. 2569, 14:05 น.`` / ``25 Nov 2026, 14:05``, in Asia/Bangkok."""
        local = _bangkok(instant)
        return f"{self.date(local.date())}, {self.time(local.time())}"

    def datetime_to_the_second(self, instant: DateTime) -> str:
        """``25 พ.ย. 2569, 14:05:09 น.`` / ``25 Nov 2026, 14:05:09``, in Asia/Bangkok (timelines)."""
        local = _bangkok(instant)
        clock = f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
        return f"{self.date(local.date())}, {clock} น." if self.thai else f"{self.date(local.date())}, {clock}"

    def month(self, year: int, month: int) -> str:
        """``พฤศจิกายน 2569`` / ``November 2026`` (the year given in CE)."""
        return f"{self._months_wide[month]} {self._year(year)}"

    def duration(self, seconds: float | timedelta) -> str:
        """An age or a span, rounded down: ``45 วินาที``, ``4 นาที``, ``1 ชม. 20 นาที``, ``2 วัน 3 ชม.`` /
        ``45 s``, ``4 min``, ``1 h 20 min``, ``2 d 3 h``. Negative spans read as zero."""
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        total = max(0, int(seconds))
        days, rest = divmod(total, 86_400)
        hours, rest = divmod(rest, 3_600)
        minutes, secs = divmod(rest, 60)
        n = self.number
        if days:
            template = DURATION_DAYS_HOURS if hours else DURATION_DAYS
        elif hours:
            template = DURATION_HOURS_MINUTES if minutes else DURATION_HOURS
        elif minutes:
            template = DURATION_MINUTES
        else:
            template = DURATION_SECONDS
        return self.pgettext(DURATION_CONTEXT, template).format(
            days=n(days), hours=n(hours), minutes=n(minutes), seconds=n(secs)
        )

    def number(self, n: float, decimals: int | None = None) -> str:
        """``1,234,567`` (commas group thousands in both languages); `decimals` fixes the decimal places."""
        if decimals is None:
            return format_decimal(n, locale=self.locale)
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        return format_decimal(n, format=pattern, locale=self.locale)


@cache
def _translator(locale: str) -> Translator:
    return Translator(locale)


def translator(locale: str | None = None) -> Translator:
    """The translator of a locale (``th``, ``en``, or a tag such as ``en-GB``); unknown ones get the default."""
    return _translator(_supported(locale) or DEFAULT_LOCALE)


# --- the request's locale --------------------------------------------------------------------------------
_LOCALE: ContextVar[str] = ContextVar("ssz_locale", default=DEFAULT_LOCALE)


class use_locale:  # noqa: N801 — used like a function
    """Sets the locale of the current context (a request, a task). Used as a context manager, it puts
    the previous locale back on exit: ``with use_locale("en") as t: ...``."""

    def __init__(self, locale: str | None):
        self.translator = translator(locale)
        self._token = _LOCALE.set(self.translator.locale)

    def __enter__(self) -> Translator:
        return self.translator

    def __exit__(self, *exc: object) -> None:
        _LOCALE.reset(self._token)


def current() -> Translator:
    """The translator of the current context's locale (Thai unless `use_locale` said otherwise)."""
    return translator(_LOCALE.get())


def current_locale() -> str:
    return _LOCALE.get()


def gettext(message: str) -> str:
    return current().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return current().ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return current().pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return current().npgettext(context, singular, plural, n)


_ = gettext


def negotiate(cookie_value: str | None, accept_language: str | None) -> str:
    """The locale of a request: the language cookie when it names a supported locale, else the best
    supported language of Accept-Language (by q-value, then order), else Thai."""
    chosen = _supported(cookie_value)
    if chosen:
        return chosen
    best, best_q = None, 0.0
    for part in (accept_language or "").split(","):
        tag, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            key, _sep, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        locale = _supported(tag)
        if locale and q > best_q:
            best, best_q = locale, q
    return best or DEFAULT_LOCALE


def install_jinja(env: Any) -> None:
    """Installs the i18n extension's callables (new style) on a Jinja2 environment that has
    ``jinja2.ext.i18n`` among its extensions."""
    env.install_gettext_callables(gettext, ngettext, newstyle=True, pgettext=pgettext, npgettext=npgettext)


_PLACEHOLDER = re.compile(
    r"\{([A-Za-z_][A-Za-z0-9_]*)[^{}]*\}"  # {name}, {name:spec}
    r"|%\(([A-Za-z_][A-Za-z0-9_]*)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"  # %(name)s, %(num)d
)


def placeholders(text: str) -> set[str]:
    """The named placeholders of a msgid or msgstr: ``{name}`` (error templates, durations) and
    ``%(name)s`` (the UI's strings, formatted by Jinja2's new-style gettext)."""
    return {a or b for a, b in _PLACEHOLDER.findall(text)}
