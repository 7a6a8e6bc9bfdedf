"""SCIM 2.0 refusals and rules: tokens, other organisations' people, malformed bodies, uniqueness, and
that every change goes through the people service (validation messages, audit records, erasure)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pulse.models import AuditEvent, Department, Person, ScimIdentity
from pulse.services.scim import create_scim_token, revoke_scim_token
from pulse.settings import Settings
from tests.web.conftest import BASE_URL, StatefulApp, World, answer

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def user_body(user_name: str, email: str | None = None, department: str = "Stores", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [USER, ENTERPRISE],
        "userName": user_name,
        "displayName": f"Person {user_name}",
        "emails": [{"value": email or user_name, "type": "work", "primary": True}],
        "active": True,
        ENTERPRISE: {"department": department},
    }
    body.update(extra)
    return body


class Scim:
    """An httpx client on /scim/v2 with one organisation's token."""

    def __init__(self, app: StatefulApp, token: str | None) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"{BASE_URL}/scim/v2", headers=headers
        )
        self.prefix = (token or "")[:16]

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post("/Users", json=body)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data


@pytest.fixture
async def acme_scim(app: StatefulApp, world: World) -> Any:
    _, token = await create_scim_token(world.acme, "HRIS")
    client = Scim(app, token)
    yield client
    await client.http.aclose()


@pytest.fixture
async def globex_scim(app: StatefulApp, world: World) -> Any:
    _, token = await create_scim_token(world.globex, "globex HRIS")
    client = Scim(app, token)
    yield client
    await client.http.aclose()


def assert_scim_error(response: httpx.Response, status: int, scim_type: str | None = None) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    data = response.json()
    assert data["schemas"] == [ERROR] and data["status"] == str(status)
    if scim_type is not None:
        assert data.get("scimType") == scim_type, data
    detail: str = data["detail"]
    return detail


@pytest.mark.parametrize("header", [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer pulse_scim_wrong", "Bearer pulse_x"])
async def test_requests_without_a_valid_token_are_refused(app: StatefulApp, world: World, header: str | None) -> None:
    headers = {"authorization": header} if header else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        for method, path in [("GET", "/scim/v2/Users"), ("POST", "/scim/v2/Users"), ("GET", "/scim/v2/Schemas")]:
            response = await client.request(method, path, headers=headers, json=user_body("x@acme.test"))
            assert_scim_error(response, 401)
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert not await Person.exists(email="x@acme.test")


async def test_a_revoked_token_and_an_api_key_are_refused(
    app: StatefulApp, world: World, acme_scim: Scim, keys: Any
) -> None:
    assert (await acme_scim.http.get("/Users")).status_code == 200
    token = await create_scim_token(world.acme, "old")
    await revoke_scim_token(token[0].id)
    revoked = Scim(app, token[1])
    assert_scim_error(await revoked.http.get("/Users"), 401)
    # An API key is not a SCIM token (and a SCIM token is not an API key).
    assert_scim_error(await Scim(app, keys.acme).http.get("/Users"), 401)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        api = await client.get("/api/v1/people", headers={"authorization": f"Bearer {token[1]}"})
    assert api.status_code == 401


async def test_another_organisations_people_are_not_found_and_not_touched(
    world: World, acme_scim: Scim, globex_scim: Scim
) -> None:
    created = await globex_scim.create(user_body("gina@globex.test", department="Research"))
    olga = await Person.get(email="research0@globex.test")
    for user_id in (created["id"], str(olga.id)):
        assert_scim_error(await acme_scim.http.get(f"/Users/{user_id}"), 404)
        replaced = await acme_scim.http.put(f"/Users/{user_id}", json=user_body("mallory@acme.test"))
        assert_scim_error(replaced, 404)
        patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]}
        assert_scim_error(await acme_scim.http.patch(f"/Users/{user_id}", json=patch), 404)
        assert_scim_error(await acme_scim.http.delete(f"/Users/{user_id}"), 404)
    listed = (await acme_scim.http.get('/Users?filter=userName eq "gina@globex.test"')).json()
    assert listed["totalResults"] == 0
    everyone = (await acme_scim.http.get("/Users?count=500")).json()
    assert all(r["emails"][0]["value"].endswith("@acme.test") for r in everyone["Resources"])
    gina = await Person.get(email="gina@globex.test")
    assert gina.active and gina.name == "Person gina@globex.test"
    assert await Person.exists(id=olga.id, active=True)


