"""Single sign-on with OpenID Connect: an organisation's provider vouches for its HR and leaders.

The flow is the authorization code flow with PKCE (S256), through Authlib's OAuth 2 client:

1. ``begin`` reads the provider's discovery document (its ``issuer`` must be exactly the configured
   one), draws a state, a nonce and a code verifier, keeps them in a single-use ``SsoAttempt`` row
   (the state only as a hash) and returns the authorization URL. The web layer also puts the state in
   a short-lived cookie, so a callback is accepted only in the browser that started the sign-in.
2. ``complete`` checks the state against that cookie, consumes the attempt (a second use of the same
   state finds nothing: a replay is refused), exchanges the code with the verifier, and validates the
   ID token: its signature against the provider's published keys (JWKS), then ``iss``, ``aud``,
   ``exp``, ``iat`` and ``nonce`` (Authlib's ``CodeIDToken`` claims rules, with ``azp`` and
   ``at_hash`` when present).
3. The account is found by the token's email, and only when ``email_verified`` is true. Someone
   without an account is refused unless the organisation turned on just-in-time creation; a role
   comes from the configured claim (a string or a list such as ``groups``) through the role map.

An organisation's provider can only ever sign people in to that organisation, as HR or leader:
Pulse's admin role spans every organisation, so no organisation's provider may grant it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oidc.core import CodeIDToken
from cryptography.fernet import Fernet, InvalidToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from pulse import clock
from pulse.errors import InvalidInput, NotFound, PulseError
from pulse.i18n import N_, term
from pulse.models import AuditEvent, Organization, SsoAttempt, SsoConfig, User, UserRole
from pulse.services.units import scope_ids
from pulse.settings import Settings

#: How long a sign-in may take at the provider before its state expires.
ATTEMPT_LIFETIME = timedelta(minutes=10)
#: Clock difference tolerated on exp/iat between Pulse and the provider.
LEEWAY_SECONDS = 60
HTTP_TIMEOUT = 10.0
#: Signature algorithms Pulse accepts for ID tokens (asymmetric only: never "none", never a shared key).
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
#: Roles an organisation's provider can give; the higher one wins when several claim values match.
MAPPABLE_ROLES = (UserRole.HR, UserRole.LEADER)
#: Account password hash of someone created by single sign-on: no password ever verifies against it.
NO_PASSWORD = "!sso"
DOMAIN_PATTERN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)
EMAIL_PATTERN = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+$")


class SsoRefused(PulseError):
    """The provider, or the identity it vouched for, is not accepted; the message says why."""

    status_code = 403
    code = "sso_refused"


class SsoInvalid(PulseError):
    """The sign-in response is not a valid one (state, code or ID token)."""

    status_code = 400
    code = "sso_invalid"


class SsoUnavailable(PulseError):
    """The provider could not be reached or answered something unusable."""

    status_code = 502
    code = "sso_unavailable"


# ---------------------------------------------------------------- configuration


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"pulse.sso.client-secret\0" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_secret(secret: str, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode()).decode()


def decrypt_secret(token: str, secret_key: str) -> str:
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SsoUnavailable(
            N_("the stored client secret cannot be read with this PULSE_SECRET_KEY: set it again with `pulse org sso`")
        ) from None


def _issuer(value: str) -> str:
    issuer = value.strip()
    parts = urlsplit(issuer)
    if parts.scheme not in {"https", "http"} or not parts.hostname or parts.query or parts.fragment:
        raise InvalidInput(f"issuer {value!r} is not an https:// URL without query or fragment")
    if parts.scheme == "http" and parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise InvalidInput(f"issuer {value!r} must use https (plain http only on this machine's loopback)")
    return issuer


def parse_role_map(pairs: list[str]) -> dict[str, str]:
    """``["pulse-hr=hr", "leaders=leader"]`` -> ``{"pulse-hr": "hr", "leaders": "leader"}``, checked."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        value, sep, role = pair.rpartition("=")
        value, role = value.strip(), role.strip().lower()
        if not sep or not value:
            raise InvalidInput(f"role mapping {pair!r} is not VALUE=ROLE (e.g. pulse-hr=hr)")
        if role == UserRole.ADMIN.value:
            raise InvalidInput(
                f"role mapping {pair!r}: an organisation's provider cannot make admins (admins see every "
                "organisation); map to hr or leader"
            )
        if role not in {r.value for r in MAPPABLE_ROLES}:
            raise InvalidInput(f"role mapping {pair!r}: unknown role {role!r} (use hr or leader)")
        mapping[value] = role
    return mapping


