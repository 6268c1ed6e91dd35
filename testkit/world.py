"""A small zone to act in: an administrator, a dispatcher, an officer, a supervisor and units on duty."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.zone import ZoneApplication
from domain.values import SYSTEM_USER_ID, Category, Channel, Community, Priority, Role, UnitKind

PASSWORD = "a-long-enough-password"


@dataclass
class World:
    app: ZoneApplication
    admin: UUID
    dispatcher: UUID
    officer: UUID
    supervisor: UUID
    units: list[UUID]

    def report(self, **overrides) -> UUID:
        fields = dict(
            channel=Channel.PHONE_191,
            category=Category.THEFT,
            priority=Priority.P2,
            community=Community.KO_LOI,
            location="Soi 3, near the market",
            description="A bag was snatched from a woman walking home.",
            by=self.dispatcher,
        )
        fields.update(overrides)
        return self.app.report_incident(**fields).id

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0


def build_world(app: ZoneApplication, units: int = 2) -> World:
    def user(name: str, role: Role) -> UUID:
        return app.create_user(
            username=name, display_name=name.title(), role=role, password=PASSWORD, by=SYSTEM_USER_ID
        ).id

    admin = user("admin", Role.ADMIN)
    world = World(
        app,
        admin,
        user("dispatcher", Role.DISPATCHER),
        user("officer", Role.OFFICER),
        user("supervisor", Role.SUPERVISOR),
        [],
    )
    for n in range(units):
        unit = app.register_unit(call_sign=f"M-{n + 1:02d}", kind=UnitKind.MOTORCYCLE, by=admin).id
        app.unit_on_duty(unit, officer_ids=[world.officer], by=world.supervisor)
        world.units.append(unit)
    return world
