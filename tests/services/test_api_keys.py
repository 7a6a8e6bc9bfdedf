from __future__ import annotations

import pytest

from pulse.errors import InvalidInput, NotAuthenticated, NotFound
from pulse.models import ApiKey
from pulse.services.api_keys import authenticate_api_key, create_api_key, hash_key, revoke_api_key
from pulse.services.organizations import create_organization


async def test_a_key_is_shown_once_and_stored_only_as_a_keyed_hash(db: object) -> None:
    acme = await create_organization("acme", "Acme")
    api_key, key = await create_api_key(acme, "HRIS sync")
    stored = await ApiKey.get(id=api_key.id)
    assert key.startswith("pulse_") and len(key) > 40
    assert stored.key_hash == hash_key(key) and key not in stored.key_hash
    assert key.startswith(stored.prefix) and len(stored.prefix) < len(key) // 3
    found = await authenticate_api_key(key)
    assert (found.id, found.organization.slug) == (api_key.id, "acme")
    assert (await ApiKey.get(id=api_key.id)).last_used_at is not None


async def test_a_revoked_or_unknown_key_is_refused(db: object) -> None:
    acme = await create_organization("acme", "Acme")
    api_key, key = await create_api_key(acme, "dashboard")
    await revoke_api_key(api_key.id)
    with pytest.raises(NotAuthenticated, match="revoked"):
        await authenticate_api_key(key)
    with pytest.raises(NotAuthenticated):
        await authenticate_api_key(key[:-2] + "xx")
    with pytest.raises(NotAuthenticated):
        await authenticate_api_key("not a key")


async def test_a_key_cannot_be_revoked_through_another_organisation(db: object) -> None:
    acme = await create_organization("acme", "Acme")
    globex = await create_organization("globex", "Globex")
    api_key, key = await create_api_key(acme, "dashboard")
    with pytest.raises(NotFound):
        await revoke_api_key(api_key.id, organization=globex)
    assert (await authenticate_api_key(key)).id == api_key.id


async def test_a_key_needs_a_name(db: object) -> None:
    acme = await create_organization("acme", "Acme")
    with pytest.raises(InvalidInput, match="needs a name"):
        await create_api_key(acme, "   ")
    assert await ApiKey.all().count() == 0
