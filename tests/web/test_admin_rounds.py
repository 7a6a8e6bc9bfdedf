from __future__ import annotations

import re
from datetime import timedelta

import pytest

from pulse import clock
from pulse.models import Invitation, Round, RoundStatus
from pulse.settings import Settings
from tests.web.conftest import ClientFor, Rounds, StatefulApp, World, answer, form_post


async def test_hr_opens_a_round_watches_participation_reminds_and_closes_it(
    app: StatefulApp, client_for: ClientFor, world: World, db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await client_for(world.alice)
    opened = await form_post(alice, "/orgs/acme/rounds", "/orgs/acme/rounds", {"closes_in_days": "5"})
    assert opened.status_code == 303
    round_id = int(opened.headers["location"].rsplit("/", 1)[1])
    queue = app.state["queue"]
    await queue.drain()
    assert not queue.failures
    page = await alice.get(f"/rounds/{round_id}")
    assert "invitations are being sent" in page.text
    assert re.search(r"<dt>Invited</dt><dd>15</dd>", page.text)
    assert re.search(r"<dt>Answered</dt><dd>fewer than 5</dd>", page.text)  # never an exact 0

    before = (await alice.get(f"/rounds/{round_id}")).text
    await answer(round_id, db.secret_key, 6)  # Sales: 6 of 6
    # Within the hour every poll shows the same snapshot: nothing tells that six people just answered.
    assert (await alice.get(f"/rounds/{round_id}")).text == before
    later = clock.now() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    page = await alice.get(f"/rounds/{round_id}")
    assert re.search(r"<dt>Answered</dt><dd>at least 5</dd>", page.text)  # rounded down to a multiple of k
    assert "<td>Sales</td>" in page.text  # 5 (6, rounded) >= k answers and 6 >= k invited: shown
    assert "<td>at least 5</td>" in page.text.replace('<td class="num">', "<td>")
    assert "<td>Stores</td>" not in page.text and "2 departments not shown separately" in page.text
    assert "@acme.test" not in page.text  # never who

    reminded = await form_post(alice, f"/rounds/{round_id}", f"/rounds/{round_id}/remind", {})
    assert reminded.status_code == 303
    await queue.drain()
    closed = await form_post(alice, f"/rounds/{round_id}", f"/rounds/{round_id}/close", {})
    assert closed.status_code == 303
    assert (await Round.get(id=round_id)).status == RoundStatus.CLOSED
    await queue.drain()
    assert not queue.failures
    listing = await alice.get("/orgs/acme/rounds")
    assert f'href="/reports/{round_id}"' in listing.text


async def test_opening_a_round_with_bad_values_explains_and_opens_nothing(client_for: ClientFor, world: World) -> None:
    alice = await client_for(world.alice)
    response = await form_post(alice, "/orgs/acme/rounds", "/orgs/acme/rounds", {"closes_in_days": "400"})
    assert response.status_code == 422 and "a round stays open 1 to 90 days" in response.text
    words = await form_post(alice, "/orgs/acme/rounds", "/orgs/acme/rounds", {"closes_in_days": "soon"})
    assert words.status_code == 422 and "is not a whole number" in words.text
    assert await Round.all().count() == 0


async def test_the_overview_shows_the_current_round_and_next_scheduled_date(
    client_for: ClientFor, world: World
) -> None:
    from pulse.services.rounds import open_round
    from pulse.services.schedules import add_schedule

    await add_schedule("acme", "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9")
    current = await open_round(world.acme)
    alice = await client_for(world.alice)
    page = await alice.get("/orgs/acme")
    assert f'href="/rounds/{current.id}"' in page.text and "Round 1" in page.text
    assert "Mon, " in page.text and "09:00" in page.text
    assert "No report yet" in page.text


async def test_reminding_a_closed_round_is_refused_with_the_rule_of_the_cli_and_the_api(
    client_for: ClientFor, world: World, rounds: Rounds
) -> None:
    alice = await client_for(world.alice)
    refused = await form_post(alice, f"/rounds/{rounds.acme_closed}", f"/rounds/{rounds.acme_closed}/remind", {})
    assert refused.status_code == 422
    assert f"Round {rounds.acme_closed} is closed: reminders go only to open rounds." in refused.text
    assert await Invitation.filter(round_id=rounds.acme_closed, reminded_at__not_isnull=True).count() == 0


async def test_hr_opens_a_round_for_some_units_and_sees_who_was_invited(
    app: StatefulApp, client_for: ClientFor, world: World
) -> None:
    """The form's unit picker, through the service of `pulse round open --unit`: Sales and Stores (13
    people, at least twice k = 5) are invited, Logistics is not; the round says whom it covers."""
    alice = await client_for(world.alice)
    form = (await alice.get("/orgs/acme/rounds")).text
    assert 'name="scope" value="whole" checked' in form
    assert {f'name="unit" value="{name}"' in form for name in ("Sales", "Stores", "Logistics")} == {True}
    assert "needs at least 10 people invited" in form
    opened = await form_post(
        alice,
        "/orgs/acme/rounds",
        "/orgs/acme/rounds",
        {"closes_in_days": "5", "scope": "units", "unit": ["stores", "Sales"]},
    )
    assert opened.status_code == 303, opened.text
    round_id = int(opened.headers["location"].rsplit("/", 1)[1])
    await app.state["queue"].drain()
    invited = await Invitation.filter(round_id=round_id).prefetch_related("person__department")
    assert sorted({i.person.department.name for i in invited}) == ["Sales", "Stores"] and len(invited) == 13
    page = (await alice.get(f"/rounds/{round_id}")).text
    assert "<dt>Who is invited</dt><dd>Sales, Stores</dd>" in page
    listing = (await alice.get("/orgs/acme/rounds")).text
    assert '<ul class="plain"><li>Sales</li><li>Stores</li></ul>' in listing
    # The whole organisation, as before: the default choice (and a form without it, from older pages).
    whole = await form_post(alice, "/orgs/acme/rounds", "/orgs/acme/rounds", {"scope": "whole", "unit": "Sales"})
    assert whole.status_code == 303
    assert (await Round.all().order_by("-id").first()).department_ids is None


@pytest.mark.parametrize(
    ("data", "english", "german"),
    [
        (
            {"scope": "units", "unit": "Stores"},
            "Scope &#39;Stores&#39; has 7 people to invite: a round for part of the organisation needs at least 10 "
            "(twice the minimum group size 5), or its organisation-wide figures would be about a few people.",
            "Im Bereich &#39;Stores&#39; sind 7 Personen einzuladen: Eine Runde für einen Teil der Organisation "
            "braucht mindestens 10",
        ),
        (
            {"scope": "units", "unit": ["Sales", "Stores / East"]},
            "Unknown department &#39;Stores / East&#39; in organisation &#39;acme&#39;.",
            "Unbekannte Abteilung &#39;Stores / East&#39; in der Organisation &#39;acme&#39;.",
        ),
        ({"scope": "units"}, "Tick at least one unit, or choose the whole organisation.", "Kreuzen Sie mindestens"),
        ({"scope": "everything"}, "Choose the whole organisation or some units.", "Wählen Sie die ganze Organisation"),
    ],
)
async def test_a_round_for_units_that_are_unknown_or_too_few_people_is_refused_in_the_readers_language(
    app: StatefulApp, client_for: ClientFor, world: World, data: dict[str, object], english: str, german: str
) -> None:
    from pulse.models import User

    alice = await client_for(world.alice)
    sent = {"closes_in_days": "6", "remind_after_days": "2", **data}
    refused = await form_post(alice, "/orgs/acme/rounds", "/orgs/acme/rounds", sent)
    assert refused.status_code == 422 and english in refused.text, refused.text[-3000:]
    assert (
        'role="alert" id="units-error"' in refused.text and 'aria-describedby="units-error units-hint"' in refused.text
    )
    # The form comes back as it was sent.
    assert 'name="closes_in_days" type="number" min="1" max="90" value="6"' in refused.text
    if data.get("unit") == "Stores":
        assert 'name="scope" value="units" checked' in refused.text and 'value="Stores" checked' in refused.text
    await User.filter(id=world.alice.id).update(locale="de")
    german_page = await form_post(alice, "/orgs/acme/rounds", "/orgs/acme/rounds", sent)
    assert german_page.status_code == 422 and german in german_page.text, german_page.text[-3000:]
    # Nothing was opened, nothing queued, nobody invited.
    await app.state["queue"].drain()
    assert await Round.all().count() == 0 and await Invitation.all().count() == 0
