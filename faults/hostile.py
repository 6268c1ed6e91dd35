"""Hostile forms, sent by a signed-in dispatcher: odd charsets and lone surrogates in multipart parts, out-of-range
dates, digits that are not ASCII ('²'), duplicate and unknown unit ids, huge fields. Each must be answered without a
5xx; a refused one (4xx) must store nothing. A bad form must fail alone: integrations' intakes sent at the same
time must not fail with it."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx

from testkit.api import INCIDENT, Integration

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
GOOD_REPORT = {
    "channel": "phone_191",
    "category": "theft",
    "priority": "P2",
    "community": "ko_loi",
    "location": "Soi 3, near the market",
    "description": "A bag was snatched.",
}


@dataclass
class HostileLog:
    answers: list[tuple[str, int, int]] = field(default_factory=list)  # (what, status, events stored by it)
    beside_forms: list[int] = field(default_factory=list)  # bad forms sent among integrations' intakes: their answers
    intake_answers: list[int] = field(default_factory=list)  # those intakes' answers

    @property
    def server_errors(self) -> int:
        return sum(1 for _, status, _ in self.answers if status >= 500 or status == 0) + sum(
            1 for status in [*self.beside_forms, *self.intake_answers] if status >= 500 or status == 0
        )

    @property
    def refused_but_stored(self) -> list[tuple[str, int, int]]:
        return [a for a in self.answers if 400 <= a[1] < 500 and a[2] > 0]


class Browser:
    """A dispatcher's browser session: the session cookie, and the CSRF token that goes with its seed cookie."""

    def __init__(self, base_url: str, username: str, password: str):
        self.http = httpx.Client(base_url=base_url, timeout=60, follow_redirects=False)
        page = self.http.get("/login")
        token = TOKEN.search(page.text)
        assert token, f"no CSRF token on the sign-in page ({page.status_code})"
        self.token = token.group(1)
        signed_in = self.http.post(
            "/login", data={"username": username, "password": password, "csrf_token": self.token}
        )
        assert signed_in.status_code == 303, f"sign-in refused: {signed_in.status_code}"

    def post(self, path: str, *, headers: dict[str, str] | None = None, **kwargs) -> httpx.Response:
        return self.http.post(path, headers={"x-csrf-token": self.token, **(headers or {})}, **kwargs)


BOUNDARY = "ssz-faults-7f3c9b2e"


