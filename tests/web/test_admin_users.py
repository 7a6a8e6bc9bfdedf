"""The admins' Users page: list accounts; disable, enable and reset a password with CSRF-protected forms."""

from __future__ import annotations

import re

import httpx
import pytest

from pulse.models import AuditEvent, User
from pulse.services.api_keys import create_api_key
from tests.web.conftest import PASSWORD, ApiFor, ClientFor, World, form_post, sign_in


async def test_the_users_page_lists_every_account_for_admins_with_a_navigation_entry(
    admin: httpx.AsyncClient, world: World
) -> None:
    home = await admin.get("/")
    assert '<a href="/users"' in home.text
    page = await admin.get("/users")
    assert page.status_code == 200
    for email in ["alice@acme.test", "bob@acme.test", "charlie@globex.test", "root@pulse.test"]:
        assert email in page.text
    assert f'action="/users/{world.alice.id}/disable"' in page.text
    assert f'action="/users/{world.admin.id}/disable"' not in page.text  # not oneself


@pytest.mark.parametrize("who", ["alice", "bob"])
async def test_hr_and_leaders_get_no_users_page_and_cannot_post_to_it(
    who: str, client_for: ClientFor, world: World
) -> None:
    client = await client_for(getattr(world, who))
    assert '<a href="/users"' not in (await client.get("/account")).text
    assert (await client.get("/users")).status_code == 403
    response = await form_post(client, "/account", f"/users/{world.charlie.id}/disable", {})
    assert response.status_code == 403
    assert (await User.get(id=world.charlie.id)).active


async def test_an_admin_disables_a_user_whose_sessions_and_api_keys_stop_at_once_and_enables_them_again(
    admin: httpx.AsyncClient, client_for: ClientFor, api_for: ApiFor, world: World
) -> None:
    alice = await client_for(world.alice)
    _, alices_key = await create_api_key(world.acme, "alice's sync", created_by=world.alice)
    _, org_key = await create_api_key(world.acme, "the organisation's sync")
    api = api_for(alices_key)
    assert (await api.get("/api/v1/organization")).status_code == 200

    response = await form_post(admin, "/users", f"/users/{world.alice.id}/disable", {})
    assert (response.status_code, response.headers["location"]) == (303, "/users")
    page = await admin.get("/users")
    assert "alice@acme.test is disabled" in page.text and 'role="status"' in page.text
    assert (await alice.get("/orgs/acme")).status_code == 303
    refused = await api.get("/api/v1/organization")
    assert refused.status_code == 401 and "disabled account" in refused.text
    assert (await api_for(org_key).get("/api/v1/organization")).status_code == 200  # not alice's
    assert (await sign_in(await client_for(None), "alice@acme.test")).status_code == 401

    response = await form_post(admin, "/users", f"/users/{world.alice.id}/enable", {})
    assert "alice@acme.test is enabled" in (await admin.get(response.headers["location"])).text
    assert (await api.get("/api/v1/organization")).status_code == 200
    assert (await sign_in(await client_for(None), "alice@acme.test")).status_code == 303
    actions = await AuditEvent.filter(actor="root@pulse.test").order_by("id").values_list("action", "detail")
    assert actions == [("user.disable", {"user": "alice@acme.test"}), ("user.enable", {"user": "alice@acme.test"})]


async def test_an_admin_resets_a_password_sees_it_once_and_the_user_is_signed_out(
    admin: httpx.AsyncClient, client_for: ClientFor, world: World
) -> None:
    bob = await client_for(world.bob)
    response = await form_post(admin, "/users", f"/users/{world.bob.id}/reset-password", {})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    match = re.search(r'id="new-password" class="key" readonly value="([^"]+)"', response.text)
    assert match is not None
    assert "set-cookie" not in response.headers or match.group(1) not in response.headers["set-cookie"]
    assert (await bob.get("/orgs/acme/reports")).status_code == 303
    fresh = await client_for(None)
    assert (await sign_in(fresh, "bob@acme.test", PASSWORD)).status_code == 401
    assert (await sign_in(fresh, "bob@acme.test", match.group(1))).status_code == 303
    assert (await fresh.get("/orgs/acme/reports")).headers["location"] == "/account"
    assert await AuditEvent.filter(action="user.password_reset", actor="root@pulse.test").count() == 1


async def test_an_admin_cannot_disable_themselves_and_forms_need_the_csrf_token(
    admin: httpx.AsyncClient, world: World
) -> None:
    own = await form_post(admin, "/users", f"/users/{world.admin.id}/disable", {})
    assert own.status_code == 403 and "your own account" in own.text
    forged = await admin.post(f"/users/{world.alice.id}/disable", data={"csrf_token": "guess"})
    assert forged.status_code == 403
    unknown = await form_post(admin, "/users", "/users/99999/disable", {})
    assert unknown.status_code == 404
    wrong_action = await form_post(admin, "/users", f"/users/{world.alice.id}/delete", {})
    assert wrong_action.status_code == 404
    assert (await User.get(id=world.alice.id)).active and (await User.get(id=world.admin.id)).active
