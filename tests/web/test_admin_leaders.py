"""HR and admins give leader accounts and API keys units in the web app (the Leaders page, the API keys
page): chosen from the tree, resolved by path like `pulse user create --unit`; an unknown or malformed
unit is refused with a message and changes nothing."""

from __future__ import annotations

import re

import httpx
import pytest

from pulse.models import ApiKey, AuditEvent, Department, User
from tests.web.conftest import ApiFor, ClientFor, Rounds, World, csrf_of, form_post, sign_in


async def _ids(*names: str) -> list[int]:
    return sorted([d.id for d in await Department.filter(name__in=names)])


async def test_hr_scopes_a_leader_to_units_and_back_to_the_whole_organisation(
    client_for: ClientFor, world: World, rounds: Rounds
) -> None:
    alice, bob = await client_for(world.alice), await client_for(world.bob)
    page = await alice.get("/orgs/acme/leaders")
    assert page.status_code == 200 and "bob@acme.test" in page.text and "the whole organisation" in page.text
    edit = f"/orgs/acme/leaders/{world.bob.id}"
    form = (await alice.get(edit)).text
    # Every unit of the tree is offered as a checkbox of its path.
    assert {f'name="unit" value="{name}"' in form for name in ("Sales", "Stores", "Logistics")} == {True}
    saved = await form_post(alice, edit, edit, {"scope": "units", "unit": ["Stores", "logistics"]})
    assert saved.status_code == 303 and saved.headers["location"] == "/orgs/acme/leaders"
    assert "bob@acme.test now reads: Logistics, Stores." in (await alice.get("/orgs/acme/leaders")).text
    assert (await User.get(id=world.bob.id)).unit_ids == await _ids("Stores", "Logistics")
    # From the leader's next click on, they read their units only.
    model = (await bob.get(f"/reports/{rounds.acme_closed}/download/json")).json()
    assert {d["name"] for d in model["departments"]} == {"Stores", "Logistics"}
    event = await AuditEvent.get(action="user.scope")
    assert (event.actor, event.detail) == (
        "alice@acme.test",
        {"user": "bob@acme.test", "units": ["Stores", "Logistics"]},
    )
    back = await form_post(alice, edit, edit, {"scope": "whole"})
    assert back.status_code == 303 and (await User.get(id=world.bob.id)).unit_ids is None
    model = (await bob.get(f"/reports/{rounds.acme_closed}/download/json")).json()
    assert {d["name"] for d in model["departments"]} == {"Sales", "Stores", "Logistics"}


async def test_an_unknown_or_malformed_unit_or_no_unit_is_refused_and_nothing_changes(
    client_for: ClientFor, world: World
) -> None:
    alice = await client_for(world.alice)
    edit = f"/orgs/acme/leaders/{world.bob.id}"
    await form_post(alice, edit, edit, {"scope": "units", "unit": "Stores"})
    before = (await User.get(id=world.bob.id)).unit_ids
    events = await AuditEvent.filter(action="user.scope").count()
    for data, message in (
        ({"scope": "units", "unit": ["Sales", "Retail / West"]}, "No unit &#39;Retail / West&#39;"),
        ({"scope": "units", "unit": "Sales //"}, "has an empty level"),
        ({"scope": "units"}, "Tick at least one unit"),
        ({"scope": "everything"}, "Choose the whole organisation or some units"),
    ):
        refused = await form_post(alice, edit, edit, data)
        assert refused.status_code == 422 and message in refused.text, (data, refused.text[-2000:])
        assert 'role="alert"' in refused.text
    assert (await User.get(id=world.bob.id)).unit_ids == before
    assert await AuditEvent.filter(action="user.scope").count() == events
    # What was ticked is shown again, so a slip is one click to fix.
    again = await form_post(alice, edit, edit, {"scope": "units", "unit": ["Sales", "Retail / West"]})
    assert 'value="Sales" checked' in again.text


