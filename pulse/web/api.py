"""The JSON API under /api/v1, for integrations (an HRIS sync, a dashboard).

Every call carries ``Authorization: Bearer <key>``; a key belongs to one organisation and acts in it
with HR rights. Errors are ``{"error": {"code": ..., "message": ...}}`` with stable codes
(``pulse.web.errors``); a rejected people import adds ``problems``, one line per bad row (the first
100), and ``more_problems``, how many more there were.

Each endpoint is declared once, as an ``Endpoint``: its route and its part of the OpenAPI schema
(``pulse.web.openapi``) come from the same declaration, so they cannot drift apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pulse import i18n
from pulse.errors import ImportRejected, InvalidInput
from pulse.i18n import N_, NP_, Count
from pulse.models import Organization, Round
from pulse.services import directory, people, reports, rounds, schedules
from pulse.services.access import Need, Principal, organization_by_id, round_for, schedule_for, scope_of
from pulse.web import jobs
from pulse.web.auth import api, settings_of

PREFIX = "/api/v1"
#: A schedule's start: a real local date (2000-2099), optionally with a time; the schema holds the same
#: pattern, so what it allows the API accepts ("" or 2026-02-30 are refused by both).
_DATE = (
    r"20[0-9][0-9]-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))|20(?:[02468][048]|[13579][26])-02-29"
)
LOCAL_DATETIME_PATTERN = rf"^(?:{_DATE})(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?)?$"
MAX_PER_PAGE = directory.MAX_PER_PAGE
DEFAULT_PER_PAGE = 100


@dataclass(frozen=True)
class Endpoint:
    """One API operation: how it is routed and how the schema describes it."""

    method: str
    path: str
    handler: Any
    operation_id: str
    summary: str
    tag: str
    #: status -> (description, media type -> schema) ; schemas may be {"$ref": ...}
    responses: Mapping[str, tuple[str, Mapping[str, Any]]]
    parameters: tuple[Mapping[str, Any], ...] = ()
    request_body: Mapping[str, Any] | None = None
    public: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


def _principal(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


async def _organization(request: Request) -> Organization:
    principal = _principal(request)
    if principal.organization_id is None:  # API keys always have one; this is defence in depth
        raise InvalidInput(N_("this API key has no organisation"))
    return await organization_by_id(principal, principal.organization_id, Need.MANAGE)


async def _json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body.strip():
        return {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/json", ""):
        raise InvalidInput(N_("send JSON (content-type application/json), not %(type)s", type=repr(content_type[:100])))
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(N_("the request body is not valid JSON")) from None
    if not isinstance(data, dict):
        raise InvalidInput(N_("the request body must be a JSON object"))
    return data


def _int_field(data: Mapping[str, Any], name: str, *, default: int | None, low: int, high: int) -> int | None:
    value = data.get(name, default)
    if value is None:
        return None
    # JSON Schema's "integer" is any number with no fractional part: 29.0 is 29 (the schema says integer).
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(N_("%(field)s must be a whole number, not %(value)s", field=name, value=repr(value)[:100]))
    if not low <= value <= high:
        raise InvalidInput(
            N_(
                "%(field)s %(value)s is not between %(low)s and %(high)s",
                field=name,
                value=value,
                low=Count(low),
                high=Count(high),
            )
        )
    return value


def _str_list(data: Mapping[str, Any], name: str) -> list[str] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(N_("%(field)s must be a list of department names", field=name))
    return list(value)


def _check_keys(data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidInput(
            NP_(
                "unknown field %(names)s (allowed: %(allowed)s)",
                "unknown fields %(names)s (allowed: %(allowed)s)",
                len(unknown),
                names=", ".join(repr(k)[:100] for k in unknown[:20]),
                allowed=", ".join(sorted(allowed)),
            )
        )


def _query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(
            N_("%(field)s=%(value)s is not a whole number", field=name, value=repr(text[:100]))
        ) from None
    if not low <= value <= high:
        raise InvalidInput(
            N_(
                "%(field)s=%(value)s is not between %(low)s and %(high)s",
                field=name,
                value=value,
                low=Count(low),
                high=Count(high),
            )
        )
    return value


def _query_bool(request: Request, name: str) -> bool:
    text = request.query_params.get(name, "").strip().lower()
    if text in ("", "0", "false", "no"):
        return False
    if text in ("1", "true", "yes"):
        return True
    raise InvalidInput(N_("%(field)s=%(value)s is not true or false", field=name, value=repr(text[:100])))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def round_json(found: Round) -> dict[str, Any]:
    return {
        "id": found.id,
        "number": found.number,
        "status": str(found.status),
        "opened_at": _iso(found.opened_at),
        "closes_at": _iso(found.closes_at),
        "remind_at": _iso(found.remind_at),
        "reminded_at": _iso(found.reminded_at),
        "closed_at": _iso(found.closed_at),
        "schedule_id": found.schedule_id,
        "item_count": len(found.item_keys or []),
    }


# ---------------------------------------------------------------- handlers


@api
async def get_organization(request: Request) -> Response:
    organization = await _organization(request)
    return JSONResponse(
        {
            "slug": organization.slug,
            "name": organization.name,
            "timezone": organization.timezone,
            "min_group_size": organization.min_group_size,
        }
    )


@api
async def import_people(request: Request) -> Response:
    organization = await _organization(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "application/csv"):
        raise InvalidInput(
            N_(
                "send the CSV file as the body with content-type text/csv, not %(type)s",
                type=repr(content_type[:100]),
            )
        )
    deactivate_missing = _query_bool(request, "deactivate_missing")
    try:
        summary = await people.import_people(
            organization, await request.body(), deactivate_missing=deactivate_missing, actor=_principal(request).actor
        )
    except ImportRejected as rejected:
        # In the client's Accept-Language (English without one), like every other error's message.
        with i18n.use(request.headers.get("accept-language")) as locale:
            error = {
                "code": rejected.code,
                "message": i18n.localize(rejected.summary),
                "problems": [i18n.localize(problem) for problem in rejected.problems],
                "more_problems": rejected.more,
            }
        return JSONResponse(
            {"error": error}, status_code=rejected.status_code, headers={"content-language": i18n.html_lang(locale)}
        )
    return JSONResponse(asdict(summary))


@api
async def list_people(request: Request) -> Response:
    organization = await _organization(request)
    page = _query_int(request, "page", 1, 1, 1_000_000)
    per_page = _query_int(request, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    query = request.query_params.get("q", "")
    found = await directory.people_page(organization, query=query, page=page, per_page=per_page)
    return JSONResponse(
        {
            "total": found.total,
            "page": found.page,
            "per_page": found.per_page,
            "pages": found.pages,
            "people": [asdict(r) for r in found.people],
        }
    )


@api
async def list_schedules(request: Request) -> Response:
    organization = await _organization(request)
    found = await schedules.list_schedules(organization.slug)
    return JSONResponse({"schedules": [schedules.schedule_json(s, organization.timezone) for s in found]})


@api
async def create_schedule(request: Request) -> Response:
    organization = await _organization(request)
    data = await _json_body(request)
    _check_keys(data, {"rrule", "start", "open_days", "remind_after_days", "departments"})
    rule = data.get("rrule")
    if not isinstance(rule, str):
        raise InvalidInput(
            N_(
                "rrule is required: an iCalendar RRULE such as %(example)s",
                example="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9",
            )
        )
    start = data.get("start")
    if start is not None and (not isinstance(start, str) or not re.search(LOCAL_DATETIME_PATTERN, start)):
        raise InvalidInput(
            N_(
                "start must be a local date-time such as %(example)s, not %(value)s",
                example="2026-03-02T09:00",
                value=repr(start)[:100],
            )
        )
    open_days = _int_field(data, "open_days", default=schedules.DEFAULT_OPEN_DAYS, low=1, high=schedules.MAX_OPEN_DAYS)
    schedule = await schedules.add_schedule(
        organization.slug,
        rule,
        start=start,
        open_days=open_days or schedules.DEFAULT_OPEN_DAYS,
        remind_after_days=_int_field(data, "remind_after_days", default=None, low=1, high=schedules.MAX_OPEN_DAYS),
        departments=_str_list(data, "departments"),
        actor=_principal(request).actor,
    )
    return JSONResponse(schedules.schedule_json(schedule, organization.timezone), status_code=201)


async def _schedule(request: Request) -> tuple[Organization, int]:
    organization = await _organization(request)
    schedule = await schedule_for(_principal(request), request.path_params["schedule_id"], organization)
    return organization, schedule.id


@api
async def pause_schedule(request: Request) -> Response:
    organization, schedule_id = await _schedule(request)
    schedule = await schedules.pause_schedule(schedule_id, actor=_principal(request).actor)
    return JSONResponse(schedules.schedule_json(schedule, organization.timezone))


@api
async def resume_schedule(request: Request) -> Response:
    organization, schedule_id = await _schedule(request)
    schedule = await schedules.resume_schedule(schedule_id, actor=_principal(request).actor)
    return JSONResponse(schedules.schedule_json(schedule, organization.timezone))


@api
async def delete_schedule(request: Request) -> Response:
    _, schedule_id = await _schedule(request)
    await schedules.remove_schedule(schedule_id, actor=_principal(request).actor)
    return Response(status_code=204)


@api
async def list_rounds(request: Request) -> Response:
    organization = await _organization(request)
    found = await Round.filter(organization_id=organization.id).order_by("-number")
    return JSONResponse({"rounds": [round_json(r) for r in found]})


@api
async def open_round(request: Request) -> Response:
    organization = await _organization(request)
    data = await _json_body(request)
    _check_keys(data, {"closes_in_days", "remind_after_days", "departments"})
    opened = await rounds.open_round(
        organization,
        closes_in_days=_int_field(data, "closes_in_days", default=7, low=1, high=rounds.MAX_OPEN_DAYS) or 7,
        remind_after_days=_int_field(data, "remind_after_days", default=None, low=1, high=rounds.MAX_OPEN_DAYS),
        departments=_str_list(data, "departments"),
    )
    await jobs.after_open(request, opened.id)
    return JSONResponse(round_json(opened), status_code=201)


@api
async def get_round(request: Request) -> Response:
    found = await round_for(_principal(request), request.path_params["round_id"], Need.MANAGE)
    return JSONResponse(round_json(found))


@api
async def remind_round(request: Request) -> Response:
    found = await round_for(_principal(request), request.path_params["round_id"], Need.MANAGE)
    queued = await jobs.remind(request, found)
    return JSONResponse({"round_id": found.id, "queued": queued}, status_code=202)


@api
async def close_round(request: Request) -> Response:
    found = await round_for(_principal(request), request.path_params["round_id"], Need.MANAGE)
    closed = await rounds.close_round(found.id)
    await jobs.after_close(request, found.id)
    return JSONResponse(round_json(closed))


@api
async def directory_audit(request: Request) -> Response:
    from pulse.services.directory_audit import audit_json
    from pulse.services.directory_audit import directory_audit as audit

    organization = await _organization(request)
    return JSONResponse(audit_json(await audit(organization)))


@api
async def round_participation(request: Request) -> Response:
    from pulse.services.participation import round_participation as participation

    found = await round_for(_principal(request), request.path_params["round_id"], Need.MANAGE)
    return JSONResponse(await participation(found.id))


async def _export(request: Request, fmt: str) -> Response:
    principal = _principal(request)
    found = await round_for(principal, request.path_params["round_id"], Need.REPORTS)
    exported = await reports.export(found.id, fmt, settings_of(request), build=False, scope=await scope_of(principal))
    return Response(
        exported.content,
        media_type=exported.media_type,
        headers={"content-disposition": f'attachment; filename="{exported.filename}"'},
    )


@api
async def report_json(request: Request) -> Response:
    return await _export(request, "json")


@api
async def report_csv(request: Request) -> Response:
    return await _export(request, "csv")


@api
async def report_pdf(request: Request) -> Response:
    return await _export(request, "pdf")


async def openapi_schema(request: Request) -> Response:
    from pulse.web.openapi import schema

    return JSONResponse(schema())


# ---------------------------------------------------------------- declarations


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str) -> dict[str, Any]:
    return {"application/json": _ref(name)}


ERROR = ("the request was refused", _json("Error"))
ERRORS: dict[str, tuple[str, Mapping[str, Any]]] = {
    "401": ("missing, unknown or revoked API key", _json("Error")),
    "404": ("not found (or another organisation's)", _json("Error")),
    "413": ("the body is larger than the server accepts", _json("Error")),
    "422": ("a value was not acceptable", _json("Error")),
}
ROUND_ID = {
    "name": "round_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
}
SCHEDULE_ID = {**ROUND_ID, "name": "schedule_id"}
REPORT_ERRORS = {
    **ERRORS,
    "409": ("the round is still open, or its report is not built yet (or failed)", _json("Error")),
}


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/openapi.json",
        openapi_schema,
        "openapi",
        "This schema (OpenAPI 3.1); public",
        "meta",
        {"200": ("the schema", {"application/json": {"type": "object"}})},
        public=True,
    ),
    Endpoint(
        "GET",
        "/organization",
        get_organization,
        "getOrganization",
        "The organisation of the API key",
        "organization",
        {"200": ("the organisation", _json("Organization")), **ERRORS},
    ),
    Endpoint(
        "POST",
        "/people/import",
        import_people,
        "importPeople",
        "Import the people directory from CSV (all or nothing; every bad row is reported)",
        "people",
        {
            "200": ("what changed", _json("ImportSummary")),
            **ERRORS,
            "409": ("another import ran at the same time; nothing changed", _json("Error")),
        },
        parameters=(
            {
                "name": "deactivate_missing",
                "in": "query",
                "required": False,
                "description": "deactivate active people absent from the file",
                "schema": {"type": "string", "enum": ["true", "false"]},
            },
        ),
        request_body={
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "description": "UTF-8 CSV: email,name,department[,manager_email,role,locale]",
                    }
                }
            },
        },
    ),
    Endpoint(
        "GET",
        "/people",
        list_people,
        "listPeople",
        "The people directory, searchable, in pages",
        "people",
        {"200": ("a page of people", _json("PeoplePage")), **ERRORS},
        parameters=(
            {"name": "q", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 200}},
            {
                "name": "page",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 1000000},
            },
            {
                "name": "per_page",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            },
        ),
    ),
    Endpoint(
        "GET",
        "/schedules",
        list_schedules,
        "listSchedules",
        "Every schedule",
        "schedules",
        {"200": ("the schedules", _json("ScheduleList")), **ERRORS},
    ),
    Endpoint(
        "POST",
        "/schedules",
        create_schedule,
        "createSchedule",
        "Add a cadence (RRULE in the organisation's time zone)",
        "schedules",
        {"201": ("the new schedule", _json("Schedule")), **ERRORS},
        request_body={"required": True, "content": _json("ScheduleCreate")},
    ),
    Endpoint(
        "POST",
        "/schedules/{schedule_id}/pause",
        pause_schedule,
        "pauseSchedule",
        "Stop opening rounds",
        "schedules",
        {"200": ("the schedule", _json("Schedule")), **ERRORS},
        parameters=(SCHEDULE_ID,),
    ),
    Endpoint(
        "POST",
        "/schedules/{schedule_id}/resume",
        resume_schedule,
        "resumeSchedule",
        "Open rounds again from the next occurrence",
        "schedules",
        {"200": ("the schedule", _json("Schedule")), **ERRORS},
        parameters=(SCHEDULE_ID,),
    ),
    Endpoint(
        "DELETE",
        "/schedules/{schedule_id}",
        delete_schedule,
        "deleteSchedule",
        "Remove a schedule (its rounds stay)",
        "schedules",
        {"204": ("removed", {}), **ERRORS},
        parameters=(SCHEDULE_ID,),
    ),
    Endpoint(
        "GET",
        "/rounds",
        list_rounds,
        "listRounds",
        "Every round, newest first",
        "rounds",
        {"200": ("the rounds", _json("RoundList")), **ERRORS},
    ),
    Endpoint(
        "POST",
        "/rounds",
        open_round,
        "openRound",
        "Open a round now; invitations are sent in the background",
        "rounds",
        {"201": ("the new round", _json("Round")), **ERRORS, "409": ("conflict", _json("Error"))},
        request_body={"required": False, "content": _json("RoundCreate")},
    ),
    Endpoint(
        "GET",
        "/rounds/{round_id}",
        get_round,
        "getRound",
        "One round",
        "rounds",
        {"200": ("the round", _json("Round")), **ERRORS},
        parameters=(ROUND_ID,),
    ),
    Endpoint(
        "POST",
        "/rounds/{round_id}/remind",
        remind_round,
        "remindRound",
        "Remind people who have not answered (in the background)",
        "rounds",
        {"202": ("queued", _json("Queued")), **ERRORS},
        parameters=(ROUND_ID,),
    ),
    Endpoint(
        "POST",
        "/rounds/{round_id}/close",
        close_round,
        "closeRound",
        "Close the round; the report is built in the background",
        "rounds",
        {"200": ("the closed round", _json("Round")), **ERRORS},
        parameters=(ROUND_ID,),
    ),
    Endpoint(
        "GET",
        "/audit/directory",
        directory_audit,
        "getDirectoryAudit",
        "Who was added, moved or removed, when, in counts per department (never who)",
        "people",
        {"200": ("the directory audit", _json("DirectoryAudit")), **ERRORS},
    ),
    Endpoint(
        "GET",
        "/rounds/{round_id}/participation",
        round_participation,
        "getParticipation",
        "Invited and answered counts, within the disclosure rules (never who)",
        "rounds",
        {"200": ("participation", _json("Participation")), **ERRORS},
        parameters=(ROUND_ID,),
    ),
    Endpoint(
        "GET",
        "/rounds/{round_id}/report",
        report_json,
        "getReport",
        "The report model as JSON (see DESIGN.md)",
        "reports",
        {"200": ("the report", _json("Report")), **REPORT_ERRORS},
        parameters=(ROUND_ID,),
    ),
    Endpoint(
        "GET",
        "/rounds/{round_id}/report.csv",
        report_csv,
        "getReportCsv",
        "The report as CSV: one row per department and dimension",
        "reports",
        {"200": ("the report", {"text/csv": {"type": "string"}}), **REPORT_ERRORS},
        parameters=(ROUND_ID,),
    ),
    Endpoint(
        "GET",
        "/rounds/{round_id}/report.pdf",
        report_pdf,
        "getReportPdf",
        "The report as PDF",
        "reports",
        {"200": ("the report", {"application/pdf": {"type": "string", "format": "binary"}}), **REPORT_ERRORS},
        parameters=(ROUND_ID,),
    ),
)


def _route_path(endpoint: Endpoint) -> str:
    # Ids are integers in the URL; the converter answers 404 for anything else.
    return PREFIX + endpoint.path.replace("{round_id}", "{round_id:int}").replace("{schedule_id}", "{schedule_id:int}")


def _by_method(endpoints: Sequence[Endpoint]) -> Any:
    """One handler for every method of a path: one route per path, so a method the path lacks gets a
    405 whose Allow header names all the path's methods (one route per operation answered
    ``Allow: HEAD, GET`` for a path that also takes POST)."""
    handlers = {e.method: e.handler for e in endpoints}
    handlers.setdefault("HEAD", handlers.get("GET"))

    async def dispatch(request: Request) -> Response:
        handler = handlers[request.method]
        response: Response = await handler(request)
        return response

    return dispatch


def _routes() -> list[BaseRoute]:
    paths: dict[str, list[Endpoint]] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(endpoint.path, []).append(endpoint)
    return [
        Route(
            _route_path(found[0]),
            _by_method(found),
            methods=[e.method for e in found],
            name="api_" + "_".join(e.operation_id for e in found),
        )
        for found in paths.values()
    ]


routes: list[BaseRoute] = _routes()