def multipart(fields: dict[str, bytes], charset: str) -> tuple[bytes, dict[str, str]]:
    """A multipart form whose Content-Type names `charset`: the server decodes every part's text with it."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"
        for name, value in fields.items()
    ]
    body = b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={BOUNDARY}; charset={charset}"}


def _multipart_reports() -> list[tuple[str, bytes, dict[str, str]]]:
    plain = {k: v.encode() for k, v in GOOD_REPORT.items()}
    odd = [
        ("unicode_escape with a lone surrogate", b"help \\ud800 now", "unicode_escape"),
        ("unicode_escape, Thai", b"help \\u0e01 now", "unicode_escape"),
        ("raw_unicode_escape with a lone surrogate", b"help \\udfff now", "raw_unicode_escape"),
        ("utf-16 with a lone surrogate", "help".encode("utf-16-le") + b"\x00\xd8", "utf-16-le"),
        ("utf-8 that is not", b"\xff\xfe\xc3\x28", "utf-8"),
        ("an unknown charset", b"hello", "no-such-charset"),
        ("cp874 Thai", "ช่วยด้วย".encode("cp874"), "cp874"),
        ("rot13", b"uryc", "rot13"),
        ("zlib", b"not compressed", "zlib_codec"),
        ("base64", b"!!!", "base64"),
        ("hex", b"zz", "hex"),
    ]
    return [
        (f"report form as multipart, {what}", *multipart({**plain, "description": raw}, charset))
        for what, raw, charset in odd
    ]


def _report_fields() -> list[tuple[str, dict[str, str]]]:
    cases = {
        "occurred_at year 1": {"occurred_at": "0001-01-01T00:00"},
        "occurred_at year 9999": {"occurred_at": "9999-12-31T23:59"},
        "occurred_at ²": {"occurred_at": "²"},
        "occurred_at with offset": {"occurred_at": "2026-01-01T00:00+14:00"},
        "lat ²": {"lat": "²", "lon": "99.8"},
        "lat inf": {"lat": "inf", "lon": "nan"},
        "lat 1e309": {"lat": "1e309", "lon": "1"},
        "NUL in location": {"location": "Soi\x003"},
        "lone surrogate text": {"location": "\ud800"},
        "huge description": {"description": "ข" * 1_000_000},
        "huge location": {"location": "x" * 100_000},
        "unknown channel": {"channel": "carrier_pigeon"},
        "idempotency key huge": {"idempotency_key": "k" * 10_000},
    }
    return [(f"report form, {what}", {**GOOD_REPORT, **fields}) for what, fields in cases.items()]


def run_hostile(
    browser: Browser,
    api: Integration,
    stored: Callable[[], int],
    reported: Callable[[], str],
    unit_ids: list[uuid.UUID],
) -> HostileLog:
    log = HostileLog()

    def send(what: str, request: Callable[[], httpx.Response]) -> None:
        before = stored()
        try:
            status = request().status_code
        except httpx.HTTPError:
            status = 0
        log.answers.append((what, status, stored() - before))

    for what, body, headers in _multipart_reports():
        send(what, lambda body=body, headers=headers: browser.post("/incidents", content=body, headers=headers))
    for what, data in _report_fields():
        # Encoded by hand: a lone surrogate cannot be sent as text, only as the bytes a careless client makes of it.
        body = "&".join(f"{k}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in data.items()).encode()
        send(
            what,
            lambda body=body: browser.post(
                "/incidents", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
            ),
        )
    send(
        "report form, 20,000 fields",
        lambda: browser.post("/incidents", data={**GOOD_REPORT, **{f"f{n}": "x" for n in range(20_000)}}),
    )
    for query in (
        {"to": "9999-12-31"},
        {"from": "0001-01-01"},
        {"page": "²"},
        {"page": "9" * 30},
        {"page": "-1"},
        {"to": "2026-02-30"},
        {"status": "\ud800"},
        {"ref": "x" * 10_000},
    ):
        ((name, value),) = query.items()
        url = f"/incidents?{name}={quote(value.encode('utf-8', 'surrogatepass'))}"
        send(f"incident list, {name}={value[:20]!r}", lambda url=url: browser.http.get(url))

    intake = json.dumps({k: v for k, v in INCIDENT.items() if k != "description"})[:-1]
    for what, raw in (
        ("a lone surrogate", '"\\ud800"'),
        ("a 2 MB description", json.dumps("x" * 2_000_000)),
        ("a NUL", '"help\\u0000"'),
        ("deep nesting", "[" * 10_000 + "]" * 10_000),
    ):
        body = f'{intake}, "description": {raw}}}'.encode()
        send(
            f"API intake, description as {what}",
            lambda body=body: api.http.post(
                "/api/v1/incidents", content=body, headers={"content-type": "application/json"}
            ),
        )
    reference = reported()
    for version in ("1e309", "1.0", "-1", "1" * 20, '"²"', "NaN"):
        body = f'{{"call_sign": "M-01", "expected_version": {version}}}'.encode()
        send(
            f"API dispatch, expected_version {version}",
            lambda body=body: api.http.post(
                f"/api/v1/incidents/{reference}/dispatch", content=body, headers={"content-type": "application/json"}
            ),
        )
    api.resolve(reference)

    first, second = unit_ids[0], unit_ids[1]
    for version in ("²", "-1", "1" * 20, "1.5", "0x10", " 1"):
        reference = reported()
        send(
            f"dispatch form, expected_version={version!r}",
            lambda reference=reference, version=version: browser.post(
                f"/incidents/{reference}/dispatch", data={"unit_id": str(first), "expected_version": version}
            ),
        )
        browser.post(f"/incidents/{reference}/resolve", data={"outcome": "warning_given", "summary": "Done."})
    for what, units in (
        ("a known and an unknown unit", [first, uuid.uuid4()]),
        ("one unit twice", [second, second]),
        ("a known unit and garbage", [first, "not-a-unit"]),
    ):
        reference = reported()
        send(
            f"dispatch form, {what}",
            lambda reference=reference, units=units: browser.post(
                f"/incidents/{reference}/dispatch", data={"unit_id": [str(u) for u in units]}
            ),
        )
        browser.post(f"/incidents/{reference}/resolve", data={"outcome": "warning_given", "summary": "Done."})
    return log


def bad_forms_beside_intakes(browser: Browser, integration: Integration, intakes: int, log: HostileLog) -> None:
    """Integrations' intakes sent while bad multipart forms arrive: each intake must be answered on its own merits."""
    body, headers = multipart(
        {**{k: v.encode() for k, v in GOOD_REPORT.items()}, "description": b"help \\ud800 now"}, "unicode_escape"
    )
    barrier = threading.Barrier(9)

    def intake_sender(share: int) -> None:
        barrier.wait()
        for _ in range(share):
            try:
                log.intake_answers.append(integration.report().status_code)
            except httpx.HTTPError:
                log.intake_answers.append(0)

    def bad_sender() -> None:
        barrier.wait()
        for _ in range(intakes // 4):
            try:
                log.beside_forms.append(browser.post("/incidents", content=body, headers=headers).status_code)
            except httpx.HTTPError:
                log.beside_forms.append(0)

    threads = [threading.Thread(target=intake_sender, args=(intakes // 8,)) for _ in range(8)]
    threads.append(threading.Thread(target=bad_sender))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
