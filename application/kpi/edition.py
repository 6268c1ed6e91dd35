"""An edition of the KPI figures: the figures of a period and of the one before, as of a position of the log (and
the ledger's checkpoint covering it), and every figure as a flat (name, value) list."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from application.kpi.figures import AlertFigures, IncidentFigures, PatrolFigures, Rate, Summary
from application.kpi.period import Filters, Period


@dataclass(frozen=True, slots=True)
class Figures:
    incidents: IncidentFigures
    by_community: tuple[tuple[str, IncidentFigures], ...]
    by_priority: tuple[tuple[str, IncidentFigures], ...]
    by_category: tuple[tuple[str, IncidentFigures], ...]
    patrol: PatrolFigures
    alerts: AlertFigures


@dataclass(frozen=True, slots=True)
class Change:
    current: float | None
    previous: float | None

    @property
    def delta(self) -> float | None:
        return None if self.current is None or self.previous is None else self.current - self.previous

    @property
    def relative(self) -> float | None:
        return None if self.delta is None or not self.previous else self.delta / self.previous


@dataclass(frozen=True, slots=True)
class Citation:
    """The ledger's signed checkpoint that covers a report's position: anyone with the public key can check that the
    log the report was computed from is the log the checkpoint signed."""

    tree_size: int
    root: str  # base64, as in the checkpoint
    key_id: str  # 8 hex digits: the signing key's id

    def __str__(self) -> str:
        return f"tree_size={self.tree_size} root={self.root} key_id={self.key_id}"

    @classmethod
    def parse(cls, text: str) -> Citation | None:
        parts = dict(part.partition("=")[::2] for part in text.split())
        try:
            return cls(int(parts["tree_size"]), parts["root"], parts["key_id"])
        except (KeyError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class Edition:
    period: Period
    filters: Filters
    position: int
    cut_off: datetime
    figures: Figures
    previous: Figures
    checkpoint: Citation | None = None  # the ledger's signed checkpoint covering `position`

    def month_over_month(self) -> dict[str, Change]:
        before = dict(headline(self.previous))
        return {name: Change(value, before.get(name)) for name, value in headline(self.figures)}


def _values(prefix: str, value: object) -> list[tuple[str, float | None]]:
    if isinstance(value, Summary):
        return [(f"{prefix}.count", value.count), (f"{prefix}.median", value.median), (f"{prefix}.p90", value.p90)]
    if isinstance(value, Rate):
        return [
            (f"{prefix}.numerator", value.numerator),
            (f"{prefix}.denominator", value.denominator),
            (f"{prefix}.rate", value.value),
        ]
    if isinstance(value, int | float) or value is None:
        return [(prefix, value)]
    return []


def incident_headline(prefix: str, figures: IncidentFigures) -> list[tuple[str, float | None]]:
    out: list[tuple[str, float | None]] = []
    for field in fields(figures):
        value = getattr(figures, field.name)
        if field.name == "by_channel":
            out += [(f"{prefix}.channel.{name}", count) for name, count in value]
        else:
            out += _values(f"{prefix}.{field.name}", value)
    return out


def headline(figures: Figures) -> list[tuple[str, float | None]]:
    """Every figure as (name, value), flat and in a fixed order: month over month, verification, the CSV."""
    out = incident_headline("incidents", figures.incidents)
    for group in ("by_community", "by_priority", "by_category"):
        for name, part in getattr(figures, group):
            out += incident_headline(f"{group[3:]}.{name}", part)
    p = figures.patrol
    out += [
        ("patrol.counting", p.counting),
        ("patrol.flagged", p.flagged),
        ("patrol.voided", p.voided),
        ("patrol.box_days", p.box_days),
        ("patrol.visits_per_box_day", p.visits_per_box_day),
        *_values("patrol.night_coverage", p.night_coverage),
    ]
    out += [(f"patrol.longest_night_gap.{g.box_code}", g.longest_gap) for g in p.gaps]
    a = figures.alerts
    out += [(f"alerts.kind.{kind}", count) for kind, count in a.by_kind]
    out += [
        ("alerts.detection", a.detection),
        *_values("alerts.acknowledge", a.acknowledge),
        *_values("alerts.within_60s", a.within_60s),
        *_values("alerts.false_alarm", a.false_alarm),
        *_values("alerts.escalation", a.escalation),
    ]
    for camera in a.by_camera:
        out += [
            (f"alerts.camera.{camera.camera_code}.offline", camera.offline),
            (f"alerts.camera.{camera.camera_code}.tampered", camera.tampered),
        ]
    return out
