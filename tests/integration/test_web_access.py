"""The authorization matrix, generated from the app's own route table: every route must declare who may use
it, and every role gets exactly that — for every route, for every role, and for a stranger."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from application.ports import Contact
from domain.incident import Incident
from domain.personal_data import ErasureChannel, ErasureRequester, LegalBasis
from domain.values import BANGKOK, SYSTEM_USER_ID, AlertKind, Community, GeoPoint, PartnerSector, Role
from infrastructure.api_keys import Scope, issue_key
from infrastructure.bootstrap import bootstrap
from infrastructure.readmodels.ledger import take_checkpoint
from infrastructure.settings import Settings
from tests.integration.conftest import build_world
from tests.integration.web_support import browser, head, signed_in
from web.access import SESSION_COOKIE, ApiGuard, Guard
from web.app import create_app

PEOPLE = [r for r in Role if r is not Role.SYSTEM]
PUBLIC_API_PAGES = {"/api/v1/docs"}  # the API's documentation: a page for people, open like openapi.json
# Endless responses: their rule is checked, and they are opened in the browser tests.
STREAMS = {"/board/stream", "/my/stream"}


def guard_of(route: APIRoute) -> Guard | ApiGuard | None:
    """A page's rule (`Guard`: a session's role) or an API route's (`ApiGuard`: a key's scope and its account's role)."""

    def walk(dependant) -> Iterator[object]:  # noqa: ANN001
        for dependency in dependant.dependencies:
            yield dependency.call
            yield from walk(dependency)

    return next((call for call in walk(route.dependant) if isinstance(call, (Guard, ApiGuard))), None)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    container = bootstrap(
        Settings(environment="test", data_dir=tmp_path_factory.mktemp("access"), api_rate_burst=10_000)
    )
    world = build_world(container.app)
    people = {
        Role.ADMIN: world.admin,
        Role.DISPATCHER: world.dispatcher,
        Role.OFFICER: world.officer,
        Role.SUPERVISOR: world.supervisor,
    }
    for role in (Role.AUDITOR, Role.PARTNER):
        people[role] = container.app.create_user(
            username=role.value,
            display_name=role.value,
            role=role,
            password="a-long-enough-password",
            by=SYSTEM_USER_ID,
        ).id
    incident = world.report()
    camera = container.app.register_camera(
        code="CAM-01",
        name="Gate",
        community=Community.KO_LOI,
        owner=PartnerSector.POLICE,
        owner_name="Station",
        consent_reference="-",
        source="rtsp://cam1",
        by=world.admin,
    ).id
    alert = container.app.raise_camera_alert(
        camera_id=camera,
        kind=AlertKind.MOTION_IN_ZONE,
        score=0.5,
        snapshot_digest="0" * 64,
        frame_at=datetime.now(UTC),
    ).id
    box = container.app.register_red_box(
        code="RB-01",
        name_th="ตู้แดง 1",
        name_en="Red box 1",
        community=Community.KO_LOI,
        position=GeoPoint(19.9094, 99.8322),
        by=world.admin,
    ).id
    visit = container.app.log_patrol_visit(box_id=box, token_version=1, by=world.officer).id
    world.report(contact=Contact("Malee", "081 234 5678"))  # a reporter whose erasure an administrator may decide
    pdpa_request = container.app.receive_erasure_request(
        request_reference="PDPA-2569/001",
        requester=ErasureRequester.DATA_SUBJECT,
        channel=ErasureChannel.LETTER,
        legal_basis=LegalBasis.PDPA_ERASURE,
        phone="081 234 5678",
        by=world.admin,
    ).id
    container.projections.catch_up()
    take_checkpoint(container.engine, container.projections.by_name["ledger"])  # the ledger's pages show one
    app = create_app(container)
    reference = container.reads.incident(incident)["reference"]
    samples = {
        "reference": reference,
        "unit_id": str(world.units[0]),
        "user_id": str(world.officer),
        "alert_id": str(alert),
        "camera_id": str(camera),
    }
    samples["key_id"] = str(UUID(int=1))  # an API key, for the administrator's revoke form
    samples.update(code="RB-01", visit_id=str(visit))  # a red box, and a patrol visit to it
    samples["month"] = datetime.now(UTC).astimezone(BANGKOK).strftime("%Y-%m")  # a report's month
    samples.update(aggregate_id=str(incident), fmt="csv")  # the auditor's history of an aggregate, an export
    samples["request_id"] = str(pdpa_request)  # a PDPA erasure request
    samples["handover_id"] = str(UUID(int=2))  # a handover that does not exist: its pages answer 404
    samples.update(number="1", file="en.csv")  # a published edition's file (none yet: 404 for those allowed)
    yield app, container, people, samples
    container.close()