@dataclass(frozen=True)
class SsoSettings:
    """What ``configure`` sets; None leaves a stored value as it is."""

    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    display_name: str | None = None
    email_domains: list[str] | None = None
    role_claim: str | None = None
    role_map: dict[str, str] | None = None
    scopes: str | None = None
    #: "" clears it.
    scope_claim: str | None = None
    jit: bool | None = None
    password_sign_in: bool | None = None


async def configure(
    organization: Organization, changes: SsoSettings, settings: Settings, *, actor: str = "cli"
) -> SsoConfig:
    """Create or change the organisation's provider. A first configuration needs issuer, client id and secret."""
    config = await SsoConfig.get_or_none(organization_id=organization.id)
    if config is None and not (changes.issuer and changes.client_id and changes.client_secret):
        raise InvalidInput(
            f"organisation {organization.slug!r} has no provider yet: give --issuer, --client-id and --client-secret"
        )
    config = config or SsoConfig(organization=organization)
    if changes.issuer is not None:
        config.issuer = _issuer(changes.issuer)
    if changes.client_id is not None:
        client_id = changes.client_id.strip()
        if not client_id or len(client_id) > 255:
            raise InvalidInput(f"client id {changes.client_id!r} is empty or longer than 255 characters")
        config.client_id = client_id
    if changes.client_secret is not None:
        if not changes.client_secret or len(changes.client_secret) > 1000:
            raise InvalidInput("the client secret is empty or longer than 1000 characters")
        config.client_secret_encrypted = encrypt_secret(changes.client_secret, settings.secret_key)
    if changes.display_name is not None:
        if len(changes.display_name.strip()) > 100:
            raise InvalidInput("the provider's display name is longer than 100 characters")
        config.display_name = changes.display_name.strip()
    if changes.email_domains is not None:
        domains = sorted({d.strip().lower().lstrip("@") for d in changes.email_domains if d.strip()})
        for domain in domains:
            if not DOMAIN_PATTERN.match(domain):
                raise InvalidInput(f"email domain {domain!r} is not a domain name such as acme.com")
        taken = await SsoConfig.exclude(organization_id=organization.id).values_list("email_domains", flat=True)
        for others in taken:
            clash = set(domains) & set(others or [])
            if clash:
                raise InvalidInput(f"email domain {sorted(clash)[0]!r} already belongs to another organisation")
        config.email_domains = domains
    if changes.role_claim is not None:
        claim = changes.role_claim.strip()
        if not claim or len(claim) > 100:
            raise InvalidInput(f"role claim {changes.role_claim!r} is empty or longer than 100 characters")
        config.role_claim = claim
    if changes.role_map is not None:
        config.role_map = parse_role_map([f"{k}={v}" for k, v in changes.role_map.items()])
    if changes.scopes is not None:
        scopes = " ".join(changes.scopes.split())
        if "openid" not in scopes.split() or "email" not in scopes.split() or len(scopes) > 200:
            raise InvalidInput(f"scopes {changes.scopes!r} must include openid and email")
        config.scopes = scopes
    if changes.scope_claim is not None:
        scope_claim = changes.scope_claim.strip()
        if len(scope_claim) > 100:
            raise InvalidInput(f"scope claim {changes.scope_claim[:120]!r} is longer than 100 characters")
        config.scope_claim = scope_claim or None
    if changes.jit is not None:
        config.jit = changes.jit
    if changes.password_sign_in is not None:
        config.password_sign_in = changes.password_sign_in
    await config.save()
    detail: dict[str, object] = {
        "issuer": config.issuer,
        "client_id": config.client_id,
        "jit": config.jit,
        "password_sign_in": config.password_sign_in,
        "role_map": config.role_map,
        "scope_claim": config.scope_claim,
    }
    await AuditEvent.create(organization=organization, actor=actor, action="sso.configure", detail=detail)
    return config


async def remove(organization: Organization, *, actor: str = "cli") -> None:
    deleted = await SsoConfig.filter(organization_id=organization.id).delete()
    if not deleted:
        raise NotFound(f"organisation {organization.slug!r} has no single sign-on configured")
    await AuditEvent.create(organization=organization, actor=actor, action="sso.remove", detail=None)


