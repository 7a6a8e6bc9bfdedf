"""The words of the survey pages, per language. Adding a language = adding one ``SurveyStrings``.

English is the reference and the fallback. The item statements come from the engine's item bank
(``pulse.domain.items``); a language can override them by key in ``item_texts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pulse.domain.items import COMMENT_QUESTION, ENPS_QUESTION, HELP_QUESTION, SCALE_LABELS

DEFAULT_LOCALE = "en"


@dataclass(frozen=True)
class SurveyStrings:
    locale: str
    page_title: str
    intro: str
    minutes_note: str
    anonymity_title: str
    anonymity_short: str
    anonymity_more: str
    #: Shown in the "more" part; ``{k}`` and ``{comment_threshold}`` are filled in.
    anonymity_points: tuple[str, ...]
    scale_labels: tuple[str, str, str, str, str]
    question_of: str
    statements_title: str
    statements_hint: str
    optional_title: str
    enps_question: str
    enps_low: str
    enps_high: str
    enps_skip: str
    help_question: str
    help_none: str
    comment_question: str
    comment_hint: str
    submit: str
    closes: str
    problems_title: str
    problem_form: str
    thanks_title: str
    thanks_body: str
    thanks_close: str
    unknown_title: str
    unknown_body: str
    used_title: str
    used_body: str
    closed_title: str
    closed_body: str
    too_large_title: str
    too_large_body: str
    item_texts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


ENGLISH = SurveyStrings(
    locale="en",
    page_title="Pulse survey",
    intro="A few statements about working here. Answer how things really are for you, not how they should be.",
    minutes_note="About two minutes. Every question is optional.",
    anonymity_title="Your answers are anonymous",
    anonymity_short=(
        "Your answers are saved without your name, your email address or this link, and nothing connects "
        "them to you. Results are shown only for groups of at least {k} people."
    ),
    anonymity_more="What exactly is stored",
    anonymity_points=(
        "Stored: your answers, your department as it was when you were invited, and which survey round this is.",
        "Not stored with your answers: your name, your email address, this link, your IP address, your "
        "browser, or the time you answered.",
        "We only record that this link was used, so it cannot be used twice and you get no reminder. That "
        "record cannot be matched to your answers.",
        "Leaders see results only for groups of at least {k} people, never one person's answers.",
        "Comments are shown only after the round closes, only for groups of at least {comment_threshold} "
        "people, with names, email addresses and phone numbers removed. Please do not write anything that "
        "identifies you if you do not want to be recognised.",
    ),
    scale_labels=SCALE_LABELS,
    question_of="Statement {n} of {total}",
    statements_title="How much do you agree?",
    statements_hint="1 = strongly disagree, 5 = strongly agree.",
    optional_title="Three optional questions",
    enps_question=ENPS_QUESTION,
    enps_low="not at all likely",
    enps_high="extremely likely",
    enps_skip="No answer",
    help_question=HELP_QUESTION,
    help_none="None of them",
    comment_question=COMMENT_QUESTION,
    comment_hint="Up to {limit} characters.",
    submit="Send my answers",
    closes="This survey closes on {closes_at}.",
    problems_title="Please check your answers",
    problem_form="The form",
    thanks_title="Thank you",
    thanks_body=(
        "Your answers were saved anonymously. They will be counted with your colleagues' answers when the round closes."
    ),
    thanks_close="You can close this page now.",
    unknown_title="We do not know this link",
    unknown_body=(
        "This survey link is not known. Please check that the whole link was copied from the email. If it "
        "still does not work, the survey may have been replaced by a newer one."
    ),
    used_title="This link has already been used",
    used_body=(
        "Answers were already sent with this link. Each link works once, so every answer counts once. "
        "Thank you for taking part."
    ),
    closed_title="This survey has closed",
    closed_body="This survey round has closed and no longer takes answers. Thank you for your interest.",
    too_large_title="That was too much text",
    too_large_body="The answers sent were larger than this survey accepts. Please go back and shorten the comment.",
)

LANGUAGES: Mapping[str, SurveyStrings] = MappingProxyType({ENGLISH.locale: ENGLISH})


def strings_for(accept_language: str | None) -> SurveyStrings:
    """The best available language for an ``Accept-Language`` header; English otherwise."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        for candidate in (tag, tag.split("-")[0]):
            if candidate in LANGUAGES:
                return LANGUAGES[candidate]
    return LANGUAGES[DEFAULT_LOCALE]
