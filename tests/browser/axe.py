"""axe-core (bundled by the axe-playwright-python package) at WCAG 2.2 AA, for every browser test that checks a page."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

#: Every WCAG A and AA rule axe-core knows, up to WCAG 2.2.
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
_AXE = Axe()


async def violations(page: Page) -> list[str]:
    """One line per violated rule (rule id, impact, the elements), empty when the page passes."""
    results = await _AXE.run(
        page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}, "resultTypes": ["violations"]}
    )
    found: list[dict[str, Any]] = results.response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(str(n['target']) for n in v['nodes'][:5])}"
        for v in found
    ]


async def assert_accessible(page: Page, where: str) -> None:
    found = await violations(page)
    assert not found, f"axe-core found WCAG 2.2 AA violations on {where}:\n" + "\n".join(found)


async def scrolls_sideways(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 = no horizontal scrolling)."""
    return int(await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))
