"""The directory audit page: HR and leaders see every change to the directory, in counts per department."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pulse.services.access import Need, organization_for
from pulse.services.directory_audit import KINDS, directory_audit
from pulse.web.admin.pages import admin_page, local_time, principal_from, render

LABELS = {
    "added": "added",
    "moved_in": "moved in",
    "moved_out": "moved out",
    "reactivated": "reactivated",
    "removed": "removed",
}


@admin_page
async def audit_page(request: Request) -> Response:
    # Need.REPORTS: leaders read it too, so padding a department is visible beyond HR.
    organization = await organization_for(principal_from(request), request.path_params["slug"], Need.REPORTS)
    audit = await directory_audit(organization)
    rows = [
        {
            "at": local_time(event.at, organization.timezone),
            "actor": event.actor,
            "action": event.action.split(".", 1)[1],
            "changes": [
                (department, LABELS[kind], count)
                for kind in KINDS
                for department, count in sorted(event.departments.get(kind, {}).items())
            ],
        }
        for event in audit.events
    ]
    return render(
        request,
        "admin/audit.html",
        org=organization,
        section="audit",
        events=rows,
        newcomers=audit.newcomers,
        quarantine_days=audit.quarantine_days,
    )
