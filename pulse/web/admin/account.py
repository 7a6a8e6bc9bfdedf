"""The signed-in user's own account: the password."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pulse import i18n
from pulse.errors import InvalidInput, NotAuthenticated
from pulse.i18n import N_
from pulse.models import Organization
from pulse.services import users
from pulse.web.admin.pages import admin_page, redirect, render
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
        languages=[(code, i18n.language_name(code), i18n.html_lang(code)) for code in i18n.available_locales()],
        own_language=user.locale,
        default_language=i18n.language_name(organization.locale if organization else i18n.SOURCE_LOCALE),
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
        return await _account(request, status_code=422, error=N_("Fill in the three password fields."))
    if new != repeat:
        return await _account(
            request, status_code=422, error=N_("The two new passwords differ: type the same one twice.")
        )
    try:
        await users.change_password(user, current, new, client=_client(request))
    except users.SignInThrottled as throttled:
        response = await _account(request, status_code=429, error=throttled.message)
        response.headers["retry-after"] = str(throttled.retry_after)
        return response
    except NotAuthenticated:
        return await _account(request, status_code=403, error=N_("The current password is wrong. Nothing was changed."))
    except InvalidInput as problem:
        return await _account(request, status_code=422, error=problem.message)
    # The change ended every session of this user (pulse.services.users.set_password); this browser
    # gets a new one, the others stay signed out.
    response = RedirectResponse("/account", status_code=303)
    await start_session(request, response, user, flash=N_("Password changed. Your other sessions are signed out."))
    return response


@admin_page
async def account_language(request: Request) -> Response:
    """Choose the language of one's own web app and reports ("" follows the organisation's default)."""
    user = request.state.user
    chosen = request.state.form.get("language", "")
    if not isinstance(chosen, str) or (chosen and chosen not in i18n.available_locales()):
        return await _account(request, status_code=422, error=N_("Choose one of the languages listed."))
    await users.set_language(user, chosen or None)
    # The flash is translated where it is shown, so it reads in the newly chosen language.
    return redirect(request, "/account", flash=N_("Language saved."))
