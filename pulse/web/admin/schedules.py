"""Cadences: the friendly rule builder (for the whole organisation or some units), the list of schedules and
their actions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pulse.errors import InvalidInput, NotFound, PulseError
from pulse.i18n import N_, NP_, Moment, Text, term
from pulse.models import Organization
from pulse.services import schedules
from pulse.services.access import (
    Need,
    organization_for,
    schedule_for,
)
from pulse.web.admin.pages import admin_page, optional_int, principal_from, redirect, render
from pulse.web.admin.unit_choice import chosen_units, ticked_units, unit_form_page, unit_options

PREVIEW_COUNT = 6
#: RRULE day codes, Monday first; the form names them in the page's language (Babel's weekday names).
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FREQUENCIES = (
    ("weekly", N_("Every week")),
    ("biweekly", N_("Every two weeks")),
    ("monthly", N_("Every month")),
)
#: The labels of the form's fields, also used to name a field in an error.
LABELS = {
    "hour": N_("At (hour)"),
    "open_days": N_("Open for (days)"),
    "remind_after_days": N_("Remind after (days, optional)"),
}
# One message per weekday, not a weekday inside a message: "on Monday" and "the first Monday" take
# different articles, prepositions or genders in other languages (na segunda-feira, no sábado).
ON_DAY = {
    # TRANSLATORS: inside "Every week on Monday at 09:00" (a schedule of survey rounds).
    "MO": N_("on Monday"),
    "TU": N_("on Tuesday"),
    "WE": N_("on Wednesday"),
    "TH": N_("on Thursday"),
    "FR": N_("on Friday"),
    "SA": N_("on Saturday"),
    "SU": N_("on Sunday"),
}
FIRST_OF_MONTH = {
    # TRANSLATORS: a schedule of survey rounds; %(time)s is a time of day such as 09:00.
    "MO": N_("First Monday of every month at %(time)s"),
    "TU": N_("First Tuesday of every month at %(time)s"),
    "WE": N_("First Wednesday of every month at %(time)s"),
    "TH": N_("First Thursday of every month at %(time)s"),
    "FR": N_("First Friday of every month at %(time)s"),
    "SA": N_("First Saturday of every month at %(time)s"),
    "SU": N_("First Sunday of every month at %(time)s"),
}


def build_rrule(frequency: str, weekday: str, hour: int, minute: int = 0) -> str:
    """The RRULE for the schedule form's friendly choices."""
    if weekday not in WEEKDAYS:
        raise InvalidInput(N_("unknown weekday %(value)s (use MO, TU, WE, TH, FR, SA or SU)", value=repr(weekday)))
    if not 0 <= hour <= 23:
        raise InvalidInput(N_("hour %(hour)s is not between 0 and 23", hour=hour))
    if not 0 <= minute <= 59:
        raise InvalidInput(N_("minute %(minute)s is not between 0 and 59", minute=minute))
    at = f"BYHOUR={hour};BYMINUTE={minute};BYSECOND=0"
    if frequency == "weekly":
        return f"FREQ=WEEKLY;BYDAY={weekday};{at}"
    if frequency == "biweekly":
        return f"FREQ=WEEKLY;INTERVAL=2;BYDAY={weekday};{at}"
    if frequency == "monthly":
        # The first such weekday of each month: "the first Monday", as people plan it.
        return f"FREQ=MONTHLY;BYDAY=1{weekday};{at}"
    raise InvalidInput(N_("unknown frequency %(value)s (use weekly, biweekly or monthly)", value=repr(frequency)))


_FRIENDLY_RULE = re.compile(
    r"^FREQ=(?P<freq>WEEKLY|MONTHLY)(?:;INTERVAL=(?P<interval>\d+))?;BYDAY=(?P<nth>1?)(?P<day>MO|TU|WE|TH|FR|SA|SU)"
    r";BYHOUR=(?P<hour>\d+);BYMINUTE=(?P<minute>\d+)(?:;BYSECOND=0)?$"
)


def describe_rule(rule: str) -> Text | None:
    """Words for the rules the form builds ("Every 2 weeks on Monday at 09:00"); None for other rules."""
    match = _FRIENDLY_RULE.match(rule)
    if match is None:
        return None
    at = f"{int(match['hour']):02d}:{int(match['minute']):02d}"
    interval = int(match["interval"] or 1)
    if match["freq"] == "MONTHLY":
        if not match["nth"] or interval != 1:
            return None
        return Text(FIRST_OF_MONTH[match["day"]], {"time": at})
    if match["nth"]:
        return None
    return NP_(
        "Every week %(on_day)s at %(time)s",
        "Every %(count)s weeks %(on_day)s at %(time)s",
        interval,
        count=interval,
        on_day=term(ON_DAY[match["day"]]),
        time=at,
    )


