"""A report's units, level by level (/reports/{id}/units/...): one heatmap per level, plain links down
and a breadcrumb up; every figure is the stored model's own, hidden units stay hidden, and a scoped
leader starts at their scope and gets 404 for anything outside it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from pulse.models import Organization, Report, User, UserRole
from pulse.services.organizations import create_organization
from pulse.services.people import import_people
from pulse.services.reports import build_report
from pulse.services.rounds import close_round, open_round
from pulse.services.users import create_user
from pulse.settings import Settings
from tests.web.conftest import PASSWORD, ClientFor, answer

#: unit -> people; Store 4 (2) and Legal (3) are below k = 5; North has people of its own beside its stores.
SIZES = {
    "Retail / North": 6,
    "Retail / North / Store 1": 10,
    "Retail / North / Store 2": 10,
    "Retail / South / Store 3": 10,
    "Retail / South / Store 4": 2,
    "Operations / Warehouse": 10,
    "Legal": 3,
}
NOT_NORTH = ("South", "Store 3", "Store 4", "Operations", "Warehouse", "Legal")


@dataclass
class Site:
    org: Organization
    round_id: int
    model: dict[str, Any]
    hr: User
    north: User  # leader scoped to Retail / North
    two: User  # leader scoped to Store 1 and Operations / Warehouse


@pytest.fixture
async def site(db: Settings, quick_pdf: None) -> Site:
    org = await create_organization("treeco", "Tree Co")
    lines = ["email,name,department"]
    lines += [f"p{u}-{i}@treeco.test,P {u} {i},{unit}" for u, unit in enumerate(SIZES) for i in range(SIZES[unit])]
    await import_people(org, ("\n".join(lines) + "\n").encode())
    opened = await open_round(org)
    await answer(opened.id, db.secret_key, sum(SIZES.values()))
    await close_round(opened.id)
    await build_report(opened.id, db)
    stored = await Report.get(round_id=opened.id)
    return Site(
        org=org,
        round_id=opened.id,
        model=dict(stored.model or {}),
        hr=await create_user("hr@treeco.test", PASSWORD, role=UserRole.HR, organization=org),
        north=await create_user(
            "north@treeco.test", PASSWORD, role=UserRole.LEADER, organization=org, units=["Retail / North"]
        ),
        two=await create_user(
            "two@treeco.test",
            PASSWORD,
            role=UserRole.LEADER,
            organization=org,
            units=["Retail / North / Store 1", "Operations / Warehouse"],
        ),
    )


def _url(site: Site, *levels: str) -> str:
    return f"/reports/{site.round_id}/units" + "".join("/" + quote(level, safe="") for level in levels)


def _rows(html: str) -> dict[str, str]:
    """Row key -> the row's HTML, for each row of the heatmap. The key is the unit's name, with " (all)"
    for the page's unit as a whole and " (itself)" for the people sitting in it."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows: dict[str, str] = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S):
        header = re.search(r'<th scope="row">(?:<a href="[^"]*">)?([^<]+)', row)
        assert header is not None, row
        key = header.group(1).strip()
        key += " (all)" if "everything in it" in row else " (itself)" if "people in the unit itself" in row else ""
        rows[key] = row
    return rows


def _shown_scores(row: str) -> list[int]:
    return [int(n) for n in re.findall(r'<span class="score">(\d+)</span>', row)]


def _entry(site: Site, name: str, *, pooled: bool = False) -> dict[str, Any]:
    return next(d for d in site.model["units" if pooled else "departments"] if d["name"] == name)


def _released_scores(site: Site, name: str, *, pooled: bool = False) -> list[int]:
    entry = _entry(site, name, pooled=pooled)
    return [round(entry["scores"][d["key"]]["mean"]) for d in site.model["dimensions"] if d["key"] in entry["scores"]]


