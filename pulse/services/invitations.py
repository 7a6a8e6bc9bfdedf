"""Sending invitations and reminders: batched, SMTP sessions reused per batch, never twice, never lost.

Each message is marked (``sent_at`` / ``reminded_at``) right after the server accepted it, so a crash
re-sends at most the messages that were in flight: one per SMTP session, and a run uses a few
sessions at once (``CONCURRENCY``) so that the server's round trips overlap. A transient failure
(server down, 4xx) stops the run and raises ``MailDeliveryError``; the job retries later with
backoff and picks up exactly the invitations still unsent. A permanent failure for one address
(5xx) is recorded on the invitation (``last_error``, ``send_attempts``) and that address is skipped.

Only this module (run by the worker) ever looks at which invitations are unanswered, to remind them.
"""

from __future__ import annotations

import asyncio
import binascii
import logging
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.utils import formataddr, make_msgid
from functools import cache
from typing import Any, cast

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from pulse import clock, i18n
from pulse.errors import PulseError
from pulse.mail import MailDeliveryError, Mailer
from pulse.models import Invitation, Organization, Round
from pulse.services.rounds import get_round
from pulse.services.rounds import is_open as rounds_is_open
from pulse.services.tokens import token_for
from pulse.settings import Settings
from pulse.templating import environment

log = logging.getLogger("pulse.invitations")

#: An address that was refused this many times (permanent errors) is not tried again.
MAX_SEND_ATTEMPTS = 3
ANSWER_MINUTES = 2
#: SMTP sessions used at once by one run: hides the server's round trips; each session has at most one
#: message in flight, so a crash re-sends at most this many.
CONCURRENCY = 4
MAX_CONCURRENCY = 32
ERROR_LENGTH = 500


@dataclass(frozen=True)
class SendResult:
    """What one run did. ``skipped`` says why nothing was attempted (closed round, already reminded)."""

    sent: int = 0
    failed: int = 0
    skipped: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"sent": self.sent, "failed": self.failed, "skipped": self.skipped}


def _check(batch_size: int, concurrency: int) -> None:
    if batch_size < 1:
        raise PulseError(f"batch size {batch_size} must be at least 1")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise PulseError(f"concurrency {concurrency} must be between 1 and {MAX_CONCURRENCY}")


def survey_link(settings: Settings, salt: str) -> str:
    return f"{settings.base_url}/s/{token_for(salt, settings.secret_key)}"


@cache
def local_time(moment: datetime, timezone: str, locale: str = i18n.SOURCE_LOCALE) -> str:
    """``Sunday, 29 November 2026, 17:00 (Europe/Paris)`` in ``locale``: what a person reads in the email."""
    with i18n.use(locale):
        return i18n.format_moment(moment, timezone, long=True)


def _is_open(found: Round) -> bool:
    return rounds_is_open(found)


async def _message_context(found: Round) -> dict[str, Any]:
    organization = await Organization.get(id=found.organization_id)
    return {
        "organization_name": organization.name,
        "closes_at_moment": (found.closes_at, organization.timezone),
        "minutes": ANSWER_MINUTES,
        "min_group_size": organization.min_group_size,
    }


def _body(text: str, subtype: str) -> Message:
    # Quoted-printable (readable in any mail source view, safe for any line length), encoded by
    # binascii in C rather than through email.charset, which costs more than rendering the template.
    part = Message()
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii"))
    return part


