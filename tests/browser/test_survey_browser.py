"""The survey page in a real browser (Chromium through Playwright), served by a real uvicorn.

A person answers by clicking labels; another only with the keyboard; the page fits a small phone
without sideways scrolling and shows no console or CSP errors. Screenshots land in the test's tmp dir.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from pulse import db as pulse_db
from pulse.models import Answer, Department, HelpMark, Invitation, Response, Round
from pulse.services.rounds import open_round
from pulse.services.tokens import token_for
from pulse.settings import Settings
from tests.anonymity.population import populate
from tests.e2e.server import pulse_env, serve

pytestmark = pytest.mark.browser


@dataclass
class Site:
    base_url: str
    round: Round
    links: list[str]
    settings: Settings


@pytest.fixture
async def site(sqlite_settings: Settings) -> AsyncIterator[Site]:
    async with pulse_db.database(sqlite_settings):
        org = await populate({"Stores": 6, "Customer Service": 5, "Finance": 3})
        opened = await open_round(org)
        salts = await Invitation.filter(round_id=opened.id).order_by("id").values_list("token_salt", flat=True)
        links = [token_for(str(salt), sqlite_settings.secret_key) for salt in salts]
        async with serve(pulse_env(sqlite_settings)) as base_url:
            yield Site(base_url, opened, links, sqlite_settings)


async def _page(browser: Browser, width: int, problems: list[str]) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": 800})
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page


async def test_a_person_answers_by_clicking_labels_and_lands_on_the_thank_you_page(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    problems: list[str] = []
    page = await _page(browser, 375, problems)
    await page.goto(f"{site.base_url}/s/{site.links[0]}")
    await page.screenshot(path=str(tmp_path / "survey-phone.png"), full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width}px)"
    keys = site.round.item_keys
    for number, key in enumerate(keys):
        label = page.locator(f"#field-{key} label").filter(has_text=["1 Strongly", "2 Disagree", "4 Agree"][number % 3])
        await label.click()
    await page.locator("#field-enps label").filter(has_text="9").first.click()
    await page.get_by_label("Customer Service").check()
    await page.get_by_label("Anything else you want leaders to know?", exact=False).fill("Great team, slow tills.")
    await page.get_by_role("button", name="Send my answers").click()
    await page.wait_for_url("**/s/thanks?lang=en")
    assert await page.get_by_role("heading", name="Thank you").is_visible()
    assert problems == []

    async with pulse_db.database(site.settings):
        response = await Response.get()
        stored = dict(await Answer.filter(response_id=response.id).values_list("item_key", "value"))
        assert stored == {key: [1, 2, 4][n % 3] for n, key in enumerate(keys)}
        assert (response.enps, response.comment) == (9, "Great team, slow tills.")
        service = await Department.get(name="Customer Service")
        assert [m.helper_id for m in await HelpMark.filter(response_id=response.id)] == [service.id]


async def test_the_form_can_be_answered_with_the_keyboard_alone_and_focus_is_visible(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    problems: list[str] = []
    page = await _page(browser, 1280, problems)
    await page.goto(f"{site.base_url}/s/{site.links[1]}")
    await page.screenshot(path=str(tmp_path / "survey-desktop.png"), full_page=True)
    keys = site.round.item_keys

    async def focused_name() -> str:
        return str(await page.evaluate("document.activeElement && (document.activeElement.name || '')"))

    # Tab past the "What exactly is stored" disclosure to the first radio group.
    for _ in range(10):
        await page.keyboard.press("Tab")
        if await focused_name() == keys[0]:
            break
    outline = await page.evaluate("getComputedStyle(document.activeElement.closest('label')).outlineStyle")
    assert outline != "none", "the focused choice has no visible outline"
    for key in keys:
        assert await focused_name() == key
        # In a radio group the arrow keys choose; Space picks the focused one.
        await page.keyboard.press("Space")
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("Tab")
    assert await focused_name() == "enps"
    await page.keyboard.press("Space")  # 0
    await page.keyboard.press("Tab")
    assert await focused_name() == "helped_by"
    await page.keyboard.press("Space")
    while await focused_name() != "comment":
        await page.keyboard.press("Tab")
    await page.keyboard.type("Typed without a mouse.")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.type") == "submit"
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/s/thanks?lang=en")
    assert problems == []

    async with pulse_db.database(site.settings):
        response = await Response.get()
        values = dict(await Answer.filter(response_id=response.id).values_list("item_key", "value"))
        assert values == {key: 3 for key in keys}
        assert (response.enps, response.comment, response.answered_network) == (0, "Typed without a mouse.", True)


async def test_sending_an_empty_form_explains_what_to_do_and_the_link_still_works(site: Site, browser: Browser) -> None:
    problems: list[str] = []
    page = await _page(browser, 375, problems)
    await page.goto(f"{site.base_url}/s/{site.links[2]}")
    await page.get_by_role("button", name="Send my answers").click()
    assert await page.get_by_role("alert").is_visible()
    assert "answer at least one question" in await page.get_by_role("alert").inner_text()
    await page.locator(f"#field-{site.round.item_keys[0]} label").filter(has_text="5 Strongly agree").click()
    await page.get_by_role("button", name="Send my answers").click()
    await page.wait_for_url("**/s/thanks?lang=en")
    # The 422 answer itself is the only thing the browser reports.
    assert problems == ["Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"]