async def test_the_top_level_is_a_heatmap_of_the_top_units_with_links_into_those_that_have_units_inside(
    site: Site, client_for: ClientFor
) -> None:
    hr = await client_for(site.hr)
    page = await hr.get(_url(site))
    assert page.status_code == 200
    rows = _rows(page.text)
    assert list(rows) == ["Legal", "Operations", "Retail", "Whole organisation"]
    assert (
        f'href="{_url(site, "Retail")}"' in rows["Retail"]
        and f'href="{_url(site, "Operations")}"' in rows["Operations"]
    )
    assert "<a " not in rows["Legal"] and "not shown: too few answers" in rows["Legal"]
    # Retail as a whole is the model's pooled entry (nobody sits in Retail itself).
    assert _shown_scores(rows["Retail"]) == _released_scores(site, "Retail", pooled=True) != []
    assert "Store 1" not in page.text  # one level at a time
    # The report page and the overview's latest report link here.
    assert f'href="{_url(site)}"' in (await hr.get(f"/reports/{site.round_id}")).text
    assert f'href="{_url(site)}"' in (await hr.get("/orgs/treeco")).text


async def test_drilling_down_shows_the_unit_its_own_people_and_its_children_with_the_models_figures(
    site: Site, client_for: ClientFor
) -> None:
    hr = await client_for(site.hr)
    retail = await hr.get(_url(site, "Retail"))
    assert list(_rows(retail.text)) == ["Retail (all)", "North", "South", "Whole organisation"]
    assert f'<a href="{_url(site)}">Tree Co</a>' in retail.text
    assert '<span aria-current="page">Retail</span>' in retail.text
    north = await hr.get(_url(site, "Retail", "North"))
    rows = _rows(north.text)
    assert list(rows) == ["North (all)", "North (itself)", "Store 1", "Store 2", "Whole organisation"]
    assert _shown_scores(rows["North (all)"]) == _released_scores(site, "Retail / North", pooled=True)
    for key, name in (("North (itself)", "Retail / North"), ("Store 1", "Retail / North / Store 1")):
        entry = _entry(site, name)
        assert _shown_scores(rows[key]) == ([] if entry["suppressed"] else _released_scores(site, name))
    assert f'<a href="{_url(site, "Retail")}">Retail</a>' in north.text
    # Spelling does not matter, as everywhere units are named.
    assert (await hr.get(_url(site, "retail", "NORTH"))).status_code == 200


async def test_no_page_of_the_drill_down_shows_a_figure_the_report_did_not_release(
    site: Site, client_for: ClientFor
) -> None:
    """Playing a reader who collects every number of every level: each row's numbers are exactly one
    released entry of the stored model (pooled for a unit with units inside, else its department's), and a
    hidden entry's row holds no number at all."""
    hr = await client_for(site.hr)
    released = {("own", d["name"]): d for d in site.model["departments"]}
    released |= {("pooled", u["name"]): u for u in site.model["units"]}
    inner = {u["name"] for u in site.model["units"]}
    seen: dict[tuple[str, str], list[int]] = {}
    for levels in ((), ("Retail",), ("Retail", "North"), ("Retail", "South"), ("Operations",)):
        page = await hr.get(_url(site, *levels))
        for key, row in _rows(page.text).items():
            if key == "Whole organisation":
                continue
            if key.endswith(" (all)") or key.endswith(" (itself)"):
                full = " / ".join(levels)
            else:
                full = " / ".join((*levels, key))
            kind = "pooled" if full in inner and not key.endswith(" (itself)") else "own"
            seen[(kind, full)] = shown = _shown_scores(row)
            entry = released.get((kind, full))
            if entry is None or entry["suppressed"]:
                assert shown == [] and not re.search(r">\s*\d+\s*<", row.split("</th>", 1)[1]), (full, row)
            else:
                keys = [d["key"] for d in site.model["dimensions"]]
                assert shown == [round(entry["scores"][k]["mean"]) for k in keys if k in entry["scores"]]
    assert seen[("own", "Retail / South / Store 4")] == [] and seen[("own", "Legal")] == []
    shown_entries = {key for key, numbers in seen.items() if numbers}
    assert shown_entries == {key for key, entry in released.items() if not entry["suppressed"]}


