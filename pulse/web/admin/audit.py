"""The directory audit page: HR and leaders see every change to the directory, in counts per department."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from pulse.i18n import N_, NP_, Count, Text
from pulse.services.access import Need, organization_for
from pulse.services.directory_audit import KINDS, directory_audit
from pulse.web.admin.pages import admin_page, principal_from, render

#: How a count of each kind of change reads after a department's name ("Logistics: 4 added").
CHANGES: dict[str, Callable[[int], Text]] = {
    # TRANSLATORS: after a department's name in the directory audit ("Logistics: 4 added"): people added.
    "added": lambda n: NP_("%(count)s added", "%(count)s added", n, count=Count(n)),
    # TRANSLATORS: after a department's name: people who moved into it from another department.
    "moved_in": lambda n: NP_("%(count)s moved in", "%(count)s moved in", n, count=Count(n)),
    # TRANSLATORS: after a department's name: people who moved out of it to another department.
    "moved_out": lambda n: NP_("%(count)s moved out", "%(count)s moved out", n, count=Count(n)),
    # TRANSLATORS: after a department's name: deactivated people who are active again.
    "reactivated": lambda n: NP_("%(count)s reactivated", "%(count)s reactivated", n, count=Count(n)),
    # TRANSLATORS: after a department's name: people deactivated or erased.
    "removed": lambda n: NP_("%(count)s removed", "%(count)s removed", n, count=Count(n)),
}
ACTIONS = {
    # TRANSLATORS: a kind of change in the directory audit: a CSV import (or a directory sync).
    "people.import": N_("People import"),
    "people.deactivate": N_("Deactivation"),
    "people.reactivate": N_("Reactivation"),
    # TRANSLATORS: a kind of change in the directory audit: a person erased for good (GDPR).
    "people.erase": N_("Erasure"),
    "organization.update": N_("Organisation settings"),
}


@admin_page
async def audit_page(request: Request) -> Response:
    # Need.REPORTS: leaders read it too, so padding a department is visible beyond HR.
    organization = await organization_for(principal_from(request), request.path_params["slug"], Need.REPORTS)
    audit = await directory_audit(organization)
    rows = [
        {
            "at": event.at,
            "actor": event.actor,
            "action": ACTIONS.get(event.action, event.action),
            "changes": [
                (department, CHANGES[kind](count))
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
