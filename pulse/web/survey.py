"""Routes: the survey page at the emailed link, its answers, and the thank-you page.

``GET /s/{token}`` shows the form; ``POST /s/{token}`` stores the answers and redirects (303) to
``/s/thanks``, which says nothing about anyone. There is no session and no cookie: the token in the
URL is the only credential, so there is nothing for cross-site request forgery to ride on, and the
form posts to its own URL. Unknown (404), used (409) and closed (410) links each get their own page
that reveals nothing about a person. Every page here is ``Cache-Control: no-store``; the referrer
policy and the content security policy are set for the whole app (``pulse.web.security``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pulse.domain.items import COMMENT_FIELD, COMMENT_MAX_LENGTH, ENPS_FIELD, ENPS_MAX, ENPS_MIN, HELP_FIELD
from pulse.errors import LinkAlreadyUsed, SurveyClosed, UnknownLink
from pulse.services import answers
from pulse.services.answers import HELP_NONE, AnswersRejected, Survey
from pulse.templating import environment
from pulse.web.survey_strings import SurveyStrings, strings_for

log = logging.getLogger("pulse.web.survey")

#: The largest answer body accepted: a full form with a maximal comment of 4-byte characters,
#: percent-encoded, stays well under this.
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 200
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class _TooLarge(Exception):
    pass


def _page(template: str, status: int, context: Mapping[str, Any]) -> HTMLResponse:
    html = environment().get_template(f"survey/{template}").render(context)
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


def _message(t: SurveyStrings, status: int, title: str, body: str) -> HTMLResponse:
    return _page("message.html", status, {"t": t, "title": title, "body": body})


def _refusal(t: SurveyStrings, error: Exception) -> HTMLResponse:
    if isinstance(error, UnknownLink):
        return _message(t, 404, t.unknown_title, t.unknown_body)
    if isinstance(error, LinkAlreadyUsed):
        return _message(t, 409, t.used_title, t.used_body)
    return _message(t, 410, t.closed_title, t.closed_body)


def _form_page(
    t: SurveyStrings,
    survey: Survey,
    *,
    status: int = 200,
    kept: Mapping[str, list[str]] | None = None,
    problems: Mapping[str, str] | None = None,
) -> HTMLResponse:
    items = [(item.key, t.item_texts.get(item.key, item.text)) for item in survey.items]
    labels = {key: t.question_of.format(n=n, total=len(items)) for n, (key, _) in enumerate(items, 1)}
    labels.update(
        {
            ENPS_FIELD: t.enps_question,
            HELP_FIELD: t.help_question,
            COMMENT_FIELD: t.comment_question,
            "form": t.problem_form,
        }
    )
    problem_list = [
        (name if name in labels and name != "form" else "", labels.get(name, name), text)
        for name, text in (problems or {}).items()
    ]
    return _page(
        "form.html",
        status,
        {
            "t": t,
            "survey": survey,
            "items": items,
            "kept": kept or {},
            "problems": problems or {},
            "problem_list": problem_list,
            "enps_values": list(range(ENPS_MIN, ENPS_MAX + 1)),
            "help_none": HELP_NONE,
            "comment_max": COMMENT_MAX_LENGTH,
            "k": survey.min_group_size,
            "comment_threshold": survey.comment_threshold,
        },
    )


async def _read_form(request: Request) -> dict[str, list[str]]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            raise _TooLarge
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in {"application/x-www-form-urlencoded", ""}:
        return {"form": [f"unsupported {content_type}"]}
    try:
        pairs = parse_qsl(
            body.decode("utf-8", errors="replace"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
            strict_parsing=False,
        )
    except ValueError:
        raise _TooLarge from None
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    return form


def _as_answers(form: Mapping[str, list[str]]) -> dict[str, str | list[str]]:
    # Only the help-network question takes several values; anything else given twice stays a list so
    # the validation can say so.
    return {name: values if name == HELP_FIELD or len(values) != 1 else values[0] for name, values in form.items()}


async def survey_page(request: Request) -> Response:
    """The form at the emailed link (GET), and its answers (POST)."""
    t = strings_for(request.headers.get("accept-language"))
    token = request.path_params["token"]
    if request.method != "POST":
        try:
            return _form_page(t, await answers.open_survey(token))
        except (UnknownLink, LinkAlreadyUsed, SurveyClosed) as error:
            return _refusal(t, error)
    try:
        form = await _read_form(request)
    except _TooLarge:
        return _message(t, 413, t.too_large_title, t.too_large_body)
    try:
        await answers.submit(token, _as_answers(form))
    except AnswersRejected as rejected:
        try:
            survey = await answers.open_survey(token)
        except (UnknownLink, LinkAlreadyUsed, SurveyClosed) as error:
            return _refusal(t, error)
        return _form_page(t, survey, status=422, kept=form, problems=rejected.problems)
    except (UnknownLink, LinkAlreadyUsed, SurveyClosed) as error:
        return _refusal(t, error)
    return RedirectResponse("/s/thanks", status_code=303, headers=NO_STORE)


async def thanks(request: Request) -> Response:
    """The same page for everyone: it shows nothing about who answered or what."""
    t = strings_for(request.headers.get("accept-language"))
    return _page("thanks.html", 200, {"t": t})


routes: list[BaseRoute] = [
    Route("/s/thanks", thanks, methods=["GET"], name="survey_thanks"),
    Route("/s/{token}", survey_page, methods=["GET", "POST"], name="survey"),
]
