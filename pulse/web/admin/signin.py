"""Sign-in, sign-out and the landing page of each role."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pulse.errors import PermissionDenied, PulseError
from pulse.i18n import N_
from pulse.models import UserRole
from pulse.services import sso, users
from pulse.services.access import (
    latest_report_round,
    visible_organizations,
)
from pulse.web.admin.pages import admin_page, principal_from, render
from pulse.web.auth import (
    CSRF_FIELD,
    csrf_matches,
    end_session,
    limit_body,
    load_session,
    read_form,
    safe_next,
    session_user,
    start_session,
)


async def _sso_button(request: Request) -> dict[str, str] | None:
    """With ?org=SLUG, a "Sign in with <provider>" button for that organisation's provider."""
    slug = request.query_params.get("org")
    if not slug:
        return None
    try:
        config = await sso.config_for_slug(slug)
    except PulseError:
        return None
    return {"label": sso.button_label(config), "slug": config.organization.slug}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login(request: Request) -> Response:
    """GET: the sign-in form. POST: check the password (throttled), start a session, go on."""
    session = load_session(request)
    next_url = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if await session_user(request, session) is not None:
            return RedirectResponse(next_url, status_code=303)
        request.state.session = session
        return render(
            request, "admin/login.html", next_url=next_url, email="", error=None, sso=await _sso_button(request)
        )
    await limit_body(request)
    async with read_form(request) as form:
        return await _sign_in(request, session, form)


async def _sign_in(request: Request, session: dict[str, Any], form: FormData) -> Response:
    request.state.session = session
    email = str(form.get("email", "")).strip()
    next_url = safe_next(str(form.get("next", "")) or None)
    if not csrf_matches(session, form.get(CSRF_FIELD)):
        return render(
            request,
            "admin/login.html",
            status_code=403,
            next_url=next_url,
            email=email,
            error=N_("The sign-in form expired. Please try again."),
        )
    try:
        user = await users.authenticate(email, str(form.get("password", "")), client=_client(request))
    except users.SignInThrottled as throttled:
        response = render(
            request, "admin/login.html", status_code=429, next_url=next_url, email=email, error=throttled.message
        )
        response.headers["retry-after"] = str(throttled.retry_after)
        return response
    except PulseError:
        return render(
            request,
            "admin/login.html",
            status_code=401,
            next_url=next_url,
            email=email,
            error=N_("Wrong email or password."),
        )
    if not await sso.password_sign_in_allowed(user):
        # Checked after the password, so the refusal tells nothing to someone who does not know it.
        return render(
            request,
            "admin/login.html",
            status_code=403,
            next_url=next_url,
            email=email,
            error=N_("Your organisation signs in through its identity provider only: use single sign-on below."),
        )
    signed_in = RedirectResponse(next_url, status_code=303)
    await start_session(request, signed_in, user)
    return signed_in


@admin_page
async def logout(request: Request) -> Response:
    """Sign out: the session ends on the server, so a copy of the cookie is useless from now on."""
    response = RedirectResponse("/login", status_code=303)
    await end_session(request, response)
    return response


@admin_page
async def home(request: Request) -> Response:
    """Admins pick an organisation; HR goes to theirs; leaders to their reports."""
    principal = principal_from(request)
    organizations = await visible_organizations(principal)
    if principal.is_admin:
        return render(request, "admin/home.html", organizations=organizations)
    if not organizations:
        raise PermissionDenied(N_("your account is not attached to any organisation"))
    slug = organizations[0].slug
    if principal.role is UserRole.LEADER:
        # A scoped leader lands on their scope: the latest report they may read, narrowed to their units.
        latest = await latest_report_round(principal, organizations[0].id) if principal.unit_ids is not None else None
        target = f"/reports/{latest}" if latest is not None else f"/orgs/{slug}/reports"
        return RedirectResponse(target, status_code=303)
    return RedirectResponse(f"/orgs/{slug}", status_code=303)
