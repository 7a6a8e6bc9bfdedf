"""Answering through a link: finding the survey behind a token, validating a form, storing it once.

Exactly once: the invitation is flipped to answered with a conditional UPDATE (``answered = false``
in the WHERE clause) and the anonymous response is inserted in the same transaction. When the
UPDATE touches no row, someone else used the link first: nothing is stored. On PostgreSQL the
transaction also holds a key-share lock on the round row, and closing a round locks that row FOR
UPDATE first, so a close waits for submissions in flight and no response lands after the round's
storage was shuffled. PostgreSQL takes a hand-written path (lookup, UPDATE, one INSERT statement for
the response, its answers and help marks) because it is the production database and the ORM's
per-query overhead would otherwise cap submissions well below the target rate.

The response row copies the department snapshot from the invitation and nothing else about it.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.transactions import in_transaction

from pulse import clock
from pulse.domain.help_choices import help_choices
from pulse.domain.items import (
    COMMENT_FIELD,
    COMMENT_MAX_LENGTH,
    ENPS_FIELD,
    ENPS_MAX,
    ENPS_MIN,
    HELP_FIELD,
    ITEM_BY_KEY,
    SCALE_MAX,
    SCALE_MIN,
    Item,
)
from pulse.domain.scoring import score_response
from pulse.errors import InvalidInput, LinkAlreadyUsed, SurveyClosed, UnknownLink
from pulse.i18n import gettext as _
from pulse.models import Answer, Department, HelpMark, Invitation, Organization, Person, Response, Round, RoundStatus
from pulse.services import language_reliability
from pulse.services.tokens import hash_token, hashes_match, looks_like_token
from pulse.services.units import load_units
from pulse.settings import get_settings

log = logging.getLogger("pulse.answers")

#: The value of the ``helped_by`` checkbox that answers "no other department helped me".
HELP_NONE = "none"
UNKNOWN_LINK_MESSAGE = "This survey link is not known. Please check that the whole link was copied from the email."
USED_LINK_MESSAGE = "This link has already been used to answer. Each link works once, so every answer counts once."
CLOSED_MESSAGE = "This survey round has closed, so it no longer takes answers."
# Control characters other than tab and newlines would only hide text (and NUL breaks PostgreSQL).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class AnswersRejected(InvalidInput):
    """The form had problems; ``problems`` maps a field name (or "form") to what was wrong."""

    code = "invalid_answers"

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{name}: {text}" for name, text in self.problems.items()))


@dataclass(frozen=True)
class Survey:
    """Everything the page at a link needs, and nothing about the person."""

    invitation_id: int
    round_id: int
    #: None for a newcomer in quarantine: their answers count in the organisation's figures only.
    department_id: int | None
    organization_name: str
    organization_timezone: str
    min_group_size: int
    comment_threshold: int
    items: tuple[Item, ...]
    #: The units the help-network question offers (id, name): the units beside this person's path in
    #: the tree (``pulse.domain.help_choices``), not every unit of the organisation.
    helper_choices: tuple[tuple[int, str], ...]
    closes_at: datetime
    #: The language of the emails this person gets (the page starts in it); a preference, not an identity.
    locale: str
    #: The department whose figures these answers join (None: the organisation's only), and how many
    #: other people of this round they are pooled with there, so a padded department shows.
    department_name: str | None = None
    pool: int = 0
    #: Every unit a help mark may name (any unit but one's own): a mark naming one that was not offered
    #: counts for the offered unit holding it (``pulse.domain.help_choices``), as on PostgreSQL.
    helper_ids: tuple[int, ...] = ()


@dataclass
class ParsedAnswers:
    values: dict[str, int] = field(default_factory=dict)
    enps: int | None = None
    helped_by: list[int] = field(default_factory=list)
    answered_network: bool = False
    comment: str | None = None

    @property
    def empty(self) -> bool:
        return not self.values and self.enps is None and not self.answered_network and not self.comment


async def _invitation_for(token: str) -> Invitation:
    secret_key = get_settings().secret_key
    if not looks_like_token(token):
        raise UnknownLink(UNKNOWN_LINK_MESSAGE)
    invitation = await Invitation.get_or_none(token_hash=hash_token(token, secret_key))
    if invitation is None or not hashes_match(invitation.token_hash, token, secret_key):
        raise UnknownLink(UNKNOWN_LINK_MESSAGE)
    return invitation


def _is_open(found: Round) -> bool:
    return found.status == RoundStatus.OPEN and found.closes_at > clock.now()


async def _locale_of(invitation: Invitation) -> str:
    if invitation.person_id is None:
        return ""
    found = await Person.filter(id=invitation.person_id).values_list("locale", flat=True)
    return str(found[0]) if found else ""


async def open_survey(token: str) -> Survey:
    """The survey behind ``token``. Raises UnknownLink, SurveyClosed or LinkAlreadyUsed, in that order."""
    invitation = await _invitation_for(token)
    found = await Round.get(id=invitation.round_id)
    if not _is_open(found):
        raise SurveyClosed(CLOSED_MESSAGE)
    if invitation.answered:
        raise LinkAlreadyUsed(USED_LINK_MESSAGE)
    organization = await Organization.get(id=found.organization_id)
    departments = await Department.filter(organization_id=organization.id).order_by("name").values_list("id", "name")
    department_name = None
    pool = 0
    if invitation.department_id is not None:
        department_name = next((str(n) for i, n in departments if i == invitation.department_id), None)
        pool = await Invitation.filter(round_id=found.id, department_id=invitation.department_id).count() - 1
    units = await load_units(organization.id)
    own = units.paths.get(invitation.department_id) if invitation.department_id is not None else None
    offered = help_choices(units.tree, own)
    return Survey(
        invitation_id=invitation.id,
        round_id=found.id,
        department_id=invitation.department_id,
        organization_name=organization.name,
        organization_timezone=organization.timezone,
        min_group_size=organization.min_group_size,
        comment_threshold=max(organization.comment_threshold, organization.min_group_size),
        items=tuple(ITEM_BY_KEY[key] for key in found.item_keys if key in ITEM_BY_KEY),
        helper_choices=tuple((units.ids[path], units.label(units.ids[path])) for path in offered if path in units.ids),
        closes_at=found.closes_at,
        locale=await _locale_of(invitation),
        department_name=department_name,
        pool=pool,
        helper_ids=tuple(int(dept_id) for dept_id, _ in departments if dept_id != invitation.department_id),
    )


def _single(name: str, raw: str | list[str], problems: dict[str, str]) -> str | None:
    if isinstance(raw, list):
        values = [v for v in raw if v != ""]
        if len(values) > 1:
            problems[name] = _("was answered more than once; choose one answer")
            return None
        return values[0].strip() if values else None
    return raw.strip() or None


def _integer(text: str, low: int, high: int) -> int | None:
    if not re.fullmatch(r"\d{1,3}", text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def parse_answers(
    form: Mapping[str, str | list[str]], item_keys: Sequence[str], helper_ids: Sequence[int]
) -> ParsedAnswers:
    """Validate a posted form against the round's items; AnswersRejected lists every problem."""
    problems: dict[str, str] = {}
    parsed = ParsedAnswers()
    asked = set(item_keys)
    allowed_helpers = set(helper_ids)
    for name, raw in form.items():
        if name in asked:
            text = _single(name, raw, problems)
            if text is None:
                continue
            value = _integer(text, SCALE_MIN, SCALE_MAX)
            if value is None:
                problems[name] = _("%(value)s is not an answer between %(low)d and %(high)d") % {
                    "value": repr(text[:20]),
                    "low": SCALE_MIN,
                    "high": SCALE_MAX,
                }
            else:
                parsed.values[name] = value
        elif name == ENPS_FIELD:
            text = _single(name, raw, problems)
            if text is None:
                continue
            value = _integer(text, ENPS_MIN, ENPS_MAX)
            if value is None:
                problems[name] = _("%(value)s is not a number between %(low)d and %(high)d") % {
                    "value": repr(text[:20]),
                    "low": ENPS_MIN,
                    "high": ENPS_MAX,
                }
            else:
                parsed.enps = value
        elif name == HELP_FIELD:
            chosen = raw if isinstance(raw, list) else [raw]
            ids: set[int] = set()
            none_chosen = False
            for text in (c.strip() for c in chosen):
                if text == HELP_NONE:
                    none_chosen = True
                elif text.isdigit() and int(text) in allowed_helpers:
                    ids.add(int(text))
                else:
                    problems[name] = _("%(value)s is not one of the departments listed") % {"value": repr(text[:20])}
            if none_chosen and ids:
                problems[name] = _("choose departments, or \u201cnone of them\u201d, not both")
            parsed.helped_by = sorted(ids)
            parsed.answered_network = none_chosen or bool(ids)
        elif name == COMMENT_FIELD:
            text = _single(name, raw, problems)
            if text is None:
                continue
            text = _CONTROL.sub("", text).strip()
            if len(text) > COMMENT_MAX_LENGTH:
                problems[name] = _("is %(length)d characters long; the limit is %(limit)d") % {
                    "length": len(text),
                    "limit": COMMENT_MAX_LENGTH,
                }
            elif text:
                parsed.comment = text
        elif name in ITEM_BY_KEY:
            problems[name] = _("is not a question of this survey")
        else:
            problems[name[:40]] = _("is not a field of this survey")
    if not problems and parsed.empty:
        problems["form"] = _("answer at least one question before sending")
    if problems:
        raise AnswersRejected(problems)
    return parsed


