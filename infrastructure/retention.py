"""The retention period of reporters' contacts, run by a thread of the web process: every interval, the contacts of
reporters all of whose incidents closed more than the configured days ago are erased, each erasure recorded
(application/personal_data.py). Several web processes may run it at once: a reporter's retention erasure has one id."""

from __future__ import annotations

import threading

import structlog

from application.zone import ZoneApplication
from infrastructure.settings import Settings

log = structlog.get_logger()


class RetentionJob:
    def __init__(self, app: ZoneApplication, settings: Settings):
        self.app = app
        self.days = settings.contact_retention_days
        self.interval = settings.contact_retention_check_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    def run_once(self) -> int:
        erased = self.app.erase_expired_contacts(days=self.days)
        self.runs += 1
        if erased:
            log.info("pdpa.retention_erased", reporters=len(erased), days=self.days)
        return len(erased)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as error:  # the next run tries again; a failure never stops the web process
                log.warning("pdpa.retention_failed", error=repr(error))
            self._stop.wait(self.interval)

    def start(self) -> bool:
        """Starts the job when a retention period is configured; False when none is."""
        if self.days <= 0 or self._thread is not None:
            return False
        self._thread = threading.Thread(target=self._loop, name="ssz-contact-retention", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