@pytest.mark.parametrize(
    ("body", "scim_type", "detail"),
    [
        (b"{not json", "invalidSyntax", "not JSON"),
        (b"[1, 2]", "invalidSyntax", "not a JSON object"),
        ({"userName": "a@acme.test"}, "invalidSyntax", "schemas must include"),
        ({**user_body("a@acme.test"), "userName": None}, "invalidValue", "userName"),
        ({**user_body("a@acme.test"), "displayName": 42}, "invalidValue", "displayName"),
        ({**user_body("a@acme.test"), "active": "sometimes"}, "invalidValue", "active"),
        (user_body("not-an-address", email="not an address"), "invalidValue", "malformed email"),
        (user_body("b@acme.test", department="   "), "invalidValue", "department is empty"),
        ({**user_body("c@acme.test"), "displayName": "x" * 201}, "invalidValue", "name is longer than 200"),
        ({**user_body("d@acme.test"), "displayName": "tab\x07bell"}, "invalidValue", "control characters"),
        ({**user_body("e@acme.test"), ENTERPRISE: "Stores"}, "invalidValue", None),
        ({**user_body("f@acme.test"), "emails": "f@acme.test"}, "invalidValue", "emails"),
    ],
)
async def test_malformed_bodies_are_refused_with_a_scim_error_and_change_nothing(
    acme_scim: Scim, body: bytes | dict[str, Any], scim_type: str, detail: str | None
) -> None:
    before = await Person.all().count()
    if isinstance(body, bytes):
        response = await acme_scim.http.post("/Users", content=body, headers={"content-type": "application/scim+json"})
    else:
        response = await acme_scim.http.post("/Users", json=body)
    message = assert_scim_error(response, 400, scim_type)
    if detail is not None:
        assert detail in message
    assert await Person.all().count() == before


@pytest.mark.parametrize(
    ("operations", "scim_type"),
    [
        ("replace active", None),
        ([{"op": "explode", "path": "active", "value": False}], "invalidValue"),
        ([{"op": "replace", "path": "active", "value": "sometimes"}], "invalidValue"),
        ([{"op": "replace", "path": "emails[value eq", "value": "x"}], None),
        ([], "invalidValue"),
        ([{"op": "replace", "path": "emails", "value": [{"value": "not an address"}]}], "invalidValue"),
    ],
)
async def test_malformed_patches_are_refused(acme_scim: Scim, operations: Any, scim_type: str | None) -> None:
    created = await acme_scim.create(user_body("pat@acme.test"))
    response = await acme_scim.http.patch(
        f"/Users/{created['id']}", json={"schemas": [PATCH], "Operations": operations}
    )
    assert_scim_error(response, 400, scim_type)
    person = await Person.get(email="pat@acme.test")
    assert person.active


@pytest.mark.parametrize(
    "query",
    [
        'filter=displayName eq "x"',
        'filter=userName sw "a"',
        'filter=userName eq "unterminated',
        "startIndex=abc",
        "count=-",
    ],
)
async def test_unsupported_filters_and_bad_pages_are_refused(acme_scim: Scim, query: str) -> None:
    assert_scim_error(await acme_scim.http.get(f"/Users?{query}"), 400)


async def test_user_names_and_addresses_are_unique(acme_scim: Scim) -> None:
    await acme_scim.create(user_body("ann@acme.test"))
    again = await acme_scim.http.post("/Users", json=user_body("ANN@acme.test", email="ann2@acme.test"))
    assert "ann@acme.test" in assert_scim_error(again, 409, "uniqueness")
    same_address = await acme_scim.http.post("/Users", json=user_body("ann-two", email="Ann@Acme.test"))
    assert_scim_error(same_address, 409, "uniqueness")
    other = await acme_scim.create(user_body("zoe@acme.test"))
    stolen = await acme_scim.http.put(f"/Users/{other['id']}", json=user_body("zoe@acme.test", email="ann@acme.test"))
    assert_scim_error(stolen, 409)
    assert await Person.get(id=int(other["id"])).values_list("email", flat=True) == "zoe@acme.test"


async def test_scim_writes_through_the_people_service(world: World, acme_scim: Scim) -> None:
    created = await acme_scim.create(
        user_body("Kim@Acme.test", department="  Night   shift ", externalId="hr-42", name={"givenName": "K"})
    )
    assert created["userName"] == "kim@acme.test"
    assert created["emails"] == [{"value": "kim@acme.test"}]
    assert created[ENTERPRISE] == {"department": "Night shift"}
    assert created["meta"]["location"].endswith(f"/scim/v2/Users/{created['id']}")
    person = await Person.get(id=int(created["id"]))
    assert (person.email, person.name, person.role, person.locale) == (
        "kim@acme.test",
        "Person Kim@Acme.test",
        "employee",
        "en",
    )
    assert await Department.exists(organization=world.acme, name="Night shift")
    events = await AuditEvent.filter(actor=acme_scim.prefix.join(["scim:", ""])).values_list("action", "detail")
    # The import's audit record: its summary counts (and, since the directory audit, counts per department).
    summary = {"created": 1, "updated": 0, "unchanged": 0, "deactivated": 0, "reactivated": 0, "departments_created": 1}
    assert any(action == "people.import" and summary.items() <= dict(detail).items() for action, detail in events), (
        events
    )

    # Deactivate with PATCH (RFC 7644 replace), then a name change; the role HR gave stays.
    await Person.filter(id=person.id).update(role="manager")
    patch = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "replace", "path": "active", "value": False},
            {"op": "replace", "value": {"displayName": "Kim Lee", "title": "Boss"}},
        ],
    }
    patched = await acme_scim.http.patch(f"/Users/{created['id']}", json=patch)
    assert patched.status_code == 200, patched.text
    assert (patched.json()["active"], patched.json()["displayName"]) == (False, "Kim Lee")
    person = await Person.get(id=person.id)
    assert (person.active, person.name, person.role) == (False, "Kim Lee", "manager")
    assert "people.deactivate" in await AuditEvent.all().values_list("action", flat=True)

    # A new address keeps the same person (and their invitations).
    moved = await acme_scim.http.put(
        f"/Users/{created['id']}", json=user_body("kim@acme.test", email="kim.lee@acme.test")
    )
    assert moved.status_code == 200, moved.text
    assert (await Person.get(id=person.id)).email == "kim.lee@acme.test"

    # DELETE erases, as `pulse people erase` does: the person, their SCIM identity, their address in the audit log.
    deleted = await acme_scim.http.delete(f"/Users/{created['id']}")
    assert deleted.status_code == 204
    assert not await Person.exists(id=person.id)
    assert not await ScimIdentity.exists(person_id=person.id)
    assert "people.erase" in await AuditEvent.all().values_list("action", flat=True)
    assert_scim_error(await acme_scim.http.get(f"/Users/{created['id']}"), 404)