def _schedule_choices(values: Mapping[str, str]) -> dict[str, Any]:
    def number(name: str, default: int) -> int:
        found = optional_int((values.get(name) or "").strip(), LABELS[name])
        return default if found is None else found

    remind_text = (values.get("remind_after_days") or "").strip()
    return {
        "frequency": values.get("frequency") or "biweekly",
        "weekday": values.get("weekday") or "MO",
        "hour": number("hour", 9),
        "open_days": number("open_days", schedules.DEFAULT_OPEN_DAYS),
        "remind_after_days": optional_int(remind_text, LABELS["remind_after_days"]),
    }


async def _schedules(
    request: Request,
    organization: Organization,
    choices: dict[str, Any],
    *,
    status_code: int = 200,
    error: str | None = None,
    chosen: list[str] | None = None,
) -> Response:
    rows = []
    for schedule in await schedules.list_schedules(organization.slug):
        rows.append(
            {
                "id": schedule.id,
                "rrule": schedule.rrule,
                "described": describe_rule(schedule.rrule),
                "active": schedule.active,
                "open_days": schedule.open_days,
                "remind_after_days": schedule.remind_after_days,
                "next": schedule.next_run_at if schedule.active else None,
                "units": schedule.departments,
            }
        )
    preview: list[Any] = []
    rule = ""
    if error is None:
        try:
            rule = build_rrule(choices["frequency"], choices["weekday"], choices["hour"])
            tz = schedules.zone(organization.timezone)
            cadence = schedules.Cadence.build(
                rule,
                timezone=organization.timezone,
                start=schedules.parse_start(None, tz),
                open_days=choices["open_days"],
                remind_after_days=choices["remind_after_days"],
            )
            preview = schedules.preview(cadence, count=PREVIEW_COUNT)
        except PulseError as problem:
            error, status_code = problem.message, 422
    return render(
        request,
        "admin/schedules.html",
        status_code=status_code,
        org=organization,
        section="schedules",
        schedules=rows,
        choices=choices,
        rule=rule,
        preview=preview,
        error=error,
        weekdays=list(enumerate(WEEKDAYS)),
        frequencies=FREQUENCIES,
        labels=LABELS,
        describe=describe_rule,
        options=await unit_options(organization),
        chosen=chosen,
        needed=2 * organization.min_group_size,
    )


@unit_form_page
async def schedules_page(request: Request) -> Response:
    """GET: the list and the form, with the preview of the dates the form's choices give.
    POST: create the schedule."""
    organization = await organization_for(principal_from(request), request.path_params["slug"], Need.MANAGE)
    if request.method == "GET":
        # "Preview dates" sends the form by GET: the units ticked stay ticked (they do not change the dates).
        ticked = ticked_units(request, request.query_params)
        try:
            choices = _schedule_choices(request.query_params)
        except InvalidInput as problem:
            return await _schedules(
                request, organization, _schedule_choices({}), status_code=422, error=problem.message, chosen=ticked
            )
        return await _schedules(request, organization, choices, chosen=ticked)
    form = {key: value for key, value in request.state.form.items() if isinstance(value, str)}
    try:
        choices = _schedule_choices(form)
        rule = build_rrule(choices["frequency"], choices["weekday"], choices["hour"])
        # Unknown units and the minimum scope: the service's rules, as for `pulse schedule add --departments`.
        schedule = await schedules.add_schedule(
            organization.slug,
            rule,
            open_days=choices["open_days"],
            remind_after_days=choices["remind_after_days"],
            departments=chosen_units(request),
            actor=principal_from(request).actor,
        )
    except InvalidInput as problem:
        fallback = _schedule_choices({}) if "choices" not in locals() else choices
        return await _schedules(
            request, organization, fallback, status_code=422, error=problem.message, chosen=ticked_units(request)
        )
    if schedule.next_run_at is None:  # pragma: no cover - add_schedule refuses a rule that never happens
        message = N_("Schedule created.")
    else:
        first = Moment(schedule.next_run_at, organization.timezone)
        message = N_("Schedule created: the first round opens %(when)s.", when=first)
    return redirect(request, f"/orgs/{organization.slug}/schedules", message)


@admin_page
async def schedule_action(request: Request) -> Response:
    principal = principal_from(request)
    organization = await organization_for(principal, request.path_params["slug"], Need.MANAGE)
    schedule = await schedule_for(principal, request.path_params["schedule_id"], organization)
    action = request.path_params["action"]
    if action == "pause":
        await schedules.pause_schedule(schedule.id, actor=principal.actor)
        message = N_("Schedule paused: no new rounds open until you resume it.")
    elif action == "resume":
        await schedules.resume_schedule(schedule.id, actor=principal.actor)
        message = N_("Schedule resumed from its next date.")
    elif action == "remove":
        await schedules.remove_schedule(schedule.id, actor=principal.actor)
        message = N_("Schedule removed. Rounds it opened are kept.")
    else:
        raise NotFound(N_("no schedule action %(action)s", action=repr(action)))
    return redirect(request, f"/orgs/{organization.slug}/schedules", message)
