"""Camera rules as people set them up: a kind, a zone, a schedule in words (all day, night 18–06, custom
hours) and a sensitivity preset (low, normal, high) instead of raw numbers; the numbers can still be given
(the "advanced" part). Pure: turns words into a DetectionRule, or says clearly what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from enum import Enum

from domain.errors import InvalidInput
from domain.values import AlertKind, DetectionRule, Zone

NIGHT_START, NIGHT_END = time(18, 0), time(6, 0)
ADVANCED = "advanced"  # a sensitivity given as numbers rather than a preset


class Schedule(Enum):
    ALL_DAY = "all_day"
    NIGHT = "night"
    CUSTOM = "custom"


class Sensitivity(Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


# (min_score, min_area) per kind and preset: a higher sensitivity alerts on weaker, smaller things.
PRESETS: dict[AlertKind, dict[Sensitivity, tuple[float, float]]] = {
    AlertKind.MOTION_IN_ZONE: {
        Sensitivity.LOW: (0.0, 0.02),
        Sensitivity.NORMAL: (0.0, 0.005),
        Sensitivity.HIGH: (0.0, 0.001),
    },
    AlertKind.PERSON: {
        Sensitivity.LOW: (0.7, 0.01),
        Sensitivity.NORMAL: (0.5, 0.005),
        Sensitivity.HIGH: (0.3, 0.002),
    },
    AlertKind.PERSON_AT_NIGHT: {
        Sensitivity.LOW: (0.7, 0.01),
        Sensitivity.NORMAL: (0.5, 0.005),
        Sensitivity.HIGH: (0.3, 0.002),
    },
    AlertKind.LOITERING: {
        Sensitivity.LOW: (0.0, 0.02),
        Sensitivity.NORMAL: (0.0, 0.005),
        Sensitivity.HIGH: (0.0, 0.001),
    },
}


def _choice(enum: type[Enum], value: str, field: str) -> Enum:
    try:
        return enum(value.strip().lower())
    except ValueError:
        raise InvalidInput(
            "'{value}' is not a {field}; choose one of: {choices}.",
            field=field,
            value=value,
            choices=", ".join(m.value for m in enum),
        ) from None


def _time(value: str, field: str) -> time:
    try:
        return time.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("'{value}' is not a time of day (HH:MM).", field=field, value=value) from None


@dataclass(frozen=True)
class RuleRequest:
    """A rule as a person (form, CLI, JSON) gives it. Numbers given override the preset."""

    kind: str
    zone: str = ""
    schedule: str = "all_day"
    start: str = ""
    end: str = ""
    sensitivity: str = "normal"
    min_score: float | None = None
    min_area: float | None = None
    loiter_seconds: int | None = None

    def to_rule(self) -> DetectionRule:
        kind = _choice(AlertKind, self.kind, "kind")
        if kind not in PRESETS:
            raise InvalidInput("Rules are for detections (motion, person, loitering) only.", field="rules")
        schedule = _choice(Schedule, self.schedule, "schedule")
        # "advanced": the numbers given, the normal preset's for a number not given.
        chosen = "normal" if self.sensitivity in ("", ADVANCED) else self.sensitivity
        sensitivity = _choice(Sensitivity, chosen, "sensitivity")
        if schedule is Schedule.ALL_DAY:
            start = end = time(0, 0)
        elif schedule is Schedule.NIGHT:
            start, end = NIGHT_START, NIGHT_END
        else:
            start, end = _time(self.start, "start"), _time(self.end, "end")
            if end <= start:
                raise InvalidInput(
                    "The schedule ends ({end}) before it starts ({start}): for hours past midnight choose night "
                    "(18:00-06:00) or two rules.",
                    field="end",
                    start=start.strftime("%H:%M"),
                    end=end.strftime("%H:%M"),
                )
        score, area = PRESETS[kind][sensitivity]
        dwell = 0
        if kind is AlertKind.LOITERING and self.loiter_seconds is not None:
            if not 1 <= self.loiter_seconds <= 86400:
                raise InvalidInput("Loitering is after 1 s to one day of presence.", field="loiter_seconds")
            dwell = int(self.loiter_seconds)
        return DetectionRule(
            kind,
            start=start,
            end=end,
            min_score=score if self.min_score is None else float(self.min_score),
            min_area=area if self.min_area is None else float(self.min_area),
            zone=self.zone.strip(),
            dwell=dwell,
        )


def schedule_of(rule: DetectionRule) -> Schedule:
    if rule.start == rule.end:
        return Schedule.ALL_DAY
    if (rule.start, rule.end) == (NIGHT_START, NIGHT_END):
        return Schedule.NIGHT
    return Schedule.CUSTOM


def sensitivity_of(rule: DetectionRule) -> Sensitivity | None:
    """The preset the rule's numbers are, or None (advanced numbers)."""
    for preset, numbers in PRESETS.get(rule.kind, {}).items():
        if numbers == (rule.min_score, rule.min_area):
            return preset
    return None