def routes(app) -> list[APIRoute]:  # noqa: ANN001
    """Every route of the app, including those of included routers, each with the path it is served at."""
    found = []
    for context in iter_route_contexts(app.routes):  # FastAPI keeps an included router as one entry
        route = context.original_route
        if isinstance(route, APIRoute):
            if context.path != route.path:  # under a router's prefix (the JSON API's /api/v1)
                route = copy.copy(route)
                route.path = context.path
            found.append(route)
    return found


def test_every_route_declares_who_may_use_it(site: tuple) -> None:
    app = site[0]
    missing = [f"{sorted(r.methods)} {r.path}" for r in routes(app) if guard_of(r) is None]
    assert not missing, "routes without an access rule (add a Guard dependency): " + ", ".join(missing)


def test_the_matrix_covers_the_pages_people_use(site: tuple) -> None:
    paths = {r.path for r in routes(site[0])}
    assert {"/board", "/incidents", "/incidents/{reference}", "/units", "/admin/users", "/login"} <= paths
    assert {
        "/kpi",
        "/kpi/drill",
        "/reports",
        "/reports/{month}",
        "/reports/{month}/csv",
        "/reports/{month}/pdf",
        "/reports/{month}/publish",
        "/reports/{month}/editions/{number}/{file}",
        "/ledger/checkpoint",
        "/ledger/checkpoints",
    } <= paths
    assert {
        "/incidents/{reference}/contact",
        "/search/phone",
        "/audit/personal-data",
        "/audit/personal-data/csv",
        "/admin/pdpa",
        "/admin/pdpa/requests",
        "/admin/pdpa/requests/{request_id}",
        "/admin/pdpa/requests/{request_id}/erase",
        "/admin/pdpa/requests/{request_id}/refuse",
        "/admin/pdpa/requests/{request_id}/receipt",
        "/api/v1/incidents/{reference}/contact",
    } <= paths


def test_the_matrix_covers_the_auditors_workspace_and_an_auditor_changes_nothing_there(site: tuple) -> None:
    app, container, people, samples = site
    audit = sorted(r.path for r in routes(app) if r.path.startswith("/audit"))
    assert {"/audit", "/audit/board", "/audit/history/{aggregate_id}", "/audit/history/{aggregate_id}/diff"} <= set(
        audit
    )
    assert all(guard_of(r).roles == {Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN} for r in routes(app) if r.path in audit)
    auditor = signed_in(app, container, people[Role.AUDITOR])
    before = head(container)
    for path in audit:
        assert auditor.get(path.format(**samples)).status_code < 500, path
        assert auditor.post(path.format(**samples), {}).status_code in (404, 405), path  # read-only: no form posts
    assert head(container) == before


def _cases(app, kind: type = Guard) -> list[tuple[str, str, APIRoute]]:  # noqa: ANN001
    return [
        (method, route.path, route)
        for route in routes(app)
        if isinstance(guard_of(route), kind)
        for method in sorted(route.methods - {"HEAD"})
    ]


def test_each_role_gets_exactly_what_its_rule_allows_on_every_route(site: tuple) -> None:
    app, container, people, samples = site
    problems = []
    for method, path, route in _cases(app):
        rule = guard_of(route).roles
        url = path.format(**samples)
        for role in [None, *PEOPLE]:
            if path in STREAMS and (rule is None or (role is not None and role in rule)):
                continue
            before = head(container)
            who = browser(app) if role is None else signed_in(app, container, people[role])
            response = who.get(url) if method == "GET" else who.post(url, {})
            allowed = rule is None or (role is not None and role in rule)
            name = role.value if role else "stranger"
            if allowed and rule is not None and response.status_code in (401, 403):  # (a public sign-in may say 401)
                problems.append(f"{name} refused {method} {path}: {response.status_code}")
            if allowed and response.status_code >= 500:
                problems.append(f"{name} broke {method} {path}: {response.status_code}")
            if not allowed:
                expected = {401, 303} if role is None else {403}
                if response.status_code not in expected:
                    problems.append(f"{name} was not refused {method} {path}: {response.status_code}")
                elif role is None and response.status_code == 303:
                    assert response.headers["location"].startswith("/login?next=")
                if head(container) != before:
                    problems.append(f"{name} changed the log through {method} {path} although refused")
    assert not problems, "\n".join(problems)


