"""The cameras' health as Prometheus text, read from the lease rows their workers write."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, and_, func, select

from infrastructure.tables import camera_leases, camera_workers
from infrastructure.vision.camera_runner import STREAMING
from infrastructure.vision.lease_store import LEASE_SECONDS, as_utc, db_now


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def camera_metrics(engine: Engine) -> list[str]:
    """Prometheus text lines of each camera's health as its worker last wrote it (retired cameras left out)."""
    with engine.connect() as conn:
        now = db_now(conn)
        rows = conn.execute(
            select(camera_leases).where(camera_leases.c.retired.is_(False)).order_by(camera_leases.c.code)
        ).all()
        live = conn.execute(
            select(func.count())
            .select_from(camera_workers)
            .where(and_(camera_workers.c.heartbeat_at > now - timedelta(seconds=LEASE_SECONDS)))
        ).scalar_one()
    families: list[tuple[str, str, str, list[tuple[str, float]]]] = [
        ("ssz_camera_up", "gauge", "1 when the camera's worker holds its lease and frames are arriving.", []),
        ("ssz_camera_fps", "gauge", "Frames per second the camera's worker receives.", []),
        ("ssz_camera_last_frame_age_seconds", "gauge", "Seconds since the camera's last frame.", []),
        ("ssz_camera_reconnects_total", "counter", "Times the camera's source was reopened after a break.", []),
    ]
    for row in rows:
        expires = as_utc(row.lease_expires_at)
        held = row.owner is not None and expires is not None and expires > now
        families[0][3].append((row.code, 1.0 if held and row.status == STREAMING else 0.0))
        families[1][3].append((row.code, row.fps if held else 0.0))
        last = as_utc(row.last_frame_at)
        if last is not None:
            families[2][3].append((row.code, round(max(0.0, (now - last).total_seconds()), 3)))
        families[3][3].append((row.code, float(row.reconnects)))
    lines: list[str] = []
    for name, kind, help_text, samples in families:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        lines += [f'{name}{{camera="{_label(code)}"}} {_number(value)}' for code, value in samples]
    lines += [
        "# HELP ssz_camera_workers Camera workers with a recent heartbeat.",
        "# TYPE ssz_camera_workers gauge",
        f"ssz_camera_workers {live}",
    ]
    return lines
