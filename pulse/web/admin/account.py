"""The signed-in user's own account: the password."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pulse.errors import InvalidInput, NotAuthenticated
from pulse.models import Organization
from pulse.services import users
from pulse.web.admin.pages import admin_page, render
from pulse.web.admin.signin import _client
from pulse.web.auth import start_session


async def _account(request: Request, *, status_code: int = 200, error: str | None = None) -> Response:
    user = request.state.user
    organization = await Organization.get_or_none(id=user.organization_id) if user.organization_id else None
    return render(
        request,
        "admin/account.html",
        status_code=status_code,
        section="account",
        account_org=organization,
        error=error,
        min_password_length=users.MIN_PASSWORD_LENGTH,
        max_password_length=users.MAX_PASSWORD_LENGTH,
    )


@admin_page
async def account_page(request: Request) -> Response:
    """Who is signed in (email, role, organisation) and the form to change one's own password."""
    return await _account(request)


@admin_page
async def account_password(request: Request) -> Response:
    """Change one's own password: this session stays signed in (re-issued), every other one ends."""
    user = request.state.user
    form = request.state.form
    current = form.get("current_password", "")
    new = form.get("new_password", "")
    repeat = form.get("repeat_password", "")
    if not (isinstance(current, str) and isinstance(new, str) and isinstance(repeat, str)):
        return await _account(request, status_code=422, error="Fill in the three password fields.")
    if new != repeat:
        return await _account(request, status_code=422, error="The two new passwords differ: type the same one twice.")
    try:
        await users.change_password(user, current, new, client=_client(request))
    except users.SignInThrottled as throttled:
        response = await _account(request, status_code=429, error=f"{str(throttled)[:1].upper()}{str(throttled)[1:]}.")
        response.headers["retry-after"] = str(throttled.retry_after)
        return response
    except NotAuthenticated:
        return await _account(request, status_code=403, error="The current password is wrong. Nothing was changed.")
    except InvalidInput as problem:
        message = str(problem)
        return await _account(request, status_code=422, error=f"{message[:1].upper()}{message[1:]}.")
    # The change ended every session of this user (pulse.services.users.set_password); this browser
    # gets a new one, the others stay signed out.
    response = RedirectResponse("/account", status_code=303)
    await start_session(request, response, user, flash="Password changed. Your other sessions are signed out.")
    return response
