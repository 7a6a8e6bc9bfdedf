"""Sign-in limits and sign-out under real concurrency: parallel requests against a running server with two web
processes (uvicorn workers) sharing the database, on SQLite and on PostgreSQL.

Client addresses are real: each client binds its own loopback address (127.0.0.x), so the server sees
the address it would see from the network, and no proxy header is involved.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pulse import db as pulse_db
from pulse.models import UserRole
from pulse.services.organizations import create_organization
from pulse.services.sign_in_limits import CLIENT, PAIR
from pulse.services.users import create_user
from tests.conftest import make_settings
from tests.e2e.server import pulse_env, serve

PASSWORD = "the owner's long password"
OWNER = "alice@acme.test"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    settings = make_settings(tmp_path, database_url)
    async with pulse_db.database(settings):
        acme = await create_organization("acme", "Acme")
        await create_user(OWNER, PASSWORD, role=UserRole.HR, organization=acme)
    async with serve(pulse_env(settings), workers=2) as base_url:
        yield base_url


def client_at(base_url: str, address: str) -> httpx.AsyncClient:
    """A client whose connections come from ``address`` (any 127.0.0.0/8 address is local on Linux)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=120)


async def login_form(client: httpx.AsyncClient) -> str:
    page = await client.get("/login")
    match = CSRF.search(page.text)
    assert match is not None
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, token: str, email: str, password: str) -> httpx.Response:
    return await client.post("/login", data={"email": email, "password": password, "csrf_token": token, "next": "/"})


@pytest.mark.slow
async def test_forty_parallel_guesses_at_one_account_get_five_checked_while_the_owner_signs_in_elsewhere(
    server: str,
) -> None:
    async with client_at(server, "127.0.0.3") as attacker, client_at(server, "127.0.0.2") as owner:
        token = await login_form(attacker)

        async def the_owner_signs_in() -> int:
            response = await sign_in(owner, await login_form(owner), OWNER, PASSWORD)
            return response.status_code

        *guesses, signed_in = await asyncio.gather(
            *(sign_in(attacker, token, OWNER, f"wrong guess {i:02}") for i in range(40)), the_owner_signs_in()
        )
        statuses = Counter(response.status_code for response in guesses)
        # Exactly the pair's allowance was checked (401); every other guess waited without a check.
        assert statuses == {401: PAIR.free, 429: 40 - PAIR.free}
        assert all(0 < int(r.headers["retry-after"]) <= 60 for r in guesses if r.status_code == 429)
        assert signed_in == 303
        home = await owner.get("/")
        assert (home.status_code, home.headers["location"]) == (303, "/orgs/acme")
        # The attacker's address now waits even with the right password; the owner's does not.
        assert (await sign_in(attacker, token, OWNER, PASSWORD)).status_code == 429
        fresh = client_at(server, "127.0.0.2")
        async with fresh:
            assert (await sign_in(fresh, await login_form(fresh), OWNER, PASSWORD)).status_code == 303


@pytest.mark.slow
async def test_a_hundred_and_fifty_parallel_attempts_from_one_address_get_exactly_its_allowance_checked(
    server: str,
) -> None:
    async with client_at(server, "127.0.0.4") as stuffer, client_at(server, "127.0.0.2") as owner:
        token = await login_form(stuffer)
        attempts = [sign_in(stuffer, token, f"person{i:03}@acme.test", PASSWORD) for i in range(149)]
        attempts.append(sign_in(stuffer, token, OWNER, "a leaked password"))
        responses = await asyncio.gather(*attempts)
        statuses = Counter(response.status_code for response in responses)
        assert statuses == {401: CLIENT.free, 429: 150 - CLIENT.free}
        assert (await sign_in(owner, await login_form(owner), OWNER, PASSWORD)).status_code == 303


@pytest.mark.slow
async def test_a_copied_cookie_stops_working_on_every_web_process_right_after_sign_out(server: str) -> None:
    async with client_at(server, "127.0.0.2") as owner:
        signed_in = await sign_in(owner, await login_form(owner), OWNER, PASSWORD)
        assert signed_in.status_code == 303
        cookie = owner.cookies["pulse_session"]
        async with httpx.AsyncClient(base_url=server, cookies={"pulse_session": cookie}, timeout=60) as thief:
            # Many requests, so both web processes answer some of them.
            before = await asyncio.gather(*(thief.get("/orgs/acme") for _ in range(20)))
            assert {response.status_code for response in before} == {200}
            page = await owner.get("/orgs/acme")
            token = CSRF.search(page.text)
            assert token is not None
            out = await owner.post("/logout", data={"csrf_token": token.group(1)})
            assert (out.status_code, out.headers["location"]) == (303, "/login")
            after = await asyncio.gather(*(thief.get("/orgs/acme") for _ in range(20)))
            assert {(r.status_code, r.headers.get("location")) for r in after} == {(303, "/login?next=/orgs/acme")}
