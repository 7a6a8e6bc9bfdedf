from __future__ import annotations

import httpx

from pulse.settings import Settings
from tests.web.conftest import PASSWORD, ClientFor, World, csrf_of, form_post, sign_in


async def test_hr_signs_in_with_a_csrf_protected_form_and_lands_on_their_organisation(
    client_for: ClientFor, world: World
) -> None:
    client = await client_for(None)
    page = await client.get("/login")
    assert page.status_code == 200 and 'type="password"' in page.text
    response = await sign_in(client, "alice@acme.test")
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "pulse_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http in tests; see the https test below
    home = await client.get("/")
    assert (home.status_code, home.headers["location"]) == (303, "/orgs/acme")
    overview = await client.get("/orgs/acme")
    assert overview.status_code == 200 and "Acme Retail" in overview.text


async def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    client_for: ClientFor, world: World
) -> None:
    client = await client_for(None)
    response = await sign_in(client, "alice@acme.test", "not the password")
    assert response.status_code == 401 and "Wrong email or password" in response.text
    unknown = await sign_in(client, "nobody@acme.test")
    assert unknown.status_code == 401 and "Wrong email or password" in unknown.text
    assert (await client.get("/orgs/acme")).status_code == 303


async def test_sign_in_without_the_forms_csrf_token_is_refused(client_for: ClientFor, world: World) -> None:
    client = await client_for(None)
    await client.get("/login")
    response = await client.post("/login", data={"email": "alice@acme.test", "password": PASSWORD})
    assert response.status_code == 403
    assert (await client.get("/orgs/acme")).status_code == 303


async def test_sign_in_is_throttled_after_five_failures_with_retry_after(client_for: ClientFor, world: World) -> None:
    client = await client_for(None)
    for _ in range(5):
        assert (await sign_in(client, "alice@acme.test", "wrong guess!!")).status_code == 401
    throttled = await sign_in(client, "alice@acme.test")
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in throttled.text


async def test_a_post_without_the_sessions_csrf_token_changes_nothing(client_for: ClientFor, world: World) -> None:
    alice = await client_for(world.alice)
    forged = await alice.post("/orgs/acme/keys", data={"name": "forged", "csrf_token": "guess"})
    assert forged.status_code == 403
    missing = await alice.post("/orgs/acme/keys", data={"name": "forged"})
    assert missing.status_code == 403
    keys = await alice.get("/orgs/acme/keys")
    assert "forged" not in keys.text


async def test_signing_out_ends_the_session(client_for: ClientFor, world: World) -> None:
    alice = await client_for(world.alice)
    response = await form_post(alice, "/orgs/acme", "/logout", {})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert (await alice.get("/orgs/acme")).status_code == 303


async def test_a_password_change_ends_existing_sessions(client_for: ClientFor, world: World) -> None:
    from pulse.services.users import set_password

    alice = await client_for(world.alice)
    assert (await alice.get("/orgs/acme")).status_code == 200
    await set_password(world.alice, "another long password")
    assert (await alice.get("/orgs/acme")).status_code == 303


async def test_anonymous_pages_redirect_to_login_and_come_back_after(client_for: ClientFor, world: World) -> None:
    client = await client_for(None)
    response = await client.get("/orgs/acme/people?q=sales")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/orgs/acme/people%3Fq%3Dsales"
    form = await client.get(response.headers["location"])
    signed_in = await client.post(
        "/login",
        data={
            "email": "alice@acme.test",
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
            "next": "/orgs/acme/people?q=sales",
        },
    )
    assert signed_in.headers["location"] == "/orgs/acme/people?q=sales"


async def test_the_next_parameter_cannot_send_people_to_another_site(client_for: ClientFor, world: World) -> None:
    client = await client_for(None)
    form = await client.get("/login")
    response = await client.post(
        "/login",
        data={
            "email": "alice@acme.test",
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
            "next": "//evil.test/x",
        },
    )
    assert response.headers["location"] == "/"


async def test_cookies_are_secure_when_served_over_https(db: Settings, world: World) -> None:
    from pulse.web.app import create_app

    app = create_app(db.with_overrides(secure_cookies=True), manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://pulse.test") as client:
        response = await client.get("/login")
        assert "Secure" in response.headers["set-cookie"]
        assert response.headers["x-frame-options"] == "DENY"
        assert "script-src 'self'" in response.headers["content-security-policy"]


async def test_an_admin_sees_every_organisation(admin: httpx.AsyncClient) -> None:
    home = await admin.get("/")
    assert home.status_code == 200 and "Acme Retail" in home.text and "Globex" in home.text
    assert (await admin.get("/orgs/globex/people")).status_code == 200


async def test_a_leader_is_sent_to_reports_and_refused_everything_else(bob: httpx.AsyncClient) -> None:
    home = await bob.get("/")
    assert home.headers["location"] == "/orgs/acme/reports"
    assert (await bob.get("/orgs/acme/reports")).status_code == 200
    for path in ["/orgs/acme", "/orgs/acme/people", "/orgs/acme/schedules", "/orgs/acme/rounds", "/orgs/acme/keys"]:
        assert (await bob.get(path)).status_code == 403, path
