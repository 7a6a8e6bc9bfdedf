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

from pulse import i18n
from pulse.domain.items import (
    COMMENT_FIELD,
    COMMENT_MAX_LENGTH,
    COMMENT_QUESTION,
    ENPS_FIELD,
    ENPS_MAX,
    ENPS_MIN,
    ENPS_QUESTION,
    HELP_FIELD,
    HELP_QUESTION,
    SCALE_LABELS,
)
from pulse.errors import LinkAlreadyUsed, SurveyClosed, UnknownLink
from pulse.i18n import N_
from pulse.i18n import gettext as _
from pulse.services import answers
from pulse.services.answers import HELP_NONE, AnswersRejected, Survey
from pulse.templating import environment

log = logging.getLogger("pulse.web.survey")

#: The largest answer body accepted: a full form with a maximal comment of 4-byte characters,
#: percent-encoded, stays well under this.
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 200
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


UNKNOWN_TITLE = N_("We do not know this link")
UNKNOWN_BODY = N_(
    "This survey link is not known. Please check that the whole link was copied from the email. If it still does "
    "not work, the survey may have been replaced by a newer one."
)
USED_TITLE = N_("This link has already been used")
USED_BODY = N_(
    "Answers were already sent with this link. Each link works once, so every answer counts once. "
    "Thank you for taking part."
)
CLOSED_TITLE = N_("This survey has closed")
CLOSED_BODY = N_("This survey round has closed and no longer takes answers. Thank you for your interest.")
TOO_LARGE_TITLE = N_("That was too much text")
TOO_LARGE_BODY = N_("The answers sent were larger than this survey accepts. Please go back and shorten the comment.")


class _TooLarge(Exception):
    pass


def _page(request: Request, template: str, status: int, context: Mapping[str, Any], locale: str) -> HTMLResponse:
    """Render in ``locale``, with the language switch: links to this same URL with ``?lang=xx``.

    The switch is plain links (no JavaScript, no cookie): the choice lives in the URL the person is
    looking at and nowhere else, so the link keeps working and nothing about the person is stored.
    """
    with i18n.use(locale) as chosen:
        languages = [
            (code, i18n.language_name(code), i18n.html_lang(code), f"{request.url.path}?lang={code}")
            for code in i18n.available_locales()
        ]
        html = (
            environment()
            .get_template(f"survey/{template}")
            .render({**context, "lang": chosen, "languages": languages, "html_lang": i18n.html_lang(chosen)})
        )
        headers = {**NO_STORE, "Content-Language": i18n.html_lang(chosen)}
    return HTMLResponse(html, status_code=status, headers=headers)


def _message(request: Request, locale: str, status: int, title: str, body: str) -> HTMLResponse:
    # ``title`` and ``body`` are message ids, translated inside the page's language.
    return _page(request, "message.html", status, {"title": title, "body": body}, locale)


def _refusal(request: Request, locale: str, error: Exception) -> HTMLResponse:
    if isinstance(error, UnknownLink):
        return _message(request, locale, 404, UNKNOWN_TITLE, UNKNOWN_BODY)
    if isinstance(error, LinkAlreadyUsed):
        return _message(request, locale, 409, USED_TITLE, USED_BODY)
    return _message(request, locale, 410, CLOSED_TITLE, CLOSED_BODY)


