"""The people directory (search, CSV import, deactivation) and department sizes."""

from __future__ import annotations

from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from pulse import i18n
from pulse.errors import ImportRejected
from pulse.i18n import N_
from pulse.models import Organization
from pulse.services import deactivation, directory, people
from pulse.services.access import (
    Need,
    organization_for,
)
from pulse.web.admin.pages import admin_page, form_text, principal_from, redirect, render
from pulse.web.auth import (
    settings_of,
)

PEOPLE_PER_PAGE = 50
#: A person's role in the directory (the CSV's ``role`` column), as the page's language names it.
PERSON_ROLES = {
    "employee": N_("employee"),
    "manager": N_("manager"),
    "leader": N_("leader"),
    "hr": N_("HR"),
}


def person_role(role: str) -> str:
    return i18n.gettext(PERSON_ROLES[role]) if role in PERSON_ROLES else role


@admin_page
async def people_page(request: Request) -> Response:
    organization = await organization_for(principal_from(request), request.path_params["slug"], Need.MANAGE)
    return await _people(request, organization)


async def _people(
    request: Request,
    organization: Organization,
    *,
    status_code: int = 200,
    summary: str | None = None,
    problems: list[str] | None = None,
    problem_title: str | None = None,
) -> Response:
    query = request.query_params.get("q", "").strip()[: directory.MAX_QUERY_LENGTH]
    try:
        page_number = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page_number = 1
    found = await directory.people_page(organization, query=query, page=page_number, per_page=PEOPLE_PER_PAGE)
    return render(
        request,
        "admin/people.html",
        status_code=status_code,
        org=organization,
        section="people",
        people=found.people,
        total=found.total,
        query=query,
        page=found.page,
        pages=found.pages,
        summary=summary,
        problems=problems or [],
        problem_title=problem_title,
        max_upload=settings_of(request).max_body_size,
        person_role=person_role,
    )


@admin_page
async def people_import(request: Request) -> Response:
    organization = await organization_for(principal_from(request), request.path_params["slug"], Need.MANAGE)
    upload = request.state.form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _people(
            request,
            organization,
            status_code=422,
            problem_title=N_("Choose a CSV file to import."),
            problems=[],
        )
    data = await upload.read()
    deactivate_missing = request.state.form.get("deactivate_missing") == "1"
    try:
        summary = await people.import_people(
            organization, data, deactivate_missing=deactivate_missing, actor=principal_from(request).actor
        )
    except ImportRejected as rejected:
        return await _people(
            request, organization, status_code=422, problem_title=rejected.summary, problems=rejected.listing
        )
    return redirect(
        request,
        f"/orgs/{organization.slug}/people",
        N_("Imported %(file)s: %(summary)s.", file=upload.filename, summary=summary.as_text()),
    )


@admin_page
async def people_status(request: Request) -> Response:
    """Deactivate (no more invitations) or reactivate one person."""
    organization = await organization_for(principal_from(request), request.path_params["slug"], Need.MANAGE)
    active = request.url.path.endswith("/reactivate")
    email = form_text(request, "email")
    person = await deactivation.set_person_active(organization, email, active, actor=principal_from(request).actor)
    if active:
        message = N_(
            "%(name)s (%(email)s) is active again: invited from the next round.", name=person.name, email=person.email
        )
    else:
        message = N_("%(name)s (%(email)s) was deactivated: no more invitations.", name=person.name, email=person.email)
    back = f"/orgs/{organization.slug}/people"
    query = form_text(request, "q")
    return redirect(request, f"{back}?q={quote(query)}" if query else back, message)


@admin_page
async def departments_page(request: Request) -> Response:
    organization = await organization_for(principal_from(request), request.path_params["slug"], Need.MANAGE)
    # Directory sizes (who is on the list), not answers: HR maintains this list and may see it.
    rows = await directory.unit_tree(organization)
    return render(
        request,
        "admin/departments.html",
        org=organization,
        section="departments",
        departments=rows,
        k=organization.min_group_size,
    )