def test_an_auditor_opening_every_page_it_may_open_changes_nothing(site: tuple) -> None:
    app, container, people, samples = site
    auditor = signed_in(app, container, people[Role.AUDITOR])
    before = head(container)
    opened = 0
    for method, path, route in _cases(app):
        rule = guard_of(route).roles
        if method == "GET" and path not in STREAMS and (rule is None or Role.AUDITOR in rule):
            assert auditor.get(path.format(**samples)).status_code < 500, path
            opened += 1
    assert opened >= 10 and head(container) == before


def test_partners_and_auditors_never_see_a_reporters_contact(site: tuple) -> None:
    app, container, people, samples = site
    incident_id = Incident.id_for(samples["reference"])
    assert container.reads.incident(incident_id) is not None
    for role in (Role.PARTNER, Role.AUDITOR):
        page = signed_in(app, container, people[role]).get(f"/incidents/{samples['reference']}")
        assert "tel:" not in page.text


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(site: tuple) -> None:
    app, container, people, samples = site
    dispatcher = signed_in(app, container, people[Role.DISPATCHER])
    before = head(container)
    refused = dispatcher.post(f"/incidents/{samples['reference']}/notes", {"text": "forged"}, token=False)
    assert refused.status_code == 403
    forged = dispatcher.post(
        f"/incidents/{samples['reference']}/notes", {"text": "forged", "csrf_token": "0" * 40}, token=False
    )
    assert forged.status_code == 403
    other = browser(app)  # a token that belongs to another browser's cookie
    stolen = dispatcher.post(
        f"/incidents/{samples['reference']}/notes", {"text": "forged", "csrf_token": other.csrf()}, token=False
    )
    assert stolen.status_code == 403
    assert head(container) == before