async def store(survey: Survey, parsed: ParsedAnswers, item_keys: Sequence[str], language: str | None = None) -> None:
    """Mark the invitation answered and insert the anonymous response: one transaction, exactly once.

    The portable (ORM) path, used on SQLite; PostgreSQL takes ``_submit_postgres``.
    """
    scores = score_response(parsed.values, item_keys)
    async with in_transaction() as connection:
        # SQLite runs one write transaction at a time, so this re-read cannot race with a close.
        if not _is_open(await Round.filter(id=survey.round_id).using_db(connection).get()):
            raise SurveyClosed(CLOSED_MESSAGE)
        updated = (
            await Invitation.filter(id=survey.invitation_id, answered=False).using_db(connection).update(answered=True)
        )
        if updated != 1:
            # Raising inside the block rolls the transaction back.
            raise LinkAlreadyUsed(USED_LINK_MESSAGE)
        response = await Response.create(
            id=uuid.uuid4(),
            round_id=survey.round_id,
            department_id=survey.department_id,
            score_fear=scores["fear"],
            score_initiative=scores["initiative"],
            score_consistency=scores["consistency"],
            score_collaboration=scores["collaboration"],
            enps=parsed.enps,
            answered_network=parsed.answered_network,
            comment=parsed.comment,
            using_db=connection,
        )
        if parsed.values:
            await Answer.bulk_create(
                [
                    Answer(
                        id=uuid.uuid4(),
                        response_id=response.id,
                        round_id=survey.round_id,
                        department_id=survey.department_id,
                        item_key=key,
                        value=value,
                    )
                    for key, value in parsed.values.items()
                ],
                using_db=connection,
            )
        await language_reliability.add(connection, survey.round_id, language, parsed.values, item_keys)
        if parsed.helped_by:
            await HelpMark.bulk_create(
                [
                    HelpMark(
                        id=uuid.uuid4(),
                        response_id=response.id,
                        round_id=survey.round_id,
                        department_id=survey.department_id,
                        helper_id=helper_id,
                    )
                    for helper_id in parsed.helped_by
                ],
                using_db=connection,
            )


