"""The HR and leader web app: sign-in, organisations, people, departments, schedules, rounds, reports, keys.

Handlers are thin: check who asks (``pulse.web.auth``, ``pulse.services.access``), call a service,
render a template. Every figure about answers comes from a service that already applied disclosure
control (participation, the stored report model); no page lists who answered.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pulse import clock
from pulse.errors import ImportRejected, InvalidInput, NotAuthenticated, NotFound, PermissionDenied, PulseError
from pulse.models import Organization, Person, Report, ReportStatus, Round, RoundStatus, UserRole
from pulse.services import api_keys, deactivation, directory, people, reports, rounds, schedules, users
from pulse.services.access import (
    Need,
    Principal,
    organization_for,
    report_for,
    round_for,
    schedule_for,
    visible_organizations,
)
from pulse.templating import environment
from pulse.web import jobs
from pulse.web.auth import (
    CSRF_FIELD,
    clear_session,
    csrf_matches,
    limit_body,
    load_session,
    new_csrf_token,
    page,
    principal_of,
    read_form,
    safe_next,
    session_for,
    session_user,
    settings_of,
    store_session,
)

PEOPLE_PER_PAGE = 50
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
REPORT_FORMATS = {"pdf": "PDF", "json": "JSON", "csv": "CSV"}


# ---------------------------------------------------------------- rendering


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render an admin page with what every page needs (user, CSRF token, flash message)."""
    session: dict[str, Any] = dict(getattr(request.state, "session", None) or load_session(request))
    changed = False
    if not isinstance(session.get("csrf"), str):
        session["csrf"] = new_csrf_token()
        changed = True
    flash = session.pop("flash", None)
    changed = changed or flash is not None
    user = getattr(request.state, "user", None)
    principal: Principal | None = getattr(request.state, "principal", None)
    body = (
        environment()
        .get_template(template)
        .render(
            user=user,
            principal=principal,
            csrf_field=CSRF_FIELD,
            csrf_token=session["csrf"],
            flash=flash,
            org=context.pop("org", None),
            section=context.pop("section", ""),
            manage=principal is not None and principal.may_manage_anything(),
            **context,
        )
    )
    response = HTMLResponse(body, status_code=status_code, headers={"cache-control": "no-store"})
    if changed:
        store_session(request, response, session)
    return response


