"""An organisation's overview: the schedule's next run, the open round's participation, the latest report's headline."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pulse.models import Person, Report, ReportStatus, Round, RoundStatus
from pulse.services import schedules
from pulse.services.access import (
    Need,
    organization_for,
)
from pulse.web.admin.pages import admin_page, principal_from, render
from pulse.web.admin.reports import headline


async def round_participation_of(round_id: int) -> dict[str, Any]:
    from pulse.services.participation import round_participation

    return dict(await round_participation(round_id))


@admin_page
async def overview(request: Request) -> Response:
    organization = await organization_for(principal_from(request), request.path_params["slug"], Need.MANAGE)
    active = [s for s in await schedules.list_schedules(organization.slug) if s.active]
    next_run = min((s.next_run_at for s in active if s.next_run_at is not None), default=None)
    current = await Round.filter(organization_id=organization.id, status=RoundStatus.OPEN).order_by("-number").first()
    participation = await round_participation_of(current.id) if current is not None else None
    # values(): the stored PDF (megabytes) is not needed here, only the model's headline.
    latest = (
        await Report.filter(
            round__organization_id=organization.id, round__status=RoundStatus.CLOSED, status=ReportStatus.READY
        )
        .order_by("-round__number")
        .first()
        .values("round_id", "model", number="round__number")
    )
    return render(
        request,
        "admin/overview.html",
        org=organization,
        section="overview",
        next_run=next_run,
        current=current,
        current_closes=current.closes_at if current else None,
        participation=participation,
        latest=latest,
        headline=headline(latest["model"]) if latest is not None and latest["model"] else None,
        people_count=await Person.filter(organization_id=organization.id, active=True).count(),
    )
