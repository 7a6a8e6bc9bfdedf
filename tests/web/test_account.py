from __future__ import annotations

import httpx
import pytest

from pulse.models import AuditEvent, SignInCounter, User
from pulse.services.sign_in_limits import PAIR
from pulse.services.users import MIN_PASSWORD_LENGTH
from pulse.web.admin.pages import role_name
from tests.web.conftest import PASSWORD, ClientFor, World, form_post, sign_in

NEW_PASSWORD = "a brand new passphrase"


async def _change(client: httpx.AsyncClient, current: str, new: str, repeat: str | None = None) -> httpx.Response:
    data = {"current_password": current, "new_password": new, "repeat_password": new if repeat is None else repeat}
    return await form_post(client, "/account", "/account/password", data)


async def _hash_of(user: User) -> str:
    return (await User.get(id=user.id)).password_hash


@pytest.mark.parametrize("who", ["alice", "bob", "admin"])
async def test_every_role_sees_its_account_page_and_a_header_link_to_it(
    who: str, client_for: ClientFor, world: World
) -> None:
    user: User = getattr(world, who)
    client = await client_for(user)
    page = await client.get("/account")
    assert page.status_code == 200
    assert user.email in page.text and f"<dd>{role_name(user.role)}</dd>" in page.text
    assert ("Acme Retail" in page.text) is (who != "admin")
    assert 'autocomplete="current-password"' in page.text and page.text.count('autocomplete="new-password"') == 2
    assert '<label for="repeat_password">' in page.text
    landing = await client.get("/", follow_redirects=True)
    assert '<a href="/account"' in landing.text


@pytest.mark.parametrize(
    ("current", "new", "repeat", "status", "message"),
    [
        ("not the password", NEW_PASSWORD, None, 403, "current password is wrong"),
        (PASSWORD, "short", None, 422, f"at least {MIN_PASSWORD_LENGTH} characters"),
        (PASSWORD, NEW_PASSWORD, "a different passphrase", 422, "two new passwords differ"),
        (PASSWORD, PASSWORD, None, 422, "same as the current one"),
    ],
    ids=["wrong-current", "too-short", "mismatched-repeat", "unchanged"],
)
async def test_a_refused_change_says_why_and_leaves_the_password_as_it_was(
    current: str, new: str, repeat: str | None, status: int, message: str, alice: httpx.AsyncClient, world: World
) -> None:
    before = await _hash_of(world.alice)
    response = await _change(alice, current, new, repeat)
    assert response.status_code == status
    assert message in response.text and 'role="alert"' in response.text
    assert await _hash_of(world.alice) == before
    assert not await AuditEvent.filter(action="user.password_change").exists()
    # Still signed in: a refusal does not end the session.
    assert (await alice.get("/account")).status_code == 200


async def test_a_wrong_current_password_counts_as_a_failed_sign_in_and_is_throttled(
    alice: httpx.AsyncClient, client_for: ClientFor, world: World
) -> None:
    before = await _hash_of(world.alice)
    for _ in range(PAIR.free):
        assert (await _change(alice, "not the password", NEW_PASSWORD)).status_code == 403
    assert (await SignInCounter.get(key="pair:alice@acme.test|127.0.0.1")).failures == PAIR.free
    # Even the right current password must wait now, and so must sign-in for that email from this address.
    throttled = await _change(alice, PASSWORD, NEW_PASSWORD)
    assert throttled.status_code == 429 and "retry-after" in throttled.headers
    assert "Too many failed sign-ins" in throttled.text
    assert await _hash_of(world.alice) == before
    assert (await sign_in(await client_for(None), "alice@acme.test")).status_code == 429


async def test_a_change_keeps_this_session_ends_the_others_and_only_the_new_password_signs_in(
    client_for: ClientFor, world: World
) -> None:
    here = await client_for(world.bob)
    elsewhere = await client_for(world.bob)
    before = await _hash_of(world.bob)
    response = await _change(here, PASSWORD, NEW_PASSWORD)
    assert (response.status_code, response.headers["location"]) == (303, "/account")
    assert "pulse_session=" in response.headers["set-cookie"]
    after = await _hash_of(world.bob)
    assert after != before and after.startswith("$argon2id$")
    page = await here.get("/account")
    assert page.status_code == 200 and "Password changed" in page.text
    gone = await elsewhere.get("/account")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    assert await AuditEvent.filter(action="user.password_change", actor="bob@acme.test").count() == 1
    fresh = await client_for(None)
    assert (await sign_in(fresh, "bob@acme.test", PASSWORD)).status_code == 401
    assert (await sign_in(fresh, "bob@acme.test", NEW_PASSWORD)).status_code == 303


async def test_a_change_without_the_forms_csrf_token_is_refused(alice: httpx.AsyncClient, world: World) -> None:
    before = await _hash_of(world.alice)
    response = await alice.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD},
    )
    assert response.status_code == 403
    assert await _hash_of(world.alice) == before


async def test_anonymous_visitors_are_sent_to_sign_in(client_for: ClientFor, world: World) -> None:
    client = await client_for(None)
    page = await client.get("/account")
    assert (page.status_code, page.headers["location"]) == (303, "/login?next=/account")
    post = await client.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert post.status_code == 303 and post.headers["location"] == "/login"


async def test_a_user_chooses_the_language_of_their_pages_or_follows_the_organisation(
    alice: httpx.AsyncClient, world: World
) -> None:
    from pulse.models import Organization
    from pulse.services.organizations import set_default_language

    page = await alice.get("/account")
    assert '<html lang="en">' in page.text and '<option value="" selected>' in page.text
    saved = await form_post(alice, "/account", "/account/language", {"language": "de"})
    assert saved.status_code == 303
    german = await alice.get("/account")
    assert '<html lang="de">' in german.text and german.headers["content-language"] == "de"
    assert "Sprache gespeichert." in german.text  # the flash, in the new language
    assert '<option value="de" lang="de" selected>' in german.text
    assert (await User.get(id=world.alice.id)).locale == "de"
    refused = await form_post(alice, "/account", "/account/language", {"language": "tlh"})
    assert refused.status_code == 422 and (await User.get(id=world.alice.id)).locale == "de"
    # Back to the organisation's default, which HR can set: French.
    await form_post(alice, "/account", "/account/language", {"language": ""})
    assert (await User.get(id=world.alice.id)).locale is None
    await set_default_language(await Organization.get(id=world.alice.organization_id), "fr")
    french = await alice.get("/account")
    assert '<html lang="fr">' in french.text and "Français" in french.text
