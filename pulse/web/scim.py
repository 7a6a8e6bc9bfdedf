"""SCIM 2.0 at /scim/v2 (RFC 7643/7644): Users, and the discovery endpoints that describe them.

Payloads are read and written with scim2-models. The User schema Pulse publishes holds exactly what it
keeps (userName, displayName, emails, active, externalId, and the enterprise extension's department),
so a client, or a conformance tool, finds every attribute it writes there again when it reads.
Attributes Pulse does not keep (name, phoneNumbers, preferredLanguage, manager…) are ignored on input:
identity providers send them whatever the server says. ``displayName`` falls back to ``name.formatted``
or given and family names; with several emails the primary one is the person's address.

Every answer is SCIM JSON (``application/scim+json``); every refusal a SCIM error with its status and
``scimType``: 400 invalidSyntax/invalidValue/invalidFilter/invalidPath, 401, 404, 409 uniqueness,
413, 501 for what Pulse does not do (bulk, root search). Nothing a client sends gives a 500.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from pydantic import ValidationError
from scim2_models import (
    URN,
    AnyExtension,
    CaseExact,
    ComplexAttribute,
    Context,
    Error,
    Extension,
    ListResponse,
    Meta,
    PatchOp,
    Required,
    Resource,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    ServiceProviderConfig,
    Uniqueness,
)
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pulse.errors import Conflict, NotAuthenticated, NotFound, PulseError
from pulse.models import Organization
from pulse.services import scim
from pulse.web.auth import limit_body, settings_of

log = logging.getLogger("pulse.web.scim")

MEDIA_TYPE = "application/scim+json"
PREFIX = "/scim/v2"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
DEFAULT_COUNT = 100

Handler = Callable[[Request], Awaitable[Response]]


# ---------------------------------------------------------------- the User resource Pulse keeps


class PulseEmail(ComplexAttribute):
    value: Annotated[str | None, Required.true] = None
    """The person's address (Pulse keeps one)."""


class PulseEnterpriseUser(Extension):
    __schema__ = URN(ENTERPRISE_SCHEMA)

    department: Annotated[str | None, Required.true] = None
    """The person's department: reports are by department, so Pulse needs one."""


class PulseUser(Resource[AnyExtension]):
    __schema__ = URN(USER_SCHEMA)

    user_name: Annotated[str | None, Uniqueness.server, Required.true, CaseExact.false] = None
    """What the client calls the person; unique in the organisation, compared without case."""

    display_name: Annotated[str | None, Required.true] = None
    """The person's name."""

    active: Annotated[bool | None, Required.true] = None
    """False: the person is deactivated (never invited) but kept. Pulse always has a value, so it is
    published as required; a client that leaves it out on a create or replace means true."""

    emails: Annotated[list[PulseEmail] | None, Required.true] = None
    """The person's address (one)."""


User = PulseUser[PulseEnterpriseUser]


def _user_resource_type() -> ResourceType:
    return ResourceType.model_validate(
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "description": "A person of the organisation's directory",
            "endpoint": "/Users",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": True}],
        }
    )


def _service_provider_config() -> ServiceProviderConfig:
    return ServiceProviderConfig.model_validate(
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": True},
            "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": True, "maxResults": scim.MAX_PAGE},
            "changePassword": {"supported": False},
            "sort": {"supported": False},
            "etag": {"supported": False},
            "authenticationSchemes": [
                {
                    "type": "oauthbearertoken",
                    "name": "Bearer token",
                    "description": "A token from `pulse scim token SLUG`, bound to one organisation",
                    "primary": True,
                }
            ],
        }
    )


# ---------------------------------------------------------------- responses