def test_every_response_carries_the_security_headers(site: tuple) -> None:
    app = site[0]
    response = browser(app).get("/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in response.headers  # only behind TLS
    behind_tls = browser(app).get("/login", headers={"x-forwarded-proto": "https"})
    assert behind_tls.headers["strict-transport-security"].startswith("max-age=")


def test_user_ids_in_urls_that_are_not_uuids_are_a_clear_4xx(site: tuple) -> None:
    app, container, people, _ = site
    admin = signed_in(app, container, people[Role.ADMIN])
    before = head(container)
    assert admin.post("/admin/users/not-a-uuid/disable", {"reason": "x"}).status_code == 422
    assert admin.post(f"/admin/users/{UUID(int=7)}/disable", {"reason": "x"}).status_code in (404, 422)
    assert head(container) == before


# --- the JSON API: keys, not sessions ---------------------------------------------------------------------------


def test_every_api_route_is_ruled_by_a_key_and_every_page_by_a_session(site: tuple) -> None:
    for route in routes(site[0]):
        rule = guard_of(route)
        api = route.path.startswith("/api/") and route.path not in PUBLIC_API_PAGES
        assert isinstance(rule, ApiGuard) == api, f"{route.path} has the wrong kind of rule: {rule}"
    assert len(_cases(site[0], ApiGuard)) >= 14


def test_each_api_key_gets_exactly_what_its_scopes_and_its_accounts_role_allow_on_every_api_route(site: tuple) -> None:
    app, container, people, samples = site
    wait = lambda _: container.projections.catch_up()  # noqa: E731 — a key resolves once its account is in the read model
    keys = {}
    for scope in Scope:  # one scope each, acting as a supervisor's account (every rule but camera set-up's admits it)
        keys[("scope", scope)] = issue_key(
            container.app,
            container.api_keys,
            name=f"only {scope.value}",
            scopes={scope},
            role=Role.SUPERVISOR,
            by=people[Role.ADMIN],
            wait=wait,
        )
    integrations = [
        r for r in PEOPLE if r is not Role.ADMIN
    ]  # an integration's account is never an administrator (test_web_hardening)
    for role in integrations:  # every scope, acting as an account of each role
        keys[("role", role)] = issue_key(
            container.app,
            container.api_keys,
            name=f"all as {role.value}",
            scopes=set(Scope),
            role=role,
            by=people[Role.ADMIN],
            wait=wait,
        )
    # An administrator's account holds keys for camera set-up only (a leaked key can make no account).
    installer = issue_key(
        container.app,
        container.api_keys,
        name="camera installer",
        scopes={Scope.CAMERAS},
        role=Role.ADMIN,
        by=people[Role.ADMIN],
        wait=wait,
    )
    revoked = issue_key(
        container.app,
        container.api_keys,
        name="revoked",
        scopes=set(Scope),
        role=Role.SUPERVISOR,
        by=people[Role.ADMIN],
        wait=wait,
    )
    container.api_keys.revoke(revoked.key_id, reason="Leaked", by=people[Role.ADMIN])
    supervisor = signed_in(app, container, people[Role.SUPERVISOR])
    samples = {**samples, "unit": "M-01"}
    problems = []
    for method, path, route in _cases(app, ApiGuard):
        rule = guard_of(route)
        url = path.format(**samples)
        callers = [("no key", None, False), ("a revoked key", revoked.key, False), ("a session cookie", "", False)]
        callers += [
            (
                f"a key with only {scope.value}",
                keys[("scope", scope)].key,
                scope is rule.scope and (rule.roles is None or Role.SUPERVISOR in rule.roles),
            )
            for scope in Scope
        ]
        callers.append(
            (
                "an administrator's cameras key",
                installer.key,
                rule.scope is Scope.CAMERAS and (rule.roles is None or Role.ADMIN in rule.roles),
            )
        )
        callers += [
            (f"an all-scopes key of a {role.value}", keys[("role", role)].key, rule.roles is None or role in rule.roles)
            for role in integrations
        ]
        for name, key, allowed in callers:
            before = head(container)
            client = supervisor.client if key == "" else browser(app).client
            headers = {"authorization": f"Bearer {key}"} if key else {}
            response = client.request(method, url, headers=headers, json={} if method == "POST" else None)
            if response.status_code >= 500:
                problems.append(f"{name} broke {method} {path}: {response.status_code}")
            if allowed and response.status_code in (401, 403):
                problems.append(f"{name} refused {method} {path}: {response.status_code} {response.text}")
            if not allowed:
                expected = 401 if key in (None, "", revoked.key) else 403
                if response.status_code != expected:
                    problems.append(f"{name} was not refused {method} {path}: {response.status_code}, not {expected}")
                elif not response.headers["content-type"].startswith("application/problem+json"):
                    problems.append(f"{name} refused on {method} {path} without problem details")
                if head(container) != before:
                    problems.append(f"{name} changed the log through {method} {path} although refused")
    assert not problems, "\n".join(problems)


def test_a_form_sent_after_the_session_ended_says_to_sign_in_again_instead_of_a_blank_page(site: tuple) -> None:
    """A dispatcher's session ends after a shift (or is ended elsewhere) while a form is open; sent as a plain form
    (the password form, or any form before the page's scripts have loaded), the answer was a 401 with no body: a
    blank page at 3 a.m. The same request from htmx still gets its redirect to the sign-in page."""
    app, container, people, samples = site
    dispatcher = signed_in(app, container, people[Role.DISPATCHER])
    token = dispatcher.csrf(f"/incidents/{samples['reference']}")
    dispatcher.client.cookies.set(SESSION_COOKIE, "ended")
    before = head(container)
    sent = dispatcher.post(
        f"/incidents/{samples['reference']}/notes", {"text": "late", "csrf_token": token}, token=False
    )
    assert sent.status_code == 401
    assert "เข้าสู่ระบบ" in sent.text and 'href="/login' in sent.text  # in Thai, with the way back in
    assert "ยังไม่ได้บันทึก" in sent.text  # and what became of the form
    by_htmx = dispatcher.post(
        f"/incidents/{samples['reference']}/notes",
        {"text": "late", "csrf_token": token},
        token=False,
        headers={"HX-Request": "true"},
    )
    assert by_htmx.status_code == 401 and by_htmx.headers["hx-redirect"] == "/login"
    assert head(container) == before
