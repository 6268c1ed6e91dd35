"""A person's own pages (the account, the first sign-in, the officer's phone page): every refusal is said where the
person is, beside what it concerns."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from domain.values import Role, UnitKind
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from tests.integration.conftest import PASSWORD, build_world
from tests.integration.web_support import browser, head, signed_in
from web.app import create_app


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    container = bootstrap(Settings(environment="test", data_dir=Path(tmp_path_factory.mktemp("account")) / "data"))
    world = build_world(container.app)
    app = create_app(container, run_projections=True)
    with TestClient(app):
        assert container.projections.wait(head(container), timeout=30)
        yield app, container, world
    container.close()


def test_a_new_password_too_short_is_refused_with_its_reason_beside_the_field(site: tuple) -> None:
    """Found on a phone: a new password of 5 characters (a browser that does not enforce minlength, or a paste)
    answered 422 and showed the form again with no word of why: the refusal named a field the page does not have."""
    app, container, world = site
    officer = signed_in(app, container, world.officer)
    before = head(container)
    refused = officer.post(
        "/account/password", {"current_password": PASSWORD, "new_password": "short", "new_password_again": "short"}
    )
    assert refused.status_code == 422
    beside = re.search(r'name="new_password" [^>]*>\s*</label>\s*<p class="field-error"[^>]*>([^<]+)', refused.text)
    assert beside, "no reason beside the new password"
    assert "อย่างน้อย" in beside.group(1)  # "at least …", in Thai
    assert head(container) == before


def test_a_first_password_too_short_is_refused_with_its_reason_at_the_first_sign_in(site: tuple) -> None:
    """The newcomer's first sign-in with a one-time password asks for a password of their own: a short one came
    back with no word of why, as on the account page."""
    app, container, world = site
    container.app.create_user(
        username="newcomer", display_name="ผู้มาใหม่", role=Role.OFFICER, password="given-once-123", by=world.admin,
        one_time=True,
    )  # fmt: skip
    newcomer = browser(app)
    form = {
        "username": "newcomer",
        "password": "given-once-123",
        "new_password": "short",
        "new_password_again": "short",
    }
    refused = newcomer.post("/login", form)
    assert refused.status_code == 422
    beside = re.search(r'name="new_password" [^>]*>\s*</label>\s*<p class="field-error"[^>]*>([^<]+)', refused.text)
    assert beside and "อย่างน้อย" in beside.group(1)


def test_an_officer_who_loses_a_unit_to_another_stays_on_the_phone_page_and_is_told_why(site: tuple) -> None:
    """Two officers tap "Go on duty with M-…" for the same free unit: the second was taken to the supervisors' wide
    units table, away from the phone page, with the refusal at its top."""
    app, container, world = site
    unit = container.app.register_unit(call_sign="BIKE-9", kind=UnitKind.BICYCLE, by=world.admin).id
    second = container.app.create_user(
        username="officer2", display_name="ส.ต.ต. สอง", role=Role.OFFICER, password=PASSWORD, by=world.admin
    ).id
    assert container.projections.wait(head(container), timeout=10)
    first_phone, second_phone = signed_in(app, container, world.officer), signed_in(app, container, second)
    token = second_phone.csrf("/my")
    assert first_phone.post(f"/units/{unit}/on-duty", {"next": "/my"}).status_code == 303
    late = second_phone.post(f"/units/{unit}/on-duty", {"next": "/my", "csrf_token": token}, token=False)
    assert late.status_code in (409, 422)
    assert 'class="phone"' in late.text or '<body class="phone"' in late.text or "phone-tools" in late.text
    assert "BIKE-9" in late.text and 'role="alert"' in late.text
