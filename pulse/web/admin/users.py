"""Accounts, for admins: list every account; disable, enable, reset a password.

The same services as ``pulse user disable|enable|reset-password``. An admin cannot disable or reset
their own account here (that would lock the last admin out by a slip; the Account page changes one's
own password, and the command line can do anything).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pulse import i18n
from pulse.errors import NotFound, PermissionDenied
from pulse.i18n import N_
from pulse.models import User, UserRole
from pulse.services import users
from pulse.services.access import MAX_ID, Principal
from pulse.services.units import OrgUnits, load_units
from pulse.web.admin.pages import admin_page, language_of, principal_from, redirect, render
from pulse.web.admin.unit_choice import scope_labels

ACTIONS = ("disable", "enable", "reset-password")


def _admin(request: Request) -> Principal:
    principal = principal_from(request)
    if not principal.is_admin:
        raise PermissionDenied("only an admin manages accounts")
    return principal


async def _page(request: Request, *, reset: dict[str, str] | None = None) -> Response:
    principal = _admin(request)
    trees: dict[int, OrgUnits] = {}
    accounts: list[dict[str, Any]] = []
    for account in await users.list_users():
        units = None
        if account.role is UserRole.LEADER and account.organization_id is not None:
            if account.organization_id not in trees:
                trees[account.organization_id] = await load_units(account.organization_id)
            units = scope_labels(trees[account.organization_id], account.unit_ids)
        accounts.append(
            {
                "id": account.id,
                "email": account.email,
                "name": account.name,
                "role": account.role.value,
                "organization": account.organization,
                "leader": account.role is UserRole.LEADER,
                "units": units,
                "last_login": account.last_login_at,
                "active": account.active,
                "is_self": account.id == principal.user_id,
            }
        )
    return render(request, "admin/users.html", section="users", accounts=accounts, reset=reset)


@admin_page
async def users_page(request: Request) -> Response:
    """Every account with its role, organisation, last sign-in and status, and the actions."""
    return await _page(request)


@admin_page
async def user_action(request: Request) -> Response:
    """POST /users/{id}/disable|enable|reset-password (CSRF-checked by the page guard)."""
    principal = _admin(request)
    action = request.path_params["action"]
    user_id = request.path_params["user_id"]
    target = await User.get_or_none(id=user_id) if action in ACTIONS and 1 <= user_id <= MAX_ID else None
    if target is None:
        raise NotFound(N_("no account with id %(id)s", id=user_id))
    if target.id == principal.user_id:
        raise PermissionDenied(
            N_("you cannot disable or reset your own account here: use the Account page, or another admin")
        )
    if action == "reset-password":
        reset, password = await users.reset_password(target.email, actor=principal.actor)
        # Shown in this response only (never in a redirect's cookie), like a new API key.
        return await _page(request, reset={"email": reset.email, "password": password})
    await users.set_user_active(target.email, action == "enable", actor=principal.actor)
    with i18n.use(language_of(request)):
        if action == "disable":
            text = i18n.gettext(
                "%(email)s is disabled: signed out everywhere, and the API keys it created are refused."
            )
        else:
            text = i18n.gettext("%(email)s is enabled: it can sign in again.")
    return redirect(request, "/users", text % {"email": target.email})
