"""Web accounts: creating them, checking passwords, and throttling sign-in guesses.

Passwords are kept only as Argon2id hashes (argon2-cffi's RFC 9106 low-memory profile). Hashing is
CPU- and memory-heavy on purpose, so it runs in a thread, off the event loop.

Throttling counts failed sign-ins in the database (``SignInFailure``), not in process memory, so a
guesser cannot spread attempts over several web processes. Failures are counted per email address
and per client address: more than ``MAX_FAILURES`` of either in ``FAILURE_WINDOW`` and sign-in is
refused (even with the right password) until the oldest failure leaves the window.
"""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from tortoise.exceptions import IntegrityError

from pulse import clock
from pulse.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, Throttled
from pulse.models import AuditEvent, Organization, SignInFailure, User, UserRole

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
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


class SignInThrottled(Throttled):
    """Too many failed sign-ins; ``retry_after`` is the number of seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(f"too many failed sign-ins: try again in {minutes} minute{'s' if minutes != 1 else ''}")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignInAttempt:
    """Where a sign-in comes from, for throttling."""

    email: str
    client: str


def normalize_email(value: str) -> str:
    return value.strip().lower()


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password is too short: use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"password is too long: at most {MAX_PASSWORD_LENGTH} characters")
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
) -> User:
    """Create an account. HR and leaders belong to exactly one organisation; admins to none."""
    address = normalize_email(email)
    if not EMAIL_PATTERN.match(address) or len(address) > 254:
        raise InvalidInput(f"malformed email {email.strip()!r}")
    try:
        user_role = UserRole(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r} (use admin, hr or leader)") from None
    if user_role is UserRole.ADMIN and organization is not None:
        raise InvalidInput("an admin sees every organisation: do not give one (--org)")
    if user_role is not UserRole.ADMIN and organization is None:
        raise InvalidInput(f"a {user_role.value} account needs an organisation (--org SLUG)")
    if len(name) > 200:
        raise InvalidInput("name is longer than 200 characters")
    password_hash = await hash_password(_check_password(password))
    if await User.exists(email=address):
        raise Conflict(f"an account for {address!r} already exists")
    try:
        return await User.create(
            email=address, name=name.strip(), password_hash=password_hash, role=user_role, organization=organization
        )
    except IntegrityError:
        raise Conflict(f"an account for {address!r} already exists") from None


async def set_password(user: User, password: str) -> None:
    """Replace a user's password (this also ends their other sessions: see pulse.web.auth)."""
    user.password_hash = await hash_password(_check_password(password))
    await user.save(update_fields=["password_hash"])


async def get_user(user_id: int) -> User:
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound(f"no account with id {user_id}")
    return user


def _keys(attempt: SignInAttempt) -> list[str]:
    return [f"email:{normalize_email(attempt.email)}"[:254], f"client:{attempt.client}"[:254]]


async def _retry_after(keys: list[str]) -> int | None:
    """Seconds until sign-in is allowed again for any of ``keys``; None when it is allowed now."""
    now = clock.now()
    since = now - FAILURE_WINDOW
    wait: int | None = None
    for key in keys:
        recent = await SignInFailure.filter(key=key, at__gte=since).order_by("-at").limit(MAX_FAILURES)
        if len(recent) >= MAX_FAILURES:
            # Allowed again when the MAX_FAILURES-th most recent failure leaves the window.
            seconds = math.ceil((recent[-1].at + FAILURE_WINDOW - now).total_seconds())
            wait = max(wait or 0, max(1, seconds))
    return wait


async def _record_failure(keys: list[str]) -> None:
    now = clock.now()
    await SignInFailure.bulk_create([SignInFailure(key=key, at=now) for key in keys])
    # Old rows prove nothing any more; forgetting them keeps the table small.
    await SignInFailure.filter(at__lt=now - FAILURE_WINDOW).delete()


async def authenticate(email: str, password: str, *, client: str = "unknown") -> User:
    """The active account with this email and password.

    Raises SignInThrottled when the email or the client address failed too often recently, and
    NotAuthenticated (one message for every cause, so it reveals nothing) otherwise.
    """
    attempt = SignInAttempt(email=email, client=client)
    keys = _keys(attempt)
    wait = await _retry_after(keys)
    if wait is not None:
        raise SignInThrottled(wait)
    user = await User.get_or_none(email=normalize_email(email))
    ok = await _verify(user.password_hash if user is not None else _dummy_hash(), password[:MAX_PASSWORD_LENGTH])
    if user is None or not ok or not user.active:
        await _record_failure(keys)
        raise NotAuthenticated("wrong email or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    user.last_login_at = clock.now()
    await user.save(update_fields=["password_hash", "last_login_at"])
    # A success clears the email's count; the client's stays, so one right password does not reset
    # a guesser working through many addresses.
    await SignInFailure.filter(key=keys[0]).delete()
    return user


async def change_password(user: User, current: str, new: str, *, client: str = "unknown") -> None:
    """Replace a signed-in user's password after checking their current one.

    A wrong current password counts as a failed sign-in for the user's email and ``client`` (so a
    session left open is no shortcut for guessing), and is refused with SignInThrottled once too many
    failed. Raises NotAuthenticated for a wrong current password and InvalidInput for a new one that is
    too short, too long or the same as the current one; nothing is changed then. Ends the user's other
    sessions (their cookies hold a fingerprint of the old hash: see pulse.web.auth).
    """
    keys = _keys(SignInAttempt(email=user.email, client=client))
    wait = await _retry_after(keys)
    if wait is not None:
        raise SignInThrottled(wait)
    if not await _verify(user.password_hash, current[:MAX_PASSWORD_LENGTH]):
        await _record_failure(keys)
        raise NotAuthenticated("the current password is wrong")
    if new == current:
        raise InvalidInput("the new password is the same as the current one: choose a different one")
    await set_password(user, new)
    await SignInFailure.filter(key=keys[0]).delete()
    # No detail: the audit log names the account (actor) and never holds anything about the password.
    await AuditEvent.create(organization_id=user.organization_id, actor=user.email, action="user.password_change")


async def deactivate_user(user: User) -> None:
    user.active = False
    await user.save(update_fields=["active"])
