"""Directory sync (SCIM 2.0): an HR system or identity provider keeps an organisation's people current.

A SCIM token is bound to one organisation (created with ``pulse scim token SLUG``; only an HMAC of it
is kept, as for API keys). Every change goes through the people service, as a CSV import does
(``people.save_person``: the same validation, audit records and newcomer rules; ``people.erase_person``
for DELETE; ``deactivation.set_person_active`` for ``active``), so SCIM can do nothing to the directory
that a CSV file could not.

A SCIM user is a person: ``id`` is the person's id, the primary email is the person's address,
``displayName`` their name, the enterprise extension's ``department`` their department and ``active``
whether they are invited. What SCIM calls them (``userName``, ``externalId``) is kept beside the person
(``ScimIdentity``) and erased with them; a person imported from CSV has their address as ``userName``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from pulse import clock
from pulse.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from pulse.i18n import N_, Count
from pulse.models import AuditEvent, Department, Organization, Person, ScimIdentity, ScimToken
from pulse.services import people
from pulse.services.api_keys import hash_key
from pulse.services.deactivation import set_person_active

TOKEN_MARKER = "pulse_scim_"
PREFIX_LENGTH = 16
LAST_USED_RESOLUTION = timedelta(minutes=1)
USER_NAME_MAX_LENGTH = 254
MAX_PAGE = 500


# ---------------------------------------------------------------- tokens


async def create_scim_token(organization: Organization, name: str, *, actor: str = "cli") -> tuple[ScimToken, str]:
    """A new token for ``organization``: the row, and the token itself (shown once, never stored)."""
    label = " ".join(name.split())
    if not label:
        raise InvalidInput(N_("a SCIM token needs a name (what uses it, e.g. 'Entra ID provisioning')"))
    if len(label) > 100:
        raise InvalidInput(N_("SCIM token name is longer than %(count)s characters", count=Count(100)))
    token = TOKEN_MARKER + secrets.token_urlsafe(32)
    row = await ScimToken.create(
        organization=organization, name=label, prefix=token[:PREFIX_LENGTH], token_hash=hash_key(token)
    )
    await AuditEvent.create(
        organization=organization, actor=actor, action="scim_token.create", detail={"id": row.id, "name": label}
    )
    return row, token


async def list_scim_tokens(organization: Organization) -> list[ScimToken]:
    return await ScimToken.filter(organization=organization).order_by("-created_at", "-id")


async def revoke_scim_token(
    token_id: int, *, organization: Organization | None = None, actor: str = "cli"
) -> ScimToken:
    """Revoke a token (idempotent). With ``organization`` the token must belong to it."""
    if not 1 <= token_id <= 2**31 - 1:
        raise NotFound(N_("no SCIM token with id %(id)s", id=token_id))
    query = ScimToken.filter(id=token_id)
    if organization is not None:
        query = query.filter(organization_id=organization.id)
    row = await query.first()
    if row is None:
        raise NotFound(N_("no SCIM token with id %(id)s", id=token_id))
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        await row.save(update_fields=["revoked_at"])
        await AuditEvent.create(
            organization_id=row.organization_id, actor=actor, action="scim_token.revoke", detail={"id": row.id}
        )
    return row


async def authenticate_scim_token(presented: str) -> ScimToken:
    """The live token matching ``presented`` (with its organisation); NotAuthenticated otherwise."""
    token = presented.strip()
    if not token.startswith(TOKEN_MARKER) or len(token) > 200:
        raise NotAuthenticated("invalid SCIM token")
    row = await ScimToken.get_or_none(token_hash=hash_key(token)).select_related("organization")
    if row is None or row.revoked_at is not None:
        raise NotAuthenticated("invalid or revoked SCIM token")
    now = clock.now()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
        await ScimToken.filter(id=row.id).update(last_used_at=now)
    return row


# ---------------------------------------------------------------- people


@dataclass(frozen=True)
class UserData:
    """What a SCIM client sends about a person (already parsed)."""

    user_name: str
    display_name: str
    email: str | None
    department: str
    external_id: str | None = None
    active: bool = True


@dataclass(frozen=True)
class ScimPerson:
    id: int
    user_name: str
    external_id: str | None
    display_name: str
    email: str
    department: str
    active: bool
    created_at: datetime
    updated_at: datetime


def _person_id(value: str | int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise NotFound(f"no user with id {str(value)[:64]!r}") from None
    if not 1 <= number <= 2**31 - 1:
        raise NotFound(f"no user with id {str(value)[:64]!r}")
    return number


async def _view(organization: Organization, person: Person) -> ScimPerson:
    identity = await ScimIdentity.get_or_none(person_id=person.id)
    department = await Department.get(id=person.department_id)
    return ScimPerson(
        id=person.id,
        user_name=identity.user_name if identity else person.email,
        external_id=identity.external_id if identity else None,
        display_name=person.name,
        email=person.email,
        department=department.name,
        active=person.active,
        created_at=person.created_at,
        updated_at=person.updated_at,
    )


async def get_user(organization: Organization, user_id: str | int) -> ScimPerson:
    """A person of ``organization``; another organisation's people are NotFound like missing ones."""
    person = await Person.get_or_none(id=_person_id(user_id), organization_id=organization.id)
    if person is None:
        raise NotFound(f"no user with id {str(user_id)[:64]!r}")
    return await _view(organization, person)