def bulk_message(
    template: str, *, to: str, to_name: str, locale: str, context: Mapping[str, Any], settings: Settings
) -> EmailMessage:
    """The email ``templates/emails/<template>.*`` in ``locale`` for one person, for bulk sending.

    Same templates, language choice and headers as ``pulse.mail.build_message``, but built with the
    classic (compat32) email API: for invitations, sent by the ten thousand, ``EmailMessage``'s header
    machinery cost about 2.5 ms of CPU per message (building, then flattening in the SMTP client)
    against under 1 ms here. The result is typed as the ``EmailMessage`` the mail sessions take; both
    sessions only serialise it, which works the same for the classic ``Message``.
    """
    env = environment()
    base = f"emails/{template}"
    with i18n.use(locale) as chosen:
        full = {"base_url": settings.base_url, "locale": chosen, **context}
        if "closes_at_moment" in full:
            full["closes_at"] = local_time(*full["closes_at_moment"], chosen)
        subject = " ".join(env.get_template(f"{base}.subject.txt").render(full).split())
        text = env.get_template(f"{base}.txt").render(full)
        html = env.get_template(f"{base}.html").render(full)
    # A random boundary given up front: the generator would otherwise compile a regex per message
    # to make one that does not occur in the text.
    message = MIMEMultipart("alternative", boundary=f"=_pulse_{uuid.uuid4().hex}")
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")  # type: ignore[assignment]
    message["From"] = settings.mail_from
    message["To"] = formataddr((to_name, to))
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rsplit("@", 1)[-1].strip("> "))
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = i18n.html_lang(chosen)
    message.attach(_body(text, "plain"))
    message.attach(_body(html, "html"))
    return cast(EmailMessage, message)


def _build(
    template: str, invitation: Invitation, context: Mapping[str, Any], settings: Settings
) -> EmailMessage | None:
    person = invitation.person
    if person is None:  # erased since the batch was read
        return None
    return bulk_message(
        template,
        to=person.email,
        to_name=person.name,
        locale=person.locale,
        settings=settings,
        context={**context, "name": person.name, "link": survey_link(settings, invitation.token_salt)},
    )


def _sql(connection: BaseDBAsyncClient, query: str) -> str:
    """``query`` written with ``?`` placeholders, in the connection's dialect."""
    if connection.capabilities.dialect != "postgres":
        return query
    parts = query.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))


# Plain SQL for the per-message bookkeeping: it runs once per email, and the ORM's query building
# would cost more CPU than rendering the email.
_MARK_SENT = (
    'UPDATE "invitation" SET "sent_at" = ?, "send_attempts" = "send_attempts" + 1, "last_error" = NULL WHERE "id" = ?'
)
_MARK_REMINDED = 'UPDATE "invitation" SET "reminded_at" = ? WHERE "id" = ?'
_RECORD_PERMANENT = 'UPDATE "invitation" SET "last_error" = ?, "send_attempts" = "send_attempts" + 1 WHERE "id" = ?'
_RECORD_TRANSIENT = 'UPDATE "invitation" SET "last_error" = ? WHERE "id" = ?'


async def _execute(query: str, values: list[Any]) -> None:
    connection = connections.get("default")
    await connection.execute_query(_sql(connection, query), values)


async def _mark(reminder: bool, invitation_id: int) -> None:
    """Record that the server accepted the message for ``invitation_id``, right now."""
    connection = connections.get("default")
    now = clock.now()
    if connection.capabilities.dialect == "postgres":
        # One round trip, and no wait for the WAL flush (about 14 ms a commit on this kind of disk, which
        # would cap sending at ~70 messages a second). Durable against a crash of this worker, which is
        # what the mark is for; a crash of the PostgreSQL server itself may forget the last fraction of a
        # second of marks, and those few people would get the invitation twice. Both values are ours
        # (an int and a timestamp), never user input, so they are written into the script.
        column = "reminded_at" if reminder else "sent_at"
        extra = "" if reminder else ', "send_attempts" = "send_attempts" + 1, "last_error" = NULL'
        await connection.execute_script(
            "BEGIN; SET LOCAL synchronous_commit TO OFF; "
            f'UPDATE "invitation" SET "{column}" = \'{now.isoformat()}\'::timestamptz{extra} '
            f'WHERE "id" = {int(invitation_id)}; COMMIT;'
        )
        return
    await connection.execute_query(_sql(connection, _MARK_REMINDED if reminder else _MARK_SENT), [now, invitation_id])


