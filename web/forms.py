"""Reading submitted forms: every value arrives as text (or garbage); each getter turns it into the type a
command takes, or records a message in the user's language for that field. Nothing is sent to the
application while a form has errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request

from domain.errors import DomainError
from domain.values import GeoPoint
from infrastructure.bootstrap import Container
from web import i18n, parse
from web.deps import container_of

E = TypeVar("E", bound=Enum)
MAX_FIELD = 10_000  # longer than any field the domain accepts; the domain's own limits give the exact message


class Form:
    def __init__(self, data: FormData):
        self.data = data
        self.errors: dict[str, str] = {}

    def raw(self, name: str) -> str:
        value = self.data.get(name)
        return value if isinstance(value, str) else ""

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def refuse(self, error: DomainError) -> None:
        self.errors.setdefault(error.field or "_", i18n.current().error(error))

    def text(self, name: str, *, required: bool = False) -> str:
        value = self.raw(name).strip()
        if len(value) > MAX_FIELD:
            self.fail(name, i18n.gettext("This is far too long."))
        elif required and not value:
            self.fail(name, i18n.gettext("Please fill this in."))
        return value

    def choice(self, name: str, enum: type[E], *, required: bool = True) -> E | None:
        value = self.raw(name).strip()
        if not value and not required:
            return None
        try:
            return enum(value)
        except ValueError:
            self.fail(
                name, i18n.gettext("Please choose one of the options.") if value else i18n.gettext("Please choose one.")
            )
            return None

    def uuid(self, name: str, *, required: bool = True) -> UUID | None:
        value = self.raw(name).strip()
        if not value and not required:
            return None
        try:
            return UUID(value)
        except ValueError:
            self.fail(
                name, i18n.gettext("Please choose one of the options.") if value else i18n.gettext("Please choose one.")
            )
            return None

    def uuids(self, name: str) -> list[UUID]:
        found = []
        for value in self.data.getlist(name):
            try:
                found.append(UUID(str(value)))
            except ValueError:
                self.fail(name, i18n.gettext("Please choose one of the options."))
        return found

    def integer(self, name: str, *, required: bool = True, low: int = 0, high: int = parse.MAX_VERSION) -> int | None:
        value = self.raw(name).strip()
        if not value and not required:
            return None
        try:
            return parse.whole_number(value, low=low, high=high)
        except parse.Unreadable as error:
            self.fail(name, error.message)
            return None

    def version(self) -> int | None:
        """The hidden `expected_version` a page sends with a decision: nobody typed it, so a bad one is told as a
        page to reload, above the form, rather than at a field nobody sees."""
        value = self.raw("expected_version").strip()
        if not value:
            return None
        try:
            return parse.whole_number(value, low=1)
        except parse.Unreadable:
            self.fail(
                "_",
                i18n.gettext("This page was altered or is out of date: reload it and try again. Nothing was saved."),
            )
            return None

    def number(self, name: str) -> float | None:
        value = self.raw(name).strip()
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            self.fail(name, i18n.gettext("Please give a number."))
            return None
        if number != number or number in (float("inf"), float("-inf")):
            self.fail(name, i18n.gettext("Please give a number."))
            return None
        return number

    def instant(self, name: str) -> datetime | None:
        """A `datetime-local` value, meant in Asia/Bangkok; empty means now."""
        value = self.raw(name).strip()
        if not value:
            return None
        try:
            return parse.local_instant(value)
        except parse.Unreadable as error:
            self.fail(name, error.message)
            return None

    def day(self, name: str) -> date | None:
        """A `YYYY-MM-DD` day; empty means none."""
        value = self.raw(name).strip()
        if not value:
            return None
        try:
            return parse.day(value)
        except parse.Unreadable as error:
            self.fail(name, error.message)
            return None

    def position(self, *, required: bool = False) -> GeoPoint | None:
        """A position from the `lat` and `lon` fields: both, or (unless required) neither; a position out of range
        is refused by the domain, at `position`."""
        lat, lon = self.number("lat"), self.number("lon")
        if "lat" in self.errors or "lon" in self.errors:
            return None
        if lat is None and lon is None:
            if required:
                self.fail("lat", i18n.gettext("Please give a number."))
                self.fail("lon", i18n.gettext("Please give a number."))
            return None
        if lat is None or lon is None:
            self.fail(
                "lat" if lat is None else "lon", i18n.gettext("Give both the latitude and the longitude, or neither.")
            )
            return None
        try:
            return GeoPoint(lat, lon)
        except DomainError as error:
            self.refuse(error)
            return None

    def flag(self, name: str) -> bool:
        return self.raw(name) in ("on", "true", "1", "yes")

    @property
    def ok(self) -> bool:
        return not self.errors


READ_YOUR_WRITES_SECONDS = 2.0  # how long a page waits for the read models to show what it just did


async def submit(
    request: Request, command: Callable[[Form], Any], *, passes: tuple[type[DomainError], ...] = ()
) -> tuple[Form, Any]:
    """Reads the submitted form and runs `command` with it (in a worker thread) unless the form already has
    errors. A refusal becomes the message at its field (refusals of the `passes` kinds propagate instead,
    for pages that show them as conflicts); a success is waited for until the read models show it. Returns
    the form and the command's result (None when nothing was done)."""
    form = Form(await request.form())
    result = None
    if form.ok:
        try:
            result = await run_in_threadpool(command, form)
        except passes:
            raise
        except DomainError as error:
            form.refuse(error)
    if not form.ok or result is None:
        return form, None
    notification_id = getattr(result, "notification_id", None)
    if notification_id is None and isinstance(result, tuple):  # (result, what the page says about it)
        notification_id = result[0].notification_id
    await read_your_writes(container_of(request), notification_id)
    return form, result


LATEST = -1


async def read_your_writes(container: Container, notification_id: int | None = LATEST) -> bool:
    """Waits (bounded) until the read models show `notification_id` (LATEST: the log's head now, as after a refusal
    that another person's write caused). The one wait of the pages; the API's is `ReadSide.wait` in its thread."""
    read_side = container.read_side

    def wait() -> bool:
        target = read_side.head() if notification_id == LATEST else notification_id
        return read_side.wait(target, timeout=READ_YOUR_WRITES_SECONDS)

    return await run_in_threadpool(wait)
