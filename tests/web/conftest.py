"""Web fixtures: the app with its real lifespan (job queue), organisations acme and globex, and users.

* ``alice``: HR of acme; ``bob``: leader of acme; ``charlie``: HR of globex (the outsider);
  ``admin``: sees every organisation.
* ``client_for(user)``: an httpx client over the ASGI app, signed in through the real /login form.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from pulse.models import Organization, User, UserRole
from pulse.services.organizations import create_organization
from pulse.services.people import import_people
from pulse.services.users import create_user
from pulse.settings import Settings
from pulse.web.app import create_app

PASSWORD = "a long enough password"
BASE_URL = "http://pulse.test"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    if match is None:
        raise AssertionError("no CSRF token in the page")
    return match.group(1)


def people_csv(departments: dict[str, int], domain: str = "acme.test") -> bytes:
    lines = ["email,name,department"]
    for department, size in departments.items():
        for i in range(size):
            slug = re.sub(r"[^a-z0-9]+", "-", department.lower()).strip("-")  # a unit path's " / " too
            lines.append(f"{slug}{i}@{domain},{department} Person {i},{department}")
    return ("\n".join(lines) + "\n").encode()


class StatefulApp:
    """Gives every request the lifespan state, as a server does (httpx's ASGITransport does not)."""

    def __init__(self, app: Starlette, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "state": dict(self.state)}
        await self.app(scope, receive, send)


@dataclass
class World:
    acme: Organization
    globex: Organization
    alice: User
    bob: User
    charlie: User
    admin: User


@pytest.fixture
async def app(db: Settings) -> AsyncIterator[StatefulApp]:
    """The real app (its lifespan creates the job queue; jobs run in-process without Redis)."""
    application = create_app(db, manage_database=False)
    async with application.router.lifespan_context(application) as state:
        yield StatefulApp(application, dict(state or {}))


@pytest.fixture
async def world(db: Settings) -> World:
    acme = await create_organization("acme", "Acme Retail", timezone="Europe/Paris")
    globex = await create_organization("globex", "Globex")
    await import_people(acme, people_csv({"Sales": 6, "Stores": 7, "Logistics": 2}))
    await import_people(globex, people_csv({"Research": 6}, domain="globex.test"))
    return World(
        acme=acme,
        globex=globex,
        alice=await create_user("alice@acme.test", PASSWORD, role=UserRole.HR, organization=acme, name="Alice"),
        bob=await create_user("bob@acme.test", PASSWORD, role=UserRole.LEADER, organization=acme, name="Bob"),
        charlie=await create_user("charlie@globex.test", PASSWORD, role=UserRole.HR, organization=globex),
        admin=await create_user("root@pulse.test", PASSWORD, role=UserRole.ADMIN, name="Root"),
    )


ClientFor = Callable[[User | None], Awaitable[httpx.AsyncClient]]


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    form = await client.get("/login")
    return await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_of(form.text), "next": "/"}
    )


@pytest.fixture
async def client_for(app: StatefulApp) -> AsyncIterator[ClientFor]:
    clients: list[httpx.AsyncClient] = []

    async def make(user: User | None) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
        clients.append(client)
        if user is not None:
            response = await sign_in(client, user.email)
            if response.status_code != 303:
                raise AssertionError(f"sign-in of {user.email} failed: {response.status_code}")
        return client

    yield make
    for client in clients:
        await client.aclose()


async def form_post(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, str], **kwargs: Any
) -> httpx.Response:
    """Load ``page`` for its CSRF token, then POST ``data`` to ``action`` as the browser would."""
    token = csrf_of((await client.get(page)).text)
    return await client.post(action, data={"csrf_token": token, **data}, **kwargs)


@dataclass
class Keys:
    acme: str
    globex: str


@pytest.fixture
async def keys(world: World) -> Keys:
    from pulse.services.api_keys import create_api_key

    _, acme = await create_api_key(world.acme, "acme integration")
    _, globex = await create_api_key(world.globex, "globex integration")
    return Keys(acme=acme, globex=globex)


