"""Leaders of an organisation, for its HR and admins: who reads which units' reports; add a leader
account, and change the units a leader reads.

The same services as ``pulse user create --role leader --unit PATH``: units are resolved by path, an
unknown one is refused by name (422) and nothing changes.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pulse import i18n
from pulse.errors import NotFound, PulseError
from pulse.models import Organization, SsoConfig, User, UserRole
from pulse.services import users
from pulse.services.access import MAX_ID, Need, organization_for
from pulse.services.units import load_units
from pulse.web.admin.pages import form_text, language_of, principal_from, redirect, render
from pulse.web.admin.unit_choice import chosen_units, scope_labels, ticked_units, unit_form_page, unit_options


async def _leader(organization: Organization, user_id: int) -> User:
    """A leader account of this organisation; anything else is answered like an account that does not exist."""
    found = await User.get_or_none(id=user_id, organization_id=organization.id) if 1 <= user_id <= MAX_ID else None
    if found is None or found.role is not UserRole.LEADER:
        raise NotFound(f"no leader account with id {user_id}")
    return found


async def _scope_from_provider(organization: Organization) -> bool:
    """Whether single sign-on sets leaders' scopes at every sign-in (then a change here lasts until then)."""
    config = await SsoConfig.get_or_none(organization_id=organization.id)
    return bool(config and config.scope_claim)


async def _list(
    request: Request,
    organization: Organization,
    *,
    status_code: int = 200,
    error: str | None = None,
    created: dict[str, str] | None = None,
    chosen: list[str] | None = None,
    email: str = "",
    name: str = "",
) -> Response:
    units = await load_units(organization.id)
    leaders: list[dict[str, Any]] = [
        {
            "id": leader.id,
            "email": leader.email,
            "name": leader.name,
            "active": leader.active,
            "units": scope_labels(units, leader.unit_ids),
        }
        for leader in await User.filter(organization_id=organization.id, role=UserRole.LEADER).order_by("email")
    ]
    return render(
        request,
        "admin/leaders.html",
        status_code=status_code,
        org=organization,
        section="leaders",
        leaders=leaders,
        options=await unit_options(organization),
        chosen=chosen,
        error=error,
        created=created,
        email=email,
        name=name,
        from_provider=await _scope_from_provider(organization),
    )


@unit_form_page
async def leaders_page(request: Request) -> Response:
    """GET: the organisation's leader accounts and what each reads. POST: add a leader account."""
    principal = principal_from(request)
    organization = await organization_for(principal, request.path_params["slug"], Need.MANAGE)
    if request.method != "POST":
        return await _list(request, organization)
    email, name = form_text(request, "email"), form_text(request, "name")
    try:
        chosen = chosen_units(request)
    except PulseError as problem:
        return await _list(
            request,
            organization,
            status_code=422,
            error=problem.message,
            chosen=ticked_units(request),
            email=email,
            name=name,
        )
    try:
        leader, password = await users.create_leader(
            organization, email, name=name, units=chosen, actor=principal.actor
        )
    except PulseError as problem:
        status = 409 if problem.status_code == 409 else 422
        return await _list(
            request, organization, status_code=status, error=problem.message, chosen=chosen, email=email, name=name
        )
    # The password is shown in this response only (never in a redirect's cookie), like a reset's.
    return await _list(request, organization, created={"email": leader.email, "password": password})


@unit_form_page
async def leader_page(request: Request) -> Response:
    """GET: the units one leader reads, as a form. POST: change them (or the whole organisation)."""
    principal = principal_from(request)
    organization = await organization_for(principal, request.path_params["slug"], Need.MANAGE)
    leader = await _leader(organization, request.path_params["user_id"])
    units = await load_units(organization.id)
    chosen = scope_labels(units, leader.unit_ids)
    error = None
    status_code = 200
    if request.method == "POST":
        try:
            wanted = chosen_units(request)
            await users.set_scope(leader, wanted, actor=principal.actor)
        except PulseError as problem:
            error, status_code = problem.message, 422
            chosen = ticked_units(request)
        else:
            with i18n.use(language_of(request, organization)):
                if wanted is None:
                    message = i18n.gettext("%(email)s now reads the whole organisation.") % {"email": leader.email}
                else:
                    message = i18n.gettext("%(email)s now reads: %(units)s.") % {
                        "email": leader.email,
                        "units": ", ".join(scope_labels(await load_units(organization.id), leader.unit_ids) or ()),
                    }
            return redirect(request, f"/orgs/{organization.slug}/leaders", message)
    return render(
        request,
        "admin/leader.html",
        status_code=status_code,
        org=organization,
        section="leaders",
        leader=leader,
        options=await unit_options(organization),
        chosen=chosen,
        error=error,
        from_provider=await _scope_from_provider(organization),
    )
