"""Nobody reaches another organisation's data: every route, as the outsider and with the outsider's key.

The routes are read from the app itself, so a new route is walked without anyone remembering to add
it here; a route with a path parameter this file does not know how to fill fails the test.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route

from pulse.models import ApiKey, Person, Round, RoundStatus, Schedule, ScimToken, User
from pulse.services.schedules import add_schedule
from pulse.settings import Settings
from pulse.web.app import _routes
from tests.web.conftest import ApiFor, ClientFor, Keys, Rounds, StatefulApp, World, csrf_of, people_csv

#: Reachable without signing in, on purpose. /s/… is the survey: its token is the credential.
PUBLIC_PREFIXES = ("/healthz", "/static", "/login", "/s/", "/api/v1/openapi.json")
#: What would give acme's data away if it appeared in a response to the outsider.
ACME_MARKERS = ("Acme Retail", "@acme.test", "acme integration", "Stores", "Logistics")


@dataclass(frozen=True)
class Call:
    method: str
    path: str

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def is_scim(self) -> bool:
        """SCIM 2.0: a bearer token of one organisation, like the API, with SCIM errors."""
        return self.path.startswith("/scim/")

    @property
    def identifies_acme(self) -> bool:
        """The URL names something of acme (SCIM's schema and resource type ids are the same for all)."""
        if self.is_scim:
            return "{user_id}" in self.path
        return "{" in self.path

    @property
    def is_public(self) -> bool:
        return self.path.startswith(PUBLIC_PREFIXES) or self.path == "/s"

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _calls(routes: list[BaseRoute]) -> list[Call]:
    calls = []
    for route in routes:
        if isinstance(route, Mount):
            continue
        if not isinstance(route, Route):
            raise AssertionError(f"unexpected route type {route!r}: teach this test about it")
        calls += [Call(method, route.path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return calls


CALLS = _calls(_routes())
PROTECTED = [call for call in CALLS if not call.is_public]


def test_the_walk_covers_every_route_of_the_app(settings: Settings) -> None:
    from pulse.web.app import create_app

    assert set(_calls(create_app(settings, manage_database=False).routes)) == set(CALLS)
    assert len(PROTECTED) >= 30


@dataclass
class Targets:
    """Ids and slugs of acme's things, to put in the outsider's URLs."""

    slug: str
    round_id: int
    open_round_id: int
    schedule_id: int
    key_id: int
    user_id: int
    person_id: int
    scim_token_id: int


@pytest.fixture
async def targets(world: World, keys: Keys, rounds: Rounds) -> Targets:
    schedule = await add_schedule("acme", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9")
    key = await ApiKey.get(organization_id=world.acme.id)
    from pulse.services.scim import create_scim_token

    person = await Person.filter(organization_id=world.acme.id).first()
    assert person is not None
    scim_token, _ = await create_scim_token(world.acme, "acme HRIS")
    return Targets(
        "acme", rounds.acme_closed, rounds.acme_open, schedule.id, key.id, world.alice.id, person.id, scim_token.id
    )


def _fill(path: str, targets: Targets, *, open_round: bool = False) -> str:
    values = {
        "{slug}": targets.slug,
        "{round_id:int}": str(targets.open_round_id if open_round else targets.round_id),
        "{schedule_id:int}": str(targets.schedule_id),
        "{key_id:int}": str(targets.key_id),
        "{user_id:int}": str(targets.user_id),
        "{user_id}": str(targets.person_id),
        "{token_id:int}": str(targets.scim_token_id),
        "{schema_id}": "urn:ietf:params:scim:schemas:core:2.0:User",
        "{type_id}": "User",
        "{rest:path}": "Groups",
        "{path:path}": "Sales",  # one of acme's units, for the report drill-down
        "{action}": "pause",
        "{fmt}": "pdf",
    }
    for placeholder, value in values.items():
        path = path.replace(placeholder, value)
    if "{" in path:
        raise AssertionError(f"no value for a parameter of {path}: teach this test about it")
    return path


async def _send(client: httpx.AsyncClient, call: Call, url: str, csrf: str | None) -> httpx.Response:
    if call.method == "GET":
        return await client.get(url)
    if call.method == "DELETE":
        return await client.delete(url)
    if call.is_scim:
        return await client.request(call.method, url, json={"schemas": [], "Operations": []})
    if call.is_api:
        if url.endswith("/people/import"):
            return await client.post(url, content=people_csv({"Sales": 5}), headers={"content-type": "text/csv"})
        return await client.post(url, json={})
    data = {"csrf_token": csrf or "", "name": "stolen", "email": "sales0@acme.test", "frequency": "weekly"}
    files = {"file": ("people.csv", people_csv({"Sales": 5}), "text/csv")} if url.endswith("/import") else None
    return await client.post(url, data=data, files=files)


async def _acme_state(world: World, targets: Targets) -> tuple[object, ...]:
    rounds = await Round.filter(organization_id=world.acme.id).order_by("id").values_list("id", "status")
    schedule = await Schedule.get(id=targets.schedule_id)
    key = await ApiKey.get(id=targets.key_id)
    scim_token = await ScimToken.get(id=targets.scim_token_id)
    people = await Person.filter(organization_id=world.acme.id, active=True).count()
    accounts = await User.filter(organization_id=world.acme.id).order_by("id").values_list("active", "password_hash")
    return (tuple(rounds), schedule.active, key.revoked_at, scim_token.revoked_at, people, tuple(accounts))


def _refused_without_data(call: Call, response: httpx.Response, *, identifies_acme: bool) -> None:
    if identifies_acme:
        # SCIM answers 405 to a method a resource never allows, whoever's the id.
        allowed = (403, 404, 405) if call.is_scim else (403, 404)
        assert response.status_code in allowed, f"{call}: {response.status_code}"
    leaked = [marker for marker in ACME_MARKERS if marker in response.text]
    assert not leaked, f"{call} showed {leaked}"


@pytest.mark.parametrize("call", PROTECTED, ids=str)
async def test_the_outsider_reaches_nothing_of_another_organisation(
    call: Call, client_for: ClientFor, api_for: ApiFor, world: World, keys: Keys, targets: Targets
) -> None:
    before = await _acme_state(world, targets)
    if call.is_scim:
        from pulse.services.scim import create_scim_token

        client = api_for((await create_scim_token(world.globex, "globex sync"))[1])
        csrf = None
    elif call.is_api:
        client = api_for(keys.globex)
        csrf = None
    else:
        client = await client_for(world.charlie)
        csrf = csrf_of((await client.get("/orgs/globex")).text)
    identifies_acme = call.identifies_acme
    for open_round in (False, True):
        url = _fill(call.path, targets, open_round=open_round)
        response = await _send(client, call, url, csrf)
        _refused_without_data(call, response, identifies_acme=identifies_acme)
    # Whatever the outsider asked for, acme is as it was.
    assert await _acme_state(world, targets) == before


@pytest.mark.parametrize("call", PROTECTED, ids=str)
async def test_every_non_public_route_refuses_anonymous_access(
    call: Call, app: StatefulApp, world: World, targets: Targets
) -> None:
    before = await _acme_state(world, targets)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pulse.test") as client:
        response = await _send(client, call, _fill(call.path, targets), None)
    if call.is_scim:
        assert response.status_code == 401, f"{call}: {response.status_code}"
        assert response.json()["status"] == "401"
    elif call.is_api:
        assert response.status_code == 401, f"{call}: {response.status_code}"
        assert response.json()["error"]["code"] == "unauthenticated"
    else:
        assert response.status_code == 303, f"{call}: {response.status_code}"
        assert response.headers["location"].startswith("/login")
    _refused_without_data(call, response, identifies_acme=False)
    assert await _acme_state(world, targets) == before
    assert (await Round.get(id=targets.open_round_id)).status == RoundStatus.OPEN
