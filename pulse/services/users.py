"""Web accounts: creating them, checking passwords, disabling, enabling and resetting them.

Passwords are kept only as Argon2id hashes (argon2-cffi's RFC 9106 low-memory profile). Hashing is
CPU- and memory-heavy on purpose, so it runs in a thread, off the event loop.

Every password check (sign-in, and the current password on a change) goes through the sign-in limits
of ``pulse.services.sign_in_limits``: counted per email and client address pair, per address and, as a
slow ceiling, per email, with progressive delays instead of a lock; the check and the count are one
atomic step, so parallel requests cannot get more passwords checked than the limits allow.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from tortoise.exceptions import IntegrityError

from pulse import clock
from pulse.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from pulse.i18n import N_, Count
from pulse.models import AuditEvent, Organization, User, UserRole
from pulse.services import sessions, sign_in_limits
from pulse.services.organizations import validate_locale
from pulse.services.sign_in_limits import SignInThrottled, Source
from pulse.services.units import load_units, scope_ids

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
EMAIL_PATTERN = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+$")

_hasher = PasswordHasher()
_dummy_hashes: dict[str, str] = {}


def _dummy_hash() -> str:
    """Verified against when the email is unknown, so that a miss costs as long as a wrong password
    and response times do not tell which addresses have accounts (made on first use, not at import)."""
    parameters = f"{_hasher.time_cost}:{_hasher.memory_cost}:{_hasher.parallelism}"
    if parameters not in _dummy_hashes:
        _dummy_hashes[parameters] = _hasher.hash("pulse-dummy-password-for-timing")
    return _dummy_hashes[parameters]


def normalize_email(value: str) -> str:
    return value.strip().lower()


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            N_("password is too short: use at least %(count)s characters", count=Count(MIN_PASSWORD_LENGTH))
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(N_("password is too long: at most %(count)s characters", count=Count(MAX_PASSWORD_LENGTH)))
    return password


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


async def create_user(
    email: str,
    password: str,
    *,
    role: UserRole | str,
    organization: Organization | None = None,
    name: str = "",
    units: Sequence[str] = (),
) -> User:
    """Create an account. HR and leaders belong to exactly one organisation; admins to none.

    ``units`` (paths such as ``Retail / Stores North``) scope a leader to those subtrees; none = the
    whole organisation.
    """
    address = normalize_email(email)
    if not EMAIL_PATTERN.match(address) or len(address) > 254:
        raise InvalidInput(N_("malformed email %(email)s", email=repr(email.strip()[:300])))
    try:
        user_role = UserRole(role)
    except ValueError:
        raise InvalidInput(N_("unknown role %(role)s (use admin, hr or leader)", role=repr(role))) from None
    if user_role is UserRole.ADMIN and organization is not None:
        raise InvalidInput(N_("an admin sees every organisation: do not give one (--org)"))
    if user_role is not UserRole.ADMIN and organization is None:
        raise InvalidInput(
            N_("an account with the role %(role)s needs an organisation (--org SLUG)", role=user_role.value)
        )
    if len(name) > 200:
        raise InvalidInput(N_("name is longer than %(count)s characters", count=Count(200)))
    if units and (user_role is not UserRole.LEADER or organization is None):
        raise InvalidInput(N_("only a leader account can be scoped to units (--unit)"))
    unit_ids = await scope_ids(organization, units) if organization is not None and units else None
    password_hash = await hash_password(_check_password(password))
    if await User.exists(email=address):
        raise Conflict(N_("an account for %(email)s already exists", email=repr(address)))
    try:
        return await User.create(
            email=address,
            name=name.strip(),
            password_hash=password_hash,
            role=user_role,
            organization=organization,
            unit_ids=unit_ids,
        )
    except IntegrityError:
        raise Conflict(N_("an account for %(email)s already exists", email=repr(address))) from None


async def create_leader(
    organization: Organization, email: str, *, name: str = "", units: Sequence[str] | None = None, actor: str = "cli"
) -> tuple[User, str]:
    """A leader account of ``organization`` (scoped to ``units``, or reading the whole organisation with
    None) with a random one-time password that must be changed at the first sign-in, as after a reset.
    Returns the account and the password (to hand over: it is not kept). Refused like ``create_user``."""
    password = one_time_password()
    user = await create_user(
        email, password, role=UserRole.LEADER, organization=organization, name=name, units=list(units or ())
    )
    user.must_change_password = True
    await user.save(update_fields=["must_change_password"])
    await AuditEvent.create(
        organization_id=organization.id,
        actor=actor,
        action="user.create",
        detail={
            "user": user.email,
            "role": UserRole.LEADER.value,
            "units": await _unit_labels(organization.id, user.unit_ids),
        },
    )
    return user, password


async def _unit_labels(organization_id: int, unit_ids: Sequence[int] | None) -> list[str] | None:
    """A scope as the audit log records it: the units' paths, or None for the whole organisation."""
    if not unit_ids:
        return None
    units = await load_units(organization_id)
    return [units.label(i) for i in unit_ids]


async def set_scope(user: User, units: Sequence[str] | None, *, actor: str = "cli") -> User:
    """Scope a leader account to units (paths such as ``Retail / Stores North``, each with everything
    below it), or to the whole organisation with None. The same resolution as ``create_user``: an
    unknown or malformed path raises NotFound or InvalidUnitPath naming it, and nothing changes.

    Pages read the account's scope on every request, so the change holds from the leader's next click.
    """
    if user.role is not UserRole.LEADER or user.organization_id is None:
        raise InvalidInput(N_("%(email)s is not a leader account: only leaders are scoped to units", email=user.email))
    named = [text for text in units or () if text.strip()] if units is not None else None
    if named is not None and not named:
        raise InvalidInput(N_("choose at least one unit, or the whole organisation"))
    organization = await Organization.get(id=user.organization_id)
    unit_ids = await scope_ids(organization, named) if named else None
    if user.unit_ids != unit_ids:
        user.unit_ids = unit_ids
        await user.save(update_fields=["unit_ids"])
        await AuditEvent.create(
            organization_id=organization.id,
            actor=actor,
            action="user.scope",
            detail={"user": user.email, "units": await _unit_labels(organization.id, unit_ids)},
        )
    return user


