"""API keys: create, list and revoke."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pulse import i18n
from pulse.errors import PulseError
from pulse.services import api_keys, users
from pulse.services.access import (
    Need,
    organization_for,
)
from pulse.services.units import load_units
from pulse.web.admin.pages import admin_page, form_text, language_of, principal_from, redirect, render
from pulse.web.admin.unit_choice import chosen_units, scope_labels, ticked_units, unit_form_page, unit_options


@unit_form_page
async def keys_page(request: Request) -> Response:
    principal = principal_from(request)
    organization = await organization_for(principal, request.path_params["slug"], Need.MANAGE)
    created_key = None
    status_code = 200
    error = None
    chosen: list[str] | None = None
    name = ""
    if request.method == "POST":
        name = form_text(request, "name")
        try:
            user_id = principal.user_id
            creator = await users.get_user(user_id) if user_id is not None else None
            chosen = chosen_units(request)
            _, created_key = await api_keys.create_api_key(
                organization, name, created_by=creator, actor=principal.actor, units=chosen or ()
            )
        except PulseError as problem:
            # Bad input (an unknown unit is named, never a 404 of the page): shown with the form, nothing created.
            error, status_code, chosen = problem.message, 422, ticked_units(request)
        else:
            chosen, name = None, ""
    units = await load_units(organization.id)
    keys = [
        {
            "id": k.id,
            "name": k.name,
            "prefix": k.prefix,
            "created": k.created_at,
            "last_used": k.last_used_at,
            "revoked": k.revoked_at is not None,
            "units": scope_labels(units, k.unit_ids),
        }
        for k in await api_keys.list_api_keys(organization)
    ]
    return render(
        request,
        "admin/keys.html",
        status_code=status_code,
        org=organization,
        section="keys",
        keys=keys,
        created_key=created_key,
        error=error,
        options=await unit_options(organization),
        chosen=chosen,
        name=name,
    )


@admin_page
async def key_revoke(request: Request) -> Response:
    principal = principal_from(request)
    organization = await organization_for(principal, request.path_params["slug"], Need.MANAGE)
    revoked = await api_keys.revoke_api_key(
        request.path_params["key_id"], organization=organization, actor=principal.actor
    )
    with i18n.use(language_of(request, organization)):
        message = i18n.gettext("Key %(prefix)s… revoked.") % {"prefix": revoked.prefix}
    return redirect(request, f"/orgs/{organization.slug}/keys", message)