# PostgreSQL: the whole submission in one transaction and four statements. The lookup locks the
# round row FOR KEY SHARE (the lock the foreign keys of the response take anyway), so closing the round,
# which locks it FOR UPDATE first, waits for submissions in flight and later ones see it closed.
_PG_LOOKUP = (
    'SELECT i."id", i."token_hash", i."answered", i."department_id", r."id" AS "round_id", r."status", '
    'r."closes_at", r."item_keys", r."organization_id" FROM "invitation" i JOIN "round" r ON r."id" = i."round_id" '
    'WHERE i."token_hash" = $1 FOR KEY SHARE OF r'
)
_PG_MARK = 'UPDATE "invitation" SET "answered" = true WHERE "id" = $1 AND "answered" = false'
_PG_HELPERS = 'SELECT "id" FROM "department" WHERE "organization_id" = $1 AND "id" IS DISTINCT FROM $2'
_PG_INSERT = """
WITH "r" AS (
  INSERT INTO "response" ("id", "round_id", "department_id", "score_fear", "score_initiative", "score_consistency",
                          "score_collaboration", "enps", "answered_network", "comment")
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
), "a" AS (
  INSERT INTO "answer" ("id", "response_id", "round_id", "department_id", "item_key", "value")
  SELECT "t"."id", $1, $2, $3, "t"."key", "t"."value"
  FROM unnest($11::uuid[], $12::text[], $13::smallint[]) AS "t"("id", "key", "value")
)
INSERT INTO "help_mark" ("id", "response_id", "round_id", "department_id", "helper_id")
SELECT "t"."id", $1, $2, $3, "t"."helper" FROM unnest($14::uuid[], $15::int[]) AS "t"("id", "helper")
"""


