"""Survey link tokens: derived from a stored salt with the secret key, recognised by a keyed hash.

How a link is made and recognised (README, "Anonymity"):

* Each invitation stores a random salt (16 bytes, hex). The link token is
  ``base64url(HMAC-SHA256(secret_key, "pulse-invitation-token" + salt))``: 256 bits, 43 characters.
  Because the token is *derived*, a reminder can send the very same link again without the token
  ever being stored.
* The invitation also stores ``token_hash = hex(HMAC-SHA256(secret_key, "pulse-token-hash" + token))``,
  unique and indexed, so a link is found with one indexed lookup.
* Without the secret key, the database alone can neither reproduce a link from a salt nor tell which
  invitation a given link belongs to. Two different HMAC labels keep the two uses apart, so knowing a
  token's hash never helps to compute a token.

Changing ``PULSE_SECRET_KEY`` invalidates every link already sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

SALT_BYTES = 16
TOKEN_LABEL = b"pulse-invitation-token"
HASH_LABEL = b"pulse-token-hash"
#: base64url of a SHA-256 digest without padding: exactly 43 characters.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class TokenMaterial:
    """What an invitation stores (salt, hash) and what only the email carries (token)."""

    salt: str
    token: str
    token_hash: str


def _key(secret_key: str) -> bytes:
    return secret_key.encode("utf-8")


def new_salt() -> str:
    """A fresh random salt, hex (32 characters)."""
    return secrets.token_hex(SALT_BYTES)


def token_for(salt: str, secret_key: str) -> str:
    """The link token of the invitation with ``salt`` (the same every time: reminders resend it)."""
    digest = hmac.new(_key(secret_key), TOKEN_LABEL + salt.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def hash_token(token: str, secret_key: str) -> str:
    """The keyed hash stored in ``Invitation.token_hash`` and used to look a link up."""
    return hmac.new(_key(secret_key), HASH_LABEL + token.encode("utf-8"), hashlib.sha256).hexdigest()


def new_token_material(secret_key: str) -> TokenMaterial:
    salt = new_salt()
    token = token_for(salt, secret_key)
    return TokenMaterial(salt=salt, token=token, token_hash=hash_token(token, secret_key))


def looks_like_token(token: str) -> bool:
    """Cheap shape check, so obvious garbage never reaches the database."""
    return bool(TOKEN_PATTERN.match(token))


def hashes_match(stored_hash: str, token: str, secret_key: str) -> bool:
    """Constant-time comparison of a stored hash with the hash of ``token``."""
    return hmac.compare_digest(stored_hash.encode("ascii"), hash_token(token, secret_key).encode("ascii"))