async def list_users(
    organization: Organization, *, user_name: str | None = None, start_index: int = 1, count: int = 100
) -> tuple[int, list[ScimPerson]]:
    """Total and one page (``start_index`` from 1) of the organisation's people, by id; ``user_name``
    filters on ``userName eq`` (case-insensitive, as userName is not case-exact)."""
    query = Person.filter(organization_id=organization.id)
    if user_name is not None:
        wanted = user_name.strip().lower()
        named = await ScimIdentity.filter(organization_id=organization.id, user_name=wanted).values_list(
            "person_id", flat=True
        )
        with_identity = ScimIdentity.filter(organization_id=organization.id).values_list("person_id", flat=True)
        by_email = (
            await Person.filter(organization_id=organization.id, email=wanted)
            .exclude(id__in=await with_identity)
            .values_list("id", flat=True)
        )
        query = query.filter(id__in=[*named, *by_email])
    total = await query.count()
    count = max(0, min(count, MAX_PAGE))
    if count == 0:
        return total, []
    rows = await query.order_by("id").offset(max(start_index, 1) - 1).limit(count)
    return total, [await _view(organization, person) for person in rows]


async def _check_user_name(organization: Organization, user_name: str, person_id: int | None) -> str:
    wanted = user_name.strip().lower()
    if not wanted or len(wanted) > USER_NAME_MAX_LENGTH:
        raise InvalidInput(f"userName {user_name[:300]!r} is empty or longer than {USER_NAME_MAX_LENGTH} characters")
    clash = ScimIdentity.filter(organization_id=organization.id, user_name=wanted)
    if person_id is not None:
        clash = clash.exclude(person_id=person_id)
    if await clash.exists():
        raise Conflict(f"userName {wanted!r} is taken by another user")
    return wanted


def _email_of(data: UserData) -> str:
    if data.email:
        return data.email
    if people.EMAIL_PATTERN.match(people.normalize_email(data.user_name)):
        return data.user_name
    raise InvalidInput("a person needs an email address: send emails, or a userName that is an address")


def _record(email: str, data: UserData, person: Person | None) -> dict[str, str]:
    """The import's columns for this person; what SCIM does not carry (role, locale, manager) is kept."""
    return {
        "email": email,
        "name": data.display_name,
        "department": data.department,
        "manager_email": (person.manager_email or "") if person else "",
        "role": str(person.role) if person else "",
        "locale": person.locale if person else "",
    }


async def _save(
    organization: Organization, person: Person | None, data: UserData, email: str, user_name: str, actor: str
) -> Person:
    await people.save_person(organization, _record(email, data, person), actor=actor)
    saved = await Person.get(organization_id=organization.id, email=people.normalize_email(email))
    external_id = (data.external_id or "").strip()[:254] or None
    identity = await ScimIdentity.get_or_none(person_id=saved.id)
    if identity is None:
        await ScimIdentity.create(person=saved, organization=organization, user_name=user_name, external_id=external_id)
    elif (identity.user_name, identity.external_id) != (user_name, external_id):
        identity.user_name, identity.external_id = user_name, external_id
        await identity.save(update_fields=["user_name", "external_id"])
    if not data.active:
        saved = await set_person_active(organization, saved.email, False, actor=actor)
    return saved


async def create_user(organization: Organization, data: UserData, *, actor: str) -> ScimPerson:
    """Create a person (or take over one imported from CSV with that address and no SCIM identity yet)."""
    user_name = await _check_user_name(organization, data.user_name, None)
    email = _email_of(data)
    async with in_transaction():
        existing = await Person.get_or_none(organization_id=organization.id, email=people.normalize_email(email))
        if existing is not None and await ScimIdentity.exists(person_id=existing.id):
            raise Conflict(f"a user with the email {people.normalize_email(email)!r} already exists")
        person = await _save(organization, existing, data, email, user_name, actor)
    return await _view(organization, person)


async def replace_user(organization: Organization, user_id: str | int, data: UserData, *, actor: str) -> ScimPerson:
    """Replace what SCIM carries about a person (PUT, and PATCH once applied)."""
    person = await Person.get_or_none(id=_person_id(user_id), organization_id=organization.id)
    if person is None:
        raise NotFound(f"no user with id {str(user_id)[:64]!r}")
    user_name = await _check_user_name(organization, data.user_name, person.id)
    email = _email_of(data)
    async with in_transaction():
        if people.normalize_email(email) != person.email:
            await people.change_email(organization, person.email, email, actor=actor)
            person = await Person.get(id=person.id)
        person = await _save(organization, person, data, email, user_name, actor)
    return await _view(organization, person)


async def erase_user(organization: Organization, user_id: str | int, *, actor: str) -> None:
    """DELETE: erase the person as ``pulse people erase`` does (their SCIM identity goes with them)."""
    person = await Person.get_or_none(id=_person_id(user_id), organization_id=organization.id)
    if person is None:
        raise NotFound(f"no user with id {str(user_id)[:64]!r}")
    await people.erase_person(organization, person.email, actor=actor)
