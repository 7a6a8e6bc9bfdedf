"""The drill-down of a report's units in real Chromium, with JavaScript off (plain links only), against a
real server: HR goes from the top level into Retail, North and a store and back up by the breadcrumb;
a leader scoped to Retail / North starts at their unit, drills into a store, and is refused (404) above
it. Screenshots at 360 px and 1280 px go to the test's tmp dir; no page scrolls sideways."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from pulse import db as pulse_db
from pulse.models import UserRole
from pulse.services.organizations import create_organization
from pulse.services.people import import_people
from pulse.services.reports import build_report
from pulse.services.rounds import close_round, open_round
from pulse.services.users import create_user
from pulse.settings import Settings
from tests.browser.axe import scrolls_sideways
from tests.e2e.server import pulse_env, serve
from tests.web.conftest import answer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a long enough password"
SIZES = {
    "Retail / North": 6,
    "Retail / North / Store 1": 10,
    "Retail / North / Store 1 / Night shift": 6,
    "Retail / North / Store 2": 10,
    "Retail / South / Store 3": 10,
    "Operations / Warehouse": 10,
    "Legal": 3,
}


@dataclass
class Site:
    base_url: str
    round_id: int


@pytest.fixture
async def site(sqlite_settings: Settings) -> AsyncIterator[Site]:
    async with pulse_db.database(sqlite_settings):
        org = await create_organization("treeco", "Tree Co")
        lines = ["email,name,department"]
        lines += [f"p{u}-{i}@treeco.test,P {u} {i},{unit}" for u, unit in enumerate(SIZES) for i in range(SIZES[unit])]
        await import_people(org, ("\n".join(lines) + "\n").encode())
        opened = await open_round(org)
        await answer(opened.id, sqlite_settings.secret_key, sum(SIZES.values()))
        await close_round(opened.id)
        await build_report(opened.id, sqlite_settings)
        await create_user("hr@treeco.test", PASSWORD, role=UserRole.HR, organization=org)
        await create_user(
            "north@treeco.test", PASSWORD, role=UserRole.LEADER, organization=org, units=["Retail / North"]
        )
    async with serve(pulse_env(sqlite_settings)) as base_url:
        yield Site(base_url, opened.id)


async def _sign_in(browser: Browser, site: Site, email: str) -> Page:
    # No JavaScript at all: the drill-down is links and nothing else.
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{site.base_url}/login")
    await page.locator("#email").fill(email)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("form[action='/login'] button[type=submit]").click()
    await page.wait_for_load_state()
    return page


async def _shoot(page: Page, folder: Path, name: str) -> None:
    for width in (360, 1280):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
        assert await scrolls_sideways(page) == 0, f"{name} scrolls sideways at {width}px"


async def test_hr_drills_down_from_the_top_level_to_a_store_and_back_by_the_breadcrumb(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    page = await _sign_in(browser, site, "hr@treeco.test")
    await page.goto(f"{site.base_url}/reports/{site.round_id}")
    await page.get_by_role("link", name="Units, level by level: heatmap").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Units of the organisation")
    headers = page.locator("table.heatmap tbody th[scope=row]")
    await expect(headers).to_have_count(4)  # Legal, Operations, Retail and the organisation for comparison
    await expect(page.locator("table.heatmap")).to_contain_text("not shown: too few answers")  # Legal
    await _shoot(page, tmp_path, "top")
    await page.get_by_role("link", name="Retail", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Retail")
    await page.get_by_role("link", name="North", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("North")
    # North's own people, then its stores, each with a coloured score per dimension.
    await expect(page.locator("table.heatmap tbody th[scope=row]")).to_contain_text(
        ["North", "Store 1", "Store 2", "Whole organisation"]
    )
    for store in ("Store 1", "Store 2"):
        row = page.locator("table.heatmap tbody tr").filter(has=page.get_by_role("rowheader", name=store))
        await expect(row.locator("td.heat")).to_have_count(4)
    await expect(page.get_by_role("link", name="Store 2", exact=True)).to_have_count(0)  # nothing inside it
    breadcrumb = page.get_by_role("navigation", name="Breadcrumb")
    await expect(breadcrumb.locator("[aria-current=page]")).to_have_text("North")
    await _shoot(page, tmp_path, "north")
    await breadcrumb.get_by_role("link", name="Tree Co").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Units of the organisation")
    assert page.url.endswith(f"/reports/{site.round_id}/units")


async def test_a_scoped_leader_starts_at_their_unit_drills_into_it_and_is_refused_above_it(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    page = await _sign_in(browser, site, "north@treeco.test")
    # Signed in, the leader lands on the report of their scope; its heatmap starts at their unit.
    assert page.url.endswith(f"/reports/{site.round_id}")
    await page.get_by_role("link", name="Units, level by level: heatmap").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("North")
    await expect(page.get_by_role("navigation", name="Breadcrumb").locator("[aria-current=page]")).to_have_text(
        "Retail / North"
    )
    for outside in ("South", "Store 3", "Warehouse", "Operations", "Legal"):
        await expect(page.locator("main")).not_to_contain_text(outside)
    await _shoot(page, tmp_path, "leader-north")
    await page.get_by_role("link", name="Store 1", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Store 1")
    await expect(page.locator("table.heatmap tbody th[scope=row]")).to_contain_text(
        ["Store 1", "Night shift", "Whole organisation"]
    )
    await page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Retail / North").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("North")
    response = await page.goto(f"{site.base_url}/reports/{site.round_id}/units/Retail")
    assert response is not None and response.status == 404
    response = await page.goto(f"{site.base_url}/reports/{site.round_id}/units/Retail/South")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
