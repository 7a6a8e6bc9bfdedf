"""Single sign-on pages: /login/sso starts a sign-in at the organisation's provider, the callback ends it.

The organisation is chosen by ``?org=SLUG`` (a link HR can hand out) or by the domain of ``?email=``
(the form on the sign-in page). Every refusal is a page that says why, with a 4xx status (502 when the
provider cannot be reached); nothing here answers 500 for what a browser or a provider sends.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pulse.errors import PulseError
from pulse.services import sso
from pulse.web.admin.pages import render
from pulse.web.auth import safe_next, settings_of, start_session

STATE_COOKIE = "pulse_sso_state"
CALLBACK_PATH = "/login/sso/callback"


def redirect_uri(request: Request) -> str:
    """The callback URL registered at the provider: always from PULSE_BASE_URL, never from the request."""
    return settings_of(request).base_url + CALLBACK_PATH


def _refused(request: Request, error: PulseError) -> Response:
    response = render(request, "admin/sso_refused.html", status_code=error.status_code, message=error.message)
    response.delete_cookie(STATE_COOKIE, path="/login/sso", httponly=True, samesite="lax")
    return response


async def start(request: Request) -> Response:
    """GET /login/sso?org=SLUG or ?email=ADDRESS [&next=PATH]: off to the provider."""
    settings = settings_of(request)
    params = request.query_params
    try:
        if params.get("org"):
            config = await sso.config_for_slug(params["org"])
        elif params.get("email"):
            config = await sso.config_for_email(params["email"])
        else:
            return RedirectResponse("/login", status_code=303)
        started = await sso.begin(config, settings, redirect_uri(request), safe_next(params.get("next")))
    except PulseError as error:
        return _refused(request, error)
    response = RedirectResponse(started.url, status_code=303)
    response.set_cookie(
        STATE_COOKIE,
        started.state,
        max_age=int(sso.ATTEMPT_LIFETIME.total_seconds()),
        path="/login/sso",
        httponly=True,
        # Lax: the provider's redirect back is a top-level GET, which carries Lax cookies.
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


async def callback(request: Request) -> Response:
    """GET /login/sso/callback: the provider's answer; a session on success, a refusal page otherwise."""
    settings = settings_of(request)
    params = request.query_params
    received = sso.Callback(
        state=params.get("state"),
        code=params.get("code"),
        error=params.get("error"),
        error_description=params.get("error_description"),
        cookie_state=request.cookies.get(STATE_COOKIE),
        issuer=params.get("iss"),
    )
    try:
        signed_in = await sso.complete(received, settings, redirect_uri(request))
    except PulseError as error:
        return _refused(request, error)
    response = RedirectResponse(safe_next(signed_in.next_url), status_code=303)
    await start_session(request, response, signed_in.user)
    response.delete_cookie(STATE_COOKIE, path="/login/sso", httponly=True, samesite="lax")
    return response


routes: list[BaseRoute] = [
    Route("/login/sso", start, name="sso_start"),
    Route(CALLBACK_PATH, callback, name="sso_callback"),
]