def redirect(request: Request, url: str, flash: str | None = None) -> RedirectResponse:
    """Post/redirect/get, carrying a one-line message to the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash is not None:
        session = dict(request.state.session)
        session["flash"] = flash
        store_session(request, response, session)
    return response


def _principal(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


def _form_text(request: Request, name: str, default: str = "") -> str:
    value = request.state.form.get(name, default)
    return value.strip() if isinstance(value, str) else default


def _optional_int(text: str, label: str) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{label} {text!r} is not a whole number") from None


def _local(moment: Any, timezone: str) -> str:
    if moment is None:
        return "—"
    return f"{schedules.to_local(moment, schedules.zone(timezone)):%a %d %b %Y, %H:%M}"


def admin_page(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """``auth.page`` plus refusals shown inside the app (header, navigation, a way back), not on a
    bare error page."""

    @functools.wraps(handler)
    async def with_error_page(request: Request) -> Response:
        try:
            return await handler(request)
        except (PermissionDenied, NotFound) as refused:
            principal = _principal(request)
            home = "/"
            if principal.role is UserRole.LEADER:
                organizations = await visible_organizations(principal)
                home = f"/orgs/{organizations[0].slug}/reports" if organizations else "/"
            return render(
                request,
                "admin/refused.html",
                status_code=refused.status_code,
                message=str(refused),
                forbidden=isinstance(refused, PermissionDenied),
                home=home,
            )

    return page(with_error_page)


# ---------------------------------------------------------------- sign-in


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login(request: Request) -> Response:
    """GET: the sign-in form. POST: check the password (throttled), start a session, go on."""
    session = load_session(request)
    next_url = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if await session_user(request, session) is not None:
            return RedirectResponse(next_url, status_code=303)
        request.state.session = session
        return render(request, "admin/login.html", next_url=next_url, email="", error=None)
    await limit_body(request)
    async with read_form(request) as form:
        return await _sign_in(request, session, form)


async def _sign_in(request: Request, session: dict[str, Any], form: FormData) -> Response:
    request.state.session = session
    email = str(form.get("email", "")).strip()
    next_url = safe_next(str(form.get("next", "")) or None)
    if not csrf_matches(session, form.get(CSRF_FIELD)):
        return render(
            request,
            "admin/login.html",
            status_code=403,
            next_url=next_url,
            email=email,
            error="The sign-in form expired. Please try again.",
        )
    try:
        user = await users.authenticate(email, str(form.get("password", "")), client=_client(request))
    except users.SignInThrottled as throttled:
        response = render(
            request, "admin/login.html", status_code=429, next_url=next_url, email=email, error=str(throttled)
        )
        response.headers["retry-after"] = str(throttled.retry_after)
        return response
    except PulseError:
        return render(
            request,
            "admin/login.html",
            status_code=401,
            next_url=next_url,
            email=email,
            error="Wrong email or password.",
        )
    signed_in = RedirectResponse(next_url, status_code=303)
    store_session(request, signed_in, session_for(settings_of(request), user))
    return signed_in


@admin_page
async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    clear_session(request, response)
    return response


@admin_page
async def home(request: Request) -> Response:
    """Admins pick an organisation; HR goes to theirs; leaders to their reports."""
    principal = _principal(request)
    organizations = await visible_organizations(principal)
    if principal.is_admin:
        return render(request, "admin/home.html", organizations=organizations)
    if not organizations:
        raise PermissionDenied("your account is not attached to any organisation")
    slug = organizations[0].slug
    if principal.role is UserRole.LEADER:
        return RedirectResponse(f"/orgs/{slug}/reports", status_code=303)
    return RedirectResponse(f"/orgs/{slug}", status_code=303)


# ---------------------------------------------------------------- organisation overview


async def _round_participation(round_id: int) -> dict[str, Any]:
    from pulse.services.participation import round_participation

    return dict(await round_participation(round_id))


@admin_page
async def overview(request: Request) -> Response:
    organization = await organization_for(_principal(request), request.path_params["slug"], Need.MANAGE)
    active = [s for s in await schedules.list_schedules(organization.slug) if s.active]
    next_run = min((s.next_run_at for s in active if s.next_run_at is not None), default=None)
    current = await Round.filter(organization_id=organization.id, status=RoundStatus.OPEN).order_by("-number").first()
    participation = await _round_participation(current.id) if current is not None else None
    # values(): the stored PDF (megabytes) is not needed here, only the model's headline.
    latest = (
        await Report.filter(round__organization_id=organization.id, status=ReportStatus.READY)
        .order_by("-round__number")
        .first()
        .values("round_id", "model", number="round__number")
    )
    return render(
        request,
        "admin/overview.html",
        org=organization,
        section="overview",
        next_run=_local(next_run, organization.timezone) if next_run else None,
        current=current,
        current_closes=_local(current.closes_at, organization.timezone) if current else None,
        participation=participation,
        latest=latest,
        headline=_headline(latest["model"]) if latest is not None and latest["model"] else None,
        people_count=await Person.filter(organization_id=organization.id, active=True).count(),
    )


# ---------------------------------------------------------------- people


@admin_page
async def people_page(request: Request) -> Response:
    organization = await organization_for(_principal(request), request.path_params["slug"], Need.MANAGE)
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
    )


@admin_page
async def people_import(request: Request) -> Response:
    organization = await organization_for(_principal(request), request.path_params["slug"], Need.MANAGE)
    upload = request.state.form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _people(
            request,
            organization,
            status_code=422,
            problem_title="Choose a CSV file to import.",
            problems=[],
        )
    data = await upload.read()
    deactivate_missing = request.state.form.get("deactivate_missing") == "1"
    try:
        summary = await people.import_people(
            organization, data, deactivate_missing=deactivate_missing, actor=_principal(request).actor
        )
    except ImportRejected as rejected:
        return await _people(
            request, organization, status_code=422, problem_title=rejected.summary, problems=rejected.problems
        )
    return redirect(request, f"/orgs/{organization.slug}/people", f"Imported {upload.filename}: {summary}.")


@admin_page
async def people_status(request: Request) -> Response:
    """Deactivate (no more invitations) or reactivate one person."""
    organization = await organization_for(_principal(request), request.path_params["slug"], Need.MANAGE)
    active = request.url.path.endswith("/reactivate")
    email = _form_text(request, "email")
    person = await deactivation.set_person_active(organization, email, active, actor=_principal(request).actor)
    if active:
        message = f"{person.name} ({person.email}) is active again: invited from the next round."
    else:
        message = f"{person.name} ({person.email}) was deactivated: no more invitations."
    back = f"/orgs/{organization.slug}/people"
    query = _form_text(request, "q")
    return redirect(request, f"{back}?q={quote(query)}" if query else back, message)


# ---------------------------------------------------------------- departments


@admin_page
async def departments_page(request: Request) -> Response:
    organization = await organization_for(_principal(request), request.path_params["slug"], Need.MANAGE)
    # Directory sizes (who is on the list), not answers: HR maintains this list and may see it.
    rows = await directory.department_sizes(organization)
    return render(
        request,
        "admin/departments.html",
        org=organization,
        section="departments",
        departments=rows,
        k=organization.min_group_size,
    )


# ---------------------------------------------------------------- schedules


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
        "remind_after_days": _optional_int(remind_text, "remind after days"),
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
                "next": _local(schedule.next_run_at, organization.timezone) if schedule.active else None,
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
    organization = await organization_for(_principal(request), request.path_params["slug"], Need.MANAGE)
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
            actor=_principal(request).actor,
        )
    except InvalidInput as problem:
        fallback = _schedule_choices({}) if "choices" not in locals() else choices
        return await _schedules(request, organization, fallback, status_code=422, error=str(problem))
    first = _local(schedule.next_run_at, organization.timezone)
    return redirect(
        request, f"/orgs/{organization.slug}/schedules", f"Schedule created: the first round opens {first}."
    )


@admin_page
async def schedule_action(request: Request) -> Response:
    principal = _principal(request)
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


# ---------------------------------------------------------------- rounds


@admin_page
async def rounds_page(request: Request) -> Response:
    """GET: every round. POST: open a round now (invitations go out in the background)."""
    principal = _principal(request)
    organization = await organization_for(principal, request.path_params["slug"], Need.MANAGE)
    if request.method == "POST":
        try:
            closes_in = _optional_int(_form_text(request, "closes_in_days"), "closes in days") or 7
            remind_after = _optional_int(_form_text(request, "remind_after_days"), "remind after days")
            opened = await rounds.open_round(organization, closes_in_days=closes_in, remind_after_days=remind_after)
        except InvalidInput as problem:
            return await _rounds(request, organization, status_code=422, error=str(problem))
        await jobs.after_open(request, opened.id)
        return redirect(request, f"/rounds/{opened.id}", f"Round {opened.number} is open: invitations are being sent.")
    return await _rounds(request, organization)


async def _rounds(
    request: Request, organization: Organization, *, status_code: int = 200, error: str | None = None
) -> Response:
    found = await Round.filter(organization_id=organization.id).order_by("-number")
    ready = Report.filter(round__organization_id=organization.id, status=ReportStatus.READY)
    has_report = {report.round_id for report in await ready.only("id", "round_id")}
    rows = [
        {
            "id": r.id,
            "number": r.number,
            "status": r.status,
            "opened": _local(r.opened_at, organization.timezone),
            "closes": _local(r.closed_at or r.closes_at, organization.timezone),
            "report": r.id in has_report,
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
        error=error,
        any_open=any(r.status == RoundStatus.OPEN for r in found),
    )


@admin_page
async def round_page(request: Request) -> Response:
    found = await round_for(_principal(request), request.path_params["round_id"], Need.MANAGE)
    organization = found.organization
    participation = await _round_participation(found.id)
    report = await Report.get_or_none(round_id=found.id)
    return render(
        request,
        "admin/round.html",
        org=organization,
        section="rounds",
        round=found,
        is_open=found.status == RoundStatus.OPEN,
        opened=_local(found.opened_at, organization.timezone),
        closes=_local(found.closes_at, organization.timezone),
        closed=_local(found.closed_at, organization.timezone) if found.closed_at else None,
        reminded=_local(found.reminded_at, organization.timezone) if found.reminded_at else None,
        participation=participation,
        report=report,
        now=clock.now(),
    )


@admin_page
async def round_remind(request: Request) -> Response:
    found = await round_for(_principal(request), request.path_params["round_id"], Need.MANAGE)
    queued = await jobs.remind(request, found)
    message = (
        "Reminders are being sent to people who have not answered." if queued else "Reminders are already on their way."
    )
    return redirect(request, f"/rounds/{found.id}", message)


@admin_page
async def round_close(request: Request) -> Response:
    found = await round_for(_principal(request), request.path_params["round_id"], Need.MANAGE)
    await rounds.close_round(found.id)
    await jobs.after_close(request, found.id)
    return redirect(request, f"/rounds/{found.id}", "Round closed: the report is being built.")


# ---------------------------------------------------------------- reports


def _headline(model: Mapping[str, Any]) -> dict[str, Any]:
    """What the report page shows in HTML: participation, the organisation's scores, flagged departments."""
    participation = model.get("participation") or {}
    organization = model.get("organization") or {}
    dimensions = []
    for info in model.get("dimensions") or []:
        score = organization.get(info["key"]) or {}
        dimensions.append(
            {
                "key": info["key"],
                "label": info["label"],
                "higher_is_better": info["higher_is_better"],
                "suppressed": score.get("suppressed", True),
                "mean": score.get("mean"),
                "ci_low": score.get("ci_low"),
                "ci_high": score.get("ci_high"),
            }
        )
    departments = []
    for department in model.get("departments") or []:
        departments.append(
            {
                "name": department["name"],
                "suppressed": department.get("suppressed", True),
                "responded": department.get("responded"),
                "invited": department.get("invited"),
                "flags": list(department.get("flags") or []),
                "scores": {key: (cell or {}).get("mean") for key, cell in (department.get("scores") or {}).items()},
            }
        )
    round_info = model.get("round") or {}
    return {
        "invited": participation.get("invited"),
        "responded": participation.get("responded"),
        "rate": participation.get("rate"),
        "min_group_size": model.get("min_group_size"),
        "dimensions": dimensions,
        "departments": departments,
        "findings": [f.get("summary") or f.get("text") for f in model.get("findings") or [] if isinstance(f, dict)],
        "label": round_info.get("label") or f"Round {round_info.get('number', '')}",
        "closed": bool(round_info.get("closed")),
    }


