"""The survey pages in real Chromium, in every language: axe-core at WCAG 2.2 AA finds nothing, the
page fits 320 px and 200% zoom without sideways scrolling, and stays light (under 50 KB, no fonts,
no script) and usable with JavaScript off. Screenshots of every language land in the test's tmp dir."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Response

from pulse import db as pulse_db
from pulse import i18n
from pulse.models import Invitation, Round
from pulse.services.rounds import open_round
from pulse.services.tokens import token_for
from pulse.settings import Settings
from tests.anonymity.population import populate
from tests.browser.axe import assert_accessible, scrolls_sideways, violations
from tests.e2e.server import pulse_env, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: Desktop, a small phone (WCAG 1.4.10 reflow: 320 CSS px) and a 1280 px window at 200% zoom.
WIDTHS = {"desktop": 1280, "zoom200": 640, "phone320": 320}
MAX_PAGE_BYTES = 50 * 1024


@dataclass
class Site:
    base_url: str
    round: Round
    links: list[str]


@pytest.fixture
async def site(sqlite_settings: Settings) -> AsyncIterator[Site]:
    async with pulse_db.database(sqlite_settings):
        org = await populate({"Stores": 6, "Customer Service": 5, "Finance": 3})
        opened = await open_round(org)
        salts = await Invitation.filter(round_id=opened.id).order_by("id").values_list("token_salt", flat=True)
        links = [token_for(str(salt), sqlite_settings.secret_key) for salt in salts]
        async with serve(pulse_env(sqlite_settings)) as base_url:
            yield Site(base_url, opened, links)


async def _check(page: Page, folder: Path, name: str) -> None:
    """At every width: a screenshot, no sideways scrolling, no axe violation."""
    for label, width in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": 900})
        await page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
        extra = await scrolls_sideways(page)
        assert extra <= 0, f"{name} scrolls sideways by {extra}px at {width}px"
        await assert_accessible(page, f"{name} at {width}px")


async def test_every_survey_page_passes_axe_in_every_language_at_every_width(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    page = await browser.new_page()
    used = f"{site.base_url}/s/{site.links[-1]}"
    await page.goto(used)
    await page.locator(f"#field-{site.round.item_keys[0]} label").first.click()
    await page.get_by_role("button").click()
    await page.wait_for_url("**/s/thanks*")
    for locale in i18n.available_locales():
        lang = f"?lang={locale}"
        await page.goto(f"{site.base_url}/s/{site.links[0]}{lang}")
        assert await page.get_attribute("html", "lang") == i18n.html_lang(locale)
        await _check(page, tmp_path, f"survey-{locale}")
        await page.locator("details summary").click()  # the disclosure, open
        await assert_accessible(page, f"survey-{locale} with the details open")
        await page.locator("form button[type=submit]").click()  # nothing answered: the problems page
        assert await page.get_by_role("alert").is_visible()
        await _check(page, tmp_path, f"survey-problems-{locale}")
        await page.goto(f"{site.base_url}/s/thanks{lang}")
        await _check(page, tmp_path, f"thanks-{locale}")
        await page.goto(f"{site.base_url}/s/{'x' * 43}{lang}")
        await _check(page, tmp_path, f"unknown-link-{locale}")
        await page.goto(f"{used}{lang}")
        await _check(page, tmp_path, f"used-link-{locale}")


async def test_the_accessibility_check_fails_on_a_page_with_a_planted_violation(site: Site, browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(f"{site.base_url}/s/{site.links[0]}")
    assert await violations(page) == []
    # An unlabelled input and an image without a text alternative: what the check exists to catch.
    await page.evaluate(
        """() => {
            document.querySelector('form').insertAdjacentHTML('afterbegin',
                '<input type="text" name="planted"><img src="/static/none.png" width="20" height="20">');
        }"""
    )
    found = await violations(page)
    assert any(line.startswith("label ") for line in found), found
    assert any(line.startswith("image-alt ") for line in found), found
    with pytest.raises(AssertionError, match=r"WCAG 2\.2 AA violations"):
        await assert_accessible(page, "the planted page")


async def test_the_survey_page_is_under_50_kb_with_no_fonts_and_no_script_and_works_without_javascript(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    context = await browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 800})
    page = await context.new_page()
    responses: list[Response] = []
    weights: dict[str, int] = {}
    page.on("response", lambda response: responses.append(response))
    for locale in i18n.available_locales():
        responses.clear()
        await page.goto(f"{site.base_url}/s/{site.links[1]}?lang={locale}", wait_until="load")
        total = 0
        for response in responses:
            assert response.request.resource_type in {"document", "stylesheet"}, response.url
            total += len(await response.body())
        assert total < MAX_PAGE_BYTES, f"{locale}: the survey page weighs {total} bytes"
        weights[locale] = total
        assert await page.locator("script").count() == 0
    await page.locator(f"#field-{site.round.item_keys[0]} label").nth(3).click()
    await page.get_by_role("button").click()
    await page.wait_for_url("**/s/thanks*")
    assert await page.get_attribute("html", "lang") == i18n.html_lang(i18n.available_locales()[-1])
    await context.close()
    (tmp_path / "survey-page-weight.txt").write_text(repr(weights))