ApiFor = Callable[[str | None], httpx.AsyncClient]


@pytest.fixture
async def api_for(app: StatefulApp) -> AsyncIterator[ApiFor]:
    clients: list[httpx.AsyncClient] = []

    def make(key: str | None) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=headers)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def survey_tokens(round_id: int, secret_key: str) -> list[str]:
    """The link tokens of a round's invitations (what only the emails carry), in invitation order."""
    from pulse.models import Invitation
    from pulse.services.tokens import token_for

    salts = await Invitation.filter(round_id=round_id).order_by("id").values_list("token_salt", flat=True)
    return [token_for(str(salt), secret_key) for salt in salts]


async def answer(round_id: int, secret_key: str, count: int, value: int = 4, *, start: int = 0) -> None:
    """Answer ``count`` invitations of a round (from the ``start``-th) through the survey service."""
    from pulse.models import Round
    from pulse.services.answers import submit

    found = await Round.get(id=round_id)
    for token in (await survey_tokens(round_id, secret_key))[start : start + count]:
        await submit(token, {key: str(value if i % 2 else 6 - value) for i, key in enumerate(found.item_keys)})


@dataclass
class Rounds:
    acme_closed: int
    acme_open: int
    globex_closed: int


@pytest.fixture
async def rounds(db: Settings, world: World, quick_pdf: None) -> Rounds:
    """acme: a closed round with a built report (13 answers of 15) and an open one; globex: a closed
    round with a built report. The report models are real; their PDFs are the quick one-page kind."""
    from pulse.services.reports import build_report
    from pulse.services.rounds import close_round, open_round

    acme_closed = await open_round(world.acme)
    await answer(acme_closed.id, db.secret_key, 13)
    await close_round(acme_closed.id)
    await build_report(acme_closed.id, db)
    globex_closed = await open_round(world.globex)
    await answer(globex_closed.id, db.secret_key, 6)
    await close_round(globex_closed.id)
    await build_report(globex_closed.id, db)
    acme_open = await open_round(world.acme)
    return Rounds(acme_closed=acme_closed.id, acme_open=acme_open.id, globex_closed=globex_closed.id)


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with test-sized costs: the production parameters are slow on purpose, and every web test
    creates four accounts and signs in. The code path (hash, verify, rehash check) is the same."""
    from argon2 import PasswordHasher

    from pulse.services import users

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def quick_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports rendered as a one-page real PDF naming the organisation and round, instead of the full
    chart-heavy layout (about 5 s each on this machine). For tests about who may fetch a report,
    not about what it looks like; test_api and the browser test download the real layout."""
    import asyncio

    import pulse.pdf

    async def render(model: Any, settings: Any = None, **_options: Any) -> bytes:
        from html import escape

        title = f"{model['organization_name']} round {model['round']['number']}"
        html = f"<html><body><h1>{escape(title)}</h1></body></html>"
        return await asyncio.to_thread(pulse.pdf.html_to_pdf, html)

    monkeypatch.setattr(pulse.pdf, "render_pdf", render)


@pytest.fixture
async def alice(client_for: ClientFor, world: World) -> httpx.AsyncClient:
    """Signed in as Alice, HR of acme."""
    return await client_for(world.alice)


@pytest.fixture
async def bob(client_for: ClientFor, world: World) -> httpx.AsyncClient:
    """Signed in as Bob, leader of acme (reports only)."""
    return await client_for(world.bob)


@pytest.fixture
async def charlie(client_for: ClientFor, world: World) -> httpx.AsyncClient:
    """Signed in as Charlie, HR of globex: the outsider to acme."""
    return await client_for(world.charlie)


@pytest.fixture
async def admin(client_for: ClientFor, world: World) -> httpx.AsyncClient:
    """Signed in as an admin (every organisation)."""
    return await client_for(world.admin)
