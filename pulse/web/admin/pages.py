"""Rendering and the guard every admin page shares: the page frame, flash messages, refusals shown inside the app."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pulse.errors import InvalidInput, NotFound, PermissionDenied
from pulse.models import UserRole
from pulse.services import schedules
from pulse.services.access import (
    Principal,
    visible_organizations,
)
from pulse.templating import environment
from pulse.web.auth import (
    CSRF_FIELD,
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
    body = (
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
            **context,
        )
    )
    response = HTMLResponse(body, status_code=status_code, headers={"cache-control": "no-store"})
    if changed:
        store_session(request, response, session)
    return response


def redirect(request: Request, url: str, flash: str | None = None) -> RedirectResponse:
    """Post/redirect/get, carrying a one-line message to the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash is not None:
        session = dict(request.state.session)
        session["flash"] = flash
        store_session(request, response, session)
    return response


def principal_from(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


def form_text(request: Request, name: str, default: str = "") -> str:
    value = request.state.form.get(name, default)
    return value.strip() if isinstance(value, str) else default


def optional_int(text: str, label: str) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{label} {text!r} is not a whole number") from None


def local_time(moment: Any, timezone: str) -> str:
    if moment is None:
        return "—"
    return f"{schedules.to_local(moment, schedules.zone(timezone)):%a %d %b %Y, %H:%M}"


def admin_page(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """``auth.page`` plus refusals shown inside the app (header, navigation, a way back), not on a
    bare error page."""

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
                message=str(refused),
                forbidden=isinstance(refused, PermissionDenied),
                home=home,
            )

    return page(with_error_page)