async def _submit_postgres(token: str, form: Mapping[str, str | list[str]], language: str | None = None) -> None:
    secret_key = get_settings().secret_key
    if not looks_like_token(token):
        raise UnknownLink(UNKNOWN_LINK_MESSAGE)
    async with in_transaction() as connection:
        _, rows = await connection.execute_query(_PG_LOOKUP, [hash_token(token, secret_key)])
        if not rows or not hashes_match(rows[0]["token_hash"], token, secret_key):
            raise UnknownLink(UNKNOWN_LINK_MESSAGE)
        row = rows[0]
        if row["status"] != RoundStatus.OPEN or row["closes_at"] <= clock.now():
            raise SurveyClosed(CLOSED_MESSAGE)
        if row["answered"]:
            raise LinkAlreadyUsed(USED_LINK_MESSAGE)
        item_keys = row["item_keys"]
        if isinstance(item_keys, str):
            item_keys = json.loads(item_keys)
        helper_ids: list[int] = []
        if form.get(HELP_FIELD):  # only then is the department list needed
            _, helpers = await connection.execute_query(_PG_HELPERS, [row["organization_id"], row["department_id"]])
            helper_ids = [int(helper["id"]) for helper in helpers]
        parsed = parse_answers(form, item_keys, helper_ids)
        updated, _ = await connection.execute_query(_PG_MARK, [row["id"]])
        if updated != 1:
            raise LinkAlreadyUsed(USED_LINK_MESSAGE)
        scores = score_response(parsed.values, item_keys)
        await connection.execute_query(
            _PG_INSERT,
            [
                uuid.uuid4(),
                row["round_id"],
                row["department_id"],
                scores["fear"],
                scores["initiative"],
                scores["consistency"],
                scores["collaboration"],
                parsed.enps,
                parsed.answered_network,
                parsed.comment,
                [uuid.uuid4() for _ in parsed.values],
                list(parsed.values),
                list(parsed.values.values()),
                [uuid.uuid4() for _ in parsed.helped_by],
                parsed.helped_by,
            ],
        )

        await language_reliability.add(connection, row["round_id"], language, parsed.values, item_keys)


async def submit(token: str, form: Mapping[str, str | list[str]], *, language: str | None = None) -> None:
    """Validate and store the answers posted through ``token``.

    Raises UnknownLink, SurveyClosed, LinkAlreadyUsed, or AnswersRejected (an InvalidInput) with every
    problem; on any of them nothing is stored and, for bad answers, the link stays usable.
    """
    if get_settings().is_postgres:
        await _submit_postgres(token, form, language)
        return
    survey = await open_survey(token)
    item_keys = [item.key for item in survey.items]
    parsed = parse_answers(form, item_keys, survey.helper_ids)
    await store(survey, parsed, item_keys, language)