async def test_only_hr_and_admins_of_the_organisation_edit_its_leaders(client_for: ClientFor, world: World) -> None:
    edit = f"/orgs/acme/leaders/{world.bob.id}"
    bob = await client_for(world.bob)
    assert (await bob.get("/orgs/acme/leaders")).status_code == 403
    charlie = await client_for(world.charlie)  # HR of globex
    assert (await charlie.get(edit)).status_code == 404
    alice = await client_for(world.alice)
    # Alice is HR, not a leader: answered like an account that does not exist.
    assert (await alice.get(f"/orgs/acme/leaders/{world.alice.id}")).status_code == 404
    assert (await alice.get("/orgs/acme/leaders/99999999999")).status_code == 404
    admin = await client_for(world.admin)
    assert (await admin.get(edit)).status_code == 200
    users_page = (await admin.get("/users")).text
    assert f'href="{edit}"' in users_page and "the whole organisation" in users_page


async def test_hr_adds_a_scoped_leader_with_a_one_time_password(
    client_for: ClientFor, world: World, rounds: Rounds
) -> None:
    alice = await client_for(world.alice)
    created = await form_post(
        alice,
        "/orgs/acme/leaders",
        "/orgs/acme/leaders",
        {"email": "Dana@Acme.test", "name": "Dana", "scope": "units", "unit": "Sales"},
    )
    assert created.status_code == 200 and "shown only once" in created.text
    match = re.search(r'id="new-password" class="key" readonly value="([^"]+)"', created.text)
    assert match is not None
    dana = await User.get(email="dana@acme.test")
    assert (dana.role.value, dana.unit_ids, dana.must_change_password) == ("leader", await _ids("Sales"), True)
    client: httpx.AsyncClient = await client_for(None)
    assert (await sign_in(client, "dana@acme.test", match.group(1))).status_code == 303
    assert (await client.get("/orgs/acme/reports")).headers["location"] == "/account"  # choose a password first
    twice = await form_post(
        alice, "/orgs/acme/leaders", "/orgs/acme/leaders", {"email": "dana@acme.test", "scope": "whole"}
    )
    assert twice.status_code == 409 and "already exists" in twice.text
    unknown = await form_post(
        alice, "/orgs/acme/leaders", "/orgs/acme/leaders", {"email": "eve@acme.test", "scope": "units", "unit": "HQ"}
    )
    assert unknown.status_code == 422 and "No unit &#39;HQ&#39;" in unknown.text
    assert not await User.exists(email="eve@acme.test")


async def test_hr_creates_a_key_that_reads_only_some_units_reports(
    client_for: ClientFor, api_for: ApiFor, world: World, rounds: Rounds
) -> None:
    alice = await client_for(world.alice)
    created = await form_post(
        alice, "/orgs/acme/keys", "/orgs/acme/keys", {"name": "Stores board", "scope": "units", "unit": "Stores"}
    )
    assert created.status_code == 200
    match = re.search(r'value="(pulse_[^"]+)"', created.text)
    assert match is not None
    api = api_for(match.group(1))
    model = (await api.get(f"/api/v1/rounds/{rounds.acme_closed}/report")).json()
    assert [d["name"] for d in model["departments"]] == ["Stores"]
    assert (await api.get(f"/api/v1/rounds/{rounds.acme_closed}")).status_code == 403  # reports only
    listing = await alice.get("/orgs/acme/keys")
    assert re.search(
        r"Stores board</td><td><code>[^<]+</code></td>\s*<td><ul class=\"plain\"><li>Stores</li>", listing.text
    )
    refused = await form_post(
        alice, "/orgs/acme/keys", "/orgs/acme/keys", {"name": "Bad", "scope": "units", "unit": ["Stores", "Nowhere"]}
    )
    assert refused.status_code == 422 and "No unit &#39;Nowhere&#39;" in refused.text
    assert not await ApiKey.exists(name="Bad")
    # A key of the whole API, as before.
    plain = await form_post(alice, "/orgs/acme/keys", "/orgs/acme/keys", {"name": "HRIS", "scope": "whole"})
    assert plain.status_code == 200 and (await ApiKey.get(name="HRIS")).unit_ids is None


