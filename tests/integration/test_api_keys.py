"""The administrator's API-keys page: a key is created for an integration's own account and shown once,
works on the API at once, is listed by its prefix only, and stops working the moment it is revoked (in the web
process that revokes it; the others trust a key they looked up for a second or two)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from domain.accounts import UserAccount
from domain.values import Role
from infrastructure.api_keys import RECHECK_SECONDS, ApiKeys, Scope, account_name_for, issue_key
from infrastructure.bootstrap import Container
from tests.integration.conftest import build_world
from tests.integration.test_api import SOS
from tests.integration.web_support import head, signed_in
from web.app import create_app

KEY = re.compile(r"<code class=\"secret\" data-api-key>(ssz_[A-Za-z0-9_-]+)</code>")


@pytest.fixture
def admin_site(container: Container) -> Iterator[tuple]:
    world = build_world(container.app)
    app = create_app(container, run_projections=True)
    with TestClient(app):
        assert container.projections.wait(head(container), timeout=30)
        yield app, container, world


def test_an_admin_creates_a_key_that_is_shown_once_works_at_once_and_is_refused_once_revoked(admin_site: tuple) -> None:
    app, container, world = admin_site
    admin = signed_in(app, container, world.admin)
    created = admin.post(
        "/admin/api-keys", {"name": "Police app SOS", "scope": ["intake", "read"], "role": "officer"}, follow=True
    )
    assert created.status_code == 200 and created.url.path == "/admin/api-keys", created.text  # post, then redirect
    key = KEY.search(created.text).group(1)
    account = container.app.get_user(UserAccount.id_for("api-police-app-sos"))
    assert account.role is Role.OFFICER and account.display_name == "Police app SOS (API)"

    api = TestClient(app)
    answer = api.post("/api/v1/incidents", json=SOS, headers={"authorization": f"Bearer {key}"})
    assert answer.status_code == 201, answer.text
    listed = admin.get("/admin/api-keys").text
    assert key not in listed and key[:12] in listed and "Police app SOS" in listed  # never shown again
    assert container.api_keys.listing()[0]["last_used_at"] is not None

    key_id = container.api_keys.listing()[0]["key_id"]
    revoked = admin.post(f"/admin/api-keys/{key_id}/revoke", {"reason": "Phone app retired"}, follow=True)
    assert revoked.status_code == 200 and "Phone app retired" in revoked.text
    assert api.get("/api/v1/incidents", headers={"authorization": f"Bearer {key}"}).status_code == 401
    assert admin.post(f"/admin/api-keys/{key_id}/revoke", {"reason": "again"}).status_code == 422

    # A second key for the same integration (rotation) acts as the same account.
    rotated = admin.post(
        "/admin/api-keys",
        {"name": "Police app SOS 2027", "scope": "intake", "account": "api-police-app-sos"},
        follow=True,
    )
    second = KEY.search(rotated.text).group(1)
    made = api.post("/api/v1/incidents", json=SOS, headers={"authorization": f"Bearer {second}"}).json()
    container.projections.wait(head(container), timeout=5)
    timeline = api.get(f"/api/v1/incidents/{made['reference']}/timeline", headers={"authorization": f"Bearer {second}"})
    assert timeline.status_code == 403  # this key has no `read` scope
    assert container.app.history(UserAccount.id_for("api-police-app-sos"))[0].event == "Created"


def test_a_key_is_not_created_without_a_scope_or_with_scopes_its_role_cannot_use(admin_site: tuple) -> None:
    app, container, world = admin_site
    admin = signed_in(app, container, world.admin)
    before = head(container)
    for form in (
        {"name": "No scope", "role": "dispatcher"},
        {"name": "Bad scope", "scope": "everything", "role": "dispatcher"},
        {"name": "Reader", "scope": ["read"], "role": "partner"},  # partners never read incidents
        {"name": "Contacts", "scope": ["read", "contacts"], "role": "auditor"},
        {"name": "", "scope": "intake", "role": "officer"},
        {"name": "Person", "scope": "intake", "account": "dispatcher"},
    ):  # never a person's account
        refused = admin.post("/admin/api-keys", form)
        assert refused.status_code == 422, form
        assert not KEY.search(refused.text)
    assert head(container) == before and container.api_keys.listing() == []


def test_keys_are_stored_only_as_digests(admin_site: tuple) -> None:
    _, container, world = admin_site
    issued = issue_key(
        container.app,
        container.api_keys,
        name="Partner CAD",
        scopes={Scope.READ},
        role=Role.DISPATCHER,
        by=world.admin,
        wait=lambda n: container.projections.wait(n, timeout=5),
    )
    with container.engine.connect() as conn:
        stored = " ".join(str(v) for row in conn.exec_driver_sql("SELECT * FROM api_keys") for v in row)
    assert issued.key not in stored and issued.key[12:] not in stored
    assert container.api_keys.resolve(issued.key).username == "api-partner-cad"
    assert account_name_for("ระบบ SOS ของแอป") == "api-sos"
    assert account_name_for("รถ").startswith("api-") and len(account_name_for("x" * 80)) <= 32


def test_a_process_trusts_a_live_key_for_seconds_and_revocation_reaches_it_then(admin_site: tuple) -> None:
    _, container, world = admin_site
    issued = issue_key(
        container.app,
        container.api_keys,
        name="Police app SOS",
        scopes={Scope.INTAKE},
        role=Role.DISPATCHER,
        by=world.admin,
        wait=lambda n: container.projections.wait(n, timeout=5),
    )
    now = [1000.0]
    elsewhere = ApiKeys(container.engine, clock=lambda: now[0])  # another web process
    here = container.api_keys
    assert here.resolve(issued.key) is not None and elsewhere.resolve(issued.key) is not None
    here.revoke(issued.key_id, reason="Device lost", by=world.admin)
    assert here.resolve(issued.key) is None  # at once where it was revoked
    now[0] += RECHECK_SECONDS / 2
    assert elsewhere.resolve(issued.key) is not None  # still trusted from its last lookup
    now[0] += RECHECK_SECONDS
    assert elsewhere.resolve(issued.key) is None  # looked up again: refused
    now[0] += 10 * RECHECK_SECONDS
    assert elsewhere.resolve(issued.key) is None  # a refused key is never remembered as live
