"""An admin manages accounts in a real browser: disables a signed-in HR user (whose open page is signed out
at once), enables them again, and resets their password (shown once; the next sign-in must change it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from pulse import db as pulse_db
from pulse.models import UserRole
from pulse.services.organizations import create_organization
from pulse.services.users import create_user
from pulse.settings import Settings
from tests.browser.test_admin_browser import PASSWORD, Site, _page, _shoot, _sign_in
from tests.e2e.server import pulse_env, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
async def accounts_site(sqlite_settings: Settings) -> AsyncIterator[Site]:
    async with pulse_db.database(sqlite_settings):
        acme = await create_organization("acme", "Acme Retail")
        await create_user("alice@acme.test", PASSWORD, role=UserRole.HR, organization=acme, name="Alice Martin")
        await create_user("root@pulse.test", PASSWORD, role=UserRole.ADMIN, name="Root")
    async with serve(pulse_env(sqlite_settings)) as base_url:
        yield Site(base_url, sqlite_settings)


async def test_an_admin_disables_a_signed_in_user_enables_them_and_resets_their_password(
    accounts_site: Site, browser: Browser, tmp_path: Path
) -> None:
    site = accounts_site
    problems: list[str] = []
    alice = await _page(browser, problems)
    await _sign_in(alice, site, "alice@acme.test")
    await alice.wait_for_url("**/orgs/acme")

    admin = await _page(browser, problems)
    await _sign_in(admin, site, "root@pulse.test")
    await admin.get_by_role("link", name="Users").click()
    await admin.wait_for_url("**/users")
    await expect(admin.get_by_role("heading", name="Users")).to_be_visible()
    await _shoot(admin, tmp_path, "users")

    await admin.get_by_role("button", name="Disable alice@acme.test").click()
    await expect(admin.get_by_role("status")).to_contain_text("alice@acme.test is disabled")
    await expect(admin.get_by_role("button", name="Enable alice@acme.test")).to_be_visible()
    await _shoot(admin, tmp_path, "users-disabled")
    # Alice's open page: the next click finds her signed out.
    await alice.get_by_role("link", name="People").click()
    await alice.wait_for_url("**/login**")
    await expect(alice.get_by_role("heading", name="Sign in")).to_be_visible()

    await admin.get_by_role("button", name="Enable alice@acme.test").click()
    await expect(admin.get_by_role("status")).to_contain_text("alice@acme.test is enabled")
    await admin.get_by_role("button", name="Reset the password of alice@acme.test").click()
    one_time = await admin.get_by_label("One-time password").input_value()
    assert len(one_time) == 16
    await _shoot(admin, tmp_path, "users-reset")

    await alice.goto(f"{site.base_url}/login")
    await alice.get_by_label("Email", exact=True).fill("alice@acme.test")
    await alice.get_by_label("Password").fill(one_time)
    await alice.get_by_role("button", name="Sign in").click()
    await alice.wait_for_url("**/account")
    await expect(alice.get_by_role("status")).to_contain_text("Your password was reset: choose a new one.")
    assert problems == []
