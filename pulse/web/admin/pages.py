"""Rendering and the guard every admin page shares: the page frame, flash messages, refusals shown inside the app."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pulse import i18n
from pulse.errors import InvalidInput, NotFound, PermissionDenied
from pulse.i18n import N_, Text, term
from pulse.models import UserRole
from pulse.services.access import (
    Principal,
    visible_organizations,
)
from pulse.templating import environment
from pulse.web.auth import (
    CSRF_FIELD,
    FieldLimit,
    load_session,
    new_csrf_token,
    page,
    store_session,
)


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render an admin page with what every page needs (user, CSRF token, flash message)."""
    session: dict[str, Any] = dict(getattr(request.state, "session", None) or load_session(request))
    changed = False
    if not isinstance(session.get("csrf"), str):
        session["csrf"] = new_csrf_token()
        changed = True
    flash = session.pop("flash", None)
    changed = changed or flash is not None
    user = getattr(request.state, "user", None)
    principal: Principal | None = getattr(request.state, "principal", None)
    with i18n.use(language_of(request, context.get("org") or context.get("account_org"))) as locale:
        body = _render(template, request, user, principal, session, flash, locale, context)
    response = HTMLResponse(
        body, status_code=status_code, headers={"cache-control": "no-store", "content-language": i18n.html_lang(locale)}
    )
    if changed:
        store_session(request, response, session)
    return response


ROLE_NAMES = {"admin": N_("administrator"), "hr": N_("HR"), "leader": N_("leader")}
STATUS_NAMES = {
    # TRANSLATORS: the status of a survey round (a badge and a table cell).
    "open": N_("open"),
    # TRANSLATORS: the status of a survey round (a badge and a table cell).
    "closed": N_("closed"),
    # TRANSLATORS: the status of a round's report, waiting to be built.
    "pending": N_("pending"),
    # TRANSLATORS: the status of a round's report, being built now.
    "building": N_("building"),
    # TRANSLATORS: the status of a round's report, which can be read.
    "ready": N_("ready"),
    # TRANSLATORS: the status of a round's report, which could not be built.
    "failed": N_("failed"),
}


def role_name(role: Any) -> str:
    """A user role as the page's language names it."""
    value = str(getattr(role, "value", role))
    return i18n.gettext(ROLE_NAMES[value]) if value in ROLE_NAMES else value


def status_name(status: Any) -> str:
    """A round's or a report's status as the page's language names it."""
    value = str(getattr(status, "value", status))
    return i18n.gettext(STATUS_NAMES[value]) if value in STATUS_NAMES else value


def language_of(request: Request, org: Any = None) -> str:
    """The user's own language, else their organisation's default, else the browser's (signed out)."""
    user = getattr(request.state, "user", None)
    own = getattr(user, "locale", None)
    organization = org if org is not None else getattr(request.state, "organization", None)
    default = getattr(organization, "locale", None)
    return i18n.negotiate(own, default, request.headers.get("accept-language"))


def _render(
    template: str,
    request: Request,
    user: Any,
    principal: Principal | None,
    session: dict[str, Any],
    flash: Any,
    locale: str,
    context: dict[str, Any],
) -> str:
    return (
        environment()
        .get_template(template)
        .render(
            user=user,
            principal=principal,
            csrf_field=CSRF_FIELD,
            csrf_token=session["csrf"],
            flash=flash,
            org=context.pop("org", None),
            section=context.pop("section", ""),
            manage=principal is not None and principal.may_manage_anything(),
            lang=locale,
            role_name=role_name,
            status_name=status_name,
            **context,
        )
    )


def redirect(request: Request, url: str, flash: str | None = None) -> RedirectResponse:
    """Post/redirect/get, carrying a one-line message to the next page: a message id (``N_``) or a
    ``Text`` with its values, translated when it is shown (so it reads in the language of that page)."""
    response = RedirectResponse(url, status_code=303)
    if flash is not None:
        session = dict(request.state.session)
        session["flash"] = flash.to_json() if isinstance(flash, Text) else flash
        store_session(request, response, session)
    return response


def principal_from(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


def form_text(request: Request, name: str, default: str = "") -> str:
    value = request.state.form.get(name, default)
    return value.strip() if isinstance(value, str) else default


def optional_int(text: str, label: str) -> int | None:
    """A form's optional whole number; ``label`` is the field's label (a message id, ``N_``)."""
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(
            N_("%(field)s: %(value)s is not a whole number", field=term(label), value=repr(text))
        ) from None


def admin_page(
    handler: Callable[[Request], Awaitable[Response]], *, form_fields: FieldLimit | None = None
) -> Callable[[Request], Awaitable[Response]]:
    """``auth.page`` plus refusals shown inside the app (header, navigation, a way back), not on a
    bare error page. ``form_fields``: see ``auth.page`` (``unit_choice.unit_form_page`` uses it)."""

    @functools.wraps(handler)
    async def with_error_page(request: Request) -> Response:
        try:
            return await handler(request)
        except (PermissionDenied, NotFound) as refused:
            principal = principal_from(request)
            home = "/"
            if principal.role is UserRole.LEADER:
                organizations = await visible_organizations(principal)
                home = f"/orgs/{organizations[0].slug}/reports" if organizations else "/"
            return render(
                request,
                "admin/refused.html",
                status_code=refused.status_code,
                message=refused.message,
                forbidden=isinstance(refused, PermissionDenied),
                home=home,
            )

    return page(with_error_page, form_fields=form_fields)
