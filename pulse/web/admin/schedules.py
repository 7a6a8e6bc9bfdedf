"""Cadences: the friendly rule builder, the list of schedules and their actions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pulse.errors import InvalidInput, NotFound, PulseError
from pulse.models import Organization
from pulse.services import schedules
from pulse.services.access import (
    Need,
    organization_for,
    schedule_for,
)
from pulse.web.admin.pages import admin_page, local_time, optional_int, principal_from, redirect, render

PREVIEW_COUNT = 6
WEEKDAYS = (
    ("MO", "Monday"),
    ("TU", "Tuesday"),
    ("WE", "Wednesday"),
    ("TH", "Thursday"),
    ("FR", "Friday"),
    ("SA", "Saturday"),
    ("SU", "Sunday"),
)
FREQUENCIES = (("weekly", "Every week"), ("biweekly", "Every two weeks"), ("monthly", "Every month"))


def build_rrule(frequency: str, weekday: str, hour: int, minute: int = 0) -> str:
    """The RRULE for the schedule form's friendly choices."""
    if weekday not in dict(WEEKDAYS):
        raise InvalidInput(f"unknown weekday {weekday!r} (use MO, TU, WE, TH, FR, SA or SU)")
    if not 0 <= hour <= 23:
        raise InvalidInput(f"hour {hour} is not between 0 and 23")
    if not 0 <= minute <= 59:
        raise InvalidInput(f"minute {minute} is not between 0 and 59")
    at = f"BYHOUR={hour};BYMINUTE={minute};BYSECOND=0"
    if frequency == "weekly":
        return f"FREQ=WEEKLY;BYDAY={weekday};{at}"
    if frequency == "biweekly":
        return f"FREQ=WEEKLY;INTERVAL=2;BYDAY={weekday};{at}"
    if frequency == "monthly":
        # The first such weekday of each month: "the first Monday", as people plan it.
        return f"FREQ=MONTHLY;BYDAY=1{weekday};{at}"
    raise InvalidInput(f"unknown frequency {frequency!r} (use weekly, biweekly or monthly)")


_FRIENDLY_RULE = re.compile(
    r"^FREQ=(?P<freq>WEEKLY|MONTHLY)(?:;INTERVAL=(?P<interval>\d+))?;BYDAY=(?P<nth>1?)(?P<day>MO|TU|WE|TH|FR|SA|SU)"
    r";BYHOUR=(?P<hour>\d+);BYMINUTE=(?P<minute>\d+)(?:;BYSECOND=0)?$"
)


def describe_rule(rule: str) -> str | None:
    """Words for the rules the form builds ("Every 2 weeks on Monday at 09:00"); None for other rules."""
    match = _FRIENDLY_RULE.match(rule)
    if match is None:
        return None
    day = dict(WEEKDAYS)[match["day"]]
    at = f"{int(match['hour']):02d}:{int(match['minute']):02d}"
    interval = int(match["interval"] or 1)
    if match["freq"] == "MONTHLY":
        if not match["nth"] or interval != 1:
            return None
        return f"First {day} of every month at {at}"
    if match["nth"]:
        return None
    every = "Every week" if interval == 1 else f"Every {interval} weeks"
    return f"{every} on {day} at {at}"


def _schedule_choices(values: Mapping[str, str]) -> dict[str, Any]:
    def number(name: str, default: int) -> int:
        text = (values.get(name) or "").strip()
        if not text:
            return default
        try:
            return int(text)
        except ValueError:
            raise InvalidInput(f"{name.replace('_', ' ')} {text!r} is not a whole number") from None

    remind_text = (values.get("remind_after_days") or "").strip()
    return {
        "frequency": values.get("frequency") or "biweekly",
        "weekday": values.get("weekday") or "MO",
        "hour": number("hour", 9),
        "open_days": number("open_days", schedules.DEFAULT_OPEN_DAYS),
        "remind_after_days": optional_int(remind_text, "remind after days"),
    }


async def _schedules(
    request: Request,
    organization: Organization,
    choices: dict[str, Any],
    *,
    status_code: int = 200,
    error: str | None = None,
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
                "next": local_time(schedule.next_run_at, organization.timezone) if schedule.active else None,
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
            error, status_code = str(problem), 422
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
        weekdays=WEEKDAYS,
        frequencies=FREQUENCIES,
        describe=describe_rule,
    )


@admin_page
async def schedules_page(request: Request) -> Response:
    """GET: the list and the form, with the preview of the dates the form's choices give.
    POST: create the schedule."""
    organization = await organization_for(principal_from(request), request.path_params["slug"], Need.MANAGE)
    if request.method == "GET":
        try:
            choices = _schedule_choices(request.query_params)
        except InvalidInput as problem:
            return await _schedules(request, organization, _schedule_choices({}), status_code=422, error=str(problem))
        return await _schedules(request, organization, choices)
    form = {key: value for key, value in request.state.form.items() if isinstance(value, str)}
    try:
        choices = _schedule_choices(form)
        rule = build_rrule(choices["frequency"], choices["weekday"], choices["hour"])
        schedule = await schedules.add_schedule(
            organization.slug,
            rule,
            open_days=choices["open_days"],
            remind_after_days=choices["remind_after_days"],
            actor=principal_from(request).actor,
        )
    except InvalidInput as problem:
        fallback = _schedule_choices({}) if "choices" not in locals() else choices
        return await _schedules(request, organization, fallback, status_code=422, error=str(problem))
    first = local_time(schedule.next_run_at, organization.timezone)
    return redirect(
        request, f"/orgs/{organization.slug}/schedules", f"Schedule created: the first round opens {first}."
    )


@admin_page
async def schedule_action(request: Request) -> Response:
    principal = principal_from(request)
    organization = await organization_for(principal, request.path_params["slug"], Need.MANAGE)
    schedule = await schedule_for(principal, request.path_params["schedule_id"], organization)
    action = request.path_params["action"]
    if action == "pause":
        await schedules.pause_schedule(schedule.id, actor=principal.actor)
        message = "Schedule paused: no new rounds open until you resume it."
    elif action == "resume":
        await schedules.resume_schedule(schedule.id, actor=principal.actor)
        message = "Schedule resumed from its next date."
    elif action == "remove":
        await schedules.remove_schedule(schedule.id, actor=principal.actor)
        message = "Schedule removed. Rounds it opened are kept."
    else:
        raise NotFound(f"no schedule action {action!r}")
    return redirect(request, f"/orgs/{organization.slug}/schedules", message)