def scim_response(data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def scim_error(
    status: int, detail: str, scim_type: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    error = Error(status=status, scim_type=scim_type, detail=detail[:1000])
    return scim_response(error.model_dump(), status, headers)


def _validation_detail(error: ValidationError) -> str:
    parts = []
    for problem in error.errors()[:5]:
        where = ".".join(str(p) for p in problem.get("loc", ()) if not isinstance(p, int)) or "body"
        parts.append(f"{where}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts)


def _organization(request: Request) -> Organization:
    organization: Organization = request.state.organization
    return organization


def endpoint(handler: Handler, methods: tuple[str, ...] = ("GET",)) -> Handler:
    """Bearer token, body size limit, and every failure as a SCIM error (405 for other ``methods``)."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        challenge = {"WWW-Authenticate": 'Bearer realm="pulse-scim"'}
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer" or not presented.strip():
                raise NotAuthenticated("send a SCIM token: Authorization: Bearer <token>")
            token = await scim.authenticate_scim_token(presented)
        except NotAuthenticated as refused:
            return scim_error(401, str(refused), headers=challenge)
        if request.method not in methods:
            return scim_error(405, f"{request.method} is not allowed on {request.url.path[:200]}")
        request.state.organization = token.organization
        request.state.actor = f"scim:{token.prefix}"
        try:
            await limit_body(request)
            return await handler(request)
        except HTTPException as refused:
            detail = refused.detail if isinstance(refused.detail, str) else "request refused"
            return scim_error(refused.status_code, detail, "tooMany" if refused.status_code == 413 else None)
        except SCIMException as refused:
            return scim_response(refused.to_error().model_dump(), int(refused.status))
        except ValidationError as refused:
            return scim_error(400, _validation_detail(refused), "invalidValue")
        except Conflict as refused:
            return scim_error(409, str(refused), "uniqueness")
        except NotFound as refused:
            return scim_error(404, str(refused))
        except PulseError as refused:
            return scim_error(
                400, str(refused), "invalidSyntax" if isinstance(refused, InvalidSyntax) else "invalidValue"
            )
        except Exception:
            # A bug: logged with its traceback, answered as a SCIM error so the client can read it.
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return scim_error(500, "Something went wrong on our side. Nothing was saved.")

    return wrapped


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise InvalidSyntax("the body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidSyntax("the body is not a JSON object")
    return body


class InvalidSyntax(PulseError):
    code = "invalidSyntax"


def _response_parameters(request: Request) -> ResponseParameters[Any] | None:
    attributes = request.query_params.get("attributes")
    excluded = request.query_params.get("excludedAttributes")
    if not attributes and not excluded:
        return None
    raw: dict[str, Any] = {}
    if attributes:
        raw["attributes"] = [a.strip() for a in attributes.split(",") if a.strip()]
    if excluded:
        raw["excludedAttributes"] = [a.strip() for a in excluded.split(",") if a.strip()]
    parameters: ResponseParameters[Any] = ResponseParameters[User].model_validate(raw)
    return parameters


def _to_resource(request: Request, person: scim.ScimPerson) -> Any:
    location = f"{settings_of(request).base_url}{PREFIX}/Users/{person.id}"
    user = User(
        id=str(person.id),
        external_id=person.external_id,
        user_name=person.user_name,
        display_name=person.display_name,
        active=person.active,
        emails=[PulseEmail(value=person.email)],
        meta=Meta(resource_type="User", created=person.created_at, last_modified=person.updated_at, location=location),
    )
    user[PulseEnterpriseUser] = PulseEnterpriseUser(department=person.department)
    return user


def _dump(request: Request, person: scim.ScimPerson, context: Context) -> dict[str, Any]:
    data: dict[str, Any] = _to_resource(request, person).model_dump(
        scim_ctx=context, response_parameters=_response_parameters(request)
    )
    return data


# ---------------------------------------------------------------- reading what clients send


def _display_name(raw: dict[str, Any]) -> str | None:
    name = raw.get("name")
    if isinstance(name, dict):
        formatted = name.get("formatted")
        if isinstance(formatted, str) and formatted.strip():
            return formatted
        parts = [name.get(k) for k in ("givenName", "familyName")]
        joined = " ".join(p for p in parts if isinstance(p, str) and p.strip())
        if joined:
            return joined
    return None


def _known_attributes(raw: dict[str, Any]) -> dict[str, Any]:
    """Keep what Pulse's User schema holds; pick the primary (or first) email; derive displayName."""
    kept: dict[str, Any] = {
        k: raw[k] for k in ("schemas", "id", "externalId", "userName", "displayName", "active") if k in raw
    }
    lowered = {k.lower(): k for k in raw}
    for key in ("externalid", "username", "displayname", "active"):
        original = lowered.get(key)
        if original is not None and original not in kept:
            kept[{"externalid": "externalId", "username": "userName", "displayname": "displayName"}.get(key, key)] = (
                raw[original]
            )
    if "displayName" not in kept and (fallback := _display_name(raw)) is not None:
        kept["displayName"] = fallback
    emails = raw.get("emails")
    if isinstance(emails, list) and emails:
        entries = [e for e in emails if isinstance(e, dict)]
        chosen = next((e for e in entries if e.get("primary") is True), entries[0] if entries else None)
        kept["emails"] = [{"value": chosen.get("value")}] if chosen is not None else emails
    elif emails is not None:
        kept["emails"] = emails
    extension = raw.get(ENTERPRISE_SCHEMA)
    if isinstance(extension, dict):
        kept[ENTERPRISE_SCHEMA] = {"department": extension["department"]} if "department" in extension else {}
    elif extension is not None:
        kept[ENTERPRISE_SCHEMA] = extension
    if isinstance(kept.get("schemas"), list):
        kept["schemas"] = [s for s in kept["schemas"] if s in (USER_SCHEMA, ENTERPRISE_SCHEMA)] or [USER_SCHEMA]
    return kept


def _user_data(user: Any) -> scim.UserData:
    extension = user[PulseEnterpriseUser]
    department = extension.department if extension is not None else None
    emails = user.emails or []
    return scim.UserData(
        user_name=str(user.user_name or ""),
        display_name=str(user.display_name or ""),
        email=str(emails[0].value) if emails and emails[0].value else None,
        department=str(department or ""),
        external_id=user.external_id,
        active=user.active is not False,
    )


def _parse_user(body: dict[str, Any], context: Context) -> Any:
    if USER_SCHEMA not in (body.get("schemas") or []):
        raise InvalidSyntax(f"the body's schemas must include {USER_SCHEMA}")
    return User.model_validate({"active": True, **_known_attributes(body)}, scim_ctx=context)


FILTER = re.compile(r'^\s*(userName)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


def _page_number(request: Request, name: str, default: int, minimum: int) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        # Bounded: an index beyond any database integer must not reach SQL.
        return min(max(minimum, int(text)), 2**31 - 1)
    except ValueError:
        raise InvalidValueParameter(f"{name} {text[:40]!r} is not a whole number") from None


class InvalidValueParameter(PulseError):
    code = "invalidValue"


# ---------------------------------------------------------------- endpoints


async def users(request: Request) -> Response:
    """GET /Users (list, filter, pages); POST /Users (create)."""
    organization = _organization(request)
    if request.method == "POST":
        user = _parse_user(await _json_body(request), Context.RESOURCE_CREATION_REQUEST)
        person = await scim.create_user(organization, _user_data(user), actor=request.state.actor)
        location = f"{settings_of(request).base_url}{PREFIX}/Users/{person.id}"
        return scim_response(_dump(request, person, Context.RESOURCE_CREATION_RESPONSE), 201, {"Location": location})
    user_name: str | None = None
    expression = request.query_params.get("filter")
    if expression is not None:
        match = FILTER.match(expression)
        if match is None:
            return scim_error(
                400, f'unsupported filter {expression[:200]!r}: Pulse filters on userName eq "…"', "invalidFilter"
            )
        user_name = json.loads(f'"{match.group(2)}"')
    start_index = _page_number(request, "startIndex", 1, 1)
    count = min(_page_number(request, "count", DEFAULT_COUNT, 0), scim.MAX_PAGE)
    total, found = await scim.list_users(organization, user_name=user_name, start_index=start_index, count=count)
    resources = [_to_resource(request, person) for person in found]
    listing = ListResponse[User](
        total_results=total, start_index=start_index, items_per_page=len(resources), resources=resources or None
    )
    return scim_response(
        listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=_response_parameters(request))
    )


async def user(request: Request) -> Response:
    """GET, PUT, PATCH, DELETE /Users/{id}."""
    organization = _organization(request)
    user_id = request.path_params["user_id"]
    actor = request.state.actor
    if request.method == "GET":
        return scim_response(
            _dump(request, await scim.get_user(organization, user_id), Context.RESOURCE_QUERY_RESPONSE)
        )
    if request.method == "DELETE":
        await scim.erase_user(organization, user_id, actor=actor)
        return Response(status_code=204)
    if request.method == "PUT":
        await scim.get_user(organization, user_id)  # 404 before the body is judged
        replacement = _parse_user(await _json_body(request), Context.RESOURCE_REPLACEMENT_REQUEST)
        person = await scim.replace_user(organization, user_id, _user_data(replacement), actor=actor)
        return scim_response(_dump(request, person, Context.RESOURCE_REPLACEMENT_RESPONSE))
    current = await scim.get_user(organization, user_id)
    sent = await _json_body(request)
    body = _known_operations(sent)
    if body.get("Operations") == [] and sent.get("Operations"):
        # Every operation was about attributes Pulse does not keep: nothing changes.
        return scim_response(_dump(request, current, Context.RESOURCE_PATCH_RESPONSE))
    patch = PatchOp[User].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    resource = _to_resource(request, current)
    if patch.patch(resource):
        current = await scim.replace_user(organization, user_id, _user_data(resource), actor=actor)
    return scim_response(_dump(request, current, Context.RESOURCE_PATCH_RESPONSE))


KNOWN_PATHS = re.compile(
    rf"^(?:(?:{re.escape(USER_SCHEMA)}:)?(?:userName|displayName|active|emails|externalId)\b|"
    rf"{re.escape(ENTERPRISE_SCHEMA)}(?::department)?$)",
    re.IGNORECASE,
)


EMAIL_VALUE_PATH = re.compile(r"^emails\[[^\]]*\]\.value$", re.IGNORECASE)


def _known_operations(body: dict[str, Any]) -> dict[str, Any]:
    """Drop operations on attributes Pulse does not keep (identity providers send them regardless);
    a path-less value keeps only the attributes Pulse keeps. An empty list means nothing is left."""
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return body
    kept: list[Any] = []
    for operation in operations:
        if not isinstance(operation, dict):
            kept.append(operation)
            continue
        path = operation.get("path")
        if isinstance(path, str) and EMAIL_VALUE_PATH.match(path.strip()):
            # Entra ID writes the address as emails[type eq "work"].value: Pulse keeps one address.
            operation = {**operation, "path": "emails", "value": [{"value": operation.get("value")}]}
            path = "emails"
        if isinstance(path, str) and path.strip() and not KNOWN_PATHS.match(path.strip()):
            continue
        if path is None and isinstance(operation.get("value"), dict):
            value = _known_attributes({**operation["value"], "schemas": [USER_SCHEMA]})
            value.pop("schemas", None)
            if not value:
                continue
            operation = {**operation, "value": value}
        kept.append(operation)
    return {**body, "Operations": kept}


async def service_provider_config(request: Request) -> Response:
    config = _service_provider_config()
    config.meta = Meta(
        resource_type="ServiceProviderConfig", location=f"{settings_of(request).base_url}{PREFIX}/ServiceProviderConfig"
    )
    return scim_response(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _schemas(request: Request) -> list[Schema]:
    base = f"{settings_of(request).base_url}{PREFIX}/Schemas/"
    found = []
    described = (
        (PulseUser.to_schema(), "User", "A person of the directory: what Pulse keeps of a SCIM user"),
        (PulseEnterpriseUser.to_schema(), "EnterpriseUser", "The person's department"),
    )
    for schema, name, description in described:
        schema.name, schema.description = name, description
        schema.meta = Meta(resource_type="Schema", location=base + str(schema.id))
        found.append(schema)
    return found


async def schemas(request: Request) -> Response:
    wanted = request.path_params.get("schema_id")
    found = _schemas(request)
    if wanted is not None:
        for schema in found:
            if schema.id == wanted:
                return scim_response(schema.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
        raise NotFound(f"no schema {wanted[:200]!r}")
    listing = ListResponse[Schema](total_results=len(found), start_index=1, items_per_page=len(found), resources=found)
    return scim_response(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE))


async def resource_types(request: Request) -> Response:
    resource_type = _user_resource_type()
    resource_type.meta = Meta(
        resource_type="ResourceType", location=f"{settings_of(request).base_url}{PREFIX}/ResourceTypes/User"
    )
    wanted = request.path_params.get("type_id")
    if wanted is not None:
        if wanted != "User":
            raise NotFound(f"no resource type {wanted[:200]!r}")
        return scim_response(resource_type.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    listing = ListResponse[ResourceType](total_results=1, start_index=1, items_per_page=1, resources=[resource_type])
    return scim_response(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE))


async def not_implemented(request: Request) -> Response:
    return scim_error(501, f"{request.method} {request.url.path} is not supported by Pulse (no bulk, no root search)")


async def unknown(request: Request) -> Response:
    return scim_error(404, f"no SCIM endpoint at {request.url.path[:200]}")


ALL = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _route(path: str, handler: Handler, *methods: str) -> Route:
    """Every method reaches the handler, so one not allowed gets a SCIM 405 (not the catch-all's 404)."""
    return Route(PREFIX + path, endpoint(handler, methods or ("GET",)), methods=ALL)


routes: list[BaseRoute] = [
    _route("/Users", users, "GET", "POST"),
    _route("/Users/.search", not_implemented, *ALL),
    _route("/Users/{user_id}", user, "GET", "PUT", "PATCH", "DELETE"),
    _route("/ServiceProviderConfig", service_provider_config),
    _route("/Schemas", schemas),
    _route("/Schemas/{schema_id}", schemas),
    _route("/ResourceTypes", resource_types),
    _route("/ResourceTypes/{type_id}", resource_types),
    _route("/.search", not_implemented, *ALL),
    _route("/Bulk", not_implemented, *ALL),
    _route("/{rest:path}", unknown, *ALL),
]
