"""Rounds: the list, opening one (for the whole organisation or some units), its page, reminders and closing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pulse import clock
from pulse.errors import InvalidInput
from pulse.i18n import N_
from pulse.models import Organization, Report, ReportStatus, Round, RoundStatus
from pulse.services import rounds
from pulse.services.access import (
    Need,
    organization_for,
    round_for,
)
from pulse.services.units import load_units
from pulse.web import jobs
from pulse.web.admin.overview import round_participation_of
from pulse.web.admin.pages import admin_page, form_text, optional_int, principal_from, redirect, render
from pulse.web.admin.unit_choice import chosen_units, covered_labels, ticked_units, unit_form_page, unit_options

#: The labels of the form's fields, also used to name a field in an error.
LABELS = {"closes_in_days": N_("Open for (days)"), "remind_after_days": N_("Remind after (days, optional)")}


@unit_form_page
async def rounds_page(request: Request) -> Response:
    """GET: every round. POST: open a round now (invitations go out in the background)."""
    principal = principal_from(request)
    organization = await organization_for(principal, request.path_params["slug"], Need.MANAGE)
    if request.method == "POST":
        try:
            closes_in = optional_int(form_text(request, "closes_in_days"), LABELS["closes_in_days"]) or 7
            remind_after = optional_int(form_text(request, "remind_after_days"), LABELS["remind_after_days"])
            # The units' own rules (unknown ones, the minimum scope) are the service's, as for the CLI and the API.
            opened = await rounds.open_round(
                organization,
                closes_in_days=closes_in,
                remind_after_days=remind_after,
                departments=chosen_units(request),
            )
        except InvalidInput as problem:
            # Shown again as it was sent, so that a slip is one change away.
            sent = {name: form_text(request, name) for name in LABELS}
            return await _rounds(
                request, organization, status_code=422, error=problem.message, sent=sent, chosen=ticked_units(request)
            )
        await jobs.after_open(request, opened.id)
        return redirect(
            request,
            f"/rounds/{opened.id}",
            N_("Round %(number)s is open: invitations are being sent.", number=opened.number),
        )
    return await _rounds(request, organization)


async def _rounds(
    request: Request,
    organization: Organization,
    *,
    status_code: int = 200,
    error: str | None = None,
    sent: dict[str, str] | None = None,
    chosen: list[str] | None = None,
) -> Response:
    found = await Round.filter(organization_id=organization.id).order_by("-number")
    units = await load_units(organization.id)
    ready = Report.filter(
        round__organization_id=organization.id, round__status=RoundStatus.CLOSED, status=ReportStatus.READY
    )
    has_report = {report.round_id for report in await ready.only("id", "round_id")}
    rows = [
        {
            "id": r.id,
            "number": r.number,
            "status": r.status,
            "opened": r.opened_at,
            "closes": r.closed_at or r.closes_at,
            "report": r.id in has_report,
            "units": covered_labels(units, r.department_ids),
        }
        for r in found
    ]
    return render(
        request,
        "admin/rounds.html",
        status_code=status_code,
        org=organization,
        section="rounds",
        rounds=rows,
        labels=LABELS,
        error=error,
        any_open=any(r.status == RoundStatus.OPEN for r in found),
        sent=sent or {"closes_in_days": "7", "remind_after_days": ""},
        options=await unit_options(organization),
        chosen=chosen,
        needed=2 * organization.min_group_size,
    )


@admin_page
async def round_page(request: Request) -> Response:
    found = await round_for(principal_from(request), request.path_params["round_id"], Need.MANAGE)
    organization = found.organization
    participation = await round_participation_of(found.id)
    # A report stored while the round was open (older versions) is not mentioned until it closes.
    report = await Report.get_or_none(round_id=found.id) if found.status == RoundStatus.CLOSED else None
    return render(
        request,
        "admin/round.html",
        org=organization,
        section="rounds",
        round=found,
        is_open=found.status == RoundStatus.OPEN,
        participation=participation,
        report=report,
        now=clock.now(),
        units=covered_labels(await load_units(organization.id), found.department_ids),
    )


@admin_page
async def round_remind(request: Request) -> Response:
    found = await round_for(principal_from(request), request.path_params["round_id"], Need.MANAGE)
    queued = await jobs.remind(request, found)
    message = (
        N_("Reminders are being sent to people who have not answered.")
        if queued
        else N_("Reminders are already on their way.")
    )
    return redirect(request, f"/rounds/{found.id}", message)


@admin_page
async def round_close(request: Request) -> Response:
    found = await round_for(principal_from(request), request.path_params["round_id"], Need.MANAGE)
    await rounds.close_round(found.id)
    await jobs.after_close(request, found.id)
    return redirect(request, f"/rounds/{found.id}", N_("Round closed: the report is being built."))
