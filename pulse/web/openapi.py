"""The OpenAPI 3.1 schema of /api/v1, built from the endpoint declarations in ``pulse.web.api``.

Paths, methods, parameters and response codes come from the same ``Endpoint`` objects the routes are
made from; the component schemas below describe the JSON the handlers write (the API tests validate
real responses against them).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pulse.errors import MAX_LISTED_PROBLEMS
from pulse.web.api import ENDPOINTS, LOCAL_DATETIME_PATTERN, PREFIX, Endpoint

NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}
NULLABLE_INT: dict[str, Any] = {"type": ["integer", "null"]}
NULLABLE_RATE: dict[str, Any] = {"type": ["number", "null"], "minimum": 0, "maximum": 1}


def _object(properties: dict[str, Any], *, required: list[str] | None = None, closed: bool = True) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": not closed,
    }


COMPONENTS: dict[str, Any] = {
    "Error": _object(
        {
            "error": _object(
                {
                    "code": {"type": "string", "description": "stable, machine-readable"},
                    "message": {"type": "string"},
                    "problems": {
                        "type": "array",
                        "items": {"type": "string"},
                        "maxItems": MAX_LISTED_PROBLEMS,
                        "description": f"one line per bad row, the first {MAX_LISTED_PROBLEMS}",
                    },
                    "more_problems": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "how many problems there were beyond those listed",
                    },
                },
                required=["code", "message"],
            )
        }
    ),
    "Organization": _object(
        {
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "timezone": {"type": "string"},
            "min_group_size": {"type": "integer", "minimum": 3},
        }
    ),
    "ImportSummary": _object(
        {
            name: {"type": "integer", "minimum": 0}
            for name in ("created", "updated", "unchanged", "deactivated", "reactivated", "departments_created")
        }
    ),
    "Person": _object(
        {
            "email": {"type": "string"},
            "name": {"type": "string"},
            "department": {"type": "string"},
            "role": {"type": "string", "enum": ["employee", "manager", "leader", "hr"]},
            "locale": {"type": "string"},
            "manager_email": NULLABLE_STRING,
            "active": {"type": "boolean"},
        }
    ),
    "PeoplePage": _object(
        {
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "pages": {"type": "integer", "minimum": 1},
            "people": {"type": "array", "items": {"$ref": "#/components/schemas/Person"}},
        }
    ),
    "Schedule": _object(
        {
            "id": {"type": "integer"},
            "rrule": {"type": "string"},
            "start": {"type": "string", "description": "local wall-clock start of the recurrence"},
            "timezone": {"type": "string"},
            "open_days": {"type": "integer", "minimum": 1},
            "remind_after_days": NULLABLE_INT,
            "departments": {"type": ["array", "null"], "items": {"type": "string"}},
            "active": {"type": "boolean"},
            "next_run_at": {"type": ["string", "null"], "format": "date-time"},
            "next_run_local": NULLABLE_STRING,
        }
    ),
    "ScheduleList": _object({"schedules": {"type": "array", "items": {"$ref": "#/components/schemas/Schedule"}}}),
    "ScheduleCreate": _object(
        {
            "rrule": {"type": "string", "examples": ["FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9;BYMINUTE=0"]},
            "start": {
                "type": ["string", "null"],
                "pattern": LOCAL_DATETIME_PATTERN,
                "description": "local date (2000-2099) and time, e.g. 2026-03-02T09:00 (null or absent: today 09:00)",
            },
            "open_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 90, "description": "null: 7"},
            "remind_after_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 90},
            "departments": {"type": ["array", "null"], "items": {"type": "string"}},
        },
        required=["rrule"],
    ),
    "Round": _object(
        {
            "id": {"type": "integer"},
            "number": {"type": "integer", "minimum": 1},
            "status": {"type": "string", "enum": ["open", "closed"]},
            "opened_at": {"type": "string", "format": "date-time"},
            "closes_at": {"type": "string", "format": "date-time"},
            "remind_at": {"type": ["string", "null"], "format": "date-time"},
            "reminded_at": {"type": ["string", "null"], "format": "date-time"},
            "closed_at": {"type": ["string", "null"], "format": "date-time"},
            "schedule_id": NULLABLE_INT,
            "item_count": {"type": "integer", "minimum": 0},
        }
    ),
    "RoundList": _object({"rounds": {"type": "array", "items": {"$ref": "#/components/schemas/Round"}}}),
    "RoundCreate": _object(
        {
            "closes_in_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 90, "description": "null: 7"},
            "remind_after_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 90},
            "departments": {"type": ["array", "null"], "items": {"type": "string"}},
        },
        required=[],
    ),
    "Queued": _object({"round_id": {"type": "integer"}, "queued": {"type": "boolean"}}),
    "Participation": _object(
        {
            "round_id": {"type": "integer"},
            "number": {"type": "integer"},
            "status": {"type": "string", "enum": ["open", "closed"]},
            "opened_at": {"type": "string"},
            "closes_at": {"type": "string"},
            "closed_at": NULLABLE_STRING,
            "min_group_size": {"type": "integer", "minimum": 3},
            "coarse": {
                "type": "boolean",
                "description": "open round: an hourly snapshot, counts rounded down to a multiple of k",
            },
            "snapshot_at": NULLABLE_STRING,
            "invited": NULLABLE_INT,
            "responded": NULLABLE_INT,
            "responded_band": {"type": ["string", "null"], "description": "'fewer than k', 'at least N', or N"},
            "rate": NULLABLE_RATE,
            "departments": {
                "type": "array",
                "description": "only departments the disclosure rules allow",
                "items": _object(
                    {
                        "name": {"type": "string"},
                        "invited": {"type": "integer"},
                        "responded": {"type": "integer"},
                        "responded_band": {"type": "string"},
                        "rate": NULLABLE_RATE,
                    }
                ),
            },
            "departments_hidden": {"type": "integer", "minimum": 0},
        }
    ),
    "DirectoryAudit": _object(
        {
            "quarantine_days": {"type": "integer", "minimum": 14},
            "newcomers": {
                "type": "object",
                "description": "department -> active people who joined or moved within the quarantine",
                "additionalProperties": {"type": "integer"},
            },
            "events": {
                "type": "array",
                "description": "directory changes, newest first, in counts per department (never who)",
                "items": _object(
                    {
                        "at": {"type": "string"},
                        "actor": {"type": "string"},
                        "action": {"type": "string"},
                        "departments": {
                            "type": "object",
                            "description": "added, moved_in, moved_out, reactivated, removed -> department -> count",
                            "additionalProperties": {"type": "object", "additionalProperties": {"type": "integer"}},
                        },
                        "summary": {"type": "object"},
                    }
                ),
            },
        }
    ),
    "ScoreCell": _object(
        {
            # Released precision: points on the 0-100 scale are whole numbers (DESIGN, anonymity rule 6).
            "mean": {"type": "integer", "minimum": 0, "maximum": 100},
            "ci_low": {"type": "integer"},
            "ci_high": {"type": "integer"},
            "n": {"type": "integer", "minimum": 0},
            "difference_from_rest": {"type": ["integer", "null"]},
            "flag": {"type": ["string", "null"]},
        },
        closed=False,
    ),
    "Report": _object(
        {
            "participation": _object({"invited": NULLABLE_INT, "responded": NULLABLE_INT, "rate": NULLABLE_RATE}),
            "min_group_size": {"type": "integer", "minimum": 3},
            "dimensions": {
                "type": "array",
                "items": _object(
                    {"key": {"type": "string"}, "label": {"type": "string"}, "higher_is_better": {"type": "boolean"}},
                    closed=False,
                ),
            },
            "organization": {"type": "object"},
            "departments": {
                "type": "array",
                "items": _object(
                    {
                        "name": {"type": "string"},
                        "invited": NULLABLE_INT,
                        "responded": NULLABLE_INT,
                        "suppressed": {"type": "boolean"},
                        "scores": {
                            "type": "object",
                            "additionalProperties": {"$ref": "#/components/schemas/ScoreCell"},
                        },
                        "flags": {"type": "array", "items": {"type": "string"}},
                        "silo_index": {"type": ["number", "null"]},
                    },
                    closed=False,
                ),
            },
        },
        closed=False,
    ),
}


def _response(description: str, media: Any) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if media:
        response["content"] = {media_type: {"schema": schema} for media_type, schema in media.items()}
    return response


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "responses": {
            status: {
                "description": description,
                **({"content": {t: {"schema": s} for t, s in media.items()}} if media else {}),
            }
            for status, (description, media) in endpoint.responses.items()
        },
    }
    if endpoint.parameters:
        operation["parameters"] = [dict(p) for p in endpoint.parameters]
    if endpoint.request_body is not None:
        body = dict(endpoint.request_body)
        body["content"] = {
            media: (schema if "schema" in schema else {"schema": schema}) for media, schema in body["content"].items()
        }
        operation["requestBody"] = body
    if endpoint.public:
        operation["security"] = []
    return operation


@cache
def schema() -> dict[str, Any]:
    """The OpenAPI 3.1 document served at /api/v1/openapi.json."""
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(PREFIX + endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pulse API",
            "version": "1",
            "description": (
                "Anonymous pulse surveys: people, schedules, rounds, participation and reports of the organisation "
                "an API key belongs to. Every figure passes the same disclosure control as the reports; no "
                "endpoint says who answered."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": COMPONENTS,
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "an API key made on the API keys page"}
            },
        },
    }