async def scope_paths(user: User) -> list[str]:
    """The units a leader account reads, as sorted paths (empty: the whole organisation)."""
    if user.unit_ids is None or user.organization_id is None:
        return []
    units = await load_units(user.organization_id)
    return sorted(units.label(i) for i in user.unit_ids if i in units.paths)


async def set_password(user: User, password: str, *, must_change: bool = False) -> None:
    """Replace a user's password and end every session of theirs (``must_change``: after a reset, the
    next sign-in has to choose a new one)."""
    user.password_hash = await hash_password(_check_password(password))
    user.must_change_password = must_change
    await user.save(update_fields=["password_hash", "must_change_password"])
    await sessions.end_all(user)


async def get_user(user_id: int) -> User:
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound(N_("no account with id %(id)s", id=user_id))
    return user


async def authenticate(email: str, password: str, *, client: str = "unknown") -> User:
    """The active account with this email and password.

    Raises SignInThrottled while this email and address must wait (see ``sign_in_limits``; no password
    is checked then), and NotAuthenticated (one message for every cause, so it reveals nothing) otherwise.
    """
    source = Source(email=email, client=client)
    await sign_in_limits.admit(source)
    user = await User.get_or_none(email=normalize_email(email)[:254])
    ok = await _verify(user.password_hash if user is not None else _dummy_hash(), password[:MAX_PASSWORD_LENGTH])
    if user is None or not ok or not user.active:
        raise NotAuthenticated(N_("wrong email or password"))
    await sign_in_limits.succeeded(source)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    user.last_login_at = clock.now()
    await user.save(update_fields=["password_hash", "last_login_at"])
    return user


async def change_password(user: User, current: str, new: str, *, client: str = "unknown") -> None:
    """Replace a signed-in user's password after checking their current one.

    A wrong current password counts as a failed sign-in for the user's email from ``client`` (so a
    session left open is no shortcut for guessing), and is refused with SignInThrottled while that
    source must wait. Raises NotAuthenticated for a wrong current password and InvalidInput for a new
    one that is too short, too long or the same as the current one; nothing is changed then.
    """
    source = Source(email=user.email, client=client)
    await sign_in_limits.admit(source)
    if not await _verify(user.password_hash, current[:MAX_PASSWORD_LENGTH]):
        raise NotAuthenticated(N_("the current password is wrong"))
    await sign_in_limits.succeeded(source)
    if new == current:
        raise InvalidInput(N_("the new password is the same as the current one: choose a different one"))
    await set_password(user, new)
    # No detail: the audit log names the account (actor) and never holds anything about the password.
    await AuditEvent.create(organization_id=user.organization_id, actor=user.email, action="user.password_change")


async def get_user_by_email(email: str) -> User:
    address = normalize_email(email)
    user = await User.get_or_none(email=address[:254])
    if user is None:
        raise NotFound(N_("no account with email %(email)s", email=repr(address)))
    return user


async def list_users() -> list[User]:
    """Every account, admins first, then by email (with its organisation loaded)."""
    found = await User.all().select_related("organization").order_by("email")
    return sorted(found, key=lambda user: user.role is not UserRole.ADMIN)


async def set_user_active(email: str, active: bool, *, actor: str = "cli") -> User:
    """Disable (or enable) the account ``email``; idempotent.

    Disabling ends every session of the account at once, and the API keys it created stop working
    while it stays disabled (``pulse.services.api_keys``); enabling lets it sign in again (sessions do
    not come back) and its keys work again.
    """
    user = await get_user_by_email(email)
    if user.active != active:
        user.active = active
        await user.save(update_fields=["active"])
        await AuditEvent.create(
            organization_id=user.organization_id,
            actor=actor,
            action="user.enable" if active else "user.disable",
            detail={"user": user.email},
        )
    if not active:
        await sessions.end_all(user)
    return user


def one_time_password() -> str:
    """A random password for a reset: 16 characters from 96 random bits."""
    return secrets.token_urlsafe(12)


async def reset_password(email: str, password: str | None = None, *, actor: str = "cli") -> tuple[User, str]:
    """Give the account ``email`` a new password (``password``, or a random one-time one) that must be
    changed at the next sign-in; ends every session of the account and forgets its failed sign-ins.
    Returns the user and the password (to hand over: it is not kept)."""
    user = await get_user_by_email(email)
    new = one_time_password() if password is None else password
    await set_password(user, new, must_change=True)
    await sign_in_limits.clear_email(user.email)
    await AuditEvent.create(
        organization_id=user.organization_id, actor=actor, action="user.password_reset", detail={"user": user.email}
    )
    return user, new


async def set_language(user: User, locale: str | None) -> None:
    """The language of the user's web app and reports; None follows the organisation's default."""
    if locale is not None:
        validate_locale(locale)
    user.locale = locale
    await user.save(update_fields=["locale"])


__all__ = [
    "SignInThrottled",
    "authenticate",
    "change_password",
    "create_leader",
    "create_user",
    "get_user",
    "get_user_by_email",
    "list_users",
    "reset_password",
    "scope_paths",
    "set_language",
    "set_password",
    "set_scope",
    "set_user_active",
]
