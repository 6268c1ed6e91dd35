"""Intakes from integrations while the database restarts and goes away: keyed senders retry with the same
Idempotency-Key until they are answered (as the national police app's SOS button does); keyless senders send once.
Every request carries a marker of its own in its description, so that the database can be checked afterwards
against what each sender was told."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx

from testkit.api import Integration

RETRY_PAUSE = 0.2  # a sender's pause after a failed attempt (a real client backs off too)
CLIENT_TIMEOUT = 30.0


@dataclass
class Attempt:
    started: float  # time.monotonic()
    seconds: float
    status: int | None  # None: no answer (connection refused or reset, time-out)
    error: str = ""


@dataclass
class Sent:
    marker: str
    keyed: bool
    attempts: list[Attempt] = field(default_factory=list)
    reference: str | None = None  # from the answer that acknowledged it

    @property
    def acknowledged(self) -> bool:
        return self.reference is not None

    @property
    def replayed_first_time(self) -> bool:
        """A keyed report answered 200 ("a retry: already done") on its first attempt: the server took its own
        retry of the first attempt for the client's."""
        return self.keyed and len(self.attempts) == 1 and self.attempts[0].status == 200


class IntakeLoad:
    def __init__(
        self, integrations: list[Integration], *, keyed_senders: int, keyless_senders: int, give_up_after: float = 120
    ):
        self.integrations = integrations
        self.senders = [True] * keyed_senders + [False] * keyless_senders
        self.sent: list[Sent] = []
        self.stop = threading.Event()
        self.give_up_after = give_up_after
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.probes: list[Sent] = []  # one attempt each, sent while the database was down
        self.readiness: list[Attempt] = []  # /readyz asked while the database was down

    def start(self) -> None:
        for n, keyed in enumerate(self.senders):
            thread = threading.Thread(target=self._send_until_stopped, args=(n, keyed), name=f"intake-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=self.give_up_after + CLIENT_TIMEOUT + 10)

    def _send_until_stopped(self, n: int, keyed: bool) -> None:
        while not self.stop.is_set():
            sent = Sent(marker=f"fault-load/{uuid.uuid4().hex}", keyed=keyed)
            with self._lock:
                self.sent.append(sent)
            self._deliver(sent, n)

    def _deliver(self, sent: Sent, n: int) -> None:
        """Keyed: until acknowledged or refused (a 4xx other than 429), alternating servers; keyless: once."""
        deadline = None
        for attempt in itertools.count():
            integration = self.integrations[(n + attempt) % len(self.integrations)]
            answer = self._attempt(sent, integration)
            if answer is not None and 200 <= answer.status_code < 300:
                sent.reference = answer.json()["reference"]
                return
            if not sent.keyed or (answer is not None and 400 <= answer.status_code < 500 and answer.status_code != 429):
                if not sent.keyed:
                    time.sleep(RETRY_PAUSE if answer is None or answer.status_code >= 500 else 0)
                return
            deadline = deadline or time.monotonic() + self.give_up_after
            if self.stop.is_set() and time.monotonic() > deadline:
                return
            time.sleep(RETRY_PAUSE)

    def _attempt(self, sent: Sent, integration: Integration) -> httpx.Response | None:
        description = f"SOS pressed; the caller is followed. [{sent.marker}]"
        started = time.monotonic()
        try:
            answer = integration.report(idempotency_key=sent.marker if sent.keyed else None, description=description)
        except httpx.HTTPError as error:
            sent.attempts.append(Attempt(started, time.monotonic() - started, None, type(error).__name__))
            return None
        sent.attempts.append(Attempt(started, time.monotonic() - started, answer.status_code))
        return answer

    def probe(self, seconds: float, interval: float = 0.25) -> None:
        """While the database is down: every `interval`, a new client (a thread of its own, so that no probe waits
        behind another) sends one keyed intake and, alternately, asks `/readyz`; each is timed to its answer."""
        deadline, n = time.monotonic() + seconds, 0
        while time.monotonic() < deadline:
            thread = threading.Thread(target=self._probe_once, args=(n,), name=f"probe-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
            n += 1
            time.sleep(interval)

    def _probe_once(self, n: int) -> None:
        integration = self.integrations[n % len(self.integrations)]
        if n % 2:
            started = time.monotonic()
            try:
                status: int | None = integration.http.get("/readyz").status_code
            except httpx.HTTPError:
                status = None
            with self._lock:
                self.readiness.append(Attempt(started, time.monotonic() - started, status))
            return
        sent = Sent(marker=f"fault-load/{uuid.uuid4().hex}", keyed=True)
        with self._lock:
            self.sent.append(sent)
            self.probes.append(sent)
        answer = self._attempt(sent, integration)
        if answer is not None and 200 <= answer.status_code < 300:
            sent.reference = answer.json()["reference"]