async def test_a_scoped_leader_starts_at_their_unit_and_gets_404_outside_it(site: Site, client_for: ClientFor) -> None:
    north = await client_for(site.north)
    start = await north.get(_url(site))
    assert start.status_code == 303 and start.headers["location"] == _url(site, "Retail", "North")
    page = await north.get(_url(site, "Retail", "North"))
    assert page.status_code == 200
    assert list(_rows(page.text)) == ["North (all)", "North (itself)", "Store 1", "Store 2", "Whole organisation"]
    # Their scope is labelled with its path; the unit above it is not a page of theirs.
    assert '<span aria-current="page">Retail / North</span>' in page.text
    assert f'href="{_url(site, "Retail")}"' not in page.text
    assert [name for name in NOT_NORTH if name in page.text] == []
    store = await north.get(_url(site, "Retail", "North", "Store 1"))
    assert store.status_code == 200 and f'<a href="{_url(site, "Retail", "North")}">Retail / North</a>' in store.text
    for outside in (("Retail",), ("Retail", "South"), ("Retail", "South", "Store 3"), ("Operations",), ("Legal",)):
        refused = await north.get(_url(site, *outside))
        assert refused.status_code == 404, outside
        # Answered like a unit that does not exist, naming only what was asked for.
        assert f"o unit &#39;{' / '.join(outside)}&#39; in this report" in refused.text
        assert [name for name in NOT_NORTH if name in refused.text and name not in outside] == []


async def test_a_leader_of_several_units_starts_at_a_list_of_them(site: Site, client_for: ClientFor) -> None:
    two = await client_for(site.two)
    page = await two.get(_url(site))
    assert page.status_code == 200
    # Units of different branches, each named by its path.
    assert list(_rows(page.text)) == ["Operations / Warehouse", "Retail / North / Store 1", "Whole organisation"]
    assert '<span aria-current="page">Your scope</span>' in page.text
    assert (await two.get(_url(site, "Operations", "Warehouse"))).status_code == 200
    assert (await two.get(_url(site, "Retail", "North"))).status_code == 404
    assert (await two.get(_url(site, "Operations"))).status_code == 404


async def test_unknown_or_malformed_units_and_other_organisations_are_404(
    site: Site, client_for: ClientFor, db: Settings
) -> None:
    hr = await client_for(site.hr)
    for path in (_url(site, "Retail", "West"), _url(site, "Retail") + "//North", _url(site, " ")):
        assert (await hr.get(path)).status_code == 404, path
    other = await create_organization("other", "Other")
    outsider = await create_user("o@other.test", PASSWORD, role=UserRole.HR, organization=other)
    client: httpx.AsyncClient = await client_for(outsider)
    assert (await client.get(_url(site))).status_code == 404
    assert (await client.get(_url(site, "Retail"))).status_code == 404


def test_a_cells_colour_step_follows_the_healthy_direction_and_saturates_at_20_points() -> None:
    from pulse.web.admin.units import heat_step

    assert heat_step({"difference_from_rest": 0, "higher_is_better": True}) == 4
    assert heat_step({"difference_from_rest": 13, "higher_is_better": True}) == 1  # better: towards blue
    assert heat_step({"difference_from_rest": 13, "higher_is_better": False}) == 7  # more fear: towards orange
    assert heat_step({"difference_from_rest": -45, "higher_is_better": True}) == 8
    assert heat_step({"difference_from_rest": None, "higher_is_better": True}) == 4


def test_the_heatmap_colours_are_the_pdfs_scale_and_every_step_keeps_aa_contrast() -> None:
    from pulse.charts import diverging_colour
    from pulse.settings import PROJECT_ROOT

    css = (PROJECT_ROOT / "templates/static/pulse.css").read_text()
    rule = r"\.heat-(\d) \{ background: (#[0-9a-f]{6}); color: (#[0-9a-f]{6}); \}"
    steps = {int(s): (bg, ink) for s, bg, ink in re.findall(rule, css)}
    assert sorted(steps) == list(range(9))

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for step, (background, ink) in steps.items():
        assert background == diverging_colour((step - 4) / 4 * 20), step
        light, dark = sorted((luminance(background), luminance(ink)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, (step, background, ink)
