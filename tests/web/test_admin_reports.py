from __future__ import annotations

from typing import Any

from pulse.models import Report
from tests.web.conftest import ClientFor, Rounds, World


async def _participation(round_id: int) -> dict[str, Any]:
    """The stored report's participation: 13 people answered, released with privacy noise."""
    stored = await Report.get(round_id=round_id)
    participation: dict[str, Any] = (stored.model or {})["participation"]
    assert abs(participation["responded"] - 13) <= 4
    return participation


async def test_a_leader_reads_the_headline_numbers_and_downloads_every_format(
    client_for: ClientFor, world: World, rounds: Rounds
) -> None:
    bob = await client_for(world.bob)
    listing = await bob.get("/orgs/acme/reports")
    assert listing.status_code == 200 and f'href="/reports/{rounds.acme_closed}"' in listing.text
    page = await bob.get(f"/reports/{rounds.acme_closed}")
    assert page.status_code == 200
    responded = (await _participation(rounds.acme_closed))["responded"]
    assert f"<dt>Answered</dt><dd>{responded}</dd>" in page.text
    assert "Fear" in page.text or "fear" in page.text
    # Logistics has 2 people: hidden, with no figure.
    assert "Logistics" in page.text and "hidden: too few answers" in page.text
    for fmt, media, start in [
        ("pdf", "application/pdf", b"%PDF"),
        ("json", "application/json", b"{"),
        ("csv", "text/csv", b"department,"),
    ]:
        download = await bob.get(f"/reports/{rounds.acme_closed}/download/{fmt}")
        assert download.status_code == 200
        assert download.headers["content-type"].startswith(media)
        assert "attachment" in download.headers["content-disposition"]
        assert download.content.startswith(start)
    assert (await bob.get(f"/reports/{rounds.acme_closed}/download/docx")).status_code == 404


async def test_a_report_not_built_yet_says_so(client_for: ClientFor, world: World, rounds: Rounds) -> None:
    from pulse.models import Report

    alice = await client_for(world.alice)
    await Report.filter(round_id=rounds.acme_closed).delete()
    assert (await alice.get(f"/reports/{rounds.acme_closed}")).status_code == 404
    assert (await alice.get(f"/reports/{rounds.acme_closed}/download/pdf")).status_code == 404


async def test_an_open_round_has_no_report_page_and_says_why(
    client_for: ClientFor, world: World, rounds: Rounds
) -> None:
    alice = await client_for(world.alice)
    for path in (f"/reports/{rounds.acme_open}", f"/reports/{rounds.acme_open}/download/pdf"):
        refused = await alice.get(path)
        assert refused.status_code == 409
        assert f"Round {rounds.acme_open} is open until" in refused.text


async def test_the_overview_links_the_latest_report(client_for: ClientFor, world: World, rounds: Rounds) -> None:
    alice = await client_for(world.alice)
    page = await alice.get("/orgs/acme")
    rate = round((await _participation(rounds.acme_closed))["rate"] * 100)
    assert f'href="/reports/{rounds.acme_closed}"' in page.text and f"{rate}% answered" in page.text
