"""Sessions end on the server: sign-out, a password change, a reset or disabling the account end them,
and a copy of the cookie taken before stops working at once."""

from __future__ import annotations

import httpx

from pulse.models import UserSession
from pulse.services import sessions
from pulse.services.users import reset_password, set_user_active
from tests.web.conftest import BASE_URL, PASSWORD, ClientFor, StatefulApp, World, form_post, sign_in


def _copy_of(client: httpx.AsyncClient, app: StatefulApp) -> httpx.AsyncClient:
    """Another browser holding the very same cookie (what someone who copied it would have)."""
    cookie = client.cookies["pulse_session"]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, cookies={"pulse_session": cookie}
    )


async def test_a_copied_cookie_stops_working_right_after_sign_out(
    app: StatefulApp, client_for: ClientFor, world: World
) -> None:
    alice = await client_for(world.alice)
    async with _copy_of(alice, app) as thief:
        assert (await thief.get("/orgs/acme")).status_code == 200
        response = await form_post(alice, "/orgs/acme", "/logout", {})
        assert (response.status_code, response.headers["location"]) == (303, "/login")
        refused = await thief.get("/orgs/acme")
        assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
        assert (await thief.post("/orgs/acme/keys", data={"name": "x"})).status_code == 303
    assert await sessions.count(world.alice) == 0


async def test_signing_out_ends_only_that_browsers_session(client_for: ClientFor, world: World) -> None:
    laptop = await client_for(world.alice)
    phone = await client_for(world.alice)
    assert await sessions.count(world.alice) == 2
    await form_post(laptop, "/orgs/acme", "/logout", {})
    assert (await laptop.get("/orgs/acme")).status_code == 303
    assert (await phone.get("/orgs/acme")).status_code == 200


async def test_the_database_keeps_only_a_hash_of_the_session_token(
    app: StatefulApp, client_for: ClientFor, world: World
) -> None:
    alice = await client_for(world.alice)
    row = await UserSession.get(user_id=world.alice.id)
    cookie = alice.cookies["pulse_session"]
    assert len(row.token_hash) == 64 and row.token_hash not in cookie
    # A forged cookie naming that hash as its token is nobody's session.
    from pulse.web.auth import _serializer

    forged = _serializer(app.app.state.settings).dumps({"sid": row.token_hash, "csrf": "x"})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, cookies={"pulse_session": forged}
    ) as client:
        assert (await client.get("/orgs/acme")).status_code == 303


async def test_disabling_an_account_ends_its_sessions_and_sign_in_and_enabling_restores_sign_in_only(
    client_for: ClientFor, world: World
) -> None:
    alice = await client_for(world.alice)
    await set_user_active("alice@acme.test", False, actor="test")
    assert (await alice.get("/orgs/acme")).status_code == 303
    assert (await sign_in(await client_for(None), "alice@acme.test")).status_code == 401
    await set_user_active("alice@acme.test", True, actor="test")
    assert (await alice.get("/orgs/acme")).status_code == 303  # sessions do not come back
    assert (await sign_in(await client_for(None), "alice@acme.test")).status_code == 303


async def test_a_reset_password_ends_sessions_and_must_be_changed_at_the_next_sign_in(
    client_for: ClientFor, world: World
) -> None:
    bob = await client_for(world.bob)
    _, one_time = await reset_password("bob@acme.test", actor="test")
    assert (await bob.get("/orgs/acme/reports")).status_code == 303
    fresh = await client_for(None)
    assert (await sign_in(fresh, "bob@acme.test", PASSWORD)).status_code == 401
    assert (await sign_in(fresh, "bob@acme.test", one_time)).status_code == 303
    sent = await fresh.get("/orgs/acme/reports")
    assert (sent.status_code, sent.headers["location"]) == (303, "/account")
    page = await fresh.get("/account")
    assert page.status_code == 200 and "Your password was reset: choose a new one." in page.text
    changed = await form_post(
        fresh,
        "/account",
        "/account/password",
        {
            "current_password": one_time,
            "new_password": "bob's own new password",
            "repeat_password": "bob's own new password",
        },
    )
    assert changed.status_code == 303
    assert (await fresh.get("/orgs/acme/reports")).status_code == 200
