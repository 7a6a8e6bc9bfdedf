from __future__ import annotations

import re

from pulse.models import AuditEvent, Person
from tests.web.conftest import ClientFor, World, csrf_of, form_post


async def _upload(client, body: bytes, **extra: str):  # type: ignore[no-untyped-def]
    token = csrf_of((await client.get("/orgs/acme/people")).text)
    return await client.post(
        "/orgs/acme/people/import",
        data={"csrf_token": token, **extra},
        files={"file": ("people.csv", body, "text/csv")},
    )


async def test_hr_imports_a_csv_and_sees_the_summary_and_the_people(client_for: ClientFor, world: World) -> None:
    alice = await client_for(world.alice)
    body = b"email,name,department\nzoe@acme.test,Zoe Zed,Support\nyann@acme.test,Yann Y,Support\n"
    response = await _upload(alice, body)
    assert response.status_code == 303
    page = await alice.get(response.headers["location"])
    assert "Imported people.csv: 2 created, 0 updated" in page.text
    assert await Person.filter(organization_id=world.acme.id, department__name="Support").count() == 2
    found = await alice.get("/orgs/acme/people", params={"q": "zoe"})
    assert "zoe@acme.test" in found.text and "yann@acme.test" not in found.text


async def test_a_bad_csv_shows_every_problem_with_its_row_number_and_changes_nothing(
    client_for: ClientFor, world: World
) -> None:
    alice = await client_for(world.alice)
    before = await Person.all().count()
    body = b"email,name,department\nbroken,Bad Email,Sales\nok@acme.test,,Sales\nok@acme.test,Twice,Sales\n"
    response = await _upload(alice, body)
    assert response.status_code == 422
    assert "nothing was changed" in response.text
    for row in ("row 2: malformed email", "row 3: name is empty", "row 4: duplicate email ok@acme.test"):
        assert row in response.text
    assert await Person.all().count() == before


async def test_an_upload_without_a_file_is_explained(client_for: ClientFor, world: World) -> None:
    alice = await client_for(world.alice)
    token = csrf_of((await alice.get("/orgs/acme/people")).text)
    response = await alice.post("/orgs/acme/people/import", data={"csrf_token": token})
    assert response.status_code == 422 and "Choose a CSV file" in response.text


async def test_an_upload_over_the_size_limit_is_refused_with_413(db: object, world: World) -> None:
    import httpx

    from pulse.settings import Settings
    from pulse.web.app import create_app
    from tests.web.conftest import BASE_URL, people_csv, sign_in

    assert isinstance(db, Settings)
    app = create_app(db.with_overrides(max_body_size=4096), manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        await sign_in(client, "alice@acme.test")
        response = await _upload(client, people_csv({"Huge": 300}, domain="big.test"))
    assert response.status_code == 413
    assert not await Person.filter(email__endswith="@big.test").exists()


async def test_the_people_list_is_paginated(client_for: ClientFor, world: World) -> None:
    from tests.web.conftest import people_csv

    alice = await client_for(world.alice)
    assert (await _upload(alice, people_csv({"Crowd": 120}))).status_code == 303
    first = await alice.get("/orgs/acme/people")
    assert "Page 1 of 3" in first.text and 'rel="next"' in first.text
    last = await alice.get("/orgs/acme/people", params={"page": "3"})
    assert "Page 3 of 3" in last.text and 'rel="next"' not in last.text
    beyond = await alice.get("/orgs/acme/people", params={"page": "nonsense"})
    assert beyond.status_code == 200 and "Page 1 of 3" in beyond.text


async def test_hr_deactivates_and_reactivates_one_person(client_for: ClientFor, world: World) -> None:
    alice = await client_for(world.alice)
    response = await form_post(
        alice, "/orgs/acme/people", "/orgs/acme/people/deactivate", {"email": "sales0@acme.test"}
    )
    assert response.status_code == 303
    assert "was deactivated" in (await alice.get(response.headers["location"])).text
    assert not (await Person.get(email="sales0@acme.test")).active
    again = await form_post(alice, "/orgs/acme/people", "/orgs/acme/people/reactivate", {"email": "sales0@acme.test"})
    assert again.status_code == 303 and (await Person.get(email="sales0@acme.test")).active
    actions = [e.action for e in await AuditEvent.filter(organization_id=world.acme.id)]
    assert "people.deactivate" in actions and "people.reactivate" in actions
    unknown = await form_post(alice, "/orgs/acme/people", "/orgs/acme/people/deactivate", {"email": "no@acme.test"})
    assert unknown.status_code == 404


async def test_departments_show_directory_sizes(client_for: ClientFor, world: World) -> None:
    alice = await client_for(world.alice)
    page = await alice.get("/orgs/acme/departments")
    assert page.status_code == 200
    assert "Logistics" in page.text and "no: fewer than 5 people" in page.text


async def test_departments_show_the_unit_tree_with_subtree_sizes(client_for: ClientFor, world: World) -> None:
    from pulse.services.people import import_people

    await import_people(
        world.acme,
        b"email,name,department\nr1@acme.test,R1,Retail / North / Store 1\nr2@acme.test,R2,Retail/North/Store 2\n",
    )
    page = await (await client_for(world.alice)).get("/orgs/acme/departments")
    rows = re.findall(
        r'<tr data-depth="(\d)"><td[^>]*title="([^"]+)">[^<]*</td><td class="num">(\d+)</td>'
        r'<td class="num">(\d+)</td>',
        page.text,
    )
    assert ("1", "Retail", "0", "2") in rows and ("2", "Retail / North", "0", "2") in rows
    assert ("3", "Retail / North / Store 2", "1", "1") in rows
    assert [title for _, title, _, _ in rows].index("Retail") < [t for _, t, _, _ in rows].index("Retail / North")


async def test_a_file_of_many_bad_rows_lists_the_first_hundred_and_counts_the_rest(
    client_for: ClientFor, world: World
) -> None:
    alice = await client_for(world.alice)
    body = ("email,name,department\n" + "".join(f"bad{i},Name,Sales\n" for i in range(350))).encode()
    response = await _upload(alice, body)
    assert response.status_code == 422
    assert "People import rejected: 350 problems, nothing was changed." in response.text
    assert response.text.count("malformed email") == 100
    assert "row 101: malformed email &#39;bad99&#39;" in response.text and "bad100&#39;" not in response.text
    assert "<li>and 250 more</li>" in response.text
