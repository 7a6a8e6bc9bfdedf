"""Errors to responses, in one place: PulseError subclasses carry their status and stable code.

JSON under /api/, a friendly HTML page elsewhere; never a stack trace. Messages are in the reader's
language: a signed-in user's own (or their organisation's default), else the browser's
``Accept-Language``; API clients that send no ``Accept-Language`` read English. The ``code`` never changes.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from pulse import i18n
from pulse.errors import PulseError
from pulse.i18n import N_, Count
from pulse.logs import redact_survey_path
from pulse.templating import environment

log = logging.getLogger("pulse.web")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def reader_language(request: Request, *, ask_database: bool = True) -> str:
    """The language of an error: the signed-in user's, their organisation's default, the browser's."""
    user = getattr(request.state, "user", None)
    default = None
    if ask_database and not _wants_json(request):
        try:
            if user is None:
                # An address no page answers (404) never went through the sign-in check: ask the cookie.
                from pulse.web.auth import load_session, session_user

                user = await session_user(request, load_session(request))
            if user is not None and user.organization_id is not None and not user.locale:
                from pulse.models import Organization

                organization = await Organization.get_or_none(id=user.organization_id)
                default = getattr(organization, "locale", None)
        except Exception:
            log.debug("no reader language from the session", exc_info=True)
    return i18n.negotiate(getattr(user, "locale", None), default, request.headers.get("accept-language"))


def error_response(
    request: Request, status: int, code: str, message: str, locale: str = i18n.SOURCE_LOCALE
) -> Response:
    """``message`` may be a ``Text`` or a message id: it is said in ``locale``."""
    with i18n.use(locale) as chosen:
        if _wants_json(request):
            return JSONResponse(
                {"error": {"code": code, "message": i18n.localize(message)}},
                status_code=status,
                headers={"content-language": i18n.html_lang(chosen)},
            )
        html = environment().get_template("error.html").render(status=status, message=message, code=code)
    return HTMLResponse(html, status_code=status, headers={"content-language": i18n.html_lang(chosen)})


async def pulse_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PulseError)
    return error_response(request, exc.status_code, exc.code, exc.message, await reader_language(request))


#: Starlette's own refusals (no route, wrong method, body too large) carry English details.
HTTP_MESSAGES = {
    404: N_("Nothing is here: check the address."),
    405: N_("This address does not take that kind of request."),
    413: N_("What was sent is too large."),
}


#: Starlette's refusal of a form with more fields than the page allows (``pulse.web.auth.read_form``).
_TOO_MANY_FIELDS = re.compile(r"Too many fields\. Maximum number of fields is (\d+)\.")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 401: "unauthenticated", 403: "forbidden"}
    message = exc.detail if isinstance(exc.detail, str) else N_("Request refused.")
    code = codes.get(exc.status_code, "http_error")
    if message == HTTPStatus(exc.status_code).phrase and exc.status_code in HTTP_MESSAGES:
        message = HTTP_MESSAGES[exc.status_code]
    elif exc.status_code == 400 and (fields := _TOO_MANY_FIELDS.fullmatch(message)):
        code = "too_many_fields"
        message = N_(
            "The form sent more than %(limit)s fields, more than this page takes: nothing was saved. If you "
            "ticked many units, choose the whole organisation or fewer units.",
            limit=Count(int(fields[1])),
        )
    response = error_response(request, exc.status_code, code, message, await reader_language(request))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def client_disconnect(request: Request, exc: Exception) -> Response:
    """The client went away before sending its whole body (a closed tab, a dropped connection): an
    everyday event, not an error of ours. One quiet line, no traceback; nobody is left to answer."""
    log.info(
        "client disconnected before sending the whole request",
        extra={"method": request.method, "path": redact_survey_path(request.url.path)},
    )
    return Response(status_code=400)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, redact_survey_path(request.url.path))
    return error_response(
        request,
        500,
        "internal",
        N_("Something went wrong on our side. Nothing was saved."),
        await reader_language(request, ask_database=False),
    )


EXCEPTION_HANDLERS = {
    PulseError: pulse_error,
    HTTPException: http_error,
    ClientDisconnect: client_disconnect,
    Exception: server_error,
}
