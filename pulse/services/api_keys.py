"""API keys: bearer credentials for the JSON API of one organisation.

A key created in the web app belongs to the account that created it and stops working while that
account is disabled; keys created with ``pulse apikey create`` belong to the organisation only.

A key is shown once, when it is created. The database keeps only an HMAC-SHA256 of it (keyed with the
secret key, so a copy of the database cannot be used to test guesses offline) and its first
characters (``prefix``) so that people can tell their keys apart in a list.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import timedelta

from pulse import clock
from pulse.domain.wording import N_
from pulse.errors import InvalidInput, NotAuthenticated, NotFound
from pulse.models import ApiKey, AuditEvent, Organization, User
from pulse.services.units import scope_ids
from pulse.settings import get_settings

KEY_MARKER = "pulse_"
PREFIX_LENGTH = 12
#: last_used_at is refreshed at most this often, so that every request does not write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str, secret_key: str | None = None) -> str:
    """The stored form of a key: hex HMAC-SHA256 with the secret key."""
    secret = (secret_key or get_settings().secret_key).encode()
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


async def create_api_key(
    organization: Organization,
    name: str,
    *,
    created_by: User | None = None,
    actor: str = "cli",
    units: Sequence[str] = (),
) -> tuple[ApiKey, str]:
    """Create a key for ``organization``; returns the row and the key itself (the only time it exists).

    With ``units`` (paths) the key reads only the reports of those subtrees, like a scoped leader.
    """
    label = " ".join(name.split())
    if not label:
        raise InvalidInput(N_("an API key needs a name (what uses it, e.g. 'HRIS sync')"))
    if len(label) > 100:
        raise InvalidInput(N_("API key name is longer than 100 characters"))
    unit_ids = await scope_ids(organization, units) if units else None
    key = KEY_MARKER + secrets.token_urlsafe(32)
    api_key = await ApiKey.create(
        organization=organization,
        name=label,
        prefix=key[:PREFIX_LENGTH],
        key_hash=hash_key(key),
        created_by=created_by,
        unit_ids=unit_ids,
    )
    await AuditEvent.create(
        organization=organization, actor=actor, action="apikey.create", detail={"id": api_key.id, "name": label}
    )
    return api_key, key


async def list_api_keys(organization: Organization) -> list[ApiKey]:
    return await ApiKey.filter(organization=organization).order_by("-created_at", "-id")


async def revoke_api_key(key_id: int, *, organization: Organization | None = None, actor: str = "cli") -> ApiKey:
    """Revoke a key (idempotent). With ``organization`` the key must belong to it."""
    if not 1 <= key_id <= 2**31 - 1:  # a database integer; larger values must not reach SQL
        raise NotFound(N_("no API key with id %(id)s", id=key_id))
    query = ApiKey.filter(id=key_id)
    if organization is not None:
        query = query.filter(organization=organization)
    api_key = await query.first()
    if api_key is None:
        raise NotFound(N_("no API key with id %(id)s", id=key_id))
    if api_key.revoked_at is None:
        api_key.revoked_at = clock.now()
        await api_key.save(update_fields=["revoked_at"])
        await AuditEvent.create(
            organization_id=api_key.organization_id, actor=actor, action="apikey.revoke", detail={"id": api_key.id}
        )
    return api_key


async def authenticate_api_key(presented: str) -> ApiKey:
    """The live key matching ``presented``; NotAuthenticated for anything else."""
    key = presented.strip()
    if not key.startswith(KEY_MARKER) or len(key) > 200:
        raise NotAuthenticated(N_("invalid API key"))
    api_key = await ApiKey.get_or_none(key_hash=hash_key(key)).select_related("organization", "created_by")
    if api_key is None or api_key.revoked_at is not None:
        raise NotAuthenticated(N_("invalid or revoked API key"))
    # A key made by an account acts for that account: it stops working while the account is disabled.
    if api_key.created_by is not None and not api_key.created_by.active:
        raise NotAuthenticated(N_("this API key belongs to a disabled account"))
    now = clock.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        api_key.last_used_at = now
        await ApiKey.filter(id=api_key.id).update(last_used_at=now)
    return api_key
