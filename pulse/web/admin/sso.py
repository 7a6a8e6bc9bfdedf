"""Sign-in and directory sync of one organisation: its OpenID provider (as set with `pulse org sso`) and
its SCIM tokens (create, list, revoke)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pulse.errors import InvalidInput
from pulse.i18n import N_
from pulse.models import SsoConfig
from pulse.services import scim
from pulse.services.access import Need, organization_for
from pulse.web.admin.pages import admin_page, form_text, principal_from, redirect, render


@admin_page
async def sso_page(request: Request) -> Response:
    principal = principal_from(request)
    organization = await organization_for(principal, request.path_params["slug"], Need.MANAGE)
    created_token = None
    status_code = 200
    error = None
    if request.method == "POST":
        try:
            _, created_token = await scim.create_scim_token(
                organization, form_text(request, "name"), actor=principal.actor
            )
        except InvalidInput as problem:
            error, status_code = problem.message, 422
    config = await SsoConfig.get_or_none(organization_id=organization.id)
    tokens = [
        {
            "id": t.id,
            "name": t.name,
            "prefix": t.prefix,
            "created": t.created_at,
            "last_used": t.last_used_at,
            "revoked": t.revoked_at is not None,
        }
        for t in await scim.list_scim_tokens(organization)
    ]
    return render(
        request,
        "admin/sso.html",
        status_code=status_code,
        org=organization,
        section="sso",
        config=config,
        tokens=tokens,
        created_token=created_token,
        error=error,
    )


@admin_page
async def scim_token_revoke(request: Request) -> Response:
    principal = principal_from(request)
    organization = await organization_for(principal, request.path_params["slug"], Need.MANAGE)
    revoked = await scim.revoke_scim_token(
        request.path_params["token_id"], organization=organization, actor=principal.actor
    )
    return redirect(
        request, f"/orgs/{organization.slug}/sso", N_("SCIM token %(prefix)s… revoked.", prefix=revoked.prefix)
    )