async def _a_wide_tree(world: World, units: int) -> list[str]:
    """Acme gets `units` more units (Region N / Store M, one person each); returns the stores' paths."""
    from datetime import timedelta

    from pulse import clock
    from pulse.models import Person
    from pulse.services.people import import_people
    from tests.web.conftest import people_csv

    paths = [f"Region {i // 50} / Store {i}" for i in range(units)]
    await import_people(world.acme, people_csv({"Sales": 6, "Stores": 7, "Logistics": 2, **dict.fromkeys(paths, 1)}))
    await Person.all().update(joined_at=clock.now() - timedelta(days=60))  # long-standing, not newcomers
    return paths


async def test_a_leader_can_be_given_hundreds_of_units_in_one_form_and_other_forms_keep_the_usual_limit(
    client_for: ClientFor, world: World
) -> None:
    """Each ticked unit is a form field: the pages with the unit picker take one field per unit of the
    organisation on top of the usual 200, other forms keep 200 (a refusal in the reader's language)."""
    stores = await _a_wide_tree(world, 300)
    alice = await client_for(world.alice)
    edit = f"/orgs/acme/leaders/{world.bob.id}"
    saved = await form_post(alice, edit, edit, {"scope": "units", "unit": stores[:290]})
    assert saved.status_code == 303, saved.text[-2000:]
    assert len((await User.get(id=world.bob.id)).unit_ids or []) == 290
    created = await form_post(
        alice, "/orgs/acme/leaders", "/orgs/acme/leaders", {"email": "dana@acme.test", "scope": "units", "unit": stores}
    )
    assert created.status_code == 200 and len((await User.get(email="dana@acme.test")).unit_ids or []) == 300
    # A round for 250 stores (250 people): the rounds form takes them too.
    opened = await form_post(alice, "/orgs/acme/rounds", "/orgs/acme/rounds", {"scope": "units", "unit": stores[:250]})
    assert opened.status_code == 303, opened.text[-2000:]
    # A form without the picker refuses 250 fields, saying so, and changes nothing.
    refused = await form_post(
        alice, "/orgs/acme/people", "/orgs/acme/people/deactivate", {"email": "sales0@acme.test", "q": ["x"] * 250}
    )
    assert refused.status_code == 400
    assert "The form sent more than 200 fields, more than this page takes: nothing was saved." in refused.text
    from pulse.models import Person

    assert (await Person.get(email="sales0@acme.test")).active


async def test_the_unit_forms_limit_is_capped_and_follows_only_the_readers_own_organisation(
    client_for: ClientFor, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulse.web.admin import unit_choice

    stores = await _a_wide_tree(world, 300)
    monkeypatch.setattr(unit_choice, "MAX_UNIT_CHOICES", 100)
    alice = await client_for(world.alice)
    await User.filter(id=world.alice.id).update(locale="fr")
    edit = f"/orgs/acme/leaders/{world.bob.id}"
    refused = await form_post(alice, edit, edit, {"scope": "units", "unit": stores})
    assert refused.status_code == 400
    assert "Le formulaire a envoyé plus de 300 champs" in refused.text, refused.text[-2000:]
    assert (await User.get(id=world.bob.id)).unit_ids is None
    # HR of another organisation gets the usual limit here (the page then refuses them as before).
    charlie = await client_for(world.charlie)
    token = csrf_of((await charlie.get("/orgs/globex/leaders")).text)
    outsider = await charlie.post(edit, data={"csrf_token": token, "scope": "units", "unit": stores[:250]})
    assert outsider.status_code == 400 and "more than 200 fields" in outsider.text
    assert (await charlie.post(edit, data={"csrf_token": token, "scope": "whole"})).status_code == 404
