"""The HR and leader pages in a real browser (Chromium through Playwright), served by a real uvicorn.

HR signs in, imports people, creates a schedule, opens a round, watches participation change as
answers arrive, closes the round and downloads the report; a leader reads reports and nothing else.
Every page is screenshotted at desktop (1280 px) and tablet (820 px) widths into the test's tmp dir.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, expect

from pulse import db as pulse_db
from pulse.models import Person, Report, ReportStatus, Round, RoundStatus, Schedule, UserRole
from pulse.services.organizations import create_organization
from pulse.services.users import create_user
from pulse.settings import Settings
from tests.e2e.server import pulse_env, serve
from tests.web.conftest import answer, people_csv

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a long enough password"
WIDTHS = {"desktop": 1280, "tablet": 820}


@dataclass
class Site:
    base_url: str
    settings: Settings


@pytest.fixture
async def site(sqlite_settings: Settings) -> AsyncIterator[Site]:
    async with pulse_db.database(sqlite_settings):
        acme = await create_organization("acme", "Acme Retail", timezone="Europe/Paris")
        await create_user("alice@acme.test", PASSWORD, role=UserRole.HR, organization=acme, name="Alice Martin")
        await create_user("bob@acme.test", PASSWORD, role=UserRole.LEADER, organization=acme, name="Bob Leroy")
    async with serve(pulse_env(sqlite_settings)) as base_url:
        yield Site(base_url, sqlite_settings)


#: Chromium logs every 4xx page as a console error; these are the refusals the tests cause on purpose
#: (pages only: a missing stylesheet or script is still a problem).
EXPECTED_STATUS = re.compile(r"status of (403|404|422) ")


async def _page(browser: Browser, problems: list[str]) -> Page:
    page = await browser.new_page(viewport={"width": WIDTHS["desktop"], "height": 900}, accept_downloads=True)

    def console(message: ConsoleMessage) -> None:
        # The shared error page (templates/error.html) names no icon, so Chromium asks for /favicon.ico.
        url = str(message.location.get("url", ""))
        favicon = url.endswith("/favicon.ico")
        refused_page = EXPECTED_STATUS.search(message.text) is not None and "/static/" not in url
        if message.type == "error" and not refused_page and not favicon:
            problems.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page


async def _shoot(page: Page, folder: Path, name: str) -> None:
    """Screenshots at both widths; the page must not scroll sideways at tablet width."""
    for label, width in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": 900})
        await page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
        if label == "tablet":
            scroll = await page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{name} scrolls sideways at {width}px ({scroll}px)"
    await page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})


async def _sign_in(page: Page, site: Site, email: str) -> None:
    await page.goto(f"{site.base_url}/login")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def test_hr_imports_people_schedules_opens_a_round_watches_it_and_downloads_the_report(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    problems: list[str] = []
    page = await _page(browser, problems)
    await page.goto(f"{site.base_url}/login")
    await _shoot(page, tmp_path, "login")
    await _sign_in(page, site, "alice@acme.test")
    await page.wait_for_url("**/orgs/acme")
    await _shoot(page, tmp_path, "overview-empty")

    # People: a bad file first (every problem, by row), then a good one.
    await page.get_by_role("link", name="People").click()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"email,name,department\nnot-an-email,Someone,Sales\n,Nobody,Sales\n")
    await page.locator("#file").set_input_files(str(bad))
    await page.get_by_role("button", name="Import").click()
    await expect(page.get_by_role("alert")).to_contain_text("row 2: malformed email")
    await expect(page.get_by_role("alert")).to_contain_text("row 3: email is empty")
    await _shoot(page, tmp_path, "people-rejected")
    good = tmp_path / "people.csv"
    good.write_bytes(people_csv({"Stores": 7, "Sales": 6, "Finance": 2}))
    await page.locator("#file").set_input_files(str(good))
    await page.get_by_role("button", name="Import").click()
    await expect(page.get_by_role("status")).to_contain_text("15 created")
    await page.get_by_role("searchbox", name="Search").fill("finance")
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_text("2 people matching")).to_be_visible()
    await _shoot(page, tmp_path, "people")
    await page.get_by_role("link", name="Departments").click()
    await _shoot(page, tmp_path, "departments")

    # Schedules: preview, then create.
    await page.get_by_role("link", name="Schedules").click()
    await page.get_by_label("How often").select_option("monthly")
    await page.get_by_label("On", exact=True).select_option("TH")
    await page.get_by_label("At (hour", exact=False).select_option("10")
    await page.get_by_role("button", name="Preview dates").click()
    await expect(page.get_by_role("heading", name="The next rounds would open")).to_be_visible()
    await expect(page.locator("ol.dates li").first).to_contain_text("Thu")
    await expect(page.locator("ol.dates li").first).to_contain_text("10:00")
    await page.get_by_role("button", name="Create schedule").click()
    await expect(page.get_by_role("status")).to_contain_text("Schedule created")
    await _shoot(page, tmp_path, "schedules")

    # Rounds: open one now.
    await page.get_by_role("link", name="Rounds").click()
    await page.get_by_role("button", name="Open round and send invitations").click()
    await page.wait_for_url(re.compile(r".*/rounds/\d+$"))
    round_id = int(page.url.rsplit("/", 1)[1])
    figures = page.locator("dl.figures")
    await expect(figures).to_contain_text("Invited15")
    # While a round is open, participation is a coarse snapshot taken at most once an hour (the
    # insider issue): never an exact 0, and answers arriving within the hour change nothing shown.
    await expect(figures).to_contain_text("Answeredfewer than 5")
    await _shoot(page, tmp_path, "round-open")
    shown = await figures.inner_text()

    async with pulse_db.database(site.settings):
        await answer(round_id, site.settings.secret_key, 7)
    await page.reload()
    assert await figures.inner_text() == shown
    async with pulse_db.database(site.settings):
        await answer(round_id, site.settings.secret_key, 6, start=7)
    await page.get_by_role("link", name="Refresh").click()
    assert await figures.inner_text() == shown
    await _shoot(page, tmp_path, "round-answers")
    assert "@acme.test" not in await page.content()

    await page.get_by_role("button", name="Send reminders").click()
    await expect(page.get_by_role("status")).to_contain_text("Reminders")
    await page.get_by_role("button", name="Close round and build the report").click()
    await expect(page.get_by_role("status")).to_contain_text("Round closed")
    # The report is built in the background (in the server process, without Redis).
    for _ in range(240):
        if await page.get_by_role("link", name="Open the report").count():
            break
        await asyncio.sleep(0.5)
        await page.reload()
    await page.get_by_role("link", name="Open the report").click()
    # 13 answered; the page shows the report's released count, which carries the stored privacy noise.
    async with pulse_db.database(site.settings):
        released = ((await Report.get(round_id=round_id)).model or {})["participation"]["responded"]
    assert abs(released - 13) <= 4
    await expect(page.locator("dl.figures")).to_contain_text(f"Answered{released}")
    await expect(page.get_by_text("hidden: too few answers")).to_be_visible()  # Finance: 2 people
    await _shoot(page, tmp_path, "report")
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="PDF").click()
    download = await download_info.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")

    await page.get_by_role("link", name="Overview").click()
    await _shoot(page, tmp_path, "overview")
    await page.get_by_role("link", name="API keys").click()
    await page.get_by_label("What uses it").fill("HRIS sync")
    await page.get_by_role("button", name="Create key").click()
    await expect(page.get_by_text("shown only once")).to_be_visible()
    await _shoot(page, tmp_path, "keys")
    assert problems == []

    async with pulse_db.database(site.settings):
        assert await Person.filter(active=True).count() == 15
        assert await Schedule.filter(rrule__contains="BYDAY=1TH").count() == 1
        assert (await Round.get(id=round_id)).status == RoundStatus.CLOSED
        assert (await Report.get(round_id=round_id)).status == ReportStatus.READY


async def test_a_leader_reads_reports_and_nothing_else(site: Site, browser: Browser, tmp_path: Path) -> None:
    from pulse.models import Organization
    from pulse.services.people import import_people
    from pulse.services.reports import build_report
    from pulse.services.rounds import close_round, open_round

    async with pulse_db.database(site.settings):
        acme = await Organization.get(slug="acme")
        await import_people(acme, people_csv({"Stores": 7, "Sales": 6}))
        opened = await open_round(acme)
        await answer(opened.id, site.settings.secret_key, 12)
        await close_round(opened.id)
        await build_report(opened.id, site.settings)
    problems: list[str] = []
    page = await _page(browser, problems)
    await _sign_in(page, site, "bob@acme.test")
    await page.wait_for_url("**/orgs/acme/reports")
    nav = page.get_by_role("navigation", name="Organisation")
    # Leaders read reports and the directory audit (so padding leaves a trace they can see), nothing else.
    assert await nav.get_by_role("link").all_inner_texts() == ["Reports", "Directory audit"]
    await _shoot(page, tmp_path, "leader-reports")
    await page.get_by_role("link", name="Round 1").click()
    async with pulse_db.database(site.settings):
        released = ((await Report.get(round_id=opened.id)).model or {})["participation"]["responded"]
    assert abs(released - 12) <= 4
    await expect(page.locator("dl.figures")).to_contain_text(f"Answered{released}")
    await _shoot(page, tmp_path, "leader-report")
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="CSV").click()
    download = await download_info.value
    saved = tmp_path / "report.csv"
    await download.save_as(saved)
    assert saved.read_text().startswith("department,dimension")
    for path in ("/orgs/acme", "/orgs/acme/people", "/orgs/acme/rounds", f"/rounds/{opened.id}", "/orgs/acme/keys"):
        response = await page.goto(f"{site.base_url}{path}")
        assert response is not None and response.status == 403, path
    await _shoot(page, tmp_path, "leader-forbidden")
    assert problems == []


async def test_an_admin_picks_an_organisation_from_the_list(site: Site, browser: Browser, tmp_path: Path) -> None:
    async with pulse_db.database(site.settings):
        await create_organization("globex", "Globex Stores")
        await create_user("root@pulse.test", PASSWORD, role=UserRole.ADMIN, name="Root")
    problems: list[str] = []
    page = await _page(browser, problems)
    await _sign_in(page, site, "root@pulse.test")
    await expect(page.get_by_role("heading", name="Organisations")).to_be_visible()
    await _shoot(page, tmp_path, "admin-home")
    await page.get_by_role("link", name="Globex Stores").click()
    await page.wait_for_url("**/orgs/globex")
    await expect(page.get_by_role("heading", name="Globex Stores")).to_be_visible()
    response = await page.goto(f"{site.base_url}/rounds/999999")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("link", name="Back to the start page")).to_be_visible()
    await _shoot(page, tmp_path, "not-found")
    assert problems == []


async def test_hr_opens_a_round_and_schedules_rounds_for_some_units_in_the_browser(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    """The unit picker of the round and schedule forms, clicked as HR would: a scope under the minimum
    (Finance, 2 people; Finance and Stores, 9) is refused with the reason and the ticks kept; Stores and
    Sales (13) opens a round that invites only them, and a schedule keeps its units through a preview."""
    from pulse.models import Invitation, Organization
    from pulse.services.people import import_people

    async with pulse_db.database(site.settings):
        await import_people(await Organization.get(slug="acme"), people_csv({"Stores": 7, "Sales": 6, "Finance": 2}))
    problems: list[str] = []
    page = await _page(browser, problems)
    await _sign_in(page, site, "alice@acme.test")
    await page.wait_for_url("**/orgs/acme")
    await page.get_by_role("link", name="Rounds").click()
    picker = page.get_by_role("group", name="Who is invited")
    await expect(picker.get_by_role("radio", name="The whole organisation")).to_be_checked()
    await picker.get_by_role("radio", name="Only the people of these units").check()
    await picker.get_by_role("checkbox", name="Finance").check()
    await page.get_by_role("button", name="Open round and send invitations").click()
    await expect(page.get_by_role("alert")).to_contain_text("Scope 'Finance' has 2 people to invite")
    await picker.get_by_role("checkbox", name="Stores").check()
    await page.get_by_role("button", name="Open round and send invitations").click()
    await expect(page.get_by_role("alert")).to_contain_text("Scope 'Finance', 'Stores' has 9 people to invite")
    await expect(page.get_by_role("alert")).to_contain_text("needs at least 10")
    await _shoot(page, tmp_path, "round-scope-refused")
    await picker.get_by_role("checkbox", name="Finance").uncheck()
    await picker.get_by_role("checkbox", name="Sales").check()
    await page.get_by_role("button", name="Open round and send invitations").click()
    await page.wait_for_url(re.compile(r".*/rounds/\d+$"))
    round_id = int(page.url.rsplit("/", 1)[1])
    await expect(page.locator("dl.meta")).to_contain_text("Sales, Stores")
    await expect(page.locator("dl.figures")).to_contain_text("Invited13")
    await _shoot(page, tmp_path, "round-scoped")

    await page.get_by_role("link", name="Schedules").click()
    await page.get_by_label("How often").select_option("monthly")
    await picker.get_by_role("radio", name="Only the people of these units").check()
    await picker.get_by_role("checkbox", name="Stores").check()
    await picker.get_by_role("checkbox", name="Sales").check()
    await page.get_by_role("button", name="Preview dates").click()
    await expect(page.get_by_role("heading", name="The next rounds would open")).to_be_visible()
    await expect(picker.get_by_role("checkbox", name="Stores")).to_be_checked()
    await expect(picker.get_by_role("checkbox", name="Finance")).not_to_be_checked()
    await page.get_by_role("button", name="Create schedule").click()
    await expect(page.get_by_role("status")).to_contain_text("Schedule created")
    await expect(page.get_by_role("table")).to_contain_text("SalesStores")
    await _shoot(page, tmp_path, "schedules-scoped")
    assert problems == []
    async with pulse_db.database(site.settings):
        invited = await Invitation.filter(round_id=round_id).prefetch_related("person__department")
        assert sorted({i.person.department.name for i in invited}) == ["Sales", "Stores"] and len(invited) == 13
        assert (await Schedule.get(organization__slug="acme")).departments == ["Sales", "Stores"]