async def config_for_slug(slug: str) -> SsoConfig:
    config = await SsoConfig.get_or_none(organization__slug=slug.strip().lower()).select_related("organization")
    if config is None:
        raise NotFound(N_("no single sign-on is set up for organisation %(slug)s", slug=repr(slug.strip()[:64])))
    return config


async def config_for_email(email: str) -> SsoConfig:
    domain = email.strip().lower().rpartition("@")[2]
    if not domain:
        raise InvalidInput(N_("%(email)s is not an email address", email=repr(email.strip()[:254])))
    for config in await SsoConfig.all().select_related("organization"):
        if domain in (config.email_domains or []):
            return config
    raise NotFound(
        N_(
            "no single sign-on is set up for addresses at %(domain)s: sign in with your password",
            domain=repr(domain[:253]),
        )
    )


async def password_sign_in_allowed(user: User) -> bool:
    """False when the user's organisation signs in only through its provider."""
    if user.organization_id is None:
        return True
    config = await SsoConfig.get_or_none(organization_id=user.organization_id)
    return config is None or config.password_sign_in


def button_label(config: SsoConfig) -> str:
    return config.display_name or urlsplit(config.issuer).hostname or "your identity provider"


# ---------------------------------------------------------------- the provider


#: What Pulse fetches from the provider, named in its errors (message ids, translated with them).
# TRANSLATORS: what Pulse fetched from the identity provider, inside "the identity provider's … is not JSON".
DISCOVERY_DOCUMENT = N_("discovery document")
# TRANSLATORS: the provider's public signing keys (JSON Web Key Set), inside an error about fetching them.
PUBLISHED_KEYS = N_("keys (JWKS)")


async def _get_json(client: httpx2.AsyncClient, url: str, what: str) -> dict[str, Any]:
    try:
        response = await client.get(url)
    except httpx2.HTTPError as error:
        raise SsoUnavailable(
            N_(
                "the identity provider could not be reached for its %(what)s (%(url)s): %(error)s",
                what=term(what),
                url=url,
                error=str(error),
            )
        ) from None
    if response.status_code != 200:
        raise SsoUnavailable(
            N_(
                "the identity provider answered %(status)s for its %(what)s (%(url)s)",
                status=response.status_code,
                what=term(what),
                url=url,
            )
        )
    try:
        data = response.json()
    except ValueError:
        raise SsoUnavailable(
            N_("the identity provider's %(what)s (%(url)s) is not JSON", what=term(what), url=url)
        ) from None
    if not isinstance(data, dict):
        raise SsoUnavailable(
            N_("the identity provider's %(what)s (%(url)s) is not a JSON object", what=term(what), url=url)
        )
    return data


async def discover(issuer: str) -> dict[str, Any]:
    """The provider's discovery document; its ``issuer`` must be exactly the configured issuer."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as client:
        metadata = await _get_json(client, url, DISCOVERY_DOCUMENT)
    if metadata.get("issuer") != issuer:
        raise SsoRefused(
            N_(
                "the provider at %(url)s says it is issuer %(said)s, not the configured %(issuer)s: sign-in refused",
                url=url,
                said=repr(str(metadata.get("issuer"))[:200]),
                issuer=repr(issuer),
            )
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(key), str):
            raise SsoUnavailable(N_("the provider's discovery document has no %(key)s", key=key))
    return metadata


def _hash_state(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _client(config: SsoConfig, settings: Settings, redirect_uri: str) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=config.client_id,
        client_secret=decrypt_secret(config.client_secret_encrypted, settings.secret_key),
        token_endpoint_auth_method="client_secret_basic",
        scope=config.scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT,
    )


@dataclass(frozen=True)
class Started:
    url: str
    state: str


async def begin(config: SsoConfig, settings: Settings, redirect_uri: str, next_url: str = "/") -> Started:
    """Start a sign-in at the organisation's provider: the URL to send the browser to, and the state."""
    metadata = await discover(config.issuer)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    now = clock.now()
    # Attempts nobody came back from are of no use to anyone.
    await SsoAttempt.filter(created_at__lt=now - ATTEMPT_LIFETIME).delete()
    await SsoAttempt.create(
        state_hash=_hash_state(state),
        organization_id=config.organization_id,
        nonce=nonce,
        code_verifier=verifier,
        next_url=next_url[:500],
        created_at=now,
    )
    async with _client(config, settings, redirect_uri) as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
        )
    return Started(url=str(url), state=state)


