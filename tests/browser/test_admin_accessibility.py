"""Every page of the web app in real Chromium: axe-core at WCAG 2.2 AA finds nothing, in every language
(the user's account language); in English also at 320 px and at 200% zoom, without sideways
scrolling; and the main HR flows (sign in, import people, open a round) work with the keyboard alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from pulse import db as pulse_db
from pulse import i18n
from pulse.models import Organization, Round, User, UserRole
from pulse.services.api_keys import create_api_key
from pulse.services.organizations import create_organization
from pulse.services.people import import_people
from pulse.services.reports import build_report
from pulse.services.rounds import close_round, open_round
from pulse.services.schedules import add_schedule
from pulse.services.users import create_user
from pulse.settings import Settings
from tests.browser.axe import assert_accessible, scrolls_sideways
from tests.e2e.server import pulse_env, serve
from tests.web.conftest import answer, people_csv

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a long enough password"
NARROW = {"zoom200": 640, "phone320": 320}


@dataclass
class Site:
    base_url: str
    settings: Settings
    closed_round: int
    open_round: int
    leader_id: int


@pytest.fixture
async def site(sqlite_settings: Settings) -> AsyncIterator[Site]:
    async with pulse_db.database(sqlite_settings):
        acme = await create_organization("acme", "Acme Retail", timezone="Europe/Paris")
        hr = await create_user("alice@acme.test", PASSWORD, role=UserRole.HR, organization=acme, name="Alice Martin")
        bob = await create_user("bob@acme.test", PASSWORD, role=UserRole.LEADER, organization=acme, name="Bob Leroy")
        await create_user("root@pulse.test", PASSWORD, role=UserRole.ADMIN, name="Root")
        # Two levels, so that the units' drill-down has a level below the top.
        await import_people(acme, people_csv({"Retail / Stores": 7, "Retail / Sales": 6, "Finance": 2}))
        closed = await open_round(acme)
        await answer(closed.id, sqlite_settings.secret_key, 13)
        await close_round(closed.id)
        await build_report(closed.id, sqlite_settings)
        current = await open_round(acme)
        await create_api_key(acme, "HRIS sync", created_by=hr)
        await add_schedule(acme.slug, "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0", open_days=5)
    async with serve(pulse_env(sqlite_settings)) as base_url:
        yield Site(base_url, sqlite_settings, closed.id, current.id, bob.id)


async def _sign_in(page: Page, site: Site, email: str) -> None:
    await page.goto(f"{site.base_url}/login")
    await page.locator("#email").fill(email)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("form[action='/login'] button[type=submit]").click()
    await page.wait_for_load_state()


def _pages(site: Site) -> list[str]:
    return [
        "/orgs/acme",
        "/orgs/acme/people",
        "/orgs/acme/departments",
        "/orgs/acme/schedules",
        "/orgs/acme/schedules?frequency=monthly&weekday=FR&hour=8",  # the preview of a monthly cadence
        "/orgs/acme/rounds",
        f"/rounds/{site.open_round}",
        f"/rounds/{site.closed_round}",
        "/orgs/acme/reports",
        f"/reports/{site.closed_round}",
        f"/reports/{site.closed_round}/units",
        f"/reports/{site.closed_round}/units/Retail",
        "/orgs/acme/leaders",
        f"/orgs/acme/leaders/{site.leader_id}",
        "/orgs/acme/audit",
        "/orgs/acme/keys",
        "/account",
        "/rounds/999999",  # the not-found page inside the app
    ]


def _file_name(path: str) -> str:
    return path.replace("/", "-").replace("?", "-").replace("&", "-")


async def _set_language(site: Site, email: str, locale: str | None) -> None:
    async with pulse_db.database(site.settings):
        await User.filter(email=email).update(locale=locale)


async def test_every_web_app_page_passes_axe_in_every_language(site: Site, browser: Browser, tmp_path: Path) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    for locale in i18n.available_locales():
        await page.context.clear_cookies()
        await page.set_extra_http_headers({"Accept-Language": i18n.html_lang(locale)})
        await page.goto(f"{site.base_url}/login")
        assert await page.get_attribute("html", "lang") == i18n.html_lang(locale)
        await assert_accessible(page, f"the sign-in page ({locale})")
        await _set_language(site, "alice@acme.test", locale)
        await _sign_in(page, site, "alice@acme.test")
        for path in _pages(site):
            await page.goto(f"{site.base_url}{path}")
            assert await page.get_attribute("html", "lang") == i18n.html_lang(locale), path
            await page.screenshot(path=str(tmp_path / f"{locale}{_file_name(path)}.png"), full_page=True)
            await assert_accessible(page, f"{path} ({locale})")
    # The leader's and the administrator's own pages.
    for email, paths in (
        ("bob@acme.test", ["/orgs/acme/reports", "/orgs/acme/people", f"/reports/{site.closed_round}/units/Retail"]),
        ("root@pulse.test", ["/", "/users"]),
    ):
        await page.context.clear_cookies()
        await _sign_in(page, site, email)
        for path in paths:
            await page.goto(f"{site.base_url}{path}")
            await assert_accessible(page, f"{path} as {email}")


async def test_web_app_pages_reflow_at_320_px_and_200_percent_zoom(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await _sign_in(page, site, "alice@acme.test")
    sideways: list[str] = []
    for path in _pages(site):
        await page.goto(f"{site.base_url}{path}")
        for label, width in NARROW.items():
            await page.set_viewport_size({"width": width, "height": 900})
            await page.screenshot(path=str(tmp_path / f"{label}{_file_name(path)}.png"), full_page=True)
            extra = await scrolls_sideways(page)
            if extra > 0:
                sideways.append(f"{path} by {extra}px at {width}px")
            await assert_accessible(page, f"{path} at {width}px")
        await page.set_viewport_size({"width": 1280, "height": 900})
    assert not sideways, "pages scroll sideways: " + "; ".join(sideways)


async def _tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the focus (as a keyboard user would)."""
    for _ in range(limit):
        if await page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


