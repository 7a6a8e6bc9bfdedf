"""Who is asking: session cookies and CSRF for pages, bearer API keys for /api/v1.

Sessions live on the server (``pulse.services.sessions``: a row per signed-in browser, ended by
sign-out, a password change or reset, or disabling the account). The browser holds a signed cookie
(itsdangerous, keyed with the secret key): HttpOnly, SameSite=Lax, Secure when ``settings.secure_cookies``,
valid for ``SESSION_MAX_AGE``, with the session's random token and a synchroniser CSRF token. Every POST
to a page must carry that CSRF token in the ``csrf_token`` field. ``start_session`` is the one function
that signs a user in.

Every handler is wrapped by ``page`` or ``api`` here: request bodies are limited to
``settings.max_body_size`` before anything reads them, and no handler runs for an anonymous request.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette._utils import AwaitableOrContextManager
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pulse.errors import NotAuthenticated, PermissionDenied
from pulse.i18n import N_, Count
from pulse.models import User, UserRole
from pulse.services import sessions
from pulse.services.access import Principal
from pulse.services.api_keys import authenticate_api_key
from pulse.settings import Settings

SESSION_COOKIE = "pulse_session"
SESSION_MAX_AGE = sessions.SESSION_LIFETIME
#: Where a user whose password was reset is sent until they choose a new one.
PASSWORD_CHANGE_PATHS = ("/account", "/account/password", "/logout")
CSRF_FIELD = "csrf_token"
#: Form fields and files a page accepts; a CSV upload is one file. A page whose form lists the
#: organisation's units (``page(form_fields=...)``) accepts more fields: one per unit, within a cap.
MAX_FORM_FIELDS = 200
MAX_FORM_FILES = 2

BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}

Handler = Callable[[Request], Awaitable[Response]]
#: How many fields a page's form may send, for the signed-in user of this request.
FieldLimit = Callable[[Request], Awaitable[int]]


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# ---------------------------------------------------------------- request bodies


async def limit_body(request: Request) -> None:
    """Read the body (cached on the request) and refuse it with 413 when larger than the setting.

    Checked before any parsing, so a huge upload is never held in memory: the declared length is
    refused at once, and a body without one is counted as it streams in.
    """
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    limit = settings_of(request).max_body_size
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, N_("request body larger than %(limit)s bytes", limit=Count(limit)))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, N_("request body larger than %(limit)s bytes", limit=Count(limit)))
        chunks.append(chunk)
    # Starlette serves form() and body() from this cache instead of reading the stream again.
    request._body = b"".join(chunks)


def read_form(request: Request, max_fields: int = MAX_FORM_FIELDS) -> AwaitableOrContextManager[FormData]:
    """The form, parsed with the size limits; ``async with`` it so uploaded files are closed. More than
    ``max_fields`` fields is refused with 400 (``pulse.web.errors`` says so in the reader's language)."""
    limit = settings_of(request).max_body_size
    return request.form(max_files=MAX_FORM_FILES, max_fields=max_fields, max_part_size=limit)


# ---------------------------------------------------------------- sessions


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="pulse.session")


def load_session(request: Request) -> dict[str, Any]:
    """The cookie's data; empty when there is no valid, unexpired cookie."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return {}
    try:
        data = _serializer(settings_of(request)).loads(raw, max_age=int(SESSION_MAX_AGE.total_seconds()))
    except BadSignature:
        return {}
    return data if isinstance(data, dict) else {}


def store_session(request: Request, response: Response, data: dict[str, Any]) -> None:
    settings = settings_of(request)
    response.set_cookie(
        SESSION_COOKIE,
        _serializer(settings).dumps(data),
        max_age=int(SESSION_MAX_AGE.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings_of(request).secure_cookies
    )


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


async def start_session(request: Request, response: Response, user: User, *, flash: str | None = None) -> None:
    """Sign ``user`` in on this browser: the one place a session starts (password sign-in, a password
    change, any other sign-in method). Ends the session the browser had, creates a server-side one, and
    sets its cookie on ``response`` with a fresh CSRF token (so a token planted before is useless)."""
    await sessions.end(load_session(request).get("sid"))
    data: dict[str, Any] = {"sid": await sessions.start(user), "csrf": new_csrf_token()}
    if flash is not None:
        data["flash"] = flash
    store_session(request, response, data)


async def end_session(request: Request, response: Response) -> None:
    """Sign this browser out: the server-side session ends, so a copy of the cookie stops working too."""
    await sessions.end(load_session(request).get("sid"))
    clear_session(request, response)


async def session_user(request: Request, session: dict[str, Any]) -> User | None:
    """The active user of the cookie's server-side session; None when there is none."""
    return await sessions.user_of(session.get("sid"))