@dataclass(frozen=True)
class Callback:
    """What came back to the callback URL, and the state the browser's cookie remembers."""

    state: str | None
    code: str | None
    error: str | None
    error_description: str | None
    cookie_state: str | None
    #: The ``iss`` authorization response parameter (RFC 9207), when the provider sends one.
    issuer: str | None = None


async def _consume(callback: Callback) -> SsoAttempt:
    if callback.error:
        if callback.error_description:
            raise SsoRefused(
                N_(
                    "the identity provider refused the sign-in: %(error)s (%(description)s)",
                    error=callback.error[:100],
                    description=callback.error_description[:200],
                )
            )
        raise SsoRefused(N_("the identity provider refused the sign-in: %(error)s", error=callback.error[:100]))
    if not callback.state or not callback.code:
        raise SsoInvalid(N_("the sign-in response has no state or no code: start again from the sign-in page"))
    if not callback.cookie_state or not hmac.compare_digest(callback.cookie_state, callback.state):
        raise SsoInvalid(N_("this sign-in was not started in this browser: start again from the sign-in page"))
    attempt = await SsoAttempt.get_or_none(state_hash=_hash_state(callback.state))
    # Deleting is the claim: of two requests with one state, only one deletes the row.
    if attempt is None or await SsoAttempt.filter(id=attempt.id).delete() != 1:
        raise SsoInvalid(N_("this sign-in response was already used: start again from the sign-in page"))
    if clock.now() - attempt.created_at > ATTEMPT_LIFETIME:
        raise SsoInvalid(N_("this sign-in took too long at the identity provider: start again from the sign-in page"))
    return attempt


async def _id_token_claims(
    config: SsoConfig,
    settings: Settings,
    metadata: dict[str, Any],
    callback: Callback,
    attempt: SsoAttempt,
    redirect_uri: str,
) -> dict[str, Any]:
    async with _client(config, settings, redirect_uri) as client:
        try:
            token = await client.fetch_token(
                metadata["token_endpoint"],
                grant_type="authorization_code",
                code=callback.code,
                code_verifier=attempt.code_verifier,
                redirect_uri=redirect_uri,
            )
        except httpx2.HTTPError as error:
            raise SsoUnavailable(
                N_("the identity provider's token endpoint could not be reached: %(error)s", error=str(error))
            ) from None
        except Exception as error:  # Authlib's OAuthError, or a body that is not a token response
            raise SsoRefused(N_("the identity provider refused the code: %(error)s", error=str(error)[:200])) from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SsoInvalid(N_("the identity provider returned no ID token"))
        access_token = token.get("access_token")
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
            jwks = await _get_json(http, metadata["jwks_uri"], PUBLISHED_KEYS)
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in SIGNING_ALGORITHMS if a in offered] or ["RS256"]
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        decoded = jwt.decode(id_token, keys, algorithms=algorithms)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise SsoInvalid(
            N_(
                "the ID token's signature does not verify against the provider's published keys (%(error)s)",
                error=type(error).__name__,
            )
        ) from None
    options: dict[str, Any] = {
        "iss": {"essential": True, "values": [config.issuer]},
        "aud": {"essential": True, "values": [config.client_id]},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "nonce": {"essential": True, "values": [attempt.nonce]},
    }
    params: dict[str, Any] = {"nonce": attempt.nonce, "client_id": config.client_id}
    if isinstance(access_token, str):
        params["access_token"] = access_token
    claims = CodeIDToken(decoded.claims, decoded.header, options, params)
    try:
        claims.validate(leeway=LEEWAY_SECONDS)
    except JoseError as error:
        raise SsoInvalid(N_("the ID token was refused: %(reason)s", reason=error.description or error.error)) from None
    return dict(claims)


def role_from_claims(claims: dict[str, Any], claim: str, role_map: dict[str, str]) -> UserRole | None:
    """The highest Pulse role the mapped claim values give (hr above leader); None when none matches."""
    raw = claims.get(claim)
    values = [raw] if isinstance(raw, str) else [v for v in raw if isinstance(v, str)] if isinstance(raw, list) else []
    roles = {role_map[v] for v in values if v in role_map}
    for role in MAPPABLE_ROLES:
        if role.value in roles:
            return role
    return None


