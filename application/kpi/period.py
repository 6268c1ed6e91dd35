"""What a figure of the KPI engine is asked for: a period (a month or any range of local dates) and the filters
(community, priority, category, channel, day or night); and the query-string readings of a position and a sector."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from application.kpi.figures import is_night
from application.kpi.marks import AlertFact, IncidentFact, VisitFact
from domain.errors import InvalidInput
from domain.values import BANGKOK, BE_OFFSET, Category, Channel, Community, PartnerSector, Priority

_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # exclusive

    @classmethod
    def month(cls, text: str) -> Period:
        """'2026-05', or the Buddhist-era '2569-05'."""
        found = _MONTH.fullmatch(text.strip()) if isinstance(text, str) else None
        if not found or not 1 <= int(found[2]) <= 12:
            raise InvalidInput("A month is written YYYY-MM, for example 2569-05.", field="month")
        year = int(found[1])
        year = year - BE_OFFSET if year > 2400 else year
        start = date(year, int(found[2]), 1)
        return cls(start, (start + timedelta(days=32)).replace(day=1))

    @classmethod
    def between(cls, first: date, last: date) -> Period:
        if last < first:
            raise InvalidInput("The range ends before it starts.", field="range")
        return cls(first, last + timedelta(days=1))

    @classmethod
    def between_text(cls, first: str, last: str) -> Period:
        try:
            return cls.between(date.fromisoformat(first), date.fromisoformat(last))
        except (TypeError, ValueError):
            raise InvalidInput("A date is written YYYY-MM-DD, for example 2026-05-31.", field="range") from None

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days)]

    @property
    def is_month(self) -> bool:
        return self.start.day == 1 and self.end == (self.start + timedelta(days=32)).replace(day=1)

    @property
    def label(self) -> str:
        return self.start.strftime("%Y-%m") if self.is_month else f"{self.start}..{self.end - timedelta(days=1)}"

    def previous(self) -> Period:
        if self.is_month:
            return Period.month((self.start - timedelta(days=1)).strftime("%Y-%m"))
        return Period(self.start - (self.end - self.start), self.start)

    def instants(self) -> tuple[datetime, datetime]:
        return datetime.combine(self.start, time(0), BANGKOK), datetime.combine(self.end, time(0), BANGKOK)


@dataclass(frozen=True, slots=True)
class Filters:
    community: str | None = None
    priority: str | None = None
    category: str | None = None
    channel: str | None = None
    night: bool | None = None  # None: day and night

    def __post_init__(self) -> None:
        for name, kind in (
            ("community", Community),
            ("priority", Priority),
            ("category", Category),
            ("channel", Channel),
        ):
            value = getattr(self, name)
            if value is not None and value not in {m.value for m in kind}:
                raise InvalidInput("There is no {field} called {value}.", field=name, value=value)

    @classmethod
    def of(
        cls,
        *,
        community: str | None = None,
        priority: str | None = None,
        category: str | None = None,
        channel: str | None = None,
        time: str | None = None,
    ) -> Filters:
        """From a form's text: empty means all; `time` is day, night or empty."""
        if time not in (None, "", "day", "night"):
            raise InvalidInput("There is no {field} called {value}.", field="time", value=time)
        return cls(
            community or None,
            priority or None,
            category or None,
            channel or None,
            None if not time else time == "night",
        )

    def admits_visit(self, visit: VisitFact) -> bool:
        """Community and day/night (the visit's time); priority, category and channel are incidents' only."""
        return (self.community is None or visit.community == self.community) and (
            self.night is None or is_night(visit.at) == self.night
        )

    def admits_alert(self, alert: AlertFact) -> bool:
        """Community (the camera's), day/night (when it was raised), and channel: only the CCTV channel has alerts.
        Priority and category are incidents' only."""
        return (
            (self.community is None or alert.community == self.community)
            and (self.night is None or is_night(alert.raised_at) == self.night)
            and (self.channel is None or self.channel == Channel.CCTV.value)
        )

    def admits(self, fact: IncidentFact) -> bool:
        return (
            (self.community is None or fact.community == self.community)
            and (self.priority is None or fact.priority == self.priority)
            and (self.category is None or fact.category == self.category)
            and (self.channel is None or fact.channel == self.channel)
            and (self.night is None or is_night(fact.reported_at) == self.night)
        )


def position_of(text: str | None) -> int | None:
    """A log position as a query string gives it: empty means the latest."""
    if text is None or not text.strip():
        return None
    if not text.strip().isascii() or not text.strip().isdigit() or len(text.strip()) > 18:
        raise InvalidInput(
            "A position of the log is a whole number, for example 48213; {value} is not.", field="position", value=text
        )
    return int(text.strip())


def sector_of(value: str | None) -> PartnerSector | None:
    if not value:
        return None
    try:
        return PartnerSector(value)
    except ValueError:
        raise InvalidInput("There is no {field} called {value}.", field="sector", value=value) from None