async def test_hr_signs_in_imports_people_and_opens_a_round_with_the_keyboard_alone(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(f"{site.base_url}/login")
    await _tab_to(page, "#email")
    await page.keyboard.type("alice@acme.test")
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/orgs/acme")
    # The skip link is the first stop and jumps to the content.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip"
    await _tab_to(page, "a[href='/orgs/acme/people']")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/orgs/acme/people")
    csv = tmp_path / "more.csv"
    csv.write_bytes(people_csv({"Retail / Stores": 7, "Retail / Sales": 6, "Finance": 2, "Logistics": 5}))
    await _tab_to(page, "#file")
    async with page.expect_file_chooser() as chooser:
        await page.keyboard.press("Space")
    await (await chooser.value).set_files(str(csv))
    await page.keyboard.press("Tab")
    await _tab_to(page, "form[action$='/people/import'] button[type=submit]")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_contain_text("5 created")
    await _tab_to(page, "a[href='/orgs/acme/rounds']")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/orgs/acme/rounds")
    async with pulse_db.database(site.settings):
        await close_round(site.open_round)
        before = await Round.filter(organization__slug="acme").count()
    await page.reload()
    await _tab_to(page, "form[action$='/acme/rounds'] button[type=submit]")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/rounds/*")
    async with pulse_db.database(site.settings):
        assert await Round.filter(organization__slug="acme").count() == before + 1
        assert (await Organization.get(slug="acme")).slug == "acme"


async def test_the_unit_picker_forms_refusing_a_scope_pass_axe_in_every_language_and_at_360_px(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    """The forms that open a round and add a schedule, sent with a scope under the minimum (Finance: 2
    people, 2k = 10): refused in the reader's language with the choice kept, and the refusal passes
    axe at 1280 and 360 px without scrolling sideways."""
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    sideways: list[str] = []
    for locale in i18n.available_locales():
        await page.context.clear_cookies()
        await _set_language(site, "alice@acme.test", locale)
        await _sign_in(page, site, "alice@acme.test")
        for path in ("/orgs/acme/rounds", "/orgs/acme/schedules"):
            await page.set_viewport_size({"width": 1280, "height": 900})
            await page.goto(f"{site.base_url}{path}")
            form = page.locator(f"form[method=post][action='{path}']")
            await form.locator("input[name=scope][value=units]").check()
            await form.locator("input[name=unit][value='Finance']").check()
            async with page.expect_response(lambda r: r.request.method == "POST") as sent:
                await form.locator("button[type=submit]:not([formmethod])").click()
            assert (await sent.value).status == 422, (path, locale)
            await page.wait_for_load_state()
            alert = await page.get_by_role("alert").inner_text()
            assert "Finance" in alert and "10" in alert, (path, locale, alert)
            assert (locale == "en") == ("needs at least 10" in alert), (path, locale, alert)
            assert await page.locator("input[name=unit][value='Finance']").is_checked()
            name = f"{locale}{path.replace('/', '-')}-refused"
            await page.screenshot(path=str(tmp_path / f"{name}-1280.png"), full_page=True)
            await assert_accessible(page, f"{path} refused ({locale})")
            await page.set_viewport_size({"width": 360, "height": 800})
            await page.screenshot(path=str(tmp_path / f"{name}-360.png"), full_page=True)
            if (extra := await scrolls_sideways(page)) > 0:
                sideways.append(f"{path} ({locale}) by {extra}px at 360px")
            await assert_accessible(page, f"{path} refused ({locale}) at 360px")
    assert not sideways, "pages scroll sideways: " + "; ".join(sideways)
