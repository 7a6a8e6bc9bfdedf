"""Server-side sessions of the web app: a session ends on the server, not only in the browser.

Each signed-in browser has a ``UserSession`` row; its cookie carries a random 256-bit token and the
database keeps only the token's SHA-256 (a copy of the table cannot be replayed as cookies). Every
request looks the row up, with its user, in one indexed query, so:

* signing out deletes the row, and a copied cookie stops working at once;
* disabling an account or resetting its password deletes all its rows;
* a password change deletes them all, and the browser that made the change gets a fresh one.

A per-user "session generation" counter in a signed cookie would have been one column instead of a
table, but it cannot end one session without ending all of that user's sessions (signing out on a
laptop would sign out the phone) and it keeps no list of what is signed in; rows do both.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from pulse import clock
from pulse.models import User, UserSession

#: A session ends this long after sign-in, whatever happens.
SESSION_LIFETIME = timedelta(hours=12)
MAX_TOKEN_LENGTH = 100


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start(user: User) -> str:
    """A new session for ``user``; returns its token (for the cookie: it is not stored)."""
    now = clock.now()
    token = secrets.token_urlsafe(32)
    await UserSession.create(user=user, token_hash=_hash(token), expires_at=now + SESSION_LIFETIME)
    # Expired rows can never be used again: forgetting them keeps the table to live sessions.
    await UserSession.filter(expires_at__lt=now).delete()
    return token


async def user_of(token: object) -> User | None:
    """The active user of the live session with this token; None for anything else."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    found = await UserSession.get_or_none(token_hash=_hash(token), expires_at__gt=clock.now()).select_related("user")
    if found is None:
        return None
    if not found.user.active:
        # However the account was disabled, its sessions must not come back when it is enabled again.
        await UserSession.filter(id=found.id).delete()
        return None
    return found.user


async def end(token: object) -> None:
    """End the session with this token (nothing happens for an unknown one)."""
    if isinstance(token, str) and token and len(token) <= MAX_TOKEN_LENGTH:
        await UserSession.filter(token_hash=_hash(token)).delete()


async def end_all(user: User) -> int:
    """End every session of ``user``; returns how many there were."""
    return await UserSession.filter(user_id=user.id).delete()


async def count(user: User) -> int:
    """How many live sessions ``user`` has."""
    return await UserSession.filter(user_id=user.id, expires_at__gt=clock.now()).count()