async def test_a_person_imported_from_csv_is_taken_over_not_duplicated(acme_scim: Scim) -> None:
    imported = await Person.get(email="sales0@acme.test")
    created = await acme_scim.create(user_body("s0", email="sales0@acme.test", department="Sales"))
    assert created["id"] == str(imported.id)
    assert await Person.filter(email="sales0@acme.test").count() == 1
    # Found by the userName the SCIM client gave it; CSV people are listed with their address as userName.
    found = (await acme_scim.http.get('/Users?filter=userName eq "S0"')).json()
    assert [r["id"] for r in found["Resources"]] == [created["id"]]
    by_address = (await acme_scim.http.get('/Users?filter=userName eq "sales1@acme.test"')).json()
    assert by_address["totalResults"] == 1


async def test_lists_come_in_pages(acme_scim: Scim) -> None:
    total = await Person.filter(organization__slug="acme").count()
    first = (await acme_scim.http.get("/Users?startIndex=1&count=4")).json()
    second = (await acme_scim.http.get("/Users?startIndex=5&count=4")).json()
    assert first["totalResults"] == second["totalResults"] == total == 15
    assert (first["startIndex"], first["itemsPerPage"], second["startIndex"]) == (1, 4, 5)
    ids = [r["id"] for r in first["Resources"] + second["Resources"]]
    assert len(set(ids)) == 8
    counted = (await acme_scim.http.get("/Users?count=0")).json()
    assert counted["totalResults"] == 15 and "Resources" not in counted
    for start in ("100", "99999999999999999999999"):
        beyond = (await acme_scim.http.get(f"/Users?startIndex={start}")).json()
        assert beyond["totalResults"] == 15 and "Resources" not in beyond


async def test_scim_output_says_nothing_about_who_answered(db: Settings, world: World, acme_scim: Scim) -> None:
    # The attacker holds a SCIM token and reads the directory before and after people answer.
    from pulse.services.rounds import open_round

    before = (await acme_scim.http.get("/Users?count=500")).json()
    opened = await open_round(world.acme)
    after_invitations = (await acme_scim.http.get("/Users?count=500")).json()
    await answer(opened.id, db.secret_key, 7)
    after_answers = (await acme_scim.http.get("/Users?count=500")).json()
    assert before == after_invitations == after_answers


async def test_an_entra_style_patch_is_understood(acme_scim: Scim) -> None:
    # What Entra ID sends: capitalised ops, "False" as a string, a filtered email path, attributes Pulse
    # does not keep (they are ignored), and the enterprise extension's department by its full path.
    created = await acme_scim.create(user_body("eve@acme.test"))
    operations = [
        {"op": "Replace", "path": "displayName", "value": "Eve Adams"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "eve.adams@acme.test"},
        {"op": "Add", "path": "name.givenName", "value": "Eve"},
        {"op": "Add", "path": "preferredLanguage", "value": "fr-FR"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Logistics"},
        {"op": "Replace", "path": "active", "value": "False"},
    ]
    response = await acme_scim.http.patch(
        f"/Users/{created['id']}", json={"schemas": [PATCH], "Operations": operations}
    )
    assert response.status_code == 200, response.text
    person = await Person.get(id=int(created["id"])).prefetch_related("department")
    assert (person.name, person.email, person.department.name, person.active) == (
        "Eve Adams",
        "eve.adams@acme.test",
        "Logistics",
        False,
    )
    only_unkept = [{"op": "Add", "path": "title", "value": "Boss"}]
    unchanged = await acme_scim.http.patch(
        f"/Users/{created['id']}", json={"schemas": [PATCH], "Operations": only_unkept}
    )
    assert unchanged.status_code == 200 and unchanged.json()["displayName"] == "Eve Adams"