async def _leader_scope(config: SsoConfig, claims: dict[str, Any], address: str) -> list[int]:
    """The unit ids a leader reads, from the configured scope claim (unit paths, as in the CSV)."""
    claim = str(config.scope_claim)
    raw = claims.get(claim)
    values = [raw] if isinstance(raw, str) else [v for v in raw if isinstance(v, str)] if isinstance(raw, list) else []
    if not values:
        raise SsoRefused(
            N_(
                "%(email)s is a leader but the provider's %(claim)s claim names no unit to read",
                email=repr(address),
                claim=repr(claim),
            )
        )
    try:
        # The same rule as `pulse user create --unit`: paths resolved, none inside another.
        ids = await scope_ids(config.organization, values[:100])
    except PulseError as error:
        raise SsoRefused(
            N_("the provider's %(claim)s claim: %(problem)s", claim=repr(claim), problem=error.message)
        ) from None
    return ids or []


async def _account(config: SsoConfig, claims: dict[str, Any]) -> User:
    organization = config.organization
    email = claims.get("email")
    if not isinstance(email, str) or not EMAIL_PATTERN.match(email.strip().lower()) or len(email) > 254:
        raise SsoRefused(N_("the identity provider did not give an email address: ask it to release the email claim"))
    address = email.strip().lower()
    if claims.get("email_verified") is not True:
        raise SsoRefused(
            N_("the identity provider has not verified the address %(email)s: sign-in refused", email=repr(address))
        )
    mapped = role_from_claims(claims, config.role_claim, config.role_map or {})
    user = await User.get_or_none(email=address)
    if user is None:
        if not config.jit:
            raise SsoRefused(
                N_(
                    "there is no Pulse account for %(email)s in %(organization)s: ask your HR team",
                    email=repr(address),
                    organization=organization.name,
                )
            )
        if mapped is None:
            raise SsoRefused(
                N_(
                    "%(email)s has no Pulse role: the provider's %(claim)s claim matches no role mapping",
                    email=repr(address),
                    claim=repr(config.role_claim),
                )
            )
        name = claims.get("name") if isinstance(claims.get("name"), str) else ""
        scope = (
            await _leader_scope(config, claims, address) if config.scope_claim and mapped is UserRole.LEADER else None
        )
        user = await User.create(
            email=address,
            name=str(name)[:200],
            password_hash=NO_PASSWORD,
            role=mapped,
            organization=organization,
            unit_ids=scope,
        )
        await AuditEvent.create(
            organization=organization, actor=address, action="user.sso_create", detail={"role": mapped.value}
        )
        return user
    if not user.active:
        raise SsoRefused(N_("the Pulse account %(email)s is disabled", email=repr(address)))
    if user.organization_id != organization.id:
        raise SsoRefused(
            N_(
                "the Pulse account %(email)s does not belong to %(organization)s",
                email=repr(address),
                organization=organization.name,
            )
        )
    if mapped is not None and mapped.value != user.role:
        await AuditEvent.create(
            organization=organization,
            actor=address,
            action="user.role_change",
            detail={"from": str(user.role), "to": mapped.value, "by": "sso"},
        )
        user.role = mapped
        await user.save(update_fields=["role"])
    if config.scope_claim and user.role == UserRole.LEADER:
        scope = await _leader_scope(config, claims, address)
        if scope != user.unit_ids:
            await AuditEvent.create(
                organization=organization,
                actor=address,
                action="user.scope_change",
                detail={"from": user.unit_ids, "to": scope, "by": "sso"},
            )
            user.unit_ids = scope
            await user.save(update_fields=["unit_ids"])
    return user


@dataclass(frozen=True)
class SignedIn:
    user: User
    next_url: str


async def complete(callback: Callback, settings: Settings, redirect_uri: str) -> SignedIn:
    """Finish a sign-in from the provider's redirect: the account it signs in, and where to go next."""
    attempt = await _consume(callback)
    config = await SsoConfig.get_or_none(organization_id=attempt.organization_id).select_related("organization")
    if config is None:
        raise SsoRefused(N_("single sign-on was turned off for this organisation while you were signing in"))
    if callback.issuer is not None and callback.issuer != config.issuer:
        # RFC 9207: the answer came from another provider than the one this sign-in was sent to (mix-up).
        raise SsoInvalid(
            N_(
                "the sign-in response names issuer %(said)s, not %(issuer)s",
                said=repr(callback.issuer[:200]),
                issuer=repr(config.issuer),
            )
        )
    metadata = await discover(config.issuer)
    claims = await _id_token_claims(config, settings, metadata, callback, attempt, redirect_uri)
    user = await _account(config, claims)
    user.last_login_at = clock.now()
    await user.save(update_fields=["last_login_at"])
    return SignedIn(user=user, next_url=attempt.next_url)
