"""The 'Sign-in and sync' page: the organisation's provider as configured, and its SCIM tokens."""

from __future__ import annotations

import httpx

from pulse.models import ScimToken
from pulse.services import sso
from pulse.services.scim import create_scim_token
from pulse.settings import Settings
from tests.web.conftest import BASE_URL, StatefulApp, World, csrf_of, form_post


async def test_hr_sees_the_provider_and_manages_scim_tokens(
    app: StatefulApp, db: Settings, world: World, alice: httpx.AsyncClient
) -> None:
    page = await alice.get("/orgs/acme/sso")
    assert page.status_code == 200 and "Not set up" in page.text
    await sso.configure(
        world.acme,
        sso.SsoSettings(
            issuer="https://id.acme.test/realms/acme",
            client_id="pulse-web",
            client_secret="never shown",
            role_map={"pulse-hr": "hr"},
            password_sign_in=False,
        ),
        db,
    )
    page = await alice.get("/orgs/acme/sso")
    assert "https://id.acme.test/realms/acme" in page.text and "pulse-web" in page.text
    assert "off: the identity provider only" in page.text and "never shown" not in page.text

    created = await form_post(alice, "/orgs/acme/sso", "/orgs/acme/sso", {"name": "Entra ID"})
    assert created.status_code == 200
    token = created.text.split('id="new-token" class="key" readonly value="')[1].split('"')[0]
    assert token.startswith("pulse_scim_")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as scim:
        listed = await scim.get("/scim/v2/Users", headers={"authorization": f"Bearer {token}"})
        assert listed.status_code == 200 and listed.json()["totalResults"] == 15
        assert token not in (await alice.get("/orgs/acme/sso")).text  # shown once

        row = await ScimToken.get(name="Entra ID")
        revoked = await form_post(alice, "/orgs/acme/sso", f"/orgs/acme/sso/scim-tokens/{row.id}/revoke", {})
        assert revoked.status_code == 303
        refused = await scim.get("/scim/v2/Users", headers={"authorization": f"Bearer {token}"})
        assert refused.status_code == 401

    empty = await form_post(alice, "/orgs/acme/sso", "/orgs/acme/sso", {"name": "  "})
    assert empty.status_code == 422 and "needs a name" in empty.text


async def test_leaders_and_other_organisations_cannot_see_or_revoke(
    world: World, bob: httpx.AsyncClient, charlie: httpx.AsyncClient, alice: httpx.AsyncClient
) -> None:
    assert (await bob.get("/orgs/acme/sso")).status_code == 403
    assert (await charlie.get("/orgs/acme/sso")).status_code == 404
    globex_token, _ = await create_scim_token(world.globex, "globex sync")
    page = await alice.get("/orgs/acme/sso")
    response = await alice.post(
        f"/orgs/acme/sso/scim-tokens/{globex_token.id}/revoke", data={"csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 404
    assert (await ScimToken.get(id=globex_token.id)).revoked_at is None
