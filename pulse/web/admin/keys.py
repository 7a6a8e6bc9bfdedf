"""API keys: create, list and revoke."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pulse.errors import InvalidInput
from pulse.services import api_keys, users
from pulse.services.access import (
    Need,
    organization_for,
)
from pulse.web.admin.pages import admin_page, form_text, local_time, principal_from, redirect, render


@admin_page
async def keys_page(request: Request) -> Response:
    principal = principal_from(request)
    organization = await organization_for(principal, request.path_params["slug"], Need.MANAGE)
    created_key = None
    status_code = 200
    error = None
    if request.method == "POST":
        try:
            user_id = principal.user_id
            creator = await users.get_user(user_id) if user_id is not None else None
            _, created_key = await api_keys.create_api_key(
                organization, form_text(request, "name"), created_by=creator, actor=principal.actor
            )
        except InvalidInput as problem:
            error, status_code = str(problem), 422
    keys = [
        {
            "id": k.id,
            "name": k.name,
            "prefix": k.prefix,
            "created": local_time(k.created_at, organization.timezone),
            "last_used": local_time(k.last_used_at, organization.timezone) if k.last_used_at else "never",
            "revoked": k.revoked_at is not None,
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
    )


@admin_page
async def key_revoke(request: Request) -> Response:
    principal = principal_from(request)
    organization = await organization_for(principal, request.path_params["slug"], Need.MANAGE)
    revoked = await api_keys.revoke_api_key(
        request.path_params["key_id"], organization=organization, actor=principal.actor
    )
    return redirect(request, f"/orgs/{organization.slug}/keys", f"Key {revoked.prefix}… revoked.")