def _participation_rate(model: Mapping[str, Any] | None) -> Any:
    participation = (model or {}).get("participation")
    return participation.get("rate") if isinstance(participation, dict) else None


@admin_page
async def reports_page(request: Request) -> Response:
    organization = await organization_for(_principal(request), request.path_params["slug"], Need.REPORTS)
    # values(): every report's headline without loading the stored PDFs.
    stored = (
        await Report.filter(round__organization_id=organization.id)
        .order_by("-round__number")
        .values("round_id", "status", "built_at", "model", number="round__number")
    )
    rows = [
        {
            "round_id": r["round_id"],
            "number": r["number"],
            "status": r["status"],
            "built": _local(r["built_at"], organization.timezone) if r["built_at"] else None,
            "rate": _participation_rate(r["model"]),
        }
        for r in stored
    ]
    return render(request, "admin/reports.html", org=organization, section="reports", reports=rows)


@admin_page
async def report_page(request: Request) -> Response:
    principal = _principal(request)
    report = await report_for(principal, request.path_params["round_id"])
    found = await Round.get(id=report.round_id).select_related("organization")
    ready = report.status == ReportStatus.READY and report.model is not None
    return render(
        request,
        "admin/report.html",
        org=found.organization,
        section="reports",
        report=report,
        round=found,
        ready=ready,
        headline=_headline(report.model) if ready and report.model else None,
        formats=REPORT_FORMATS,
    )