def describe_rule(rule: DetectionRule) -> RuleRequest:
    """A rule in the words people set it with (the inverse of `RuleRequest.to_rule`): its schedule in words, the
    custom hours only for a custom schedule, its preset or "advanced" with its numbers, its loitering time."""
    schedule = schedule_of(rule)
    custom = schedule is Schedule.CUSTOM
    preset = sensitivity_of(rule)
    return RuleRequest(
        kind=rule.kind.value,
        zone=rule.zone,
        schedule=schedule.value,
        start=rule.start.strftime("%H:%M") if custom else "",
        end=rule.end.strftime("%H:%M") if custom else "",
        sensitivity=preset.value if preset else ADVANCED,
        min_score=rule.min_score,
        min_area=rule.min_area,
        loiter_seconds=rule.dwell or None,
    )


def parse_zone(spec: str) -> Zone:
    """'NAME|THAI NAME|x,y x,y x,y' (relative 0..1 coordinates; the Thai name may be empty)."""
    parts = spec.split("|")
    if len(parts) != 3:
        raise InvalidInput("A zone is 'name|Thai name|x,y x,y x,y', e.g. 'gate|ประตู|0.1,0.1 0.5,0.1 0.5,0.9'.")
    name, name_th, corners = (part.strip() for part in parts)
    try:
        points = tuple((float(x), float(y)) for x, y in (corner.split(",") for corner in corners.split()))
    except ValueError:
        raise InvalidInput(
            "Zone '{zone}': corners are x,y pairs of numbers 0..1, separated by spaces.", zone=name
        ) from None
    return Zone(name, points, name_th=name_th)


def parse_rule(spec: str) -> RuleRequest:
    """'kind=person_at_night zone=gate schedule=night sensitivity=normal' (+ start=, end=, loiter=, min_score=,
    min_area=)."""
    fields: dict[str, str] = {}
    for item in spec.split():
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput("'{item}' is not key=value in the rule '{spec}'.", item=item, spec=spec)
        fields[key.strip().lower()] = value.strip()
    known = {"kind", "zone", "schedule", "start", "end", "sensitivity", "loiter", "min_score", "min_area"}
    if unknown := sorted(set(fields) - known):
        raise InvalidInput("Unknown rule settings: {names}.", names=", ".join(unknown))
    try:
        return RuleRequest(
            kind=fields.get("kind", ""),
            zone=fields.get("zone", ""),
            schedule=fields.get("schedule", "all_day"),
            start=fields.get("start", ""),
            end=fields.get("end", ""),
            sensitivity=fields.get("sensitivity", "normal"),
            min_score=float(fields["min_score"]) if "min_score" in fields else None,
            min_area=float(fields["min_area"]) if "min_area" in fields else None,
            loiter_seconds=int(fields["loiter"]) if "loiter" in fields else None,
        )
    except ValueError:
        raise InvalidInput("min_score, min_area and loiter are numbers in the rule '{spec}'.", spec=spec) from None


def zone_line(zone: Zone) -> str:
    """A zone in the words parse_zone reads."""
    return f"{zone.name} | {zone.name_th} | " + " ".join(f"{x:.3f},{y:.3f}" for x, y in zone.points)