def _form_page(
    request: Request,
    locale: str,
    survey: Survey,
    *,
    status: int = 200,
    kept: Mapping[str, list[str]] | None = None,
    problems: Mapping[str, str] | None = None,
) -> HTMLResponse:
    with i18n.use(locale):
        labels = {
            item.key: _("Statement %(n)d of %(total)d") % {"n": n, "total": len(survey.items)}
            for n, item in enumerate(survey.items, 1)
        }
        labels.update(
            {
                ENPS_FIELD: _(ENPS_QUESTION),
                HELP_FIELD: _(HELP_QUESTION),
                COMMENT_FIELD: _(COMMENT_QUESTION),
                "form": _("The form"),
            }
        )
    problem_list = [
        (name if name in labels and name != "form" else "", labels.get(name, name), text)
        for name, text in (problems or {}).items()
    ]
    return _page(
        request,
        "form.html",
        status,
        {
            "survey": survey,
            "items": [(item.key, item.text) for item in survey.items],
            "kept": kept or {},
            "problems": problems or {},
            "problem_list": problem_list,
            "enps_values": list(range(ENPS_MIN, ENPS_MAX + 1)),
            "help_none": HELP_NONE,
            "comment_max": COMMENT_MAX_LENGTH,
            "k": survey.min_group_size,
            "comment_threshold": survey.comment_threshold,
            "scale_labels": SCALE_LABELS,
            "enps_question": ENPS_QUESTION,
            "help_question": HELP_QUESTION,
            "comment_question": COMMENT_QUESTION,
            "enps_field": ENPS_FIELD,
            "help_field": HELP_FIELD,
            "comment_field": COMMENT_FIELD,
        },
        locale,
    )


def _asked_language(request: Request) -> str | None:
    """``?lang=xx`` when it names a language Pulse speaks (anything else is ignored, never an error)."""
    asked = request.query_params.get("lang", "")
    if asked and i18n.negotiate(asked) == asked:
        return asked
    return None


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
    """The form at the emailed link (GET), and its answers (POST).

    The language: ``?lang=`` (the switch), else the person's own language from the directory, else
    the browser's; the form posts to its own URL, so the switch's choice carries through.
    """
    asked = _asked_language(request)
    browser = request.headers.get("accept-language")
    token = request.path_params["token"]
    if request.method != "POST":
        try:
            survey = await answers.open_survey(token)
        except (UnknownLink, LinkAlreadyUsed, SurveyClosed) as error:
            return _refusal(request, i18n.negotiate(asked, browser), error)
        return _form_page(request, i18n.negotiate(asked, survey.locale, browser), survey)
    try:
        form = await _read_form(request)
    except _TooLarge:
        return _message(request, i18n.negotiate(asked, browser), 413, TOO_LARGE_TITLE, TOO_LARGE_BODY)
    try:
        # The page's language (the form posts back with ?lang=) feeds the per-language reliability sums.
        await answers.submit(token, _as_answers(form), language=asked)
    except AnswersRejected:
        try:
            survey = await answers.open_survey(token)
        except (UnknownLink, LinkAlreadyUsed, SurveyClosed) as error:
            return _refusal(request, i18n.negotiate(asked, browser), error)
        locale = i18n.negotiate(asked, survey.locale, browser)
        with i18n.use(locale):
            problems = _problems_in(form, survey)
        return _form_page(request, locale, survey, status=422, kept=form, problems=problems)
    except (UnknownLink, LinkAlreadyUsed, SurveyClosed) as error:
        return _refusal(request, i18n.negotiate(asked, browser), error)
    return RedirectResponse(f"/s/thanks?lang={asked}" if asked else "/s/thanks", status_code=303, headers=NO_STORE)


def _problems_in(form: Mapping[str, list[str]], survey: Survey) -> dict[str, str]:
    """The form's problems worded in the current language (the validation is pure and cheap to repeat)."""
    try:
        answers.parse_answers(
            _as_answers(form), [item.key for item in survey.items], [dept_id for dept_id, _ in survey.helper_choices]
        )
    except AnswersRejected as rejected:
        return rejected.problems
    return {}


async def thanks(request: Request) -> Response:
    """The same page for everyone: it shows nothing about who answered or what."""
    locale = i18n.negotiate(_asked_language(request), request.headers.get("accept-language"))
    return _page(request, "thanks.html", 200, {}, locale)


routes: list[BaseRoute] = [
    Route("/s/thanks", thanks, methods=["GET"], name="survey_thanks"),
    Route("/s/{token}", survey_page, methods=["GET", "POST"], name="survey"),
]