@admin_page
async def report_download(request: Request) -> Response:
    fmt = request.path_params["fmt"]
    report = await report_for(_principal(request), request.path_params["round_id"])
    if fmt not in REPORT_FORMATS:
        raise NotFound(f"no report format {fmt!r} (use pdf, json or csv)")
    exported = await reports.export(report.round_id, fmt, settings_of(request), build=False)
    return Response(
        exported.content,
        media_type=exported.media_type,
        headers={"content-disposition": f'attachment; filename="{exported.filename}"', "cache-control": "no-store"},
    )


# ---------------------------------------------------------------- API keys


@admin_page
async def keys_page(request: Request) -> Response:
    principal = _principal(request)
    organization = await organization_for(principal, request.path_params["slug"], Need.MANAGE)
    created_key = None
    status_code = 200
    error = None
    if request.method == "POST":
        try:
            user_id = principal.user_id
            creator = await users.get_user(user_id) if user_id is not None else None
            _, created_key = await api_keys.create_api_key(
                organization, _form_text(request, "name"), created_by=creator, actor=principal.actor
            )
        except InvalidInput as problem:
            error, status_code = str(problem), 422
    keys = [
        {
            "id": k.id,
            "name": k.name,
            "prefix": k.prefix,
            "created": _local(k.created_at, organization.timezone),
            "last_used": _local(k.last_used_at, organization.timezone) if k.last_used_at else "never",
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
    principal = _principal(request)
    organization = await organization_for(principal, request.path_params["slug"], Need.MANAGE)
    revoked = await api_keys.revoke_api_key(
        request.path_params["key_id"], organization=organization, actor=principal.actor
    )
    return redirect(request, f"/orgs/{organization.slug}/keys", f"Key {revoked.prefix}… revoked.")


# ---------------------------------------------------------------- account


async def _account(request: Request, *, status_code: int = 200, error: str | None = None) -> Response:
    user = request.state.user
    organization = await Organization.get_or_none(id=user.organization_id) if user.organization_id else None
    return render(
        request,
        "admin/account.html",
        status_code=status_code,
        section="account",
        account_org=organization,
        error=error,
        min_password_length=users.MIN_PASSWORD_LENGTH,
        max_password_length=users.MAX_PASSWORD_LENGTH,
    )


@admin_page
async def account_page(request: Request) -> Response:
    """Who is signed in (email, role, organisation) and the form to change one's own password."""
    return await _account(request)


@admin_page
async def account_password(request: Request) -> Response:
    """Change one's own password: this session stays signed in (re-issued), every other one ends."""
    user = request.state.user
    form = request.state.form
    current = form.get("current_password", "")
    new = form.get("new_password", "")
    repeat = form.get("repeat_password", "")
    if not (isinstance(current, str) and isinstance(new, str) and isinstance(repeat, str)):
        return await _account(request, status_code=422, error="Fill in the three password fields.")
    if new != repeat:
        return await _account(request, status_code=422, error="The two new passwords differ: type the same one twice.")
    try:
        await users.change_password(user, current, new, client=_client(request))
    except users.SignInThrottled as throttled:
        response = await _account(request, status_code=429, error=f"{str(throttled)[:1].upper()}{str(throttled)[1:]}.")
        response.headers["retry-after"] = str(throttled.retry_after)
        return response
    except NotAuthenticated:
        return await _account(request, status_code=403, error="The current password is wrong. Nothing was changed.")
    except InvalidInput as problem:
        message = str(problem)
        return await _account(request, status_code=422, error=f"{message[:1].upper()}{message[1:]}.")
    # The session cookie holds a fingerprint of the password hash: issue a new one for this browser,
    # which leaves every other session of this user with a fingerprint that no longer matches.
    response = RedirectResponse("/account", status_code=303)
    session = session_for(settings_of(request), user)
    session["flash"] = "Password changed. Your other sessions are signed out."
    store_session(request, response, session)
    return response


# ---------------------------------------------------------------- routes

routes: list[BaseRoute] = [
    Route("/login", login, methods=["GET", "POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/", home, name="home"),
    Route("/orgs/{slug}", overview, name="overview"),
    Route("/orgs/{slug}/people", people_page, name="people"),
    Route("/orgs/{slug}/people/import", people_import, methods=["POST"], name="people_import"),
    Route("/orgs/{slug}/people/deactivate", people_status, methods=["POST"], name="people_deactivate"),
    Route("/orgs/{slug}/people/reactivate", people_status, methods=["POST"], name="people_reactivate"),
    Route("/orgs/{slug}/departments", departments_page, name="departments"),
    Route("/orgs/{slug}/schedules", schedules_page, methods=["GET", "POST"], name="schedules"),
    Route(
        "/orgs/{slug}/schedules/{schedule_id:int}/{action}", schedule_action, methods=["POST"], name="schedule_action"
    ),
    Route("/orgs/{slug}/rounds", rounds_page, methods=["GET", "POST"], name="rounds"),
    Route("/orgs/{slug}/reports", reports_page, name="reports"),
    Route("/orgs/{slug}/keys", keys_page, methods=["GET", "POST"], name="keys"),
    Route("/orgs/{slug}/keys/{key_id:int}/revoke", key_revoke, methods=["POST"], name="key_revoke"),
    Route("/rounds/{round_id:int}", round_page, name="round"),
    Route("/rounds/{round_id:int}/remind", round_remind, methods=["POST"], name="round_remind"),
    Route("/rounds/{round_id:int}/close", round_close, methods=["POST"], name="round_close"),
    Route("/reports/{round_id:int}", report_page, name="report"),
    Route("/reports/{round_id:int}/download/{fmt}", report_download, name="report_download"),
    Route("/account", account_page, name="account"),
    Route("/account/password", account_password, methods=["POST"], name="account_password"),
]

__all__ = ["build_rrule", "describe_rule", "principal_of", "routes"]
