"""Errors to responses, in one place: PulseError subclasses carry their status and stable code.

JSON under /api/, a friendly HTML page elsewhere; never a stack trace.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from pulse.errors import PulseError
from pulse.logs import redact_survey_path
from pulse.templating import environment

log = logging.getLogger("pulse.web")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(request: Request, status: int, code: str, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
    html = environment().get_template("error.html").render(status=status, message=message, code=code)
    return HTMLResponse(html, status_code=status)


async def pulse_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PulseError)
    return error_response(request, exc.status_code, exc.code, str(exc))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 401: "unauthenticated", 403: "forbidden"}
    message = exc.detail if isinstance(exc.detail, str) else "request refused"
    response = error_response(request, exc.status_code, codes.get(exc.status_code, "http_error"), message)
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
    return error_response(request, 500, "internal", "Something went wrong on our side. Nothing was saved.")


EXCEPTION_HANDLERS = {
    PulseError: pulse_error,
    HTTPException: http_error,
    ClientDisconnect: client_disconnect,
    Exception: server_error,
}