@dataclass
class _Run:
    """State shared by the concurrent senders of one run."""

    template: str
    reminder: bool
    context: Mapping[str, Any]
    settings: Settings
    mailer: Mailer
    sent: int = 0
    failed: int = 0
    #: Set by the first transient failure: the other senders stop after their message in flight.
    stopped: bool = False


async def _sender(run: _Run, pending: deque[Invitation]) -> None:
    """One SMTP session that takes invitations from ``pending`` until it is empty or the run stops."""
    if not pending:
        return
    async with run.mailer.session() as session:
        while pending and not run.stopped:
            invitation = pending.popleft()
            message = _build(run.template, invitation, run.context, run.settings)
            if message is None:
                continue
            try:
                await session.send(message)
            except MailDeliveryError as error:
                if error.transient:
                    # Not the address's fault: recorded, not counted as an attempt; the job retries.
                    run.stopped = True
                    await _execute(_RECORD_TRANSIENT, [str(error)[:ERROR_LENGTH], invitation.id])
                    raise
                await _execute(_RECORD_PERMANENT, [str(error)[:ERROR_LENGTH], invitation.id])
                run.failed += 1
                log.warning("invitation %d refused for good: %s", invitation.id, error)
                continue
            # Marked right away: a crash now re-sends at most the messages in flight (one per session).
            await _mark(run.reminder, invitation.id)
            run.sent += 1


async def _send_run(
    template: str,
    found: Round,
    settings: Settings,
    mailer: Mailer,
    batch_size: int,
    concurrency: int,
    *,
    reminder: bool,
) -> SendResult:
    run = _Run(template, reminder, await _message_context(found), settings, mailer)
    last_id = 0
    while not run.stopped:
        query = Invitation.filter(round_id=found.id, person_id__not_isnull=True, id__gt=last_id)
        if reminder:
            query = query.filter(answered=False, sent_at__not_isnull=True, reminded_at__isnull=True)
        else:
            query = query.filter(sent_at__isnull=True, send_attempts__lt=MAX_SEND_ATTEMPTS)
        batch = await query.order_by("id").limit(batch_size).select_related("person")
        if not batch:
            break
        last_id = batch[-1].id
        pending = deque(batch)
        outcomes = await asyncio.gather(*(_sender(run, pending) for _ in range(concurrency)), return_exceptions=True)
        errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if errors:
            raise errors[0]
    return SendResult(sent=run.sent, failed=run.failed)


async def send_invitations(
    round_id: int, settings: Settings, mailer: Mailer, *, batch_size: int = 500, concurrency: int = CONCURRENCY
) -> SendResult:
    """Email every invitation of the round that has not been sent yet (idempotent).

    Batches of ``batch_size`` are sent over ``concurrency`` SMTP sessions at once (each session reused
    for the whole batch); a transient failure stops the run and raises MailDeliveryError.
    """
    _check(batch_size, concurrency)
    found = await get_round(round_id)
    if not _is_open(found):
        return SendResult(skipped=f"round {round_id} is closed")
    return await _send_run("invitation", found, settings, mailer, batch_size, concurrency, reminder=False)


async def send_reminders(
    round_id: int, settings: Settings, mailer: Mailer, *, batch_size: int = 500, concurrency: int = CONCURRENCY
) -> SendResult:
    """Remind, once per round, everyone invited who has not answered; the same link again."""
    _check(batch_size, concurrency)
    found = await get_round(round_id)
    if not _is_open(found):
        return SendResult(skipped=f"round {round_id} is closed")
    if found.reminded_at is not None:
        return SendResult(skipped=f"round {round_id} was already reminded")
    result = await _send_run("reminder", found, settings, mailer, batch_size, concurrency, reminder=True)
    await Round.filter(id=round_id, reminded_at__isnull=True).update(reminded_at=clock.now())
    return result
