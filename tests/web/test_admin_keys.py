from __future__ import annotations

import re

import httpx

from pulse.models import ApiKey
from tests.web.conftest import ApiFor, ClientFor, World, form_post


async def test_hr_creates_a_key_shown_once_and_revokes_it(client_for: ClientFor, api_for: ApiFor, world: World) -> None:
    alice = await client_for(world.alice)
    created = await form_post(alice, "/orgs/acme/keys", "/orgs/acme/keys", {"name": "Dashboard"})
    assert created.status_code == 200 and "shown only once" in created.text
    match = re.search(r'value="(pulse_[^"]+)"', created.text)
    assert match is not None
    key = match.group(1)
    assert (await api_for(key).get("/api/v1/organization")).json()["slug"] == "acme"
    listing = await alice.get("/orgs/acme/keys")
    assert key not in listing.text and key[:12] in listing.text
    stored = await ApiKey.get(name="Dashboard")
    revoked = await form_post(alice, "/orgs/acme/keys", f"/orgs/acme/keys/{stored.id}/revoke", {})
    assert revoked.status_code == 303
    assert (await api_for(key).get("/api/v1/organization")).status_code == 401


async def test_a_key_without_a_name_is_refused(alice: httpx.AsyncClient) -> None:
    response = await form_post(alice, "/orgs/acme/keys", "/orgs/acme/keys", {"name": "  "})
    assert response.status_code == 422 and "needs a name" in response.text
    assert await ApiKey.all().count() == 0
