from __future__ import annotations

import re
from datetime import timedelta

import pytest

from pulse import clock
from pulse.models import Person, User
from pulse.services.people import import_people
from tests.web.conftest import ClientFor, World, people_csv


async def test_hr_and_leaders_see_who_was_added_moved_and_removed_in_counts_per_department(
    client_for: ClientFor, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    padded = people_csv({"Sales": 6, "Stores": 7, "Logistics": 2}).decode() + "".join(
        f"pad{i}@acme.test,Pad {i},Logistics\n" for i in range(4)
    )
    await import_people(world.acme, padded, actor="alice@acme.test")
    moved = padded.replace("sales0@acme.test,Sales Person 0,Sales", "sales0@acme.test,Sales Person 0,Logistics")
    await import_people(world.acme, moved, deactivate_missing=True, actor="alice@acme.test")
    for user in (world.alice, world.bob):  # HR and a leader read the same page
        client = await client_for(user)
        page = await client.get("/orgs/acme/audit")
        assert page.status_code == 200
        text = page.text
        assert "Logistics: 4 added" in text
        assert "Logistics: 1 moved in" in text and "Sales: 1 moved out" in text
        assert "alice@acme.test" in text
        assert "pad0@acme.test" not in text and "Pad 0" not in text  # counts, never who
        # Newcomers now: the four padded addresses and the one who moved, in Logistics.
        assert '<td>Logistics</td><td class="num">5</td>' in text
    # In French a row's changes are separated the French way, with a space before each semicolon.
    await User.filter(id=world.alice.id).update(locale="fr")
    french = (await (await client_for(await User.get(id=world.alice.id))).get("/orgs/acme/audit")).text
    rows = re.findall(r"<td>((?:Sales|Stores|Logistics) :[^<]*)</td>", french)
    assert any(" ; " in row for row in rows), rows
    assert not any(re.search(r"\S; ", row) for row in rows), rows
    await User.filter(id=world.alice.id).update(locale=None)
    # After the quarantine, they are long-standing: nobody is a newcomer any more.
    later = clock.now() + timedelta(days=29)
    monkeypatch.setattr(clock, "now", lambda: later)
    alice = await client_for(world.alice)
    assert "Nobody joined or changed department in the last 28 days" in (await alice.get("/orgs/acme/audit")).text
    assert await Person.filter(organization=world.acme, email="pad0@acme.test").exists()


async def test_another_organisation_cannot_read_the_audit(client_for: ClientFor, world: World) -> None:
    charlie = await client_for(world.charlie)
    assert (await charlie.get("/orgs/acme/audit")).status_code == 404