def principal_of(user: User) -> Principal:
    return Principal(
        actor=user.email,
        role=UserRole(user.role),
        organization_id=user.organization_id,
        user_id=user.id,
        unit_ids=tuple(user.unit_ids) if user.unit_ids is not None else None,
    )


def csrf_matches(session: dict[str, Any], presented: object) -> bool:
    expected = session.get("csrf")
    return isinstance(expected, str) and isinstance(presented, str) and hmac.compare_digest(expected, presented)


def safe_next(value: str | None) -> str:
    """A same-site path to go to after sign-in; anything else becomes the home page."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    next_part = f"?next={quote(target, safe='/')}" if request.method == "GET" and target != "/" else ""
    return RedirectResponse(f"/login{next_part}", status_code=303)


def page(handler: Handler, *, form_fields: FieldLimit | None = None) -> Handler:
    """Wrap a page handler: signed-in users only (others go to /login), CSRF-checked POSTs, size limit.

    The handler finds ``request.state.user``, ``request.state.principal``, ``request.state.session``
    and, for POSTs, the parsed ``request.state.form``. ``form_fields``: how many fields this page's
    form may send, asked once the user is known and before the body is parsed (default
    ``MAX_FORM_FIELDS``).
    """

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        session = load_session(request)
        user = await session_user(request, session)
        if user is None:
            # Nothing of an anonymous body is read: it is refused before it is parsed.
            return login_redirect(request)
        if user.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
            choose = RedirectResponse("/account", status_code=303)
            store_session(request, choose, {**session, "flash": N_("Your password was reset: choose a new one.")})
            return choose
        await limit_body(request)
        request.state.user = user
        request.state.principal = principal_of(user)
        request.state.session = session
        if request.method != "POST":
            return await handler(request)
        form = await read_form(request, MAX_FORM_FIELDS if form_fields is None else await form_fields(request))
        try:
            if not csrf_matches(session, form.get(CSRF_FIELD)):
                raise PermissionDenied(
                    N_("the form has expired or did not come from this site: reload the page and retry")
                )
            request.state.form = form
            return await handler(request)
        finally:
            # Uploaded files are spooled to temporary files: close them whatever happened.
            await form.close()

    return endpoint


# ---------------------------------------------------------------- API keys


def api(handler: Handler) -> Handler:
    """Wrap an API handler: ``Authorization: Bearer <key>`` required; size limit applied.

    The handler finds ``request.state.principal`` (HR rights in the key's organisation, or a scoped
    leader's for a key scoped to units) and ``request.state.api_key``.
    """

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "send an API key: Authorization: Bearer <key>", headers=BEARER_CHALLENGE)
        try:
            api_key = await authenticate_api_key(token)
        except NotAuthenticated as refused:
            raise HTTPException(401, str(refused), headers=BEARER_CHALLENGE) from None
        await limit_body(request)
        request.state.api_key = api_key
        scoped = api_key.unit_ids is not None
        request.state.principal = Principal(
            actor=f"apikey:{api_key.prefix}",
            # A key scoped to units reads like a scoped leader: reports of its subtrees, nothing else.
            role=UserRole.LEADER if scoped else UserRole.HR,
            organization_id=api_key.organization_id,
            api_key_id=api_key.id,
            unit_ids=tuple(api_key.unit_ids or ()) if scoped else None,
        )
        return await handler(request)

    return endpoint
